package io.invmux.server.it;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.concurrent.TimeUnit.SECONDS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.grpc.CallOptions;
import io.grpc.ClientCall;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.ServiceDescriptor;
import io.grpc.Status;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.reflection.v1.ServerReflectionGrpc;
import io.invmux.TestData;
import io.invmux.proto.v1.AcceptStreamRequest;
import io.invmux.proto.v1.AcceptStreamResponse;
import io.invmux.proto.v1.ConnectionServiceGrpc;
import io.invmux.proto.v1.ForwardServiceGrpc;
import io.invmux.proto.v1.GetStatsRequest;
import io.invmux.proto.v1.Link;
import io.invmux.proto.v1.ListForwardsRequest;
import io.invmux.proto.v1.ListLinksRequest;
import io.invmux.proto.v1.ListSessionsRequest;
import io.invmux.proto.v1.MonitorServiceGrpc;
import io.invmux.proto.v1.OpenStreamRequest;
import io.invmux.proto.v1.OpenStreamResponse;
import io.invmux.proto.v1.StreamInfo;
import io.invmux.proto.v1.StreamServiceGrpc;
import io.invmux.proto.v1.WatchHealthRequest;
import io.invmux.server.it.PrometheusText.Sample;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * How a sidecar routes the streams a peer opens to the applications accepting them, and what it shows about them
 * (metrics, logs, the API token), with two sidecar processes joined by three links. Each test uses its own
 * service names, so the tests share the two processes.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class StreamRoutingIT {
    /** pod-b's limits.acceptTimeout: long enough for the pending-limit test to open its 257 streams first. */
    private static final int ACCEPT_TIMEOUT_MS = 8000;
    private static final String TOKEN = "routing-it-token-0123456789";
    private static final int LINKS = 3;
    /** ServiceRouter.MAX_PENDING_PER_SERVICE: streams that may wait for an acceptor, per service. */
    private static final int MAX_PENDING = 256;

    private static final ExecutorService pool = Executors.newCachedThreadPool();
    private static final List<ManagedChannel> channels = new ArrayList<>();
    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static Side a;
    private static Side b;

    /** One sidecar as a test sees it: its process, an API channel with the token, its admin port, its peer. */
    private record Side(SidecarProcess process, ManagedChannel api, int adminPort, String peer, String linkPath) {
    }

    @BeforeAll
    static void start() throws Exception {
        int linkPort = SidecarProcess.freePort();
        int adminA = SidecarProcess.freePort();
        int adminB = SidecarProcess.freePort();
        // debug: stream lifecycle lines are logged at that level
        List<String> common = List.of("api.token=" + TOKEN, "logging.level=debug");
        List<String> settingsB = new ArrayList<>(common);
        settingsB.addAll(List.of("admin.address=127.0.0.1:" + adminB, "listeners.0=tcp://127.0.0.1:" + linkPort,
                "limits.acceptTimeout=" + ACCEPT_TIMEOUT_MS + "ms"));
        podB = SidecarProcess.start("pod-b", settingsB, List.of());
        List<String> settingsA = new ArrayList<>(common);
        settingsA.addAll(List.of("admin.address=127.0.0.1:" + adminA, "listeners=[]", "peers.0.name=pod-b"));
        for (int i = 0; i < LINKS; i++) {
            settingsA.add("peers.0.links." + i + ".address=tcp://127.0.0.1:" + linkPort);
        }
        podA = SidecarProcess.start("pod-a", settingsA, List.of());
        // The link label: the address dialed on the dialing side, remote host -> listener on the accepting side.
        a = new Side(podA, channel(podA, TOKEN), adminA, "pod-b", "127.0.0.1:" + linkPort);
        b = new Side(podB, channel(podB, TOKEN), adminB, "pod-a", "127.0.0.1->127.0.0.1:" + linkPort);
        await().atMost(Duration.ofSeconds(30)).until(() -> links(a).size() == LINKS && links(b).size() == LINKS);
    }

    @AfterAll
    static void stop() throws Exception {
        channels.forEach(ManagedChannel::shutdownNow);
        int exitA = podA == null ? 0 : podA.stop();
        int exitB = podB == null ? 0 : podB.stop();
        pool.shutdownNow();
        assertThat(pool.awaitTermination(10, SECONDS)).isTrue();
        assertThat(exitA).as("pod-a exit code after SIGTERM").isZero();
        assertThat(exitB).as("pod-b exit code after SIGTERM").isZero();
    }

    private static ManagedChannel channel(SidecarProcess p, String token) {
        ManagedChannel ch = ApiChannels.open(p, token);
        channels.add(ch);
        return ch;
    }

    private static List<Link> links(Side side) {
        return ConnectionServiceGrpc.newBlockingStub(side.api()).withDeadlineAfter(10, SECONDS)
                .listLinks(ListLinksRequest.getDefaultInstance()).getLinksList();
    }

    // ------------------------------------------------------------------ what the applications send

    /** Distinct per stream, so a stream delivered to the wrong call, or cut short, shows. */
    private static long size(int stream) {
        return 64 * 1024 * (stream + 1) + stream;
    }

    /** A header line naming the stream, {@code size} pseudo-random bytes from {@code seed}, then end of stream. */
    private static String send(OutputStream out, String header, long size, long seed) throws IOException {
        out.write((header + "\n").getBytes(UTF_8));
        String digest = TestData.write(out, size, 16 * 1024, seed);
        out.close();
        return digest;
    }

    private record Received(String header, TestData.Digest body) {
    }

    private static Received receive(InputStream in) throws IOException {
        return new Received(readLine(in), TestData.read(in));
    }

    private static String readLine(InputStream in) throws IOException {
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        for (int c = in.read(); c != '\n'; c = in.read()) {
            if (c < 0) {
                throw new EOFException("the stream ended before its header line: '" + line.toString(UTF_8) + "'");
            }
            line.write(c);
        }
        return line.toString(UTF_8);
    }

    /** What an accepting application got, and the digest of what it answered. */
    private record Served(StreamInfo info, Received request, String replyDigest) {
    }

    /** An accepting application: answers the stream it gets, writing while it reads the rest of the request. */
    private static Served serve(GrpcStream<AcceptStreamRequest, AcceptStreamResponse> call) throws Exception {
        String header = readLine(call.in);
        int k = Integer.parseInt(header.substring(header.lastIndexOf('-') + 1));
        Future<String> reply = pool.submit(() -> send(call.out, "reply-to-" + header, size(k) + 7, 100 + k));
        TestData.Digest body = TestData.read(call.in);
        return new Served(call.awaitInfo(0), new Received(header, body), reply.get(60, SECONDS));
    }

    /** One stream from pod-a to an application accepting {@code service} at pod-b, answered and ended cleanly. */
    private static StreamInfo exchange(String service, int k) throws Exception {
        var acceptor = GrpcStream.accept(b.api(), service);
        Future<Served> served = pool.submit(() -> serve(acceptor));
        var opener = GrpcStream.open(a.api(), "pod-b", service);
        Future<Received> reply = pool.submit(() -> receive(opener.in));
        String sent = send(opener.out, service + "-" + k, size(k), k);
        assertThat(served.get(60, SECONDS).request()).isEqualTo(new Received(service + "-" + k,
                new TestData.Digest(sent, size(k))));
        assertThat(reply.get(60, SECONDS)).isEqualTo(new Received("reply-to-" + service + "-" + k,
                new TestData.Digest(served.get().replyDigest(), size(k) + 7)));
        assertThat(opener.end.get(30, SECONDS).getCode()).isEqualTo(Status.Code.OK);
        assertThat(acceptor.end.get(30, SECONDS).getCode()).isEqualTo(Status.Code.OK);
        return opener.awaitInfo(0);
    }

    // ------------------------------------------------------------------ routing

    @Test
    void eachOutstandingAcceptCallGetsExactlyOneStreamWithItsOwnBytesBothWays() throws Exception {
        int n = 4;
        List<GrpcStream<AcceptStreamRequest, AcceptStreamResponse>> accepts = new ArrayList<>();
        List<Future<Served>> served = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            var call = GrpcStream.accept(b.api(), "fan-in");
            accepts.add(call);
            served.add(pool.submit(() -> serve(call)));
        }
        List<GrpcStream<OpenStreamRequest, OpenStreamResponse>> opens = new ArrayList<>();
        List<Future<String>> sent = new ArrayList<>();
        List<Future<Received>> replies = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            var call = GrpcStream.open(a.api(), "pod-b", "fan-in");
            int k = i;
            opens.add(call);
            sent.add(pool.submit(() -> send(call.out, "open-" + k, size(k), k)));
            replies.add(pool.submit(() -> receive(call.in)));
        }
        Map<String, Served> byHeader = new HashMap<>();
        for (Future<Served> f : served) {
            Served s = f.get(60, SECONDS);
            byHeader.put(s.request().header(), s);
        }
        assertThat(byHeader).containsOnlyKeys("open-0", "open-1", "open-2", "open-3");
        for (int i = 0; i < n; i++) {
            Served s = byHeader.get("open-" + i);
            StreamInfo opened = opens.get(i).awaitInfo(10);
            assertThat(s.info().getStreamId()).isEqualTo(opened.getStreamId());
            assertThat(s.info().getSessionId()).isEqualTo(opened.getSessionId());
            assertThat(s.info().getPeer()).isEqualTo("pod-a");
            assertThat(s.info().getService()).isEqualTo("fan-in");
            assertThat(s.request().body()).isEqualTo(new TestData.Digest(sent.get(i).get(60, SECONDS), size(i)));
            assertThat(replies.get(i).get(60, SECONDS)).isEqualTo(new Received("reply-to-open-" + i,
                    new TestData.Digest(s.replyDigest(), size(i) + 7)));
        }
        for (var call : opens) {
            assertThat(call.end.get(30, SECONDS).getCode()).isEqualTo(Status.Code.OK);
        }
        for (var call : accepts) {
            assertThat(call.end.get(30, SECONDS).getCode()).isEqualTo(Status.Code.OK);
        }
    }

    @Test
    void aResetMessageAbortsTheStreamSoThePeerReadsAResetNotAnEndOfStreamThoughTheCallHalfClosesAfterIt()
            throws Exception {
        var opened = GrpcStream.join(a.api(), b.api(), "pod-b", "abort-me");
        opened.opener().out.write(new byte[1000]);
        assertThat(opened.acceptor().in.readNBytes(1000)).hasSize(1000); // up both ways, bytes flowing
        opened.opener().resetThenHalfClose(OpenStreamRequest.newBuilder().setReset(true).build());
        assertThat(opened.opener().end.get(30, SECONDS)).satisfies(s -> {
            assertThat(s.getCode()).isEqualTo(Status.Code.CANCELLED);
            assertThat(s.getDescription()).isEqualTo("the application reset the stream");
        });
        // A bare half-close would have reached the acceptor as the end of stream (awaitFailure: OK).
        assertThat(opened.acceptor().awaitFailure(30).getCode()).isEqualTo(Status.Code.CANCELLED);

        var accepted = GrpcStream.join(a.api(), b.api(), "pod-b", "abort-me");
        accepted.acceptor().out.write(new byte[1000]);
        assertThat(accepted.opener().in.readNBytes(1000)).hasSize(1000);
        accepted.acceptor().resetThenHalfClose(AcceptStreamRequest.newBuilder().setReset(true).build());
        assertThat(accepted.acceptor().end.get(30, SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
        assertThat(accepted.opener().awaitFailure(30).getCode()).isEqualTo(Status.Code.CANCELLED);
        exchange("after-the-resets", 3); // one stream each, not the session
    }

    @Test
    void aStreamNobodyAcceptsIsResetNamingTheServiceWhileOtherStreamsGoOn() throws Exception {
        var orphan = GrpcStream.open(a.api(), "pod-b", "nobody-home");
        assertThat(orphan.awaitInfo(30).getService()).isEqualTo("nobody-home");
        exchange("meanwhile", 1);
        Status status = orphan.end.get(60, SECONDS);
        assertThat(status.getCode()).as(status.toString()).isEqualTo(Status.Code.CANCELLED);
        assertThat(status.getDescription()).contains("'nobody-home'").contains("within " + ACCEPT_TIMEOUT_MS + " ms");
        // The reset ended one stream, not the session.
        exchange("afterwards", 2);
    }

    @Test
    void streamsBeyondThePendingLimitAreRefusedAndWaitingOnesGoToTheNextAcceptor() throws Exception {
        List<GrpcStream<OpenStreamRequest, OpenStreamResponse>> opens = new ArrayList<>();
        for (int i = 0; i <= MAX_PENDING; i++) {
            opens.add(GrpcStream.open(a.api(), "pod-b", "crowded"));
        }
        for (var call : opens) {
            call.awaitInfo(30);
        }
        // One too many: refused at once, while the others wait for an acceptor (for seconds).
        await().atMost(Duration.ofSeconds(30)).until(() -> opens.stream().anyMatch(c -> c.end.isDone()));
        List<Status> ended = opens.stream().filter(c -> c.end.isDone()).map(c -> c.end.join()).toList();
        assertThat(ended).hasSize(1);
        assertThat(ended.get(0).getCode()).as(ended.get(0).toString()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        assertThat(ended.get(0).getDescription()).contains("'crowded'");

        var acceptor = GrpcStream.accept(b.api(), "crowded");
        int taken = acceptor.awaitInfo(30).getStreamId();
        var opener = opens.stream().filter(c -> c.streamInfo.getStreamId() == taken).findFirst().orElseThrow();
        opener.out.write("late\n".getBytes(UTF_8));
        assertThat(readLine(acceptor.in)).isEqualTo("late");
        acceptor.out.write("welcome\n".getBytes(UTF_8));
        assertThat(readLine(opener.in)).isEqualTo("welcome");
        opener.out.close();
        acceptor.out.close();
        assertThat(opener.end.get(30, SECONDS).getCode()).isEqualTo(Status.Code.OK);

        CompletableFuture.allOf(opens.stream().map(c -> c.end).toArray(CompletableFuture[]::new)).get(60, SECONDS);
        assertThat(opens.stream().filter(c -> c != opener).map(c -> c.end.join().getCode()))
                .containsOnly(Status.Code.RESOURCE_EXHAUSTED, Status.Code.CANCELLED)
                .filteredOn(c -> c == Status.Code.CANCELLED).hasSize(MAX_PENDING - 1);
    }

    // ------------------------------------------------------------------ what the sidecars show

    private static List<Sample> series(List<Sample> samples, String name, String peer) {
        return samples.stream().filter(s -> s.name().equals(name) && peer.equals(s.label("peer"))).toList();
    }

    private static double total(List<Sample> samples, String name, String peer) {
        return series(samples, name, peer).stream().mapToDouble(Sample::value).sum();
    }

    @Test
    void metricsHaveASeriesPerPeerAndPerLinkPathThatCountTheTraffic() throws Exception {
        String session = links(a).get(0).getSessionId();
        Map<Side, List<Sample>> before = new HashMap<>();
        for (Side side : List.of(a, b)) {
            before.put(side, PrometheusText.scrape(side.adminPort()));
        }
        assertThat(exchange("metered", 3).getSessionId()).isEqualTo(session);
        long moved = size(3); // each way, at least
        for (Side side : List.of(a, b)) {
            List<Sample> now = PrometheusText.scrape(side.adminPort());
            String peer = side.peer();
            assertThat(now).filteredOn(s -> s.name().equals("invmux_sessions")).singleElement()
                    .extracting(Sample::value).isEqualTo(1.0);
            assertThat(now).as("no series names a session or link id: they are new on every redial")
                    .allSatisfy(s -> assertThat(s.labels()).doesNotContainKeys("session", "session_id")
                            .doesNotContainValue(session));
            for (String name : List.of("invmux_session_sent_bytes_total", "invmux_session_received_bytes_total")) {
                assertThat(series(now, name, peer)).singleElement();
                assertThat(total(now, name, peer) - total(before.get(side), name, peer)).as(name)
                        .isGreaterThanOrEqualTo(moved);
            }
            // Three links dialed to one address: one series each, told apart by a suffix in link id order.
            List<String> paths = List.of(side.linkPath(), side.linkPath() + "#2", side.linkPath() + "#3");
            assertThat(series(now, "invmux_link_healthy", peer)).as("one series per link")
                    .hasSize(LINKS).allSatisfy(s -> assertThat(s.value()).isIn(0.0, 1.0))
                    .extracting(s -> s.label("link")).containsExactlyInAnyOrderElementsOf(paths);
            for (String name : List.of("invmux_link_sent_bytes_total", "invmux_link_received_bytes_total")) {
                assertThat(series(now, name, peer)).extracting(s -> s.label("link"))
                        .containsExactlyInAnyOrderElementsOf(paths);
                assertThat(total(now, name, peer) - total(before.get(side), name, peer)).as(name)
                        .isGreaterThanOrEqualTo(moved);
            }
            assertThat(series(now, "invmux_link_rtt_seconds", peer)).hasSize(LINKS)
                    .allSatisfy(s -> assertThat(s.value()).isBetween(0.0, 30.0));
            assertThat(series(now, "invmux_session_reorder_bytes", peer)).as("bytes held out of order now")
                    .singleElement().satisfies(s -> assertThat(s.value()).isBetween(0.0, 64.0 * 1024 * 1024));
        }
    }

    @Test
    void logsNameTheSessionItsLinksAndEachStream() throws Exception {
        StreamInfo info = exchange("logged", 0);
        String session = info.getSessionId();
        String stream = "stream " + info.getStreamId() + " of session " + session;
        for (Side side : List.of(a, b)) {
            List<String> out = side.process().output();
            assertThat(out).anyMatch(l -> l.contains("session " + session) && l.contains("started"));
            for (Link link : links(side)) {
                assertThat(out).as("link %s", link.getLinkId()).anyMatch(l -> l.contains("session " + session)
                        && l.contains("link " + link.getLinkId() + " ") && l.contains(" up"));
            }
            // The end of a stream is logged as it finishes, which can trail the calls' end by a little.
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                assertThat(out).anyMatch(l -> l.contains(stream) && l.contains("'logged'") && l.contains("open"));
                assertThat(out).anyMatch(l -> l.contains(stream) && l.contains("ended"));
            });
            // Debug is the sidecar's: the libraries would otherwise log every HTTP/2 frame of the API calls.
            assertThat(out).noneMatch(l -> l.contains(" DEBUG io.grpc") || l.contains(" DEBUG io.netty"));
        }
    }

    // ------------------------------------------------------------------ the API token

    /** Makes one call of {@code method} with its default request and returns how it ended. */
    @SuppressWarnings("unchecked")
    private static <Q, R> Status call(ManagedChannel channel, MethodDescriptor<Q, R> method) throws Exception {
        CompletableFuture<Status> closed = new CompletableFuture<>();
        ClientCall<Q, R> call = channel.newCall(method, CallOptions.DEFAULT.withDeadlineAfter(20, SECONDS));
        call.start(new ClientCall.Listener<>() {
            @Override
            public void onClose(Status status, Metadata trailers) {
                closed.complete(status);
            }
        }, new Metadata());
        call.request(1);
        call.sendMessage(((MethodDescriptor.PrototypeMarshaller<Q>) method.getRequestMarshaller())
                .getMessagePrototype());
        call.halfClose();
        return closed.get(30, SECONDS);
    }

    @Test
    void everyApiMethodButHealthRefusesACallWithoutTheToken() throws Exception {
        ManagedChannel bare = channel(podA, null);
        for (ServiceDescriptor service : List.of(StreamServiceGrpc.getServiceDescriptor(),
                MonitorServiceGrpc.getServiceDescriptor(), ForwardServiceGrpc.getServiceDescriptor(),
                ConnectionServiceGrpc.getServiceDescriptor(), ServerReflectionGrpc.getServiceDescriptor())) {
            assertThat(service.getMethods()).isNotEmpty();
            for (MethodDescriptor<?, ?> method : service.getMethods()) {
                Status s = call(bare, method);
                assertThat(s.getCode()).as("%s: %s", method.getFullMethodName(), s).isEqualTo(
                        Status.Code.UNAUTHENTICATED);
            }
        }
        assertThat(HealthGrpc.newBlockingStub(bare).withDeadlineAfter(10, SECONDS).check(HealthCheckRequest
                .newBuilder().setService("readiness").build()).getStatus()).isEqualTo(ServingStatus.SERVING);
        // The same calls with the token get through.
        assertThat(MonitorServiceGrpc.newBlockingStub(a.api()).getStats(GetStatsRequest.getDefaultInstance())
                .getSessionsCount()).isEqualTo(1);
        assertThat(MonitorServiceGrpc.newBlockingStub(a.api()).withDeadlineAfter(10, SECONDS)
                .watchHealth(WatchHealthRequest.getDefaultInstance()).hasNext()).isTrue();
        assertThat(ForwardServiceGrpc.newBlockingStub(a.api()).listForwards(ListForwardsRequest.getDefaultInstance())
                .getForwardsList()).isEmpty();
        assertThat(ConnectionServiceGrpc.newBlockingStub(a.api()).listSessions(ListSessionsRequest
                .getDefaultInstance()).getSessionsCount()).isEqualTo(1);
        assertThat(exchange("with-token", 0).getPeer()).isEqualTo("pod-b");
    }
}
