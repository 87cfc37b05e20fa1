package io.invmux.bench;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.StreamOptions;
import io.invmux.TrafficClass;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Request/response latency under bulk load, for the network-namespace lab (bench/lab/latency.sh): 1 KiB requests,
 * each echoed by the peer, on one stream (InvMux, of a chosen {@link TrafficClass}) or one TCP connection (run under
 * {@code mptcpize} for kernel MPTCP), while a second stream or connection carries bulk data as fast as it is taken.
 *
 * <pre>
 *   server     --listen tcp://0.0.0.0:7710          InvMux: streams "echo" are echoed, streams "bulk" drained
 *   tcp-server --port 7711                          the same over plain sockets (a first byte says which)
 *   client     --links uri1,uri2,... --class interactive|redundant|bulk [--trace FILE]   [phases]
 *   tcp-client --connect host:port                                        [phases]
 *
 *   phases: --rate 50 (requests/s)  --unloaded-s 30  --loaded-s 30 (after a 2 s ramp)  --fault-s 0
 *           --start-file PATH (the epoch ms the bulk starts, for the driver script to time its faults)
 *           --events PATH (read at the end: lines "rate_cut EPOCH_MS", "loss EPOCH_MS" the driver wrote)
 * </pre>
 *
 * Requests go out open-loop, at fixed times {@code 1/rate} apart, from one thread, and a second thread reads the
 * answers (in order: one stream, one connection); a request's time is from when it was due to go out to its answer,
 * so a stalled writer (flow control, a slow link) counts in full, for every request it held up (no coordinated
 * omission). Phases: 2 s of warm-up (not counted), {@code unloaded-s}, then the bulk starts; after a 2 s ramp (not
 * counted), {@code loaded-s} and {@code fault-s} more, in which the driver may degrade a link. Requests are
 * attributed to phases by when they were due.
 *
 * <p>Prints one line: {@code latency: ... unloaded_p50_ms= unloaded_p99_ms= unloaded_max_ms= loaded_... ratio=
 * (loaded p99 / unloaded p99) bulk_mbps= (bulk bytes written during the loaded phase)} and, with events, per event
 * ({@code rate_cut}, {@code loss}): the p99 and max from it to the next event (or the end), that p99 / the loaded
 * p99, and {@code recovery_ms}: from the event to the first 300 ms (three 100 ms bins, none empty) in which no
 * request took longer than the loaded p99; {@code control_recovery_ms} is the same measured from the middle of the
 * loaded phase, where nothing happened (how much of a recovery time is chance). {@code <phase>_stall_ms}: the longest
 * time this JVM's threads were kept from running in that phase (a sleeping thread's wake-up that came late).
 */
public final class LatencyBench {
    static final byte[] ECHO = "echo".getBytes(StandardCharsets.US_ASCII);
    static final byte[] BULK = "bulk".getBytes(StandardCharsets.US_ASCII);
    private static final int REQUEST_SIZE = 1024;
    private static final int BULK_IO = 64 * 1024;
    private static final long WARMUP_NANOS = 2_000_000_000L;
    private static final long RAMP_NANOS = 2_000_000_000L;
    private static final long BIN_NANOS = 100_000_000L;
    private static final int GOOD_BINS = 3;

    private LatencyBench() {
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0) {
            System.err.println("usage: LatencyBench server|tcp-server|client|tcp-client [options] (see the javadoc)");
            System.exit(2);
        }
        BenchSupport.Args args = new BenchSupport.Args(Arrays.copyOfRange(argv, 1, argv.length));
        switch (argv[0]) {
            case "server" -> invmuxServer(args);
            case "tcp-server" -> tcpServer(args);
            case "client" -> invmuxClient(args);
            case "tcp-client" -> tcpClient(args);
            default -> {
                System.err.println("unknown mode " + argv[0]);
                System.exit(2);
            }
        }
        System.out.flush();
        System.exit(0); // Netty's event loops are not daemon threads
    }

    // ------------------------------------------------------------------ servers

    private static void invmuxServer(BenchSupport.Args args) throws Exception {
        Config config = BondingBench.config(args);
        SessionListener listener = InvMux.listen(config, URI.create(args.value("listen", "tcp://0.0.0.0:7710")));
        Session session = listener.accept(Duration.ofSeconds(args.intValue("timeout-s", 120)));
        while (!session.isClosed()) {
            Stream s;
            try {
                s = session.acceptStream(Duration.ofSeconds(1));
            } catch (SocketTimeoutException e) {
                continue;
            } catch (IOException e) {
                break;
            }
            boolean echo = Arrays.equals(s.metadata(), ECHO);
            daemon(echo ? "echo" : "sink", () -> serve(echo, s.inputStream(), s.outputStream()));
        }
        listener.close();
    }

    private static void tcpServer(BenchSupport.Args args) throws Exception {
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(args.intValue("port", 7711)));
            server.setSoTimeout(args.intValue("timeout-s", 120) * 1000);
            // One request connection and one bulk connection per client run.
            List<Thread> conns = new ArrayList<>();
            while (conns.size() < 2) {
                Socket c = server.accept();
                c.setTcpNoDelay(true);
                conns.add(daemon("conn", () -> {
                    try (c) {
                        int kind = c.getInputStream().read();
                        serve(kind == 'E', c.getInputStream(), c.getOutputStream());
                    } catch (IOException e) {
                        System.err.println("tcp-server: " + e);
                    }
                }));
            }
            for (Thread t : conns) {
                t.join();
            }
        } catch (SocketTimeoutException e) {
            System.err.println("tcp-server: no client");
        }
    }

    /** Echoes 1 KiB requests, or drains a bulk stream, until the peer half-closes. */
    private static void serve(boolean echo, InputStream in, OutputStream out) {
        byte[] buf = new byte[echo ? REQUEST_SIZE : BULK_IO];
        try {
            while (true) {
                int n = echo ? in.readNBytes(buf, 0, REQUEST_SIZE) : in.read(buf);
                if (n <= 0 || (echo && n < REQUEST_SIZE)) {
                    break;
                }
                if (echo) {
                    out.write(buf);
                    out.flush();
                }
            }
            out.close();
        } catch (IOException e) {
            // the client went away: the run is over
        }
    }

    // ------------------------------------------------------------------ clients

    private static void invmuxClient(BenchSupport.Args args) throws Exception {
        List<URI> links = new ArrayList<>();
        for (String l : args.value("links", "").split(",")) {
            if (!l.isBlank()) {
                links.add(URI.create(l.trim()));
            }
        }
        TrafficClass cls = TrafficClass.valueOf(args.value("class", "interactive").toUpperCase(java.util.Locale.ROOT));
        Session session = InvMux.connect(BondingBench.config(args), links.toArray(new URI[0]));
        BondingBench.completeLinks(session, links);
        String traceFile = args.value("trace", null);
        if (traceFile != null) {
            // each link's queue, rate and RTT as the scheduler sees them, every 100 ms (BondingBench's format)
            daemon("tracer", () -> BondingBench.trace(session, traceFile));
        }
        Stream requests = session.openStream(ECHO, StreamOptions.of(cls));
        Run run = new Run(args, "class=" + cls.name().toLowerCase(java.util.Locale.ROOT) + " links="
                + session.numConnections());
        run.execute(requests.inputStream(), requests.outputStream(), () -> {
            Stream bulk = session.openStream(BULK);
            return bulk.outputStream();
        });
        session.close();
    }

    private static void tcpClient(BenchSupport.Args args) throws Exception {
        String[] hp = args.value("connect", "10.77.1.2:7711").split(":");
        InetSocketAddress to = new InetSocketAddress(hp[0], Integer.parseInt(hp[1]));
        Socket requests = connect(to, 'E');
        Run run = new Run(args, "class=tcp");
        run.execute(requests.getInputStream(), requests.getOutputStream(), () -> connect(to, 'B').getOutputStream());
        requests.close();
    }

    private static Socket connect(InetSocketAddress to, char kind) throws IOException {
        Socket s = new Socket();
        s.setTcpNoDelay(true);
        s.connect(to, 10_000);
        s.getOutputStream().write(kind);
        return s;
    }

    interface BulkOpener {
        OutputStream open() throws IOException;
    }

    /** One client run: the request stream's timeline over the phases, and its analysis. */
    static final class Run {
        private final int rate;
        private final long unloadedNanos;
        private final long loadedNanos;
        private final long faultNanos;
        private final String startFile;
        private final String eventsFile;
        private final String label;
        private final AtomicLong bulkBytes = new AtomicLong();
        private final StallMeter stalls = new StallMeter();

        Run(BenchSupport.Args args, String label) {
            this.rate = args.intValue("rate", 50);
            this.unloadedNanos = TimeUnit.SECONDS.toNanos(args.intValue("unloaded-s", 30));
            this.loadedNanos = TimeUnit.SECONDS.toNanos(args.intValue("loaded-s", 30));
            this.faultNanos = TimeUnit.SECONDS.toNanos(args.intValue("fault-s", 0));
            this.startFile = args.value("start-file", null);
            this.eventsFile = args.value("events", null);
            this.label = label;
        }

        void execute(InputStream in, OutputStream out, BulkOpener bulkOpener) throws Exception {
            long period = 1_000_000_000L / rate;
            long t0 = System.nanoTime();
            long anchorMillis = System.currentTimeMillis();
            long bulkAt = t0 + WARMUP_NANOS + unloadedNanos;
            long end = bulkAt + RAMP_NANOS + loadedNanos + faultNanos;
            int total = (int) ((end - t0) / period);
            long[] due = new long[total];
            long[] rtt = new long[total];
            Arrays.fill(rtt, -1);
            for (int i = 0; i < total; i++) {
                due[i] = t0 + i * period;
            }
            Thread reader = daemon("answers", () -> readAnswers(in, due, rtt));
            daemon("stalls", stalls::run);
            Thread bulk = null;
            byte[] req = new byte[REQUEST_SIZE];
            for (int i = 0; i < total; i++) {
                if (bulk == null && due[i] >= bulkAt) {
                    OutputStream bulkOut = bulkOpener.open();
                    long stopAt = end;
                    bulk = daemon("bulk", () -> writeBulk(bulkOut, stopAt, bulkAt + RAMP_NANOS,
                            bulkAt + RAMP_NANOS + loadedNanos));
                    if (startFile != null) {
                        Files.writeString(Path.of(startFile), Long.toString(
                                anchorMillis + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
                    }
                }
                sleepUntil(due[i]);
                ByteBuffer.wrap(req).putInt(0, i);
                out.write(req);
                out.flush();
            }
            reader.join(TimeUnit.SECONDS.toMillis(10));
            if (bulk != null) {
                bulk.join(TimeUnit.SECONDS.toMillis(10));
            }
            out.close();
            report(due, rtt, t0, anchorMillis, bulkAt);
        }

        private static void readAnswers(InputStream in, long[] due, long[] rtt) {
            byte[] buf = new byte[REQUEST_SIZE];
            try {
                for (int i = 0; i < due.length; i++) {
                    if (in.readNBytes(buf, 0, REQUEST_SIZE) < REQUEST_SIZE) {
                        System.err.println("client: answers ended after " + i);
                        return;
                    }
                    long now = System.nanoTime();
                    int seq = ByteBuffer.wrap(buf).getInt(0);
                    if (seq != i) {
                        System.err.println("client: answer " + seq + " where " + i + " was expected");
                        return;
                    }
                    rtt[i] = now - due[i];
                }
            } catch (IOException e) {
                System.err.println("client: reading answers: " + e);
            }
        }

        /** Writes bulk bytes until {@code stopAt}, counting those written in [{@code countFrom}, {@code countTo}). */
        private void writeBulk(OutputStream out, long stopAt, long countFrom, long countTo) {
            byte[] buf = new byte[BULK_IO];
            new java.util.Random(1).nextBytes(buf);
            try {
                long now;
                while ((now = System.nanoTime()) < stopAt) {
                    out.write(buf);
                    if (now >= countFrom && now < countTo) {
                        bulkBytes.addAndGet(buf.length);
                    }
                }
                out.close();
            } catch (IOException e) {
                System.err.println("client: bulk: " + e);
            }
        }

        private void report(long[] due, long[] rtt, long t0, long anchorMillis, long bulkAt) throws IOException {
            long loadedFrom = bulkAt + RAMP_NANOS;
            long loadedTo = loadedFrom + loadedNanos;
            long end = loadedTo + faultNanos;
            int lost = 0;
            for (long r : rtt) {
                lost += r < 0 ? 1 : 0;
            }
            StringBuilder line = new StringBuilder("latency: " + label + " rate=" + rate + " unanswered=" + lost);
            Window unloaded = new Window(due, rtt, t0 + WARMUP_NANOS, bulkAt);
            Window loaded = new Window(due, rtt, loadedFrom, loadedTo);
            unloaded.append(line, "unloaded", stalls, t0 + WARMUP_NANOS, bulkAt);
            loaded.append(line, "loaded", stalls, loadedFrom, loadedTo);
            line.append(" ratio=").append(BenchSupport.fmt(loaded.p(99) / unloaded.p(99), 2))
                    .append(" bulk_mbps=").append(BenchSupport.fmt(bulkBytes.get() * 8e3 / loadedNanos, 1));
            double threshold = loaded.p(99);
            line.append(" control_recovery_ms=").append(recoveryMs(due, rtt, (loadedFrom + loadedTo) / 2, loadedTo,
                    threshold));
            List<long[]> events = readEvents(t0, anchorMillis);
            List<String> names = eventNames();
            for (int e = 0; e < events.size(); e++) {
                long at = events.get(e)[1];
                long until = e + 1 < events.size() ? events.get(e + 1)[1] : end;
                String name = names.get((int) events.get(e)[0]);
                Window w = new Window(due, rtt, at, until);
                w.append(line, name, stalls, at, until);
                line.append(' ').append(name).append("_vs_loaded=").append(BenchSupport.fmt(w.p(99) / threshold, 2))
                        .append(' ').append(name).append("_recovery_ms=")
                        .append(recoveryMs(due, rtt, at, until, threshold)).append(' ').append(name)
                        .append("_bins_max_ms=").append(binMaxes(due, rtt, at, Math.min(until, at + 30 * BIN_NANOS)));
            }
            System.out.println(line);
        }

        private static List<String> eventNames() {
            return List.of("rate_cut", "loss");
        }

        /** The driver's events, as {kind index, nanoTime}, in time order. */
        private List<long[]> readEvents(long t0, long anchorMillis) throws IOException {
            List<long[]> events = new ArrayList<>();
            if (eventsFile == null || !Files.exists(Path.of(eventsFile))) {
                return events;
            }
            for (String l : Files.readAllLines(Path.of(eventsFile))) {
                String[] f = l.trim().split("\\s+");
                if (f.length == 2 && eventNames().contains(f[0])) {
                    long nanos = t0 + TimeUnit.MILLISECONDS.toNanos(Long.parseLong(f[1]) - anchorMillis);
                    events.add(new long[] {eventNames().indexOf(f[0]), nanos});
                }
            }
            events.sort((a, b) -> Long.compare(a[1], b[1]));
            return events;
        }
    }

    /**
     * Wakes every millisecond and keeps each wake-up that came over 5 ms late: on a machine shared with other jobs
     * the client's own threads may wait for a CPU, which then shows in every figure; this says when and how long.
     */
    static final class StallMeter {
        private final List<long[]> stalls = java.util.Collections.synchronizedList(new ArrayList<>());

        void run() {
            while (true) {
                long before = System.nanoTime();
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    return;
                }
                long late = System.nanoTime() - before - 1_000_000L;
                if (late > 5_000_000L) {
                    stalls.add(new long[] {before, late});
                }
            }
        }

        /** The longest stall that began in [from, to), in ms. */
        long maxMs(long from, long to) {
            long max = 0;
            synchronized (stalls) {
                for (long[] st : stalls) {
                    if (st[0] >= from && st[0] < to) {
                        max = Math.max(max, st[1]);
                    }
                }
            }
            return max / 1_000_000;
        }
    }

    /** The requests due in [from, to): their times, sorted; unanswered ones count as infinitely slow. */
    static final class Window {
        final long[] sorted;

        Window(long[] due, long[] rtt, long from, long to) {
            List<Long> xs = new ArrayList<>();
            for (int i = 0; i < due.length; i++) {
                if (due[i] >= from && due[i] < to) {
                    xs.add(rtt[i] < 0 ? Long.MAX_VALUE : rtt[i]);
                }
            }
            sorted = xs.stream().mapToLong(Long::longValue).sorted().toArray();
        }

        double p(double percentile) {
            return BenchSupport.percentile(sorted, percentile) / 1e6;
        }

        void append(StringBuilder line, String name) {
            append(line, name, null, 0, 0);
        }

        /** With {@code stalls}: also the longest stall of this JVM seen in [from, to) (CPU starvation shows here). */
        void append(StringBuilder line, String name, StallMeter stalls, long from, long to) {
            line.append(' ').append(name).append("_n=").append(sorted.length);
            if (stalls != null) {
                line.append(' ').append(name).append("_stall_ms=").append(stalls.maxMs(from, to));
            }
            for (String[] p : new String[][] {{"p50", "50"}, {"p99", "99"}, {"max", "100"}}) {
                line.append(' ').append(name).append('_').append(p[0]).append("_ms=")
                        .append(BenchSupport.fmt(p(Double.parseDouble(p[1])), 1));
            }
        }
    }

    /**
     * Milliseconds from {@code from} to the first {@link #GOOD_BINS} consecutive 100 ms bins before {@code to} that
     * each hold a request and in which no request took longer than {@code thresholdMs} (an unanswered one always
     * does); "never" if there are none.
     */
    static String recoveryMs(long[] due, long[] rtt, long from, long to, double thresholdMs) {
        int bins = (int) ((to - from) / BIN_NANOS);
        boolean[] good = binStates(due, rtt, from, bins, thresholdMs);
        for (int b = 0; b + GOOD_BINS <= bins; b++) {
            boolean ok = true;
            for (int k = b; k < b + GOOD_BINS && ok; k++) {
                ok = good[k];
            }
            if (ok) {
                return Long.toString(b * BIN_NANOS / 1_000_000);
            }
        }
        return "never";
    }

    private static boolean[] binStates(long[] due, long[] rtt, long from, int bins, double thresholdMs) {
        boolean[] seen = new boolean[bins];
        boolean[] bad = new boolean[bins];
        for (int i = 0; i < due.length; i++) {
            long off = due[i] - from;
            if (off < 0 || off >= (long) bins * BIN_NANOS) {
                continue;
            }
            int b = (int) (off / BIN_NANOS);
            seen[b] = true;
            bad[b] |= rtt[i] < 0 || rtt[i] / 1e6 > thresholdMs;
        }
        boolean[] good = new boolean[bins];
        for (int b = 0; b < bins; b++) {
            good[b] = seen[b] && !bad[b];
        }
        return good;
    }

    /** The slowest request of each 100 ms bin in [from, to), comma-separated, in ms ("-" for an empty bin). */
    private static String binMaxes(long[] due, long[] rtt, long from, long to) {
        int bins = (int) ((to - from) / BIN_NANOS);
        long[] max = new long[bins];
        Arrays.fill(max, Long.MIN_VALUE);
        for (int i = 0; i < due.length; i++) {
            long off = due[i] - from;
            if (off >= 0 && off < (long) bins * BIN_NANOS) {
                int b = (int) (off / BIN_NANOS);
                max[b] = Math.max(max[b], rtt[i] < 0 ? Long.MAX_VALUE : rtt[i]);
            }
        }
        StringBuilder sb = new StringBuilder();
        for (int b = 0; b < bins; b++) {
            sb.append(b == 0 ? "" : ",").append(max[b] == Long.MIN_VALUE ? "-"
                    : max[b] == Long.MAX_VALUE ? "inf" : Long.toString(max[b] / 1_000_000));
        }
        return sb.toString();
    }

    private static Thread daemon(String name, Runnable r) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        t.start();
        return t;
    }

    private static void sleepUntil(long deadline) throws InterruptedException {
        long wait = deadline - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }
}
