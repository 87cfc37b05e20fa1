package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.invmux.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The bounds on what peers and strangers may make the sidecar hold ({@code limits.handshakeTimeout} ... {@code
 * limits.maxPingRate}): the core's defaults when unset, every source can set them, they reach the core's {@link
 * Config}, and each range is the core's own, so a value the loader accepts never fails in the core.
 */
class PeerLimitsConfigTest {
    @TempDir
    Path dir;

    @Test
    void unsetTheyAreTheCoresDefaults() throws Exception {
        SidecarConfig c = new ConfigLoader().load();
        Config core = c.toCoreConfig();
        Config defaults = Config.defaults();
        assertThat(core.handshakeTimeout()).isEqualTo(defaults.handshakeTimeout());
        assertThat(core.maxHandshakes()).isEqualTo(defaults.maxHandshakes());
        assertThat(core.maxHandshakesPerAddress()).isEqualTo(defaults.maxHandshakesPerAddress());
        assertThat(core.maxSessions()).isEqualTo(defaults.maxSessions());
        assertThat(core.maxLinksPerSession()).isEqualTo(defaults.maxLinksPerSession());
        assertThat(core.pendingOpenTimeout()).isEqualTo(defaults.pendingOpenTimeout());
        assertThat(core.maxReorderChunks()).isEqualTo(defaults.maxReorderChunks());
        assertThat(core.maxPingRate()).isEqualTo(defaults.maxPingRate());
        // The embedded defaults document says the same as the core.
        assertThat(c.limits().peerLimits()).isEqualTo(SidecarConfig.PeerLimits.defaults());
    }

    @Test
    void fileEnvironmentAndCommandLineSetThemAndTheyReachTheCore() throws Exception {
        Path file = dir.resolve("invmux.yaml");
        Files.writeString(file, """
                limits:
                  handshakeTimeout: 3s
                  maxHandshakes: 40
                  maxHandshakesPerAddress: 4
                  maxSessions: 7
                """);
        Map<String, String> env = Map.of("INVMUX_LIMITS_MAX_LINKS_PER_SESSION", "5",
                "INVMUX_LIMITS_PENDING_OPEN_TIMEOUT", "250ms");
        List<String> cli = List.of("limits.maxReorderChunks=1024", "limits.maxPingRate=20");
        SidecarConfig c = new ConfigLoader().file(file).environment(env).overrides(cli).load();
        assertThat(c.limits().peerLimits()).isEqualTo(new SidecarConfig.PeerLimits(Duration.ofSeconds(3), 40, 4, 7,
                5, Duration.ofMillis(250), 1024, 20));
        Config core = c.toCoreConfig();
        assertThat(core.handshakeTimeout()).isEqualTo(Duration.ofSeconds(3));
        assertThat(core.maxHandshakes()).isEqualTo(40);
        assertThat(core.maxHandshakesPerAddress()).isEqualTo(4);
        assertThat(core.maxSessions()).isEqualTo(7);
        assertThat(core.maxLinksPerSession()).isEqualTo(5);
        assertThat(core.pendingOpenTimeout()).isEqualTo(Duration.ofMillis(250));
        assertThat(core.maxReorderChunks()).isEqualTo(1024);
        assertThat(core.maxPingRate()).isEqualTo(20);
        // ... and are shown by `invmux config` like every other key.
        assertThat(c.toYaml(true)).contains("maxSessions: 7").contains("pendingOpenTimeout: 250ms");
    }

    /** Each key at both ends of its range loads, and the core takes it; one step outside is refused by both. */
    @ParameterizedTest
    @CsvSource({
            "handshakeTimeout, 10ms, 10m, 9ms, 11m, must be between 10ms and 10m",
            "pendingOpenTimeout, 10ms, 10m, 9ms, 601s, must be between 10ms and 10m",
            "maxHandshakes, 1, 1048576, 0, 1048577, must be an integer from 1 to 1048576",
            "maxHandshakesPerAddress, 1, 1048576, 0, 1048577, must be an integer from 1 to 1048576",
            "maxSessions, 1, 1048576, 0, 1048577, must be an integer from 1 to 1048576",
            "maxLinksPerSession, 1, 1024, 0, 1025, must be an integer from 1 to 1024",
            "maxReorderChunks, 16, 16777216, 15, 16777217, must be an integer from 16 to 16777216",
            "maxPingRate, 1, 1000000, 0, 1000001, must be an integer from 1 to 1000000"})
    void rangesAreTheCoresOwn(String key, String min, String max, String below, String above, String rule)
            throws Exception {
        for (String ok : List.of(min, max)) {
            SidecarConfig c = new ConfigLoader().overrides(List.of("limits." + key + "=" + ok)).load();
            c.toCoreConfig(); // the core's Builder checks the value again and must not refuse it
        }
        for (String bad : List.of(below, above)) {
            assertThatThrownBy(() -> new ConfigLoader().overrides(List.of("limits." + key + "=" + bad)).load())
                    .isInstanceOfSatisfying(ConfigException.class, e -> assertThat(e.problems())
                            .singleElement().asString()
                            .isEqualTo("command line: limits." + key + " = " + bad + ": " + rule));
        }
    }

    @Test
    void theCoreRefusesWhatTheLoaderRefuses() {
        // One step outside the loader's ranges, the core's Builder refuses too: the two cannot drift apart silently.
        assertThatThrownBy(() -> Config.builder().maxLinksPerSession(1025)).isInstanceOf(
                IllegalArgumentException.class);
        assertThatThrownBy(() -> Config.builder().maxReorderChunks(15)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Config.builder().handshakeTimeout(Duration.ofMinutes(11))).isInstanceOf(
                IllegalArgumentException.class);
        assertThatThrownBy(() -> Config.builder().maxSessions(0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Config.builder().maxPingRate(1_000_001)).isInstanceOf(
                IllegalArgumentException.class);
    }
}
