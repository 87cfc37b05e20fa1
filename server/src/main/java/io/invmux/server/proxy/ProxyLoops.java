package io.invmux.server.proxy;

import io.invmux.internal.transport.EventLoops;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The event loops of the proxy's local sockets: always NIO.
 *
 * <p>Why not the sessions' loops ({@link EventLoops}, epoll where it loads): a proxied connection must stay
 * writable after its input was shut down (the app half-closed), and Netty 4.2.18's epoll transport cannot do
 * that. Once such a channel has no interest left (EPOLLRDHUP cleared, EPOLLIN cleared at EOF) its
 * {@code EpollIoHandler} registration removes the fd from epoll but still believes it is added, so the next write
 * that has to wait for room (EPOLLOUT) fails with ENOENT and Netty shuts the output down: the bytes after a
 * half-close are lost once they outgrow the socket buffer. NIO has no such state. When the session side runs on
 * NIO anyway ({@code -Dinvmux.transport=nio}), its group is shared instead of starting a second one.
 */
final class ProxyLoops {
    private static final int THREADS = Integer.getInteger("invmux.proxyEventLoopThreads",
            Math.max(2, Runtime.getRuntime().availableProcessors()));

    private static volatile EventLoopGroup group;

    private ProxyLoops() {
    }

    static EventLoopGroup group() {
        if (!EventLoops.epoll()) {
            return EventLoops.socketGroup();
        }
        EventLoopGroup g = group;
        if (g == null) {
            synchronized (ProxyLoops.class) {
                g = group;
                if (g == null) {
                    // Daemon threads, like the sessions' loops: a forgotten forwarder must not keep the JVM alive.
                    g = new MultiThreadIoEventLoopGroup(THREADS, new DefaultThreadFactory("invmux-proxy", true),
                            NioIoHandler.newFactory());
                    group = g;
                }
            }
        }
        return g;
    }

    static Class<? extends SocketChannel> socketChannelClass() {
        return NioSocketChannel.class;
    }

    static Class<? extends ServerChannel> serverChannelClass() {
        return NioServerSocketChannel.class;
    }
}
