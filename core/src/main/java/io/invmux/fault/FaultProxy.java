package io.invmux.fault;

import io.invmux.internal.transport.EventLoops;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.LongAdder;

/**
 * A TCP proxy that injects faults into the one link it sits on, for tests and chaos experiments: it listens on
 * 127.0.0.1, dials {@code target} for every connection it accepts and forwards bytes both ways, in order, subject
 * to the faults currently set.
 *
 * <pre>{@code
 * try (FaultProxy proxy = FaultProxy.start(serverAddress)) {
 *     Session s = InvMux.connect(config, proxy.uri(), directUri);
 *     proxy.delay(Duration.ofMillis(50)).throttle(1_000_000);
 *     proxy.blackhole();   // ... the session must notice and route around it
 *     proxy.heal();
 * }
 * }</pre>
 *
 * <p>Every command may be called from any thread and applies at once to the current connections (including
 * bytes they have queued) and to future ones. {@link #delay}, {@link #throttle} and black-holing
 * ({@link #blackhole}/{@link #flap}) combine; {@link #heal} clears all three. {@link #refuse} is separate and
 * stays until turned off.
 *
 * <p>Closes always pass through, black hole or not: when a peer closes, what it sent before is still forwarded (or
 * dropped), then the other side is closed; a reset or error closes both sides at once. Half-close is not relayed: a
 * peer's {@code shutdownOutput()} ends the whole proxied connection.
 *
 * <p>Back-pressure: a direction stops reading from its sender while the receiver's channel is not writable or
 * while about 1 MiB is held back by delay or throttle, so a slow side never makes the proxy buffer unboundedly.
 *
 * <p>Threading: connections run on {@link EventLoops#socketGroup()}; the flap timer too. Command state is guarded
 * by {@code this}; the event loops read it through a volatile, immutable {@code Faults} snapshot.
 */
public final class FaultProxy implements AutoCloseable {
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(128 * 1024, 256 * 1024);
    private static final long CLOSE_WAIT_MILLIS = 5_000;

    private final InetSocketAddress target;
    private final Channel server;
    private final InetSocketAddress address; // kept: a closed NIO server channel no longer knows it
    private final Bootstrap targetBootstrap;
    private final Set<ProxyConnection> connections = ConcurrentHashMap.newKeySet();

    private final LongAdder bytesForwarded = new LongAdder();
    private final LongAdder bytesDropped = new LongAdder();
    private final LongAdder connectionsAccepted = new LongAdder();

    /** Written under {@code this}, read by the event loops without locking. */
    private volatile Faults faults = Faults.NONE;
    private volatile boolean refusing;
    private volatile boolean closed;
    /** One-shot corruptions still to apply, each to the next buffer read in either direction. */
    private final java.util.concurrent.atomic.AtomicInteger corruptions = new java.util.concurrent.atomic.AtomicInteger();

    // guarded by this: the running flap timer, and its generation so a tick racing with heal() does nothing
    private ScheduledFuture<?> flapTimer;
    private long flapGeneration;

    private FaultProxy(InetSocketAddress target, int localPort) throws IOException {
        this.target = target;
        this.targetBootstrap = new Bootstrap()
                .group(EventLoops.socketGroup()) // replaced per connection by the accepted channel's loop
                .channel(EventLoops.socketChannelClass())
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .option(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .option(ChannelOption.AUTO_READ, false) // the pump turns it on once it can forward
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000);
        ServerBootstrap b = new ServerBootstrap()
                .group(EventLoops.socketGroup())
                .channel(EventLoops.serverChannelClass())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childOption(ChannelOption.AUTO_READ, false) // nothing is read before the target is connected
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted(ch);
                    }
                });
        ChannelFuture bind = b.bind(new InetSocketAddress("127.0.0.1", localPort)).awaitUninterruptibly();
        if (!bind.isSuccess()) {
            Throwable cause = bind.cause();
            throw new IOException("fault proxy cannot listen on 127.0.0.1:" + localPort + ": " + cause.getMessage(),
                    cause);
        }
        this.server = bind.channel();
        this.address = (InetSocketAddress) server.localAddress();
    }

    /** Starts a proxy to {@code target} on 127.0.0.1 and a free port. */
    public static FaultProxy start(InetSocketAddress target) throws IOException {
        return start(target, 0);
    }

    /**
     * Starts a proxy to {@code target} on 127.0.0.1:{@code localPort} (0 = a free port), e.g. to bring a proxy
     * back on the port a closed one had.
     */
    public static FaultProxy start(InetSocketAddress target, int localPort) throws IOException {
        if (localPort < 0 || localPort > 65535) {
            throw new IllegalArgumentException("localPort must be 0 to 65535, got " + localPort);
        }
        return new FaultProxy(Objects.requireNonNull(target, "target"), localPort);
    }

    public int port() {
        return address().getPort();
    }

    /** The address clients connect to. */
    public InetSocketAddress address() {
        return address;
    }

    /** {@code tcp://127.0.0.1:PORT}, ready to use as a link URI. */
    public URI uri() {
        return URI.create("tcp://127.0.0.1:" + port());
    }

    public InetSocketAddress target() {
        return target;
    }

    /** Holds every chunk, each direction, for {@code oneWay} before forwarding it (0 = no delay). */
    public FaultProxy delay(Duration oneWay) {
        if (oneWay.isNegative()) {
            throw new IllegalArgumentException("delay must not be negative, got " + oneWay);
        }
        synchronized (this) {
            faults = faults.withDelay(oneWay.toNanos());
        }
        pokeAll();
        return this;
    }

    /**
     * Limits each direction of each connection to {@code bytesPerSecond} (token bucket holding 50 ms worth,
     * at least 1 KiB; 0 = unlimited).
     */
    public FaultProxy throttle(long bytesPerSecond) {
        if (bytesPerSecond < 0) {
            throw new IllegalArgumentException("bytesPerSecond must not be negative, got " + bytesPerSecond);
        }
        synchronized (this) {
            faults = faults.withRate(bytesPerSecond);
        }
        pokeAll();
        return this;
    }

    /**
     * Forwards nothing in either direction from now on, and reads nothing more, without closing anything: what a
     * path that silently loses every packet looks like to TCP (no RST, no FIN; the senders' socket buffers fill
     * up). {@link #heal} lets the held bytes through, as TCP's retransmissions would. Stops {@link #flap}.
     */
    public FaultProxy blackhole() {
        synchronized (this) {
            stopFlapping();
            faults = faults.withBlackholed(true);
        }
        pokeAll();
        return this;
    }

    /**
     * Silently discards every byte, both directions, from now on (including bytes held back by delay or throttle),
     * while connections stay open and keep reading: a middlebox eating data. Unlike {@link #blackhole}, the byte
     * streams are damaged for good. Stops {@link #flap}.
     */
    public FaultProxy drop() {
        synchronized (this) {
            stopFlapping();
            faults = faults.withDropping(true);
        }
        pokeAll();
        return this;
    }

    /** True while the proxy holds traffic (black hole, or the black phase of a flap). */
    public boolean blackholed() {
        return faults.blackholed();
    }

    /** Back to plain forwarding: no black hole, drop, flap, delay or throttle. Does not change {@link #refuse}. */
    public FaultProxy heal() {
        synchronized (this) {
            stopFlapping();
            faults = Faults.NONE;
        }
        pokeAll();
        return this;
    }

    /**
     * Alternates black-holed and healthy every {@code period}, starting black-holed now, until {@link #heal} or
     * {@link #blackhole}.
     */
    public FaultProxy flap(Duration period) {
        if (period.toMillis() < 1) {
            throw new IllegalArgumentException("flap period must be at least 1 ms, got " + period);
        }
        long nanos = period.toNanos();
        synchronized (this) {
            stopFlapping();
            long generation = flapGeneration;
            faults = faults.withBlackholed(true);
            flapTimer = EventLoops.socketGroup().next()
                    .scheduleAtFixedRate(() -> flapTick(generation), nanos, nanos, TimeUnit.NANOSECONDS);
        }
        pokeAll();
        return this;
    }

    /** Closes every current connection with RST on both sides. The proxy keeps accepting new ones. */
    public FaultProxy reset() {
        for (ProxyConnection c : connections) {
            c.abort();
        }
        return this;
    }

    /**
     * Flips one bit in the next bytes forwarded (either direction, the middle of the next buffer read): a path
     * that damages data undetected by TCP. Once; call again for another.
     */
    public FaultProxy corruptOneByte() {
        corruptions.incrementAndGet();
        return this;
    }

    /** True, once per {@link #corruptOneByte} call, when the caller must corrupt the buffer it holds. */
    boolean takeCorruption() {
        // A plain read first: the data path asks for every buffer, and corruptions are rare.
        return corruptions.get() > 0 && corruptions.getAndUpdate(n -> Math.max(0, n - 1)) > 0;
    }

    /** While true, new connections are accepted and at once reset, as if nothing lived at the target. */
    public FaultProxy refuse(boolean refuse) {
        refusing = refuse;
        return this;
    }

    /** Bytes handed on to the other side (each direction counts). */
    public long bytesForwarded() {
        return bytesForwarded.sum();
    }

    /** Bytes received and discarded by {@link #drop} (not bytes lost to a reset or close). */
    public long bytesDropped() {
        return bytesDropped.sum();
    }

    /** Connections accepted so far, refused ones included. */
    public long connectionsAccepted() {
        return connectionsAccepted.sum();
    }

    /** Connections currently proxied (accepted and not yet closed). */
    public int activeConnections() {
        return connections.size();
    }

    /**
     * Stops listening and resets every connection. Waits (a few seconds at most) until all are closed, unless called
     * on one of the event loops, which must not block.
     */
    @Override
    public void close() {
        closed = true; // before the sweep below: accepted() checks it after registering, so none slips through
        synchronized (this) {
            stopFlapping();
        }
        ChannelFuture serverClosed = server.close();
        List<CompletableFuture<Void>> ends = new ArrayList<>();
        for (ProxyConnection c : connections) {
            c.abort();
            ends.add(c.terminated());
        }
        if (onSocketEventLoop()) {
            return;
        }
        serverClosed.awaitUninterruptibly(CLOSE_WAIT_MILLIS);
        try {
            CompletableFuture.allOf(ends.toArray(new CompletableFuture[0]))
                    .get(CLOSE_WAIT_MILLIS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException | TimeoutException e) {
            // Closing is best effort; the channels are closing on their loops regardless.
        }
    }

    private static boolean onSocketEventLoop() {
        for (EventExecutor loop : EventLoops.socketGroup()) {
            if (loop.inEventLoop()) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return "FaultProxy[" + uri() + " -> " + target + ", " + faults + (refusing ? ", refusing" : "") + "]";
    }

    // ---- called by the connections, on their event loops

    Faults faults() {
        return faults;
    }

    void countForwarded(int bytes) {
        bytesForwarded.add(bytes);
    }

    void countDropped(int bytes) {
        bytesDropped.add(bytes);
    }

    void removed(ProxyConnection c) {
        connections.remove(c);
    }

    /** On the accepted channel's loop, before it reads anything. */
    private void accepted(Channel ch) {
        connectionsAccepted.increment();
        if (refusing || closed) {
            ProxyConnection.closeChannel(ch, true);
            return;
        }
        ProxyConnection c = new ProxyConnection(this, ch);
        connections.add(c);
        c.start(targetBootstrap, target);
        if (closed) {
            c.abort(); // close() ran concurrently and may have swept the set before we joined it
        }
    }

    // ---- commands

    private void pokeAll() {
        for (ProxyConnection c : connections) {
            c.poke();
        }
    }

    /** Guarded by this. */
    private void stopFlapping() {
        flapGeneration++;
        if (flapTimer != null) {
            flapTimer.cancel(false);
            flapTimer = null;
        }
    }

    private void flapTick(long generation) {
        synchronized (this) {
            if (generation != flapGeneration) {
                return; // heal() or a newer flap() won while this tick was starting
            }
            faults = faults.withBlackholed(!faults.blackholed());
        }
        pokeAll();
    }
}
