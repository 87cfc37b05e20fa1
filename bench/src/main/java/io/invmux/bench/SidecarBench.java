package io.invmux.bench;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.invmux.proto.v1.AcceptStreamRequest;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.AcceptTarget;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import io.invmux.server.Sidecar;
import io.invmux.server.config.ConfigLoader;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Goodput through the sidecar: one stream from an application over gRPC into sidecar A, across three loopback
 * links to sidecar B, out over gRPC to the accepting application; against one direct grpc-java bidi stream (a sink
 * server answering the same OpenStream method) moving the same bytes in the same run. And the TCP forwarding path
 * (a socket into A's forward, out of B's service to a sink) against a direct socket to the sink. Reps interleave.
 * Everything runs in this one JVM (two sidecars, the applications, the sinks), or with {@code --processes} each
 * sidecar in a JVM of its own.
 */
public final class SidecarBench {
    private static final int MESSAGE = 64 * 1024;

    private SidecarBench() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        // For profiling: run only the gRPC path through the sidecars, 20 times, and print its rate.
        boolean profileSidecars = List.of(args).contains("--profile-sidecars");
        // Each sidecar in its own JVM, as deployed, instead of in this one.
        boolean processes = List.of(args).contains("--processes");
        // The applications talk to their sidecars over Unix sockets (as pods sharing a volume can) instead of
        // loopback TCP; the direct stream stays TCP, as between two pods.
        boolean apiUnix = List.of(args).contains("--api-unix");
        int links = List.of(args).stream().filter(x -> x.startsWith("--links=")).map(x -> Integer.parseInt(x.substring(8)))
                .findFirst().orElse(3);
        // Other arguments are sidecar settings for both ends (e.g. limits.maxChunkSize=64KiB).
        List<String> settings = List.of(args).stream().filter(x -> !x.startsWith("--")).toList();
        long bytes = (quick ? 64L : 1024L) << 20;
        int reps = quick ? 1 : 7;
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        int linkPort = freePort();
        try (ServerSocket sink = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread sinkThread = new Thread(() -> sinkLoop(sink), "tcp-sink");
            sinkThread.setDaemon(true);
            sinkThread.start();
            int forwardPort = freePort();
            List<String> bSettings = new ArrayList<>(List.of("identity=pod-b", "admin.address=",
                    "listeners.0=tcp://127.0.0.1:" + linkPort, "services.0.name=sink",
                    "services.0.target=127.0.0.1:" + sink.getLocalPort()));
            bSettings.addAll(settings);
            List<String> a = new ArrayList<>(List.of("identity=pod-a", "admin.address=",
                    "listeners=[]", "peers.0.name=pod-b", "forwards.0.listen=127.0.0.1:" + forwardPort,
                    "forwards.0.peer=pod-b", "forwards.0.service=sink"));
            for (int i = 0; i < links; i++) {
                a.add("peers.0.links." + i + ".address=tcp://127.0.0.1:" + linkPort);
            }
            a.addAll(settings);
            RunningSidecar b = RunningSidecar.start(bSettings, processes, apiUnix);
            RunningSidecar sa = RunningSidecar.start(a, processes, apiUnix);
            // Application B serves the direct stream; its loop is the one its channel to sidecar B uses.
            Server direct = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .channelType(io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerSocketChannel.class)
                    .bossEventLoopGroup(APP_B_LOOP).workerEventLoopGroup(APP_B_LOOP)
                    .addService(new SinkService()).build().start();
            ManagedChannel chA = channel(sa.api, APP_A_LOOP);
            ManagedChannel chB = channel(b.api, APP_B_LOOP);
            sa.awaitReady(chA);
            ManagedChannel chDirect = channel(direct.getListenSockets().get(0), APP_A_LOOP);
            InetSocketAddress forward = new InetSocketAddress("127.0.0.1", forwardPort);
            InetSocketAddress sinkAddr = new InetSocketAddress("127.0.0.1", sink.getLocalPort());

            // Warm-up until the JIT has settled: the first full-size round of each path runs at half speed.
            for (int w = 0; w < (quick ? 1 : 2); w++) {
                grpcDirect(chDirect, bytes);
                grpcThroughSidecars(chA, chB, bytes);
                tcp(sinkAddr, bytes);
                tcp(forward, bytes);
            }
            if (profileSidecars) {
                for (int r = 0; r < 20; r++) {
                    MESSAGES_RECEIVED.set(0);
                    System.out.printf(Locale.ROOT, "through sidecars %.0f Mbit/s, mean message %d bytes%n",
                            grpcThroughSidecars(chA, chB, bytes), bytes / Math.max(1, MESSAGES_RECEIVED.get()));
                }
                System.exit(0);
            }
            double[] gd = new double[reps];
            double[] gs = new double[reps];
            double[] td = new double[reps];
            double[] ts = new double[reps];
            // CPU seconds per GiB of each gRPC path (all threads of this process): says whether a path is bound by
            // the two cores or by waiting.
            double[] gdCpu = new double[reps];
            double[] gsCpu = new double[reps];
            // And of one loopback TCP connection (a socket writer and the sink): the price of each extra hop.
            double[] tdCpu = new double[reps];
            // Where each gRPC path's CPU went, summed over reps (this JVM's threads only: not with --processes).
            Map<String, Double> gdGroups = processes ? null : new java.util.TreeMap<>();
            Map<String, Double> gsGroups = processes ? null : new java.util.TreeMap<>();
            double gib = bytes / (double) (1L << 30);
            for (int r = 0; r < reps; r++) {
                // Which gRPC path goes first alternates: the second of two back-to-back runs inherits the first's
                // garbage and the machine's drift, and would otherwise always be the same one.
                double[] straight;
                double[] through;
                if (r % 2 == 0) {
                    straight = timed(() -> grpcDirect(chDirect, bytes), gdGroups);
                    through = timed(() -> grpcThroughSidecars(chA, chB, bytes), gsGroups);
                } else {
                    through = timed(() -> grpcThroughSidecars(chA, chB, bytes), gsGroups);
                    straight = timed(() -> grpcDirect(chDirect, bytes), gdGroups);
                }
                gd[r] = straight[0];
                gs[r] = through[0];
                gdCpu[r] = straight[1] / gib;
                gsCpu[r] = through[1] / gib;
                double[] tcpDirect = timed(() -> tcp(sinkAddr, bytes));
                td[r] = tcpDirect[0];
                tdCpu[r] = tcpDirect[1] / gib;
                ts[r] = tcp(forward, bytes);
                System.out.printf(Locale.ROOT, "rep %d: grpc direct %.0f (%.2f cpu s/GiB, %.2f cores), through"
                        + " sidecars %.0f (%.2f cpu s/GiB, %.2f cores); tcp direct %.0f (%.2f cpu s/GiB), through"
                        + " forward %.0f Mbit/s%n", r + 1, gd[r], gdCpu[r], cores(gdCpu[r], gd[r]), gs[r], gsCpu[r],
                        cores(gsCpu[r], gs[r]), td[r], tdCpu[r], ts[r]);
            }
            // Each rep's paths ran back to back, so a rep's ratio compares like with like on this noisy machine; the
            // median ratio over reps is the figure.
            double[] gr = new double[reps];
            double[] tr = new double[reps];
            for (int r = 0; r < reps; r++) {
                gr[r] = gs[r] / gd[r];
                tr[r] = ts[r] / td[r];
            }
            if (gdGroups != null) {
                System.out.println("cpu s/GiB by thread group, mean of " + reps + " reps: grpc direct "
                        + perGib(gdGroups, reps * gib) + "; through sidecars " + perGib(gsGroups, reps * gib));
            }
            double grm = median(gr);
            System.out.printf(Locale.ROOT, "bench: case=sidecar-grpc direct_mbps=%.0f invmux_mbps=%.0f ratio=%.3f "
                    + "ratio_min=%.3f ratio_max=%.3f target=0.70 met=%b direct_cpu_s_per_gib=%.2f"
                    + " invmux_cpu_s_per_gib=%.2f tcp_hop_cpu_s_per_gib=%.2f%s%n", median(gd), median(gs), grm,
                    min(gr), max(gr), grm >= 0.70, median(gdCpu), median(gsCpu), median(tdCpu),
                    gdGroups == null || apiUnix ? "" : String.format(Locale.ROOT, " ratio_bound=%.3f",
                            ratioBound(gd, gdCpu, tdCpu, gdGroups.getOrDefault("app-loops", 0.0) / (reps * gib))));
            System.out.printf(Locale.ROOT, "bench: case=sidecar-tcp-forward direct_mbps=%.0f invmux_mbps=%.0f "
                    + "ratio=%.3f ratio_min=%.3f ratio_max=%.3f%n", median(td), median(ts), median(tr), min(tr),
                    max(tr));
            chA.shutdownNow();
            chB.shutdownNow();
            chDirect.shutdownNow();
            direct.shutdownNow();
            sa.close();
            b.close();
        }
        System.exit(0);
    }

    /** A channel of one application (each application has its own event loop, as a process of its own would). */
    private static ManagedChannel channel(java.net.SocketAddress address,
            io.grpc.netty.shaded.io.netty.channel.EventLoopGroup appLoop) {
        return NettyChannelBuilder.forAddress(address).eventLoopGroup(appLoop)
                .channelType(address instanceof io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress
                        ? io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel.class
                        : io.grpc.netty.shaded.io.netty.channel.epoll.EpollSocketChannel.class)
                .usePlaintext().build();
    }

    /** Runs one timed path after a full GC (each starts clean): its Mbit/s and the CPU seconds it cost. */
    private static double[] timed(java.util.concurrent.Callable<Double> path) throws Exception {
        return timed(path, null);
    }

    /**
     * As {@link #timed(java.util.concurrent.Callable)}, also adding the CPU seconds of this JVM's threads, by
     * {@link #threadGroup group}, to {@code byGroup} (when not null).
     */
    private static double[] timed(java.util.concurrent.Callable<Double> path, Map<String, Double> byGroup)
            throws Exception {
        System.gc();
        Map<String, Long> t0 = byGroup == null ? Map.of() : cpuByThreadGroup();
        long c0 = processCpuNanos();
        double mbps = path.call();
        double cpu = (processCpuNanos() - c0) / 1e9;
        if (byGroup != null) {
            cpuByThreadGroup().forEach((g, ns) -> byGroup.merge(g, (ns - t0.getOrDefault(g, 0L)) / 1e9, Double::sum));
        }
        return new double[] {mbps, cpu};
    }

    private static String perGib(Map<String, Double> seconds, double gib) {
        StringBuilder sb = new StringBuilder();
        seconds.forEach((g, s) -> sb.append(sb.length() == 0 ? "" : " ").append(g).append('=')
                .append(String.format(Locale.ROOT, "%.2f", s / gib)));
        return sb.toString();
    }

    /** CPU nanoseconds used so far by this JVM's live threads, summed per {@link #threadGroup}. */
    private static Map<String, Long> cpuByThreadGroup() {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        Map<String, Long> byGroup = new java.util.TreeMap<>();
        for (java.lang.management.ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
            long ns = t == null ? -1 : mx.getThreadCpuTime(t.getThreadId());
            if (ns > 0) {
                byGroup.merge(threadGroup(t.getThreadName()), ns, Long::sum);
            }
        }
        return byGroup;
    }

    /**
     * Who a thread works for: the applications' event loops ("app-loops") and callbacks ("app-executor"; gRPC's
     * default executor, which only the applications' calls use: the sidecars' stream calls run on their event
     * loops), the sidecars' gRPC event loops ("sidecar-grpc-loops", their HTTP/2 and stream calls) and data plane
     * ("dataplane-loops").
     */
    private static String threadGroup(String name) {
        if (name.startsWith("app-")) {
            return "app-loops";
        }
        if (name.startsWith("grpc-default-executor")) {
            return "app-executor";
        }
        if (name.startsWith("grpc-default-worker") || name.startsWith("invmux-api")) {
            return "sidecar-grpc-loops";
        }
        if (name.startsWith("invmux-io")) {
            return "dataplane-loops";
        }
        return "other";
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** A sidecar started for the bench: in this JVM, or as a child JVM running {@code invmux sidecar}. */
    private static final class RunningSidecar {
        final java.net.SocketAddress api;
        private final Sidecar inProcess;
        private final Process process;

        private RunningSidecar(java.net.SocketAddress api, Sidecar inProcess, Process process) {
            this.api = api;
            this.inProcess = inProcess;
            this.process = process;
        }

        static RunningSidecar start(List<String> settings, boolean asProcess, boolean unix) throws Exception {
            List<String> all = new ArrayList<>(settings);
            java.net.SocketAddress api;
            if (unix) {
                java.nio.file.Path dir = java.nio.file.Files.createTempDirectory("invmux-bench");
                dir.toFile().deleteOnExit();
                java.nio.file.Path socket = dir.resolve("api.sock");
                socket.toFile().deleteOnExit();
                all.add("api.address=unix://" + socket);
                api = new io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress(socket.toString());
            } else {
                int apiPort = freePort();
                all.add("api.address=127.0.0.1:" + apiPort);
                api = new InetSocketAddress("127.0.0.1", apiPort);
            }
            if (!asProcess) {
                return new RunningSidecar(api, Sidecar.start(ConfigLoader.load(null, Map.of(), all)), null);
            }
            List<String> cmd = new ArrayList<>(List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin",
                    "java").toString(), "-Xmx1g", "-Dio.netty.leakDetection.level=disabled",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "-cp", System.getProperty("java.class.path"),
                    "io.invmux.server.cli.Main", "sidecar"));
            for (String s : all) {
                cmd.add("--set");
                cmd.add(s);
            }
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(
                    ProcessBuilder.Redirect.INHERIT).start();
            Runtime.getRuntime().addShutdownHook(new Thread(p::destroy));
            CHILDREN.add(p);
            return new RunningSidecar(api, null, p);
        }

        /** Waits until the sidecar's readiness check says SERVING (listeners bound, configured peers dialed). */
        void awaitReady(ManagedChannel ch) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (true) {
                try {
                    if (io.grpc.health.v1.HealthGrpc.newBlockingStub(ch).withDeadlineAfter(2, TimeUnit.SECONDS)
                            .check(io.grpc.health.v1.HealthCheckRequest.newBuilder().setService("readiness").build())
                            .getStatus() == io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING) {
                        return;
                    }
                } catch (io.grpc.StatusRuntimeException notYet) {
                    // not listening yet
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("sidecar on " + api + " not ready within 60 s");
                }
                Thread.sleep(50);
            }
        }

        void close() throws InterruptedException {
            if (inProcess != null) {
                inProcess.close();
            } else {
                process.destroy();
                process.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    /**
     * The applications' event loops: A sends (to sidecar A, or straight to B), B receives (from sidecar B, or as
     * the direct stream's server). Each has its own, as separate processes would: on gRPC's shared default loops,
     * which connections share a thread would depend on the order they were made, and both ends of the direct
     * stream on one thread run at a different speed than on two.
     */
    private static final io.grpc.netty.shaded.io.netty.channel.EventLoopGroup APP_A_LOOP = appLoop("app-a-loop");
    private static final io.grpc.netty.shaded.io.netty.channel.EventLoopGroup APP_B_LOOP = appLoop("app-b-loop");

    private static io.grpc.netty.shaded.io.netty.channel.EventLoopGroup appLoop(String name) {
        return new io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup(1,
                new io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory(name, true));
    }

    /** Data messages the accepting application got, to report their mean size. */
    private static final AtomicLong MESSAGES_RECEIVED = new AtomicLong();

    /** Sidecars running as child JVMs, whose CPU counts with this process's. */
    private static final List<Process> CHILDREN = new java.util.concurrent.CopyOnWriteArrayList<>();

    private static long processCpuNanos() {
        long own = ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory
                .getOperatingSystemMXBean()).getProcessCpuTime();
        for (Process p : CHILDREN) {
            own += p.info().totalCpuDuration().map(java.time.Duration::toNanos).orElse(0L);
        }
        return own;
    }

    /**
     * The best ratio any pair of gRPC sidecars could reach on this machine: the direct stream's cost per GiB plus
     * what no sidecar can avoid, two more loopback TCP connections and two more HTTP/2 endpoints (what the direct
     * stream's own two endpoints cost on their event loops beyond its one connection), with every core busy.
     * Goodput is cores busy ÷ CPU per byte, so the bound is (cores / direct's cores) × direct's cost ÷ that cost.
     */
    private static double ratioBound(double[] directMbps, double[] directCpu, double[] hopCpu, double appLoopsCpu) {
        double direct = median(directCpu);
        double hop = median(hopCpu);
        double endpoints = Math.max(0, appLoopsCpu - hop);
        double[] directCores = new double[directMbps.length];
        for (int r = 0; r < directMbps.length; r++) {
            directCores[r] = cores(directCpu[r], directMbps[r]);
        }
        double allCores = Runtime.getRuntime().availableProcessors();
        return allCores / median(directCores) * direct / (direct + 2 * hop + endpoints);
    }

    /** Cores busy on average during a rep that moved 1 GiB-equivalents at {@code mbps}. */
    private static double cores(double cpuSecondsPerGib, double mbps) {
        double secondsPerGib = (1L << 30) * 8 / (mbps * 1e6);
        return cpuSecondsPerGib / secondsPerGib;
    }

    private static double min(double[] v) {
        return java.util.Arrays.stream(v).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return java.util.Arrays.stream(v).max().orElse(Double.NaN);
    }

    private static double median(double[] v) {
        double[] c = v.clone();
        java.util.Arrays.sort(c);
        return c.length % 2 == 1 ? c[c.length / 2] : (c[c.length / 2 - 1] + c[c.length / 2]) / 2;
    }

    /** The baseline: the same OpenStream method served directly, counting what arrives. */
    private static final class SinkService extends StreamServiceGrpc.StreamServiceImplBase {
        @Override
        public StreamObserver<OpenStreamRequest> openStream(StreamObserver<OpenStreamResponse> out) {
            return new StreamObserver<>() {
                @Override
                public void onNext(OpenStreamRequest value) {
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                    out.onCompleted();
                }
            };
        }
    }

    private static double grpcDirect(ManagedChannel ch, long bytes) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        long start = System.nanoTime();
        send(StreamServiceGrpc.newStub(ch), bytes, done, null);
        done.get(120, TimeUnit.SECONDS);
        return bytes * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
    }

    private static double grpcThroughSidecars(ManagedChannel a, ManagedChannel b, long bytes) throws Exception {
        AtomicLong got = new AtomicLong();
        CompletableFuture<Void> received = new CompletableFuture<>();
        CompletableFuture<Void> sent = new CompletableFuture<>();
        StreamObserver<AcceptStreamRequest>[] accept = new StreamObserver[1];
        accept[0] = StreamServiceGrpc.newStub(b).acceptStream(new StreamObserver<>() {
            @Override
            public void onNext(AcceptStreamResponse r) {
                got.addAndGet(r.getData().size());
                MESSAGES_RECEIVED.incrementAndGet();
                if (r.getEof()) {
                    accept[0].onCompleted();
                }
            }

            @Override
            public void onError(Throwable t) {
                received.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                received.complete(null);
            }
        });
        accept[0].onNext(AcceptStreamRequest.newBuilder().setAccept(AcceptTarget.newBuilder().setService("bulk")).build());
        long start = System.nanoTime();
        send(StreamServiceGrpc.newStub(a), bytes, sent, StreamTarget.newBuilder().setPeer("pod-b").setService("bulk")
                .build());
        received.get(120, TimeUnit.SECONDS);
        if (got.get() != bytes) {
            throw new IllegalStateException("received " + got.get() + " of " + bytes + " bytes");
        }
        return bytes * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
    }

    /** Writes {@code bytes} as 64 KiB data messages while the call is ready, then half-closes. */
    private static void send(StreamServiceGrpc.StreamServiceStub stub, long bytes, CompletableFuture<Void> done,
            StreamTarget target) {
        ByteString block = ByteString.copyFrom(new byte[MESSAGE]);
        Object lock = new Object();
        long[] left = {bytes};
        boolean[] started = {false};
        ClientCallStreamObserver<OpenStreamRequest>[] call = new ClientCallStreamObserver[1];
        Runnable pump = () -> {
            synchronized (lock) {
                while (started[0] && left[0] > 0 && call[0].isReady()) {
                    call[0].onNext(OpenStreamRequest.newBuilder().setData(block).build());
                    left[0] -= MESSAGE;
                    if (left[0] <= 0) {
                        call[0].onCompleted();
                    }
                }
            }
        };
        stub.openStream(new ClientResponseObserver<OpenStreamRequest, OpenStreamResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<OpenStreamRequest> requestStream) {
                call[0] = requestStream;
                requestStream.setOnReadyHandler(pump);
            }

            @Override
            public void onNext(OpenStreamResponse value) {
                if (value.getEof() && target != null) {
                    return;
                }
            }

            @Override
            public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
                done.complete(null);
            }
        });
        synchronized (lock) {
            if (target != null) {
                call[0].onNext(OpenStreamRequest.newBuilder().setOpen(target).build());
            }
            started[0] = true;
        }
        pump.run();
    }

    private static double tcp(InetSocketAddress to, long bytes) throws Exception {
        byte[] block = new byte[MESSAGE];
        long start = System.nanoTime();
        try (Socket s = new Socket(to.getAddress(), to.getPort())) {
            s.setTcpNoDelay(true);
            OutputStream out = s.getOutputStream();
            for (long left = bytes; left > 0; left -= block.length) {
                out.write(block);
            }
            s.shutdownOutput();
            InputStream in = s.getInputStream();
            if (in.read() != -1) {
                throw new IllegalStateException("sink answered");
            }
        }
        return bytes * 8 / ((System.nanoTime() - start) / 1e9) / 1e6;
    }

    private static void sinkLoop(ServerSocket sink) {
        while (!sink.isClosed()) {
            try {
                Socket s = sink.accept();
                Thread t = new Thread(() -> {
                    try (s) {
                        byte[] buf = new byte[MESSAGE];
                        InputStream in = s.getInputStream();
                        while (in.read(buf) >= 0) {
                            // discard
                        }
                        s.shutdownOutput();
                    } catch (java.io.IOException ignored) {
                        // the client went away
                    }
                });
                t.setDaemon(true);
                t.start();
            } catch (java.io.IOException e) {
                return;
            }
        }
    }
}
