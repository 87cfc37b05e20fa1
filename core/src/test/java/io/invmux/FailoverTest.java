package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.fault.FaultProxy;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * No byte lost or duplicated when links die: a 1 GiB stream over 3 links, each through its own fault-injection
 * proxy, while one link (or all of them) is reset, black-holed, flapped or replaced. The sha256 of what arrives
 * must equal that of what was written, and the stream must not be reset.
 */
class FailoverTest {
    private static final long SIZE = 1024L * 1024 * 1024;
    private static final Duration LONG = Duration.ofSeconds(60);

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private SessionListener listener;

    @BeforeEach
    void startListenerAndProxies() throws Exception {
        startListener(Config.defaults());
    }

    private void startListener(Config config) throws Exception {
        listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        InetSocketAddress target = (InetSocketAddress) listener.localAddresses().get(0);
        for (int i = 0; i < 3; i++) {
            proxies.add(FaultProxy.start(new InetSocketAddress("127.0.0.1", target.getPort())));
        }
    }

    @AfterEach
    void stopAll() throws Exception {
        for (FaultProxy p : proxies) {
            p.close();
        }
        listener.close();
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    /** A transfer of {@link #SIZE} bytes over the three proxied links, with a fault injected along the way. */
    private static SessionStats.LinkStats linkThrough(Session s, FaultProxy proxy) {
        return s.stats().links().stream().filter(l -> l.remoteAddress().endsWith(":" + proxy.port())).findFirst()
                .orElseThrow(() -> new AssertionError("no link through port " + proxy.port()));
    }

    private final class Transfer {
        final Session client;
        final Session server;
        final AtomicLong written = new AtomicLong();
        final Future<String> sent;
        final Future<TestData.Digest> received;

        Transfer(Config config) throws Exception {
            client = InvMux.connect(config, proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
            server = listener.accept(Duration.ofSeconds(10));
            Stream out = client.openStream();
            out.outputStream().write(0);
            Stream in = server.acceptStream(Duration.ofSeconds(10));
            assertThat(in.inputStream().read()).isEqualTo(0);
            received = pool.submit(() -> TestData.read(in.inputStream()));
            sent = pool.submit(() -> {
                String digest = TestData.write(counting(out.outputStream()), SIZE, 256 * 1024, 77);
                out.closeWrite();
                return digest;
            });
        }

        private OutputStream counting(OutputStream out) {
            return new java.io.FilterOutputStream(out) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    written.addAndGet(len);
                }
            };
        }

        void awaitWritten(double fraction) {
            await().atMost(LONG).until(() -> written.get() >= (long) (SIZE * fraction) || sent.isDone());
        }

        /** Waits for the end and checks every byte arrived once, in order. */
        void assertIntact() throws Exception {
            String digest = sent.get(120, TimeUnit.SECONDS);
            TestData.Digest got = received.get(120, TimeUnit.SECONDS);
            assertThat(got.bytes()).isEqualTo(SIZE);
            assertThat(got.sha256()).isEqualTo(digest);
            assertThat(server.stats().bytesReceived()).isEqualTo(SIZE + 1);
            client.close();
        }
    }

    @Test
    void oneOfThreeLinksResetMidTransferLosesNothing() throws Exception {
        Transfer t = new Transfer(Config.defaults());
        t.awaitWritten(0.3);
        // Hold what the link carries until a chunk is surely in flight on it, so the reset has something to lose
        // however the scheduler happened to spread the chunks just then (a busy machine can leave a link idle).
        FaultProxy cut = proxies.get(1);
        long sentBefore = linkThrough(t.client, cut).chunksSent();
        cut.blackhole();
        await().atMost(LONG).until(() -> linkThrough(t.client, cut).chunksSent() > sentBefore);
        cut.reset();
        cut.heal();
        t.awaitWritten(0.6);
        assertThat(t.client.stats().chunksResent()).isPositive();
        t.assertIntact();
    }

    /**
     * One link slows to a crawl mid-transfer. Its chunks hold up the stream, so the other links' chunks go
     * unacknowledged too; but the peer's per-link reports show those links delivering, so only the slow link is
     * suspected and only its chunks are re-sent.
     */
    @Test
    void onlyTheLinkThatStallsIsSuspectedAndReSent() throws Exception {
        // Suspicion waits at least three keep-alive intervals. At the default 100 ms, a machine starved of CPU can
        // delay a healthy link's reports that long; at 500 ms it cannot, while the throttled link's bytes, held
        // back for seconds, are still caught.
        Transfer t = new Transfer(Config.builder().keepAliveInterval(Duration.ofMillis(500))
                .keepAliveTimeout(Duration.ofSeconds(4)).build());
        t.awaitWritten(0.3);
        proxies.get(1).throttle(100 * 1024);
        // Slowed until it is found out: its chunks hold up the stream, which cannot end without them, so they are
        // re-sent or the transfer stalls. Healing at a fixed point instead would race the detection on a slow machine.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                .until(() -> t.client.stats().chunksResent() > 0);
        proxies.get(1).heal();
        t.received.get(120, TimeUnit.SECONDS);
        String slowPort = ":" + proxies.get(1).port();
        List<SessionStats.LinkStats> untouched = t.client.stats().links().stream()
                .filter(l -> !l.remoteAddress().endsWith(slowPort)).toList();
        assertThat(untouched).hasSize(2).allSatisfy(l -> assertThat(l.chunksReinjected())
                .as("chunks re-sent from untouched link %s", l.remoteAddress()).isZero());
        t.assertIntact();
    }

    @Test
    void aBlackHoledLinkIsDetectedWithinASecondAndLosesNothing() throws Exception {
        Transfer t = new Transfer(Config.defaults());
        t.awaitWritten(0.3);
        long start = System.nanoTime();
        proxies.get(1).refuse(true); // its redials fail too, so the count below stays at two
        proxies.get(1).blackhole();
        await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(10))
                .until(() -> t.client.numConnections() == 2);
        long detectedMs = (System.nanoTime() - start) / 1_000_000;
        // keepAliveTimeout is 800 ms by default, checked every 100 ms; the rest is slack for a loaded machine.
        assertThat(detectedMs).as("black-hole detection time").isLessThanOrEqualTo(1500);
        t.assertIntact();
    }

    @Test
    void allLinksDownForFiveSecondsThenBackLosesNothing() throws Exception {
        Transfer t = new Transfer(Config.defaults());
        t.awaitWritten(0.3);
        for (FaultProxy p : proxies) {
            p.refuse(true);
            p.reset();
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> t.client.numConnections() == 0);
        long stalledAt = t.written.get();
        Thread.sleep(5000);
        // Writers blocked (buffers full) instead of failing; nothing was delivered meanwhile.
        assertThat(t.written.get() - stalledAt).isLessThan(64L * 1024 * 1024);
        assertThat(t.client.isClosed()).isFalse();
        for (FaultProxy p : proxies) {
            p.refuse(false);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> t.client.numConnections() == 3);
        t.assertIntact();
    }

    @Test
    void aLinkFlappingEvery200msLosesNothing() throws Exception {
        Transfer t = new Transfer(Config.defaults());
        proxies.get(2).flap(Duration.ofMillis(200));
        t.assertIntact();
    }

    @Test
    void aLinkRemovedAndAddedBackLosesNothing() throws Exception {
        Transfer t = new Transfer(Config.defaults());
        t.awaitWritten(0.3);
        String id = t.client.connections().get(0).id();
        t.client.removeConnection(id).get(10, TimeUnit.SECONDS);
        assertThat(t.client.numConnections()).isEqualTo(2);
        t.awaitWritten(0.5);
        t.client.addConnection(proxies.get(0).uri()).get(10, TimeUnit.SECONDS);
        assertThat(t.client.numConnections()).isEqualTo(3);
        t.assertIntact();
    }

    @Test
    void afterTheGracePeriodStreamsFailWithLinksLostAndEverythingIsFreed() throws Exception {
        Config config = Config.builder().resumeGracePeriod(Duration.ofMillis(500)).build();
        listener.close();
        proxies.forEach(FaultProxy::close);
        proxies.clear();
        startListener(config);
        Session client = InvMux.connect(config, proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
        Session server = listener.accept(Duration.ofSeconds(10));
        Stream out = client.openStream();
        Future<?> writer = pool.submit(() -> {
            TestData.write(out.outputStream(), SIZE, 64 * 1024, 1);
            return null;
        });
        Stream in = server.acceptStream(Duration.ofSeconds(10));
        await().atMost(LONG).until(() -> in.inputStream().available() > 0);
        for (FaultProxy p : proxies) {
            p.refuse(true);
            p.reset();
        }
        assertThat(writer).failsWithin(Duration.ofSeconds(10)).withThrowableThat().havingRootCause()
                .isInstanceOfSatisfying(SessionClosedException.class, e -> {
                    assertThat(e.errorCode()).isEqualTo(ErrorCode.LINKS_LOST);
                    assertThat(e.getMessage()).contains("none joined within the grace period of 500 ms");
                });
        assertThat(client.closeFuture()).failsWithin(Duration.ofSeconds(5));
        assertThat(server.closeFuture()).failsWithin(Duration.ofSeconds(5));
        assertThat(client.numStreams()).isZero();
        assertThat(server.numStreams()).isZero();
        // The leak check after this class proves every buffer of the failed streams was released.
    }
}
