package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.invmux.server.it.PrometheusText.Sample;
import io.invmux.tls.CertificateAuthority;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Secure by default, on real sidecar processes: a listener open to the network without TLS or a key stops the
 * sidecar (exit 2, naming the keys to set); security.insecure lets it start with a WARN and the invmux_insecure
 * gauge; two sidecars over tls:// links with certificates from one CA connect, each counting no refusal.
 */
@Timeout(120)
class SecureDefaultsIT {
    @TempDir
    Path dir;

    private static double value(List<Sample> samples, String name) {
        return samples.stream().filter(s -> s.name().equals(name)).mapToDouble(Sample::value).sum();
    }

    @Test
    void aNetworkListenerWithoutTlsOrKeyStopsTheSidecarNamingTheKeys() throws Exception {
        SidecarProcess.Result r = SidecarProcess.run(List.of("sidecar", "--set", "identity=a", "--set",
                "api.address=127.0.0.1:0", "--set", "admin.address=", "--set", "listeners.0=tcp://0.0.0.0:0"));
        assertThat(r.exitCode()).as(r.output()).isEqualTo(2);
        assertThat(r.output()).contains("listeners[0] = tcp://0.0.0.0:0: accepts links from the network with "
                + "neither TLS nor a pre-shared key").contains("security.tls.certFile")
                .contains("security.preSharedKeyFile").contains("security.insecure: true");
    }

    @Test
    void insecureTrueStartsWithAWarningAndTheGauge() throws Exception {
        int admin = SidecarProcess.freePort();
        try (SidecarProcess p = SidecarProcess.start("a", List.of("admin.address=127.0.0.1:" + admin,
                "listeners.0=tcp://0.0.0.0:0", "security.insecure=true"), List.of())) {
            assertThat(p.output()).anyMatch(l -> l.contains("WARN") && l.contains("security.insecure is true"));
            assertThat(value(PrometheusText.scrape(admin), "invmux_insecure")).isEqualTo(1.0);
        }
    }

    @Test
    void twoSidecarsJoinOverTlsLinksAndKnowEachOtherByCertificate() throws Exception {
        CertificateAuthority ca = CertificateAuthority.create("it CA");
        Path caFile = dir.resolve("ca.crt");
        ca.writeCertificate(caFile);
        for (String name : List.of("pod-a", "pod-b")) {
            ca.issue(name).write(dir.resolve(name + ".crt"), dir.resolve(name + ".key"));
        }
        int bPort = SidecarProcess.freePort();
        int bAdmin = SidecarProcess.freePort();
        try (SidecarProcess b = SidecarProcess.start("pod-b", List.of("admin.address=127.0.0.1:" + bAdmin,
                "listeners.0=tls://0.0.0.0:" + bPort, "security.tls.certFile=" + dir.resolve("pod-b.crt"),
                "security.tls.keyFile=" + dir.resolve("pod-b.key"), "security.tls.caFile=" + caFile), List.of());
                SidecarProcess a = SidecarProcess.start("pod-a", List.of("admin.address=", "listeners=[]",
                        "peers.0.name=pod-b", "peers.0.links.0.address=tls://127.0.0.1:" + bPort,
                        "peers.0.links.1.address=tls://127.0.0.1:" + bPort,
                        "security.tls.certFile=" + dir.resolve("pod-a.crt"),
                        "security.tls.keyFile=" + dir.resolve("pod-a.key"), "security.tls.caFile=" + caFile),
                        List.of())) {
            await().atMost(Duration.ofSeconds(30)).until(() -> PrometheusText.scrape(bAdmin).stream()
                    .anyMatch(s -> s.name().equals("invmux_sessions") && s.value() == 1.0));
            List<Sample> metrics = PrometheusText.scrape(bAdmin);
            assertThat(metrics).anyMatch(s -> s.name().equals("invmux_session_open_streams")
                    && "pod-a".equals(s.labels().get("peer")));
            assertThat(value(metrics, "invmux_tls_refused_links_total")
                    + value(metrics, "invmux_tls_refused_links")).isZero();
            assertThat(value(metrics, "invmux_insecure")).isZero();
        }
    }
}
