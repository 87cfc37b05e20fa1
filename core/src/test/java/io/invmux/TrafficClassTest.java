package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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

/**
 * Traffic classes: chosen by the opener, carried in the OPEN, seen by the acceptor; a redundant stream's chunks go
 * out twice, on two links, so one link holding its bytes back costs the stream nothing.
 */
class TrafficClassTest {
    private static final Duration WAIT = Duration.ofSeconds(20);

    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private SessionListener listener;
    private Session client;

    @AfterEach
    void stopAll() throws Exception {
        if (client != null) {
            client.close();
        }
        for (FaultProxy p : proxies) {
            p.close();
        }
        if (listener != null) {
            listener.close();
        }
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private Session connectThroughProxies(int links, Config clientConfig) throws Exception {
        listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"));
        InetSocketAddress target = (InetSocketAddress) listener.localAddresses().get(0);
        for (int i = 0; i < links; i++) {
            proxies.add(FaultProxy.start(new InetSocketAddress("127.0.0.1", target.getPort())));
        }
        client = InvMux.connect(clientConfig, proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
        Session server = listener.accept(WAIT);
        await().atMost(WAIT).until(() -> client.stats().links().size() == links
                && server.stats().links().size() == links);
        return server;
    }

    @Test
    void eachClassIsSeenByTheAcceptorAndCarriesItsBytesIntact() throws Exception {
        Session server = connectThroughProxies(2, Config.defaults());
        for (TrafficClass c : TrafficClass.values()) {
            Stream out = client.openStream(c.name().getBytes(), StreamOptions.of(c));
            assertThat(out.trafficClass()).isEqualTo(c);
            Future<String> sent = pool.submit(() -> {
                String digest = TestData.write(out.outputStream(), 4 << 20, 64 * 1024, c.ordinal());
                out.closeWrite();
                return digest;
            });
            Stream in = server.acceptStream(WAIT);
            assertThat(new String(in.metadata())).isEqualTo(c.name());
            assertThat(in.trafficClass()).isEqualTo(c);
            TestData.Digest got = TestData.read(in.inputStream());
            assertThat(got.bytes()).isEqualTo(4 << 20);
            assertThat(got.sha256()).isEqualTo(sent.get(30, TimeUnit.SECONDS));
        }
        SessionStats stats = client.stats();
        assertThat(stats.bytesSentByClass()).containsEntry(TrafficClass.BULK, 4L << 20)
                .containsEntry(TrafficClass.INTERACTIVE, 4L << 20).containsEntry(TrafficClass.REDUNDANT, 4L << 20);
        // Each redundant chunk went out a second time on the other link, and the acceptor dropped one copy of each.
        assertThat(stats.bytesCopied()).isEqualTo(4L << 20);
        assertThat(server.stats().duplicateChunks()).isPositive();
    }

    @Test
    void aRedundantStreamIsDeliveredWhileOneOfItsTwoLinksHoldsEveryByte() throws Exception {
        // Suspicion of a stalled link waits three keep-alive intervals (here 6 s): what the held link carries comes
        // only from the copies on the other link until then.
        Session server = connectThroughProxies(2, Config.builder().keepAliveInterval(Duration.ofSeconds(2))
                .keepAliveTimeout(Duration.ofSeconds(60)).build());
        Stream warm = client.openStream("warm".getBytes(), StreamOptions.of(TrafficClass.REDUNDANT));
        warm.outputStream().write(1);
        Stream in = server.acceptStream(WAIT);
        assertThat(in.inputStream().read()).isEqualTo(1);

        proxies.get(0).blackhole();
        int requests = 50;
        byte[] request = new byte[1024];
        for (int i = 0; i < requests; i++) {
            java.util.Arrays.fill(request, (byte) i);
            warm.outputStream().write(request);
            byte[] got = in.inputStream().readNBytes(request.length);
            assertThat(got).containsOnly((byte) i);
        }
        // Every byte came while the held link was neither suspected nor lost: through the copies, not re-sends.
        assertThat(proxies.get(0).blackholed()).isTrue();
        assertThat(client.stats().chunksResent()).isZero();
        assertThat(client.stats().links()).hasSize(2);
        proxies.get(0).heal();
    }
}
