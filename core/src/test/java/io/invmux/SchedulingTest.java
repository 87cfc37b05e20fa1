package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.fault.FaultProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Which link carries what: balancers, priorities, health, over real loopback links through fault proxies. */
class SchedulingTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private final List<SessionListener> listeners = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        proxies.forEach(FaultProxy::close);
        listeners.forEach(SessionListener::close);
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    /** A client and server session joined by one proxied link per entry of {@code rates} (bytes/s, 0 = open). */
    private Pair proxied(Config config, long... rates) throws Exception {
        SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        listeners.add(listener);
        int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        List<URI> uris = new ArrayList<>();
        for (long rate : rates) {
            FaultProxy p = FaultProxy.start(new InetSocketAddress("127.0.0.1", port)).throttle(rate);
            proxies.add(p);
            uris.add(p.uri());
        }
        return Pair.connect(config, listener, uris);
    }

    private double timedTransfer(Pair p, long size) throws Exception {
        Stream out = p.client.openStream();
        long start = System.nanoTime();
        Future<TestData.Digest> got = pool.submit(() ->
                TestData.read(p.server.acceptStream(Duration.ofSeconds(10)).inputStream()));
        String sent = TestData.write(out.outputStream(), size, 64 * 1024, 3);
        out.closeWrite();
        assertThat(got.get(120, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
        return (System.nanoTime() - start) / 1e9;
    }

    @Test
    void theDefaultBalancerBeatsRoundRobinOnUnequalLinks() throws Exception {
        long size = 6L * 1024 * 1024;
        long fast = 4_000_000;
        long slow = 500_000;
        Pair earliest = proxied(Config.defaults(), fast, slow);
        double earliestSeconds = timedTransfer(earliest, size);
        earliest.client.close();

        Pair roundRobin = proxied(Config.builder().loadBalancer(LoadBalancer::roundRobin).build(), fast, slow);
        double roundRobinSeconds = timedTransfer(roundRobin, size);
        roundRobin.client.close();

        // Round-robin gives the 8× slower link half the chunks and waits for it; earliest-delivery gives it
        // what it can deliver in time. Ideal: ~1.4 s against ~6 s.
        assertThat(roundRobinSeconds / earliestSeconds)
                .as("round-robin %.2f s, earliest-delivery %.2f s", roundRobinSeconds, earliestSeconds)
                .isGreaterThan(1.5);
    }

    @Test
    void aBackupLinkStaysIdleWhileThePrimaryIsHealthyAndPrioritiesChangeAtRunTime() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Connection primary = p.client.connections().get(0);
            Connection backup = p.client.connections().get(1);
            backup.setPriority(-1);
            Stream s = p.client.openStream();
            Stream peer = p.server.acceptStreamAsync().get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 200; i++) { // small request/response traffic: the primary is never full
                s.outputStream().write(new byte[1024]);
                assertThat(peer.inputStream().readNBytes(1024)).hasSize(1024);
            }
            assertThat(linkStats(p.client, backup.id()).chunksSent()).isZero();
            assertThat(linkStats(p.client, primary.id()).chunksSent()).isGreaterThanOrEqualTo(200);

            // Priorities change at run time: the old backup becomes the primary at once.
            backup.setPriority(1);
            long before = linkStats(p.client, primary.id()).chunksSent();
            for (int i = 0; i < 50; i++) {
                s.outputStream().write(new byte[1024]);
                assertThat(peer.inputStream().readNBytes(1024)).hasSize(1024);
            }
            assertThat(linkStats(p.client, primary.id()).chunksSent()).isEqualTo(before);
            assertThat(linkStats(p.client, backup.id()).chunksSent()).isGreaterThanOrEqualTo(50);
        }
    }

    @Test
    void aRedialedLinkKeepsItsTierAndWeight() throws Exception {
        Pair p = proxied(Config.defaults(), 0, 0);
        try (p) {
            Connection primary = p.client.connections().get(0);
            Connection backup = p.client.connections().get(1);
            backup.setPriority(-1);
            backup.setWeight(0.25);
            proxies.get(1).reset(); // the backup's TCP connection is reset: the session redials it
            await().atMost(Duration.ofSeconds(20)).until(() -> p.client.connections().size() == 2
                    && p.client.connections().stream().noneMatch(c -> c.id().equals(backup.id())));
            Connection redialed = p.client.connections().stream().filter(c -> !c.id().equals(primary.id()))
                    .findFirst().orElseThrow();
            assertThat(redialed.priority()).as("tier of the redialed backup").isEqualTo(-1);
            assertThat(redialed.weight()).as("weight of the redialed backup").isEqualTo(0.25);

            // ...and it is still a backup: small traffic all goes on the primary.
            Stream s = p.client.openStream();
            Stream peer = p.server.acceptStreamAsync().get(10, TimeUnit.SECONDS);
            for (int i = 0; i < 100; i++) {
                s.outputStream().write(new byte[1024]);
                assertThat(peer.inputStream().readNBytes(1024)).hasSize(1024);
            }
            assertThat(linkStats(p.client, redialed.id()).chunksSent()).isZero();
        }
    }

    private static SessionStats.LinkStats linkStats(Session s, String id) {
        return s.stats().links().stream().filter(l -> l.id().equals(id)).findFirst().orElseThrow();
    }

    @Test
    void anUnhealthyLinkLeavesSchedulingAndComesBackOnProbation() throws Exception {
        HealthThresholds thresholds = HealthThresholds.defaults().withMaxLatency(Duration.ofMillis(150))
                .withMinScore(0.5).withCheckInterval(Duration.ofMillis(50)).withHysteresis(2, 4);
        Config config = Config.builder().healthThresholds(thresholds).build();
        Pair p = proxied(config, 0, 0);
        List<HealthState> transitions = new CopyOnWriteArrayList<>();
        Connection sick = p.client.connections().get(1);
        p.client.addHealthListener((c, from, to, q) -> {
            if (c.id().equals(sick.id())) {
                transitions.add(to);
            }
        });
        proxies.get(1).delay(Duration.ofMillis(150)); // RTT 300 ms: two thresholds crossed
        await().atMost(Duration.ofSeconds(20)).until(() -> sick.health() == HealthState.UNHEALTHY);

        // Traffic now avoids it.
        long before = linkStats(p.client, sick.id()).chunksSent();
        timedTransfer(p, 4L * 1024 * 1024);
        assertThat(linkStats(p.client, sick.id()).chunksSent()).isEqualTo(before);

        proxies.get(1).heal();
        await().atMost(Duration.ofSeconds(30)).until(() -> sick.health() == HealthState.HEALTHY);
        assertThat(transitions).containsSubsequence(HealthState.UNHEALTHY, HealthState.PROBATION,
                HealthState.HEALTHY);
        p.client.close();
    }

    @Test
    void healthListenersHearLinksGoDownAndComeBack() throws Exception {
        Pair p = proxied(Config.defaults(), 0, 0);
        List<String> events = new CopyOnWriteArrayList<>();
        p.client.addHealthListener((c, from, to, q) -> events.add(c.id() + ":" + from + "->" + to));
        String id = p.client.connections().get(0).id();
        proxies.get(0).reset();
        await().atMost(Duration.ofSeconds(10)).until(() -> events.contains(id + ":HEALTHY->DEAD"));
        // The dialing side redials; the new link announces itself.
        await().atMost(Duration.ofSeconds(10)).until(() -> events.stream().anyMatch(e -> e.endsWith("DEAD->HEALTHY")));
        assertThat(p.client.numConnections()).isEqualTo(2);
        p.client.close();
    }

    @Test
    void statsReportEachLinksRateAndTheBundleCounters() throws Exception {
        Pair p = proxied(Config.defaults(), 2_000_000, 1_000_000);
        timedTransfer(p, 4L * 1024 * 1024);
        SessionStats stats = p.client.stats();
        assertThat(stats.bytesSent()).isEqualTo(4L * 1024 * 1024);
        assertThat(stats.links()).hasSize(2).allSatisfy(l -> {
            assertThat(l.quality().bandwidth()).isPositive();
            assertThat(l.quality().latency()).isPositive();
            assertThat(l.state()).isEqualTo(HealthState.HEALTHY);
        });
        // The faster link was measured faster.
        assertThat(stats.links().get(0).quality().bandwidth())
                .isGreaterThan(stats.links().get(1).quality().bandwidth());
        p.client.close();
    }
}
