package io.invmux.compress;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import io.invmux.Config;
import io.invmux.MiddlewareException;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.Deflater;
import net.jpountz.lz4.LZ4Factory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

/** One chunk at a time through a session's compression middleware, out and back in. */
class CompressionMiddlewareTest {
    private static final int[] CHUNK_SIZES = {1024, 4096, 16 * 1024, 32 * 1024, 64 * 1024, 256 * 1024, 1024 * 1024};

    private static CompressionMiddleware session(CompressionMiddleware.Builder b, int maxChunk) {
        return (CompressionMiddleware) b.build().forSession(Config.builder().maxChunkSize(maxChunk).build());
    }

    private static ByteBuf direct(byte[] bytes) {
        return PooledByteBufAllocator.DEFAULT.directBuffer(bytes.length).writeBytes(bytes);
    }

    private static byte[] drain(ByteBuf b) {
        try {
            return ByteBufUtil.getBytes(b);
        } finally {
            b.release();
        }
    }

    static List<Arguments> algorithmsAndPayloads() {
        List<Arguments> all = new ArrayList<>();
        for (Algorithm a : Algorithm.values()) {
            for (Payloads p : Payloads.values()) {
                all.add(Arguments.of(a, p));
            }
        }
        return all;
    }

    @ParameterizedTest
    @MethodSource("algorithmsAndPayloads")
    void everyKindOfDataRoundTripsAtEveryChunkSize(Algorithm algorithm, Payloads kind) {
        for (int size : CHUNK_SIZES) {
            CompressionMiddleware sender = session(CompressionMiddleware.builder(algorithm).adaptive(false), size);
            CompressionMiddleware receiver = session(CompressionMiddleware.builder(algorithm), size);
            for (int length : new int[] {1, 63, 64, 1000, size - 1, size}) {
                byte[] data = kind.make(length, size + length);
                ByteBuf wire = sender.processOutbound(1, direct(data));
                assertThat(wire.readableBytes()).as("%s %s chunk of %d", algorithm, kind, length)
                        .isLessThanOrEqualTo(length + CompressionMiddleware.MAX_OVERHEAD);
                assertThat(drain(receiver.processInbound(1, wire))).as("%s %s chunk of %d at size %d", algorithm,
                        kind, length, size).isEqualTo(data);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void compressibleChunksShrinkAndIncompressibleOnesGoRawWithOneByteMore(Algorithm algorithm) {
        CompressionMiddleware m = session(CompressionMiddleware.builder(algorithm).adaptive(false), 32 * 1024);
        ByteBuf text = m.processOutbound(1, direct(Payloads.TEXT.make(32 * 1024, 1)));
        assertThat(text.getByte(text.readerIndex())).isEqualTo(CompressionMiddleware.COMPRESSED);
        assertThat(text.readableBytes()).isLessThan(32 * 1024 / 2);
        text.release();
        for (Payloads kind : List.of(Payloads.RANDOM, Payloads.COMPRESSED)) {
            ByteBuf raw = m.processOutbound(1, direct(kind.make(32 * 1024, 2)));
            assertThat(raw.getByte(raw.readerIndex())).as(kind.name()).isEqualTo(CompressionMiddleware.RAW);
            assertThat(raw.readableBytes()).isEqualTo(32 * 1024 + 1);
            raw.release();
        }
        CompressionStats s = m.stats();
        assertThat(s.chunksCompressed()).isEqualTo(1);
        assertThat(s.chunksRaw()).isEqualTo(2);
        assertThat(s.bytesIn()).isEqualTo(3 * 32 * 1024);
        assertThat(s.compressNanos()).isPositive();
    }

    @Test
    void aChunkThatSavesLessThanTheThresholdGoesRaw() {
        // Half text, half random: it shrinks, but by less than the 60 % asked for.
        byte[] mixed = Payloads.TEXT.make(16 * 1024, 3);
        byte[] half = Payloads.RANDOM.make(8 * 1024, 4);
        System.arraycopy(half, 0, mixed, 0, half.length);
        CompressionMiddleware strict = session(CompressionMiddleware.zstd().minSaving(0.5).adaptive(false), 16384);
        ByteBuf out = strict.processOutbound(1, direct(mixed));
        assertThat(out.getByte(out.readerIndex())).isEqualTo(CompressionMiddleware.RAW);
        out.release();
        CompressionMiddleware lax = session(CompressionMiddleware.zstd().minSaving(0.05).adaptive(false), 16384);
        out = lax.processOutbound(1, direct(mixed));
        assertThat(out.getByte(out.readerIndex())).isEqualTo(CompressionMiddleware.COMPRESSED);
        out.release();
    }

    @Test
    void heapAndCompositeChunksAreCompressedToo() {
        CompressionMiddleware m = session(CompressionMiddleware.lz4(), 32 * 1024);
        byte[] data = Payloads.TEXT.make(20_000, 5);
        ByteBuf heap = Unpooled.wrappedBuffer(data);
        ByteBuf composite = Unpooled.wrappedBuffer(Unpooled.wrappedBuffer(data, 0, 10_000),
                Unpooled.wrappedBuffer(data, 10_000, 10_000));
        for (ByteBuf in : List.of(heap, composite)) {
            ByteBuf wire = m.processOutbound(3, in);
            assertThat(wire.getByte(wire.readerIndex())).isEqualTo(CompressionMiddleware.COMPRESSED);
            assertThat(drain(m.processInbound(3, wire))).isEqualTo(data);
        }
    }

    /** A block that inflates to 1 MiB behind a header declaring 32 KiB, for each algorithm. */
    private static byte[] bomb(Algorithm algorithm) {
        byte[] zeros = new byte[1024 * 1024];
        byte[] block;
        switch (algorithm) {
            case ZSTD:
                block = Zstd.compress(zeros, 3);
                break;
            case LZ4:
                block = LZ4Factory.fastestInstance().fastCompressor().compress(zeros);
                break;
            default: {
                Deflater d = new Deflater(9, true);
                d.setInput(zeros);
                d.finish();
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                byte[] buf = new byte[4096];
                while (!d.finished()) {
                    out.write(buf, 0, d.deflate(buf));
                }
                d.end();
                block = out.toByteArray();
            }
        }
        return withHeader(32 * 1024, block);
    }

    static byte[] withHeader(int declared, byte[] block) {
        ByteBuf b = Unpooled.buffer().writeByte(CompressionMiddleware.COMPRESSED).writeInt(declared).writeBytes(block);
        return drain(b);
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aDecompressionBombIsRefusedWithoutInflatingPastTheChunkSize(Algorithm algorithm) {
        CompressionMiddleware m = session(CompressionMiddleware.builder(algorithm), 32 * 1024);
        ByteBuf bomb = direct(bomb(algorithm));
        assertThatThrownBy(() -> m.processInbound(1, bomb)).isInstanceOf(MiddlewareException.class)
                .hasMessageContaining(algorithm.wireName())
                .hasMessageContaining("does not inflate to its declared 32768 bytes");
        assertThat(bomb.refCnt()).as("the refused chunk is released").isZero();
    }

    @Test
    void aChunkDeclaringMoreThanTheChunkSizeIsRefusedBeforeAnythingIsAllocated() {
        CompressionMiddleware m = session(CompressionMiddleware.zstd(), 32 * 1024);
        ByteBuf big = direct(withHeader(Integer.MAX_VALUE, new byte[16]));
        assertThatThrownBy(() -> m.processInbound(1, big)).isInstanceOf(MiddlewareException.class)
                .hasMessage("zstd: compressed chunk declares 2147483647 raw bytes, outside 1 to maxChunkSize (32768)");
        assertThat(big.refCnt()).isZero();
    }

    @ParameterizedTest
    @EnumSource(Algorithm.class)
    void aCorruptOrTruncatedBlockIsRefused(Algorithm algorithm) {
        CompressionMiddleware m = session(CompressionMiddleware.builder(algorithm).adaptive(false), 32 * 1024);
        ByteBuf good = m.processOutbound(1, direct(Payloads.TEXT.make(32 * 1024, 9)));
        byte[] wire = drain(good);
        byte[] truncated = java.util.Arrays.copyOf(wire, wire.length / 2);
        assertThatThrownBy(() -> m.processInbound(1, direct(truncated))).isInstanceOf(MiddlewareException.class)
                .hasMessageContaining(algorithm.wireName() + ": compressed chunk");
        byte[] garbage = withHeader(32 * 1024, Payloads.RANDOM.make(2000, 10));
        assertThatThrownBy(() -> m.processInbound(1, direct(garbage))).isInstanceOf(MiddlewareException.class)
                .hasMessageContaining(algorithm.wireName() + ": compressed chunk");
        assertThatThrownBy(() -> m.processInbound(1, direct(new byte[] {7, 1, 2})))
                .isInstanceOf(MiddlewareException.class).hasMessageContaining("unknown chunk header 0x7");
        assertThatThrownBy(() -> m.processInbound(1, direct(new byte[0])))
                .isInstanceOf(MiddlewareException.class).hasMessageContaining("empty chunk");
    }

    @Test
    void anIncompressibleStreamStopsTryingAndAnotherStreamStillCompresses() {
        // the test thread does little but compress: the session-wide decision would (rightly) stop compressing
        CompressionMiddleware m = session(CompressionMiddleware.zstd().adaptivePath(false), 16 * 1024);
        for (int i = 0; i < 100; i++) {
            m.processOutbound(1, direct(Payloads.RANDOM.make(16 * 1024, i))).release();
            ByteBuf text = m.processOutbound(3, direct(Payloads.TEXT.make(16 * 1024, i)));
            assertThat(text.getByte(text.readerIndex())).isEqualTo(CompressionMiddleware.COMPRESSED);
            text.release();
        }
        CompressionStats s = m.stats();
        assertThat(s.streamsSendingRaw()).isEqualTo(1);
        assertThat(s.streamSwitchesToRaw()).isEqualTo(1);
        assertThat(s.chunksCompressed()).isEqualTo(100);
        // Stream 1 was tried 4 times, then once after skipping 8, once after 16, 32: 7 tries of 100 chunks.
        long before = s.compressNanos();
        assertThat(before).isPositive();
        m.onStreamClose(1);
        assertThat(m.stats().streamsSendingRaw()).isZero();
    }

    @Test
    void aStreamWhoseDataTurnsCompressibleIsCompressedAgain() {
        CompressionMiddleware m = session(CompressionMiddleware.lz4().adaptivePath(false), 16 * 1024);
        for (int i = 0; i < 20; i++) {
            m.processOutbound(5, direct(Payloads.RANDOM.make(16 * 1024, i))).release();
        }
        assertThat(m.stats().streamsSendingRaw()).isEqualTo(1);
        int rawBefore = (int) m.stats().chunksRaw();
        int untilCompressed = 0;
        while (true) {
            ByteBuf out = m.processOutbound(5, direct(Payloads.TEXT.make(16 * 1024, untilCompressed)));
            boolean compressed = out.getByte(out.readerIndex()) == CompressionMiddleware.COMPRESSED;
            out.release();
            if (compressed) {
                break;
            }
            untilCompressed++;
            assertThat(untilCompressed).isLessThanOrEqualTo(256);
        }
        assertThat(m.stats().streamsSendingRaw()).isZero();
        assertThat(m.stats().chunksRaw()).isEqualTo(rawBefore + untilCompressed);
    }

    @Test
    void aStreamChosenRawIsNeverCompressed() {
        CompressionMiddleware m = session(CompressionMiddleware.zstd(), 16 * 1024);
        m.setStreamCompression(7, false);
        for (int i = 0; i < 10; i++) {
            ByteBuf out = m.processOutbound(7, direct(Payloads.ZEROS.make(16 * 1024, i)));
            assertThat(out.getByte(out.readerIndex())).isEqualTo(CompressionMiddleware.RAW);
            assertThat(drain(m.processInbound(7, out))).hasSize(16 * 1024);
        }
        assertThat(m.stats().compressNanos()).isZero();
    }

    @Test
    void aDictionaryIsNamedByItsIdAndBothEndsNeedIt(@TempDir Path dir) throws Exception {
        byte[] dictionary = Payloads.TEXT.make(8 * 1024, 11);
        Path file = dir.resolve("events.dict");
        Files.write(file, dictionary);
        CompressionMiddleware withDict = CompressionMiddleware.zstd().dictionary(file).build();
        assertThat(withDict.name()).startsWith("zstd/dict-").isNotEqualTo("zstd");
        assertThat(CompressionMiddleware.zstd().dictionary(dictionary).build().name()).isEqualTo(withDict.name());
        assertThat(CompressionMiddleware.zstd().dictionary(Payloads.TEXT.make(8 * 1024, 12)).build().name())
                .isNotEqualTo(withDict.name());
        CompressionMiddleware a = (CompressionMiddleware) withDict.forSession(Config.defaults());
        byte[] data = Payloads.TEXT.make(2000, 13);
        ByteBuf wire = a.processOutbound(1, direct(data));
        CompressionMiddleware plain = session(CompressionMiddleware.zstd(), 32 * 1024);
        ByteBuf without = session(CompressionMiddleware.zstd().adaptive(false), 32 * 1024)
                .processOutbound(1, direct(data));
        assertThat(wire.readableBytes()).as("the dictionary helps a small chunk").isLessThan(without.readableBytes());
        without.release();
        assertThat(drain(a.processInbound(1, wire.retainedDuplicate()))).isEqualTo(data);
        assertThatThrownBy(() -> plain.processInbound(1, wire)).isInstanceOf(MiddlewareException.class);
    }

    @Test
    void badSettingsAreRefusedNamingTheKnob() {
        assertThatThrownBy(() -> CompressionMiddleware.zstd().level(23)).hasMessage("zstd level must be -7 to 22, got 23");
        assertThatThrownBy(() -> CompressionMiddleware.lz4().level(-1)).hasMessage("lz4 level must be 0 to 17, got -1");
        assertThatThrownBy(() -> CompressionMiddleware.deflate().level(0))
                .hasMessage("deflate level must be 1 to 9, got 0");
        assertThatThrownBy(() -> CompressionMiddleware.zstd().minSaving(0.9)).hasMessage("minSaving must be 0 to 0.5, got 0.9");
        assertThatThrownBy(() -> CompressionMiddleware.lz4().dictionary(new byte[10]))
                .hasMessage("dictionary is supported by zstd only, not lz4");
        assertThatThrownBy(() -> Algorithm.of("snappy"))
                .hasMessage("unknown compression 'snappy': expected zstd, lz4 or deflate");
    }
}
