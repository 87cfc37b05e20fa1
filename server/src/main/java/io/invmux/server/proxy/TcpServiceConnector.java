package io.invmux.server.proxy;

import io.invmux.Stream;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
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
 * <p>Threading: all methods are thread-safe and never block.
 */
public final class TcpServiceConnector {
    private static final Logger log = LoggerFactory.getLogger(TcpServiceConnector.class);
    private static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);

    private final ProxyStats stats = new ProxyStats();
    /** Bridges not yet finished, for {@link #closeAll()}. Added and removed on the channels' loops. */
    private final Set<StreamSocketBridge> bridges = ConcurrentHashMap.newKeySet();
    private final Bootstrap bootstrap;

    /** A connector that gives up on a target after 10 s of connecting. */
    public TcpServiceConnector() {
        this(DEFAULT_CONNECT_TIMEOUT);
    }

    public TcpServiceConnector(Duration connectTimeout) {
        if (connectTimeout.isNegative() || connectTimeout.isZero()) {
            throw new IllegalArgumentException("connectTimeout must be positive, got " + connectTimeout);
        }
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

    /**
     * Connects to {@code target} and bridges it with {@code stream}, which this connector owns from now on. The
     * future completes once the target has accepted the connection, or exceptionally (with the stream already
     * reset) when it could not be reached. It does not wait for the connection to end.
     */
    public CompletableFuture<Void> connect(Stream stream, InetSocketAddress target) {
        Objects.requireNonNull(stream, "stream");
        Objects.requireNonNull(target, "target");
        stats.connectionStarted();
        String name = "service stream " + stream.id() + " -> " + target;
        ChannelFuture connect = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                StreamSocketBridge bridge = new StreamSocketBridge(ch, stats, name);
                ch.pipeline().addLast(bridge);
                bridges.add(bridge);
                bridge.done().whenComplete((ok, err) -> {
                    bridges.remove(bridge);
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
