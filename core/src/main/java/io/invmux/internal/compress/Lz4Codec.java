package io.invmux.internal.compress;

import java.nio.ByteBuffer;
import net.jpountz.lz4.LZ4Compressor;
import net.jpountz.lz4.LZ4Exception;
import net.jpountz.lz4.LZ4Factory;
import net.jpountz.lz4.LZ4SafeDecompressor;

/**
 * LZ4 blocks through lz4-java (native where it loads): the fast compressor at level 0, the high-compression one
 * at levels 1 to 17; the safe decompressor, which never writes past the room it is given.
 */
final class Lz4Codec implements Codec {
    private final LZ4Compressor compressor;
    private final LZ4SafeDecompressor decompressor;

    Lz4Codec(int level) {
        LZ4Factory factory = LZ4Factory.fastestInstance();
        this.compressor = level == 0 ? factory.fastCompressor() : factory.highCompressor(level);
        this.decompressor = factory.safeDecompressor();
    }

    @Override
    public int maxCompressedLength(int length) {
        return compressor.maxCompressedLength(length);
    }

    @Override
    public int compress(ByteBuffer src, ByteBuffer dst) {
        return compressor.compress(src, src.position(), src.remaining(), dst, dst.position(), dst.remaining());
    }

    @Override
    public int decompress(ByteBuffer src, ByteBuffer dst) {
        try {
            return decompressor.decompress(src, src.position(), src.remaining(), dst, dst.position(),
                    dst.remaining());
        } catch (LZ4Exception e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        // stateless
    }
}
