package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.invmux.TestData;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Back-pressure across the whole path, and the graceful stop on SIGTERM, with two sidecar processes. */
class LifecycleIT {
    private final ExecutorService pool = Executors.newCachedThreadPool();
    private final ApiChannels channels = new ApiChannels();
    private SidecarProcess podA;
    private SidecarProcess podB;
    private int adminA;
    private int adminB;

    @BeforeEach
    void start() throws Exception {
        int linkPort = SidecarProcess.freePort();
        adminA = SidecarProcess.freePort();
        adminB = SidecarProcess.freePort();
        podB = SidecarProcess.start("pod-b", List.of("admin.address=127.0.0.1:" + adminB,
                "listeners.0=tcp://127.0.0.1:" + linkPort), List.of());
        podA = SidecarProcess.start("pod-a", List.of("admin.address=127.0.0.1:" + adminA, "listeners=[]",
                "peers.0.name=pod-b", "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                "peers.0.links.1.address=tcp://127.0.0.1:" + linkPort, "limits.drainTimeout=30s"), List.of());
        ManagedChannel a = channels.to(podA);
        await().atMost(Duration.ofSeconds(30)).until(() -> HealthGrpc.newBlockingStub(a)
                .check(HealthCheckRequest.newBuilder().setService("readiness").build()).getStatus()
                == HealthCheckResponse.ServingStatus.SERVING);
    }

    @AfterEach
    void stop() throws Exception {
        channels.close();
        if (podA.isAlive()) {
            podA.stop();
        }
        podB.stop();
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    private static long metric(int adminPort, String name) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
                + adminPort + "/metrics")).build(), HttpResponse.BodyHandlers.ofString()).body();
        Matcher m = Pattern.compile("^" + Pattern.quote(name) + " ([0-9.eE+-]+)$", Pattern.MULTILINE).matcher(body);
        assertThat(m.find()).as("metric %s", name).isTrue();
        return (long) Double.parseDouble(m.group(1));
    }

    @Test
    void aReaderThatStopsReadingStallsTheRemoteWriterInsteadOfFillingTheSidecars() throws Exception {
        var joined = GrpcStream.join(channels.to(podA), channels.to(podB), "pod-b", "slow");
        var opener = joined.opener();
        var acceptor = joined.acceptor();
        AtomicLong written = new AtomicLong();
        Future<?> writer = pool.submit(() -> {
            byte[] block = new byte[256 * 1024];
            for (long i = 0; i < 4096 && !Thread.currentThread().isInterrupted(); i++) { // up to 1 GiB
                opener.out.write(block);
                written.addAndGet(block.length);
            }
            return null;
        });
        // The acceptor reads nothing: the writer must come to a stop, held back by flow control end to end.
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(500)).until(new java.util.concurrent.Callable<>() {
            private long last = -1;
            private int still;

            @Override
            public Boolean call() {
                long now = written.get();
                still = now == last ? still + 1 : 0;
                last = now;
                return still >= 4;
            }
        });
        assertThat(writer.isDone()).isFalse();
        assertThat(written.get()).as("bytes taken while nobody reads").isLessThan(96L * 1024 * 1024);
        for (int admin : new int[] {adminA, adminB}) {
            assertThat(metric(admin, "jvm_memory_used_bytes{area=\"heap\"}")).isLessThan(200L * 1024 * 1024);
            assertThat(metric(admin, "invmux_direct_memory_used_bytes")).isLessThan(96L * 1024 * 1024);
        }
        // Reading resumes: the bytes held so far arrive intact.
        long held = written.get();
        byte[] buf = new byte[64 * 1024];
        long read = 0;
        while (read < held) {
            int n = acceptor.in.read(buf);
            assertThat(n).isPositive();
            read += n;
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> written.get() > held);
        writer.cancel(true);
    }

    @Test
    void sigtermStopsNewStreamsLetsOpenOnesFinishAndExitsZero() throws Exception {
        var joined = GrpcStream.join(channels.to(podA), channels.to(podB), "pod-b", "drain");
        var opener = joined.opener();
        var acceptor = joined.acceptor();
        opener.out.write(new byte[1024]);
        Future<Integer> exit = pool.submit(() -> podA.stop()); // SIGTERM; waits for the exit code
        podA.awaitLine("draining", 20);
        // New streams are refused...
        assertThat(GrpcStream.open(channels.to(podA), "pod-b", "drain").awaitFailure(20).getCode())
                .isIn(Status.Code.UNAVAILABLE, Status.Code.RESOURCE_EXHAUSTED);
        // ...while the open one carries on to its end, both ways.
        Future<TestData.Digest> atB = pool.submit(() -> {
            assertThat(acceptor.in.readNBytes(1024)).hasSize(1024);
            return TestData.read(acceptor.in);
        });
        String sent = TestData.write(opener.out, 8L * 1024 * 1024, 64 * 1024, 5);
        opener.out.close();
        assertThat(atB.get(60, TimeUnit.SECONDS).sha256()).isEqualTo(sent);
        acceptor.out.write("bye".getBytes());
        acceptor.out.close();
        assertThat(new String(opener.in.readAllBytes())).isEqualTo("bye");
        assertThat(exit.get(60, TimeUnit.SECONDS)).isZero();
        assertThat(podA.output()).anyMatch(l -> l.contains("stopped"));
    }
}
