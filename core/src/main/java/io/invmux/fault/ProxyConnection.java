package io.invmux.fault;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelException;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.Future;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

/**
 * One accepted connection and the connection the proxy dialed to the target for it, joined by two
 * {@link Pump}s.
 *
 * <p>Threading: the target channel is dialed on the accepted channel's event loop, so both channels, both pumps and
 * every field marked [L] belong to that one loop. {@link #poke} and {@link #abort} may be called from anywhere.
 *
 * <p>Closing: when one peer closes (FIN), what it sent before is still forwarded to the other peer, then that side is
 * closed too; bytes still queued toward the closed peer are discarded. An error (RST, failed write) on either side
 * closes both at once. Half-closed connections are not kept open: with Netty 4.2.18's epoll transport a channel
 * whose input was shut down (ALLOW_HALF_CLOSURE) loses its epoll registration, and a later write that has to wait
 * for EPOLLOUT fails with ENOENT.
 */
final class ProxyConnection {
    private final FaultProxy proxy;
    private final Channel client;
    /** Completed once both channels are closed. */
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();

    // [L]
    private Channel target;
    private Pump upstream; // client -> target; null until the target is connected
    private Pump downstream; // target -> client; null until the target is connected
    private boolean peerGone; // one side has closed; the other is getting what that side sent before
    private boolean closed;

    ProxyConnection(FaultProxy proxy, Channel client) {
        this.proxy = proxy;
        this.client = client;
    }

    /**
     * [L] Dials the target. The client channel has auto-read off until then, so nothing is read that could not be
     * forwarded.
     */
    void start(Bootstrap targetBootstrap, InetSocketAddress address) {
        client.pipeline().addLast(new Side(true));
        ChannelFuture connect = targetBootstrap.clone(client.eventLoop()).handler(new Side(false)).connect(address);
        target = connect.channel();
        connect.addListener(this::connected);
    }

    private void connected(Future<?> f) {
        if (closed) {
            return; // closed while dialing; close() already closed the target channel
        }
        if (!f.isSuccess()) {
            close(false); // target unreachable: hang up on the client, as a dead backend would
            return;
        }
        upstream = new Pump(proxy, this, client, target);
        downstream = new Pump(proxy, this, target, client);
        upstream.drain(); // turns auto-read on for both channels
        downstream.drain();
    }

    /** Any thread: re-applies the current faults to what is queued (a command just changed them). */
    void poke() {
        client.eventLoop().execute(() -> {
            if (!closed && upstream != null) {
                upstream.drain();
                downstream.drain();
            }
        });
    }

    /** Any thread: closes both sides with RST (SO_LINGER 0). */
    void abort() {
        if (client.eventLoop().inEventLoop()) {
            close(true);
        } else {
            client.eventLoop().execute(() -> close(true));
        }
    }

    CompletableFuture<Void> terminated() {
        return terminated;
    }

    /** [L] A pump has forwarded everything its peer sent before closing: close the other side too. */
    void closeGracefully() {
        close(false);
    }

    /** [L] Closes both sides (abruptly if {@code abort}) and releases everything queued. Idempotent. */
    private void close(boolean abort) {
        if (closed) {
            return;
        }
        closed = true;
        proxy.removed(this); // first: terminated may complete within the closes below, and waiters then count
        if (upstream != null) {
            upstream.stop();
            downstream.stop();
        }
        ChannelFuture clientClosed = closeChannel(client, abort);
        if (target == null) {
            clientClosed.addListener(f -> terminated.complete(null));
        } else {
            ChannelFuture targetClosed = closeChannel(target, abort);
            clientClosed.addListener(f -> targetClosed.addListener(g -> terminated.complete(null)));
        }
    }

    /** Closes {@code ch}; with {@code abort}, SO_LINGER 0 makes the kernel send RST instead of FIN. */
    static ChannelFuture closeChannel(Channel ch, boolean abort) {
        if (abort && ch.isOpen()) {
            try {
                ch.config().setOption(ChannelOption.SO_LINGER, 0);
            } catch (ChannelException e) {
                // The socket is already going away; a plain close is all that is left to do.
            }
        }
        return ch.close();
    }

    /** The handler on one of the two channels; routes its events to the pumps. */
    private final class Side extends ChannelInboundHandlerAdapter {
        private final boolean clientSide;

        Side(boolean clientSide) {
            this.clientSide = clientSide;
        }

        /** The pump that reads from this side. */
        private Pump from() {
            return clientSide ? upstream : downstream;
        }

        /** The pump that writes to this side. */
        private Pump into() {
            return clientSide ? downstream : upstream;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            Pump pump = from();
            if (pump == null || !(msg instanceof ByteBuf)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            pump.receive((ByteBuf) msg); // the pump owns it now
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            Pump pump = into();
            if (pump != null) {
                pump.drain();
            }
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            Pump pump = from();
            if (closed || pump == null || peerGone) {
                close(false);
                return;
            }
            peerGone = true;
            into().stop(); // nobody left to deliver to
            pump.endOfInput(); // closes the other side once what this side sent is through
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            // Resets and broken pipes are what a chaos proxy sees all day: end the connection, do not log.
            close(false);
        }
    }
}
