package io.invmux.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.client.testing.UnixSocketSidecar;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A client reaches a real sidecar whose API listens on a Unix socket, by either form of a unix: endpoint. */
class UnixSocketLiveTest {

    @Test
    void aClientReachesASidecarOnAUnixSocket(@TempDir Path dir) throws Exception {
        Path socket = dir.resolve("api.sock");
        try (UnixSocketSidecar sidecar = UnixSocketSidecar.start(socket)) {
            for (String endpoint : new String[] {"unix://" + socket, "unix:" + socket}) {
                try (InvMuxClient c = InvMuxClient.builder().endpoint(endpoint).token(null).build()) {
                    c.waitForSidecar(Duration.ofSeconds(30));
                    assertThat(c.listSessions()).isEmpty();
                    assertThat(c.endpoint()).isEqualTo(endpoint);
                }
            }
        }
    }
}
