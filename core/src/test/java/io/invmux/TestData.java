package io.invmux;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.SplittableRandom;

/** Deterministic pseudo-random payloads and their digests. Test helper. */
public final class TestData {
    private TestData() {
    }

    /** Writes {@code total} pseudo-random bytes from {@code seed} in writes of {@code writeSize}; returns sha256. */
    public static String write(OutputStream out, long total, int writeSize, long seed) throws IOException {
        MessageDigest md = sha256();
        SplittableRandom random = new SplittableRandom(seed);
        byte[] buf = new byte[writeSize];
        long left = total;
        while (left > 0) {
            int n = (int) Math.min(left, buf.length);
            fill(random, buf, n);
            md.update(buf, 0, n);
            out.write(buf, 0, n);
            left -= n;
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void fill(SplittableRandom random, byte[] buf, int n) {
        for (int i = 0; i < n; i += 8) {
            long v = random.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) {
                buf[i + j] = (byte) (v >>> (8 * j));
            }
        }
    }

    /** Reads to end of stream; returns the sha256 and the count as "hex:count". */
    public static Digest read(InputStream in) throws IOException {
        MessageDigest md = sha256();
        byte[] buf = new byte[64 * 1024];
        long count = 0;
        int n;
        while ((n = in.read(buf)) >= 0) {
            md.update(buf, 0, n);
            count += n;
        }
        return new Digest(HexFormat.of().formatHex(md.digest()), count);
    }

    public record Digest(String sha256, long bytes) {
    }

    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }
}
