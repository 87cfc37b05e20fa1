package io.invmux.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.InvMux;
import io.invmux.InvMuxException;
import io.invmux.Middleware;
import io.invmux.Pair;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.TestData;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.internal.frame.HelloFrame;
import io.invmux.internal.frame.OpenFrame;
import io.invmux.internal.session.Handshake;
import io.invmux.testing.ScriptedPeer;
import io.netty.buffer.Unpooled;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Compression between two real sessions over loopback TCP links. */
class CompressionSessionTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private static Config config(Middleware m, int chunk) {
        return Config.builder().maxChunkSize(chunk).middleware(List.of(m)).build();
    }

    static CompressionMiddleware compression(Session s) {
        return s.middleware().stream().filter(CompressionMiddleware.class::isInstance)
                .map(CompressionMiddleware.class::cast).findFirst().orElseThrow();
    }

    /** Sends {@code data} client to server on a new stream; returns what arrived. */
    private static byte[] send(Pair p, byte[] data) throws Exception {
        Stream out = p.client.openStream();
        CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> {
            try {
                return p.server.acceptStream(WAIT).inputStream().readAllBytes();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        out.outputStream().write(data);
        out.closeWrite();
        return got.get(30, TimeUnit.SECONDS);
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void everyKindOfDataArrivesIntactAtSmallDefaultAndLargeChunkSizes(Algorithm algorithm) throws Exception {
        for (int chunk : new int[] {1024, 32 * 1024, 1024 * 1024}) {
            // not adaptive: on loopback the session could rightly stop compressing, and every path is to be seen
            Config config = config(CompressionMiddleware.builder(algorithm).adaptive(false).build(), chunk);
            try (Pair p = Pair.tcp(config, 2)) {
                for (Payloads kind : Payloads.values()) {
                    byte[] data = kind.make(3 * 1024 * 1024 + 17, chunk);
                    assertThat(send(p, data)).as("%s %s at chunk size %d", algorithm, kind, chunk).isEqualTo(data);
                }
                CompressionStats sent = compression(p.client).stats();
                CompressionStats received = compression(p.server).stats();
                assertThat(sent.bytesIn()).isEqualTo(4L * (3 * 1024 * 1024 + 17));
                // copies of chunks re-sent from a link that went quiet count on arrival too
                assertThat(received.receivedRawBytes()).isGreaterThanOrEqualTo(sent.bytesIn());
                assertThat(received.receivedBytes()).isGreaterThanOrEqualTo(sent.bytesOut());
                assertThat(sent.chunksCompressed()).isPositive();
                assertThat(sent.chunksRaw()).isPositive();
            }
        }
    }

    @Test
    void compressibleTrafficCrossesTheLinksInFarFewerBytes() throws Exception {
        try (Pair p = Pair.tcp(config(CompressionMiddleware.zstd().adaptive(false).build(), 32 * 1024), 3)) {
            byte[] data = Payloads.TEXT.make(8 * 1024 * 1024, 1);
            assertThat(send(p, data)).isEqualTo(data);
            CompressionStats s = compression(p.client).stats();
            assertThat(s.ratio()).isLessThan(0.3);
            long onTheWire = p.client.stats().links().stream().mapToLong(l -> l.bytesSent()).sum();
            assertThat(onTheWire).isLessThan(data.length / 3);
        }
    }

    @Test
    void anIncompressibleStreamGoesRawAndCostsAtMostAByteAChunk() throws Exception {
        // per-stream adaptation only: on loopback the session would rightly stop compressing altogether
        try (Pair p = Pair.tcp(config(CompressionMiddleware.lz4().adaptivePath(false).build(), 16 * 1024), 1)) {
            // enough chunks that a trial of the path without compression (a loaded machine) leaves the stream tries
            byte[] data = Payloads.RANDOM.make(16 * 1024 * 1024, 2);
            assertThat(send(p, data)).isEqualTo(data);
            CompressionStats s = compression(p.client).stats();
            assertThat(s.chunksCompressed()).isZero();
            assertThat(s.bytesOut()).isEqualTo(s.bytesIn() + s.chunksRaw());
            assertThat(s.streamSwitchesToRaw()).as(s.toString()).isEqualTo(1);
        }
    }

    @Test
    void chainsThatDifferAreRefusedWithBothNamed() throws Exception {
        Config server = config(CompressionMiddleware.zstd().build(), 32 * 1024);
        try (SessionListener listener = InvMux.listen(server, URI.create("tcp://127.0.0.1:0"))) {
            URI uri = URI.create("tcp://127.0.0.1:" + ((InetSocketAddress) listener.localAddresses().get(0)).getPort());
            assertThatThrownBy(() -> InvMux.connect(config(CompressionMiddleware.lz4().build(), 32 * 1024), uri))
                    .isInstanceOfSatisfying(InvMuxException.class, e -> {
                        assertThat(e.errorCode()).isEqualTo(ErrorCode.HANDSHAKE_FAILED);
                        assertThat(e.getMessage()).contains("middleware chain mismatch").contains("[lz4]")
                                .contains("[zstd]");
                    });
            CompressionMiddleware withDictionary = CompressionMiddleware.zstd()
                    .dictionary(Payloads.TEXT.make(4096, 3)).build();
            assertThatThrownBy(() -> InvMux.connect(config(withDictionary, 32 * 1024), uri))
                    .isInstanceOfSatisfying(InvMuxException.class, e -> assertThat(e.getMessage())
                            .contains("[" + withDictionary.name() + "]").contains("[zstd]"));
            assertThat(listener.sessions()).isEmpty();
        }
    }

    @Test
    void aStreamTheApplicationChoseRawIsSentRawNextToACompressedOne() throws Exception {
        try (Pair p = Pair.tcp(config(CompressionMiddleware.zstd().build(), 32 * 1024), 2)) {
            CompressionMiddleware c = compression(p.client);
            byte[] data = Payloads.TEXT.make(2 * 1024 * 1024, 4);
            Stream raw = p.client.openStream();
            c.setStreamCompression(raw.id(), false);
            raw.outputStream().write(data, 0, 1);
            InputStream in = p.server.acceptStream(WAIT).inputStream();
            CompletableFuture<byte[]> got = CompletableFuture.supplyAsync(() -> {
                try {
                    return in.readAllBytes();
                } catch (java.io.IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            raw.outputStream().write(data, 1, data.length - 1);
            raw.closeWrite();
            assertThat(got.get(30, TimeUnit.SECONDS)).isEqualTo(data);
            CompressionStats afterRaw = c.stats();
            assertThat(afterRaw.chunksCompressed()).isZero();
            assertThat(send(p, data)).isEqualTo(data);
            assertThat(c.stats().chunksCompressed()).isPositive();
        }
    }

    /**
     * A peer (scripted) sends a decompression bomb, or a corrupt compressed chunk, on one link: that link is closed
     * naming the reason, nothing of the chunk reaches the stream, and the chunk sent again on the other link
     * completes the stream.
     */
    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"bomb", "corrupt"})
    void aBadCompressedChunkClosesItsLinkAndTheChunkReSentOnAnotherLinkCompletesTheStream(String kind)
            throws Exception {
        byte[] psk = new byte[32];
        new SplittableRandom(5).nextBytes(psk);
        Config config = Config.builder().preSharedKey(psk).middleware(List.of(CompressionMiddleware.zstd().build()))
                .keepAliveInterval(Duration.ofSeconds(10)).keepAliveTimeout(Duration.ofSeconds(60)).build();
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
            byte[] id = new byte[16];
            new SplittableRandom(6).nextBytes(id);
            try (ScriptedPeer first = join(port, psk, id, 1, true);
                    ScriptedPeer second = join(port, psk, id, 2, false)) {
                Session accepted = listener.accept(WAIT);
                await().atMost(WAIT).until(() -> accepted.numConnections() == 2);
                first.send(new OpenFrame(1, "events".getBytes(StandardCharsets.UTF_8)));
                first.send(new DataFrame(1, 0, 0, raw("hello ")));
                byte[] block = kind.equals("bomb") ? com.github.luben.zstd.Zstd.compress(new byte[1024 * 1024], 3)
                        : Payloads.RANDOM.make(200, 8);
                byte[] bad = CompressionMiddlewareTest.withHeader(6, block);
                first.send(new DataFrame(1, Frame.FLAG_FIN, 6, Unpooled.wrappedBuffer(bad)));
                GoAwayFrame goAway = first.readUntil(GoAwayFrame.class, WAIT);
                assertThat(goAway.linkOnly()).isTrue();
                assertThat(goAway.errorCode).isEqualTo(ErrorCode.PROTOCOL_ERROR);
                assertThat(goAway.message).contains("middleware refused the chunk of stream 1 at offset 6")
                        .contains("zstd: compressed chunk does not inflate to its declared 6 bytes");
                assertThat(first.closedByPeer(WAIT)).isTrue();

                second.send(new DataFrame(1, Frame.FLAG_FIN, 6, raw("world!")));
                Stream in = accepted.acceptStream(WAIT);
                assertThat(new String(in.inputStream().readAllBytes(), StandardCharsets.UTF_8))
                        .isEqualTo("hello world!");
                assertThat(accepted.numConnections()).isEqualTo(1);
                assertThat(accepted.isClosed()).isFalse();
            }
        }
    }

    private static io.netty.buffer.ByteBuf raw(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        return Unpooled.buffer(b.length + 1).writeByte(0).writeBytes(b);
    }

    /** A scripted link of session {@code id} through the three HELLOs, offering the chain [zstd]. */
    private static ScriptedPeer join(int port, byte[] psk, byte[] id, int link, boolean first) throws Exception {
        ScriptedPeer peer = ScriptedPeer.connect(port);
        byte[] nonce = new byte[16];
        new SplittableRandom(link).nextBytes(nonce);
        Config d = Config.defaults();
        HelloFrame request = new HelloFrame(first ? Frame.FLAG_HELLO_NEW_SESSION : 0, id, link,
                d.maxChunkSize(), d.windowSize(), d.sessionWindowSize(), List.of("zstd"), nonce);
        peer.sendPreface().send(request);
        HelloFrame reply = peer.readUntil(HelloFrame.class, WAIT);
        assertThat(reply.middleware).containsExactly("zstd");
        peer.send(new HelloFrame(Frame.FLAG_HELLO_PROOF, id, link, d.maxChunkSize(), d.windowSize(),
                d.sessionWindowSize(), List.of("zstd"), Handshake.dialerMac(psk, request, Handshake.withoutMac(reply))));
        return peer;
    }

    /** A failover with compression on: one of three links is reset mid-transfer, every byte arrives once. */
    @Test
    void aLinkResetMidTransferWithCompressionLosesNothing() throws Exception {
        // not adaptive: on loopback the session would rightly stop compressing, and compressed chunks are the point
        Config config = config(CompressionMiddleware.zstd().adaptive(false).build(), 32 * 1024);
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            InetSocketAddress target = (InetSocketAddress) listener.localAddresses().get(0);
            List<io.invmux.fault.FaultProxy> proxies = List.of(io.invmux.fault.FaultProxy.start(target),
                    io.invmux.fault.FaultProxy.start(target), io.invmux.fault.FaultProxy.start(target));
            try {
                Session client = InvMux.connect(config, proxies.stream().map(io.invmux.fault.FaultProxy::uri)
                        .toArray(URI[]::new));
                Session server = listener.accept(WAIT);
                Stream out = client.openStream();
                long total = 512L * 1024 * 1024;
                java.util.concurrent.atomic.AtomicLong written = new java.util.concurrent.atomic.AtomicLong();
                CompletableFuture<String> sent = CompletableFuture.supplyAsync(() -> writeText(out, total, written));
                Stream in = server.acceptStream(WAIT);
                CompletableFuture<TestData.Digest> got = CompletableFuture.supplyAsync(() -> read(in.inputStream()));
                await().atMost(Duration.ofSeconds(60)).until(() -> written.get() > total / 3);
                // The link carrying the traffic now: compressed, the transfer may fit on one link, leaving others idle.
                io.invmux.fault.FaultProxy cut = proxies.stream().max(java.util.Comparator.comparingLong(
                        x -> chunksSentThrough(client, x))).orElseThrow();
                // hold the link's bytes until a chunk is surely in flight on it, so the reset has something to lose
                long sentBefore = chunksSentThrough(client, cut);
                cut.blackhole();
                // (a link that stays black-holed is declared dead after the keep-alive timeout: it had chunks then)
                await().atMost(Duration.ofSeconds(60)).until(() -> chunksSentThrough(client, cut) > sentBefore
                        || client.numConnections() < 3);
                cut.reset();
                cut.heal();
                assertThat(got.get(120, TimeUnit.SECONDS)).isEqualTo(new TestData.Digest(sent.get(10,
                        TimeUnit.SECONDS), total));
                assertThat(client.stats().chunksResent()).isPositive();
                assertThat(compression(client).stats().ratio()).isLessThan(0.5);
                client.close();
            } finally {
                proxies.forEach(io.invmux.fault.FaultProxy::close);
            }
        }
    }

    private static long chunksSentThrough(Session s, io.invmux.fault.FaultProxy proxy) {
        return s.stats().links().stream().filter(l -> l.remoteAddress().endsWith(":" + proxy.port()))
                .mapToLong(l -> l.chunksSent()).sum();
    }

    private static String writeText(Stream out, long total, java.util.concurrent.atomic.AtomicLong written) {
        try {
            java.security.MessageDigest md = TestData.sha256();
            byte[] corpus = Payloads.text(8 * 1024 * 1024, new SplittableRandom(9));
            OutputStream os = out.outputStream();
            int at = 0;
            while (written.get() < total) {
                int n = (int) Math.min(Math.min(256 * 1024, corpus.length - at), total - written.get());
                md.update(corpus, at, n);
                os.write(corpus, at, n);
                written.addAndGet(n);
                at = (at + n) % corpus.length;
            }
            out.closeWrite();
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static TestData.Digest read(InputStream in) {
        try {
            return TestData.read(in);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
