package io.invmux.bench;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.SessionStats;
import io.invmux.Stream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Bonding benchmark for the network-namespace lab (bench/lab): one InvMux session over several shaped links, one
 * process per namespace.
 *
 * <pre>
 *   receiver --listen tcp://0.0.0.0:7700 [--json] [--timeout-s 120]
 *   sender   --links uri1,uri2,... [--seconds 10] [--streams 1] [--probe] [--start-file PATH] [--trace FILE]
 *
 *   both: --window S --max-window S --session-window S --chunk S --link-buffer S   Config knobs (default
 *         Config.defaults(), i.e. the earliest-delivery balancer); the receiver's windows are what bound the
 *         sender, so set them on both sides
 *   both: --compression none|zstd|lz4|deflate[:LEVEL] [--adaptive on|off]   the middleware chain (both sides
 *         must match)
 *   both: --tls-dir DIR   credentials for tls:// links: DIR/tls.crt, tls.key, ca.crt (deploy/pki.sh leaf)
 *   sender: --data random|json   what the bulk streams carry: pseudo-random bytes (default) or the
 *         {@link EventCorpus} of JSON events and log lines (64 MiB, written round and round)
 * </pre>
 *
 * The sender opens {@code --streams} streams with metadata {@code bulk}, writes deterministic pseudo-random bytes
 * (xorshift64*, seeded by the stream's index) as fast as flow control lets it for {@code --seconds}, then half-closes.
 * The receiver reads each bulk stream to its end, hashing (SHA-256) and counting, then answers on the same stream
 * with the byte count and hash it saw, and half-closes; so the sender learns when its data was delivered and can
 * check it. With {@code --probe} the sender also opens a stream {@code echo} and does 1 KiB request/response every
 * 10 ms: for 1 s before the bulk transfer (idle baseline) and during it (until the last bulk stream is confirmed).
 *
 * <p>Goodput ({@code mbps}) on the receiver is bulk bytes / (last byte − first byte), over all bulk streams.
 * {@code max_gap_ms} is the longest time between two reads that returned bulk bytes (any stream), between the
 * first and the last byte; a 100 ms sampled delivery timeline is also kept (per-second figures in the text, the
 * 100 ms bins in the {@code --json} line).
 */
public final class BondingBench {
    private static final byte[] BULK = "bulk".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ECHO = "echo".getBytes(StandardCharsets.US_ASCII);
    private static final int IO_SIZE = 64 * 1024;
    private static final int ECHO_SIZE = 1024;
    private static final long SAMPLE_NANOS = 100_000_000L;

    private BondingBench() {
    }

    public static void main(String[] argv) throws Exception {
        if (argv.length == 0 || !(argv[0].equals("receiver") || argv[0].equals("sender"))) {
            System.err.println("usage: BondingBench receiver --listen URI [--json] | sender --links URI,URI,... "
                    + "[--seconds S] [--streams N] [--probe]");
            System.exit(2);
        }
        BenchSupport.Args args = new BenchSupport.Args(Arrays.copyOfRange(argv, 1, argv.length));
        Config config = withTls(args, config(args));
        if (argv[0].equals("receiver")) {
            receiver(args, config);
        } else {
            sender(args, config);
        }
        System.out.flush();
        System.exit(0); // Netty's event loops are not daemon threads
    }

    /**
     * With {@code --tls-dir DIR}: the credentials of {@code tls://} links, DIR/tls.crt, tls.key and ca.crt (the
     * layout of a cert-manager Secret, as {@code deploy/pki.sh leaf} writes it).
     */
    static Config withTls(BenchSupport.Args args, Config config) {
        String dir = args.value("tls-dir", null);
        if (dir == null) {
            return config;
        }
        java.nio.file.Path d = java.nio.file.Path.of(dir);
        return config.toBuilder().tls(io.invmux.TlsSettings.of(d.resolve("tls.crt"), d.resolve("tls.key"),
                d.resolve("ca.crt"))).build();
    }

    static Config config(BenchSupport.Args args) {
        Config d = Config.defaults();
        if (!args.has("window") && !args.has("max-window") && !args.has("session-window") && !args.has("chunk")
                && !args.has("link-buffer") && !args.has("compression")) {
            return d;
        }
        int window = (int) args.sizeValue("window", d.windowSize());
        Config c = Config.builder()
                .windowSize(window)
                .maxWindowSize((int) args.sizeValue("max-window", Math.max(window, d.maxWindowSize())))
                .sessionWindowSize((int) args.sizeValue("session-window", Math.max(window, d.sessionWindowSize())))
                .maxChunkSize((int) args.sizeValue("chunk", d.maxChunkSize()))
                .linkWriteBufferSize((int) args.sizeValue("link-buffer", d.linkWriteBufferSize()))
                .middleware(CompressionBench.middleware(args.value("compression", "none"),
                        !args.value("adaptive", "on").equals("off")))
                .build();
        err("config: middleware=" + c.middleware() + " windowSize=" + c.windowSize() + " maxWindowSize=" + c.maxWindowSize() + " sessionWindowSize="
                + c.sessionWindowSize() + " maxChunkSize=" + c.maxChunkSize() + " linkWriteBufferSize="
                + c.linkWriteBufferSize());
        return c;
    }

    // =====================================================================================================
    // receiver
    // =====================================================================================================

    /** Delivery bookkeeping over all bulk streams of the session. */
    private static final class Delivery {
        final AtomicLong total = new AtomicLong();
        final AtomicLong firstNanos = new AtomicLong();
        final AtomicLong lastNanos = new AtomicLong();
        final AtomicLong maxGapNanos = new AtomicLong();
        final AtomicLong maxGapAtNanos = new AtomicLong();
        /** Cumulative bytes at every 100 ms tick, from the first tick after the first byte. */
        final List<Long> timeline = Collections.synchronizedList(new ArrayList<>());

        void delivered(int n) {
            long now = System.nanoTime();
            total.addAndGet(n);
            firstNanos.compareAndSet(0, now);
            long prev = lastNanos.getAndSet(now);
            if (prev != 0 && now - prev > maxGapNanos.get()) {
                maxGapNanos.accumulateAndGet(now - prev, Math::max);
                maxGapAtNanos.set(prev);
            }
        }
    }

    private record BulkResult(int streamId, long bytes, long firstNanos, long lastNanos, long maxGapNanos,
            String sha256) {
    }

    private static void receiver(BenchSupport.Args args, Config config) throws Exception {
        URI listen = URI.create(args.value("listen", "tcp://0.0.0.0:7700"));
        boolean json = args.flag("json");
        long timeoutS = args.intValue("timeout-s", 300);
        SessionListener listener = InvMux.listen(config, listen);
        err("receiver: listening on " + listener.localAddresses());
        Session session;
        try {
            session = listener.accept(Duration.ofSeconds(timeoutS));
        } catch (SocketTimeoutException e) {
            err("receiver: no session within " + timeoutS + " s");
            listener.close();
            System.exit(1);
            return;
        }
        long t0 = System.nanoTime();
        err("receiver: session " + session.id() + " accepted");
        Delivery delivery = new Delivery();
        List<BulkResult> results = new CopyOnWriteArrayList<>();
        List<Thread> workers = new CopyOnWriteArrayList<>();
        AtomicLong echoed = new AtomicLong();
        Map<String, SessionStats.LinkStats> lastLinkStats = new ConcurrentHashMap<>();
        long[] statsHolder = new long[3]; // reorder high-water, duplicate chunks, chunks received

        // 100 ms sampler: delivery timeline, and the session's counters (links vanish from stats when lost).
        Thread sampler = new Thread(() -> {
            long next = System.nanoTime() + SAMPLE_NANOS;
            int tick = 0;
            while (!session.isClosed()) {
                if (!sleepUntil(next)) {
                    return;
                }
                next += SAMPLE_NANOS;
                if (delivery.firstNanos.get() != 0) {
                    delivery.timeline.add(delivery.total.get());
                }
                if (++tick % 5 == 0 && !session.isClosed()) {
                    try {
                        SessionStats s = session.stats();
                        for (SessionStats.LinkStats l : s.links()) {
                            lastLinkStats.put(l.id(), l);
                        }
                        synchronized (statsHolder) {
                            statsHolder[0] = s.reorderHighWaterMark();
                            statsHolder[1] = s.duplicateChunks();
                            statsHolder[2] = s.chunksReceived();
                        }
                    } catch (RuntimeException ignored) {
                        // session closing
                    }
                }
            }
        }, "sampler");
        sampler.setDaemon(true);
        sampler.start();

        Thread acceptor = new Thread(() -> {
            while (!session.isClosed()) {
                Stream s;
                try {
                    s = session.acceptStream(Duration.ofSeconds(1));
                } catch (SocketTimeoutException e) {
                    continue;
                } catch (IOException | InterruptedException e) {
                    return;
                }
                byte[] meta = s.metadata();
                Thread w;
                if (Arrays.equals(meta, BULK)) {
                    w = new Thread(() -> readBulk(s, delivery, results), "bulk-" + s.id());
                } else if (Arrays.equals(meta, ECHO)) {
                    w = new Thread(() -> echo(s, echoed), "echo-" + s.id());
                } else {
                    err("receiver: stream " + s.id() + " has unknown metadata '"
                            + new String(meta, StandardCharsets.UTF_8) + "', resetting it");
                    s.reset();
                    continue;
                }
                w.setDaemon(true);
                workers.add(w);
                w.start();
            }
        }, "acceptor");
        acceptor.setDaemon(true);
        acceptor.start();

        try {
            session.closeFuture().get(timeoutS, TimeUnit.SECONDS);
        } catch (java.util.concurrent.ExecutionException e) {
            err("receiver: session ended with " + e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            err("receiver: session still open after " + timeoutS + " s, closing it");
            session.close();
        }
        for (Thread w : workers) {
            w.join(5000);
        }
        listener.close();

        results.sort((a, b) -> Integer.compare(a.streamId, b.streamId));
        for (BulkResult r : results) {
            double secs = (r.lastNanos - r.firstNanos) / 1e9;
            System.out.println("bondrecv: stream=" + r.streamId + " bytes=" + r.bytes + " seconds=" + fmt(secs, 3)
                    + " mbps=" + fmt(mbps(r.bytes, secs), 2) + " max_gap_ms=" + fmt(r.maxGapNanos / 1e6, 0)
                    + " sha256=" + r.sha256);
        }
        long bytes = delivery.total.get();
        double secs = (delivery.lastNanos.get() - delivery.firstNanos.get()) / 1e9;
        List<Long> tl = new ArrayList<>(delivery.timeline);
        // the timeline as 100 ms bins (bytes delivered in each), from the first byte to the last
        List<Long> bins = new ArrayList<>();
        long prev = 0;
        for (long v : tl) {
            bins.add(v - prev);
            prev = v;
        }
        while (!bins.isEmpty() && bins.get(bins.size() - 1) == 0) {
            bins.remove(bins.size() - 1);
        }
        int longestEmpty = 0;
        int run = 0;
        for (long b : bins) {
            run = b == 0 ? run + 1 : 0;
            longestEmpty = Math.max(longestEmpty, run);
        }
        StringBuilder perSecond = new StringBuilder();
        for (int i = 0; i < bins.size(); i += 10) {
            long sum = 0;
            int n = 0;
            for (int j = i; j < Math.min(bins.size(), i + 10); j++) {
                sum += bins.get(j);
                n++;
            }
            if (perSecond.length() > 0) {
                perSecond.append(',');
            }
            perSecond.append(fmt(sum * 8 / (n * 0.1) / 1e6, 1));
        }
        String shas = String.join(",", results.stream().map(BulkResult::sha256).toList());
        double gapAt = delivery.maxGapAtNanos.get() == 0 ? 0 : (delivery.maxGapAtNanos.get() - delivery.firstNanos
                .get()) / 1e9;
        System.out.println("bondrecv: bytes=" + bytes + " seconds=" + fmt(secs, 3) + " mbps=" + fmt(mbps(bytes, secs),
                2) + " max_gap_ms=" + fmt(delivery.maxGapNanos.get() / 1e6, 0) + " sha256=" + shas);
        synchronized (statsHolder) {
            System.out.println("bondrecv: streams=" + results.size() + " echo_messages=" + echoed.get()
                    + " max_gap_at_s=" + fmt(gapAt, 2) + " longest_empty_100ms_bins=" + longestEmpty
                    + " reorder_high_water=" + statsHolder[0] + " duplicate_chunks=" + statsHolder[1]
                    + " chunks_received=" + statsHolder[2] + " session_s=" + fmt((System.nanoTime() - t0) / 1e9, 1));
        }
        System.out.println("bondrecv: per_second_mbps=" + perSecond);
        List<String> linkIds = new ArrayList<>(lastLinkStats.keySet());
        linkIds.sort(null);
        for (String id : linkIds) {
            SessionStats.LinkStats l = lastLinkStats.get(id);
            System.out.println("bondrecv: link=" + l.id() + " remote=" + l.remoteAddress() + " bytes_received="
                    + l.bytesReceived() + " chunks_received=" + l.chunksReceived() + " (last sample)");
        }
        if (json) {
            StringBuilder j = new StringBuilder();
            j.append("{\"bytes\":").append(bytes).append(",\"seconds\":").append(fmt(secs, 3))
                    .append(",\"mbps\":").append(fmt(mbps(bytes, secs), 2))
                    .append(",\"max_gap_ms\":").append(fmt(delivery.maxGapNanos.get() / 1e6, 0))
                    .append(",\"streams\":[");
            for (int i = 0; i < results.size(); i++) {
                BulkResult r = results.get(i);
                j.append(i == 0 ? "" : ",").append("{\"id\":").append(r.streamId).append(",\"bytes\":")
                        .append(r.bytes).append(",\"sha256\":\"").append(r.sha256).append("\"}");
            }
            j.append("],\"timeline_100ms_bytes\":[");
            for (int i = 0; i < bins.size(); i++) {
                j.append(i == 0 ? "" : ",").append(bins.get(i));
            }
            j.append("]}");
            System.out.println(j);
        }
    }

    private static void readBulk(Stream s, Delivery delivery, List<BulkResult> results) {
        MessageDigest sha = sha256();
        byte[] buf = new byte[IO_SIZE];
        long bytes = 0;
        long first = 0;
        long last = 0;
        long maxGap = 0;
        InputStream in = s.inputStream();
        try {
            int n;
            while ((n = in.read(buf)) >= 0) {
                if (n == 0) {
                    continue;
                }
                long now = System.nanoTime();
                if (first == 0) {
                    first = now;
                } else {
                    maxGap = Math.max(maxGap, now - last);
                }
                last = now;
                delivery.delivered(n);
                sha.update(buf, 0, n);
                bytes += n;
            }
            byte[] digest = sha.digest();
            results.add(new BulkResult(s.id(), bytes, first, last, maxGap, HexFormat.of().formatHex(digest)));
            // Confirmation to the sender: count and hash as seen here.
            ByteBuffer answer = ByteBuffer.allocate(8 + digest.length);
            answer.putLong(bytes).put(digest);
            OutputStream out = s.outputStream();
            out.write(answer.array());
            out.flush();
            s.closeWrite();
        } catch (IOException e) {
            err("receiver: bulk stream " + s.id() + " failed after " + bytes + " bytes: " + e);
            results.add(new BulkResult(s.id(), bytes, first, last, maxGap, "FAILED"));
        }
    }

    private static void echo(Stream s, AtomicLong echoed) {
        byte[] msg = new byte[ECHO_SIZE];
        try {
            InputStream in = s.inputStream();
            OutputStream out = s.outputStream();
            while (true) {
                int got = in.readNBytes(msg, 0, ECHO_SIZE);
                if (got < ECHO_SIZE) {
                    break;
                }
                out.write(msg);
                out.flush();
                echoed.incrementAndGet();
            }
            s.closeWrite();
        } catch (IOException e) {
            err("receiver: echo stream " + s.id() + " ended: " + e);
        }
    }

    // =====================================================================================================
    // sender
    // =====================================================================================================

    private static final class BulkWriter {
        final int index;
        Stream stream;
        long bytes;
        String sha256;
        long confirmedBytes = -1;
        String confirmedSha = "";
        long writeEndNanos;
        long doneNanos;
        String error;

        BulkWriter(int index) {
            this.index = index;
        }
    }

    private static void sender(BenchSupport.Args args, Config config) throws Exception {
        String linkArg = args.value("links", null);
        if (linkArg == null) {
            throw new IllegalArgumentException("--links uri1,uri2,... is required");
        }
        List<URI> links = new ArrayList<>();
        for (String l : linkArg.split(",")) {
            if (!l.isBlank()) {
                links.add(URI.create(l.trim()));
            }
        }
        int seconds = args.intValue("seconds", 10);
        int nStreams = args.intValue("streams", 1);
        if (args.value("data", "random").equals("json")) {
            corpus = EventCorpus.generate(64 << 20, 1);
        }
        boolean probe = args.flag("probe");
        Session session = InvMux.connect(config, links.toArray(new URI[0]));
        err("sender: session " + session.id() + " up with " + session.numConnections() + " of " + links.size()
                + " link(s)");
        int joinRetries = completeLinks(session, links);

        // Per-link counters, sampled every second: a lost link disappears from stats(), so keep the last sample.
        Map<String, SessionStats.LinkStats> lastLinkStats = new ConcurrentHashMap<>();
        Map<String, List<Long>> linkTimeline = new ConcurrentHashMap<>();
        Thread statsSampler = new Thread(() -> {
            long next = System.nanoTime();
            while (!session.isClosed()) {
                next += 1_000_000_000L;
                if (!sleepUntil(next)) {
                    return;
                }
                try {
                    SessionStats s = session.stats();
                    for (SessionStats.LinkStats l : s.links()) {
                        lastLinkStats.put(l.id(), l);
                        linkTimeline.computeIfAbsent(l.id(), k -> Collections.synchronizedList(new ArrayList<>()))
                                .add(l.bytesSent());
                    }
                } catch (RuntimeException ignored) {
                    // session closing
                }
            }
        }, "stats-sampler");
        statsSampler.setDaemon(true);
        statsSampler.start();

        // --trace FILE: every 100 ms, each link's queued (unacknowledged) bytes, estimated rate and RTT, as the
        // scheduler sees them; for finding what bounds the goodput (window, per-link cap, balancer).
        String traceFile = args.value("trace", null);
        if (traceFile != null) {
            Thread tracer = new Thread(() -> trace(session, traceFile), "tracer");
            tracer.setDaemon(true);
            tracer.start();
        }

        // ---- probe: idle phase first
        List<Double> idle = Collections.synchronizedList(new ArrayList<>());
        List<Double> loaded = Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicReference<List<Double>> phase =
                new java.util.concurrent.atomic.AtomicReference<>(idle);
        CountDownLatch idleDone = new CountDownLatch(1);
        StopFlag stopProbe = new StopFlag();
        Thread prober = null;
        if (probe) {
            Stream echo = session.openStream(ECHO);
            prober = new Thread(() -> runProbe(echo, phase, idle, idleDone, stopProbe), "probe");
            prober.setDaemon(true);
            prober.start();
            if (!idleDone.await(30, TimeUnit.SECONDS)) {
                err("sender: idle probe phase did not finish");
            }
        }

        // ---- bulk
        List<BulkWriter> writers = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < nStreams; i++) {
            BulkWriter w = new BulkWriter(i);
            w.stream = session.openStream(BULK);
            writers.add(w);
        }
        phase.set(loaded);
        long start = System.nanoTime();
        String startFile = args.value("start-file", null);
        if (startFile != null) {
            // lets a driver script time mid-run events (reshape, cut) from the start of the bulk transfer
            java.nio.file.Files.writeString(java.nio.file.Path.of(startFile), Long.toString(System.currentTimeMillis()));
        }
        long deadline = start + seconds * 1_000_000_000L;
        for (BulkWriter w : writers) {
            Thread t = new Thread(() -> writeBulk(w, deadline), "bulk-" + w.stream.id());
            t.start();
            threads.add(t);
        }
        for (Thread t : threads) {
            t.join();
        }
        long writeEnd = start;
        long lastDone = start;
        for (BulkWriter w : writers) {
            writeEnd = Math.max(writeEnd, w.writeEndNanos);
            lastDone = Math.max(lastDone, w.doneNanos);
        }
        stopProbe.set();
        if (prober != null) {
            prober.join(5000);
        }
        SessionStats finalStats = session.stats();
        for (SessionStats.LinkStats l : finalStats.links()) {
            lastLinkStats.put(l.id(), l);
        }
        session.close();

        long total = 0;
        boolean allOk = true;
        for (BulkWriter w : writers) {
            total += w.bytes;
            boolean ok = w.error == null && w.confirmedBytes == w.bytes && w.sha256.equals(w.confirmedSha);
            allOk &= ok;
            System.out.println("bondsend: stream=" + w.stream.id() + " index=" + w.index + " bytes=" + w.bytes
                    + " sha256=" + w.sha256 + " confirmed_bytes=" + w.confirmedBytes + " confirmed="
                    + (ok ? "match" : "MISMATCH") + (w.error == null ? "" : " error=" + w.error.replace(' ', '_')));
        }
        double writeSecs = (writeEnd - start) / 1e9;
        double deliveredSecs = (lastDone - start) / 1e9;
        StringBuilder line = new StringBuilder("bondsend: bytes=" + total + " seconds=" + fmt(writeSecs, 3)
                + " delivered_s=" + fmt(deliveredSecs, 3) + " mbps=" + fmt(mbps(total, deliveredSecs), 2)
                + " streams=" + nStreams);
        if (probe) {
            line.append(" p50_ms=").append(fmt(pct(loaded, 50), 2)).append(" p99_ms=").append(fmt(pct(loaded, 99), 2))
                    .append(" max_ms=").append(fmt(pct(loaded, 100), 2))
                    .append(" idle_p50_ms=").append(fmt(pct(idle, 50), 2)).append(" idle_p99_ms=")
                    .append(fmt(pct(idle, 99), 2)).append(" added_p99_ms=")
                    .append(fmt(pct(loaded, 99) - pct(idle, 50), 2)).append(" probes=").append(loaded.size())
                    .append(" idle_probes=").append(idle.size());
        }
        line.append(" verified=").append(allOk).append(" links=").append(links.size()).append(" join_retries=")
                .append(joinRetries);
        System.out.println(line);
        System.out.println("bondsend: chunks_sent=" + finalStats.chunksSent() + " chunks_resent="
                + finalStats.chunksResent() + " bytes_sent=" + finalStats.bytesSent());
        for (io.invmux.Middleware m : session.middleware()) {
            if (m instanceof io.invmux.compress.CompressionMiddleware c) {
                io.invmux.compress.CompressionStats cs = c.stats();
                System.out.println("bondsend: compression=" + cs.name() + " ratio=" + fmt(cs.ratio(), 3)
                        + " chunks_compressed=" + cs.chunksCompressed() + " chunks_raw=" + cs.chunksRaw()
                        + " compress_cpu_s=" + fmt(cs.compressNanos() / 1e9, 3) + " path_compressing="
                        + cs.pathCompressing() + " path_switches=" + cs.pathSwitches() + " stream_switches_to_raw="
                        + cs.streamSwitchesToRaw());
            }
        }
        List<String> ids = new ArrayList<>(lastLinkStats.keySet());
        ids.sort((a, b) -> Integer.compare(Integer.parseInt(a), Integer.parseInt(b)));
        long allLinkBytes = 0;
        for (String id : ids) {
            allLinkBytes += lastLinkStats.get(id).bytesSent();
        }
        for (String id : ids) {
            SessionStats.LinkStats l = lastLinkStats.get(id);
            boolean live = finalStats.links().stream().anyMatch(x -> x.id().equals(id));
            List<Long> tl = linkTimeline.getOrDefault(id, List.of());
            StringBuilder rates = new StringBuilder();
            long prev = 0;
            synchronized (tl) {
                for (long v : tl) {
                    rates.append(rates.length() == 0 ? "" : ",").append(fmt((v - prev) * 8 / 1e6, 1));
                    prev = v;
                }
            }
            System.out.println("bondsend: link=" + l.id() + " remote=" + l.remoteAddress() + " bytes_sent="
                    + l.bytesSent() + " share=" + fmt(allLinkBytes == 0 ? 0 : (double) l.bytesSent() / allLinkBytes, 3)
                    + " chunks_sent=" + l.chunksSent() + " avg_chunk=" + (l.chunksSent() == 0 ? 0
                    : l.bytesSent() / l.chunksSent()) + " reinjected=" + l.chunksReinjected() + " est_mbps="
                    + fmt(l.quality().bandwidth() * 8 / 1e6, 1) + " rtt_ms=" + fmt(l.quality().latency().toNanos() / 1e6,
                    1) + " state=" + (live ? l.state() : "GONE") + " per_second_mbps=" + rates);
        }
        if (!allOk) {
            System.exit(3);
        }
    }

    /**
     * Works around a join race of the initial dial (reported, not fixed here: core is out of bounds for this bench):
     * {@code InvMux.connect} completes the first link once its HELLO proof is <em>sent</em>, then dials the others at
     * once; on a fast path a joining link's HELLO can reach the listener before it has processed that proof and is
     * refused with UNKNOWN_SESSION, and connect returns with fewer links. Re-add every missing link (matched by
     * remote host:port), a few times. Returns the number of re-adds that were needed.
     */
    static int completeLinks(Session session, List<URI> links) throws InterruptedException {
        int retries = 0;
        for (int attempt = 0; attempt < 10; attempt++) {
            Map<String, Integer> have = new ConcurrentHashMap<>();
            for (io.invmux.Connection c : session.connections()) {
                have.merge(hostPort(c.remoteAddress()), 1, Integer::sum);
            }
            List<URI> missing = new ArrayList<>();
            for (URI u : links) {
                String key = u.getHost() + ":" + u.getPort();
                int n = have.getOrDefault(key, 0);
                if (n > 0) {
                    have.put(key, n - 1);
                } else {
                    missing.add(u);
                }
            }
            if (missing.isEmpty()) {
                return retries;
            }
            for (URI u : missing) {
                retries++;
                err("sender: link " + u + " missing after connect (attempt " + (attempt + 1) + "), adding it again");
                try {
                    session.addConnection(u).get(15, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                    err("sender: re-adding " + u + " failed: " + e.getCause());
                }
            }
            Thread.sleep(100);
        }
        err("sender: WARNING: only " + session.numConnections() + " of " + links.size() + " links joined");
        return retries;
    }

    /** "/10.77.1.2:7700" or "host/10.77.1.2:7700" to "10.77.1.2:7700". */
    private static String hostPort(String remote) {
        int slash = remote.lastIndexOf('/');
        return slash >= 0 ? remote.substring(slash + 1) : remote;
    }

    static void trace(Session session, String file) {
        long t0 = System.nanoTime();
        try (java.io.PrintWriter w = new java.io.PrintWriter(java.nio.file.Files.newBufferedWriter(
                java.nio.file.Path.of(file)))) {
            w.println("# t_s bytes_sent chunks_resent | per link: id queued_bytes est_mbps rtt_ms bytes_sent state");
            long next = t0;
            while (!session.isClosed()) {
                next += SAMPLE_NANOS;
                sleepUntilOrThrow(next);
                SessionStats s;
                try {
                    s = session.stats();
                } catch (RuntimeException e) {
                    break;
                }
                StringBuilder b = new StringBuilder();
                b.append(fmt((System.nanoTime() - t0) / 1e9, 1)).append(' ').append(s.bytesSent()).append(' ')
                        .append(s.chunksResent()).append(" |");
                for (SessionStats.LinkStats l : s.links()) {
                    b.append(' ').append(l.id()).append(' ').append(l.queuedBytes()).append(' ')
                            .append(fmt(l.quality().bandwidth() * 8 / 1e6, 1)).append(' ')
                            .append(fmt(l.quality().latency().toNanos() / 1e6, 1)).append(' ').append(l.bytesSent())
                            .append(' ').append(l.state()).append(" |");
                }
                w.println(b);
                w.flush(); // the JVM ends with System.exit: nothing buffered may be lost
            }
        } catch (IOException | InterruptedException e) {
            err("sender: trace stopped: " + e);
        }
    }

    /** A tiny volatile boolean (a field so lambdas can share it). */
    private static final class StopFlag {
        private volatile boolean set;

        void set() {
            set = true;
        }

        boolean isSet() {
            return set;
        }
    }

    private static void runProbe(Stream echo, java.util.concurrent.atomic.AtomicReference<List<Double>> phase,
            List<Double> idle, CountDownLatch idleDone, StopFlag stop) {
        byte[] msg = new byte[ECHO_SIZE];
        byte[] back = new byte[ECHO_SIZE];
        long t0 = System.nanoTime();
        long next = t0;
        boolean idleSignalled = false;
        try {
            InputStream in = echo.inputStream();
            OutputStream out = echo.outputStream();
            long seq = 0;
            while (!stop.isSet()) {
                long now = System.nanoTime();
                if (!idleSignalled && now - t0 >= 1_000_000_000L) {
                    idleSignalled = true;
                    idleDone.countDown();
                    // the bulk starts now; wait for the switch so no sample straddles it
                    while (phase.get() == idle && !stop.isSet()) {
                        Thread.onSpinWait();
                    }
                    next = System.nanoTime();
                }
                sleepUntilOrThrow(next);
                next += 10_000_000L;
                ByteBuffer.wrap(msg).putLong(seq++);
                List<Double> target = phase.get();
                long s = System.nanoTime();
                out.write(msg);
                out.flush();
                int got = in.readNBytes(back, 0, ECHO_SIZE);
                long e = System.nanoTime();
                if (got < ECHO_SIZE) {
                    err("sender: echo stream ended early");
                    break;
                }
                if (!Arrays.equals(msg, back)) {
                    err("sender: echo payload mismatch");
                }
                target.add((e - s) / 1e6);
                if (System.nanoTime() > next + 10_000_000L) {
                    next = System.nanoTime(); // do not burst to catch up after a slow answer
                }
            }
            echo.closeWrite();
        } catch (IOException | InterruptedException e) {
            err("sender: probe stopped: " + e);
        } finally {
            idleDone.countDown();
        }
    }

    /** The --data json corpus, shared by the writers (each starts at its own offset). */
    static volatile byte[] corpus;

    private static void writeBulk(BulkWriter w, long deadline) {
        if (corpus != null) {
            writeCorpus(w, deadline);
            return;
        }
        MessageDigest sha = sha256();
        byte[] buf = new byte[IO_SIZE];
        ByteBuffer view = ByteBuffer.wrap(buf).order(ByteOrder.LITTLE_ENDIAN);
        long x = 0x9E3779B97F4A7C15L * (w.index + 1) ^ 0xD1B54A32D192ED03L;
        if (x == 0) {
            x = 1;
        }
        OutputStream out = w.stream.outputStream();
        try {
            while (System.nanoTime() < deadline) {
                view.clear();
                for (int i = 0; i < IO_SIZE / 8; i++) {
                    x ^= x >>> 12;
                    x ^= x << 25;
                    x ^= x >>> 27;
                    view.putLong(x * 0x2545F4914F6CDD1DL);
                }
                sha.update(buf);
                out.write(buf);
                w.bytes += IO_SIZE;
            }
            finishBulk(w, sha);
        } catch (IOException e) {
            failBulk(w, sha, e);
        }
    }

    /** Writes slices of {@link #corpus} (wrapping around) until the deadline. */
    private static void writeCorpus(BulkWriter w, long deadline) {
        MessageDigest sha = sha256();
        byte[] c = corpus;
        int at = (int) ((w.index * 7_919L * IO_SIZE) % c.length);
        OutputStream out = w.stream.outputStream();
        try {
            while (System.nanoTime() < deadline) {
                int n = Math.min(IO_SIZE, c.length - at);
                sha.update(c, at, n);
                out.write(c, at, n);
                w.bytes += n;
                at = (at + n) % c.length;
            }
            finishBulk(w, sha);
        } catch (IOException e) {
            failBulk(w, sha, e);
        }
    }

    /** Half-closes after the writes and waits for the receiver's count and hash. */
    private static void finishBulk(BulkWriter w, MessageDigest sha) throws IOException {
        w.writeEndNanos = System.nanoTime();
        w.sha256 = HexFormat.of().formatHex(sha.digest());
        w.stream.closeWrite();
        byte[] answer = w.stream.inputStream().readNBytes(40);
        w.doneNanos = System.nanoTime();
        if (answer.length == 40) {
            ByteBuffer a = ByteBuffer.wrap(answer);
            w.confirmedBytes = a.getLong();
            byte[] d = new byte[32];
            a.get(d);
            w.confirmedSha = HexFormat.of().formatHex(d);
        } else {
            w.error = "short confirmation (" + answer.length + " bytes)";
        }
    }

    private static void failBulk(BulkWriter w, MessageDigest sha, IOException e) {
        w.doneNanos = System.nanoTime();
        if (w.writeEndNanos == 0) {
            w.writeEndNanos = w.doneNanos;
        }
        w.error = e.toString();
        if (w.sha256 == null) {
            w.sha256 = HexFormat.of().formatHex(sha.digest());
        }
    }

    // =====================================================================================================
    // helpers
    // =====================================================================================================

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static double mbps(long bytes, double secs) {
        return secs > 0 ? bytes * 8 / secs / 1e6 : 0;
    }

    private static double pct(List<Double> xs, double p) {
        List<Double> s;
        synchronized (xs) {
            s = new ArrayList<>(xs);
        }
        if (s.isEmpty()) {
            return Double.NaN;
        }
        Collections.sort(s);
        int idx = (int) Math.ceil(p / 100.0 * s.size()) - 1;
        return s.get(Math.max(0, Math.min(s.size() - 1, idx)));
    }

    private static String fmt(double v, int decimals) {
        return String.format(Locale.ROOT, "%." + decimals + "f", v);
    }

    private static void err(String msg) {
        System.err.println(msg);
    }

    /** Sleeps until {@code deadline} ({@link System#nanoTime()}); false if interrupted (the caller stops). */
    private static boolean sleepUntil(long deadline) {
        try {
            sleepUntilOrThrow(deadline);
            return true;
        } catch (InterruptedException e) {
            return false;
        }
    }

    private static void sleepUntilOrThrow(long deadline) throws InterruptedException {
        long wait = deadline - System.nanoTime();
        if (wait > 0) {
            TimeUnit.NANOSECONDS.sleep(wait);
        }
    }
}
