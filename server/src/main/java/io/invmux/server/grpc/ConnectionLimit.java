package io.invmux.server.grpc;

import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.invmux.server.admin.Bounds;
import io.invmux.server.admin.PerKeyLimit;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code api.maxConnectionsPerClient}: how many connections one client may hold open at once to one API or health
 * port. Each connection costs the sidecar a file descriptor and HTTP/2 buffers before its first call, and the
 * streaming-call limit does not see connections that make no call, so without this bound a local process (or, on
 * a pod-network health port, anyone) could open connections until the sidecar runs out of descriptors.
 *
 * <p>The client is the one {@link ClientIdentity} names: the peer uid on a Unix socket ({@code SO_PEERCRED}, read
 * here when the connection is accepted), the remote IP on TCP. A connection over the bound is closed as soon as
 * the server channel accepts it, before gRPC sees it, counted in {@code invmux_refusals_total} and logged through
 * {@link Bounds}. One instance per port; it is a handler of that port's server channel, so it runs on the
 * accepting loop, while connections close on any worker loop (the counts are atomic).
 */
@ChannelHandler.Sharable
public final class ConnectionLimit extends ChannelInboundHandlerAdapter {
    static final String BOUND = "api.maxConnectionsPerClient";

    private final String port;
    private final Bounds bounds;
    private final PerKeyLimit open;
    /** Numbers the connections whose client cannot be told; each is then a client of its own. */
    private final AtomicLong anonymous = new AtomicLong();

    /**
     * @param port what the port is, for messages ({@code "API"}, {@code "health"})
     */
    public ConnectionLimit(String port, int limit, Bounds bounds) {
        this.port = port;
        this.bounds = bounds;
        this.open = new PerKeyLimit(limit);
    }

    /** Connections open now over all clients. */
    public long connections() {
        return open.total();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof Channel child)) {
            ctx.fireChannelRead(msg);
            return;
        }
        String client = clientOf(child);
        if (!open.tryAcquire(client)) {
            bounds.refused(BOUND, "client " + client + " already holds " + open.limit() + " connections to the "
                    + port + " port; closed the next one");
            // Not registered with a loop yet: closed here as Netty's own acceptor closes a child it cannot register.
            child.unsafe().closeForcibly();
            return;
        }
        child.closeFuture().addListener(f -> open.release(client));
        ctx.fireChannelRead(child);
    }

    private String clientOf(Channel child) {
        if (child instanceof EpollDomainSocketChannel unix) {
            try {
                return "uid " + unix.peerCredentials().uid();
            } catch (IOException e) {
                return "connection " + anonymous.incrementAndGet();
            }
        }
        SocketAddress remote = child.remoteAddress();
        if (remote instanceof InetSocketAddress inet && inet.getAddress() != null) {
            return inet.getAddress().getHostAddress();
        }
        return "connection " + anonymous.incrementAndGet();
    }
}
