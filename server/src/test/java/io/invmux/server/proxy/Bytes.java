package io.invmux.server.proxy;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Deterministic test payloads and their SHA-256, written to and drained from plain sockets. Test helper. */
final class Bytes {
    static final int MIB = 1024 * 1024;

    private Bytes() {
    }

    /** What a side received (or sent): byte count and SHA-256 in hex. */
    record Digest(long count, String sha256) {
    }

    /** Writes {@code count} pseudo-random bytes made from {@code seed}; returns their digest. */
    static Digest write(OutputStream out, long count, long seed) throws IOException {
        MessageDigest md = sha256();
        SplittableRandom random = new SplittableRandom(seed);
        byte[] block = new byte[64 * 1024];
        long left = count;
        while (left > 0) {
            int n = (int) Math.min(block.length, left);
            for (int i = 0; i < n; i += 8) {
                long r = random.nextLong();
                for (int j = 0; j < 8 && i + j < n; j++) {
                    block[i + j] = (byte) (r >>> (8 * j));
                }
            }
            out.write(block, 0, n);
            md.update(block, 0, n);
            left -= n;
        }
        out.flush();
        return new Digest(count, HexFormat.of().formatHex(md.digest()));
    }

    /** Reads until EOF; returns the digest of everything read. */
    static Digest drain(InputStream in) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 * 1024];
        long count = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            md.update(buf, 0, n);
            count += n;
        }
        return new Digest(count, HexFormat.of().formatHex(md.digest()));
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
