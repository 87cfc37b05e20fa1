package io.invmux.internal.compress;

import java.nio.ByteBuffer;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;

/** Raw DEFLATE (no zlib header or checksum) with the JDK's Deflater and Inflater, reset for every chunk. */
final class DeflateCodec implements Codec {
    private final Deflater deflater;
    private final Inflater inflater = new Inflater(true);

    DeflateCodec(int level) {
        this.deflater = new Deflater(level, true);
    }

    @Override
    public int maxCompressedLength(int length) {
        // Stored blocks cost 5 bytes per 16 KiB block in the worst case, plus the final block's few bytes.
        return length + 5 * (length / 16_383 + 1) + 16;
    }

    @Override
    public int compress(ByteBuffer src, ByteBuffer dst) {
        deflater.reset();
        deflater.setInput(src.duplicate());
        deflater.finish();
        ByteBuffer out = dst.duplicate();
        int start = out.position();
        while (!deflater.finished() && out.hasRemaining()) {
            deflater.deflate(out);
        }
        if (!deflater.finished()) {
            throw new IllegalStateException("deflate needed more than " + dst.remaining() + " bytes");
        }
        return out.position() - start;
    }

    @Override
    public int decompress(ByteBuffer src, ByteBuffer dst) {
        inflater.reset();
        inflater.setInput(src.duplicate());
        ByteBuffer out = dst.duplicate();
        int start = out.position();
        try {
            while (!inflater.finished()) {
                int n = inflater.inflate(out);
                if (n == 0) {
                    if (!out.hasRemaining()) {
                        throw new IllegalArgumentException("inflates beyond " + dst.remaining() + " bytes");
                    }
                    throw new IllegalArgumentException("truncated deflate block");
                }
            }
        } catch (DataFormatException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        if (inflater.getRemaining() > 0) {
            throw new IllegalArgumentException(inflater.getRemaining() + " bytes after the end of the deflate block");
        }
        return out.position() - start;
    }

    @Override
    public void close() {
        deflater.end();
        inflater.end();
    }
}
