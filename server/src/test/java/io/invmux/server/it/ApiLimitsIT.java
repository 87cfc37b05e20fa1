package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
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
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The API's limits, on a sidecar process: streaming calls per client connection and message size. */
@Timeout(120)
class ApiLimitsIT {
    private static final int MAX_STREAMS = 2;
    private static SidecarProcess sidecar;
    private ManagedChannel one;
    private ManagedChannel other;

    @BeforeAll
    static void start() throws Exception {
        sidecar = SidecarProcess.start("pod-limits", List.of("admin.address=", "listeners=[]",
                "api.maxStreamsPerClient=" + MAX_STREAMS, "api.maxMessageSize=64KiB"), List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        assertThat(sidecar.stop()).isZero();
    }

    @AfterEach
    void closeChannels() {
        for (ManagedChannel ch : new ManagedChannel[] {one, other}) {
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

    private static Status failure(CompletableFuture<?> f) {
        Throwable t = f.handle((v, e) -> e).orTimeout(30, TimeUnit.SECONDS).join();
        assertThat(t).as("the call should have failed").isNotNull();
        return Status.fromThrowable(t);
    }

    @Test
    void theStreamingCallOneTooManyOnAConnectionIsRefusedAtOnce() throws Exception {
        one = channel();
        other = channel();
        var a = watch(one);
        var b = watch(one);
        assertThat(a.first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();
        assertThat(b.first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();

        // A third streaming call on the same connection, of another service: refused, naming the limit.
        Status refused = failure(open(one, OpenStreamRequest.newBuilder().setOpen(StreamTarget.newBuilder()
                .setPeer("pod-x").setService("svc")).build()));
        assertThat(refused.getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(refused.getDescription()).contains("api.maxStreamsPerClient = " + MAX_STREAMS);
        assertThat(failure(watch(one).first).getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);

        // Unary calls on that connection, and streaming calls on another, still work.
        assertThat(ConnectionServiceGrpc.newBlockingStub(one).withDeadlineAfter(30, TimeUnit.SECONDS)
                .listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList()).isEmpty();
        assertThat(watch(other).first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();

        // Ending a call frees its place.
        a.cancel();
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() ->
                assertThat(watch(one).first.get(10, TimeUnit.SECONDS).hasSnapshot()).isTrue());
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

    /** Opens a stream with {@code first} as its first message (and one data message after it). */
    private static CompletableFuture<OpenStreamResponse> open(ManagedChannel ch, OpenStreamRequest first) {
        FirstResponse<OpenStreamRequest, OpenStreamResponse> r = new FirstResponse<>();
        StreamObserver<OpenStreamRequest> req = StreamServiceGrpc.newStub(ch).openStream(r);
        req.onNext(first);
        req.onNext(OpenStreamRequest.newBuilder().setData(ByteString.copyFromUtf8("x")).build());
        return r.first;
    }
}
