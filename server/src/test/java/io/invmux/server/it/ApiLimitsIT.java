package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.StreamObserver;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.StreamTarget;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The API's limits, on sidecar processes: streaming calls per client (remote address on TCP, uid on the Unix
 * socket) over all its connections, and message size.
 */
@Timeout(120)
class ApiLimitsIT {
    private static final int MAX_STREAMS = 2;
    private static SidecarProcess sidecar;
    private static int adminPort;
    private static int healthPort;
    private ManagedChannel one;
    private ManagedChannel other;
    private ManagedChannel third;

    @BeforeAll
    static void start() throws Exception {
        adminPort = SidecarProcess.freePort();
        healthPort = SidecarProcess.freePort();
        sidecar = SidecarProcess.start("pod-limits", List.of("admin.address=127.0.0.1:" + adminPort, "listeners=[]",
                "health.address=127.0.0.1:" + healthPort,
                "api.maxStreamsPerClient=" + MAX_STREAMS, "api.maxMessageSize=64KiB"), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        assertThat(sidecar.stop()).isZero();
    }

    @AfterEach
    void closeChannels() {
        for (ManagedChannel ch : new ManagedChannel[] {one, other, third}) {
            if (ch != null) {
                ch.shutdownNow();
            }
        }
    }

    private static ManagedChannel channel() {
        return NettyChannelBuilder.forAddress("127.0.0.1", sidecar.apiPort).usePlaintext().build();
    }

    /** A health watch; its first response is the snapshot. */
    private static FirstResponse<WatchHealthRequest, WatchHealthResponse> watch(ManagedChannel ch) {
        FirstResponse<WatchHealthRequest, WatchHealthResponse> w = new FirstResponse<>();
        MonitorServiceGrpc.newStub(ch).watchHealth(WatchHealthRequest.getDefaultInstance(), w);
        return w;
    }

    private static double refusals(int port, String bound) throws Exception {
        return ForwardIsolationIT.refusals(port, bound);
    }

    private static Status failure(CompletableFuture<?> f) {
        Throwable t = f.handle((v, e) -> e).orTimeout(30, TimeUnit.SECONDS).join();
        assertThat(t).as("the call should have failed").isNotNull();
        return Status.fromThrowable(t);
    }

    @Test
    void theStreamingCallOneTooManyOfAClientIsRefusedAtOnceOnEveryConnectionItOpens() throws Exception {
        one = channel();
        other = channel();
        third = channel();
        var a = watch(one);
        var b = watch(other);
        assertThat(a.first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();
        assertThat(b.first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();

        // A third streaming call, on either connection or a fresh one, of another service: refused, naming the
        // limit and the client; more connections from the same address buy nothing.
        Status refused = failure(open(third, OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder()
                .setPeer("pod-x").setService("svc")).build()));
        assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.getDescription()).isEqualTo("api.maxStreamsPerClient = " + MAX_STREAMS + ": this client "
                + "(127.0.0.1) already holds " + MAX_STREAMS + " streaming calls over all its connections; end one "
                + "or raise the limit");
        assertThat(failure(watch(one).first).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(failure(watch(other).first).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

        // The grpc.health Watch counts too, on the API port and on the health port.
        assertThat(failure(healthWatch(sidecar.apiPort)).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(failure(healthWatch(healthPort)).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

        // Unary calls still work on every connection.
        for (ManagedChannel ch : List.of(one, other, third)) {
            assertThat(ConnectionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(30, TimeUnit.SECONDS)
                    .listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList()).isEmpty();
        }

        // Ending a call frees its place, for any connection of the client.
        a.cancel();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(watch(third).first.get(10, TimeUnit.SECONDS).hasSnapshot()).isTrue());
        assertThat(refusals(adminPort, "api.maxStreamsPerClient")).isGreaterThanOrEqualTo(3);
    }

    @Test
    void onTheUnixSocketTheLimitCountsEveryConnectionOfTheSameUser(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("api.sock");
        try (SidecarProcess unix = SidecarProcess.startOnUnixSocket("pod-limits-unix", socket, List.of(
                "admin.address=", "listeners=[]", "api.maxStreamsPerClient=" + MAX_STREAMS));
                ApiChannels channels = new ApiChannels()) {
            ManagedChannel[] chs = {channels.toUnix(socket), channels.toUnix(socket), channels.toUnix(socket)};
            assertThat(watch(chs[0]).first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();
            assertThat(watch(chs[1]).first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();
            Status refused = failure(watch(chs[2]).first);
            assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(refused.getDescription()).contains("this client (uid " + new com.sun.security.auth.module
                    .UnixSystem().getUid() + ")");
        }
    }

    @Test
    void aMessageOverTheSizeLimitEndsItsCallResourceExhausted() {
        one = channel();
        OpenStreamRequest big = OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder().setPeer("pod-x")
                .setService("svc").putMetadata("blob", "x".repeat(70 * 1024))).build();
        Status refused = failure(open(one, big));
        assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.getDescription()).contains(Integer.toString(64 * 1024));
        // The connection and the sidecar carry on.
        assertThat(ConnectionServiceGrpc.newBlockingStub(one).withDeadlineAfter(30, TimeUnit.SECONDS)
                .listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList()).isEmpty();
    }

    /** A grpc.health Watch of the overall status on a new channel to {@code port}, shut down once it answers. */
    private static CompletableFuture<HealthCheckResponse> healthWatch(int port) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", port).usePlaintext().build();
        FirstResponse<HealthCheckRequest, HealthCheckResponse> w = new FirstResponse<>();
        HealthGrpc.newStub(ch).watch(HealthCheckRequest.getDefaultInstance(), w);
        w.first.whenComplete((r, e) -> ch.shutdownNow());
        return w.first;
    }

    /** Opens a stream with {@code first} as its first message (and one data message after it). */
    private static CompletableFuture<OpenStreamResponse> open(ManagedChannel ch, OpenStreamRequest first) {
        FirstResponse<OpenStreamRequest, OpenStreamResponse> r = new FirstResponse<>();
        StreamObserver<OpenStreamRequest> req = StreamServiceGrpc.newStub(ch).openStream(r);
        req.onNext(first);
        req.onNext(OpenStreamRequest.newBuilder().setData(ByteString.copyFromUtf8("x")).build());
        return r.first;
    }
}
