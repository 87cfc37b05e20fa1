package io.invmux.compress;

import io.invmux.Config;
import io.invmux.Middleware;
import io.invmux.MiddlewareException;
import io.invmux.internal.compress.Codec;
import io.invmux.internal.compress.CodecSpec;
import io.invmux.internal.compress.CpuClock;
import io.invmux.internal.compress.PathGovernor;
import io.invmux.internal.compress.StreamGovernor;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.util.collection.IntObjectHashMap;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Compresses each chunk on its own with zstd, LZ4 or DEFLATE. Every chunk says on the wire whether it is
 * compressed, so a chunk that does not shrink goes raw (one byte more than the raw chunk, never more), and streams
 * of one session can differ: one compressed, another raw.
 *
 * <pre>
 *  0        1                       5
 * +--------+-----------------------------------------------+
 * | 0x00   | the chunk's bytes                             |   raw
 * +--------+-----------------------+-----------------------+
 * | 0x01   | raw length (u32)      | compressed block      |   compressed
 * +--------+-----------------------+-----------------------+
 * </pre>
 *
 * <p>A compressed chunk is sent only when it is at most {@code 1 - minSaving} of the raw length, header included.
 * Inbound, a chunk declaring more than this end's {@link Config#maxChunkSize} raw bytes is refused before anything
 * is allocated, and decompression writes into exactly the declared length: a chunk that would inflate further (a
 * decompression bomb), a malformed block and one inflating to another length are refused with
 * {@link MiddlewareException}, which closes the link that carried it (the sender re-sends the chunk on its other
 * links).
 *
 * <p>Adaptive (the default): a stream whose chunks stop shrinking sends raw without trying, trying again now and
 * then ({@link StreamGovernor}); a session whose compression, not its path, limits goodput stops compressing, and
 * tries again now and then ({@link PathGovernor}). {@link #stats()} shows the counters and the decisions.
 *
 * <p>The name in the handshake is the algorithm's ({@code zstd}, {@code lz4}, {@code deflate}), with the
 * dictionary's id for zstd with a dictionary ({@code zstd/dict-1234}): both ends must have the same dictionary.
 * Levels need not match (decompression does not depend on them).
 *
 * <p>The configured instance is a prototype; each session gets its own ({@link #forSession}), found in
 * {@link io.invmux.Session#middleware()}. Contexts are kept per event-loop thread and shared by that loop's
 * sessions. Buffer ownership: both process methods take the chunk and return a buffer the caller owns; a raw chunk
 * goes out as a composite of the one-byte header and the chunk itself, uncopied.
 *
 * <p>Threading: the process and stream methods run on the session's event loop and own the {@code [L]} fields;
 * {@link #setStreamCompression} may be called from any thread; counters are written by the loop and read by any.
 */
public final class CompressionMiddleware implements Middleware {
    /** Bytes a chunk can grow by: the header byte of a raw chunk. */
    public static final int MAX_OVERHEAD = 1;
    static final byte RAW = 0;
    static final byte COMPRESSED = 1;
    static final int COMPRESSED_HEADER = 5;
    /** Chunks this small are sent raw: no algorithm gains enough on them to pay for the header and the call. */
    static final int MIN_COMPRESS_LENGTH = 64;
    /** The largest dictionary accepted. */
    public static final int MAX_DICTIONARY_SIZE = 4 * 1024 * 1024;

    /** The limit of a prototype used outside a session: the largest chunk size a {@link Config} allows. */
    private static final int LARGEST_CHUNK = 1024 * 1024;
    private static final ByteBuf RAW_HEADER = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(1, 1).writeByte(RAW).asReadOnly());

    private final Settings settings;
    private final int maxChunkSize;

    // [L]
    private final IntObjectHashMap<StreamGovernor> streams = new IntObjectHashMap<>();
    private final PathGovernor path = new PathGovernor();
    private int streamsSendingRaw;

    // any thread: streams whose application chose (true: compress, false: send raw), overriding the default
    private final ConcurrentHashMap<Integer, Boolean> choices = new ConcurrentHashMap<>();

    // written by the loop, read by any thread
    private volatile long bytesIn;
    private volatile long bytesOut;
    private volatile long chunksCompressed;
    private volatile long chunksRaw;
    private volatile long compressNanos;
    private volatile long receivedBytes;
    private volatile long receivedRawBytes;
    private volatile long decompressNanos;
    private volatile int streamsRawGauge;
    private volatile long streamSwitchesToRaw;

    private CompressionMiddleware(Settings settings, int maxChunkSize) {
        this.settings = settings;
        this.maxChunkSize = maxChunkSize;
    }

    /** zstd, level 3 unless set. */
    public static Builder zstd() {
        return new Builder(Algorithm.ZSTD);
    }

    /** LZ4, the fast compressor unless a level is set. */
    public static Builder lz4() {
        return new Builder(Algorithm.LZ4);
    }

    /** DEFLATE (JDK), level 6 unless set. */
    public static Builder deflate() {
        return new Builder(Algorithm.DEFLATE);
    }

    /**
     * An adaptive middleware from {@code NAME[:LEVEL][@DICTIONARY_FILE]}: {@code zstd}, {@code zstd:6},
     * {@code lz4}, {@code lz4:9}, {@code deflate:1}, {@code zstd:3@/etc/invmux/events.dict} (zstd only).
     *
     * @throws IllegalArgumentException naming what is wrong (unknown name, level not a number or out of range, a
     *                                  dictionary that cannot be read)
     */
    public static CompressionMiddleware parse(String spec) {
        Objects.requireNonNull(spec, "spec");
        int at = spec.indexOf('@');
        String head = at < 0 ? spec : spec.substring(0, at);
        int colon = head.indexOf(':');
        Builder b = builder(Algorithm.of(colon < 0 ? head : head.substring(0, colon)));
        if (at >= 0) {
            Path file = Path.of(spec.substring(at + 1));
            try {
                b.dictionary(file);
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read the dictionary " + file + ": " + e);
            }
        }
        if (colon >= 0) {
            String level = head.substring(colon + 1);
            try {
                b.level(Integer.parseInt(level));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("level '" + level + "' is not a whole number");
            }
        }
        return b.build();
    }

    public static Builder builder(Algorithm algorithm) {
        return new Builder(Objects.requireNonNull(algorithm, "algorithm"));
    }

    public Algorithm algorithm() {
        return settings.algorithm;
    }

    public int level() {
        return settings.level;
    }

    public boolean adaptive() {
        return settings.adaptive;
    }

    public double minSaving() {
        return settings.minSaving;
    }

    @Override
    public String name() {
        return settings.name;
    }

    @Override
    public int maxOverhead() {
        return MAX_OVERHEAD;
    }

    @Override
    public Middleware forSession(Config config) {
        return new CompressionMiddleware(settings, config.maxChunkSize());
    }

    /**
     * Chooses whether {@code streamId}'s outbound chunks are compressed (true, still subject to adaptation) or all
     * sent raw (false); applies to chunks cut after the call, so call it before the stream's first write. Streams
     * not chosen for are compressed. Any thread.
     */
    public void setStreamCompression(int streamId, boolean compress) {
        choices.put(streamId, compress);
    }

    /** A snapshot of the counters and decisions (any thread). */
    public CompressionStats stats() {
        return new CompressionStats(settings.name, bytesIn, bytesOut, chunksCompressed, chunksRaw, compressNanos,
                receivedBytes, receivedRawBytes, decompressNanos, !settings.adaptivePath || path.compressing(),
                path.switches(), streamsRawGauge, streamSwitchesToRaw);
    }

    @Override
    public ByteBuf processOutbound(int streamId, ByteBuf chunk) {
        int raw = chunk.readableBytes();
        long cpuBefore = compressNanos;
        ByteBuf out = null;
        if (raw >= MIN_COMPRESS_LENGTH && chosen(streamId)) {
            StreamGovernor g = settings.adaptive ? governor(streamId) : null;
            if (g == null || ((!settings.adaptivePath || path.compressing()) && g.shouldTry())) {
                out = compress(chunk, raw);
                if (g != null) {
                    onTried(g, out != null);
                }
            }
        }
        if (settings.adaptivePath) {
            path.record(System.nanoTime(), raw, compressNanos - cpuBefore);
        }
        if (out == null) {
            out = framedRaw(chunk);
            chunksRaw++;
        } else {
            chunk.release();
            chunksCompressed++;
        }
        bytesIn += raw;
        bytesOut += out.readableBytes();
        return out;
    }

    private boolean chosen(int streamId) {
        if (choices.isEmpty()) {
            return true;
        }
        Boolean c = choices.get(streamId);
        return c == null || c;
    }

    private StreamGovernor governor(int streamId) {
        StreamGovernor g = streams.get(streamId);
        if (g == null) {
            g = new StreamGovernor();
            streams.put(streamId, g);
        }
        return g;
    }

    private void onTried(StreamGovernor g, boolean paid) {
        boolean wasRaw = g.sendingRaw();
        if (g.onTried(paid)) {
            streamSwitchesToRaw++;
        }
        if (wasRaw != g.sendingRaw()) {
            streamsSendingRaw += wasRaw ? -1 : 1;
            streamsRawGauge = streamsSendingRaw;
        }
    }

    /** The compressed chunk (header included), or null when it would not save enough; {@code chunk} stays ours. */
    private ByteBuf compress(ByteBuf chunk, int raw) {
        Codec codec = settings.spec.codec(); // created on a thread's first chunk: not counted as compression time
        long t0 = CpuClock.now();
        int bound = codec.maxCompressedLength(raw);
        int limit = (int) (raw * (1 - settings.minSaving)) - COMPRESSED_HEADER;
        ByteBuf src = direct(chunk);
        ByteBuf out = chunk.alloc().directBuffer(COMPRESSED_HEADER + bound);
        try {
            int n = codec.compress(src.nioBuffer(src.readerIndex(), raw), out.internalNioBuffer(COMPRESSED_HEADER,
                    bound));
            if (n > limit) {
                out.release();
                return null;
            }
            out.writeByte(COMPRESSED).writeInt(raw).writerIndex(COMPRESSED_HEADER + n);
            return out;
        } catch (RuntimeException e) {
            out.release();
            throw e;
        } finally {
            if (src != chunk) {
                src.release();
            }
            compressNanos += CpuClock.now() - t0;
        }
    }

    private static ByteBuf framedRaw(ByteBuf chunk) {
        CompositeByteBuf c = chunk.alloc().compositeDirectBuffer(2);
        return c.addComponents(true, RAW_HEADER.duplicate(), chunk);
    }

    /** {@code b} itself when the codecs can read it in place, else a direct copy the caller releases. */
    private static ByteBuf direct(ByteBuf b) {
        if (b.isDirect() && b.nioBufferCount() == 1) {
            return b;
        }
        ByteBuf copy = b.alloc().directBuffer(b.readableBytes());
        copy.writeBytes(b, b.readerIndex(), b.readableBytes());
        return copy;
    }

    @Override
    public ByteBuf processInbound(int streamId, ByteBuf chunk) {
        boolean handedOn = false;
        try {
            if (!chunk.isReadable()) {
                throw new MiddlewareException(settings.name + ": empty chunk (the header byte is missing)");
            }
            byte tag = chunk.readByte();
            if (tag == RAW) {
                receivedBytes += chunk.readableBytes() + 1;
                receivedRawBytes += chunk.readableBytes();
                handedOn = true;
                return chunk;
            }
            if (tag != COMPRESSED) {
                throw new MiddlewareException(settings.name + ": unknown chunk header 0x"
                        + Integer.toHexString(tag & 0xff) + " (expected 0x00 raw or 0x01 compressed)");
            }
            if (chunk.readableBytes() < 4) {
                throw new MiddlewareException(settings.name + ": compressed chunk of " + (chunk.readableBytes() + 1)
                        + " bytes is shorter than its 5-byte header");
            }
            long declared = chunk.readUnsignedInt();
            if (declared == 0 || declared > maxChunkSize) {
                throw new MiddlewareException(settings.name + ": compressed chunk declares " + declared
                        + " raw bytes, outside 1 to maxChunkSize (" + maxChunkSize + ")");
            }
            return inflate(chunk, (int) declared);
        } finally {
            if (!handedOn) {
                chunk.release();
            }
        }
    }

    private ByteBuf inflate(ByteBuf chunk, int declared) {
        Codec codec = settings.spec.codec();
        long t0 = CpuClock.now();
        int wire = chunk.readableBytes() + COMPRESSED_HEADER;
        ByteBuf src = direct(chunk);
        ByteBuf out = chunk.alloc().directBuffer(declared, declared);
        int n;
        try {
            n = codec.decompress(src.nioBuffer(src.readerIndex(), src.readableBytes()),
                    out.internalNioBuffer(0, declared));
        } catch (IllegalArgumentException e) {
            out.release();
            throw new MiddlewareException(settings.name + ": compressed chunk does not inflate to its declared "
                    + declared + " bytes (malformed, or larger): " + e.getMessage(), e);
        } finally {
            if (src != chunk) {
                src.release();
            }
        }
        if (n != declared) {
            out.release();
            throw new MiddlewareException(settings.name + ": compressed chunk inflated to " + n
                    + " bytes, its header declares " + declared);
        }
        out.writerIndex(n);
        decompressNanos += CpuClock.now() - t0;
        receivedBytes += wire;
        receivedRawBytes += n;
        return out;
    }

    @Override
    public void onStreamClose(int streamId) {
        StreamGovernor g = streams.remove(streamId);
        if (g != null && g.sendingRaw()) {
            streamsSendingRaw--;
            streamsRawGauge = streamsSendingRaw;
        }
        choices.remove(streamId);
    }

    @Override
    public String toString() {
        return settings.name + "(level " + settings.level + (settings.adaptive ? ", adaptive" : "") + ")";
    }

    /** What all sessions' instances of one configured middleware share. Immutable. */
    private static final class Settings {
        final Algorithm algorithm;
        final int level;
        final double minSaving;
        final boolean adaptive;
        final boolean adaptivePath;
        final String name;
        final CodecSpec spec;

        Settings(Builder b) {
            this.algorithm = b.algorithm;
            this.level = b.level;
            this.minSaving = b.minSaving;
            this.adaptive = b.adaptive;
            this.adaptivePath = b.adaptive && b.adaptivePath;
            this.name = b.dictionary == null ? algorithm.wireName()
                    : algorithm.wireName() + "/dict-" + CodecSpec.dictionaryId(b.dictionary);
            this.spec = new CodecSpec(algorithm, level, b.dictionary);
        }
    }

    /** Builds a compression middleware; every setter checks its argument and names it when it is wrong. */
    public static final class Builder {
        private final Algorithm algorithm;
        private int level;
        private double minSaving = 0.05;
        private boolean adaptive = true;
        private boolean adaptivePath = true;
        private byte[] dictionary;

        private Builder(Algorithm algorithm) {
            this.algorithm = algorithm;
            this.level = algorithm.defaultLevel();
        }

        /** The compression level, within the algorithm's range ({@link Algorithm#minLevel()} to max). */
        public Builder level(int level) {
            if (level < algorithm.minLevel() || level > algorithm.maxLevel()) {
                throw new IllegalArgumentException(algorithm.wireName() + " level must be " + algorithm.minLevel()
                        + " to " + algorithm.maxLevel() + ", got " + level);
            }
            this.level = level;
            return this;
        }

        /**
         * The least share of a chunk compression must save (header included) for the chunk to go compressed;
         * 0 to 0.5, default 0.05.
         */
        public Builder minSaving(double share) {
            if (!(share >= 0 && share <= 0.5)) {
                throw new IllegalArgumentException("minSaving must be 0 to 0.5, got " + share);
            }
            this.minSaving = share;
            return this;
        }

        /** Whether compression turns itself off where it does not pay (default true). */
        public Builder adaptive(boolean adaptive) {
            this.adaptive = adaptive;
            return this;
        }

        /**
         * With {@link #adaptive}: whether the session may also stop compressing when compression, not the path,
         * limits its goodput (default true); false keeps only the per-stream decision (data that does not shrink).
         */
        public Builder adaptivePath(boolean adaptivePath) {
            this.adaptivePath = adaptivePath;
            return this;
        }

        /** A zstd dictionary (e.g. trained with {@code zstd --train}); both ends must use the same one. */
        public Builder dictionary(byte[] dictionary) {
            Objects.requireNonNull(dictionary, "dictionary");
            if (algorithm != Algorithm.ZSTD) {
                throw new IllegalArgumentException("dictionary is supported by zstd only, not "
                        + algorithm.wireName());
            }
            if (dictionary.length == 0 || dictionary.length > MAX_DICTIONARY_SIZE) {
                throw new IllegalArgumentException("dictionary must be 1 to " + MAX_DICTIONARY_SIZE
                        + " bytes, got " + dictionary.length);
            }
            this.dictionary = dictionary.clone();
            return this;
        }

        /** Reads a zstd dictionary from {@code file}. */
        public Builder dictionary(Path file) throws IOException {
            long size = Files.size(file);
            if (size > MAX_DICTIONARY_SIZE) {
                throw new IllegalArgumentException("dictionary " + file + " must be at most "
                        + MAX_DICTIONARY_SIZE + " bytes, it has " + size);
            }
            return dictionary(Files.readAllBytes(file));
        }

        public CompressionMiddleware build() {
            return new CompressionMiddleware(new Settings(this), LARGEST_CHUNK);
        }
    }
}
