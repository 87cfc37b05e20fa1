package io.invmux.bench;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Shared plumbing of the bench mains: argument parsing, loopback socket and session pairs, statistics and the
 * output format (human lines, then one {@code bench: case=...} summary line per case).
 *
 * <p>Every figure a bench reports is a ratio against a baseline measured in the same JVM run, with the reps
 * interleaved (raw, invmux, raw, invmux, ...) so that drift in machine load hits both sides alike.
 */
final class BenchSupport {
    static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

    private BenchSupport() {
    }

    // ------------------------------------------------------------------ arguments

    /** {@code --key value}, {@code --key=value} and bare {@code --flag} arguments. */
    static final class Args {
        private final Map<String, String> values = new HashMap<>();

        Args(String[] argv) {
            for (int i = 0; i < argv.length; i++) {
                String a = argv[i];
                if (!a.startsWith("--")) {
                    throw new IllegalArgumentException("unexpected argument '" + a + "'");
                }
                String key = a.substring(2);
                int eq = key.indexOf('=');
                if (eq >= 0) {
                    values.put(key.substring(0, eq), key.substring(eq + 1));
                } else if (i + 1 < argv.length && !argv[i + 1].startsWith("--")) {
                    values.put(key, argv[++i]);
                } else {
                    values.put(key, "true");
                }
            }
        }

        boolean has(String key) {
            return values.containsKey(key);
        }

        boolean flag(String key) {
            return Boolean.parseBoolean(values.getOrDefault(key, "false"));
        }

        String value(String key, String dflt) {
            return values.getOrDefault(key, dflt);
        }

        int intValue(String key, int dflt) {
            String v = values.get(key);
            return v == null ? dflt : Integer.parseInt(v);
        }

        long sizeValue(String key, long dflt) {
            String v = values.get(key);
            return v == null ? dflt : parseSize(v);
        }

        static long parseSize(String v) {
            String s = v.trim().toLowerCase(Locale.ROOT);
            long mult = 1;
            if (s.endsWith("k")) {
                mult = 1L << 10;
            } else if (s.endsWith("m")) {
                mult = 1L << 20;
            } else if (s.endsWith("g")) {
                mult = 1L << 30;
            }
            if (mult != 1) {
                s = s.substring(0, s.length() - 1);
            }
            return Long.parseLong(s) * mult;
        }
    }

    /**
     * {@link Config#defaults()} unless {@code --window}, {@code --max-window}, {@code --chunk} or
     * {@code --link-buffer} is given (diagnostic knobs; the reported figures use the defaults).
     */
    static Config configFrom(Args args) {
        if (!args.has("window") && !args.has("max-window") && !args.has("chunk") && !args.has("link-buffer")) {
            return Config.defaults();
        }
        Config.Builder b = Config.builder();
        Config d = Config.defaults();
        int window = (int) args.sizeValue("window", d.windowSize());
        b.windowSize(window);
        b.maxWindowSize((int) args.sizeValue("max-window", Math.max(window, d.maxWindowSize())));
        b.sessionWindowSize(Math.max(window, d.sessionWindowSize()));
        b.maxChunkSize((int) args.sizeValue("chunk", d.maxChunkSize()));
        b.linkWriteBufferSize((int) args.sizeValue("link-buffer", d.linkWriteBufferSize()));
        return b.build();
    }

    // ------------------------------------------------------------------ raw sockets

    /** {@code n} connected loopback socket pairs (client end, server end), TCP_NODELAY on both as InvMux does. */
    static Socket[][] rawPairs(int n) throws IOException {
        Socket[][] pairs = new Socket[n][2];
        try (ServerSocket ss = new ServerSocket(0, 64, LOOPBACK)) {
            for (int i = 0; i < n; i++) {
                Socket c = new Socket();
                c.setTcpNoDelay(true);
                c.connect(new InetSocketAddress(LOOPBACK, ss.getLocalPort()), 10_000);
                Socket s = ss.accept();
                s.setTcpNoDelay(true);
                pairs[i][0] = c;
                pairs[i][1] = s;
            }
        }
        return pairs;
    }

    static void closeQuietly(Socket[][] pairs) {
        for (Socket[] p : pairs) {
            for (Socket s : p) {
                try {
                    s.close();
                } catch (IOException ignored) {
                    // best effort
                }
            }
        }
    }

    // ------------------------------------------------------------------ sessions

    /** A listener and a session dialed to it over {@code links} loopback TCP links, plus the accepted session. */
    static final class SessionPair implements AutoCloseable {
        final SessionListener listener;
        final Session client;
        final Session server;

        private SessionPair(SessionListener listener, Session client, Session server) {
            this.listener = listener;
            this.client = client;
            this.server = server;
        }

        static SessionPair open(Config config, int links) throws Exception {
            return open(config, config, links, "tcp");
        }

        /** {@code links} links of {@code scheme} (tcp, tls) on loopback; each end with its own config. */
        static SessionPair open(Config clientConfig, Config serverConfig, int links, String scheme)
                throws Exception {
            SessionListener listener = InvMux.listen(serverConfig, URI.create(scheme + "://127.0.0.1:0"));
            int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
            URI[] uris = new URI[links];
            Arrays.fill(uris, URI.create(scheme + "://127.0.0.1:" + port));
            Session client = InvMux.connect(clientConfig, uris);
            Session server = listener.accept(Duration.ofSeconds(10));
            if (client.numConnections() != links) {
                throw new IllegalStateException("expected " + links + " links, got " + client.numConnections());
            }
            return new SessionPair(listener, client, server);
        }

        @Override
        public void close() {
            client.close();
            listener.close();
        }
    }

    // ------------------------------------------------------------------ CPU accounting

    /**
     * CPU nanoseconds of this process's live threads by group (each event loop, jit, gc+vm, app, other), read from
     * {@code /proc/self/task/TID/stat} (utime + stime, clock ticks of 10 ms). Empty where /proc is missing.
     */
    static Map<String, Long> threadGroupCpu() {
        Map<String, Long> out = new HashMap<>();
        java.io.File[] tasks = new java.io.File("/proc/self/task").listFiles();
        if (tasks == null) {
            return out;
        }
        for (java.io.File task : tasks) {
            try {
                String stat = java.nio.file.Files.readString(task.toPath().resolve("stat"));
                int close = stat.lastIndexOf(')');
                String name = stat.substring(stat.indexOf('(') + 1, close);
                String[] f = stat.substring(close + 2).split(" ");
                long ticks = Long.parseLong(f[11]) + Long.parseLong(f[12]); // utime, stime (fields 14, 15)
                out.merge(threadGroup(name), ticks * 10_000_000L, Long::sum);
            } catch (IOException | RuntimeException e) {
                // the thread ended meanwhile
            }
        }
        return out;
    }

    private static String threadGroup(String name) {
        if (name.startsWith("invmux-io-")) {
            return "loop-" + name.substring(name.lastIndexOf('-') + 1); // one entry per event loop thread
        }
        if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
            return "jit";
        }
        if (name.startsWith("GC Thread") || name.startsWith("G1 ") || name.startsWith("VM Thread")) {
            return "gc+vm";
        }
        if (name.startsWith("writer-") || name.startsWith("reader-") || name.equals("echo")) {
            return "app";
        }
        return "other";
    }

    /** {@code after - before} per group, in CPU seconds per {@code perUnit}, as "k=v" pairs. */
    static String cpuDiff(Map<String, Long> before, Map<String, Long> after, double perUnit) {
        StringBuilder sb = new StringBuilder();
        new java.util.TreeMap<>(after).forEach((k, v) -> {
            long d = v - before.getOrDefault(k, 0L);
            if (d > 0 && !k.equals("app")) { // app threads end before the second reading: measured in-thread
                sb.append(' ').append(k).append('=').append(fmt(d / 1e9 / perUnit, 2));
            }
        });
        return sb.toString().trim();
    }

    /**
     * How busy the rest of the machine was during a measurement: CPU time all processes used (user, nice, system
     * and steal from the first line of /proc/stat) minus this process's, divided by the wall time, in cores. On this 2-core machine anything
     * well above 0 means other processes competed with the run (the figures of such a rep move).
     */
    static final class OtherLoad {
        private static final com.sun.management.OperatingSystemMXBean OS =
                (com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                        .getOperatingSystemMXBean();
        private final long busy0 = machineBusyNanos();
        private final long own0 = OS.getProcessCpuTime();
        private final long t0 = System.nanoTime();

        /** Cores' worth of CPU used by other processes since construction; NaN without /proc/stat. */
        double cores() {
            long busy1 = machineBusyNanos();
            if (busy0 < 0 || busy1 < 0) {
                return Double.NaN;
            }
            long own = OS.getProcessCpuTime() - own0;
            return Math.max(0, (busy1 - busy0 - own) / (double) (System.nanoTime() - t0));
        }

        private static long machineBusyNanos() {
            try {
                String[] f = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/stat")).get(0).trim()
                        .split("\\s+");
                long ticks = 0;
                // user nice system idle iowait irq softirq steal: count user, nice, system and steal. Not irq and
                // softirq: loopback TCP's receive path runs as softirq and is not charged to the process whose
                // traffic it is, so it would show up here as "others" while it is this process's own work.
                for (int i = 1; i < f.length && i <= 8; i++) {
                    if (i != 4 && i != 5 && i != 6 && i != 7) {
                        ticks += Long.parseLong(f[i]);
                    }
                }
                return ticks * 10_000_000L;
            } catch (IOException | RuntimeException e) {
                return -1;
            }
        }
    }

    /**
     * The kernel's count of TCP segments sent ({@code OutSegs} in /proc/net/snmp), -1 where unavailable. It is
     * machine-wide: other processes using TCP at the same time inflate it.
     */
    static long tcpOutSegments() {
        try {
            List<String> lines = java.nio.file.Files.readAllLines(java.nio.file.Path.of("/proc/net/snmp"));
            for (int i = 0; i + 1 < lines.size(); i++) {
                if (lines.get(i).startsWith("Tcp:") && lines.get(i + 1).startsWith("Tcp:")) {
                    List<String> keys = Arrays.asList(lines.get(i).split("\\s+"));
                    return Long.parseLong(lines.get(i + 1).split("\\s+")[keys.indexOf("OutSegs")]);
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or no procfs
        }
        return -1;
    }

    // ------------------------------------------------------------------ statistics

    static double median(List<Double> xs) {
        double[] a = xs.stream().mapToDouble(Double::doubleValue).sorted().toArray();
        if (a.length == 0) {
            return Double.NaN;
        }
        int m = a.length / 2;
        return a.length % 2 == 1 ? a[m] : (a[m - 1] + a[m]) / 2;
    }

    /** Nearest-rank percentile of a sorted array, {@code p} in [0, 100]. */
    static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
    }

    /** Median of the per-pair ratios {@code b[i] / a[i]} (pairs taken in run order). */
    static double pairedRatio(List<Double> a, List<Double> b) {
        List<Double> r = new ArrayList<>();
        for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
            r.add(b.get(i) / a.get(i));
        }
        return median(r);
    }

    static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    static String list(List<Double> xs, int decimals) {
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < xs.size(); i++) {
            sb.append(i == 0 ? "" : ", ").append(fmt(xs.get(i), decimals));
        }
        return sb.append(']').toString();
    }

    static void log(String line) {
        System.out.println(line);
        System.out.flush();
    }

    /** The machine-readable line: {@code bench: case=NAME k=v ...}. */
    static void summary(String caseName, String... kvs) {
        StringBuilder sb = new StringBuilder("bench: case=").append(caseName);
        for (int i = 0; i + 1 < kvs.length; i += 2) {
            sb.append(' ').append(kvs[i]).append('=').append(kvs[i + 1]);
        }
        log(sb.toString());
    }

    static String verdict(boolean met) {
        return met ? "met" : "missed";
    }

    static void joinAll(List<Thread> threads) throws InterruptedException {
        for (Thread t : threads) {
            t.join();
        }
    }

    static void rethrow(List<Throwable> errors) throws Exception {
        if (!errors.isEmpty()) {
            Throwable t = errors.get(0);
            if (t instanceof Exception) {
                throw (Exception) t;
            }
            throw new RuntimeException(t);
        }
    }
}
