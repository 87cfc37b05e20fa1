package io.invmux.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.InvMux;
import io.invmux.InvMuxException;
import io.invmux.Session;
import io.invmux.Stream;
import io.invmux.StreamResetException;
import io.invmux.proto.v1.PeerStreamHeader;
import io.invmux.tls.TlsFixture;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sidecar's data plane knows an accepted peer by its certificate, over real tls:// links: a peer whose
 * certificate names {@code mallory} is tracked as mallory, never receives what is meant for {@code backend}, and
 * its streams claiming to come from {@code backend} are refused.
 */
class PeerIdentityRoutingTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    TlsFixture pki;
    SidecarRuntime frontend;
    URI frontendUri;

    @BeforeEach
    void start() throws Exception {
        pki = new TlsFixture(dir);
        Config config = TlsFixture.config(pki.credentials("frontend", "frontend", "127.0.0.1"));
        frontend = new SidecarRuntime("frontend", config, (stream, service, target) -> stream.reset(), 5_000);
        frontend.addKnownPeer("backend"); // configured, but its session is down
        frontend.router().addLocalService("orders", new java.net.InetSocketAddress("127.0.0.1", 9));
        frontendUri = URI.create(frontend.addListenAddress("tls://127.0.0.1:0").get(10, TimeUnit.SECONDS));
    }

    @AfterEach
    void stop() {
        frontend.close();
    }

    private Session dialAs(String name) throws Exception {
        Config config = Config.builder().tls(pki.credentials(name, name).settings().withPeerName("frontend")).build();
        return InvMux.connect(config, frontendUri);
    }

    private static byte[] header(String source, String service) {
        return PeerStreamHeader.newBuilder().setSource(source).setService(service).build().toByteArray();
    }

    @Test
    void anAcceptedSessionIsNamedByThePeersCertificate() throws Exception {
        try (Session mallory = dialAs("mallory")) {
            await().atMost(WAIT).until(() -> frontend.sessions().size() == 1);
            assertThat(frontend.sessions().get(0).peer()).isEqualTo("mallory");
            assertThatThrownBy(() -> frontend.sessionFor("backend")).isInstanceOfSatisfying(InvMuxException.class,
                    e -> assertThat(e.errorCode()).isEqualTo(ErrorCode.LINKS_LOST));
            assertThat(frontend.sessionFor("mallory")).isNotNull();
        }
    }

    @Test
    void aStreamClaimingAnotherSourceThanTheCertificateIsRefused() throws Exception {
        try (Session mallory = dialAs("mallory")) {
            Stream s = mallory.openStream(header("backend", "orders"));
            s.outputStream().write(1);
            CompletableFuture<Void> closed = s.closeFuture();
            assertThat(closed).failsWithin(WAIT).withThrowableThat().havingRootCause()
                    .isInstanceOfSatisfying(StreamResetException.class, e -> assertThat(e.getMessage())
                            .contains("source 'backend' is not a name of this peer's certificate [mallory]"));
            assertThat(frontend.sessions()).singleElement()
                    .satisfies(t -> assertThat(t.peer()).as("not renamed by its claim").isEqualTo("mallory"));
        }
    }

    @Test
    void aStreamFromTheNameInTheCertificateIsRouted() throws Exception {
        try (Session backend = dialAs("backend")) {
            await().atMost(WAIT).until(() -> frontend.sessions().size() == 1);
            assertThat(frontend.sessionFor("backend")).isNotNull();
            CompletableFuture<Incoming> accepted = frontend.router().accept("chat");
            backend.openStream(header("backend", "chat")).outputStream().write(1);
            assertThat(accepted.get(10, TimeUnit.SECONDS).peer()).isEqualTo("backend");
        }
    }
}
