package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Behaviours of streams over real loopback TCP links, ported from the yamux and smux test suites. */
class StreamBehaviourTest {
    private final ExecutorService pool = Executors.newCachedThreadPool();

    @AfterEach
    void stopPool() throws InterruptedException {
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    /**
     * Chunks that became readable while the handler had no demand come in one call (up to 256 KiB), in order:
     * a handler that forwards each call as one message then pays per batch, not per chunk.
     */
    @Test
    void chunksReadableTogetherAreHandedOverInOneCall() throws Exception {
        try (Pair p = Pair.tcp(Config.builder().windowSize(1024 * 1024).build(), 2)) {
            byte[] sent = new byte[300 * 1024];
            new java.util.SplittableRandom(5).nextBytes(sent);
            Stream c = p.client.openStream();
            c.outputStream().write(sent);
            c.closeWrite();
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            List<byte[]> calls = new java.util.concurrent.CopyOnWriteArrayList<>();
            CompletableFuture<Void> ended = new CompletableFuture<>();
            s.setHandler(new StreamHandler() {
                @Override
                public void onData(Stream stream, io.netty.buffer.ByteBuf data) {
                    calls.add(io.netty.buffer.ByteBufUtil.getBytes(data));
                    data.release();
                }

                @Override
                public void onEnd(Stream stream) {
                    ended.complete(null);
                }

                @Override
                public void onError(Stream stream, Throwable cause) {
                    ended.completeExceptionally(cause);
                }
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> p.server.stats().bytesReceived() >= sent.length);
            s.request(1);
            await().atMost(Duration.ofSeconds(10)).until(() -> calls.size() == 1);
            assertThat(calls.get(0).length).as("one call, several chunks")
                    .isGreaterThan(Config.defaults().maxChunkSize()).isLessThanOrEqualTo(256 * 1024);
            s.request(20);
            ended.get(10, TimeUnit.SECONDS);
            java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
            for (byte[] b : calls) {
                all.write(b);
            }
            assertThat(all.toByteArray()).isEqualTo(sent);
            assertThat(calls.size()).as("300 KiB in calls of at most 256 KiB").isBetween(2, 4);
        }
    }

    /**
     * write(ByteBuf) hands buffers over without a copy, in order with tryWrite's bytes; the stream takes each
     * whole even past its limit (isWritable says when to stop), and releases it once the peer has acknowledged it.
     * Small copied writes in between leave a partly filled buffer behind, sent and empty, before the next owned one.
     */
    @Test
    void ownedBuffersAreSentInOrderWithCopiedBytesAndReleasedOnceAcknowledged() throws Exception {
        // The window may not grow: auto-tuned past 100 KiB it would take a 200 KiB buffer with room to spare.
        try (Pair p = Pair.tcp(Config.builder().windowSize(64 * 1024).maxWindowSize(64 * 1024).build(), 2)) {
            int[] sizes = {200 * 1024, 1000, 200 * 1024, 200 * 1024, 70_000, 3, 100_000, 200 * 1024, 5000, 1};
            int total = java.util.Arrays.stream(sizes).sum();
            byte[] sent = new byte[total];
            new java.util.SplittableRandom(11).nextBytes(sent);
            Stream c = p.client.openStream();
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
            java.util.concurrent.atomic.AtomicLong gotCount = new java.util.concurrent.atomic.AtomicLong();
            java.util.concurrent.Callable<Void> reader = () -> {
                byte[] buf = new byte[8192];
                int n;
                while ((n = s.inputStream().read(buf)) >= 0) {
                    synchronized (got) {
                        got.write(buf, 0, n);
                    }
                    gotCount.addAndGet(n);
                }
                return null;
            };
            Future<?> read = null;
            List<io.netty.buffer.ByteBuf> owned = new ArrayList<>();
            boolean sawNotWritable = false;
            int at = 0;
            for (int i = 0; i < sizes.length; i++) {
                int n = sizes[i];
                if (i % 2 == 0) {
                    // Spare capacity, as a socket's read buffer has: the stream must not write into it.
                    io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.directBuffer(n + 4096).writeBytes(sent, at, n);
                    owned.add(b);
                    c.write(b); // taken whole, whatever the room
                    if (read == null) {
                        // Nobody reads yet, so the peer's window cannot reopen: the stream stays over its limit
                        // (twice the window) however fast the first 64 KiB are acknowledged.
                        sawNotWritable = !c.isWritable();
                        read = pool.submit(reader);
                    }
                } else {
                    java.nio.ByteBuffer src = java.nio.ByteBuffer.wrap(sent, at, n);
                    while (src.hasRemaining()) {
                        if (c.tryWrite(src) == 0) {
                            CompletableFuture<Void> writable = new CompletableFuture<>();
                            c.onWritable(() -> writable.complete(null));
                            writable.get(10, TimeUnit.SECONDS);
                        }
                    }
                }
                at += n;
                if (!c.isWritable()) {
                    CompletableFuture<Void> writable = new CompletableFuture<>();
                    c.onWritable(() -> writable.complete(null));
                    writable.get(10, TimeUnit.SECONDS);
                }
                long written = at;
                // Everything so far has arrived before the next write: a copied write's buffer is sent and empty.
                await().atMost(Duration.ofSeconds(10)).until(() -> gotCount.get() == written);
            }
            c.closeWrite();
            read.get(20, TimeUnit.SECONDS);
            assertThat(got.toByteArray()).isEqualTo(sent);
            assertThat(sawNotWritable).as("a 200 KiB buffer fills a 64 KiB window's send buffer").isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> owned.stream().allMatch(b -> b.refCnt() == 0));
        }
    }

    @Test
    void anOwnedBufferWrittenAfterCloseWriteIsReleasedAndRefused() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            Stream c = p.client.openStream();
            c.closeWrite();
            io.netty.buffer.ByteBuf b = io.netty.buffer.Unpooled.directBuffer(16).writeLong(1).writeLong(2);
            assertThatThrownBy(() -> c.write(b)).isInstanceOf(IOException.class);
            assertThat(b.refCnt()).isZero();
        }
    }

    @Test
    void halfCloseFromTheOpenerStillLetsThePeerAnswer() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream c = p.client.openStream();
            c.outputStream().write("question".getBytes());
            c.closeWrite();
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            assertThat(new String(s.inputStream().readAllBytes())).isEqualTo("question");
            s.outputStream().write("answer".getBytes());
            s.closeWrite();
            assertThat(new String(c.inputStream().readAllBytes())).isEqualTo("answer");
            c.closeFuture().get(10, TimeUnit.SECONDS);
            s.closeFuture().get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> p.client.numStreams() == 0
                    && p.server.numStreams() == 0);
        }
    }

    @Test
    void halfCloseFromTheAcceptorStillLetsTheOpenerWrite() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream c = p.client.openStream();
            c.outputStream().write(1);
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            s.outputStream().write("done".getBytes());
            s.closeWrite();
            assertThat(new String(c.inputStream().readAllBytes())).isEqualTo("done");
            assertThatThrownBy(() -> s.outputStream().write(2)).isInstanceOf(IOException.class)
                    .hasMessageContaining("closed for writing");
            c.outputStream().write("more".getBytes());
            c.closeWrite();
            byte[] all = s.inputStream().readAllBytes();
            assertThat(all).hasSize(5);
            assertThat(new String(all, 1, 4)).isEqualTo("more");
        }
    }

    @Test
    void streamsBeyondTheAcceptBacklogAreRefusedWithAClearError() throws Exception {
        Config config = Config.builder().acceptBacklog(2).build();
        try (Pair p = Pair.tcp(config, 1)) {
            List<Stream> opened = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                Stream s = p.client.openStream();
                if (i < 2) { // the third may be refused before a write could reach it: its OPEN goes out alone
                    s.outputStream().write(i);
                }
                opened.add(s);
            }
            Stream refused = opened.get(2);
            assertThatThrownBy(() -> refused.inputStream().read())
                    .isInstanceOfSatisfying(StreamResetException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.REFUSED_STREAM);
                        assertThat(e.byPeer()).isTrue();
                        assertThat(e.getMessage()).contains("accept backlog of 2 streams is full");
                    });
            assertThat(p.server.acceptStream(Duration.ofSeconds(5)).inputStream().read()).isEqualTo(0);
            assertThat(p.server.acceptStream(Duration.ofSeconds(5)).inputStream().read()).isEqualTo(1);
        }
    }

    @Test
    void goAwayRefusesNewStreamsWhileOpenOnesDrain() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream c = p.client.openStream();
            c.outputStream().write("before".getBytes());
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            p.server.goAway();
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                    assertThatThrownBy(() -> p.client.openStream())
                            .isInstanceOf(SessionClosedException.class).hasMessageContaining("going away"));
            assertThatThrownBy(() -> p.server.openStream()).isInstanceOf(SessionClosedException.class);
            c.outputStream().write(" and after".getBytes());
            c.closeWrite();
            assertThat(new String(s.inputStream().readAllBytes())).isEqualTo("before and after");
            s.closeWrite();
            assertThat(c.inputStream().read()).isEqualTo(-1);
        }
    }

    @Test
    void aLargeWriteArrivesIntactOverThreeLinks() throws Exception {
        long size = 256L * 1024 * 1024;
        // No chunk may arrive twice, so no link may be suspected of stalling: at the default 100 ms keep-alive a
        // machine starved of CPU can delay a healthy link's reports past the 300 ms that takes; at 500 ms it cannot.
        Config config = Config.builder().keepAliveInterval(Duration.ofMillis(500))
                .keepAliveTimeout(Duration.ofSeconds(4)).build();
        try (Pair p = Pair.tcp(config, 3)) {
            Stream c = p.client.openStream();
            Future<TestData.Digest> received = pool.submit(() -> {
                Stream s = p.server.acceptStream(Duration.ofSeconds(10));
                return TestData.read(s.inputStream());
            });
            String sent = TestData.write(c.outputStream(), size, 1024 * 1024, 42);
            c.closeWrite();
            TestData.Digest got = received.get(100, TimeUnit.SECONDS);
            assertThat(got.bytes()).isEqualTo(size);
            assertThat(got.sha256()).isEqualTo(sent);
            SessionStats stats = p.server.stats();
            assertThat(stats.bytesReceived()).isEqualTo(size);
            assertThat(stats.duplicateChunks()).isZero();
        }
    }

    @Test
    void aThousandConcurrentStreamsPingPong() throws Exception {
        int count = 1000;
        Config config = Config.builder().acceptBacklog(count).build();
        try (Pair p = Pair.tcp(config, 3)) {
            ExecutorService echoPool = Executors.newFixedThreadPool(16);
            Future<Integer> echoed = pool.submit(() -> {
                List<Future<?>> echoes = new ArrayList<>();
                for (int i = 0; i < count; i++) {
                    Stream s = p.server.acceptStream(Duration.ofSeconds(30));
                    echoes.add(echoPool.submit(() -> {
                        byte[] ping = s.inputStream().readNBytes(4);
                        s.outputStream().write(ping);
                        s.closeWrite();
                        return null;
                    }));
                }
                for (Future<?> f : echoes) {
                    f.get(30, TimeUnit.SECONDS);
                }
                echoPool.shutdown();
                return echoes.size();
            });
            List<Stream> streams = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                Stream s = p.client.openStream();
                s.outputStream().write(java.nio.ByteBuffer.allocate(4).putInt(i).array());
                streams.add(s);
            }
            for (int i = 0; i < count; i++) {
                Stream s = streams.get(i);
                assertThat(java.nio.ByteBuffer.wrap(s.inputStream().readAllBytes()).getInt()).isEqualTo(i);
                s.closeWrite();
            }
            assertThat(echoed.get(60, TimeUnit.SECONDS)).isEqualTo(count);
            await().atMost(Duration.ofSeconds(20)).until(() -> p.client.numStreams() == 0
                    && p.server.numStreams() == 0);
        }
    }

    @Test
    void aStreamWhoseReaderStallsDoesNotStallTheOthers() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream stalled = p.client.openStream("stalled".getBytes());
            Future<Long> stalledWriter = pool.submit(() -> {
                TestData.write(stalled.outputStream(), 8L * 1024 * 1024, 64 * 1024, 7);
                stalled.closeWrite();
                return 0L;
            });
            Stream stalledPeer = p.server.acceptStream(Duration.ofSeconds(10));
            // Its window fills: the writer blocks, the session does not.
            await().atMost(Duration.ofSeconds(10)).until(() -> stalledPeer.inputStream().available()
                    >= Config.defaults().windowSize());
            assertThat(stalledWriter.isDone()).isFalse();

            Stream flowing = p.client.openStream("flowing".getBytes());
            Future<TestData.Digest> flowingRead = pool.submit(() ->
                    TestData.read(p.server.acceptStream(Duration.ofSeconds(10)).inputStream()));
            String sent = TestData.write(flowing.outputStream(), 32L * 1024 * 1024, 64 * 1024, 8);
            flowing.closeWrite();
            assertThat(flowingRead.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
            assertThat(stalledWriter.isDone()).isFalse();

            TestData.Digest late = TestData.read(stalledPeer.inputStream());
            assertThat(late.bytes()).isEqualTo(8L * 1024 * 1024);
            stalledWriter.get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void aTimedOutWriteReportsExactlyWhatItAcceptedAndNothingIsDuplicated() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream c = p.client.openStream();
            c.setWriteTimeout(Duration.ofMillis(300));
            byte[] big = new byte[8 * 1024 * 1024];
            for (int i = 0; i < big.length; i++) {
                big[i] = (byte) (i * 31 + (i >>> 13));
            }
            Stream s = p.server.acceptStreamAsync().get(10, TimeUnit.SECONDS);
            WriteTimeoutException timeout = org.junit.jupiter.api.Assertions.assertThrows(
                    WriteTimeoutException.class, () -> c.outputStream().write(big));
            int accepted = timeout.bytesTransferred;
            assertThat(accepted).isPositive().isLessThan(big.length);
            assertThat(timeout.getMessage()).contains(accepted + " of " + big.length + " bytes were accepted");
            c.setWriteTimeout(Duration.ZERO);
            // The application retries with exactly the rest; the peer must see every byte once.
            Future<?> rest = pool.submit(() -> {
                c.outputStream().write(big, accepted, big.length - accepted);
                c.closeWrite();
                return null;
            });
            byte[] got = s.inputStream().readAllBytes();
            rest.get(30, TimeUnit.SECONDS);
            assertThat(got).isEqualTo(big);
        }
    }

    @Test
    void resetByTheApplicationReachesThePeerAsCancel() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            Stream c = p.client.openStream();
            c.outputStream().write(1);
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            assertThat(s.inputStream().read()).isEqualTo(1);
            c.reset();
            InputStream in = s.inputStream();
            assertThatThrownBy(in::read).isInstanceOfSatisfying(StreamResetException.class, e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.CANCEL);
                assertThat(e.byPeer()).isTrue();
            });
            assertThatThrownBy(() -> c.outputStream().write(2)).isInstanceOf(StreamResetException.class);
            assertThat(s.closeFuture()).failsWithin(Duration.ofSeconds(5));
            // The session carries on.
            Stream next = p.client.openStream();
            next.outputStream().write(9);
            assertThat(p.server.acceptStream(Duration.ofSeconds(10)).inputStream().read()).isEqualTo(9);
        }
    }

    /** The server's end of {@code opened}, once a first byte has made the stream known there. */
    private static Stream acceptedEnd(Pair p, Stream opened) throws Exception {
        opened.outputStream().write(1);
        return p.server.acceptStream(Duration.ofSeconds(10));
    }

    @Test
    void aResetWithAReasonReachesThePeerWithItsCodeAndReason() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 1)) {
            Stream c = p.client.openStream();
            Stream s = acceptedEnd(p, c);
            s.reset(ErrorCode.REFUSED_STREAM, "service 'x' is full");
            s.reset(ErrorCode.CANCEL, "too late: the first reset is the one sent");
            assertThatThrownBy(() -> c.inputStream().read()).isInstanceOfSatisfying(StreamResetException.class, e -> {
                assertThat(e.errorCode()).isEqualTo(ErrorCode.REFUSED_STREAM);
                assertThat(e.getMessage()).contains("service 'x' is full");
                assertThat(e.byPeer()).isTrue();
            });
        }
    }

    @Test
    void closingTheSessionFailsOpenStreamsOnBothEnds() throws Exception {
        try (Pair p = Pair.tcp(Config.defaults(), 2)) {
            Stream c = p.client.openStream();
            c.outputStream().write(1);
            Stream s = p.server.acceptStream(Duration.ofSeconds(10));
            CompletableFuture<Integer> blockedRead = CompletableFuture.supplyAsync(() -> {
                try {
                    s.inputStream().read();
                    return s.inputStream().read();
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }, pool);
            p.client.close();
            assertThat(blockedRead).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
                    .havingRootCause().isInstanceOf(SessionClosedException.class);
            await().atMost(Duration.ofSeconds(5)).until(p.server::isClosed);
            assertThatThrownBy(() -> c.outputStream().write(1)).isInstanceOf(SessionClosedException.class);
        }
    }
}
