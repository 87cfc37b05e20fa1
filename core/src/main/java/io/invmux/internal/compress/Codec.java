package io.invmux.internal.compress;

import java.nio.ByteBuffer;

/**
 * One compression algorithm with its level and dictionary, working on whole chunks (each chunk compresses alone:
 * chunks travel on different links and arrive in any order). An instance holds native contexts and is used by one
 * thread only; {@link CodecSpec} keeps one per thread.
 *
 * <p>Both methods work from {@code src.position()} to {@code src.limit()} and write from {@code dst.position()}
 * to {@code dst.limit()}; they do not move either buffer's position. Direct buffers only.
 */
public interface Codec extends AutoCloseable {
    /** The most bytes {@link #compress} writes for {@code length} input bytes. */
    int maxCompressedLength(int length);

    /** Compresses {@code src} into {@code dst} (room for {@link #maxCompressedLength}); returns the length. */
    int compress(ByteBuffer src, ByteBuffer dst);

    /**
     * Decompresses {@code src} into {@code dst}, never writing past its limit; returns the length written.
     *
     * @throws IllegalArgumentException when the block is malformed or needs more room than {@code dst} has
     */
    int decompress(ByteBuffer src, ByteBuffer dst);

    @Override
    void close();
}
