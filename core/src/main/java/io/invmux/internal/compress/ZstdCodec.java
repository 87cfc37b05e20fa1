package io.invmux.internal.compress;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import java.nio.ByteBuffer;

/**
 * zstd through zstd-jni: one compression and one decompression context, reused for every chunk. Frames carry no
 * content size, checksum or dictionary id: the chunk header holds the size, the handshake checked the dictionary.
 */
final class ZstdCodec implements Codec {
    private final ZstdCompressCtx compressor = new ZstdCompressCtx();
    private final ZstdDecompressCtx decompressor = new ZstdDecompressCtx();

    ZstdCodec(int level, byte[] dictionary) {
        compressor.setLevel(level).setContentSize(false).setChecksum(false).setDictID(false);
        if (dictionary != null) {
            compressor.loadDict(dictionary);
            decompressor.loadDict(dictionary);
        }
    }

    @Override
    public int maxCompressedLength(int length) {
        return (int) Zstd.compressBound(length);
    }

    @Override
    public int compress(ByteBuffer src, ByteBuffer dst) {
        return compressor.compressDirectByteBuffer(dst, dst.position(), dst.remaining(), src, src.position(),
                src.remaining());
    }

    @Override
    public int decompress(ByteBuffer src, ByteBuffer dst) {
        try {
            return decompressor.decompressDirectByteBuffer(dst, dst.position(), dst.remaining(), src,
                    src.position(), src.remaining());
        } catch (ZstdException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    @Override
    public void close() {
        compressor.close();
        decompressor.close();
    }
}
