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
import org.junit.jupiter.api.RepeatedTest;

/** Both directions of one stream at once while a link is reset: nothing lost, nothing stuck. */
class BidiFailoverTest {
    private static final long SIZE = 64L * 1024 * 1024;
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final List<FaultProxy> proxies = new ArrayList<>();
    private SessionListener listener;

    @AfterEach
    void stop() throws InterruptedException {
        proxies.forEach(FaultProxy::close);
        listener.close();
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private static OutputStream counting(OutputStream out, AtomicLong counter) {
        return new java.io.FilterOutputStream(out) {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                out.write(b, off, len);
                counter.addAndGet(len);
            }
        };
    }

    @RepeatedTest(3)
    void bothDirectionsSurviveALinkReset() throws Exception {
        listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"));
        int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        for (int i = 0; i < 3; i++) {
            proxies.add(FaultProxy.start(new InetSocketAddress("127.0.0.1", port)));
        }
        Session client = InvMux.connect(Config.defaults(), proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
        Session server = listener.accept(Duration.ofSeconds(10));
        Stream a = client.openStream();
        a.outputStream().write(0);
        Stream b = server.acceptStream(Duration.ofSeconds(10));
        assertThat(b.inputStream().read()).isZero();
        AtomicLong written = new AtomicLong();
        Future<String> aToB = pool.submit(() -> {
            String d = TestData.write(counting(a.outputStream(), written), SIZE, 256 * 1024, 1);
            a.closeWrite();
            return d;
        });
        Future<String> bToA = pool.submit(() -> {
            String d = TestData.write(b.outputStream(), SIZE, 256 * 1024, 2);
            b.closeWrite();
            return d;
        });
        Future<TestData.Digest> atB = pool.submit(() -> TestData.read(b.inputStream()));
        Future<TestData.Digest> atA = pool.submit(() -> TestData.read(a.inputStream()));
        await().atMost(Duration.ofSeconds(60)).until(() -> written.get() > SIZE * 2 / 5);
        proxies.get(1).reset();
        assertThat(atB.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(aToB.get(10, TimeUnit.SECONDS));
        assertThat(atA.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(bToA.get(10, TimeUnit.SECONDS));
        client.close();
    }

    /** Sends {@code size} pseudo-random bytes with tryWrite/onWritable only, as the sidecar's bridges do. */
    private static java.util.concurrent.CompletableFuture<String> pushNonBlocking(Stream s, long size, long seed) {
        java.util.concurrent.CompletableFuture<String> done = new java.util.concurrent.CompletableFuture<>();
        java.security.MessageDigest md = TestData.sha256();
        java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
        Runnable[] step = new Runnable[1];
        java.nio.ByteBuffer[] current = {java.nio.ByteBuffer.allocate(0)};
        long[] left = {size};
        step[0] = () -> {
            try {
                while (true) {
                    if (!current[0].hasRemaining()) {
                        if (left[0] == 0) {
                            s.closeWrite();
                            done.complete(java.util.HexFormat.of().formatHex(md.digest()));
                            return;
                        }
                        byte[] block = new byte[(int) Math.min(64 * 1024, left[0])];
                        random.nextBytes(block);
                        md.update(block);
                        left[0] -= block.length;
                        current[0] = java.nio.ByteBuffer.wrap(block);
                    }
                    if (s.tryWrite(current[0]) == 0) {
                        s.onWritable(step[0]);
                        return;
                    }
                }
            } catch (IOException e) {
                done.completeExceptionally(e);
            }
        };
        step[0].run();
        return done;
    }

    /** Receives with a handler and one chunk of demand at a time, as the sidecar's bridges do. */
    private static java.util.concurrent.CompletableFuture<String> pullWithHandler(Stream s) {
        java.util.concurrent.CompletableFuture<String> done = new java.util.concurrent.CompletableFuture<>();
        java.security.MessageDigest md = TestData.sha256();
        s.setHandler(new StreamHandler() {
            @Override
            public void onData(Stream stream, io.netty.buffer.ByteBuf data) {
                try {
                    md.update(data.nioBuffer());
                } finally {
                    data.release();
                }
                stream.request(1);
            }

            @Override
            public void onEnd(Stream stream) {
                done.complete(java.util.HexFormat.of().formatHex(md.digest()));
            }

            @Override
            public void onError(Stream stream, Throwable cause) {
                done.completeExceptionally(cause);
            }
        });
        s.request(1);
        return done;
    }

    @RepeatedTest(3)
    void bothDirectionsOfTheNonBlockingApiSurviveALinkReset() throws Exception {
        listener = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"));
        int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        for (int i = 0; i < 3; i++) {
            proxies.add(FaultProxy.start(new InetSocketAddress("127.0.0.1", port)));
        }
        Session client = InvMux.connect(Config.defaults(), proxies.stream().map(FaultProxy::uri).toArray(URI[]::new));
        Session server = listener.accept(Duration.ofSeconds(10));
        Stream a = client.openStream();
        Stream b = server.acceptStreamAsync().get(10, TimeUnit.SECONDS);
        var atB = pullWithHandler(b);
        var atA = pullWithHandler(a);
        var aToB = pushNonBlocking(a, SIZE, 1);
        var bToA = pushNonBlocking(b, SIZE, 2);
        await().atMost(Duration.ofSeconds(60)).until(() -> client.stats().bytesSent() > SIZE * 2 / 5);
        proxies.get(1).reset();
        assertThat(atB.get(60, TimeUnit.SECONDS)).isEqualTo(aToB.get(10, TimeUnit.SECONDS));
        assertThat(atA.get(60, TimeUnit.SECONDS)).isEqualTo(bToA.get(10, TimeUnit.SECONDS));
        client.close();
    }
}
