package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.netty.buffer.ByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Streams spread over several links, links coming and going, and the other ways in and out of a stream. */
class MultiLinkTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stopPool() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    /** Reads {@code in} to the end on the pool, slowly enough that links change while bytes are in flight. */
    private Future<TestData.Digest> drain(InputStream in) {
        return pool.submit(() -> TestData.read(in));
    }

    @Test
    void linksAddedAndRemovedMidTransferLoseNothing() throws Exception {
        long size = 96L * 1024 * 1024;
        try (Pair p = Pair.tcp(Config.defaults(), 3)) {
            Stream c = p.client.openStream();
            c.outputStream().write(0);
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            assertThat(s.inputStream().read()).isEqualTo(0);
            Future<TestData.Digest> received = drain(s.inputStream());
            AtomicLong written = new AtomicLong();
            Future<String> sent = pool.submit(() -> TestData.write(new java.io.FilterOutputStream(c.outputStream()) {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                    written.addAndGet(len);
                }
            }, size, 256 * 1024, 11));

            await().atMost(Duration.ofSeconds(30)).until(() -> written.get() > size / 5);
            p.client.removeConnection("2").get(10, TimeUnit.SECONDS);
            assertThat(p.client.numConnections()).isEqualTo(2);
            Connection added = p.client.addConnection(p.linkUris.get(0)).get(10, TimeUnit.SECONDS);
            assertThat(added.id()).isEqualTo("4");

            await().atMost(Duration.ofSeconds(30)).until(() -> written.get() > size / 2);
            // The accepting side may remove a link too; the dialing side sees it go.
            p.server.removeConnection("1").get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> p.client.numConnections() == 2);

            String digest = sent.get(60, TimeUnit.SECONDS);
            c.closeWrite();
            TestData.Digest got = received.get(60, TimeUnit.SECONDS);
            assertThat(got.bytes()).isEqualTo(size);
            assertThat(got.sha256()).isEqualTo(digest);
            assertThat(p.client.connections()).extracting(Connection::id).containsExactlyInAnyOrder("3", "4");
        }
    }

    @Test
    void removingAnUnknownLinkNamesTheKnownOnes() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            assertThat(p.client.removeConnection("9")).failsWithin(Duration.ofSeconds(5)).withThrowableThat()
                    .havingRootCause().isInstanceOf(IllegalArgumentException.class)
                    .withMessageContaining("no link with id '9'").withMessageContaining("[1, 2]");
        }
    }

    @Test
    void theAcceptingSideCannotDialLinks() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            assertThat(p.server.addConnection(p.linkUris.get(0))).failsWithin(Duration.ofSeconds(5))
                    .withThrowableThat().havingRootCause().isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void inMemoryLinksCarryASessionLikeTcpOnes() throws Exception {
        URI uri = URI.create("mem://multi-link-test");
        try (SessionListener listener = InvMux.listen(Config.defaults(), uri)) {
            Session client = InvMux.connect(Config.defaults(), uri, uri, uri);
            Session server = listener.accept(Duration.ofSeconds(10));
            assertThat(server.connections()).extracting(Connection::type).containsOnly("mem");
            Stream c = client.openStream("mem".getBytes());
            Future<TestData.Digest> got = pool.submit(() ->
                    TestData.read(server.acceptStream(Duration.ofSeconds(10)).inputStream()));
            String sent = TestData.write(c.outputStream(), 16L * 1024 * 1024, 100_000, 5);
            c.closeWrite();
            assertThat(got.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
            client.close();
        }
    }

    @Test
    void customTransportsPlugInThroughTheRegistry() throws Exception {
        AtomicLong dials = new AtomicLong();
        ConnectionFactory tcp = ConnectionRegistry.defaults().factoryFor(URI.create("tcp://x:1"));
        ConnectionFactory counting = new ConnectionFactory() {
            @Override
            public String name() {
                return "counted";
            }

            @Override
            public boolean canHandle(URI uri) {
                return "counted".equals(uri.getScheme());
            }

            @Override
            public CompletableFuture<io.netty.channel.Channel> dial(URI uri, TransportContext context) {
                dials.incrementAndGet();
                return tcp.dial(URI.create("tcp://" + uri.getAuthority()), context);
            }

            @Override
            public CompletableFuture<io.netty.channel.Channel> listen(URI uri, TransportContext context) {
                return tcp.listen(URI.create("tcp://" + uri.getAuthority()), context);
            }
        };
        Config config = Config.builder().connectionRegistry(ConnectionRegistry.defaults().register(counting)).build();
        try (SessionListener listener = InvMux.listen(config, URI.create("counted://127.0.0.1:0"))) {
            int port = ((java.net.InetSocketAddress) listener.localAddresses().get(0)).getPort();
            URI link = URI.create("counted://127.0.0.1:" + port);
            Session client = InvMux.connect(config, link, link);
            assertThat(dials.get()).isEqualTo(2);
            assertThat(client.connections()).extracting(Connection::type).containsOnly("counted");
            client.close();
        }
        assertThatThrownBy(() -> InvMux.connect(Config.defaults(), URI.create("quic://127.0.0.1:1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("no transport for link URI")
                .hasMessageContaining("tcp").hasMessageContaining("mem");
    }

    @Test
    void badTcpParametersAreNamed() {
        assertThatThrownBy(() -> InvMux.connect(Config.defaults(), URI.create("tcp://127.0.0.1:1?color=blue")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown parameter 'color'");
        assertThatThrownBy(() -> InvMux.connect(Config.defaults(), URI.create("tcp://127.0.0.1:1?sndbuf=ten")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("sndbuf").hasMessageContaining("ten");
        assertThatThrownBy(() -> InvMux.connect(Config.defaults(), URI.create("tcp://127.0.0.1")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port");
    }

    @Test
    void aLinkCanLeaveFromAPinnedLocalAddress() throws Exception {
        try (SessionListener listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"))) {
            int port = ((java.net.InetSocketAddress) listener.localAddresses().get(0)).getPort();
            Session client = InvMux.connect(Config.defaults(),
                    URI.create("tcp://127.0.0.1:" + port + "?bind=127.0.0.2"),
                    URI.create("tcp://127.0.0.1:" + port + "?iface=lo"));
            Session server = listener.accept(Duration.ofSeconds(10));
            assertThat(server.connections()).extracting(Connection::remoteAddress)
                    .anySatisfy(a -> assertThat(a).startsWith("127.0.0.2:"));
            client.close();
        }
    }

    @Test
    void theNonBlockingApiMovesBytesWithBackPressureOnBothEnds() throws Exception {
        long size = 32L * 1024 * 1024;
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream c = p.client.openStream();
            Stream s = p.server.acceptStreamAsync().thenApply(x -> x).get(10, TimeUnit.SECONDS);
            java.security.MessageDigest md = TestData.sha256();
            CompletableFuture<Long> done = new CompletableFuture<>();
            AtomicLong received = new AtomicLong();
            s.setHandler(new StreamHandler() {
                @Override
                public void onData(Stream stream, ByteBuf data) {
                    try {
                        received.addAndGet(data.readableBytes());
                        md.update(data.nioBuffer());
                    } finally {
                        data.release();
                    }
                    stream.request(1);
                }

                @Override
                public void onEnd(Stream stream) {
                    done.complete(received.get());
                }

                @Override
                public void onError(Stream stream, Throwable cause) {
                    done.completeExceptionally(cause);
                }
            });
            s.request(4);
            // Writer: tryWrite what fits, wait for onWritable when full.
            java.security.MessageDigest sentMd = TestData.sha256();
            byte[] block = new byte[48 * 1024];
            java.util.SplittableRandom random = new java.util.SplittableRandom(9);
            long left = size;
            int fullCount = 0;
            while (left > 0) {
                random.nextBytes(block);
                int n = (int) Math.min(block.length, left);
                sentMd.update(block, 0, n);
                ByteBuffer buf = ByteBuffer.wrap(block, 0, n);
                while (buf.hasRemaining()) {
                    if (c.tryWrite(buf) == 0) {
                        fullCount++;
                        CompletableFuture<Void> writable = new CompletableFuture<>();
                        c.onWritable(() -> writable.complete(null));
                        writable.get(10, TimeUnit.SECONDS);
                    }
                }
                left -= n;
            }
            c.closeWrite();
            assertThat(done.get(60, TimeUnit.SECONDS)).isEqualTo(size);
            assertThat(md.digest()).isEqualTo(sentMd.digest());
            assertThat(fullCount).as("the writer met back-pressure").isPositive();
        }
    }
}
