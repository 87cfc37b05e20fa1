package io.invmux.compress;

import com.github.luben.zstd.Zstd;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** The kinds of data the compression tests send, each deterministic from a seed. Test helper. */
enum Payloads {
    RANDOM, ZEROS, TEXT, COMPRESSED;

    private static final String[] WORDS = {"GET", "POST", "/api/v1/orders", "/health", "status", "200", "404",
        "user", "latency_ms", "region", "eu-west-1", "us-east-2", "checkout", "cart", "item", "price", "level",
        "INFO", "WARN", "ERROR", "request", "completed", "session", "timeout", "retry"};

    byte[] make(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        switch (this) {
            case RANDOM: {
                byte[] b = new byte[n];
                r.nextBytes(b);
                return b;
            }
            case ZEROS:
                return new byte[n];
            case TEXT:
                return text(n, r);
            case COMPRESSED: {
                // zstd output of text: what an application sends when it compressed its data itself
                byte[] out = new byte[n];
                int filled = 0;
                while (filled < n) {
                    byte[] z = Zstd.compress(text(64 * 1024, r), 3);
                    int k = Math.min(z.length, n - filled);
                    System.arraycopy(z, 0, out, filled, k);
                    filled += k;
                }
                return out;
            }
            default:
                throw new IllegalStateException(name());
        }
    }

    /** Log lines of words and numbers, as an application's logs or JSON would look. */
    static byte[] text(int n, SplittableRandom r) {
        StringBuilder sb = new StringBuilder(n + 128);
        while (sb.length() < n) {
            sb.append("{\"ts\":").append(1_700_000_000_000L + r.nextInt(1_000_000)).append(",\"level\":\"")
                    .append(WORDS[17 + r.nextInt(3)]).append("\",\"msg\":\"");
            int words = 3 + r.nextInt(6);
            for (int i = 0; i < words; i++) {
                sb.append(WORDS[r.nextInt(WORDS.length)]).append(' ');
            }
            sb.append("\",\"id\":").append(r.nextInt(100_000)).append("}\n");
        }
        return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }
}
