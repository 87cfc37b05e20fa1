package io.invmux.bench;

import static io.invmux.bench.BenchSupport.fmt;
import static io.invmux.bench.BenchSupport.log;

import io.invmux.Config;
import io.invmux.Stream;
import io.invmux.bench.BenchSupport.Args;
import io.invmux.bench.BenchSupport.SessionPair;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.ObjectName;

/**
 * Heap cost of idle open streams. Client and server session live in this JVM, joined by one loopback TCP link.
 * Each round: used heap after repeated {@link System#gc()}, then the client opens {@code --streams} streams and
 * the server accepts them all (the application keeps every {@link Stream} reachable, in arrays allocated before
 * the first reading), the control traffic is left to settle, used heap is read again the same way; the difference
 * divided by the stream count is the cost of one stream counting both its ends (client side + server side); both
 * ends hold the same objects (see the histogram), so half of it is the cost per end. The streams are then closed
 * and both sessions must drop them before the next round. The reported figure is the worst round.
 *
 * <p>The first round also diffs a class histogram (the {@code GC.class_histogram} diagnostic command, itself run
 * after a full GC) to show which classes the bytes are in.
 *
 * <pre>
 *   --streams N      streams per round, default 10000
 *   --rounds N       measured rounds, default 3
 *   --target BYTES   target heap per stream (both ends), default 2048
 *   --quick          one round
 * </pre>
 */
public final class IdleStreamsBench {
    private IdleStreamsBench() {
    }

    public static void main(String[] argv) throws Exception {
        Args args = new Args(argv);
        boolean quick = args.flag("quick");
        int count = args.intValue("streams", 10_000);
        int rounds = args.intValue("rounds", quick ? 1 : 3);
        double target = args.intValue("target", 2048);
        String caseName = "idle-streams-" + count;

        log("== " + caseName + ": heap per idle open stream, both ends in this JVM over 1 TCP link; "
                + rounds + " round(s) after a warm-up of " + Math.min(count, 1000) + " streams");

        // maxStreams counts both directions; the backlog must hold streams the acceptor has not taken yet.
        Config config = Config.builder().acceptBacklog(65_536).build();
        Stream[] opened = new Stream[count];
        Stream[] accepted = new Stream[count];
        List<Double> perStream = new ArrayList<>();
        try (SessionPair sp = SessionPair.open(config, 1)) {
            openAll(sp, opened, accepted, Math.min(count, 1000)); // warm-up: classes, JIT, map growth paths
            closeAll(sp, opened, accepted);
            for (int round = 1; round <= rounds; round++) {
                boolean histogram = round == 1;
                Map<String, long[]> before = histogram ? histogram() : null;
                long base = usedHeapAfterGc();
                long t0 = System.nanoTime();
                openAll(sp, opened, accepted, count);
                long openMillis = (System.nanoTime() - t0) / 1_000_000;
                settle(sp);
                long loaded = usedHeapAfterGc();
                Map<String, long[]> after = histogram ? histogram() : null;
                double per = (double) (loaded - base) / count;
                perStream.add(per);
                log(String.format("  round %d: used heap %s MiB -> %s MiB with %d streams open on each side "
                        + "(opened+accepted in %d ms): %s B per stream (client+server), ~%s B per end",
                        round, fmt(base / 1048576.0, 1), fmt(loaded / 1048576.0, 1), count, openMillis,
                        fmt(per, 0), fmt(per / 2, 0)));
                if (histogram) {
                    printHistogramDiff(before, after, count);
                }
                closeAll(sp, opened, accepted);
            }
        }
        // The target is a ceiling, so the headline is the worst round: normally the first, which also pays for
        // growing the sessions' stream maps (they keep their capacity, so later rounds come out ~60 B lower).
        double worst = perStream.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        double med = BenchSupport.median(perStream);
        double ratio = worst / target;
        log("  per-round bytes per stream (client+server): " + BenchSupport.list(perStream, 0) + ", worst "
                + fmt(worst, 0) + " B, median " + fmt(med, 0) + " B; target <= " + fmt(target, 0) + " B: "
                + BenchSupport.verdict(worst <= target));
        BenchSupport.summary(caseName, "bytes_per_stream", fmt(worst, 0), "bytes_per_end", fmt(worst / 2, 0),
                "median_bytes_per_stream", fmt(med, 0), "target_bytes", fmt(target, 0), "ratio", fmt(ratio, 3),
                "rounds", Integer.toString(rounds), "met", Boolean.toString(worst <= target));
    }

    /** Opens {@code n} streams from the client while a thread accepts them on the server. */
    private static void openAll(SessionPair sp, Stream[] opened, Stream[] accepted, int n) throws Exception {
        List<Throwable> errors = Collections.synchronizedList(new ArrayList<>());
        Thread acceptor = new Thread(() -> {
            try {
                for (int i = 0; i < n; i++) {
                    accepted[i] = sp.server.acceptStream(Duration.ofSeconds(30));
                }
            } catch (Throwable t) {
                errors.add(t);
            }
        }, "acceptor");
        acceptor.start();
        for (int i = 0; i < n; i++) {
            opened[i] = sp.client.openStream();
        }
        acceptor.join();
        BenchSupport.rethrow(errors);
        if (sp.client.numStreams() != n || sp.server.numStreams() != n) {
            throw new IllegalStateException("expected " + n + " streams on each side, client has "
                    + sp.client.numStreams() + ", server " + sp.server.numStreams());
        }
    }

    /**
     * Lets the OPEN/ACK exchange finish: every stream is accepted already, the ACKs answering the OPENs may still
     * be on their way. A few keep-alive intervals are plenty on loopback.
     */
    private static void settle(SessionPair sp) throws InterruptedException {
        Thread.sleep(300);
        sp.client.stats(); // a round trip through each session's event loop: queued tasks have run
        sp.server.stats();
    }

    private static void closeAll(SessionPair sp, Stream[] opened, Stream[] accepted) throws InterruptedException {
        for (int i = 0; i < opened.length; i++) {
            if (opened[i] != null) {
                opened[i].close();
                opened[i] = null;
            }
            if (accepted[i] != null) {
                accepted[i].close();
                accepted[i] = null;
            }
        }
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (sp.client.numStreams() + sp.server.numStreams() > 0) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("streams not released: client " + sp.client.numStreams()
                        + ", server " + sp.server.numStreams());
            }
            Thread.sleep(10);
        }
    }

    /** Used heap after full GCs, once it stops shrinking (at most 8 collections). */
    static long usedHeapAfterGc() throws InterruptedException {
        var mem = ManagementFactory.getMemoryMXBean();
        long prev = Long.MAX_VALUE;
        long used = 0;
        for (int i = 0; i < 8; i++) {
            System.gc();
            Thread.sleep(50);
            used = mem.getHeapMemoryUsage().getUsed();
            if (i >= 2 && Math.abs(prev - used) < 16 * 1024) {
                break;
            }
            prev = used;
        }
        return used;
    }

    /** Class name to {instances, bytes} from the GC.class_histogram diagnostic command (live objects). */
    private static Map<String, long[]> histogram() {
        Map<String, long[]> out = new HashMap<>();
        try {
            String text = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "gcClassHistogram",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
            for (String line : text.split("\n")) {
                String[] f = line.trim().split("\\s+");
                if (f.length >= 4 && f[0].endsWith(":")) {
                    out.put(f[3], new long[] {Long.parseLong(f[1]), Long.parseLong(f[2])});
                }
            }
        } catch (Exception e) {
            log("  (class histogram unavailable: " + e + ")");
        }
        return out;
    }

    private static void printHistogramDiff(Map<String, long[]> before, Map<String, long[]> after, int count) {
        if (before.isEmpty() || after.isEmpty()) {
            return;
        }
        List<Map.Entry<String, long[]>> grown = new ArrayList<>();
        long totalBytes = 0;
        for (Map.Entry<String, long[]> e : after.entrySet()) {
            long[] b = before.getOrDefault(e.getKey(), new long[2]);
            long[] d = {e.getValue()[0] - b[0], e.getValue()[1] - b[1]};
            if (d[1] > 0) {
                totalBytes += d[1];
            }
            grown.add(Map.entry(e.getKey(), d));
        }
        grown.sort((x, y) -> Long.compare(y.getValue()[1], x.getValue()[1]));
        log(String.format("  class histogram growth (live objects, %d streams per side), top classes:", count));
        log(String.format("    %12s %12s %10s  %s", "instances", "bytes", "B/stream", "class"));
        for (int i = 0; i < Math.min(15, grown.size()); i++) {
            var e = grown.get(i);
            if (e.getValue()[1] <= 0) {
                break;
            }
            log(String.format("    %12d %12d %10s  %s", e.getValue()[0], e.getValue()[1],
                    fmt((double) e.getValue()[1] / count, 1), e.getKey()));
        }
        log(String.format("    total growth %d bytes = %s B per stream (client+server)", totalBytes,
                fmt((double) totalBytes / count, 0)));
    }
}
