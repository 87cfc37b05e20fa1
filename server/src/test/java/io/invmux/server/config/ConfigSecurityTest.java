package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import io.invmux.tls.CertificateAuthority;
import io.invmux.tls.TlsFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Secure by default: what a sidecar needs before it accepts links from the network, and the TLS and key files. */
class ConfigSecurityTest {
    @TempDir
    Path dir;

    private static List<String> problems(ConfigLoader loader) {
        try {
            loader.load();
        } catch (ConfigException e) {
            return e.problems().stream().map(ConfigException.Problem::toString).toList();
        }
        throw new AssertionError("expected a ConfigException");
    }

    private static ConfigLoader loader(String... overrides) {
        return new ConfigLoader().hostname("pod-a").overrides(List.of(overrides));
    }

    private Path key(String name, int seed) throws Exception {
        byte[] k = new byte[32];
        k[0] = (byte) seed;
        return Files.writeString(dir.resolve(name), Base64.getEncoder().encodeToString(k));
    }

    @Test
    void theEmbeddedDefaultsListenOnLoopbackAndStartWithoutAnyKey() throws Exception {
        SidecarConfig c = loader().load();
        assertThat(c.listeners()).extracting(u -> u.getHost()).containsExactly("127.0.0.1");
        assertThat(c.security().insecure()).isFalse();
    }

    @Test
    void aNetworkListenerWithNeitherTlsNorAKeyIsRefusedNamingTheKeysToSet() {
        assertThat(problems(loader("listeners.0=tcp://0.0.0.0:7700"))).containsExactly(
                "command line: listeners[0] = tcp://0.0.0.0:7700: accepts links from the network with neither TLS "
                        + "nor a pre-shared key: listen on tls:// and set security.tls.certFile, keyFile and caFile, "
                        + "or set security.preSharedKeyFile (or security.acceptPeers); to accept unauthenticated "
                        + "links anyway, set security.insecure: true");
    }

    @Test
    void insecureTrueAcceptsItKnowingly() throws Exception {
        SidecarConfig c = loader("listeners.0=tcp://0.0.0.0:7700", "security.insecure=true").load();
        assertThat(c.security().insecure()).isTrue();
        assertThat(problems(loader("security.insecure=maybe"))).containsExactly(
                "command line: security.insecure = maybe: must be true or false");
    }

    @Test
    void aSharedOrPerPeerKeyMakesANetworkListenerAcceptable() throws Exception {
        Path psk = key("psk", 1);
        assertThat(loader("listeners.0=tcp://0.0.0.0:7700", "security.preSharedKeyFile=" + psk).load().listeners())
                .hasSize(1);
        SidecarConfig perPeer = loader("listeners.0=tcp://0.0.0.0:7700", "security.acceptPeers.0.name=pod-b",
                "security.acceptPeers.0.preSharedKeyFile=" + key("pod-b.psk", 2)).load();
        Config core = perPeer.toCoreConfig();
        assertThat(core.peerKeys()).containsOnlyKeys("pod-b");
        assertThat(core.requiresKey()).isTrue();
    }

    @Test
    void aPeersOwnKeyIsAnnouncedUnderThisSidecarsIdentity() throws Exception {
        Path own = key("to-b.psk", 3);
        SidecarConfig c = loader("peers.0.name=pod-b", "peers.0.links.0.address=tcp://10.0.0.2:7700",
                "peers.0.preSharedKeyFile=" + own).load();
        Config dial = c.dialConfig(c.toCoreConfig(), "pod-b");
        assertThat(dial.keyName()).contains("pod-a");
        assertThat(dial.preSharedKey()).isPresent();
        assertThat(c.dialConfig(c.toCoreConfig(), "pod-c").keyName()).isEmpty();
    }

    @Test
    void anAcceptedPeersMissingKeyFileIsNamed() {
        Path missing = dir.resolve("nope");
        assertThat(problems(loader("security.acceptPeers.0.name=pod-b",
                "security.acceptPeers.0.preSharedKeyFile=" + missing))).containsExactly(
                "command line: security.acceptPeers[0].preSharedKeyFile = " + missing
                        + ": cannot read the key file: no such file");
    }

    @Test
    void tlsCredentialsLoadAndATlsListenerNeedsThem() throws Exception {
        TlsFixture pki = new TlsFixture(dir);
        TlsFixture.Files files = pki.credentials("pod-a", "pod-a");
        SidecarConfig c = loader("listeners.0=tls://0.0.0.0:7700", "security.tls.certFile=" + files.cert(),
                "security.tls.keyFile=" + files.key(), "security.tls.caFile=" + files.ca()).load();
        assertThat(c.toCoreConfig().tls()).isPresent();
        assertThat(c.dialConfig(c.toCoreConfig(), "pod-b").tls().orElseThrow().peerName()).contains("pod-b");

        assertThat(problems(loader("listeners.0=tls://0.0.0.0:7700"))).containsExactly(
                "command line: listeners[0] = tls://0.0.0.0:7700: is a tls:// listener, but security.tls.certFile, "
                        + "keyFile and caFile are not set");
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsNamedOnTheKeyFileKey() throws Exception {
        TlsFixture pki = new TlsFixture(dir);
        TlsFixture.Files a = pki.credentials("a", "pod-a");
        TlsFixture.Files b = pki.write("b", pki.ca.issue("pod-b"));
        List<String> p = problems(loader("security.tls.certFile=" + a.cert(), "security.tls.keyFile=" + b.key(),
                "security.tls.caFile=" + a.ca()));
        assertThat(p).singleElement().asString().startsWith("command line: security.tls.keyFile = " + b.key()
                + ": keyFile " + b.key() + " is not the private key of the certificate in certFile " + a.cert());
    }

    @Test
    void tlsFilesComeAsAThree() throws Exception {
        TlsFixture pki = new TlsFixture(dir, CertificateAuthority.create("ca"));
        TlsFixture.Files a = pki.credentials("a", "pod-a");
        assertThat(problems(loader("security.tls.certFile=" + a.cert()))).containsExactly(
                "command line: security.tls.keyFile: is required: security.tls.certFile is set (set on the command "
                        + "line), and TLS needs all three files",
                "command line: security.tls.caFile: is required: security.tls.certFile is set (set on the command "
                        + "line), and TLS needs all three files");
    }
}
