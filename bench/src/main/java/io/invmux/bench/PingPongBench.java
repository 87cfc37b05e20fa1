package io.invmux.bench;

import static io.invmux.bench.BenchSupport.fmt;
import static io.invmux.bench.BenchSupport.log;

import io.invmux.Config;
import io.invmux.Stream;
import io.invmux.bench.BenchSupport.Args;
import io.invmux.bench.BenchSupport.SessionPair;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;

/**
 * Request/response latency: the client writes a small message, an echo thread on the server side reads it whole
 * and writes it back, the client reads it whole; each round trip is timed with {@link System#nanoTime}. Over one
 * InvMux stream (one TCP link) vs one raw loopback {@link Socket} pair with TCP_NODELAY.
 *
 * <p>Two diagnostics are printed with each rep: the TCP segments sent per round trip (from the kernel's
 * machine-wide counter) and the round trip of a bare two-thread wait/notify hand-off, the price of one thread
 * waking another on this machine right now. The latter also shows when other processes compete for the CPU: it is
 * ~5 us on an idle 2-core machine and several times that under load, when every ratio here moves.
 *
 * <pre>
 *   --size N     message size in bytes, default 64
 *   --iters N    round trips per rep, default 20000
 *   --reps N     measured reps of each side, default 5
 *   --warmup N   unmeasured warm-up reps of each side first, default 2
 *   --target R   target ratio of medians invmux/raw, default 1.3
 *   --side S     raw | invmux | both (default); one side only is for profiling, no ratio then
 *   --quick      short smoke run (2000 round trips, 1 warm-up + 2 reps)
 * </pre>
 */
public final class PingPongBench {
    private PingPongBench() {
    }

    private record Rep(long medianNanos, long p99Nanos, long p999Nanos, long meanNanos, double segmentsPerRtt,
            double otherCores) {
    }

    private static final Rep NONE = new Rep(0, 0, 0, 0, 0, 0);

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        boolean quick = args.flag("quick");
        int size = args.intValue("size", 64);
        int iters = args.intValue("iters", quick ? 2_000 : 20_000);
        int reps = args.intValue("reps", quick ? 2 : 5);
        int warmup = args.intValue("warmup", quick ? 1 : 2);
        double target = Double.parseDouble(args.value("target", "1.3"));
        String side = args.value("side", "both"); // raw | invmux | both (one side only: for profiling)
        String caseName = "pingpong-" + size + "B";

        log("== " + caseName + ": " + size + "-byte ping-pong over 1 InvMux stream (1 TCP link) vs 1 raw socket "
                + "pair; " + iters + " round trips per rep, " + warmup + " warm-up + " + reps
                + " reps each, interleaved");
        List<Double> rawMed = new ArrayList<>();
        List<Double> muxMed = new ArrayList<>();
        List<Double> rawP99 = new ArrayList<>();
        List<Double> muxP99 = new ArrayList<>();
        List<Double> handoff = new ArrayList<>();
        List<Double> otherLoad = new ArrayList<>();
        try (SessionPair sp = SessionPair.open(Config.defaults(), 1)) {
            for (int rep = 1 - warmup; rep <= reps; rep++) {
                String label = rep <= 0 ? "warm-up" : "rep " + rep;
                Rep r = side.equals("invmux") ? NONE : rawRep(size, iters);
                log(String.format("  %-8s raw    median %7s us  p99 %7s us  p99.9 %7s us  mean %7s us"
                        + "  TCP segments/RTT %s  others %s cores", label, us(r.medianNanos), us(r.p99Nanos),
                        us(r.p999Nanos), us(r.meanNanos), fmt(r.segmentsPerRtt, 1), fmt(r.otherCores, 2)));
                Rep m = side.equals("raw") ? NONE : muxRep(sp, size, iters);
                log(String.format("  %-8s invmux median %7s us  p99 %7s us  p99.9 %7s us  mean %7s us"
                        + "  TCP segments/RTT %s  others %s cores  ratio %s", label, us(m.medianNanos),
                        us(m.p99Nanos), us(m.p999Nanos), us(m.meanNanos), fmt(m.segmentsPerRtt, 1),
                        fmt(m.otherCores, 2), fmt((double) m.medianNanos / r.medianNanos, 2)));
                Rep h = handoffRep(iters);
                log(String.format("  %-8s wake-up round trip between two threads (wait/notify, 2 wake-ups): "
                        + "median %s us", label, us(h.medianNanos)));
                if (rep > 0) {
                    handoff.add(h.medianNanos / 1e3);
                    rawMed.add(r.medianNanos / 1e3);
                    muxMed.add(m.medianNanos / 1e3);
                    rawP99.add(r.p99Nanos / 1e3);
                    muxP99.add(m.p99Nanos / 1e3);
                    otherLoad.add(Math.max(r.otherCores, m.otherCores));
                }
            }
        }
        double rm = BenchSupport.median(rawMed);
        double mm = BenchSupport.median(muxMed);
        double r99 = BenchSupport.median(rawP99);
        double m99 = BenchSupport.median(muxP99);
        double ratio = mm / rm;
        log("  raw    per-rep medians " + BenchSupport.list(rawMed, 1) + " us, p99s " + BenchSupport.list(rawP99, 1));
        log("  invmux per-rep medians " + BenchSupport.list(muxMed, 1) + " us, p99s " + BenchSupport.list(muxP99, 1));
        double hm = BenchSupport.median(handoff);
        log("  thread wake-up round trip (2 wake-ups) median " + fmt(hm, 1) + " us; invmux adds " + fmt(mm - rm, 1)
                + " us per round trip, the time of ~" + fmt((mm - rm) / (hm / 2), 0) + " such wake-ups");
        log("  median RTT ratio " + fmt(ratio, 2) + " (paired " + fmt(BenchSupport.pairedRatio(rawMed, muxMed), 2)
                + "), p99 ratio " + fmt(m99 / r99, 2) + "; target <= " + fmt(target, 2) + ": "
                + BenchSupport.verdict(ratio <= target));
        BenchSupport.summary(caseName, "raw_median_us", fmt(rm, 1), "invmux_median_us", fmt(mm, 1), "ratio",
                fmt(ratio, 2), "raw_p99_us", fmt(r99, 1), "invmux_p99_us", fmt(m99, 1), "p99_ratio",
                fmt(m99 / r99, 2), "target", fmt(target, 2), "wakeup_rtt_us", fmt(hm, 1), "others_cores",
                fmt(BenchSupport.median(otherLoad), 2), "reps",
                Integer.toString(reps), "iters", Integer.toString(iters), "met", Boolean.toString(ratio <= target));
    }

    private static String us(long nanos) {
        return fmt(nanos / 1e3, 1);
    }

    private static Rep rawRep(int size, int iters) throws Exception {
        Socket[][] pair = BenchSupport.rawPairs(1);
        try {
            Socket c = pair[0][0];
            Socket s = pair[0][1];
            return pingPong(c.getOutputStream(), c.getInputStream(), s.getInputStream(), s.getOutputStream(),
                    size, iters);
        } finally {
            BenchSupport.closeQuietly(pair);
        }
    }

    private static Rep muxRep(SessionPair sp, int size, int iters) throws Exception {
        Stream c = sp.client.openStream();
        Stream s = sp.server.acceptStream(Duration.ofSeconds(10));
        try {
            return pingPong(c.outputStream(), c.inputStream(), s.inputStream(), s.outputStream(), size, iters);
        } finally {
            c.close();
            s.close();
        }
    }

    private static Rep pingPong(OutputStream clientOut, InputStream clientIn, InputStream serverIn,
            OutputStream serverOut, int size, int iters) throws Exception {
        System.gc();
        Thread.sleep(100);
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        Thread echo = new Thread(() -> {
            byte[] buf = new byte[size];
            try {
                while (readFully(serverIn, buf)) {
                    serverOut.write(buf, 0, size);
                    serverOut.flush();
                }
                serverOut.close();
            } catch (Throwable t) {
                errors.add(t);
            }
        }, "echo");
        echo.start();
        byte[] ping = new byte[size];
        byte[] pong = new byte[size];
        long[] rtt = new long[iters];
        long segments0 = BenchSupport.tcpOutSegments();
        BenchSupport.OtherLoad others = new BenchSupport.OtherLoad();
        for (int i = 0; i < iters; i++) {
            ping[0] = (byte) i;
            long t0 = System.nanoTime();
            clientOut.write(ping, 0, size);
            clientOut.flush();
            if (!readFully(clientIn, pong)) {
                throw new EOFException("echo closed early");
            }
            rtt[i] = System.nanoTime() - t0;
            if (pong[0] != (byte) i) {
                throw new IllegalStateException("echo out of step at round trip " + i);
            }
        }
        double segmentsPerRtt = (double) (BenchSupport.tcpOutSegments() - segments0) / iters;
        double otherCores = others.cores();
        clientOut.close();
        echo.join(10_000);
        BenchSupport.rethrow(errors);
        long sum = 0;
        for (long x : rtt) {
            sum += x;
        }
        Arrays.sort(rtt);
        return new Rep(BenchSupport.percentile(rtt, 50), BenchSupport.percentile(rtt, 99),
                BenchSupport.percentile(rtt, 99.9), sum / iters, segmentsPerRtt, otherCores);
    }

    /**
     * The floor any design pays for handing a message between threads: the main thread and a helper pass a
     * counter back and forth through two monitors with wait/notify (as an InvMux stream's reader and writer do
     * with its event loop); one round trip is two wake-ups.
     */
    private static Rep handoffRep(int iters) throws Exception {
        final class Box {
            private long seq;

            synchronized void put(long v) {
                seq = v;
                notifyAll();
            }

            synchronized void await(long want) throws InterruptedException {
                while (seq < want) {
                    wait();
                }
            }
        }
        Box ping = new Box();
        Box pong = new Box();
        Thread helper = new Thread(() -> {
            try {
                for (long i = 1; i <= iters; i++) {
                    ping.await(i);
                    pong.put(i);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "echo");
        helper.start();
        long[] rtt = new long[iters];
        for (int i = 1; i <= iters; i++) {
            long t0 = System.nanoTime();
            ping.put(i);
            pong.await(i);
            rtt[i - 1] = System.nanoTime() - t0;
        }
        helper.join();
        long sum = 0;
        for (long x : rtt) {
            sum += x;
        }
        Arrays.sort(rtt);
        return new Rep(BenchSupport.percentile(rtt, 50), BenchSupport.percentile(rtt, 99),
                BenchSupport.percentile(rtt, 99.9), sum / iters, 0, 0);
    }

    /** Reads exactly {@code buf.length} bytes; false on end of stream before the first byte. */
    private static boolean readFully(InputStream in, byte[] buf) throws IOException {
        int got = 0;
        while (got < buf.length) {
            int n = in.read(buf, got, buf.length - got);
            if (n < 0) {
                if (got == 0) {
                    return false;
                }
                throw new EOFException("end of stream inside a message");
            }
            got += n;
        }
        return true;
    }
}
