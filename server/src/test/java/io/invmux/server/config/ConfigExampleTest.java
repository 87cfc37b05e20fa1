package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.invmux.Config;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The documented example file, the core settings made from a config, and rendering back to YAML. */
class ConfigExampleTest {
    @TempDir
    Path dir;

    static String example() throws IOException {
        try (InputStream in = ConfigExampleTest.class.getResourceAsStream("/invmux-example.yaml")) {
            assertThat(in).as("invmux-example.yaml on the class path").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void exampleFileLoadsWithEveryValue() throws Exception {
        Path file = dir.resolve("invmux.yaml");
        Files.writeString(file, example());
        SidecarConfig c = new ConfigLoader().file(file).load();

        assertThat(c.identity()).isEqualTo("pod-a");
        assertThat(c.api()).isEqualTo(new SidecarConfig.Api(new TcpAddress("127.0.0.1", 7701), "", 4 << 20, 1024));
        assertThat(c.health().address()).contains(new TcpAddress("0.0.0.0", 7703));
        assertThat(c.admin().address()).contains(new TcpAddress("127.0.0.1", 7702));
        assertThat(c.listeners()).containsExactly(URI.create("tcp://127.0.0.1:7700"));
        assertThat(c.peers()).containsExactly(new SidecarConfig.Peer("pod-b", List.of(
                new SidecarConfig.Link(URI.create("tcp://10.0.2.2:7700?bind=10.0.2.1"), 0, 1.0),
                new SidecarConfig.Link(URI.create("tcp://10.0.3.2:7700?bind=10.0.3.1"), 0, 0.5))));
        assertThat(c.peer("pod-b")).isPresent();
        assertThat(c.peer("pod-c")).isEmpty();
        assertThat(c.services()).containsExactly(new SidecarConfig.Service("echo", new TcpAddress("127.0.0.1", 9000)));
        assertThat(c.service("echo")).isPresent();
        assertThat(c.forwards()).containsExactly(
                new SidecarConfig.Forward(new TcpAddress("127.0.0.1", 8080), "pod-b", "echo"));
        assertThat(c.limits()).isEqualTo(new ConfigLoader().hostname("x").load().limits());
        assertThat(c.security()).isEqualTo(SidecarConfig.Security.none());
        assertThat(c.logging().level()).isEqualTo(SidecarConfig.LogLevel.INFO);
    }

    @Test
    void exampleFileMentionsEveryKey() throws Exception {
        String example = example();
        String rendered = new ConfigLoader().hostname("pod-a").yaml("example", example).load().toYaml();
        Matcher m = Pattern.compile("(?m)^\\s*(?:- )?([A-Za-z]+):").matcher(rendered);
        List<String> keys = new ArrayList<>();
        while (m.find()) {
            keys.add(m.group(1));
        }
        assertThat(keys).hasSizeGreaterThan(30);
        for (String key : keys) {
            assertThat(example).as("example mentions %s", key).containsPattern("(?m)^\\s*(- )?" + key + ":");
        }
    }

    @Test
    void coreConfigCarriesEveryLimitAndTheKey() throws Exception {
        byte[] key = new byte[32];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (i * 7);
        }
        SidecarConfig c = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "limits.windowSize=1MiB",
                "limits.maxWindowSize=32MiB",
                "limits.sessionWindowSize=128MiB",
                "limits.maxChunkSize=64KiB",
                "limits.maxStreams=1000",
                "limits.acceptBacklog=10",
                "limits.keepAliveInterval=250ms",
                "limits.keepAliveTimeout=2s",
                "limits.writeTimeout=5s",
                "limits.resumeGracePeriod=0s",
                "security.preSharedKey=" + Base64.getEncoder().encodeToString(key))).load();

        Config core = c.toCoreConfig();
        Config expected = Config.builder()
                .windowSize(1 << 20)
                .maxWindowSize(32 << 20)
                .sessionWindowSize(128 << 20)
                .maxChunkSize(64 << 10)
                .maxStreams(1000)
                .acceptBacklog(10)
                .keepAliveInterval(Duration.ofMillis(250))
                .keepAliveTimeout(Duration.ofSeconds(2))
                .writeTimeout(Duration.ofSeconds(5))
                .resumeGracePeriod(Duration.ZERO)
                .preSharedKey(key)
                .build();
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
        assertThat(core.preSharedKey()).hasValueSatisfying(k -> assertThat(k).isEqualTo(key));
        assertThat(c.limits().drainTimeout()).isEqualTo(Duration.ofSeconds(20));
    }

    @Test
    void extremeLimitsAreAcceptedByTheCoreToo() throws Exception {
        SidecarConfig low = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "limits.windowSize=16KiB", "limits.maxWindowSize=16KiB", "limits.sessionWindowSize=64KiB",
                "limits.maxChunkSize=1KiB", "limits.maxStreams=1", "limits.acceptBacklog=1",
                "limits.acceptTimeout=100ms", "limits.keepAliveInterval=10ms", "limits.keepAliveTimeout=20ms",
                "limits.writeTimeout=10ms",
                "limits.resumeGracePeriod=0", "limits.drainTimeout=0s")).load();
        assertThat(low.toCoreConfig().maxStreams()).isEqualTo(1);
        SidecarConfig high = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "limits.windowSize=1GiB", "limits.maxWindowSize=1GiB", "limits.sessionWindowSize=1GiB",
                "limits.maxChunkSize=1MiB", "limits.maxStreams=16777216", "limits.acceptBacklog=65536",
                "limits.acceptTimeout=1h",
                "limits.keepAliveInterval=30m", "limits.keepAliveTimeout=1h", "limits.writeTimeout=1h",
                "limits.resumeGracePeriod=24h", "limits.drainTimeout=10m")).load();
        assertThat(high.toCoreConfig().windowSize()).isEqualTo(1 << 30);
    }

    @Test
    void defaultsRoundTripThroughYaml() throws Exception {
        SidecarConfig c = new ConfigLoader().hostname("pod-a").load();
        assertRoundTrip(c);
        assertThat(c.toYaml()).contains("identity: pod-a\n").contains("  windowSize: 256KiB\n")
                .contains("  keepAliveInterval: 100ms\n").contains("listeners:\n  - tcp://127.0.0.1:7700\n")
                .contains("peers: []\n").doesNotContain("&").doesNotContain("*");
    }

    @Test
    void exampleRoundTripsThroughYaml() throws Exception {
        assertRoundTrip(new ConfigLoader().yaml("example", example()).load());
    }

    @Test
    void everythingNonDefaultRoundTripsThroughYaml() throws Exception {
        Path keyFile = dir.resolve("psk");
        Files.writeString(keyFile, Base64.getEncoder().encodeToString(new byte[64]) + "\n");
        String yaml = """
                identity: node_1.example
                api:
                  address: unix:///run/invmux/api.sock
                  token: "s3cret-token-0123456789"
                  maxMessageSize: 65537
                  maxStreamsPerClient: 100000
                health: {address: "[::]:0"}
                admin: {address: ""}
                listeners: ["tcp://[::]:0?sndbuf=65536&rcvbuf=1048576", "mem://in-process"]
                peers:
                  - name: b
                    links:
                      - {address: "tcp://[fd00::2]:7700?iface=eth1", priority: -100, weight: 0.001}
                      - {address: "mem://b", priority: 100, weight: 1000}
                      - {address: "tcp://b.example:1?bind=10.0.0.1:4000", weight: 2.5e1}
                  - name: c
                    links: [{address: "tcp://c:7700"}]
                services:
                  - {name: grpc/echo.v1, target: "localhost:65535"}
                  - {name: db, target: "[::1]:5432"}
                forwards:
                  - {listen: "127.0.0.1:0", peer: c, service: db}
                  - {listen: "0.0.0.0:15432", peer: b, service: grpc/echo.v1}
                limits:
                  windowSize: 1000000
                  maxWindowSize: 1GiB
                  sessionWindowSize: 1025KiB
                  maxChunkSize: 1KiB
                  maxStreams: 16777216
                  acceptBacklog: 1
                  acceptTimeout: 250ms
                  keepAliveInterval: 1500ms
                  keepAliveTimeout: 1h
                  writeTimeout: 90s
                  resumeGracePeriod: 0s
                  drainTimeout: 10m
                security:
                  preSharedKeyFile: %s
                logging: {level: TRACE}
                """.formatted(keyFile);
        SidecarConfig c = new ConfigLoader().yaml("config.yaml", yaml).load();
        assertThat(c.api().address()).isEqualTo(new UnixAddress(Path.of("/run/invmux/api.sock")));
        assertThat(c.security().preSharedKeyFile()).contains(keyFile);
        assertThat(c.security().key()).hasValueSatisfying(k -> assertThat(k).hasSize(64));
        assertThat(c.peers().get(0).links().get(2).weight()).isEqualTo(25.0);
        assertThat(c.limits().windowSize()).isEqualTo(1_000_000);
        assertThat(c.logging().level()).isEqualTo(SidecarConfig.LogLevel.TRACE);
        assertRoundTrip(c);

        SidecarConfig inline = new ConfigLoader().yaml("config.yaml", yaml.replace("preSharedKeyFile: " + keyFile,
                "preSharedKey: AAECAwQFBgcICQoLDA0ODw")).load();
        assertThat(inline.security().preSharedKey()).isEqualTo("AAECAwQFBgcICQoLDA0ODw");
        assertRoundTrip(inline);
    }

    @Test
    void redactedYamlHidesSecrets() throws Exception {
        SidecarConfig c = new ConfigLoader().hostname("pod-a").overrides(List.of(
                "api.token=s3cret-token-0123456789", "security.preSharedKey=AAECAwQFBgcICQoLDA0ODw==")).load();
        assertThat(c.toYaml()).contains("s3cret-token-0123456789").contains("AAECAwQFBgcICQoLDA0ODw==");
        assertThat(c.toYaml(true)).doesNotContain("s3cret-token-0123456789")
                .doesNotContain("AAECAwQFBgcICQoLDA0ODw==")
                .contains("token: REDACTED").contains("preSharedKey: REDACTED");
        assertThat(new ConfigLoader().hostname("pod-a").load().toYaml(true)).contains("token: ''");
    }

    private static void assertRoundTrip(SidecarConfig c) throws ConfigException {
        String yaml = c.toYaml();
        SidecarConfig again = new ConfigLoader().hostname("other").environment(Map.of()).yaml("rendered", yaml).load();
        assertThat(again).isEqualTo(c);
        assertThat(again.toYaml()).isEqualTo(yaml);
        assertThat(again.security().key().map(Base64.getEncoder()::encodeToString))
                .isEqualTo(c.security().key().map(Base64.getEncoder()::encodeToString));
        assertThat(Optional.of(again.hashCode())).contains(c.hashCode());
    }
}
