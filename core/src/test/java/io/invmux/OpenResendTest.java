package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.fault.FaultProxy;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A stream's OPEN lost with its link is sent again even when the stream cannot send data: the acceptor holds the
 * stream's chunks (re-sent on the new links) until its OPEN comes, and resets it after {@code pendingOpenTimeout}.
 * Found by the soak: a stream that had used up the session's credit when its OPEN's link went down waited for
 * credit before re-sending the OPEN, and credit could only come once the acceptor had the OPEN.
 */
class OpenResendTest {
    private static final int WINDOW = 64 * 1024;
    private static final int SESSION_WINDOW = 96 * 1024;

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
        listener.close();
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void anOpenLostWithItsLinkIsReSentWhileTheStreamWaitsForSessionCredit() throws Exception {
        // The acceptor gives 64 KiB per stream and 96 KiB for the session, and waits 3 s for a late OPEN.
        listener = InvMux.listen(Config.builder().windowSize(WINDOW).sessionWindowSize(SESSION_WINDOW)
                .pendingOpenTimeout(Duration.ofSeconds(3)).build(), URI.create("tcp://127.0.0.1:0"));
        InetSocketAddress target = (InetSocketAddress) listener.localAddresses().get(0);
        for (int i = 0; i < 2; i++) {
            proxies.add(FaultProxy.start(new InetSocketAddress("127.0.0.1", target.getPort())));
        }
        // Keep-alive slow enough that nothing but the resets below ends a link.
        Config clientConfig = Config.builder().keepAliveInterval(Duration.ofSeconds(2))
                .keepAliveTimeout(Duration.ofSeconds(60)).build();
        client = InvMux.connect(clientConfig, proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
        Session server = listener.accept(Duration.ofSeconds(10));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.stats().links().size() == 2);

        // Every frame from here on is held by the proxies and lost with the links: both OPENs among them.
        proxies.forEach(FaultProxy::blackhole);
        Stream first = client.openStream("first".getBytes());
        Future<String> firstSent = pool.submit(() -> writeAndClose(first, WINDOW, 1));
        await().atMost(Duration.ofSeconds(10)).until(() -> client.stats().bytesSent() == WINDOW);
        Stream second = client.openStream("second".getBytes());
        Future<String> secondSent = pool.submit(() -> writeAndClose(second, WINDOW, 2));
        // The second stream used the session's last 32 KiB: it now waits for session credit, not stream credit.
        await().atMost(Duration.ofSeconds(10)).until(() -> client.stats().bytesSent() == SESSION_WINDOW);

        for (FaultProxy p : proxies) {
            p.reset();
            p.heal();
        }
        // The links are dialed again; every chunk and both OPENs go out on them.
        // Nothing is read before both are accepted: reading the first would free session credit and let the
        // second stream send its OPEN along with new data, hiding a lost one.
        Map<String, Stream> accepted = new HashMap<>();
        for (int i = 0; i < 2; i++) {
            Stream in = server.acceptStream(Duration.ofSeconds(20));
            accepted.put(new String(in.metadata()), in);
        }
        assertThat(accepted).containsOnlyKeys("first", "second");
        Map<String, Future<TestData.Digest>> received = new HashMap<>();
        accepted.forEach((name, in) -> received.put(name, pool.submit(() -> TestData.read(in.inputStream()))));
        assertThat(received.get("first").get(30, TimeUnit.SECONDS).sha256()).isEqualTo(firstSent.get(30,
                TimeUnit.SECONDS));
        assertThat(received.get("second").get(30, TimeUnit.SECONDS).sha256()).isEqualTo(secondSent.get(30,
                TimeUnit.SECONDS));
    }

    private static String writeAndClose(Stream stream, long size, long seed) throws Exception {
        String digest = TestData.write(stream.outputStream(), size, 16 * 1024, seed);
        stream.closeWrite();
        return digest;
    }
}
