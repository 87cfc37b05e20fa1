package io.invmux.internal.transport;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.local.LocalIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;

/**
 * The process-wide event loops: one group for sockets (native epoll where it loads, NIO otherwise; set
 * {@code -Dinvmux.transport=nio} to force NIO) and one for in-memory links. Threads are daemons, so an
 * application that forgets to close its sessions can still exit.
 */
public final class EventLoops {
    private static final boolean EPOLL = !"nio".equals(System.getProperty("invmux.transport")) && Epoll.isAvailable();
    private static final int THREADS = Integer.getInteger("invmux.eventLoopThreads",
            Math.max(2, Runtime.getRuntime().availableProcessors()));

    private static volatile EventLoopGroup socketGroup;
    private static volatile EventLoopGroup localGroup;

    private EventLoops() {
    }

    public static boolean epoll() {
        return EPOLL;
    }

    public static EventLoopGroup socketGroup() {
        EventLoopGroup g = socketGroup;
        if (g == null) {
            synchronized (EventLoops.class) {
                g = socketGroup;
                if (g == null) {
                    IoHandlerFactory io = EPOLL ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
                    g = new MultiThreadIoEventLoopGroup(THREADS, new DefaultThreadFactory("invmux-io", true), io);
                    socketGroup = g;
                }
            }
        }
        return g;
    }

    public static EventLoopGroup localGroup() {
        EventLoopGroup g = localGroup;
        if (g == null) {
            synchronized (EventLoops.class) {
                g = localGroup;
                if (g == null) {
                    g = new MultiThreadIoEventLoopGroup(THREADS, new DefaultThreadFactory("invmux-mem", true),
                            LocalIoHandler.newFactory());
                    localGroup = g;
                }
            }
        }
        return g;
    }

    public static Class<? extends SocketChannel> socketChannelClass() {
        return EPOLL ? EpollSocketChannel.class : NioSocketChannel.class;
    }

    public static Class<? extends ServerChannel> serverChannelClass() {
        return EPOLL ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
    }
}
