package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.client.examples.EchoMain;
import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import io.invmux.proto.v1.StreamInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/** Streams through two real sidecar processes: an app on pod-a opens, an app on pod-b accepts. */
@ExtendWith(SidecarPairExtension.class)
class EchoLiveTest {
    private static final int SIZE = 64 * 1024 * 1024;
    private static InvMuxClient a;
    private static InvMuxClient b;

    @BeforeAll
    static void clients(SidecarPair pair) {
        a = pair.clientA();
        b = pair.clientB();
    }

    @AfterAll
    static void close() {
        a.close();
        b.close();
    }

    record Accepted(EchoMain.Echoed echoed, StreamInfo info) {
    }

    /** pod-b's app: accepts one stream, echoes everything back while hashing it. */
    static CompletableFuture<Accepted> echoServer(InvMuxClient client, String service) {
        return client.acceptStreamAsync(service).thenApplyAsync(s -> {
            try (s) {
                return new Accepted(EchoMain.echoBack(s), s.info());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    @Test
    void echoOf64MiBThroughOpenAndAcceptKeepsEveryByte() throws Exception {
        CompletableFuture<Accepted> accepted = echoServer(b, "java-echo");
        EchoMain.Sent sent;
        try (InvMuxStream s = a.openStream(SidecarPair.PEER, "java-echo", Map.of("lang", "java"))) {
            assertThat(s.info().getService()).isEqualTo("java-echo");
            assertThat(s.info().getSessionId()).hasSize(32);
            sent = EchoMain.sendAndReadEcho(s, SIZE, 42);
        }
        Accepted acc = accepted.get(60, TimeUnit.SECONDS);
        assertThat(sent.echoBytes()).isEqualTo(SIZE);
        assertThat(sent.echoSha256()).isEqualTo(sent.sentSha256());
        assertThat(acc.echoed().bytes()).isEqualTo(SIZE);
        assertThat(acc.echoed().sha256()).isEqualTo(sent.sentSha256());
        assertThat(acc.info().getMetadataMap()).containsEntry("lang", "java");
        assertThat(acc.info().getPeer()).isEqualTo("pod-a");
        assertThat(acc.info().getService()).isEqualTo("java-echo");
    }

    @Test
    void theAcceptorAnswersAfterReadingTheWholeRequest() throws Exception {
        CompletableFuture<Void> server = b.acceptStreamAsync("java-rr").thenAcceptAsync(s -> {
            try (s) {
                byte[] req = s.inputStream().readAllBytes(); // to the end of stream
                s.outputStream().write(("got " + req.length + " bytes: "
                        + new String(req, StandardCharsets.UTF_8).toUpperCase()).getBytes(StandardCharsets.UTF_8));
                s.closeWrite();
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        try (InvMuxStream s = a.openStreamAsync(SidecarPair.PEER, "java-rr", Map.of()).get(10, TimeUnit.SECONDS)) {
            s.outputStream().write("hello".getBytes(StandardCharsets.UTF_8));
            s.closeWrite();
            assertThat(new String(s.inputStream().readAllBytes(), StandardCharsets.UTF_8))
                    .isEqualTo("got 5 bytes: HELLO");
            s.whenDone().get(10, TimeUnit.SECONDS); // the call ended normally
        }
        server.get(10, TimeUnit.SECONDS);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = io.invmux.proto.v1.TrafficClass.class,
            names = {"TRAFFIC_CLASS_BULK", "TRAFFIC_CLASS_INTERACTIVE", "TRAFFIC_CLASS_REDUNDANT"})
    void theTrafficClassTheOpenerChoseReachesTheAcceptor(io.invmux.proto.v1.TrafficClass trafficClass)
            throws Exception {
        String service = "java-tc-" + trafficClass.getNumber();
        byte[] data = new byte[256 * 1024];
        new Random(trafficClass.getNumber()).nextBytes(data);
        CompletableFuture<InvMuxStream> accepted = b.acceptStreamAsync(service);
        try (InvMuxStream s = a.openStream(SidecarPair.PEER, service, Map.of(), trafficClass)) {
            assertThat(s.info().getTrafficClass()).isEqualTo(trafficClass);
            s.outputStream().write(data);
            s.closeWrite();
            try (InvMuxStream peer = accepted.get(10, TimeUnit.SECONDS)) {
                assertThat(peer.info().getTrafficClass()).isEqualTo(trafficClass);
                assertThat(peer.inputStream().readAllBytes()).isEqualTo(data);
                peer.closeWrite();
            }
            assertThat(s.inputStream().readAllBytes()).isEmpty();
        }
    }

    @Test
    void abortingResetsThePeer() throws Exception {
        CompletableFuture<InvMuxStream> accepted = b.acceptStreamAsync("java-abort");
        InvMuxStream s = a.openStream(SidecarPair.PEER, "java-abort");
        s.outputStream().write(new byte[1000]);
        try (InvMuxStream peer = accepted.get(10, TimeUnit.SECONDS)) {
            assertThat(peer.inputStream().readNBytes(1000)).hasSize(1000);
            s.abort();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> peer.inputStream().read())
                    .isInstanceOfSatisfying(InvMuxException.class, e -> assertThat(e.code())
                            .isIn(io.grpc.Status.Code.CANCELLED, io.grpc.Status.Code.UNAVAILABLE));
        }
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> s.inputStream().read())
                .isInstanceOfSatisfying(InvMuxException.class,
                        e -> assertThat(e.code()).isEqualTo(io.grpc.Status.Code.CANCELLED));
    }
}
