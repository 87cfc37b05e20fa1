package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.fault.FaultProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Links with different delays: chunks overtake each other, the receiver puts them back in order. */
class ReorderingTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private SessionListener listener;

    @AfterEach
    void stop() throws InterruptedException {
        proxies.forEach(FaultProxy::close);
        if (listener != null) {
            listener.close();
        }
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private URI[] proxiedLinks(Config config, Duration... delays) throws Exception {
        listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        URI[] uris = new URI[delays.length];
        for (int i = 0; i < delays.length; i++) {
            FaultProxy p = FaultProxy.start(new InetSocketAddress("127.0.0.1", port)).delay(delays[i]);
            proxies.add(p);
            uris[i] = p.uri();
        }
        return uris;
    }

    /** Sends {@code size} bytes over one stream; returns the seconds it took and checks the digest. */
    private double transfer(Session client, Session server, long size) throws Exception {
        Stream out = client.openStream();
        long start = System.nanoTime();
        Future<TestData.Digest> got = pool.submit(() ->
                TestData.read(server.acceptStream(Duration.ofSeconds(10)).inputStream()));
        String sent = TestData.write(out.outputStream(), size, 64 * 1024, size);
        out.closeWrite();
        TestData.Digest d = got.get(120, TimeUnit.SECONDS);
        double seconds = (System.nanoTime() - start) / 1e9;
        assertThat(d.bytes()).isEqualTo(size);
        assertThat(d.sha256()).isEqualTo(sent);
        return seconds;
    }

    @Test
    void chunksArriveInOrderAcrossLinksWithDifferentDelays() throws Exception {
        // No chunk may arrive twice, so no link may be suspected of stalling (see StreamBehaviourTest's large write).
        Config config = Config.builder().keepAliveInterval(Duration.ofMillis(500))
                .keepAliveTimeout(Duration.ofSeconds(4)).build();
        URI[] uris = proxiedLinks(config, Duration.ZERO, Duration.ofMillis(5), Duration.ofMillis(20));
        Session client = InvMux.connect(config, uris);
        Session server = listener.accept(Duration.ofSeconds(10));
        transfer(client, server, 64L * 1024 * 1024);
        SessionStats stats = server.stats();
        assertThat(stats.links()).allSatisfy(l -> assertThat(l.chunksReceived()).isPositive());
        // Chunks did overtake each other: some waited in the reorder buffer.
        assertThat(stats.reorderHighWaterMark()).isPositive();
        assertThat(stats.duplicateChunks()).isZero();
        client.close();
    }

    @Test
    void windowsAutoTuneSoOneStreamFillsALongPath() throws Exception {
        long size = 24L * 1024 * 1024;
        Duration oneWay = Duration.ofMillis(20);
        Config fixed = Config.builder().windowSize(256 * 1024).maxWindowSize(256 * 1024).build();
        URI[] uris = proxiedLinks(Config.defaults(), oneWay, oneWay);

        Session tunedClient = InvMux.connect(Config.defaults(), uris);
        Session tunedServer = listener.accept(Duration.ofSeconds(10));
        double tuned = transfer(tunedClient, tunedServer, size);
        tunedClient.close();

        // Same path, window pinned at its initial size: bound by window / RTT (256 KiB per 40 ms).
        listener.close();
        proxies.forEach(FaultProxy::close);
        proxies.clear();
        uris = proxiedLinks(fixed, oneWay, oneWay);
        Session fixedClient = InvMux.connect(fixed, uris);
        Session fixedServer = listener.accept(Duration.ofSeconds(10));
        double pinned = transfer(fixedClient, fixedServer, size);
        fixedClient.close();

        assertThat(pinned / tuned).as("pinned %.2f s vs auto-tuned %.2f s", pinned, tuned).isGreaterThan(2.0);
    }
}
