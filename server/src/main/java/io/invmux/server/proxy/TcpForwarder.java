package io.invmux.server.proxy;

import io.invmux.Stream;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Listens on a local TCP address and carries every accepted connection over a stream to {@code service} on
 * {@code peer}, so an application that only speaks plain TCP gets the bonded transport by connecting here.
 *
 * <p>Per connection: the socket is accepted with reading off, a worker thread asks the {@link StreamOpener} for a
 * stream (it may block, e.g. while a session is dialed, so never on an event loop), and a {@link StreamSocketBridge}
 * then pumps both ways until both directions have ended. If no stream can be opened the connection is reset.
 *
 * <p>Threading: all methods are thread-safe. {@link #close()} and {@link #closeAll()} wait for the listening socket
 * to close, so call them from an application thread, not an event loop.
 */
public final class TcpForwarder implements Closeable {
    private static final Logger log = LoggerFactory.getLogger(TcpForwarder.class);
    /** Threads opening streams at once; more connections wait their turn (unread) in the queue. */
    private static final int OPENER_THREADS = 4;

    private final String peer;
    private final String service;
    private final StreamOpener opener;
    private final String name;
    private final ProxyStats stats = new ProxyStats();
    /** Bridges not yet finished, for {@link #closeAll()}. Added on the accepting loop, removed on their own loops. */
    private final Set<StreamSocketBridge> bridges = ConcurrentHashMap.newKeySet();
    private final ThreadPoolExecutor openers;
    private final Channel serverChannel;
    private final InetSocketAddress boundAddress;

    private TcpForwarder(InetSocketAddress listen, String peer, String service, StreamOpener opener)
            throws IOException {
        this.peer = Objects.requireNonNull(peer, "peer");
        this.service = Objects.requireNonNull(service, "service");
        this.opener = Objects.requireNonNull(opener, "opener");
        this.openers = new ThreadPoolExecutor(OPENER_THREADS, OPENER_THREADS, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), r -> {
                    Thread t = new Thread(r, "invmux-forward-open");
                    t.setDaemon(true);
                    return t;
                });
        openers.allowCoreThreadTimeOut(true);
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(ProxyLoops.group())
                .channel(ProxyLoops.serverChannelClass())
                .childOption(ChannelOption.AUTO_READ, false) // nothing is read before the stream exists
                .childOption(ChannelOption.ALLOW_HALF_CLOSURE, true) // a FIN must reach the stream as a FIN
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted(ch);
                    }
                });
        ChannelFuture bind = bootstrap.bind(Objects.requireNonNull(listen, "listen")).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            openers.shutdown();
            throw new IOException("cannot listen on " + listen + " for " + peer + "/" + service, bind.cause());
        }
        this.serverChannel = bind.channel();
        this.boundAddress = (InetSocketAddress) serverChannel.localAddress();
        this.name = "forward " + boundAddress.getAddress().getHostAddress() + ":" + boundAddress.getPort() + " -> "
                + peer + "/" + service;
    }

    /**
     * Starts listening on {@code listen} (port 0 picks a free port, see {@link #boundAddress()}); each connection
     * accepted there is carried over {@code opener.open(peer, service)}.
     */
    public static TcpForwarder start(InetSocketAddress listen, String peer, String service, StreamOpener opener)
            throws IOException {
        TcpForwarder forwarder = new TcpForwarder(listen, peer, service, opener);
        log.info("{}: listening", forwarder.name);
        return forwarder;
    }

    /** Like {@link #start(InetSocketAddress, String, String, StreamOpener)} with {@code host:port}. */
    public static TcpForwarder start(String host, int port, String peer, String service, StreamOpener opener)
            throws IOException {
        return start(new InetSocketAddress(host, port), peer, service, opener);
    }

    /** The address actually listened on (the chosen port when 0 was asked for). */
    public InetSocketAddress boundAddress() {
        return boundAddress;
    }

    public String peer() {
        return peer;
    }

    public String service() {
        return service;
    }

    public ProxyStats stats() {
        return stats;
    }

    /** Stops listening. Connections already accepted go on until they end. Idempotent. */
    @Override
    public void close() {
        if (serverChannel.isOpen()) {
            serverChannel.close().awaitUninterruptibly();
            log.info("{}: stopped listening ({})", name, stats);
        }
        // Streams already being opened still get their connection; new ones cannot arrive any more.
        openers.shutdown();
    }

    /** Stops listening and resets every open connection (RST to the local app, reset of its stream). */
    public void closeAll() {
        close();
        for (StreamSocketBridge bridge : bridges) {
            bridge.abort("forwarder closed");
        }
    }

    /** [accepted channel's loop] A new local connection: give it a bridge, then open its stream off the loop. */
    private void accepted(Channel ch) {
        stats.connectionStarted();
        StreamSocketBridge bridge = new StreamSocketBridge(ch, stats, name);
        ch.pipeline().addLast(bridge);
        bridges.add(bridge);
        bridge.done().whenComplete((ok, err) -> {
            bridges.remove(bridge);
            stats.connectionEnded();
        });
        try {
            openers.execute(() -> openStream(ch, bridge));
        } catch (RejectedExecutionException e) {
            // close() ran between the accept and now: this connection came too late.
            stats.connectionFailed();
            bridge.abort("forwarder closed before the connection was set up");
        }
    }

    /** [opener thread] Opens the connection's stream and hands it to the bridge on the channel's loop. */
    private void openStream(Channel ch, StreamSocketBridge bridge) {
        Stream s;
        try {
            s = opener.open(peer, service);
        } catch (IOException | RuntimeException e) {
            stats.connectionFailed();
            log.warn("{}: cannot open a stream for {}, resetting it: {}", name, ch.remoteAddress(), e.toString());
            bridge.abort("no stream: " + e);
            return;
        }
        try {
            ch.eventLoop().execute(() -> bridge.start(s));
        } catch (RejectedExecutionException e) {
            s.reset(); // the event loops are shutting down; nobody will ever pump this stream
        }
    }

    @Override
    public String toString() {
        return name;
    }
}
