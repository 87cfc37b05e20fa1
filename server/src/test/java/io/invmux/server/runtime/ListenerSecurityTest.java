package io.invmux.server.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A listener added at run time (ConnectionService.AddListener) follows the same secure default as the config. */
class ListenerSecurityTest {
    private static SidecarRuntime runtime(Config config, boolean insecure) {
        return new SidecarRuntime("a", config, peer -> config, insecure, (stream, service, target) -> stream.reset(), 1_000,
                (bound, message) -> { });
    }

    @Test
    void aPlaintextListenerOnTheNetworkWithoutAKeyIsRefusedNamingTheKeys() throws Exception {
        try (SidecarRuntime r = runtime(Config.defaults(), false)) {
            CompletableFuture<String> open = r.addListenAddress("tcp://0.0.0.0:0");
            assertThat(open).failsWithin(10, TimeUnit.SECONDS).withThrowableThat().havingRootCause()
                    .isInstanceOf(IllegalArgumentException.class)
                    .withMessageContaining("neither TLS nor a pre-shared key")
                    .withMessageContaining("security.insecure: true");
            assertThat(r.addListenAddress("tcp://127.0.0.1:0").get(10, TimeUnit.SECONDS)).startsWith("tcp://127.0.0.1:");
        }
    }

    @Test
    void aKeyOrInsecureAllowsIt() throws Exception {
        try (SidecarRuntime r = runtime(Config.builder().preSharedKey(new byte[32]).build(), false)) {
            assertThat(r.addListenAddress("tcp://0.0.0.0:0").get(10, TimeUnit.SECONDS)).startsWith("tcp://");
        }
        try (SidecarRuntime r = runtime(Config.defaults(), true)) {
            assertThat(r.addListenAddress("tcp://0.0.0.0:0").get(10, TimeUnit.SECONDS)).startsWith("tcp://");
        }
    }
}
