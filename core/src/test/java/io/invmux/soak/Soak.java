package io.invmux.soak;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.fault.FaultProxy;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.OpenFrame;
import io.invmux.internal.frame.PingFrame;
import io.invmux.internal.frame.ResetFrame;
import io.invmux.ErrorCode;
import io.invmux.testing.ScriptedPeer;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A soak of one session pair: stream churn (writers open a stream, send a seeded pseudo-random body of 1 KiB to
 * 256 KiB, and read the peer's close; the acceptor checks every body's length and sha256), link flaps (every few
 * seconds one of the three links, each through a {@link FaultProxy}, is reset or black-holed for a while) and the
 * attack mix against the same listener (stalled handshakes, garbage, overlapping-chunk and RST floods, PING floods
 * from a peer that never reads). Heap after a collection, direct memory (Netty's pool and the JVM's direct buffer
 * pool), open file descriptors and live threads are sampled at a fixed interval; the report gives their least-squares
 * slope per hour over the run after its first fifth (warm-up: pools and loops fill once), and the bytes lost or
 * corrupted, which must be zero.
 *
 * <p>Run long from the command line ({@code bench/run.sh soak}: 30 minutes, samples every 10 s); {@code SoakTest}
 * runs it briefly in CI with Netty's leak detection paranoid.
 */
public final class Soak {
    /** One sample of what the process holds. */
    public record Sample(double seconds, long heapBytes, long poolDirectBytes, long jvmDirectBytes, long fds,
            long threads, long streams) {
    }

    /** What a run measured. */
    public record Report(List<Sample> samples, long streams, long bytesSent, long bytesVerified, long corrupt,
            long failedStreams, long flaps, long attacks, long attackerSessions) {
        /** Least-squares slope of {@code value} per hour, over the samples after the first fifth of the run. */
        public double slopePerHour(java.util.function.ToDoubleFunction<Sample> value) {
            List<Sample> s = samples.subList(samples.size() / 5, samples.size());
            if (s.size() < 2) {
                return 0;
            }
            double mx = s.stream().mapToDouble(Sample::seconds).average().orElse(0);
            double my = s.stream().mapToDouble(value).average().orElse(0);
            double num = 0;
            double den = 0;
            for (Sample x : s) {
                num += (x.seconds() - mx) * (value.applyAsDouble(x) - my);
                den += (x.seconds() - mx) * (x.seconds() - mx);
            }
            return den == 0 ? 0 : num / den * 3600;
        }

        /** The largest {@code value} over the samples from {@code fromFraction} to {@code toFraction} of the run. */
        public double max(java.util.function.ToDoubleFunction<Sample> value, double fromFraction, double toFraction) {
            int from = (int) (samples.size() * fromFraction);
            int to = Math.max(from + 1, (int) (samples.size() * toFraction));
            return samples.subList(from, Math.min(to, samples.size())).stream().mapToDouble(value).max().orElse(0);
        }

        public String summary(Duration duration) {
            double mib = 1024.0 * 1024.0;
            return String.format(Locale.ROOT, "soak: seconds=%d streams=%d bytes_sent=%d bytes_verified=%d corrupt=%d "
                    + "failed_streams=%d flaps=%d attacks=%d attacker_sessions=%d heap_mib_per_h=%.2f "
                    + "pool_direct_mib_per_h=%.2f jvm_direct_mib_per_h=%.2f fds_per_h=%.2f threads_per_h=%.2f",
                    duration.toSeconds(), streams, bytesSent, bytesVerified, corrupt, failedStreams, flaps, attacks,
                    attackerSessions, slopePerHour(Sample::heapBytes) / mib, slopePerHour(Sample::poolDirectBytes) / mib,
                    slopePerHour(Sample::jvmDirectBytes) / mib, slopePerHour(Sample::fds),
                    slopePerHour(Sample::threads));
        }
    }

    private static final int WRITERS = 4;
    private static final int MAX_BODY = 256 * 1024;

    private final Duration duration;
    private final Duration sampleEvery;
    private final Duration flapEvery;
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final AtomicLong streams = new AtomicLong();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong bytesVerified = new AtomicLong();
    private final AtomicLong corrupt = new AtomicLong();
    private final AtomicLong failedStreams = new AtomicLong();
    private final AtomicLong flaps = new AtomicLong();
    private final AtomicLong attacks = new AtomicLong();
    private final AtomicLong attackerSessions = new AtomicLong();
    private final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();

    public Soak(Duration duration, Duration sampleEvery, Duration flapEvery) {
        this.duration = duration;
        this.sampleEvery = sampleEvery;
        this.flapEvery = flapEvery;
    }

    public static void main(String[] args) throws Exception {
        Duration duration = Duration.ofSeconds(args.length > 0 ? Long.parseLong(args[0]) : 1800);
        Duration sample = Duration.ofSeconds(args.length > 1 ? Long.parseLong(args[1]) : 10);
        Report r = new Soak(duration, sample, Duration.ofSeconds(5)).run(System.out);
        System.out.println(r.summary(duration));
        System.exit(r.corrupt() == 0 && r.bytesSent() == r.bytesVerified() ? 0 : 1);
    }

    /** Runs the soak for its duration, printing each sample to {@code log}. */
    public Report run(java.io.PrintStream log) throws Exception {
        Config config = Config.builder().keepAliveInterval(Duration.ofMillis(100))
                .keepAliveTimeout(Duration.ofMillis(800)).handshakeTimeout(Duration.ofSeconds(2))
                .resumeGracePeriod(Duration.ofSeconds(5)).build();
        // Writers, flaps and attacks; the acceptor and its verifiers apart, so that they outlive the writers, who
        // wait for the verification of the stream they are on.
        ExecutorService pool = Executors.newCachedThreadPool();
        ExecutorService verifiers = Executors.newCachedThreadPool();
        List<FaultProxy> proxies = new ArrayList<>();
        List<Sample> samples = new ArrayList<>();
        try (SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"))) {
            int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
            List<URI> uris = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                FaultProxy p = FaultProxy.start(new InetSocketAddress("127.0.0.1", port));
                proxies.add(p);
                uris.add(p.uri());
            }
            Session client = InvMux.dial(config, uris).get(30, TimeUnit.SECONDS);
            Session server = listener.accept(Duration.ofSeconds(30));
            verifiers.submit(() -> acceptHonest(server, verifiers));
            pool.submit(() -> reapAttackers(listener));
            for (int w = 0; w < WRITERS; w++) {
                int writer = w;
                pool.submit(() -> write(client, writer));
            }
            pool.submit(() -> flap(proxies));
            pool.submit(() -> attack(port));

            long start = System.nanoTime();
            long end = start + duration.toNanos();
            while (System.nanoTime() < end) {
                Sample s = sample((System.nanoTime() - start) / 1e9);
                samples.add(s);
                log.printf(Locale.ROOT, "soak: t=%.0fs heap=%d pool_direct=%d jvm_direct=%d fds=%d threads=%d "
                        + "streams=%d%n", s.seconds(), s.heapBytes(), s.poolDirectBytes(), s.jvmDirectBytes(),
                        s.fds(), s.threads(), s.streams());
                Thread.sleep(Math.min(sampleEvery.toMillis(), Math.max(1, (end - System.nanoTime()) / 1_000_000)));
            }
            running.set(false);
            pool.shutdown();
            // Writers finish the stream they are on; the acceptor then has every body.
            if (!pool.awaitTermination(60, TimeUnit.SECONDS)) {
                failures.add("workers did not stop within 60 s");
                pool.shutdownNow();
            }
            verifiers.shutdown();
            if (!verifiers.awaitTermination(60, TimeUnit.SECONDS)) {
                failures.add("verifiers did not stop within 60 s");
            }
            proxies.forEach(FaultProxy::heal);
            client.close();
        } finally {
            pool.shutdownNow();
            verifiers.shutdownNow();
            proxies.forEach(FaultProxy::close);
        }
        if (!failures.isEmpty()) {
            log.println("soak: failures: " + failures);
        }
        return new Report(samples, streams.get(), bytesSent.get(), bytesVerified.get(), corrupt.get(),
                failedStreams.get(), flaps.get(), attacks.get(), attackerSessions.get());
    }

    /** Problems the run met beyond counted ones (a worker that would not stop). */
    public List<String> failures() {
        return List.copyOf(failures);
    }

    private Sample sample(double seconds) {
        System.gc();
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long jvmDirect = 0;
        for (BufferPoolMXBean b : ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class)) {
            if (b.getName().equals("direct")) {
                jvmDirect = b.getMemoryUsed();
            }
        }
        String[] fds = new File("/proc/self/fd").list();
        return new Sample(seconds, heap, PooledByteBufAllocator.DEFAULT.metric().usedDirectMemory(), jvmDirect,
                fds == null ? -1 : fds.length, ManagementFactory.getThreadMXBean().getThreadCount(), streams.get());
    }

    // ---------------------------------------------------------------- honest streams

    /** Metadata of a body: its seed and length, so the acceptor can check it without being told the bytes. */
    private static byte[] header(long seed, int length) {
        return (seed + ":" + length).getBytes(StandardCharsets.US_ASCII);
    }

    private static void fill(SplittableRandom random, byte[] buf, int n) {
        for (int i = 0; i < n; i++) {
            buf[i] = (byte) random.nextInt();
        }
    }

    private void write(Session client, int writer) {
        SplittableRandom sizes = new SplittableRandom(writer);
        byte[] buf = new byte[16 * 1024];
        long n = 0;
        while (running.get()) {
            long seed = ((long) writer << 40) | n++;
            int length = 1024 + sizes.nextInt(MAX_BODY - 1024);
            try (Stream s = client.openStream(header(seed, length))) {
                OutputStream out = s.outputStream();
                SplittableRandom body = new SplittableRandom(seed);
                for (int left = length; left > 0; ) {
                    int k = Math.min(left, buf.length);
                    fill(body, buf, k);
                    out.write(buf, 0, k);
                    left -= k;
                }
                s.closeWrite();
                bytesSent.addAndGet(length);
                // The acceptor closes once it has checked the body: reading to the end waits for that.
                InputStream in = s.inputStream();
                while (in.read(buf) >= 0) {
                    // nothing is sent back
                }
                streams.incrementAndGet();
            } catch (IOException e) {
                failedStreams.incrementAndGet();
                failures.add("writer " + writer + ": " + e);
                return;
            }
        }
    }

    private void acceptHonest(Session server, ExecutorService pool) {
        while (running.get() || server.numStreams() > 0) {
            try {
                Stream s = server.acceptStream(Duration.ofMillis(200));
                pool.submit(() -> verify(s));
            } catch (java.net.SocketTimeoutException idle) {
                // nothing opened in this while: look at running again
            } catch (IOException e) {
                failures.add("acceptor: " + e);
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (java.util.concurrent.RejectedExecutionException e) {
                return;
            }
        }
    }

    private void verify(Stream s) {
        try (s) {
            String[] h = new String(s.metadata(), StandardCharsets.US_ASCII).split(":");
            long seed = Long.parseLong(h[0]);
            int length = Integer.parseInt(h[1]);
            MessageDigest want = MessageDigest.getInstance("SHA-256");
            MessageDigest got = MessageDigest.getInstance("SHA-256");
            SplittableRandom body = new SplittableRandom(seed);
            byte[] expected = new byte[16 * 1024];
            byte[] buf = new byte[16 * 1024];
            InputStream in = s.inputStream();
            long total = 0;
            for (int r; (r = in.read(buf)) >= 0; ) {
                got.update(buf, 0, r);
                total += r;
            }
            for (int left = length; left > 0; ) {
                int k = Math.min(left, expected.length);
                fill(body, expected, k);
                want.update(expected, 0, k);
                left -= k;
            }
            if (total != length || !MessageDigest.isEqual(want.digest(), got.digest())) {
                corrupt.incrementAndGet();
                failures.add("stream " + s.id() + ": " + total + " of " + length + " bytes, sha256 "
                        + (total == length ? "differs" : "not compared"));
            } else {
                bytesVerified.addAndGet(total);
            }
        } catch (Exception e) {
            failedStreams.incrementAndGet();
            failures.add("verifier: " + e);
        }
    }

    // ---------------------------------------------------------------- link flaps

    private void flap(List<FaultProxy> proxies) {
        int i = 0;
        while (running.get()) {
            sleep(flapEvery);
            if (!running.get()) {
                return;
            }
            FaultProxy p = proxies.get(i % proxies.size());
            if (i % 3 == 2) {
                p.blackhole(); // silent: found by the keep-alive timeout, its chunks re-sent elsewhere
                sleep(Duration.ofMillis(1500));
                p.heal();
            } else {
                p.reset();
            }
            flaps.incrementAndGet();
            i++;
        }
    }

    // ---------------------------------------------------------------- attacks

    /** Sessions attackers started: accepted and then left to end as their links go. */
    private void reapAttackers(SessionListener listener) {
        List<Session> held = new ArrayList<>();
        while (running.get()) {
            held.removeIf(Session::isClosed);
            try {
                Session s = listener.accept(Duration.ofMillis(200));
                attackerSessions.incrementAndGet();
                held.add(s);
            } catch (java.net.SocketTimeoutException idle) {
                // none started in this while
            } catch (IOException e) {
                return;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        held.forEach(Session::close);
    }

    private void attack(int port) {
        List<Socket> stalled = new ArrayList<>();
        long n = 0;
        try {
            while (running.get()) {
                try {
                    switch ((int) (n % 5)) {
                        case 0 -> stalled.add(stalledHandshake(port));
                        case 1 -> garbage(port, n);
                        case 2 -> overlappingChunks(port, n);
                        case 3 -> resetFlood(port, n);
                        default -> pingFlood(port, n);
                    }
                } catch (IOException expected) {
                    // the listener closed the attacker: that is the point
                }
                attacks.incrementAndGet();
                n++;
                if (stalled.size() > 8) {
                    closeQuietly(stalled.remove(0));
                }
                sleep(Duration.ofMillis(200));
            }
        } finally {
            stalled.forEach(Soak::closeQuietly);
        }
    }

    private static Socket stalledHandshake(int port) throws IOException {
        Socket s = new Socket("127.0.0.1", port);
        s.getOutputStream().write(new byte[] {'I', 'N', 'V'}); // a preface begun, never finished
        return s;
    }

    private static void garbage(int port, long seed) throws IOException {
        try (Socket s = new Socket("127.0.0.1", port)) {
            byte[] junk = new byte[4096];
            new SplittableRandom(seed).nextBytes(junk);
            s.getOutputStream().write(junk);
            s.setSoTimeout(5000);
            while (s.getInputStream().read(junk) >= 0) {
                // until the listener closes it
            }
        }
    }

    private static byte[] sessionId(long n) {
        byte[] id = new byte[16];
        new SplittableRandom(n * 7919).nextBytes(id);
        id[0] = (byte) 0xA5; // never the honest session's (random) id in practice
        return id;
    }

    private static void overlappingChunks(int port, long n) throws IOException {
        try (ScriptedPeer peer = ScriptedPeer.connect(port)) {
            peer.startSession(sessionId(n), 256 * 1024, 64 << 20, Duration.ofSeconds(10));
            peer.send(new OpenFrame(1, new byte[0]));
            byte[] bytes = new byte[32 * 1024];
            List<Frame> flood = new ArrayList<>();
            for (int offset = 1; offset <= 200; offset++) {
                flood.add(new DataFrame(1, 0, offset, Unpooled.wrappedBuffer(bytes)));
            }
            peer.sendAll(flood);
        }
    }

    private static void resetFlood(int port, long n) throws IOException {
        try (ScriptedPeer peer = ScriptedPeer.connect(port)) {
            peer.startSession(sessionId(n), 256 * 1024, 64 << 20, Duration.ofSeconds(10));
            List<Frame> flood = new ArrayList<>();
            for (int id = 1; id < 4000; id += 2) {
                flood.add(new ResetFrame(id, ErrorCode.CANCEL, ""));
            }
            peer.sendAll(flood);
            peer.closedByPeer(Duration.ofSeconds(5));
        }
    }

    private static void pingFlood(int port, long n) throws IOException {
        try (ScriptedPeer peer = ScriptedPeer.connectSlowReader(port)) {
            peer.startSession(sessionId(n), 256 * 1024, 64 << 20, Duration.ofSeconds(10));
            List<Frame> flood = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                flood.add(new PingFrame(false, i, 0));
            }
            peer.sendAll(flood);
        }
    }

    private static void closeQuietly(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closing an attacker's socket
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
