package io.invmux.bench;

import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/**
 * A compressible corpus as applications send it, generated deterministically from a seed: newline-delimited JSON
 * events (HTTP access records, order events, metrics samples) interleaved with plain log lines. Field values vary as
 * they do in real traffic: increasing timestamps with jitter, random trace ids (incompressible hex), IPv4 addresses,
 * user and order ids over large ranges, latencies from a skewed distribution, paths with ids in them, a few
 * dozen user agents, status codes by realistic frequency, prices, free-text messages from templates. Not repeated
 * bytes: zstd at level 3 on 32 KiB chunks makes it about 4-6 times smaller, not 100.
 */
public final class EventCorpus {
    private static final String[] METHODS = {"GET", "GET", "GET", "GET", "POST", "POST", "PUT", "DELETE"};
    private static final String[] PATHS = {"/api/v1/orders/%d", "/api/v1/users/%d/cart", "/api/v2/search?q=%s",
        "/static/js/app.%s.js", "/api/v1/products/%d/reviews", "/healthz", "/api/v1/payments/%d/capture",
        "/graphql", "/api/v1/inventory/%d"};
    private static final String[] AGENTS = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari",
        "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
        "okhttp/4.12.0", "grpc-java-netty/1.63.0", "curl/8.5.0", "python-requests/2.31.0", "Go-http-client/2.0",
        "kube-probe/1.30", "Apache-HttpClient/5.3 (Java/17.0.10)", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8)"};
    private static final String[] REGIONS = {"eu-west-1", "eu-central-1", "us-east-1", "us-west-2", "ap-south-1",
        "ap-northeast-1", "sa-east-1"};
    private static final String[] SERVICES = {"checkout", "cart", "catalog", "payments", "search", "auth",
        "inventory", "shipping", "notifications", "recommendations"};
    private static final String[] LEVELS = {"INFO", "INFO", "INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
    private static final String[] MESSAGES = {"request completed", "cache miss for key %s",
        "retrying call to %s (attempt %d)", "connection pool exhausted, waiting %d ms", "user %d logged in",
        "order %d state changed to %s", "slow query took %d ms: SELECT * FROM orders WHERE customer_id = %d",
        "payment authorised for order %d", "rate limit exceeded for client %s", "feature flag %s evaluated to %s"};
    private static final String[] STATES = {"CREATED", "PAID", "PACKED", "SHIPPED", "DELIVERED", "CANCELLED"};
    private static final String[] CURRENCIES = {"EUR", "USD", "GBP", "JPY", "BRL", "INR"};
    private static final String[] METRICS = {"http_requests_total", "jvm_memory_used_bytes", "db_pool_active",
        "queue_depth", "cpu_seconds_total", "gc_pause_seconds"};
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    private EventCorpus() {
    }

    /** {@code size} bytes of events from {@code seed}, cut at the end (the last line may be partial). */
    public static byte[] generate(int size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        StringBuilder sb = new StringBuilder(size + 1024);
        long ts = 1_767_225_600_000L + r.nextInt(86_400_000);
        while (sb.length() < size) {
            ts += r.nextInt(40);
            int kind = r.nextInt(10);
            if (kind < 5) {
                access(sb, r, ts);
            } else if (kind < 7) {
                order(sb, r, ts);
            } else if (kind < 8) {
                metric(sb, r, ts);
            } else {
                logLine(sb, r, ts);
            }
            sb.append('\n');
        }
        sb.setLength(size);
        return sb.toString().getBytes(StandardCharsets.UTF_8);
    }

    private static void access(StringBuilder sb, SplittableRandom r, long ts) {
        int status = status(r);
        sb.append("{\"ts\":").append(ts).append(",\"type\":\"access\",\"trace_id\":\"");
        hex(sb, r, 32);
        sb.append("\",\"span_id\":\"");
        hex(sb, r, 16);
        sb.append("\",\"service\":\"").append(pick(r, SERVICES)).append("\",\"region\":\"").append(pick(r, REGIONS))
                .append("\",\"client_ip\":\"").append(10 + r.nextInt(200)).append('.').append(r.nextInt(256))
                .append('.').append(r.nextInt(256)).append('.').append(1 + r.nextInt(254))
                .append("\",\"method\":\"").append(pick(r, METHODS)).append("\",\"path\":\"").append(path(r))
                .append("\",\"status\":").append(status).append(",\"bytes\":").append(r.nextInt(status == 200 ? 90_000 : 600))
                .append(",\"latency_ms\":").append(String.format(java.util.Locale.ROOT, "%.2f", latency(r)))
                .append(",\"user_agent\":\"").append(pick(r, AGENTS)).append("\",\"user_id\":")
                .append(r.nextInt(4) == 0 ? "null" : Integer.toString(r.nextInt(2_000_000))).append('}');
    }

    private static void order(StringBuilder sb, SplittableRandom r, long ts) {
        int items = 1 + r.nextInt(4);
        String currency = pick(r, CURRENCIES);
        sb.append("{\"ts\":").append(ts).append(",\"type\":\"order\",\"order_id\":").append(10_000_000 + r.nextInt(90_000_000))
                .append(",\"customer_id\":").append(r.nextInt(2_000_000)).append(",\"state\":\"").append(pick(r, STATES))
                .append("\",\"currency\":\"").append(currency).append("\",\"items\":[");
        for (int i = 0; i < items; i++) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append("{\"sku\":\"SKU-").append(100_000 + r.nextInt(900_000)).append("\",\"qty\":")
                    .append(1 + r.nextInt(3)).append(",\"price\":")
                    .append(String.format(java.util.Locale.ROOT, "%.2f", 1 + r.nextDouble() * 250)).append('}');
        }
        sb.append("],\"shipping\":{\"country\":\"").append((char) ('A' + r.nextInt(26))).append((char) ('A' + r.nextInt(26)))
                .append("\",\"postcode\":\"").append(10_000 + r.nextInt(89_999)).append("\",\"express\":")
                .append(r.nextInt(5) == 0).append("}}");
    }

    private static void metric(StringBuilder sb, SplittableRandom r, long ts) {
        sb.append("{\"ts\":").append(ts).append(",\"type\":\"metric\",\"name\":\"").append(pick(r, METRICS))
                .append("\",\"labels\":{\"service\":\"").append(pick(r, SERVICES)).append("\",\"pod\":\"")
                .append(pick(r, SERVICES)).append('-');
        hex(sb, r, 10);
        sb.append('-');
        hex(sb, r, 5);
        sb.append("\",\"region\":\"").append(pick(r, REGIONS)).append("\"},\"value\":")
                .append(String.format(java.util.Locale.ROOT, "%.6g", r.nextDouble() * Math.pow(10, r.nextInt(9))))
                .append('}');
    }

    private static void logLine(StringBuilder sb, SplittableRandom r, long ts) {
        String level = pick(r, LEVELS);
        sb.append(java.time.Instant.ofEpochMilli(ts)).append(' ').append(level).append(level.length() == 4 ? "  " : " ")
                .append('[').append(pick(r, SERVICES)).append("-worker-").append(r.nextInt(32)).append("] ")
                .append("c.e.").append(pick(r, SERVICES)).append(".Handler - ");
        String template = pick(r, MESSAGES);
        Object[] args = new Object[2];
        for (int i = 0; i < 2; i++) {
            args[i] = r.nextBoolean() ? (Object) r.nextInt(5_000_000) : (Object) pick(r, STATES).toLowerCase(java.util.Locale.ROOT);
        }
        String msg = template.replace("%d", "{}").replace("%s", "{}");
        for (Object a : args) {
            msg = msg.replaceFirst("\\{\\}", String.valueOf(a));
        }
        sb.append(msg);
        if (level.equals("ERROR") && r.nextBoolean()) {
            sb.append("\njava.io.IOException: connection reset by peer\n\tat c.e.").append(pick(r, SERVICES))
                    .append(".Client.call(Client.java:").append(40 + r.nextInt(400)).append(")\n\tat c.e.")
                    .append(pick(r, SERVICES)).append(".Handler.handle(Handler.java:").append(20 + r.nextInt(200))
                    .append(')');
        }
    }

    private static String path(SplittableRandom r) {
        String p = pick(r, PATHS);
        if (p.contains("%d")) {
            return p.replace("%d", Integer.toString(r.nextInt(5_000_000)));
        }
        if (p.contains("%s")) {
            StringBuilder s = new StringBuilder();
            hex(s, r, 8);
            return p.replace("%s", s);
        }
        return p;
    }

    private static int status(SplittableRandom r) {
        int x = r.nextInt(100);
        return x < 86 ? 200 : x < 90 ? 201 : x < 93 ? 304 : x < 96 ? 404 : x < 98 ? 400 : x < 99 ? 500 : 503;
    }

    private static double latency(SplittableRandom r) {
        return Math.exp(r.nextGaussian() * 0.9 + 3.0); // log-normal, median ~20 ms, long tail
    }

    private static void hex(StringBuilder sb, SplittableRandom r, int n) {
        for (int i = 0; i < n; i++) {
            sb.append(HEX[r.nextInt(16)]);
        }
    }

    private static String pick(SplittableRandom r, String[] xs) {
        return xs[r.nextInt(xs.length)];
    }
}
