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
 * Everything runs in this one JVM (two sidecars, the applications, the sinks).
 */
public final class SidecarBench {
    private static final int MESSAGE = 64 * 1024;

    private SidecarBench() {
    }

    public static void main(String[] args) throws Exception {
        boolean quick = List.of(args).contains("--quick");
        // Other arguments are sidecar settings for both ends (e.g. limits.maxChunkSize=64KiB).
        List<String> settings = List.of(args).stream().filter(x -> !x.startsWith("--")).toList();
        long bytes = (quick ? 64L : 1024L) << 20;
        int reps = quick ? 1 : 7;
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        int linkPort;
        try (ServerSocket s = new ServerSocket(0)) {
            linkPort = s.getLocalPort();
        }
        try (ServerSocket sink = new ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread sinkThread = new Thread(() -> sinkLoop(sink), "tcp-sink");
            sinkThread.setDaemon(true);
            sinkThread.start();
            List<String> bSettings = new ArrayList<>(List.of("identity=pod-b", "api.address=127.0.0.1:0",
                    "admin.address=", "listeners.0=tcp://127.0.0.1:" + linkPort, "services.0.name=sink",
                    "services.0.target=127.0.0.1:" + sink.getLocalPort()));
            bSettings.addAll(settings);
            Sidecar b = Sidecar.start(ConfigLoader.load(null, Map.of(), bSettings));
            List<String> a = new ArrayList<>(List.of("identity=pod-a", "api.address=127.0.0.1:0", "admin.address=",
                    "listeners=[]", "peers.0.name=pod-b", "forwards.0.listen=127.0.0.1:0", "forwards.0.peer=pod-b",
                    "forwards.0.service=sink"));
            for (int i = 0; i < 3; i++) {
                a.add("peers.0.links." + i + ".address=tcp://127.0.0.1:" + linkPort);
            }
            a.addAll(settings);
            Sidecar sa = Sidecar.start(ConfigLoader.load(null, Map.of(), a));
            while (!sa.isReady()) {
                Thread.sleep(20);
            }
            Server direct = NettyServerBuilder.forAddress(new InetSocketAddress("127.0.0.1", 0))
                    .addService(new SinkService()).build().start();
            ManagedChannel chA = channel((InetSocketAddress) sa.apiAddress());
            ManagedChannel chB = channel((InetSocketAddress) b.apiAddress());
            ManagedChannel chDirect = channel((InetSocketAddress) direct.getListenSockets().get(0));
            InetSocketAddress forward = sa.forwards().forwards().values().iterator().next().boundAddress();
            InetSocketAddress sinkAddr = new InetSocketAddress("127.0.0.1", sink.getLocalPort());

            // Warm-up until the JIT has settled: the first full-size round of each path runs at half speed.
            for (int w = 0; w < (quick ? 1 : 2); w++) {
                grpcDirect(chDirect, bytes);
                grpcThroughSidecars(chA, chB, bytes);
                tcp(sinkAddr, bytes);
                tcp(forward, bytes);
            }
            double[] gd = new double[reps];
            double[] gs = new double[reps];
            double[] td = new double[reps];
            double[] ts = new double[reps];
            for (int r = 0; r < reps; r++) {
                gd[r] = grpcDirect(chDirect, bytes);
                gs[r] = grpcThroughSidecars(chA, chB, bytes);
                td[r] = tcp(sinkAddr, bytes);
                ts[r] = tcp(forward, bytes);
                System.out.printf(Locale.ROOT, "rep %d: grpc direct %.0f, through sidecars %.0f; tcp direct %.0f,"
                        + " through forward %.0f Mbit/s%n", r + 1, gd[r], gs[r], td[r], ts[r]);
            }
            // Each rep's paths ran back to back, so a rep's ratio compares like with like on this noisy machine; the
            // median ratio over reps is the figure.
            double[] gr = new double[reps];
            double[] tr = new double[reps];
            for (int r = 0; r < reps; r++) {
                gr[r] = gs[r] / gd[r];
                tr[r] = ts[r] / td[r];
            }
            double grm = median(gr);
            System.out.printf(Locale.ROOT, "bench: case=sidecar-grpc direct_mbps=%.0f invmux_mbps=%.0f ratio=%.3f "
                    + "ratio_min=%.3f ratio_max=%.3f target=0.70 met=%b%n", median(gd), median(gs), grm, min(gr),
                    max(gr), grm >= 0.70);
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

    private static ManagedChannel channel(InetSocketAddress a) {
        return NettyChannelBuilder.forAddress(a.getHostString(), a.getPort()).usePlaintext().build();
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
