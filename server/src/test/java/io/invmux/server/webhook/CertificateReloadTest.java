package io.invmux.server.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.invmux.server.inject.PodInjector;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.cert.X509Certificate;
import java.util.Map;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocket;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The serving certificate is read again when cert-manager renews the files, and a bad key file says what it wants. */
class CertificateReloadTest {
    @TempDir
    Path dir;

    @Test
    void aRenewedCertificateIsServedWithoutARestart() throws Exception {
        TestCertificates first = TestCertificates.write(dir, "first");
        // rechecked on every handshake here (10 s in production)
        PemKeyManager keys = new PemKeyManager(first.certFile, first.keyFile, 0);
        try (WebhookServer server = WebhookServer.start(new InetSocketAddress("127.0.0.1", 0), keys,
                new AdmissionHandler(new PodInjector("invmux", Map.of(), "0")))) {
            assertThat(served(server, first.clientContext()).getSubjectX500Principal().getName()).isEqualTo("CN=first");

            Path renewed = Files.createDirectory(dir.resolve("renewed"));
            TestCertificates second = TestCertificates.write(renewed, "second");
            // as a Secret volume's update: new files in place of the old (their modification times differ)
            Files.move(second.keyFile, first.keyFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(second.certFile, first.certFile, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.setLastModifiedTime(first.certFile, java.nio.file.attribute.FileTime.fromMillis(
                    System.currentTimeMillis() + 60_000));

            assertThat(served(server, second.clientContext()).getSubjectX500Principal().getName())
                    .isEqualTo("CN=second");
        }
    }

    @Test
    void aKeyThatIsNotPkcs8IsRefusedSayingHowToConvertIt() throws Exception {
        TestCertificates certs = TestCertificates.write(dir, "x");
        Files.writeString(certs.keyFile, "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n");
        assertThatThrownBy(() -> new PemKeyManager(certs.certFile, certs.keyFile))
                .isInstanceOf(GeneralSecurityException.class)
                .hasMessageContaining("no PKCS#8 key (-----BEGIN PRIVATE KEY-----) in it")
                .hasMessageContaining("privateKey.encoding: PKCS8");
    }

    /** The certificate a fresh TLS handshake with the server presents. */
    private static X509Certificate served(WebhookServer server, SSLContext trusting) throws Exception {
        try (SSLSocket s = (SSLSocket) trusting.getSocketFactory().createSocket("127.0.0.1",
                server.address().getPort())) {
            s.startHandshake();
            return (X509Certificate) s.getSession().getPeerCertificates()[0];
        }
    }
}
