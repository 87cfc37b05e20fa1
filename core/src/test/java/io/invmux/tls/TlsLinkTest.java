package io.invmux.tls;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.invmux.Config;
import io.invmux.InvMux;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.TlsSettings;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * tls:// links over real loopback sockets: mutual authentication, and each kind of bad credential refused with a
 * message naming it on both ends, a counter, and no harm to the listener's other sessions.
 */
class TlsLinkTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;
    TlsFixture pki;
    TlsFixture.Files serverFiles;
    TlsSettings serverTls;
    SessionListener listener;
    URI tlsUri;
    /** A session already up on the listener, which every refusal must leave working. */
    Session healthy;
    Stream healthyOut;
    Stream healthyIn;

    @BeforeEach
    void start() throws Exception {
        pki = new TlsFixture(dir);
        serverFiles = pki.credentials("server", "127.0.0.1", "backend");
        serverTls = serverFiles.settings();
        listener = InvMux.listen(Config.builder().tls(serverTls).build(), URI.create("tls://127.0.0.1:0"));
        tlsUri = URI.create("tls://127.0.0.1:" + port(listener, 0));
        healthy = InvMux.connect(TlsFixture.config(pki.credentials("good", "frontend")), tlsUri);
        listener.accept(WAIT);
        healthyOut = healthy.openStream();
        healthyOut.outputStream().write(1);
        healthyIn = listener.sessions().get(0).acceptStream(WAIT);
        assertThat(healthyIn.inputStream().read()).isEqualTo(1);
    }

    @AfterEach
    void stop() throws Exception {
        try {
            healthyOut.outputStream().write(2);
            assertThat(healthyIn.inputStream().read()).as("the healthy session still works").isEqualTo(2);
            assertThat(healthy.isClosed()).isFalse();
        } finally {
            healthy.close();
            listener.close();
        }
    }

    private static int port(SessionListener l, int i) {
        return ((InetSocketAddress) l.localAddresses().get(i)).getPort();
    }

    private IOException dialFails(Config config, URI uri) {
        Throwable t = org.assertj.core.api.Assertions.catchThrowable(() -> InvMux.connect(config, uri).close());
        assertThat(t).isInstanceOf(IOException.class);
        return (IOException) t;
    }

    @Test
    void streamsCrossATlsLinkBothWays() throws Exception {
        Stream back = listener.sessions().get(0).openStream();
        back.outputStream().write("pong".getBytes());
        back.closeWrite();
        Stream got = healthy.acceptStream(WAIT);
        assertThat(got.inputStream().readAllBytes()).isEqualTo("pong".getBytes());
        assertThat(healthy.connections().get(0).type()).isEqualTo("tls");
    }

    @Test
    void linksUseBoringSslUnlessItIsDisabledAndThenTheJdkProvider() {
        // core/pom.xml runs this class a second time with -Dio.netty.handler.ssl.noOpenSsl=true
        assertThat(io.invmux.internal.tls.TlsCredentials.providerName())
                .isEqualTo(Boolean.getBoolean("io.netty.handler.ssl.noOpenSsl") ? "JDK" : "BoringSSL");
    }

    @Test
    void eachEndKnowsThePeerByTheNamesInItsCertificate() throws Exception {
        assertThat(listener.sessions().get(0).peerIdentity()).get()
                .satisfies(id -> assertThat(id.name()).isEqualTo("frontend"))
                .satisfies(id -> assertThat(id.credential()).isEqualTo("certificate"));
        assertThat(healthy.peerIdentity()).get()
                .satisfies(id -> assertThat(id.names()).containsExactly("backend", "127.0.0.1"));
    }

    @Test
    void aSpiffeUriSanNamesThePeerByItsLastPathSegment() throws Exception {
        TlsFixture.Files spiffe = pki.credentials("spiffe", "frontend.example", "spiffe://cluster.local/ns/prod/sa/web");
        try (Session s = InvMux.connect(TlsFixture.config(spiffe), tlsUri)) {
            Session accepted = listener.accept(WAIT);
            assertThat(accepted.peerIdentity()).get().satisfies(id -> {
                assertThat(id.name()).isEqualTo("web");
                assertThat(id.names()).containsExactly("web", "frontend.example");
            });
        }
    }

    @Test
    void aClientCertificateFromAnotherCaIsRefusedNamingTheCa() {
        TlsFixture other = new TlsFixture(dir, CertificateAuthority.create("rogue CA"));
        TlsFixture.Files rogue = other.credentials("rogue", "frontend");
        // It trusts the real CA, so only the listener objects.
        IOException e = dialFails(Config.builder().tls(TlsSettings.of(rogue.cert(), rogue.key(), pki.caFile)).build(),
                tlsUri);
        assertThat(e).hasMessageContaining("refused this end's certificate");
        await().atMost(WAIT).until(() -> serverTls.failures().getOrDefault("untrusted", 0L) == 1);
    }

    @Test
    void aServerCertificateFromAnotherCaIsRefusedByTheDialerNamingTheCa() throws Exception {
        TlsFixture other = new TlsFixture(dir, CertificateAuthority.create("rogue CA"));
        TlsFixture.Files rogue = other.credentials("rogue-server", "127.0.0.1");
        // The dialer trusts only the real CA; the rogue listener trusts both ends' CA, so only the dialer objects.
        TlsSettings rogueTls = TlsSettings.of(rogue.cert(), rogue.key(), pki.caFile);
        try (SessionListener rogueListener = InvMux.listen(Config.builder().tls(rogueTls).build(),
                URI.create("tls://127.0.0.1:0"))) {
            TlsSettings client = pki.credentials("client", "frontend").settings();
            IOException e = dialFails(Config.builder().tls(client).build(),
                    URI.create("tls://127.0.0.1:" + port(rogueListener, 0)));
            assertThat(e).hasMessageContaining("is not trusted by the CA in caFile " + pki.caFile);
            assertThat(client.failures()).containsEntry("untrusted", 1L);
            await().atMost(WAIT).until(() -> rogueTls.failures().getOrDefault("peer-refused", 0L) == 1);
        }
    }

    @Test
    void anExpiredClientCertificateIsRefusedAsExpired() {
        Instant now = Instant.now();
        TlsFixture.Files expired = pki.write("expired", pki.ca.issue(now.minus(Duration.ofDays(2)),
                now.minus(Duration.ofDays(1)), "frontend"));
        IOException e = dialFails(TlsFixture.config(expired), tlsUri);
        // BoringSSL tells the peer why; the JDK provider sends the generic certificate_unknown.
        String alert = io.invmux.internal.tls.TlsCredentials.providerName().equals("BoringSSL")
                ? "certificate_expired" : "certificate_unknown";
        assertThat(e).hasMessageContaining("refused this end's certificate (TLS alert " + alert + ")");
        await().atMost(WAIT).until(() -> serverTls.failures().getOrDefault("expired", 0L) == 1);
    }

    @Test
    void aServerCertificateNotNamingTheDialedPeerIsRefused() {
        TlsSettings client = pki.credentials("client", "frontend").settings().withPeerName("mallory");
        IOException e = dialFails(Config.builder().tls(client).build(), tlsUri);
        assertThat(e).hasMessageContaining("naming [backend, 127.0.0.1]")
                .hasMessageContaining("does not name 'mallory', the peer this end dialed");
        assertThat(client.failures()).containsEntry("name", 1L);
        await().atMost(WAIT).until(() -> serverTls.failures().getOrDefault("peer-refused", 0L) == 1);
    }

    @Test
    void aDialerChecksTheUriHostWhenNoPeerNameIsGiven() {
        TlsSettings client = pki.credentials("client", "frontend").settings();
        IOException e = dialFails(Config.builder().tls(client).build(),
                URI.create("tls://localhost:" + tlsUri.getPort()));
        assertThat(e).hasMessageContaining("does not name 'localhost'");
    }

    @Test
    void aPlaintextDialerAtATlsPortReadsWhy() {
        IOException e = dialFails(Config.defaults(), URI.create("tcp://127.0.0.1:" + tlsUri.getPort()));
        assertThat(e).hasMessageContaining("this address takes tls:// links only");
        await().atMost(WAIT).until(() -> serverTls.failures().getOrDefault("plaintext", 0L) == 1);
    }

    @Test
    void aTlsDialerAtAPlaintextPortReadsWhy() throws Exception {
        try (SessionListener plain = InvMux.listen(Config.defaults(), URI.create("tcp://127.0.0.1:0"))) {
            TlsSettings client = pki.credentials("client", "frontend").settings();
            IOException e = dialFails(Config.builder().tls(client).build(),
                    URI.create("tls://127.0.0.1:" + port(plain, 0)));
            assertThat(e).hasMessageContaining("the peer answered in plaintext, not TLS");
            assertThat(client.failures()).containsEntry("plaintext", 1L);
            await().atMost(WAIT).until(() -> plain.refusedLinks() == 1);
        }
    }

    @Test
    void aTlsUriWithoutCredentialsIsRefusedNamingTheKnob() {
        assertThatThrownBy(() -> InvMux.connect(Config.defaults(), tlsUri))
                .hasMessageContaining("no TLS credentials are configured");
    }

    @Test
    void newCredentialsReachNewLinksAndExistingLinksStayUp() throws Exception {
        TlsSettings client = pki.credentials("client", "frontend").settings();
        URI viaName = tlsUri;
        Config renamed = Config.builder().tls(client.withPeerName("backend-v2")).build();
        assertThat(dialFails(renamed, viaName)).hasMessageContaining("does not name 'backend-v2'");

        pki.write("server", pki.ca.issue("127.0.0.1", "backend-v2"));
        try (Session s = InvMux.connect(renamed, viaName)) {
            assertThat(s.numConnections()).isEqualTo(1);
        }
        assertThat(serverTls.reloads()).isEqualTo(1);
        // the healthy session's link, up since before the change, is checked in stop()
    }
}
