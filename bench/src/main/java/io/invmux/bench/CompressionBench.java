package io.invmux.bench;

import static io.invmux.bench.BenchSupport.fmt;
import static io.invmux.bench.BenchSupport.log;

import io.invmux.Config;
import io.invmux.Middleware;
import io.invmux.Stream;
import io.invmux.bench.BenchSupport.Args;
import io.invmux.bench.BenchSupport.SessionPair;
import io.invmux.compress.Algorithm;
import io.invmux.compress.CompressionMiddleware;
import io.invmux.compress.CompressionStats;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Compression figures on this machine, each against a baseline of the same run.
 *
 * <pre>
 *   codecs     each codec through the middleware on 32 KiB chunks of the {@link EventCorpus} and of random bytes:
 *              ratio (bytes sent / bytes offered), compression and decompression CPU seconds per GiB (thread CPU
 *              time of the loop doing it)
 *   loopback   1 stream over 1 loopback link, JSON corpus: goodput with adaptive zstd (and lz4) ÷ without
 *              compression, reps interleaved; target >= 0.95 (compression must get out of the way on a fast path)
 *
 *   --case codecs|loopback|all (default all)  --mib N  data per rep (default 512)  --reps N (default 5)
 *   --quick  short smoke run
 * </pre>
 */
public final class CompressionBench {
    private static final int CHUNK = 32 * 1024;
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private CompressionBench() {
    }

    /** The chain for a bench argument: {@code none}, or {@code zstd|lz4|deflate[:LEVEL]}. */
    static List<Middleware> middleware(String spec, boolean adaptive) {
        if (spec.equals("none")) {
            return List.of();
        }
        String[] parts = spec.split(":", 2);
        CompressionMiddleware.Builder b = CompressionMiddleware.builder(Algorithm.of(parts[0])).adaptive(adaptive);
        if (parts.length == 2) {
            b.level(Integer.parseInt(parts[1]));
        }
        return List.of(b.build());
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        boolean quick = args.flag("quick");
        String which = args.value("case", "all");
        byte[] corpus = EventCorpus.generate(64 << 20, 1);
        if (which.equals("all") || which.equals("codecs")) {
            codecs(corpus, quick ? 64 : args.intValue("mib", 512));
        }
        if (which.equals("all") || which.equals("loopback")) {
            loopback(corpus, quick ? 128 : args.intValue("mib", 1024), quick ? 1 : args.intValue("reps", 5));
        }
        System.exit(0);
    }

    // ------------------------------------------------------------------ codecs

    private static void codecs(byte[] corpus, int mib) {
        byte[] random = new byte[16 << 20];
        new SplittableRandom(7).nextBytes(random);
        log("== compression-codecs: 32 KiB chunks through the middleware, " + mib + " MiB of each kind per codec");
        for (String spec : List.of("zstd:1", "zstd:3", "zstd:6", "lz4", "lz4:9", "deflate:1", "deflate:6")) {
            for (boolean json : new boolean[] {true, false}) {
                byte[] data = json ? corpus : random;
                CompressionMiddleware m = (CompressionMiddleware) middleware(spec, false).get(0)
                        .forSession(Config.defaults());
                long bytes = (long) mib << 20;
                long at = 0;
                long cpu0 = THREADS.getCurrentThreadCpuTime();
                long inflateCpu = 0;
                for (long done = 0; done < bytes; done += CHUNK) {
                    int off = (int) (at % (data.length - CHUNK));
                    at += CHUNK;
                    ByteBuf chunk = PooledByteBufAllocator.DEFAULT.directBuffer(CHUNK).writeBytes(data, off, CHUNK);
                    ByteBuf wire = m.processOutbound(1, chunk);
                    // every 8th chunk is also decompressed, timed on its own
                    if ((done / CHUNK) % 8 == 0) {
                        long c = THREADS.getCurrentThreadCpuTime();
                        m.processInbound(1, wire).release();
                        inflateCpu += THREADS.getCurrentThreadCpuTime() - c;
                    } else {
                        wire.release();
                    }
                }
                long cpu = THREADS.getCurrentThreadCpuTime() - cpu0 - inflateCpu;
                CompressionStats s = m.stats();
                double gib = bytes / (double) (1L << 30);
                double compressS = s.compressNanos() / 1e9 / gib;
                double inflateS = inflateCpu / 1e9 / (gib / 8);
                String kind = json ? "json" : "random";
                log(String.format(java.util.Locale.ROOT, "  %-10s %-6s ratio %.3f  compress %.2f CPU s/GiB  "
                        + "decompress %.2f CPU s/GiB  (thread CPU incl. copies %.2f s/GiB)", spec, kind, s.ratio(),
                        compressS, inflateS, cpu / 1e9 / gib));
                BenchSupport.summary("compression-codec", "codec", spec, "data", kind, "ratio", fmt(s.ratio(), 3),
                        "compress_cpu_s_per_gib", fmt(compressS, 2), "decompress_cpu_s_per_gib", fmt(inflateS, 2));
            }
        }
    }

    // ------------------------------------------------------------------ loopback goodput

    private static void loopback(byte[] corpus, int mib, int reps) throws Exception {
        long bytes = (long) mib << 20;
        log("== compression-loopback-1x1: 1 stream, 1 loopback link, " + mib + " MiB of the JSON corpus per rep, "
                + reps + " reps of each side interleaved (after 1 warm-up rep each)");
        Map<String, List<Double>> results = new LinkedHashMap<>();
        Map<String, SessionPair> pairs = new LinkedHashMap<>();
        pairs.put("off", SessionPair.open(Config.defaults(), 1));
        pairs.put("zstd-adaptive", SessionPair.open(Config.builder().middleware(middleware("zstd", true)).build(), 1));
        pairs.put("lz4-adaptive", SessionPair.open(Config.builder().middleware(middleware("lz4", true)).build(), 1));
        pairs.put("zstd-always", SessionPair.open(Config.builder().middleware(middleware("zstd", false)).build(), 1));
        try {
            for (int rep = 0; rep <= reps; rep++) {
                for (Map.Entry<String, SessionPair> e : pairs.entrySet()) {
                    double mbps = transfer(e.getValue(), corpus, bytes);
                    if (rep > 0) {
                        results.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(mbps);
                    }
                }
            }
            double off = BenchSupport.median(results.get("off"));
            for (Map.Entry<String, List<Double>> e : results.entrySet()) {
                double med = BenchSupport.median(e.getValue());
                String extra = "";
                SessionPair sp = pairs.get(e.getKey());
                if (!sp.client.middleware().isEmpty()) {
                    CompressionStats s = ((CompressionMiddleware) sp.client.middleware().get(0)).stats();
                    extra = String.format(java.util.Locale.ROOT, " (compressed chunks %d of %d, path switches %d,"
                            + " compressing at the end: %s)", s.chunksCompressed(), s.chunksCompressed()
                            + s.chunksRaw(), s.pathSwitches(), s.pathCompressing());
                }
                log("  " + e.getKey() + " reps " + BenchSupport.list(e.getValue(), 0) + " Mbit/s, median " + fmt(med, 0)
                        + ", ÷ off " + fmt(med / off, 3) + extra);
            }
            double ratio = BenchSupport.median(results.get("zstd-adaptive")) / off;
            double lz4 = BenchSupport.median(results.get("lz4-adaptive")) / off;
            log("  adaptive zstd ÷ off " + fmt(ratio, 3) + ", target >= 0.95: " + BenchSupport.verdict(ratio >= 0.95)
                    + "; adaptive lz4 ÷ off " + fmt(lz4, 3));
            BenchSupport.summary("compression-loopback-1x1", "off_mbps", fmt(off, 0), "zstd_adaptive_ratio",
                    fmt(ratio, 3), "lz4_adaptive_ratio", fmt(lz4, 3), "zstd_always_ratio",
                    fmt(BenchSupport.median(results.get("zstd-always")) / off, 3), "target", "0.95", "met",
                    Boolean.toString(ratio >= 0.95));
        } finally {
            pairs.values().forEach(SessionPair::close);
        }
    }

    /** One stream of {@code bytes} from the corpus, client to server; returns Mbit/s to the last byte read. */
    private static double transfer(SessionPair sp, byte[] corpus, long bytes) throws Exception {
        Stream out = sp.client.openStream();
        out.outputStream().write(corpus, 0, 1);
        Stream in = sp.server.acceptStream(Duration.ofSeconds(10));
        InputStream is = in.inputStream();
        if (is.read() < 0) {
            throw new IllegalStateException("no first byte");
        }
        long start = System.nanoTime();
        CompletableFuture<Long> read = CompletableFuture.supplyAsync(() -> {
            byte[] buf = new byte[64 * 1024];
            long n = 0;
            try {
                int k;
                while ((k = is.read(buf)) >= 0) {
                    n += k;
                }
            } catch (java.io.IOException e) {
                throw new IllegalStateException(e);
            }
            return n;
        });
        OutputStream os = out.outputStream();
        long left = bytes;
        int at = 1;
        while (left > 0) {
            int n = (int) Math.min(Math.min(64 * 1024, corpus.length - at), left);
            os.write(corpus, at, n);
            left -= n;
            at = (at + n) % corpus.length;
        }
        out.closeWrite();
        long got = read.get(300, TimeUnit.SECONDS);
        in.closeWrite();
        double secs = (System.nanoTime() - start) / 1e9;
        if (got != bytes) {
            throw new IllegalStateException("received " + got + " of " + bytes);
        }
        return bytes * 8 / secs / 1e6;
    }
}
