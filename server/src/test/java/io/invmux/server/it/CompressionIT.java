package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.server.it.PrometheusText.Sample;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Two sidecar processes with the chain {@code [zstd]}: a forward whose entry says {@code middleware: []} carries its
 * bytes raw, one that says nothing carries them compressed, in the same session; /metrics counts both.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class CompressionIT {
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static EchoServer echo;
    private static int adminA;
    private static int rawPort;
    private static int compressedPort;

    @BeforeAll
    static void start() throws Exception {
        echo = EchoServer.start();
        int linkPort = SidecarProcess.freePort();
        adminA = SidecarProcess.freePort();
        rawPort = SidecarProcess.freePort();
        compressedPort = SidecarProcess.freePort();
        podB = SidecarProcess.start("pod-b", List.of("listeners.0=tcp://127.0.0.1:" + linkPort, "middleware.0=zstd",
                "services.0.name=echo", "services.0.target=127.0.0.1:" + echo.port()), List.of());
        podA = SidecarProcess.start("pod-a", List.of("listeners=[]", "middleware.0=zstd",
                "admin.address=127.0.0.1:" + adminA, "peers.0.name=pod-b",
                "peers.0.links.0.address=tcp://127.0.0.1:" + linkPort,
                "forwards.0.listen=127.0.0.1:" + rawPort, "forwards.0.peer=pod-b", "forwards.0.service=echo",
                "forwards.0.middleware=[]",
                "forwards.1.listen=127.0.0.1:" + compressedPort, "forwards.1.peer=pod-b", "forwards.1.service=echo"),
                List.of());
        await().atMost(Duration.ofSeconds(30)).until(() -> !series("invmux_compression_offered_bytes_total").isEmpty());
    }

    @AfterAll
    static void stop() throws Exception {
        int exitA = podA == null ? 0 : podA.stop();
        int exitB = podB == null ? 0 : podB.stop();
        echo.close();
        assertThat(exitA).isZero();
        assertThat(exitB).isZero();
    }

    private static List<Sample> series(String name) {
        try {
            return PrometheusText.scrape(adminA).stream().filter(s -> s.name().equals(name)).toList();
        } catch (Exception e) {
            return List.of();
        }
    }

    private static double value(String name) {
        return series(name).stream().mapToDouble(Sample::value).sum();
    }

    /** Log lines, as a replication or log-shipping connection would carry them. */
    private static byte[] text(int n) {
        StringBuilder sb = new StringBuilder();
        int i = 0;
        while (sb.length() < n) {
            sb.append("{\"ts\":").append(1_700_000_000_000L + i * 37L).append(",\"level\":\"INFO\",\"msg\":\"order ")
                    .append(i * 7919 % 100_000).append(" state changed to PAID\",\"region\":\"eu-west-1\"}\n");
            i++;
        }
        return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }

    @Test
    void anEntryWithoutCompressionGoesRawAndOneWithItGoesCompressedInTheSameSession() throws Exception {
        byte[] data = text(2 * 1024 * 1024);
        double compressedBefore = value("invmux_compression_compressed_chunks_total");
        double rawBefore = value("invmux_compression_raw_chunks_total");
        EchoServer.roundTrip(rawPort, data);
        assertThat(value("invmux_compression_compressed_chunks_total")).as("the raw forward compressed nothing")
                .isEqualTo(compressedBefore);
        assertThat(value("invmux_compression_raw_chunks_total") - rawBefore).isGreaterThanOrEqualTo(64);

        double offered = value("invmux_compression_offered_bytes_total");
        double sent = value("invmux_compression_sent_bytes_total");
        EchoServer.roundTrip(compressedPort, data);
        assertThat(value("invmux_compression_compressed_chunks_total") - compressedBefore).isPositive();
        double offeredNow = value("invmux_compression_offered_bytes_total") - offered;
        double sentNow = value("invmux_compression_sent_bytes_total") - sent;
        assertThat(offeredNow).isGreaterThanOrEqualTo(data.length);
        // Less than offered, not a fixed ratio: on a saturated loopback path the session's adaptive governor may
        // send part of the stream raw for a trial (one header byte a chunk), while each compressed chunk saves at
        // least minSaving (5 %) of 32 KiB, so any compressed chunk outweighs every raw one of these 2 MiB.
        assertThat(sentNow).as("bytes sent on the compressed forward, against %s offered", offeredNow)
                .isLessThan(offeredNow);
        List<String> names = new ArrayList<>();
        series("invmux_compression_active").forEach(s -> names.add(s.label("middleware")));
        assertThat(names).containsExactly("zstd");
        assertThat(value("invmux_compression_cpu_seconds_total")).isPositive();

        // the same counters through the API
        io.grpc.ManagedChannel api = ApiChannels.open(podA, null);
        try {
            io.invmux.proto.v1.GetStatsResponse stats = io.invmux.proto.v1.MonitorServiceGrpc.newBlockingStub(api)
                    .withDeadlineAfter(10, TimeUnit.SECONDS)
                    .getStats(io.invmux.proto.v1.GetStatsRequest.getDefaultInstance());
            assertThat(stats.getSessionsList()).singleElement().satisfies(session -> {
                assertThat(session.hasCompression()).isTrue();
                io.invmux.proto.v1.Compression c = session.getCompression();
                assertThat(c.getName()).isEqualTo("zstd");
                assertThat(c.getChunksCompressed()).isPositive();
                assertThat(c.getBytesIn()).isGreaterThanOrEqualTo(2L * data.length);
                assertThat(c.getRatio()).isLessThan(1.0);
                assertThat(c.getCompressCpu().getSeconds() * 1_000_000_000L + c.getCompressCpu().getNanos())
                        .isPositive();
            });
        } finally {
            api.shutdownNow();
        }
    }
}
