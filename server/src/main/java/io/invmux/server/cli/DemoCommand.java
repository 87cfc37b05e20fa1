package io.invmux.server.cli;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.invmux.proto.v1.AcceptStreamRequest;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.AcceptTarget;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import io.invmux.server.Sidecar;
import io.invmux.server.config.ConfigLoader;
import io.invmux.server.config.SidecarConfig;
import java.net.InetSocketAddress;
import io.invmux.tls.CertificateAuthority;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code invmux demo}: two sidecars in this process joined by several loopback links; an application opens a
 * stream over gRPC on one, another accepts it over gRPC on the other, bytes flow for a few seconds while the
 * link table refreshes in place. The whole product, in one command.
 */
@Command(name = "demo", description = "Two sidecars joined by loopback links, streaming through gRPC, with a live link table.",
        mixinStandardHelpOptions = true)
public final class DemoCommand implements Callable<Integer> {
    @Option(names = "--links", defaultValue = "3", description = "Links between the sidecars (default ${DEFAULT-VALUE}).")
    int links;

    @Option(names = "--duration", defaultValue = "10s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "How long to stream, whole seconds: 5s, 2m (default ${DEFAULT-VALUE}).")
    java.time.Duration duration;

    /** Deprecated spelling of {@code --duration} in seconds, kept so that scripts keep working. */
    @Option(names = "--seconds", hidden = true, paramLabel = "SECONDS")
    Long secondsFlag;

    /** Whole seconds to stream, from {@code --duration} (or {@code --seconds}), checked by {@link #call()}. */
    private int seconds;

    /** {@code --duration}, or the deprecated {@code --seconds} when given. */
    java.time.Duration duration() {
        return secondsFlag == null ? duration : java.time.Duration.ofSeconds(secondsFlag);
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--plain", description = "Print each table below the last instead of redrawing in place.")
    boolean plain;

    @Override
    public Integer call() throws Exception {
        java.time.Duration duration = duration();
        if (links < 1 || links > 16 || duration.getNano() != 0 || duration.getSeconds() < 1
                || duration.getSeconds() > 3600) {
            System.err.println("invmux demo: --links must be 1..16 and --duration whole seconds from 1s to 1h");
            return 2;
        }
        DurationConverter.warnIfDeprecated(spec, secondsFlag, "--seconds", "--duration", duration);
        seconds = (int) duration.getSeconds();
        Logs.setLevel("", "warn");
        Path pki = Files.createTempDirectory("invmux-demo-pki");
        try {
            return run(pki);
        } finally {
            try (var files = Files.list(pki)) {
                for (Path f : files.toList()) {
                    Files.deleteIfExists(f);
                }
            }
            Files.deleteIfExists(pki);
        }
    }

    /**
     * The demo's links are tls:// with mutual authentication, as real deployments should be: a throwaway CA made
     * here issues each sidecar a certificate naming it, and each checks the other's.
     */
    private static List<String> tlsSettings(Path pki, CertificateAuthority ca, String name) throws IOException {
        Path cert = pki.resolve(name + ".crt");
        Path key = pki.resolve(name + ".key");
        ca.issue(name, "127.0.0.1").write(cert, key);
        return List.of("security.tls.certFile=" + cert, "security.tls.keyFile=" + key,
                "security.tls.caFile=" + pki.resolve("ca.crt"));
    }

    private int run(Path pki) throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("invmux demo CA");
        ca.writeCertificate(pki.resolve("ca.crt"));
        List<String> bSettings = new ArrayList<>(List.of("identity=pod-b", "api.address=127.0.0.1:0",
                "admin.address=", "listeners.0=tls://127.0.0.1:0"));
        bSettings.addAll(tlsSettings(pki, ca, "pod-b"));
        SidecarConfig b = ConfigLoader.load(null, Map.of(), bSettings);
        try (Sidecar podB = Sidecar.start(b)) {
            String bPort = podB.runtime().listenAddresses().values().iterator().next().replaceAll(".*:", "");
            List<String> aSettings = new ArrayList<>(List.of("identity=pod-a", "api.address=127.0.0.1:0",
                    "admin.address=", "peers.0.name=pod-b"));
            for (int i = 0; i < links; i++) {
                aSettings.add("peers.0.links." + i + ".address=tls://127.0.0.1:" + bPort);
            }
            aSettings.add("listeners.0=tls://127.0.0.1:0");
            aSettings.addAll(tlsSettings(pki, ca, "pod-a"));
            try (Sidecar podA = Sidecar.start(ConfigLoader.load(null, Map.of(), aSettings))) {
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (podA.runtime().sessions().isEmpty()
                        || podA.runtime().sessions().get(0).session().numConnections() < links) {
                    if (System.nanoTime() > deadline) {
                        System.err.println("invmux demo: the sidecars did not connect");
                        return 1;
                    }
                    Thread.sleep(20);
                }
                return stream(channel(podA), channel(podB));
            }
        }
    }

    private static ManagedChannel channel(Sidecar s) {
        InetSocketAddress a = (InetSocketAddress) s.apiAddress();
        return NettyChannelBuilder.forAddress(a.getHostString(), a.getPort()).usePlaintext().build();
    }

    private int stream(ManagedChannel a, ManagedChannel b) throws Exception {
        AtomicLong received = new AtomicLong();
        java.util.concurrent.atomic.AtomicReference<StreamObserver<AcceptStreamRequest>> accepting =
                new java.util.concurrent.atomic.AtomicReference<>();
        CountDownLatch done = new CountDownLatch(2);
        // pod-b's application: accepts the stream and counts what arrives.
        StreamObserver<AcceptStreamRequest> acceptCall = StreamServiceGrpc.newStub(b).acceptStream(
                new ClientResponseObserver<AcceptStreamRequest, AcceptStreamResponse>() {
            @Override
            public void beforeStart(ClientCallStreamObserver<AcceptStreamRequest> req) {
            }

            @Override
            public void onNext(AcceptStreamResponse r) {
                received.addAndGet(r.getData().size());
                if (r.getEof()) {
                    accepting.get().onCompleted(); // nothing to send back: end our direction too
                }
            }

            @Override
            public void onError(Throwable t) {
                System.err.println("accepting side: " + t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        accepting.set(acceptCall);
        acceptCall.onNext(AcceptStreamRequest.newBuilder().setAccept(AcceptTarget.newBuilder().setService("demo"))
                .build());
        // pod-a's application: opens the stream and writes as fast as gRPC flow control lets it.
        AtomicBoolean stop = new AtomicBoolean();
        ByteString block = ByteString.copyFrom(new byte[64 * 1024]);
        AtomicBoolean opened = new AtomicBoolean();
        StreamObserver<OpenStreamRequest> openCall = StreamServiceGrpc.newStub(a).openStream(
                new ClientResponseObserver<OpenStreamRequest, OpenStreamResponse>() {
            private boolean finished;

            @Override
            public void beforeStart(ClientCallStreamObserver<OpenStreamRequest> req) {
                req.setOnReadyHandler(() -> {
                    synchronized (opened) {
                        while (opened.get() && req.isReady() && !finished) {
                            if (stop.get()) {
                                finished = true;
                                req.onCompleted();
                                return;
                            }
                            req.onNext(OpenStreamRequest.newBuilder().setData(block).build());
                        }
                    }
                });
            }

            @Override
            public void onNext(OpenStreamResponse r) {
            }

            @Override
            public void onError(Throwable t) {
                System.err.println("opening side: " + t);
                done.countDown();
            }

            @Override
            public void onCompleted() {
                done.countDown();
            }
        });
        synchronized (opened) {
            openCall.onNext(OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder().setPeer("pod-b")
                    .setService("demo")).build());
            opened.set(true);
        }
        var conn = ConnectionServiceGrpc.newBlockingStub(a);
        long start = System.nanoTime();
        long last = 0;
        for (int s = 1; s <= seconds; s++) {
            Thread.sleep(1000);
            long now = received.get();
            String table = LinkTable.render(OperatorCommands.allLinks(conn, ""));
            System.out.print((plain ? "" : "\033[H\033[2J") + String.format(Locale.ROOT,
                    "invmux demo: pod-a -> pod-b over %d tls:// links, t=%ds, %.0f Mbit/s through gRPC%n%n", links, s,
                    (now - last) * 8 / 1e6) + table);
            System.out.flush();
            last = now;
        }
        stop.set(true);
        boolean ended = done.await(20, TimeUnit.SECONDS);
        double secs = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%ndone: %.1f MiB streamed in %.1f s (%.0f Mbit/s)%s%n",
                received.get() / 1048576.0, secs, received.get() * 8 / secs / 1e6, ended ? "" : " (did not end cleanly)");
        a.shutdownNow();
        b.shutdownNow();
        return ended ? 0 : 1;
    }
}
