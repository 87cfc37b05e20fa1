package io.invmux.server.grpc;

import io.grpc.Attributes;
import io.grpc.Grpc;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Who a client of the API is, for limits that must not be escaped by opening another connection: the peer's uid
 * on the Unix socket (from {@code SO_PEERCRED}, which the kernel fills in and the client cannot forge), the remote
 * IP address on TCP. The API token does not tell clients apart (every client presents the same one), so it is not
 * part of the identity. On loopback TCP every local process is {@code 127.0.0.1}: they share one identity; the Unix
 * socket tells them apart by user.
 *
 * <p>gRPC does not hand a call its Netty channel, so the uid is read when the server channel accepts a connection
 * ({@link #acceptHandler()}, on the accepting loop) and remembered under the connection's remote-address object,
 * which gRPC then puts in the transport attributes; the entry goes when the connection closes. Thread-safe.
 */
public final class ClientIdentity {
    private static final Logger log = LoggerFactory.getLogger(ClientIdentity.class);

    /** Uids by the remote-address instance of their connection; identity, not equality: Unix peers are unnamed. */
    private final Map<SocketAddress, Integer> uids = Collections.synchronizedMap(new IdentityHashMap<>());

    /**
     * A handler for the pipeline of the API's Unix server channel: records each accepted connection's peer uid
     * before the connection is handed on to gRPC.
     */
    public ChannelHandler acceptHandler() {
        return new Recorder();
    }

    @ChannelHandler.Sharable
    private final class Recorder extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof EpollDomainSocketChannel child) {
                SocketAddress remote = child.remoteAddress();
                if (remote != null) {
                    try {
                        uids.put(remote, child.peerCredentials().uid());
                        child.closeFuture().addListener(f -> uids.remove(remote));
                    } catch (IOException e) {
                        log.warn("API connection on the Unix socket: cannot read its peer's credentials ({}); it "
                                + "counts as a client of its own", e.toString());
                    }
                }
            }
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * The identity of the client a connection with these transport attributes belongs to: {@code uid 1000},
     * {@code 10.0.0.7}; null when none can be told (the connection then counts alone).
     */
    String of(Attributes transport) {
        SocketAddress remote = transport.get(Grpc.TRANSPORT_ATTR_REMOTE_ADDR);
        if (remote instanceof InetSocketAddress inet) {
            return inet.getAddress() == null ? inet.getHostString() : inet.getAddress().getHostAddress();
        }
        Integer uid = remote == null ? null : uids.get(remote);
        return uid == null ? null : "uid " + uid;
    }
}
