package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.client.testing.SidecarPair;
import io.invmux.client.testing.SidecarPairExtension;
import io.invmux.proto.v1.StreamInfo;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
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

    record Accepted(long bytes, String sha256, StreamInfo info) {
    }

    /** pod-b's app: accepts one stream, echoes everything back while hashing it. */
    static CompletableFuture<Accepted> echoServer(InvMuxClient client, String service) {
        return client.acceptStreamAsync(service).thenApplyAsync(s -> {
            try (s) {
                MessageDigest h = MessageDigest.getInstance("SHA-256");
                InputStream in = s.inputStream();
                OutputStream out = s.outputStream();
                byte[] buf = new byte[256 * 1024];
                long n = 0;
                int r;
                while ((r = in.read(buf)) >= 0) {
                    h.update(buf, 0, r);
                    out.write(buf, 0, r);
                    n += r;
                }
                s.closeWrite();
                return new Accepted(n, HexFormat.of().formatHex(h.digest()), s.info());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    @Test
    void echoOf64MiBThroughOpenAndAcceptKeepsEveryByte() throws Exception {
        CompletableFuture<Accepted> accepted = echoServer(b, "java-echo");
        MessageDigest sent = MessageDigest.getInstance("SHA-256");
        MessageDigest echo = MessageDigest.getInstance("SHA-256");
        long received = 0;
        try (InvMuxStream s = a.openStream(SidecarPair.PEER, "java-echo", Map.of("lang", "java"))) {
            assertThat(s.info().getService()).isEqualTo("java-echo");
            assertThat(s.info().getSessionId()).hasSize(32);
            // write while the echo is read back, or both sides stall on full windows
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try (OutputStream out = s.outputStream()) { // close = half-close
                    Random rnd = new Random(42);
                    byte[] block = new byte[1 << 20];
                    for (int off = 0; off < SIZE; off += block.length) {
                        rnd.nextBytes(block);
                        sent.update(block);
                        out.write(block);
                    }
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            byte[] buf = new byte[128 * 1024];
            int r;
            while ((r = s.inputStream().read(buf)) >= 0) {
                echo.update(buf, 0, r);
                received += r;
            }
            writing.get(60, TimeUnit.SECONDS);
        }
        Accepted acc = accepted.get(60, TimeUnit.SECONDS);
        String sentHex = HexFormat.of().formatHex(sent.digest());
        assertThat(received).isEqualTo(SIZE);
        assertThat(acc.bytes()).isEqualTo(SIZE);
        assertThat(HexFormat.of().formatHex(echo.digest())).isEqualTo(sentHex);
        assertThat(acc.sha256()).isEqualTo(sentHex);
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
