package io.invmux.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.HealthState;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.TestData;
import io.invmux.TlsSettings;
import io.invmux.fault.FaultProxy;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Large transfers over tls:// links while the credentials rotate and while a path corrupts a byte. */
class TlsTransferTest {
    private static final Duration WAIT = Duration.ofSeconds(60);

    @TempDir
    Path dir;
    TlsFixture pki;
    TlsSettings serverTls;
    SessionListener listener;
    URI uri;
    ExecutorService pool = Executors.newFixedThreadPool(2);

    @BeforeEach
    void start() throws Exception {
        pki = new TlsFixture(dir);
        serverTls = pki.credentials("server", "127.0.0.1").settings();
        listener = InvMux.listen(patient(Config.builder().tls(serverTls)), URI.create("tls://127.0.0.1:0"));
        uri = URI.create("tls://127.0.0.1:" + ((InetSocketAddress) listener.localAddresses().get(0)).getPort());
    }

    @AfterEach
    void stop() {
        pool.shutdownNow();
        listener.close();
    }

    private Config client() {
        return patient(Config.builder().tls(pki.credentials("client", "frontend").settings()));
    }

    /**
     * A keep-alive timeout well above the default: these transfers keep both cores busy with encryption, and on a
     * shared machine a link's heartbeat can then wait longer than the default 800 ms; links lost here must be lost
     * to the fault under test, not to a busy scheduler.
     */
    private static Config patient(Config.Builder b) {
        return b.keepAliveInterval(Duration.ofMillis(250)).keepAliveTimeout(Duration.ofSeconds(5)).build();
    }

    /** Counts what went through, so a test can act once the transfer is well under way. */
    private static OutputStream counting(OutputStream out, AtomicLong count) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                out.write(b);
                count.incrementAndGet();
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
                count.addAndGet(len);
            }
        };
    }

    @Test
    void aCertificateRotatedDuringA256MibTransferReachesNewLinksAndDropsNone() throws Exception {
        long size = 256L << 20;
        try (Session client = InvMux.connect(client(), uri, uri)) {
            Session server = listener.accept(WAIT);
            AtomicInteger linksLost = new AtomicInteger();
            client.addHealthListener((c, from, to, q) -> {
                if (to == HealthState.DEAD) {
                    linksLost.incrementAndGet();
                }
            });
            Stream out = client.openStream();
            out.outputStream().write(0); // so the accept below returns at once
            Stream in = server.acceptStream(WAIT);
            assertThat(in.inputStream().read()).isZero();
            Future<TestData.Digest> received = pool.submit(() -> TestData.read(in.inputStream()));
            AtomicLong sent = new AtomicLong();
            Future<String> written = pool.submit(() -> {
                String sha = TestData.write(counting(out.outputStream(), sent), size, 256 * 1024, 13);
                out.closeWrite();
                return sha;
            });
            await().atMost(WAIT).until(() -> sent.get() > size / 4);

            pki.write("server", pki.ca.issue("127.0.0.1", "rotated"));
            client.addConnection(uri).get(30, TimeUnit.SECONDS);
            assertThat(serverTls.reloads()).as("the new link's handshake loaded the new files").isEqualTo(1);
            assertThat(sent.get()).as("still under way when the new link joined").isLessThan(size);

            String sha = written.get(120, TimeUnit.SECONDS);
            TestData.Digest got = received.get(120, TimeUnit.SECONDS);
            assertThat(got.bytes()).isEqualTo(size);
            assertThat(got.sha256()).isEqualTo(sha);
            assertThat(linksLost.get()).as("no link dropped").isZero();
            assertThat(client.numConnections()).isEqualTo(3);
        }
    }

    @Test
    void aByteFlippedOnOneTlsLinkFailsThatLinkAndItsChunksArriveIntactOverTheOthers() throws Exception {
        long size = 64L << 20;
        try (FaultProxy proxy = FaultProxy.start(new InetSocketAddress("127.0.0.1", uri.getPort()))) {
            URI viaProxy = URI.create("tls://127.0.0.1:" + proxy.port());
            Config config = client();
            TlsSettings clientTls = config.tls().orElseThrow();
            try (Session client = InvMux.connect(config, uri, viaProxy, uri)) {
                Session server = listener.accept(WAIT);
                AtomicInteger linksLost = new AtomicInteger();
                client.addHealthListener((c, from, to, q) -> {
                    if (to == HealthState.DEAD) {
                        linksLost.incrementAndGet();
                    }
                });
                Stream out = client.openStream();
                out.outputStream().write(0);
                Stream in = server.acceptStream(WAIT);
                assertThat(in.inputStream().read()).isZero();
                Future<TestData.Digest> received = pool.submit(() -> TestData.read(in.inputStream()));
                AtomicLong sent = new AtomicLong();
                Future<String> written = pool.submit(() -> {
                    String sha = TestData.write(counting(out.outputStream(), sent), size, 256 * 1024, 21);
                    out.closeWrite();
                    return sha;
                });
                await().atMost(WAIT).until(() -> sent.get() > size / 4);
                long forwarded = proxy.bytesForwarded();
                proxy.corruptOneByte();

                await().atMost(WAIT).until(() -> linksLost.get() >= 1);
                assertThat(proxy.bytesForwarded()).as("the proxied link carried data").isGreaterThan(forwarded);
                String sha = written.get(120, TimeUnit.SECONDS);
                TestData.Digest got = received.get(120, TimeUnit.SECONDS);
                assertThat(got.bytes()).isEqualTo(size);
                assertThat(got.sha256()).as("nothing corrupt delivered").isEqualTo(sha);
                assertThat(serverTls.failures().getOrDefault("damaged", 0L)
                        + clientTls.failures().getOrDefault("damaged", 0L))
                        .as("the damaged record failed TLS's integrity check (the other end hears of it by alert)")
                        .isBetween(1L, 2L);
            }
        }
    }
}
