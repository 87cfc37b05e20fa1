package io.invmux.bench;

import static io.invmux.bench.BenchSupport.fmt;
import static io.invmux.bench.BenchSupport.log;

import io.invmux.Config;
import io.invmux.Stream;
import io.invmux.bench.BenchSupport.Args;
import io.invmux.bench.BenchSupport.SessionPair;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bulk goodput: {@code N} streams over {@code N} InvMux TCP links of one session vs {@code N} raw loopback
 * {@link Socket} pairs, all moving the same bytes in parallel. One writer thread per stream writes
 * {@code --write-size} bytes at a time, one reader thread drains with reads of the same size; a rep's time runs
 * from releasing the writers to the last reader seeing end of stream (the writers half-close when done).
 *
 * <pre>
 *   --pairs N        streams (and links) / raw socket pairs, default 1
 *   --bytes SIZE     bytes per stream per rep (k/m/g suffixes), default 1 GiB / N
 *   --reps N         measured reps of each side, default 7
 *   --warmup N       unmeasured warm-up reps of each side first, at least, default 2
 *   --max-warmup N   more warm-up reps while the JIT compiler threads still use >= 5% of the CPU of an InvMux
 *                    rep (read from /proc), up to this many in all, default 8
 *   --write-size S   write and read size, default 64k
 *   --target R       target ratio invmux/raw, default 0.90 for 1 pair, 0.85 otherwise
 *   --quick          short smoke run (128 MiB per rep in all, 1 warm-up + 2 reps)
 *   --window S, --max-window S, --chunk S, --link-buffer S
 *                    InvMux Config knobs (windowSize, maxWindowSize, maxChunkSize, linkWriteBufferSize), default
 *                    Config.defaults(); for exploring what bounds the figures
 *   --cpu-breakdown  print CPU seconds per GiB by thread group (writers, readers, each event loop, JIT, GC) per
 *                    rep
 *   --side S         raw | invmux | both (default); one side only is for profiling, no ratio then
 * </pre>
 */
public final class ThroughputBench {
    private ThroughputBench() {
    }

    /** A half-close (shutdownOutput / closeWrite). */
    private interface IoAction {
        void run() throws IOException;
    }

    /** One direction of one connection: where the writer writes and the reader reads. */
    private record Channel(OutputStream out, IoAction finishWrite, InputStream in) {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        boolean quick = args.flag("quick");
        int pairs = args.intValue("pairs", 1);
        long total = quick ? 128L << 20 : 1L << 30;
        long bytesPerPair = args.sizeValue("bytes", total / pairs);
        int reps = args.intValue("reps", quick ? 2 : 7);
        // InvMux's hot paths (Netty pipeline, codec, session scheduler) take several GiB to be JIT-compiled on two
        // busy cores; reps measured before that measure the compiler, not the code (see docs/BENCHMARKS.md). So the
        // warm-up goes on (up to --max-warmup reps) until the JIT threads used < 5% of the CPU of an InvMux rep.
        int warmup = args.intValue("warmup", quick ? 1 : 2);
        int maxWarmup = Math.max(warmup, args.intValue("max-warmup", quick ? 1 : 8));
        int writeSize = (int) args.sizeValue("write-size", 64 << 10);
        double target = Double.parseDouble(args.value("target", pairs == 1 ? "0.90" : "0.85"));
        cpuBreakdown = args.flag("cpu-breakdown");
        String side = args.value("side", "both"); // raw | invmux | both (one side only: for profiling)
        String caseName = "throughput-" + pairs + "x" + pairs;

        log("== " + caseName + ": " + pairs + " stream(s) over " + pairs + " InvMux TCP link(s) vs " + pairs
                + " raw socket pair(s); " + (bytesPerPair >> 20) + " MiB per stream per rep, writes/reads of "
                + writeSize + " B, " + warmup + "-" + maxWarmup + " warm-up + " + reps + " reps each, interleaved");

        byte[] payload = new byte[writeSize];
        new Random(42).nextBytes(payload);

        List<Double> raw = new ArrayList<>();
        List<Double> mux = new ArrayList<>();
        List<Double> rawCpu = new ArrayList<>();
        List<Double> muxCpu = new ArrayList<>();
        List<Double> otherLoad = new ArrayList<>();
        Config config = BenchSupport.configFrom(args);
        {
            log("  config: windowSize=" + config.windowSize() + " maxWindowSize=" + config.maxWindowSize()
                    + " maxChunkSize=" + config.maxChunkSize() + " linkWriteBufferSize="
                    + config.linkWriteBufferSize());
        }
        int warmed = 0;
        try (SessionPair sp = SessionPair.open(config, pairs)) {
            while (true) {
                runPair(sp, side, "warm-up", pairs, bytesPerPair, payload);
                warmed++;
                boolean jitBusy = lastJitShare >= 0.05; // false when NaN (no /proc): the count decides
                if (warmed >= maxWarmup || (warmed >= warmup && !jitBusy)) {
                    break;
                }
            }
            log("  warm-up done after " + warmed + " rep(s) of each side");
            for (int rep = 1; rep <= reps; rep++) {
                double[] x = runPair(sp, side, "rep " + rep, pairs, bytesPerPair, payload);
                raw.add(x[0]);
                rawCpu.add(x[1]);
                mux.add(x[2]);
                muxCpu.add(x[3]);
                otherLoad.add(x[4]);
            }
            log("  client session stats: " + summarize(sp));
        }
        double rawMed = BenchSupport.median(raw);
        double muxMed = BenchSupport.median(mux);
        double ratio = muxMed / rawMed;
        log("  raw    reps " + BenchSupport.list(raw, 0) + " Mbit/s, median " + fmt(rawMed, 0));
        log("  invmux reps " + BenchSupport.list(mux, 0) + " Mbit/s, median " + fmt(muxMed, 0));
        double rawCpuMed = BenchSupport.median(rawCpu);
        double muxCpuMed = BenchSupport.median(muxCpu);
        log("  process CPU per GiB moved: raw " + fmt(rawCpuMed, 2) + " s, invmux " + fmt(muxCpuMed, 2)
                + " s (x" + fmt(muxCpuMed / rawCpuMed, 2) + ")");
        log("  other processes used a median " + fmt(BenchSupport.median(otherLoad), 2)
                + " cores during the measured reps (max " + fmt(otherLoad.stream().mapToDouble(Double::doubleValue)
                .max().orElse(Double.NaN), 2) + ")");
        log("  ratio of medians " + fmt(ratio, 3) + " (median of paired ratios "
                + fmt(BenchSupport.pairedRatio(raw, mux), 3) + "), target >= " + fmt(target, 2) + ": "
                + BenchSupport.verdict(ratio >= target));
        BenchSupport.summary(caseName, "raw_mbps", fmt(rawMed, 0), "invmux_mbps", fmt(muxMed, 0), "ratio",
                fmt(ratio, 3), "paired_ratio", fmt(BenchSupport.pairedRatio(raw, mux), 3), "target",
                fmt(target, 2), "raw_cpu_s_per_gib", fmt(rawCpuMed, 2), "invmux_cpu_s_per_gib",
                fmt(muxCpuMed, 2), "others_cores", fmt(BenchSupport.median(otherLoad), 2), "warmup_reps", Integer.toString(warmed), "reps", Integer.toString(reps),
                "mib_per_stream",
                Long.toString(bytesPerPair >> 20), "met", Boolean.toString(ratio >= target));
    }

    /**
     * One raw rep then one InvMux rep; returns {raw Mbit/s, raw CPU s/GiB, invmux Mbit/s, invmux CPU s/GiB, cores
     * used by other processes (the larger of the two reps)}.
     */
    private static double[] runPair(SessionPair sp, String side, String label, int pairs, long bytesPerPair,
            byte[] payload) throws Exception {
        lastCpuPerGib = Double.NaN;
        lastOtherLoad = Double.NaN;
        double r = side.equals("invmux") ? Double.NaN : rawRep(pairs, bytesPerPair, payload);
        double rc = lastCpuPerGib;
        double ro = lastOtherLoad;
        if (!side.equals("invmux")) {
            log(String.format("  %-8s raw    %9s Mbit/s  (%5s MiB/s)  cpu %s s/GiB  others %s cores", label,
                    fmt(r, 0), fmt(r / 8.388608, 0), fmt(rc, 2), fmt(ro, 2)));
        }
        lastCpuPerGib = Double.NaN;
        lastOtherLoad = Double.NaN;
        lastJitShare = Double.NaN;
        double m = side.equals("raw") ? Double.NaN : muxRep(sp, pairs, bytesPerPair, payload);
        double mc = lastCpuPerGib;
        double mo = lastOtherLoad;
        if (!side.equals("raw")) {
            log(String.format("  %-8s invmux %9s Mbit/s  (%5s MiB/s)  cpu %s s/GiB  others %s cores  ratio %s"
                    + "  (JIT %s%% of CPU)", label, fmt(m, 0), fmt(m / 8.388608, 0), fmt(mc, 2), fmt(mo, 2),
                    fmt(m / r, 3), fmt(100 * lastJitShare, 0)));
        }
        double others = Double.isNaN(ro) ? mo : Double.isNaN(mo) ? ro : Math.max(ro, mo);
        return new double[] {r, rc, m, mc, others};
    }

    private static String summarize(SessionPair sp) {
        var st = sp.client.stats();
        StringBuilder sb = new StringBuilder("bytesSent=" + st.bytesSent() + " chunksSent=" + st.chunksSent()
                + " resent=" + st.chunksResent() + " links=[");
        for (var l : st.links()) {
            sb.append(' ').append(l.id()).append(':').append(l.bytesSent() >> 20).append("MiB");
        }
        return sb.append(" ]").toString();
    }

    private static double rawRep(int pairs, long bytesPerPair, byte[] payload) throws Exception {
        Socket[][] sockets = BenchSupport.rawPairs(pairs);
        try {
            List<Channel> channels = new ArrayList<>();
            for (Socket[] p : sockets) {
                Socket c = p[0];
                channels.add(new Channel(c.getOutputStream(), c::shutdownOutput, p[1].getInputStream()));
            }
            return transfer(channels, bytesPerPair, payload);
        } finally {
            BenchSupport.closeQuietly(sockets);
        }
    }

    /** One timed rep of {@code pairs} streams over {@code sp}'s links; Mbit/s. Shared with {@link TlsBench}. */
    static double muxRep(SessionPair sp, int pairs, long bytesPerPair, byte[] payload) throws Exception {
        List<Stream> opened = new ArrayList<>();
        List<Stream> accepted = new ArrayList<>();
        try {
            // Stream set-up is outside the timed part, as connect/accept is for the raw sockets.
            for (int i = 0; i < pairs; i++) {
                opened.add(sp.client.openStream());
            }
            for (int i = 0; i < pairs; i++) {
                accepted.add(sp.server.acceptStream(Duration.ofSeconds(10)));
            }
            accepted.sort((a, b) -> Integer.compare(a.id(), b.id()));
            List<Channel> channels = new ArrayList<>();
            for (int i = 0; i < pairs; i++) {
                Stream s = opened.get(i);
                if (accepted.get(i).id() != s.id()) {
                    throw new IllegalStateException("stream ids do not match: " + s.id() + " vs "
                            + accepted.get(i).id());
                }
                channels.add(new Channel(s.outputStream(), s::closeWrite, accepted.get(i).inputStream()));
            }
            return transfer(channels, bytesPerPair, payload);
        } finally {
            opened.forEach(Stream::close);
            accepted.forEach(Stream::close);
        }
    }

    private static final com.sun.management.OperatingSystemMXBean OS =
            (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                    .getOperatingSystemMXBean();

    private static final java.lang.management.ThreadMXBean THREADS =
            java.lang.management.ManagementFactory.getThreadMXBean();

    /** Process CPU seconds per GiB moved in the last rep (all threads: application, event loops, GC, JIT). */
    static double lastCpuPerGib;
    /** Share of the last rep's process CPU used by the JIT compiler threads (NaN without /proc). */
    static double lastJitShare;
    /** CPU used by other processes during the last rep, in cores (NaN without /proc). */
    private static double lastOtherLoad;
    /** With --cpu-breakdown: print CPU seconds per GiB of each rep by thread group. */
    static boolean cpuBreakdown;
    /** CPU of the writer and reader threads of the last rep (they end before it can be read from outside). */
    private static final java.util.Map<String, Long> appCpu = new java.util.concurrent.ConcurrentHashMap<>();

    /** Runs one writer and one reader thread per channel; returns the aggregate goodput in Mbit/s. */
    private static double transfer(List<Channel> channels, long bytesPerPair, byte[] payload) throws Exception {
        System.gc();
        Thread.sleep(100);
        CountDownLatch start = new CountDownLatch(1);
        AtomicLong lastEnd = new AtomicLong();
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < channels.size(); i++) {
            Channel ch = channels.get(i);
            threads.add(new Thread(() -> {
                try {
                    start.await();
                    long cpuStart = THREADS.getCurrentThreadCpuTime();
                    long left = bytesPerPair;
                    while (left > 0) {
                        int n = (int) Math.min(left, payload.length);
                        ch.out().write(payload, 0, n);
                        left -= n;
                    }
                    ch.finishWrite().run();
                    appCpu.merge("writer", THREADS.getCurrentThreadCpuTime() - cpuStart, Long::sum);
                } catch (Throwable t) {
                    errors.add(t);
                }
            }, "writer-" + i));
            threads.add(new Thread(() -> {
                try {
                    byte[] buf = new byte[payload.length];
                    long got = 0;
                    start.await();
                    long cpuStart = THREADS.getCurrentThreadCpuTime();
                    int n;
                    while ((n = ch.in().read(buf, 0, buf.length)) >= 0) {
                        got += n;
                    }
                    long end = System.nanoTime();
                    appCpu.merge("reader", THREADS.getCurrentThreadCpuTime() - cpuStart, Long::sum);
                    lastEnd.accumulateAndGet(end, Math::max);
                    if (got != bytesPerPair) {
                        throw new IllegalStateException("reader got " + got + " bytes, expected " + bytesPerPair);
                    }
                } catch (Throwable t) {
                    errors.add(t);
                }
            }, "reader-" + i));
        }
        threads.forEach(Thread::start);
        Thread.sleep(20); // let every thread park on the latch
        appCpu.clear();
        java.util.Map<String, Long> groups0 = BenchSupport.threadGroupCpu();
        long cpu0 = OS.getProcessCpuTime();
        BenchSupport.OtherLoad others = new BenchSupport.OtherLoad();
        long t0 = System.nanoTime();
        start.countDown();
        BenchSupport.joinAll(threads);
        long cpu1 = OS.getProcessCpuTime();
        lastOtherLoad = others.cores();
        java.util.Map<String, Long> groups1 = BenchSupport.threadGroupCpu();
        BenchSupport.rethrow(errors);
        double seconds = (lastEnd.get() - t0) / 1e9;
        double gib = bytesPerPair * channels.size() / (double) (1L << 30);
        lastJitShare = groups1.isEmpty() ? Double.NaN
                : (groups1.getOrDefault("jit", 0L) - groups0.getOrDefault("jit", 0L)) / (double) (cpu1 - cpu0);
        lastCpuPerGib = (cpu1 - cpu0) / 1e9 / gib;
        if (cpuBreakdown) {
            log("             cpu s/GiB: writers=" + fmt(appCpu.getOrDefault("writer", 0L) / 1e9 / gib, 2)
                    + " readers=" + fmt(appCpu.getOrDefault("reader", 0L) / 1e9 / gib, 2) + " "
                    + BenchSupport.cpuDiff(groups0, groups1, gib) + " process=" + fmt(lastCpuPerGib, 2)
                    + " (wall " + fmt(seconds / gib, 2) + " s/GiB)");
        }
        return bytesPerPair * channels.size() * 8 / 1e6 / seconds;
    }
}
