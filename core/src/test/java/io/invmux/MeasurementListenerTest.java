package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.fault.FaultProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A session tells its {@link MeasurementListener} each heartbeat's round trip and, when a link carrying chunks is
 * lost, how long until the peer acknowledged every one of them sent again on the other link.
 */
class MeasurementListenerTest {
    private static final long SIZE = 256L * 1024 * 1024;

    record Failover(String link, long gapNanos, int chunks) {
    }

    @Test
    void roundTripsOfEveryLinkAndTheGapOfAFailoverAreReported() throws Exception {
        ExecutorService pool = Executors.newCachedThreadPool();
        try (SessionListener listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"))) {
            int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
            try (FaultProxy kept = FaultProxy.start(new InetSocketAddress("127.0.0.1", port));
                    FaultProxy cut = FaultProxy.start(new InetSocketAddress("127.0.0.1", port))) {
                Session client = InvMux.connect(Config.defaults(), kept.uri(), cut.uri());
                Map<String, Long> rtts = new ConcurrentHashMap<>();
                List<Failover> failovers = new CopyOnWriteArrayList<>();
                client.addMeasurementListener(new MeasurementListener() {
                    @Override
                    public void onRoundTrip(Connection link, long rttNanos) {
                        rtts.merge(link.remoteAddress(), 1L, Long::sum);
                        assertThat(rttNanos).isPositive();
                    }

                    @Override
                    public void onFailover(Connection lost, long gapNanos, int chunks) {
                        failovers.add(new Failover(lost.remoteAddress(), gapNanos, chunks));
                    }
                });
                Session server = listener.accept(Duration.ofSeconds(10));
                await().atMost(Duration.ofSeconds(10)).until(() -> rtts.keySet().size() == 2);

                Stream out = client.openStream();
                out.outputStream().write(0);
                Stream in = server.acceptStream(Duration.ofSeconds(10));
                assertThat(in.inputStream().read()).isZero();
                Future<TestData.Digest> received = pool.submit(() -> TestData.read(in.inputStream()));
                Future<String> sent = pool.submit(() -> {
                    String digest = TestData.write(out.outputStream(), SIZE, 256 * 1024, 5);
                    out.closeWrite();
                    return digest;
                });
                // Hold the cut link's bytes until chunks are surely in flight on it, then reset it.
                String cutAddress = "127.0.0.1:" + cut.port();
                long before = linkTo(client, cutAddress).chunksSent();
                cut.blackhole();
                await().atMost(Duration.ofSeconds(60)).until(() -> linkTo(client, cutAddress).chunksSent() > before);
                cut.reset();
                cut.heal();
                await().atMost(Duration.ofSeconds(60)).until(() -> !failovers.isEmpty());
                assertThat(failovers.get(0).link()).isEqualTo(cutAddress);
                assertThat(failovers.get(0).chunks()).isPositive();
                assertThat(failovers.get(0).gapNanos()).isPositive();

                String digest = sent.get(120, TimeUnit.SECONDS);
                assertThat(received.get(120, TimeUnit.SECONDS).sha256()).isEqualTo(digest);
                client.close();
            }
        } finally {
            pool.shutdownNow();
            assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
        }
    }

    private static SessionStats.LinkStats linkTo(Session s, String address) {
        return s.stats().links().stream().filter(l -> l.remoteAddress().equals(address)).findFirst()
                .orElseGet(() -> new SessionStats.LinkStats("", "", address, 0, 0, HealthState.DEAD, 0, 0,
                        Long.MAX_VALUE, 0, 0, 0, Quality.UNKNOWN));
    }
}
