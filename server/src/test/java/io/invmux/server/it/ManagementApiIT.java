package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.tuple;
import static org.awaitility.Awaitility.await;

import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.invmux.TestData;
import io.invmux.proto.v1.AddForwardRequest;
import io.invmux.proto.v1.AddListenerRequest;
import io.invmux.proto.v1.AddServiceRequest;
import io.invmux.proto.v1.CloseSessionRequest;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.DialLinkRequest;
import io.invmux.proto.v1.Forward;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.GetLinkRequest;
import io.invmux.proto.v1.GetSessionRequest;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.ListForwardsRequest;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListListenersRequest;
import io.invmux.proto.v1.ListServicesRequest;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.Listener;
import io.invmux.proto.v1.RemoveForwardRequest;
import io.invmux.proto.v1.RemoveListenerRequest;
import io.invmux.proto.v1.RemoveServiceRequest;
import io.invmux.proto.v1.Service;
import io.invmux.proto.v1.Session;
import io.invmux.proto.v1.UpdateLinkRequest;
import io.invmux.server.proxy.TestServer;
import java.net.ConnectException;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The management calls of ConnectionService and ForwardService, made over the API of two sidecar processes: pod-a
 * dials and forwards, pod-b accepts links and exposes services. Each test dials pod-b under a peer name of its
 * own, so it works on a session of its own and none depends on what another left behind.
 */
@Timeout(180)
class ManagementApiIT {
    private static final String TOKEN = "mgmt-token-0123456789abcdef";
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private static final ExecutorService pool = Executors.newCachedThreadPool();
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static ManagedChannel apiA;
    private static ManagedChannel apiB;
    private static String linksToB;
    private static String hostPortB;

    @BeforeAll
    static void start() throws Exception {
        hostPortB = "127.0.0.1:" + SidecarProcess.freePort();
        linksToB = "tcp://" + hostPortB;
        // A stream for a removed service is reset once nobody accepted it within limits.acceptTimeout.
        podB = SidecarProcess.start("pod-b", List.of("api.token=" + TOKEN, "admin.address=", "listeners.0=" + linksToB,
                "limits.acceptTimeout=2s"), List.of());
        podA = SidecarProcess.start("pod-a", List.of("api.token=" + TOKEN, "admin.address=", "listeners=[]"),
                List.of());
        apiA = channel(podA);
        apiB = channel(podB);
    }

    @AfterAll
    static void stop() throws Exception {
        for (ManagedChannel ch : new ManagedChannel[] {apiA, apiB}) {
            if (ch != null) {
                ch.shutdownNow();
            }
        }
        pool.shutdownNow();
        int a = podA == null ? 0 : podA.stop();
        int b = podB == null ? 0 : podB.stop();
        assertThat(a).as("pod-a exit code after SIGTERM").isZero();
        assertThat(b).as("pod-b exit code after SIGTERM").isZero();
    }

    private static ManagedChannel channel(SidecarProcess p) {
        Metadata auth = new Metadata();
        auth.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + TOKEN);
        return NettyChannelBuilder.forAddress("127.0.0.1", p.apiPort).usePlaintext()
                .intercept(MetadataUtils.newAttachHeadersInterceptor(auth)).build();
    }

    private static ConnectionServiceGrpc.ConnectionServiceBlockingStub connections(ManagedChannel ch) {
        return ConnectionServiceGrpc.newBlockingStub(ch).withDeadlineAfter(40, TimeUnit.SECONDS);
    }

    private static ForwardServiceGrpc.ForwardServiceBlockingStub forwards(ManagedChannel ch) {
        return ForwardServiceGrpc.newBlockingStub(ch).withDeadlineAfter(40, TimeUnit.SECONDS);
    }

    private static Link dial(String peer, String address, int priority, double weight) {
        return connections(apiA).dialLink(DialLinkRequest.newBuilder().setPeer(peer).setAddress(address)
                .setPriority(priority).setWeight(weight).build()).getLink();
    }

    private static Link getLink(Link l) {
        return connections(apiA).getLink(GetLinkRequest.newBuilder().setSessionId(l.getSessionId())
                .setLinkId(l.getLinkId()).build()).getLink();
    }

    private static Session getSession(ManagedChannel ch, String sessionId) {
        return connections(ch).getSession(GetSessionRequest.newBuilder().setSessionId(sessionId).build()).getSession();
    }

    private static List<String> sessionIds(ManagedChannel ch) {
        return connections(ch).listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList().stream()
                .map(Session::getSessionId).toList();
    }

    private static Listener addListener(String address) {
        return connections(apiB).addListener(AddListenerRequest.newBuilder().setAddress(address).build())
                .getListener();
    }

    private static List<Listener> listenersOfB() {
        return connections(apiB).listListeners(ListListenersRequest.getDefaultInstance()).getListenersList();
    }

    private static Status failure(ThrowingCallable call) {
        StatusRuntimeException e = catchThrowableOfType(StatusRuntimeException.class, call);
        assertThat(e).as("the call fails with a status").isNotNull();
        return e.getStatus();
    }

    private record Page<T>(List<T> items, String nextToken) {
    }

    /** Every item of a list call, asked for one item a page, following next_page_token until it is empty. */
    private static <T> List<T> everyPage(Function<String, Page<T>> call) {
        List<T> all = new ArrayList<>();
        String token = "";
        do {
            Page<T> page = call.apply(token);
            assertThat(page.items()).as("page after token '%s'", token).hasSize(1);
            all.addAll(page.items());
            assertThat(all).as("a token that never runs out").hasSizeLessThan(100);
            token = page.nextToken();
        } while (!token.isEmpty());
        return all;
    }

    /** Every link of pod-a ({@code sessionId} empty) or of one of its sessions, one link a page. */
    private static List<Link> everyLinkPage(String sessionId) {
        return everyPage(token -> {
            var r = connections(apiA).listLinks(ListLinksRequest.newBuilder().setSessionId(sessionId).setPageSize(1)
                    .setPageToken(token).build());
            return new Page<>(r.getLinksList(), r.getNextPageToken());
        });
    }

    @Test
    void dialedLinksJoinOneSessionAndAreReadUpdatedAndPagedBackOnBothSides() {
        Link first = dial("pod-b", linksToB, 0, 0);
        Link second = dial("pod-b", linksToB, 1, 2.5);
        Link third = dial("pod-b", linksToB, -1, 0.5);
        String session = first.getSessionId();
        List<String> ids = List.of(first.getLinkId(), second.getLinkId(), third.getLinkId());
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(List.of(first, second, third)).allSatisfy(l -> {
            assertThat(l.getSessionId()).isEqualTo(session);
            assertThat(l.getPeer()).isEqualTo("pod-b");
            assertThat(l.getRemoteAddress()).isEqualTo(hostPortB);
            assertThat(l.getTransport()).isEqualTo("tcp");
        });
        assertThat(first.getWeight()).as("weight 0 asks for the default").isEqualTo(1.0);
        assertThat(second).extracting(Link::getPriority, Link::getWeight).containsExactly(1, 2.5);
        for (Link l : List.of(first, second, third)) {
            assertThat(getLink(l)).extracting(Link::getLinkId, Link::getRemoteAddress, Link::getPriority,
                    Link::getWeight).containsExactly(l.getLinkId(), l.getRemoteAddress(), l.getPriority(),
                    l.getWeight());
        }

        Session atA = getSession(apiA, session);
        assertThat(atA.getPeer()).isEqualTo("pod-b");
        assertThat(atA.getDialer()).isTrue();
        assertThat(atA.getLinksList()).extracting(Link::getLinkId).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(atA.getLinksList()).extracting(Link::getRemoteAddress).containsOnly(hostPortB);
        // pod-b learns of each link when its handshake ends there, which may be just after pod-a's call returned.
        await().atMost(DEADLINE).untilAsserted(() -> {
            Session atB = getSession(apiB, session);
            assertThat(atB.getDialer()).isFalse();
            assertThat(atB.getLinksList()).extracting(Link::getLinkId).containsExactlyInAnyOrderElementsOf(ids);
            // No stream has told pod-b who dialed, so it names the peer by the address its first link came from.
            assertThat(atB.getLinksList()).extracting(Link::getRemoteAddress).allMatch(a -> a.matches(
                    "127\\.0\\.0\\.1:\\d+")).contains(atB.getPeer());
        });

        UpdateLinkRequest.Builder update = UpdateLinkRequest.newBuilder().setSessionId(session)
                .setLinkId(third.getLinkId());
        assertThat(connections(apiA).updateLink(update.setPriority(7).setWeight(3.25).build()).getLink())
                .extracting(Link::getPriority, Link::getWeight).containsExactly(7, 3.25);
        assertThat(getLink(third)).extracting(Link::getPriority, Link::getWeight).containsExactly(7, 3.25);
        // Unset fields are left alone: only the priority changes here.
        connections(apiA).updateLink(update.clearWeight().setPriority(4).build());

        List<Link> paged = everyLinkPage(session);
        assertThat(paged).extracting(Link::getLinkId).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(paged).extracting(Link::getLinkId, Link::getPriority, Link::getWeight).contains(
                tuple(first.getLinkId(), 0, 1.0), tuple(second.getLinkId(), 1, 2.5), tuple(third.getLinkId(), 4, 3.25));
    }

    @Test
    void pagesCoverEverySessionAndLinkOnceAndACloseEndsOnlyThatSessionOnBothSides() {
        String kept = dial("pod-b-kept", linksToB, 0, 0).getSessionId();
        String closing = dial("pod-b-closing", linksToB, 0, 0).getSessionId();
        List<String> paged = everyPage(token -> {
            var r = connections(apiA).listSessions(ListSessionsRequest.newBuilder().setPageSize(1)
                    .setPageToken(token).build());
            return new Page<>(r.getSessionsList().stream().map(Session::getSessionId).toList(),
                    r.getNextPageToken());
        });
        assertThat(paged).contains(kept, closing).containsExactlyInAnyOrderElementsOf(sessionIds(apiA));
        // Across sessions too: the offset must not slip where one session's links end and the next one's begin.
        assertThat(everyLinkPage("")).extracting(Link::getSessionId, Link::getLinkId)
                .containsExactlyInAnyOrderElementsOf(connections(apiA).listLinks(ListLinksRequest.getDefaultInstance())
                        .getLinksList().stream().map(l -> tuple(l.getSessionId(), l.getLinkId())).toList());
        await().atMost(DEADLINE).until(() -> sessionIds(apiB).containsAll(List.of(kept, closing)));

        connections(apiA).closeSession(CloseSessionRequest.newBuilder().setSessionId(closing).build());
        // pod-b must hear of the close: were it only to lose the links, it would keep the session for the 30 s
        // resume grace period, past this deadline.
        await().atMost(DEADLINE).untilAsserted(() -> {
            assertThat(sessionIds(apiA)).doesNotContain(closing).contains(kept);
            assertThat(sessionIds(apiB)).doesNotContain(closing).contains(kept);
        });
        assertThat(failure(() -> getSession(apiA, closing)).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void aListenerAddedAtRuntimeTakesLinksUntilItIsRemoved() {
        String any = "tcp://127.0.0.1:0";
        Listener added = addListener(any);
        assertThat(added.getAddress()).isEqualTo(any);
        // The bound address is a link URI with the port that was picked: a peer can dial it as it is.
        assertThat(added.getBoundAddress()).matches("tcp://127\\.0\\.0\\.1:[1-9]\\d*");
        String bound = added.getBoundAddress();
        Listener configured = Listener.newBuilder().setAddress(linksToB).setBoundAddress(linksToB).build();
        assertThat(listenersOfB()).containsExactlyInAnyOrder(configured, added);
        // Were it taken, the first listener would go on accepting links without being listed or removable.
        Status again = failure(() -> addListener(any));
        assertThat(again.getCode()).as(again.toString()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(again.getDescription()).contains("address", any);
        assertThat(listenersOfB()).containsExactlyInAnyOrder(configured, added);

        Link link = dial("pod-b-late", bound, 0, 0);
        assertThat(link.getRemoteAddress()).isEqualTo(bound.substring("tcp://".length()));

        connections(apiB).removeListener(RemoveListenerRequest.newBuilder().setAddress(any).build());
        assertThat(listenersOfB()).containsExactly(configured);
        // Unreachable, as for any peer that cannot be dialed: both for one more link and for a new session.
        String port = bound.substring(bound.lastIndexOf(':') + 1);
        assertThat(List.of(failure(() -> dial("pod-b-late", bound, 0, 0)),
                failure(() -> dial("pod-b-never", bound, 0, 0)))).allSatisfy(s -> {
                    assertThat(s.getCode()).as(s.toString()).isEqualTo(Status.Code.UNAVAILABLE);
                    assertThat(s.getDescription()).contains(port);
                });
        assertThat(connections(apiA).listSessions(ListSessionsRequest.getDefaultInstance()).getSessionsList())
                .extracting(Session::getPeer).doesNotContain("pod-b-never");
        assertThat(getSession(apiA, link.getSessionId()).getLinksList()).as("a link already joined stays up")
                .extracting(Link::getLinkId).containsExactly(link.getLinkId());
        assertThat(failure(() -> connections(apiB).removeListener(RemoveListenerRequest.newBuilder()
                .setAddress(any).build())).getCode()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void aForwardAndAServiceAddedAtRuntimeCarryBytesIntactUntilRemoved() throws Exception {
        // Two links, so the forwarded bytes are spread over a bundle and put back in order, as in production.
        dial("pod-b-fwd", linksToB, 0, 0);
        dial("pod-b-fwd", linksToB, 0, 0);
        try (TestServer echo = TestServer.start(TestServer.ECHO)) {
            String target = "127.0.0.1:" + echo.address().getPort();
            Service service = forwards(apiB).addService(AddServiceRequest.newBuilder().setName("echo-rt")
                    .setTarget(target).build()).getService();
            assertThat(service).extracting(Service::getName, Service::getTarget).containsExactly("echo-rt", target);
            assertThat(forwards(apiB).listServices(ListServicesRequest.getDefaultInstance()).getServicesList())
                    .containsExactly(service);
            Forward forward = forwards(apiA).addForward(AddForwardRequest.newBuilder().setListen("127.0.0.1:0")
                    .setPeer("pod-b-fwd").setService("echo-rt").build()).getForward();
            assertThat(forward).extracting(Forward::getListen, Forward::getPeer, Forward::getService)
                    .containsExactly("127.0.0.1:0", "pod-b-fwd", "echo-rt");
            assertThat(forward.getBoundAddress()).matches("127\\.0\\.0\\.1:[1-9]\\d*");
            assertThat(forwards(apiA).listForwards(ListForwardsRequest.getDefaultInstance()).getForwardsList())
                    .containsExactly(forward);
            int port = Integer.parseInt(forward.getBoundAddress().substring("127.0.0.1:".length()));

            long size = 8L * 1024 * 1024;
            try (Socket client = new Socket("127.0.0.1", port)) {
                // Written while the echo is read: neither side could hold 8 MiB before the other starts.
                Future<String> sent = pool.submit(() -> {
                    String digest = TestData.write(client.getOutputStream(), size, 64 * 1024, 11);
                    client.shutdownOutput();
                    return digest;
                });
                TestData.Digest echoed = TestData.read(client.getInputStream());
                assertThat(echoed.bytes()).isEqualTo(size);
                assertThat(echoed.sha256()).isEqualTo(sent.get(30, TimeUnit.SECONDS));
            }
            assertThat(echo.accepted()).isEqualTo(1);

            forwards(apiA).removeForward(RemoveForwardRequest.newBuilder().setListen(forward.getBoundAddress())
                    .build());
            assertThat(forwards(apiA).listForwards(ListForwardsRequest.getDefaultInstance()).getForwardsList())
                    .isEmpty();
            podA.awaitLine("forward " + forward.getBoundAddress() + " -> pod-b-fwd/echo-rt: stopped listening", 10);
            // Refused, unless another process takes the freed port at once (builds share this machine): what counts
            // then is that the connection never reaches the echo server, checked at the end.
            try {
                new Socket("127.0.0.1", port).close();
            } catch (ConnectException expected) {
                // the usual case
            }

            forwards(apiB).removeService(RemoveServiceRequest.newBuilder().setName("echo-rt").build());
            assertThat(forwards(apiB).listServices(ListServicesRequest.getDefaultInstance()).getServicesList())
                    .isEmpty();
            // Without the service, pod-b holds the stream for an AcceptStream call that never comes, then resets
            // it: the opener sees the reset as documented for StreamService.
            var stream = GrpcStream.open(apiA, "pod-b-fwd", "echo-rt");
            assertThat(stream.awaitFailure(30).getCode()).isEqualTo(Status.Code.CANCELLED);
            assertThat(echo.accepted()).as("connections that reached the echo server through what was removed")
                    .isEqualTo(1);
            assertThat(failure(() -> forwards(apiB).removeService(RemoveServiceRequest.newBuilder()
                    .setName("echo-rt").build())).getCode()).isEqualTo(Status.Code.NOT_FOUND);
            assertThat(echo.failures()).isEmpty();
        }
    }
}
