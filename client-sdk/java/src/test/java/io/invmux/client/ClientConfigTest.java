package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** Endpoint and token come from the environment unless the builder overrides them. */
class ClientConfigTest {

    @Test
    void endpointAndTokenFromTheEnvironment() {
        InvMuxClient.Builder b = InvMuxClient.Builder.fromEnvironment(
                Map.of("INVMUX_GRPC_ENDPOINT", "10.1.2.3:9000", "INVMUX_API_TOKEN", "s3cret"));
        assertThat(b.endpoint()).isEqualTo("10.1.2.3:9000");
        assertThat(b.token()).isEqualTo("s3cret");
        b.endpoint("127.0.0.1:1").token("other");
        assertThat(b.endpoint()).isEqualTo("127.0.0.1:1");
        assertThat(b.token()).isEqualTo("other");
    }

    @Test
    void defaultEndpointWithoutEnvironment() {
        InvMuxClient.Builder b = InvMuxClient.Builder.fromEnvironment(Map.of());
        assertThat(b.endpoint()).isEqualTo("127.0.0.1:7701");
        assertThat(b.token()).isNull();
        try (InvMuxClient c = b.build()) {
            assertThat(c.endpoint()).isEqualTo("127.0.0.1:7701");
        }
    }

    @Test
    void unixEndpointsNameTheirSocketFile() {
        assertThat(InvMuxClient.unixSocketPath("unix:///run/invmux/api.sock")).isEqualTo("/run/invmux/api.sock");
        assertThat(InvMuxClient.unixSocketPath("unix:/run/invmux/api.sock")).isEqualTo("/run/invmux/api.sock");
        assertThat(InvMuxClient.unixSocketPath("unix:api.sock")).isEqualTo("api.sock");
        assertThat(InvMuxClient.unixSocketPath("127.0.0.1:7701")).isNull();
        assertThat(InvMuxClient.unixSocketPath("dns:///sidecar:7701")).isNull();
        assertThatThrownBy(() -> InvMuxClient.builder().endpoint("unix://host/api.sock"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endpoint unix://host/api.sock: a Unix socket is unix:///absolute/path or unix:path, with "
                        + "no host after unix://");
        assertThatThrownBy(() -> InvMuxClient.builder().endpoint("unix:///run/invmux/"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("endpoint unix:///run/invmux/: names no socket file");
    }
}
