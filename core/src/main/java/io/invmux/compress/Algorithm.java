package io.invmux.compress;

/** The compression algorithms, with the levels each accepts and the level used when none is set. */
public enum Algorithm {
    /** zstd (zstd-jni): levels -7 (fastest) to 22, default 3; optional dictionary. */
    ZSTD("zstd", -7, 22, 3),
    /** LZ4 (lz4-java): level 0 is the fast compressor (default), 1 to 17 the high-compression one. */
    LZ4("lz4", 0, 17, 0),
    /** DEFLATE (the JDK's zlib, no native library of ours): levels 1 to 9, default 6. */
    DEFLATE("deflate", 1, 9, 6);

    private final String wireName;
    private final int minLevel;
    private final int maxLevel;
    private final int defaultLevel;

    Algorithm(String wireName, int minLevel, int maxLevel, int defaultLevel) {
        this.wireName = wireName;
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
        this.defaultLevel = defaultLevel;
    }

    /** The middleware name in the handshake (without a dictionary). */
    public String wireName() {
        return wireName;
    }

    public int minLevel() {
        return minLevel;
    }

    public int maxLevel() {
        return maxLevel;
    }

    public int defaultLevel() {
        return defaultLevel;
    }

    /** The algorithm of a middleware name ({@code zstd}, {@code lz4}, {@code deflate}), case-insensitive. */
    public static Algorithm of(String name) {
        for (Algorithm a : values()) {
            if (a.wireName.equalsIgnoreCase(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unknown compression '" + name + "': expected zstd, lz4 or deflate");
    }
}
