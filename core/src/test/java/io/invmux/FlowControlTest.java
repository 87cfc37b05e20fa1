package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Windows, budgets and limits: what bounds memory on both ends. */
class FlowControlTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stopPool() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void theSessionWindowBoundsUnreadBytesAcrossAllStreams() throws Exception {
        int sessionWindow = 1024 * 1024;
        Config config = Config.builder().windowSize(256 * 1024).sessionWindowSize(sessionWindow).build();
        int streams = 8;
        long perStream = 2L * 1024 * 1024;
        try (Pair p = Pair.tcp(config, 2)) {
            List<Future<String>> writers = new ArrayList<>();
            List<Stream> accepted = new ArrayList<>();
            for (int i = 0; i < streams; i++) {
                Stream c = p.client.openStream();
                long seed = i;
                writers.add(pool.submit(() -> {
                    String digest = TestData.write(c.outputStream(), perStream, 32 * 1024, seed);
                    c.closeWrite();
                    return digest;
                }));
                accepted.add(p.server.acceptStream(Duration.ofSeconds(10)));
            }
            // Nobody reads: the receiver holds at most the session window, every writer is blocked.
            await().atMost(Duration.ofSeconds(10)).pollDelay(Duration.ofMillis(300)).until(() ->
                    unread(accepted) >= sessionWindow - 256 * 1024);
            Thread.sleep(200);
            assertThat(unread(accepted)).isLessThanOrEqualTo(sessionWindow);
            assertThat(writers).noneMatch(Future::isDone);

            List<Future<TestData.Digest>> readers = new ArrayList<>();
            for (Stream s : accepted) {
                readers.add(pool.submit(() -> TestData.read(s.inputStream())));
            }
            for (int i = 0; i < streams; i++) {
                TestData.Digest d = readers.get(i).get(60, TimeUnit.SECONDS);
                assertThat(d.bytes()).isEqualTo(perStream);
                assertThat(d.sha256()).isEqualTo(writers.get(i).get(10, TimeUnit.SECONDS));
            }
        }
    }

    private static long unread(List<Stream> streams) throws Exception {
        long sum = 0;
        for (Stream s : streams) {
            sum += s.inputStream().available();
        }
        return sum;
    }

    @Test
    void openingMoreThanMaxStreamsFailsLocallyWithTheLimitNamed() throws Exception {
        Config config = Config.builder().maxStreams(3).build();
        try (Pair p = Pair.tcp(config, 1)) {
            for (int i = 0; i < 3; i++) {
                p.client.openStream();
            }
            assertThatThrownBy(() -> p.client.openStream()).isInstanceOfSatisfying(InvMuxException.class, e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.REFUSED_STREAM);
                assertThat(e.getMessage()).contains("3 streams are open").contains("maxStreams");
            });
        }
    }

    @Test
    void aPeerOverItsStreamLimitRefusesNewStreams() throws Exception {
        try (SessionListener listener = InvMux.listen(Config.builder().maxStreams(2).build(),
                java.net.URI.create("tcp://127.0.0.1:0"))) {
            int port = ((java.net.InetSocketAddress) listener.localAddresses().get(0)).getPort();
            Session client = InvMux.connect(Config.defaults(), java.net.URI.create("tcp://127.0.0.1:" + port));
            Session server = listener.accept(Duration.ofSeconds(10));
            List<Stream> opened = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Stream s = client.openStream();
                opened.add(s);
                if (i < 2) {
                    s.outputStream().write(i);
                    assertThat(server.acceptStream(Duration.ofSeconds(10)).inputStream().read()).isEqualTo(i);
                }
            }
            assertThatThrownBy(() -> opened.get(2).inputStream().read())
                    .isInstanceOfSatisfying(StreamResetException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.REFUSED_STREAM);
                        assertThat(e.getMessage()).contains("maxStreams (2)");
                    });
            client.close();
        }
    }

    @Test
    void metadataOverTheLimitIsRejectedBeforeAnythingIsSent() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            assertThatThrownBy(() -> p.client.openStream(new byte[16 * 1024 + 1]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16384");
            assertThat(p.client.numStreams()).isZero();
        }
    }

    @Test
    void blockingReadsHonourTheirTimeout() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            assertThatThrownBy(() -> p.server.acceptStream(Duration.ofMillis(50)))
                    .isInstanceOf(java.net.SocketTimeoutException.class);
            Stream c = p.client.openStream();
            c.setReadTimeout(Duration.ofMillis(100));
            assertThatThrownBy(() -> c.inputStream().read()).isInstanceOf(java.net.SocketTimeoutException.class)
                    .hasMessageContaining("timed out");
            // The stream still works after a timeout.
            c.outputStream().write(7);
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            assertThat(s.inputStream().read()).isEqualTo(7);
        }
    }
}
