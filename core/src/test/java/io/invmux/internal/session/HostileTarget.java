package io.invmux.internal.session;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Pair;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.TestData;
import io.invmux.internal.frame.PingFrame;
import io.invmux.testing.ScriptedPeer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

/**
 * A listener under attack, with an honest session on it that streams a transfer meanwhile: a test starts the
 * transfer, attacks the listener through a {@link ScriptedPeer}, then checks the transfer arrived whole. Test
 * helper.
 */
final class HostileTarget implements AutoCloseable {
    static final Duration WAIT = Duration.ofSeconds(30);
    /** Bytes the honest session streams while the attack runs. */
    static final long HONEST_BYTES = 8L * 1024 * 1024;
    /**
     * How much the pooled allocator's direct memory may grow while one attack and the honest transfer run: 32 MiB.
     * Each attack sends 16 MiB or more that an unbounded peer would make us hold (the overlapping-chunk attack
     * held 65 MB before its fix); measured growth is 0 to 12 MiB (the pool's 4 MiB chunks as arenas are touched).
     */
    static final long DIRECT_MEMORY_BOUND = 32L * 1024 * 1024;

    final Config config;
    final SessionListener listener;
    final int port;
    private final Pair honest;
    private final ExecutorService threads = Executors.newFixedThreadPool(2);
    private CompletableFuture<String> sent;
    private CompletableFuture<TestData.Digest> received;
    /** Samples the pooled allocator's direct memory while the target lives (see {@link #assertMemoryBounded}). */
    private final java.util.concurrent.ScheduledExecutorService sampler =
            Executors.newSingleThreadScheduledExecutor();
    private final long directBaseline = usedDirect();
    private final java.util.concurrent.atomic.AtomicLong directPeak = new java.util.concurrent.atomic.AtomicLong();

    private HostileTarget(Config config) throws Exception {
        this.config = config;
        this.listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        this.port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        this.honest = Pair.connect(config, listener, List.of(URI.create("tcp://127.0.0.1:" + port)));
        sampler.scheduleAtFixedRate(() -> directPeak.accumulateAndGet(usedDirect(), Math::max), 0, 5,
                TimeUnit.MILLISECONDS);
    }

    /** Direct memory the pooled allocator holds from the OS now: what the session's buffers really cost. */
    static long usedDirect() {
        return io.netty.buffer.PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory();
    }

    /**
     * Direct memory grew by at most {@code bound} bytes over its level before the target started, at any sample
     * (every 5 ms) while it ran: a check through Netty's own allocator, beside the session's accounting, that
     * the attack's bytes were not held. The pool keeps chunks of 4 MiB per arena, so small bounds are not
     * meaningful; the attacks send tens of megabytes each.
     */
    void assertMemoryBounded(long bound) {
        long grown = Math.max(directPeak.get(), usedDirect()) - directBaseline;
        assertThat(grown).as("direct memory grown (pooled allocator), bytes").isLessThanOrEqualTo(bound);
    }

    /**
     * A listener with {@code config} (its keep-alive timeout raised to 30 s, so a scripted peer that answers no
     * PING is not dropped for that), an honest session already streaming through it.
     */
    static HostileTarget start(Config config) throws Exception {
        HostileTarget t = new HostileTarget(config.toBuilder().keepAliveTimeout(Duration.ofSeconds(30)).build());
        Stream out = t.honest.client.openStream("honest".getBytes());
        t.sent = CompletableFuture.supplyAsync(() -> {
            try {
                String sha = TestData.write(out.outputStream(), HONEST_BYTES, 16 * 1024, 42);
                out.closeWrite();
                return sha;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, t.threads);
        Stream in = t.honest.server.acceptStream(WAIT);
        t.received = CompletableFuture.supplyAsync(() -> {
            try {
                return TestData.read(in.inputStream());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, t.threads);
        return t;
    }

    /** The session a scripted peer just started (it is the next one the listener accepts). */
    MuxSession acceptAttacker() throws Exception {
        Session s = listener.accept(WAIT);
        assertThat(s).isNotSameAs(honest.server);
        return (MuxSession) s;
    }

    /** The honest transfer completed meanwhile, every byte intact. */
    void assertHonestTransferIntact() throws Exception {
        String sha = sent.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        TestData.Digest got = received.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(got.bytes()).isEqualTo(HONEST_BYTES);
        assertThat(got.sha256()).isEqualTo(sha);
        assertThat(honest.server.isClosed()).isFalse();
    }

    /**
     * Waits until the other end has handled every frame {@code peer} sent so far: frames of a link are handled in
     * order, so the PONG to a PING sent last comes after them.
     */
    static void sync(ScriptedPeer peer, long token) throws Exception {
        peer.send(new PingFrame(false, token, 0));
        while (true) {
            PingFrame pong = peer.readUntil(PingFrame.class, WAIT);
            if (pong.isAck() && pong.opaque == token) {
                return;
            }
        }
    }

    static byte[] sessionId(int seed) {
        byte[] id = new byte[16];
        new java.util.SplittableRandom(seed).nextBytes(id);
        return id;
    }

    @Override
    public void close() {
        honest.close();
        threads.shutdownNow();
        sampler.shutdownNow();
    }
}
