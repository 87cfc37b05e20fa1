package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The embedded defaults: what runs with no file, no variables and no overrides. */
class ConfigDefaultsTest {

    @Test
    void defaultsWithNoFileAtAll() throws ConfigException {
        SidecarConfig c = new ConfigLoader().hostname("pod-a").load();

        assertThat(c.identity()).isEqualTo("pod-a");
        assertThat(c.api().address()).isEqualTo(new TcpAddress("127.0.0.1", 7701));
        assertThat(c.api().token()).isEmpty();
        assertThat(c.api().tokenIfSet()).isEmpty();
        assertThat(c.api().maxMessageSize()).isEqualTo(4 * 1024 * 1024);
        assertThat(c.api().maxStreamsPerClient()).isEqualTo(1024);
        assertThat(c.health().address()).isEmpty();
        assertThat(c.admin().address()).contains(new TcpAddress("127.0.0.1", 7702));
        assertThat(c.listeners()).containsExactly(URI.create("tcp://127.0.0.1:7700"));
        assertThat(c.peers()).isEmpty();
        assertThat(c.services()).isEmpty();
        assertThat(c.forwards()).isEmpty();
        assertThat(c.limits()).isEqualTo(new SidecarConfig.Limits(256 * 1024, 16 * 1024 * 1024, 64 * 1024 * 1024,
                32 * 1024, 65_536, 256, Duration.ofSeconds(10), Duration.ofMillis(100), Duration.ofMillis(800),
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(20)));
        assertThat(c.security()).isEqualTo(SidecarConfig.Security.none());
        assertThat(c.security().key()).isEmpty();
        assertThat(c.logging().level()).isEqualTo(SidecarConfig.LogLevel.INFO);
    }

    @Test
    void staticLoadWithNoFileGivesTheDefaults() throws ConfigException {
        SidecarConfig c = ConfigLoader.load(null, Map.of("HOSTNAME", "pod-a"), List.of());
        assertThat(c).isEqualTo(new ConfigLoader().hostname("pod-a").load());
    }

    @Test
    void emptyOrCommentOnlyFilesGiveTheDefaults() throws ConfigException {
        SidecarConfig defaults = new ConfigLoader().hostname("pod-a").load();
        for (String yaml : List.of("", "\n\n", "# nothing here\n", "---\n", "~\n")) {
            assertThat(new ConfigLoader().hostname("pod-a").yaml("config.yaml", yaml).load())
                    .as("YAML %s", yaml).isEqualTo(defaults);
        }
    }

    @Test
    void emptySectionsKeepTheirDefaults() throws ConfigException {
        SidecarConfig c = new ConfigLoader().hostname("pod-a")
                .yaml("config.yaml", "api:\nlimits: {}\nsecurity: ~\n").load();
        assertThat(c).isEqualTo(new ConfigLoader().hostname("pod-a").load());
    }

    @Test
    void identityDefaultsToHostnameFromTheEnvironment() throws ConfigException {
        SidecarConfig c = new ConfigLoader().environment(Map.of("HOSTNAME", "web-7f9c5d-x2x")).load();
        assertThat(c.identity()).isEqualTo("web-7f9c5d-x2x");
    }

    @Test
    void hostnamesAreMadeIntoValidIdentities() throws ConfigException {
        assertThat(new ConfigLoader().hostname("my host!").load().identity()).isEqualTo("my-host-");
        assertThat(new ConfigLoader().hostname("x".repeat(80)).load().identity()).isEqualTo("x".repeat(63));
        assertThat(new ConfigLoader().hostname("").load().identity()).isEqualTo("invmux");
        assertThat(new ConfigLoader().hostname("node1.example.com").load().identity())
                .isEqualTo("node1.example.com");
    }

    @Test
    void detectedHostnameIsAlwaysAValidIdentity() throws ConfigException {
        assertThat(new ConfigLoader().load().identity()).matches("[A-Za-z0-9._-]{1,63}");
    }

    @Test
    void defaultCoreConfigMatchesTheCoreDefaults() throws ConfigException {
        Config core = new ConfigLoader().hostname("pod-a").load().toCoreConfig();
        Config expected = Config.defaults();
        assertThat(core.windowSize()).isEqualTo(expected.windowSize());
        assertThat(core.maxWindowSize()).isEqualTo(expected.maxWindowSize());
        assertThat(core.sessionWindowSize()).isEqualTo(expected.sessionWindowSize());
        assertThat(core.maxChunkSize()).isEqualTo(expected.maxChunkSize());
        assertThat(core.maxStreams()).isEqualTo(expected.maxStreams());
        assertThat(core.acceptBacklog()).isEqualTo(expected.acceptBacklog());
        assertThat(core.keepAliveInterval()).isEqualTo(expected.keepAliveInterval());
        assertThat(core.keepAliveTimeout()).isEqualTo(expected.keepAliveTimeout());
        assertThat(core.writeTimeout()).isEqualTo(expected.writeTimeout());
        assertThat(core.resumeGracePeriod()).isEqualTo(expected.resumeGracePeriod());
        assertThat(core.handshakeTimeout()).isEqualTo(expected.handshakeTimeout());
        assertThat(core.preSharedKey()).isEmpty();
    }

    @Test
    void secretsAreHiddenInToString() throws ConfigException {
        SidecarConfig c = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "api.token=0123456789abcdef-token", "security.preSharedKey=AAECAwQFBgcICQoLDA0ODw==")).load();
        assertThat(c.toString()).doesNotContain("0123456789abcdef-token").doesNotContain("AAECAwQFBgcICQoLDA0ODw")
                .contains("token=(hidden)").contains("key=(16 bytes)");
        assertThat(c.api().tokenIfSet()).contains("0123456789abcdef-token");
        assertThat(c.health()).isEqualTo(new SidecarConfig.Health(Optional.empty()));
    }
}
