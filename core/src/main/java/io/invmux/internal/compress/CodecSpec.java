package io.invmux.internal.compress;

import io.invmux.compress.Algorithm;
import io.netty.util.concurrent.FastThreadLocal;

/**
 * An algorithm with its level and dictionary, and one {@link Codec} per thread that uses it: a session's chunks
 * are (de)compressed on its event loop, so every session on a loop shares that loop's contexts, and a context is
 * never touched by two threads. A loop's codec lives as long as the loop's thread.
 */
public final class CodecSpec {
    private final Algorithm algorithm;
    private final int level;
    private final byte[] dictionary; // null: none; never modified
    private final FastThreadLocal<Codec> perThread = new FastThreadLocal<>() {
        @Override
        protected Codec initialValue() {
            return create();
        }

        @Override
        protected void onRemoval(Codec codec) {
            codec.close();
        }
    };

    public CodecSpec(Algorithm algorithm, int level, byte[] dictionary) {
        this.algorithm = algorithm;
        this.level = level;
        this.dictionary = dictionary;
    }

    /**
     * The id a zstd dictionary names itself with ({@code 0} for a raw-content dictionary, which has none: then
     * the first four bytes of its SHA-256, so two different dictionaries still differ).
     */
    public static long dictionaryId(byte[] dictionary) {
        long id = com.github.luben.zstd.Zstd.getDictIdFromDict(dictionary);
        if (id != 0) {
            return id;
        }
        try {
            byte[] h = java.security.MessageDigest.getInstance("SHA-256").digest(dictionary);
            return ((h[0] & 0xffL) << 24) | ((h[1] & 0xffL) << 16) | ((h[2] & 0xffL) << 8) | (h[3] & 0xffL);
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is not available", e);
        }
    }

    /** The calling thread's codec. */
    public Codec codec() {
        return perThread.get();
    }

    private Codec create() {
        switch (algorithm) {
            case ZSTD:
                return new ZstdCodec(level, dictionary);
            case LZ4:
                return new Lz4Codec(level);
            case DEFLATE:
                return new DeflateCodec(level);
            default:
                throw new IllegalStateException("no codec for " + algorithm);
        }
    }
}
