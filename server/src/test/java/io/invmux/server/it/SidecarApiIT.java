package io.invmux.server.it;

import static io.invmux.server.it.ApiChannels.token;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.Duration;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.grpc.reflection.v1.ServerReflectionRequest;
import io.grpc.reflection.v1.ServerReflectionResponse;
import io.grpc.stub.StreamObserver;
import io.invmux.proto.v1.AddForwardRequest;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DeleteLinkRequest;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.GetLinkRequest;
import io.invmux.proto.v1.GetSessionRequest;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.RemoveForwardRequest;
import io.invmux.proto.v1.WatchHealthRequest;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The control API of one sidecar process: statuses for bad input, the token, health, reflection, metrics. */
class SidecarApiIT {
    private static final String TOKEN = "it-token-0123456789abcdef";
    private static SidecarProcess sidecar;
    private static ManagedChannel channel;
    private static int adminPort;
    private static int healthPort;

    @BeforeAll
    static void start() throws Exception {
        adminPort = SidecarProcess.freePort();
        healthPort = SidecarProcess.freePort();
        int deadPort = SidecarProcess.freePort(); // nothing listens: the configured peer stays unreachable
        sidecar = SidecarProcess.start("pod-api", List.of("api.token=" + TOKEN, "admin.address=127.0.0.1:" + adminPort,
                "health.address=127.0.0.1:" + healthPort, "listeners.0=tcp://127.0.0.1:0", "peers.0.name=pod-x",
                "peers.0.links.0.address=tcp://127.0.0.1:" + deadPort), List.of());
        channel = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.apiPort).usePlaintext().build();
    }

    @AfterAll
    static void stop() throws Exception {
        channel.shutdownNow();
        assertThat(sidecar.stop()).isZero();
    }

    private static ConnectionServiceGrpc.ConnectionServiceBlockingStub connections() {
        return ConnectionServiceGrpc.newBlockingStub(channel).withCallCredentials(token(TOKEN))
                .withDeadlineAfter(30, TimeUnit.SECONDS);
    }

    private static void assertStatus(Runnable call, Status.Code code, String... fragments) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(StatusRuntimeException.class, e -> {
            assertThat(e.getStatus().getCode()).as(e.getStatus().toString()).isEqualTo(code);
            for (String f : fragments) {
                assertThat(e.getStatus().getDescription()).contains(f);
            }
        });
    }

    @Test
    void callsWithoutTheRightTokenAreUnauthenticated() {
        assertStatus(() -> ConnectionServiceGrpc.newBlockingStub(channel).listSessions(
                ListSessionsRequest.getDefaultInstance()), Status.Code.UNAUTHENTICATED, "missing API token");
        assertStatus(() -> ConnectionServiceGrpc.newBlockingStub(channel).withCallCredentials(token("wrong-token-xyz"))
                .listSessions(ListSessionsRequest.getDefaultInstance()), Status.Code.UNAUTHENTICATED, "wrong API token");
        assertThat(connections().listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList()).isEmpty();
    }

    @Test
    void healthAnswersWithoutATokenOnBothPortsAndReadinessWaitsForPeers() {
        var health = HealthGrpc.newBlockingStub(channel);
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("liveness").build()).getStatus())
                .isEqualTo(ServingStatus.SERVING);
        // The configured peer cannot be reached: not ready.
        assertThat(health.check(HealthCheckRequest.newBuilder().setService("readiness").build()).getStatus())
                .isEqualTo(ServingStatus.NOT_SERVING);
        ManagedChannel probe = NettyChannelBuilder.forAddress("127.0.0.1", healthPort).usePlaintext().build();
        try {
            assertThat(HealthGrpc.newBlockingStub(probe).check(HealthCheckRequest.newBuilder().setService("liveness")
                    .build()).getStatus()).isEqualTo(ServingStatus.SERVING);
            // The health port serves nothing else.
            assertStatus(() -> ConnectionServiceGrpc.newBlockingStub(probe).listSessions(
                    ListSessionsRequest.getDefaultInstance()), Status.Code.UNIMPLEMENTED);
        } finally {
            probe.shutdownNow();
        }
    }

    @Test
    void reflectionListsTheApi() throws Exception {
        FirstResponse<ServerReflectionRequest, ServerReflectionResponse> answer = new FirstResponse<>();
        StreamObserver<ServerReflectionRequest> req = ServerReflectionGrpc.newStub(channel)
                .withCallCredentials(token(TOKEN)).serverReflectionInfo(answer);
        req.onNext(ServerReflectionRequest.newBuilder().setListServices("").build());
        req.onCompleted();
        List<String> names = answer.first.get(10, TimeUnit.SECONDS).getListServicesResponse().getServiceList().stream()
                .map(s -> s.getName()).toList();
        assertThat(names).contains("invmux.v1.StreamService", "invmux.v1.ConnectionService",
                "invmux.v1.MonitorService", "invmux.v1.ForwardService", "grpc.health.v1.Health");
    }

    @Test
    void badArgumentsAreInvalidArgumentNamingTheField() throws Exception {
        assertStatus(() -> connections().dialLink(DialLinkRequest.newBuilder().setPeer("bad/peer")
                .setAddress("tcp://127.0.0.1:1").build()), Status.Code.INVALID_ARGUMENT, "peer", "bad/peer");
        assertStatus(() -> connections().dialLink(DialLinkRequest.newBuilder().setPeer("ok").build()),
                Status.Code.INVALID_ARGUMENT, "address");
        assertStatus(() -> connections().dialLink(DialLinkRequest.newBuilder().setPeer("ok")
                .setAddress("tcp://127.0.0.1:1?color=blue").build()), Status.Code.INVALID_ARGUMENT, "color");
        assertStatus(() -> connections().listLinks(ListLinksRequest.newBuilder().setPageToken("xyz").build()),
                Status.Code.INVALID_ARGUMENT, "page_token");
        assertStatus(() -> connections().listLinks(ListLinksRequest.newBuilder().setPageSize(5000).build()),
                Status.Code.INVALID_ARGUMENT, "page_size", "5000");
        assertStatus(() -> MonitorServiceGrpc.newBlockingStub(channel).withCallCredentials(token(TOKEN))
                .watchHealth(WatchHealthRequest.newBuilder().setQualityInterval(Duration.newBuilder().setNanos(10_000_000))
                        .build()).hasNext(), Status.Code.INVALID_ARGUMENT, "quality_interval");
        assertStatus(() -> ForwardServiceGrpc.newBlockingStub(channel).withCallCredentials(token(TOKEN))
                .addForward(AddForwardRequest.newBuilder().setListen("nope").setPeer("pod-x").setService("s").build()),
                Status.Code.INVALID_ARGUMENT, "listen", "nope");
        var open = GrpcStream.open(withToken(), "pod-x", "bad service!");
        assertThat(open.awaitFailure(10)).satisfies(s -> {
            assertThat(s.getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT);
            assertThat(s.getDescription()).contains("open.service");
        });
    }

    private static ManagedChannel withToken() {
        return ApiChannels.open(sidecar, TOKEN);
    }

    @Test
    void unknownThingsAreNotFoundAndAnUnreachablePeerIsUnavailable() throws Exception {
        assertStatus(() -> connections().getSession(GetSessionRequest.newBuilder().setSessionId("abc").build()),
                Status.Code.NOT_FOUND, "no session with id 'abc'");
        assertStatus(() -> connections().getLink(GetLinkRequest.newBuilder().setSessionId("abc").setLinkId("1")
                .build()), Status.Code.NOT_FOUND, "abc");
        assertStatus(() -> connections().deleteLink(DeleteLinkRequest.newBuilder().setSessionId("abc")
                .setLinkId("1").build()), Status.Code.NOT_FOUND);
        assertStatus(() -> ForwardServiceGrpc.newBlockingStub(channel).withCallCredentials(token(TOKEN))
                .removeForward(RemoveForwardRequest.newBuilder().setListen("127.0.0.1:1").build()),
                Status.Code.NOT_FOUND, "no forward");
        ManagedChannel ch = withToken();
        try {
            assertThat(GrpcStream.open(ch, "nobody", "svc").awaitFailure(10)).satisfies(s -> {
                assertThat(s.getCode()).isEqualTo(Status.Code.NOT_FOUND);
                assertThat(s.getDescription()).contains("no peer or session named 'nobody'");
            });
            assertThat(GrpcStream.open(ch, "pod-x", "svc").awaitFailure(10)).satisfies(s ->
                    assertThat(s.getCode()).isEqualTo(Status.Code.UNAVAILABLE));
        } finally {
            ch.shutdownNow();
        }
    }

    @Test
    void metricsParseAsPrometheusTextAndProbesAnswer() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort
                + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.headers().firstValue("content-type").orElse("")).startsWith("text/plain");
        Pattern sample = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*(\\{([a-zA-Z_][a-zA-Z0-9_]*=\"(\\\\.|[^\"\\\\])*\",?)*\\})?"
                + " (-?[0-9.eE+-]+|NaN|[+-]Inf)");
        Pattern meta = Pattern.compile("# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .*");
        for (String line : metrics.body().split("\n")) {
            if (!line.isEmpty()) {
                assertThat(sample.matcher(line).matches() || meta.matcher(line).matches())
                        .as("metrics line '%s'", line).isTrue();
            }
        }
        assertThat(metrics.body()).contains("invmux_sessions 0.0", "jvm_memory_used_bytes{area=\"heap\"}",
                "process_cpu_seconds_total", "invmux_build_info{");
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/live")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
        assertThat(http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + adminPort + "/ready")).build(),
                HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
    }

    @Test
    void aBadConfigFileExitsWith2NamingFileKeyValueAndRule(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("bad.yaml");
        Files.writeString(file, "identity: pod-a\nlimits:\n  windowSize: 3KiB\npeers:\n  - name: b\n    links: []\n");
        SidecarProcess.Result r = SidecarProcess.run(List.of("sidecar", "--config", file.toString()));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.output()).contains(file.toString()).contains("limits.windowSize").contains("3KiB")
                .contains("peers[0].links");
    }
}
