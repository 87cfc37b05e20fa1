package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.google.protobuf.Any;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.rpc.BadRequest;
import com.google.rpc.ErrorInfo;
import com.google.rpc.RetryInfo;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.StatusProto;
import io.invmux.proto.v1.AddForwardRequest;
import io.invmux.proto.v1.AddListenerRequest;
import io.invmux.proto.v1.AddServiceRequest;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.GetLinkRequest;
import io.invmux.proto.v1.GetSessionRequest;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.ListForwardsRequest;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListListenersRequest;
import io.invmux.proto.v1.ListServicesRequest;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.RemoveForwardRequest;
import io.invmux.proto.v1.RemoveListenerRequest;
import io.invmux.proto.v1.RemoveServiceRequest;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.proto.v1.WatchHealthResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Every failing call carries google.rpc.Status details a program can branch on: an ErrorInfo with a stable reason
 * (invmux.v1.ErrorReason), a BadRequest naming the field, a RetryInfo where retrying helps. Asserted on the details,
 * never on the text. Two sidecar processes: pod-a dials (and knows a peer "ghost" whose links never come up), pod-b
 * accepts links and resets streams nobody accepts within one second.
 */
@Timeout(180)
class ErrorDetailsIT {
    private static final String TOKEN = "errors-token-0123456789abcdef";
    private static final int MAX_STREAMS = 2;

    private static final ApiChannels channels = new ApiChannels();
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static ManagedChannel apiA;
    private static ManagedChannel apiB;
    private static String linksToB;

    @BeforeAll
    static void start() throws Exception {
        linksToB = "tcp://127.0.0.1:" + SidecarProcess.freePort();
        podB = SidecarProcess.start("err-b", List.of("api.token=" + TOKEN, "admin.address=", "listeners.0=" + linksToB,
                "limits.acceptTimeout=1s"), List.of());
        podA = SidecarProcess.start("err-a", List.of("api.token=" + TOKEN, "admin.address=", "listeners=[]",
                "api.maxStreamsPerClient=" + MAX_STREAMS, "peers.0.name=ghost",
                "peers.0.links.0.address=tcp://127.0.0.1:" + SidecarProcess.freePort()), List.of());
        apiA = ApiChannels.open(podA, TOKEN);
        apiB = ApiChannels.open(podB, TOKEN);
    }

    @AfterAll
    static void stop() throws Exception {
        for (ManagedChannel ch : new ManagedChannel[] {apiA, apiB}) {
            if (ch != null) {
                ch.shutdownNow();
            }
        }
        channels.close();
        int a = podA == null ? 0 : podA.stop();
        int b = podB == null ? 0 : podB.stop();
        assertThat(a).as("pod-a exit code").isZero();
        assertThat(b).as("pod-b exit code").isZero();
    }

    /** The details of a failed call, unpacked. */
    record Details(Status.Code code, ErrorInfo info, Optional<BadRequest> badRequest, Optional<RetryInfo> retry) {
        String field() {
            return info.getMetadataOrDefault("field", "");
        }
    }

    static Details details(Throwable t) {
        com.google.rpc.Status s = StatusProto.fromThrowable(t);
        assertThat(s).as("status details of " + t).isNotNull();
        assertThat(s.getCode()).as("code in the details").isEqualTo(Status.fromThrowable(t).getCode().value());
        assertThat(s.getMessage()).as("message in the details").isEqualTo(Status.fromThrowable(t).getDescription());
        try {
            ErrorInfo info = null;
            BadRequest bad = null;
            RetryInfo retry = null;
            for (Any a : s.getDetailsList()) {
                if (a.is(ErrorInfo.class)) {
                    info = a.unpack(ErrorInfo.class);
                } else if (a.is(BadRequest.class)) {
                    bad = a.unpack(BadRequest.class);
                } else if (a.is(RetryInfo.class)) {
                    retry = a.unpack(RetryInfo.class);
                }
            }
            assertThat(info).as("ErrorInfo in " + s).isNotNull();
            assertThat(info.getDomain()).isEqualTo("invmux.io");
            return new Details(Status.fromThrowable(t).getCode(), info, Optional.ofNullable(bad),
                    Optional.ofNullable(retry));
        } catch (InvalidProtocolBufferException e) {
            throw new AssertionError(e);
        }
    }

    static Details failing(ThrowingCallable call) {
        return details(catchThrowableOfType(StatusRuntimeException.class, call));
    }

    /** The details of an INVALID_ARGUMENT naming {@code field} in both its ErrorInfo and its BadRequest. */
    static void assertFieldViolation(Details d, String field) {
        assertThat(d.code()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(d.info().getReason()).isEqualTo("INVALID_ARGUMENT");
        assertThat(d.field()).isEqualTo(field);
        assertThat(d.badRequest()).hasValueSatisfying(b -> assertThat(b.getFieldViolationsList())
                .singleElement().satisfies(v -> assertThat(v.getField()).isEqualTo(field)));
    }

    private static ConnectionServiceGrpc.ConnectionServiceBlockingStub connections(ManagedChannel ch) {
        return ConnectionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(40, TimeUnit.SECONDS);
    }

    private static ForwardServiceGrpc.ForwardServiceBlockingStub forwards(ManagedChannel ch) {
        return ForwardServiceGrpc.newBlockingStub(ch).withDeadlineAfter(40, TimeUnit.SECONDS);
    }

    private static Link dial(String peer) {
        return connections(apiA).dialLink(DialLinkRequest.newBuilder().setPeer(peer).setAddress(linksToB).build())
                .getLink();
    }

    @Test
    void openingAStreamToAnUnknownPeerSaysPeerUnknownAndNamesThePeer() throws Exception {
        Details d = details(GrpcStream.open(apiA, "nobody-here", "echo").awaitError(30));
        assertThat(d.code()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(d.info().getReason()).isEqualTo("PEER_UNKNOWN");
        assertThat(d.info().getMetadataOrThrow("peer")).isEqualTo("nobody-here");
        assertThat(d.retry()).isEmpty();
    }

    @Test
    void aKnownPeerWithoutASessionSaysPeerUnavailableWithARetryDelay() throws Exception {
        Details d = openFailure(apiA, "ghost", "echo");
        assertThat(d.code()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(d.info().getReason()).isEqualTo("PEER_UNAVAILABLE");
        assertThat(d.retry()).hasValueSatisfying(r -> assertThat(r.getRetryDelay().getSeconds()).isPositive());
    }

    @Test
    void aStreamNobodyAcceptsSaysServiceNotAccepted() throws Exception {
        dial("err-nobody-accepts");
        Details d = openFailure(apiA, "err-nobody-accepts", "unaccepted");
        assertThat(d.code()).isEqualTo(Status.Code.CANCELLED);
        assertThat(d.info().getReason()).isEqualTo("SERVICE_NOT_ACCEPTED");
        assertThat(d.info().getMetadataOrThrow("mux_error")).isEqualTo("CANCEL");
    }

    @Test
    void badStreamArgumentsNameTheirField() throws Exception {
        assertFieldViolation(openFailure(apiA, "", "echo"), "open.peer");
        assertFieldViolation(openFailure(apiA, "err-b", "bad service!"), "open.service");
        assertFieldViolation(details(GrpcStream.accept(apiA, "").awaitError(30)), "accept.service");
    }

    @Test
    void badManagementArgumentsNameTheirField() {
        assertFieldViolation(failing(() -> connections(apiA).dialLink(DialLinkRequest.newBuilder().setPeer("no/slash")
                .setAddress(linksToB).build())), "peer");
        assertFieldViolation(failing(() -> connections(apiA).dialLink(DialLinkRequest.newBuilder().setPeer("p")
                .setAddress("not a uri").build())), "address");
        assertFieldViolation(failing(() -> connections(apiA).dialLink(DialLinkRequest.newBuilder().setPeer("p")
                .setAddress(linksToB).setPriority(1000).build())), "priority");
        assertFieldViolation(failing(() -> connections(apiA).getSession(GetSessionRequest.getDefaultInstance())),
                "session_id");
        assertFieldViolation(failing(() -> forwards(apiA).addForward(AddForwardRequest.newBuilder()
                .setListen("127.0.0.1:0").setPeer("p").setService("").build())), "service");
        assertFieldViolation(failing(() -> forwards(apiA).addService(AddServiceRequest.newBuilder().setName("s")
                .setTarget("no-port").build())), "target");
        Details watch = details(catchThrowableOfType(StatusRuntimeException.class, () -> MonitorServiceGrpc
                .newBlockingStub(apiA).watchHealth(WatchHealthRequest.newBuilder().setQualityInterval(
                        com.google.protobuf.Duration.newBuilder().setNanos(5_000_000)).build()).next()));
        assertFieldViolation(watch, "quality_interval");
    }

    @Test
    void aListenerAddedTwiceNamesTheAddressFieldAndATakenPortSaysAddressInUse() {
        String address = "tcp://127.0.0.1:0";
        String bound = connections(apiB).addListener(AddListenerRequest.newBuilder().setAddress(address).build())
                .getListener().getBoundAddress();
        try {
            assertFieldViolation(failing(() -> connections(apiB).addListener(AddListenerRequest.newBuilder()
                    .setAddress(address).build())), "address");
            Details taken = failing(() -> connections(apiB).addListener(AddListenerRequest.newBuilder()
                    .setAddress(bound).build()));
            assertThat(taken.code()).isEqualTo(Status.Code.FAILED_PRECONDITION);
            assertThat(taken.info().getReason()).isEqualTo("ADDRESS_IN_USE");
            assertThat(taken.field()).isEqualTo("address");
        } finally {
            connections(apiB).removeListener(RemoveListenerRequest.newBuilder().setAddress(address).build());
        }
    }

    @Test
    void namesThatMatchNothingSayWhatKindOfThingIsUnknown() {
        Details session = failing(() -> connections(apiA).getSession(GetSessionRequest.newBuilder()
                .setSessionId("0123456789abcdef0123456789abcdef").build()));
        assertThat(session.code()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(session.info().getReason()).isEqualTo("SESSION_UNKNOWN");
        assertThat(session.info().getMetadataOrThrow("session_id")).isEqualTo("0123456789abcdef0123456789abcdef");

        Link l = dial("err-link-unknown");
        Details link = failing(() -> connections(apiA).getLink(GetLinkRequest.newBuilder()
                .setSessionId(l.getSessionId()).setLinkId("no-such-link").build()));
        assertThat(link.info().getReason()).isEqualTo("LINK_UNKNOWN");
        assertThat(link.info().getMetadataOrThrow("link_id")).isEqualTo("no-such-link");

        assertThat(failing(() -> connections(apiB).removeListener(RemoveListenerRequest.newBuilder()
                .setAddress("tcp://127.0.0.1:1").build())).info().getReason()).isEqualTo("LISTENER_UNKNOWN");
        assertThat(failing(() -> forwards(apiA).removeForward(RemoveForwardRequest.newBuilder()
                .setListen("127.0.0.1:1").build())).info().getReason()).isEqualTo("FORWARD_UNKNOWN");
        Details service = failing(() -> forwards(apiB).removeService(RemoveServiceRequest.newBuilder()
                .setName("never-added").build()));
        assertThat(service.info().getReason()).isEqualTo("SERVICE_UNKNOWN");
        assertThat(service.info().getMetadataOrThrow("service")).isEqualTo("never-added");
    }

    @Test
    void aServiceAddedTwiceAtAnotherTargetSaysServiceExists() {
        forwards(apiB).addService(AddServiceRequest.newBuilder().setName("err-twice").setTarget("127.0.0.1:1")
                .build());
        Details d = failing(() -> forwards(apiB).addService(AddServiceRequest.newBuilder().setName("err-twice")
                .setTarget("127.0.0.1:2").build()));
        assertThat(d.code()).isEqualTo(Status.Code.ALREADY_EXISTS);
        assertThat(d.info().getReason()).isEqualTo("SERVICE_EXISTS");
        forwards(apiB).removeService(RemoveServiceRequest.newBuilder().setName("err-twice").build());
    }

    @Test
    void aForwardOffLoopbackIsDeniedNamingTheListenFieldAndTheBound() {
        Details d = failing(() -> forwards(apiA).addForward(AddForwardRequest.newBuilder().setListen("0.0.0.0:0")
                .setPeer("p").setService("s").build()));
        assertThat(d.code()).isEqualTo(Status.Code.PERMISSION_DENIED);
        assertThat(d.info().getReason()).isEqualTo("FORWARD_NOT_LOOPBACK");
        assertThat(d.field()).isEqualTo("listen");
        assertThat(d.info().getMetadataOrThrow("bound")).isEqualTo("security.allowNonLoopbackForwards");
    }

    @Test
    void aDialToAClosedPortSaysLinkFailedWithARetryDelay() {
        Details d = failing(() -> connections(apiA).dialLink(DialLinkRequest.newBuilder().setPeer("err-closed")
                .setAddress("tcp://127.0.0.1:" + freePort()).build()));
        assertThat(d.code()).isEqualTo(Status.Code.UNAVAILABLE);
        assertThat(d.info().getReason()).isEqualTo("LINK_FAILED");
        assertThat(d.retry()).isPresent();
    }

    @Test
    void aMissingOrWrongTokenSaysWhichWithoutATextMatch() {
        ManagedChannel none = channels.to(podA);
        Details missing = failing(() -> connections(none).listSessions(ListSessionsRequest.getDefaultInstance()));
        assertThat(missing.code()).isEqualTo(Status.Code.UNAUTHENTICATED);
        assertThat(missing.info().getReason()).isEqualTo("TOKEN_MISSING");
        ManagedChannel wrong = ApiChannels.open(podA, "not-the-token-0123456789");
        try {
            Details d = failing(() -> connections(wrong).listSessions(ListSessionsRequest.getDefaultInstance()));
            assertThat(d.info().getReason()).isEqualTo("TOKEN_INVALID");
        } finally {
            wrong.shutdownNow();
        }
    }

    @Test
    void theStreamingCallOverTheClientLimitSaysLimitStreamsPerClientWithTheBoundAndARetryDelay() throws Exception {
        List<FirstResponse<WatchHealthRequest, WatchHealthResponse>> held = new ArrayList<>();
        try {
            for (int i = 0; i < MAX_STREAMS; i++) {
                held.add(watch(apiA));
                assertThat(held.get(i).first.get(30, TimeUnit.SECONDS).hasSnapshot()).isTrue();
            }
            var refused = watch(apiA);
            Throwable t = refused.first.handle((v, e) -> e).get(30, TimeUnit.SECONDS);
            Details d = details(t);
            assertThat(d.code()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
            assertThat(d.info().getReason()).isEqualTo("LIMIT_STREAMS_PER_CLIENT");
            assertThat(d.info().getMetadataOrThrow("bound")).isEqualTo("api.maxStreamsPerClient");
            assertThat(d.info().getMetadataOrThrow("limit")).isEqualTo(String.valueOf(MAX_STREAMS));
            assertThat(d.retry()).isPresent();
        } finally {
            held.forEach(FirstResponse::cancel);
        }
    }

    @Test
    void everyListRefusesABadPageTokenNamingThePageTokenField() {
        String bad = "not-a-token";
        List<Function<ManagedChannel, Object>> lists = List.of(
                ch -> connections(ch).listLinks(ListLinksRequest.newBuilder().setPageToken(bad).build()),
                ch -> connections(ch).listSessions(ListSessionsRequest.newBuilder().setPageToken(bad).build()),
                ch -> connections(ch).listListeners(ListListenersRequest.newBuilder().setPageToken(bad).build()),
                ch -> forwards(ch).listForwards(ListForwardsRequest.newBuilder().setPageToken(bad).build()),
                ch -> forwards(ch).listServices(ListServicesRequest.newBuilder().setPageToken(bad).build()));
        for (Function<ManagedChannel, Object> list : lists) {
            assertFieldViolation(failing(() -> list.apply(apiB)), "page_token");
        }
        assertFieldViolation(failing(() -> forwards(apiB).listServices(ListServicesRequest.newBuilder()
                .setPageSize(-1).build())), "page_size");
    }

    @Test
    void aStatusALibraryMadeStillCarriesAnErrorInfo() {
        Details d = failing(() -> io.grpc.health.v1.HealthGrpc.newBlockingStub(apiA).withDeadlineAfter(10,
                TimeUnit.SECONDS).check(io.grpc.health.v1.HealthCheckRequest.newBuilder().setService("no-such")
                .build()));
        assertThat(d.code()).isEqualTo(Status.Code.NOT_FOUND);
        assertThat(d.info().getReason()).isEqualTo("UNKNOWN");
    }

    private static FirstResponse<WatchHealthRequest, WatchHealthResponse> watch(ManagedChannel ch) {
        FirstResponse<WatchHealthRequest, WatchHealthResponse> w = new FirstResponse<>();
        MonitorServiceGrpc.newStub(ch).watchHealth(WatchHealthRequest.getDefaultInstance(), w);
        return w;
    }

    private static Details openFailure(ManagedChannel ch, String peer, String service) throws Exception {
        return details(GrpcStream.open(ch, peer, service).awaitError(30));
    }

    private static int freePort() {
        try {
            return SidecarProcess.freePort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
