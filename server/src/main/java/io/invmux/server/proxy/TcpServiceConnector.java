package io.invmux.server.proxy;

import io.invmux.ErrorCode;
import io.invmux.Stream;
import io.invmux.server.admin.PerKeyLimit;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The accepting half of the TCP proxy: given a stream that arrived for a service mapped to a local address,
 * connects to that address and pumps bytes both ways with a {@link StreamSocketBridge}. If the target cannot be
 * reached the stream is reset, so the far application sees its connection reset rather than hanging.
 *
 * <p>Bytes the far side sends before the target is connected wait in the stream (within its flow-control window);
 * nothing is read from the stream until then.
 *
 * <p>Bounds: at most {@code maxPerService} connections per service at once (a peer could otherwise open one per
 * stream, up to its session's stream limit, and run the target or this process out of file descriptors); a stream
 * over it is reset REFUSED_STREAM with the reason. A connection with no byte moving either way for
 * {@code idleTimeout} is ended (RST to the target, reset of the stream), so streams a peer opens and forgets do not
 * hold their places for good. Both are reported to the {@code refusals} sink under their config keys.
 *
 * <p>Threading: all methods are thread-safe and never block.
 */
public final class TcpServiceConnector {
    private static final Logger log = LoggerFactory.getLogger(TcpServiceConnector.class);
    /** How long connecting to a target may take. */
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    static final String MAX_CONNECTIONS_KEY = "limits.maxServiceConnections";
    static final String IDLE_TIMEOUT_KEY = "limits.serviceIdleTimeout";

    private final ProxyStats stats = new ProxyStats();
    /** Bridges not yet finished, for {@link #closeAll()}. Added and removed on the channels' loops. */
    private final Set<StreamSocketBridge> bridges = ConcurrentHashMap.newKeySet();
    private final Bootstrap bootstrap;
    private final long idleTimeoutMillis;
    private final BiConsumer<String, String> refusals;
    /** Connections set up or bridged now, by service. */
    private final PerKeyLimit perService;

    /** A connector that gives up on a target after 10 s of connecting, with no bound on connections. */
    public TcpServiceConnector() {
        this(DEFAULT_CONNECT_TIMEOUT);
    }

    public TcpServiceConnector(Duration connectTimeout) {
        this(connectTimeout, Integer.MAX_VALUE, Duration.ZERO, (bound, message) -> { });
    }

    /**
     * @param maxPerService connections per service at once
     * @param idleTimeout how long a connection may go without a byte either way; zero: for ever
     * @param refusals told (bound's config key, message) of every stream refused or connection ended at a bound
     */
    public TcpServiceConnector(Duration connectTimeout, int maxPerService, Duration idleTimeout,
            BiConsumer<String, String> refusals) {
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connectTimeout must be positive, got " + connectTimeout);
        }
        if (idleTimeout.isNegative()) {
            throw new IllegalArgumentException("idleTimeout must not be negative, got " + idleTimeout);
        }
        this.perService = new PerKeyLimit(maxPerService);
        this.idleTimeoutMillis = idleTimeout.toMillis();
        this.refusals = Objects.requireNonNull(refusals, "refusals");
        this.bootstrap = new Bootstrap()
                .group(ProxyLoops.group())
                .channel(ProxyLoops.socketChannelClass())
                .option(ChannelOption.AUTO_READ, false) // read only once the bridge has its stream
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true) // a FIN must reach the stream as a FIN
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE,
                        connectTimeout.toMillis()));
    }

    public ProxyStats stats() {
        return stats;
    }

    /** Connections being set up or bridged now, over all services. */
    public long openConnections() {
        return perService.total();
    }

    /** Connections being set up or bridged now for {@code service}. */
    public int openConnections(String service) {
        return perService.held(service);
    }

    /** {@link #connect(Stream, String, InetSocketAddress)} for a service known by its target alone. */
    public CompletableFuture<Void> connect(Stream stream, InetSocketAddress target) {
        return connect(stream, target.toString(), target);
    }

    /**
     * Connects to {@code target} and bridges it with {@code stream}, which this connector owns from now on. The
     * future completes once the target has accepted the connection, or exceptionally (with the stream already
     * reset) when it could not be reached. It does not wait for the connection to end.
     */
    public CompletableFuture<Void> connect(Stream stream, String service, InetSocketAddress target) {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(target, "target");
        if (!perService.tryAcquire(service)) {
            String why = "service '" + service + "' already has " + perService.limit() + " local connections ("
                    + MAX_CONNECTIONS_KEY + ")";
            refusals.accept(MAX_CONNECTIONS_KEY, "stream " + stream.id() + ": " + why);
            stream.reset(ErrorCode.REFUSED_STREAM, why);
            return CompletableFuture.failedFuture(new IOException(why));
        }
        AtomicBoolean released = new AtomicBoolean();
        Runnable releasePlace = () -> {
            if (released.compareAndSet(false, true)) {
                perService.release(service);
            }
        };
        stats.connectionStarted();
        String name = "service stream " + stream.id() + " -> " + target;
        ChannelFuture connect = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                StreamSocketBridge bridge = new StreamSocketBridge(ch, stats, name);
                if (idleTimeoutMillis > 0) {
                    // Ahead of the bridge, so it sees the bridge's writes as well as the socket's reads.
                    ch.pipeline().addLast(new IdleTimeout(TimeUnit.MILLISECONDS.toNanos(idleTimeoutMillis), () -> {
                        refusals.accept(IDLE_TIMEOUT_KEY, name + ": no byte either way for " + idleTimeoutMillis
                                + " ms; closing it");
                        bridge.abort("idle for " + idleTimeoutMillis + " ms (" + IDLE_TIMEOUT_KEY + ")");
                    }));
                }
                ch.pipeline().addLast(bridge);
                bridges.add(bridge);
                bridge.done().whenComplete((ok, err) -> {
                    bridges.remove(bridge);
                    releasePlace.run();
                    stats.connectionEnded();
                });
            }
        }).connect(target);
        CompletableFuture<Void> result = new CompletableFuture<>();
        connect.addListener(f -> { // on the channel's loop
            StreamSocketBridge bridge = connect.channel().pipeline().get(StreamSocketBridge.class);
            if (f.isSuccess() && bridge != null) {
                bridge.start(stream);
                result.complete(null);
                return;
            }
            Throwable cause = f.cause() != null ? f.cause() : new java.nio.channels.ClosedChannelException();
            stats.connectionFailed();
            log.warn("{}: cannot connect ({}); resetting the stream", name, cause.toString());
            stream.reset();
            if (bridge != null) {
                bridge.abort("connect failed"); // counts the connection as ended
            } else {
                releasePlace.run();
                stats.connectionEnded(); // the channel never got as far as its bridge
            }
            connect.channel().close();
            result.completeExceptionally(cause);
        });
        return result;
    }

    /** Resets every connection this connector is bridging (RST to the target, reset of the stream). */
    public void closeAll() {
        for (StreamSocketBridge bridge : bridges) {
            bridge.abort("connector closed");
        }
    }
}
