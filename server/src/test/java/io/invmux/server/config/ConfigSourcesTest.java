package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Defaults &lt; file &lt; environment &lt; command line, and how each source addresses keys. */
class ConfigSourcesTest {
    @TempDir
    Path dir;

    private static ConfigLoader loader() {
        return new ConfigLoader().hostname("pod-a");
    }

    private static List<String> problems(ConfigLoader loader) {
        try {
            loader.load();
        } catch (ConfigException e) {
            return e.problems().stream().map(ConfigException.Problem::toString).toList();
        }
        throw new AssertionError("expected a ConfigException");
    }

    @Test
    void laterSourcesWin() throws Exception {
        Path file = dir.resolve("invmux.yaml");
        Files.writeString(file, "api:\n  address: 127.0.0.1:1\n  maxStreamsPerClient: 5\nidentity: from-file\n");
        Map<String, String> env = Map.of("INVMUX_API_ADDRESS", "127.0.0.1:2", "INVMUX_IDENTITY", "from-env");
        List<String> cli = List.of("api.address=127.0.0.1:3");

        SidecarConfig fileOnly = loader().file(file).load();
        assertThat(fileOnly.api().address()).isEqualTo(new TcpAddress("127.0.0.1", 1));
        assertThat(fileOnly.identity()).isEqualTo("from-file");

        SidecarConfig withEnv = loader().file(file).environment(env).load();
        assertThat(withEnv.api().address()).isEqualTo(new TcpAddress("127.0.0.1", 2));
        assertThat(withEnv.identity()).isEqualTo("from-env");

        SidecarConfig all = loader().file(file).environment(env).overrides(cli).load();
        assertThat(all.api().address()).isEqualTo(new TcpAddress("127.0.0.1", 3));
        assertThat(all.identity()).isEqualTo("from-env");
        // keys nobody overrides keep the file's value, or the default
        assertThat(all.api().maxStreamsPerClient()).isEqualTo(5);
        assertThat(all.api().maxMessageSize()).isEqualTo(4 << 20);

        SidecarConfig noFile = loader().environment(env).overrides(cli).load();
        assertThat(noFile.api().address()).isEqualTo(new TcpAddress("127.0.0.1", 3));
        assertThat(noFile.api().maxStreamsPerClient()).isEqualTo(1024);
    }

    @Test
    void laterOverridesWinOverEarlierOnes() throws Exception {
        SidecarConfig c = loader().overrides(List.of("logging.level=debug", "logging.level=warn")).load();
        assertThat(c.logging().level()).isEqualTo(SidecarConfig.LogLevel.WARN);
    }

    @Test
    void everyKindOfKeyHasAnEnvironmentVariable() throws Exception {
        Path keyFile = dir.resolve("psk");
        Files.writeString(keyFile, "AAECAwQFBgcICQoLDA0ODw==\n");
        Map<String, String> env = new HashMap<>();
        env.put("INVMUX_IDENTITY", "pod-z");
        env.put("INVMUX_API_ADDRESS", "unix:///run/invmux.sock");
        env.put("INVMUX_API_TOKEN", "0123456789abcdef");
        env.put("INVMUX_API_MAX_MESSAGE_SIZE", "8MiB");
        env.put("INVMUX_API_MAX_STREAMS_PER_CLIENT", "7");
        env.put("INVMUX_HEALTH_ADDRESS", "0.0.0.0:7703");
        env.put("INVMUX_ADMIN_ADDRESS", "");
        env.put("INVMUX_LISTENERS_0", "tcp://0.0.0.0:0");
        env.put("INVMUX_PEERS_0_NAME", "pod-b");
        env.put("INVMUX_PEERS_0_LINKS_0_ADDRESS", "tcp://10.0.2.2:7700?bind=10.0.2.1");
        env.put("INVMUX_PEERS_0_LINKS_0_PRIORITY", "-5");
        env.put("INVMUX_PEERS_0_LINKS_0_WEIGHT", "2.5");
        env.put("INVMUX_SERVICES_0_NAME", "echo");
        env.put("INVMUX_SERVICES_0_TARGET", "127.0.0.1:9000");
        env.put("INVMUX_FORWARDS_0_LISTEN", "127.0.0.1:0");
        env.put("INVMUX_FORWARDS_0_PEER", "pod-b");
        env.put("INVMUX_FORWARDS_0_SERVICE", "echo");
        env.put("INVMUX_LIMITS_WINDOW_SIZE", "1MiB");
        env.put("INVMUX_LIMITS_MAX_WINDOW_SIZE", "2MiB");
        env.put("INVMUX_LIMITS_SESSION_WINDOW_SIZE", "4MiB");
        env.put("INVMUX_LIMITS_MAX_CHUNK_SIZE", "16KiB");
        env.put("INVMUX_LIMITS_MAX_STREAMS", "100");
        env.put("INVMUX_LIMITS_ACCEPT_BACKLOG", "10");
        env.put("INVMUX_LIMITS_ACCEPT_TIMEOUT", "2s");
        env.put("INVMUX_LIMITS_KEEP_ALIVE_INTERVAL", "1s");
        env.put("INVMUX_LIMITS_KEEP_ALIVE_TIMEOUT", "3s");
        env.put("INVMUX_LIMITS_WRITE_TIMEOUT", "4s");
        env.put("INVMUX_LIMITS_RESUME_GRACE_PERIOD", "5s");
        env.put("INVMUX_LIMITS_DRAIN_TIMEOUT", "6s");
        env.put("INVMUX_SECURITY_PRE_SHARED_KEY_FILE", keyFile.toString());
        env.put("INVMUX_LOGGING_LEVEL", "ERROR");
        env.put("PATH", "/usr/bin");
        env.put("HOME", "/root");
        env.put("INVMUXFOO", "not ours");
        env.put("invmux_api_address", "not ours either");

        SidecarConfig c = loader().environment(env).load();

        assertThat(c.identity()).isEqualTo("pod-z");
        assertThat(c.api()).isEqualTo(new SidecarConfig.Api(Address.parse("unix:///run/invmux.sock", false),
                "0123456789abcdef", 8 << 20, 7));
        assertThat(c.health().address()).contains(new TcpAddress("0.0.0.0", 7703));
        assertThat(c.admin().address()).isEmpty();
        assertThat(c.listeners()).containsExactly(URI.create("tcp://0.0.0.0:0"));
        assertThat(c.peers()).containsExactly(new SidecarConfig.Peer("pod-b", List.of(
                new SidecarConfig.Link(URI.create("tcp://10.0.2.2:7700?bind=10.0.2.1"), -5, 2.5))));
        assertThat(c.services()).containsExactly(new SidecarConfig.Service("echo", new TcpAddress("127.0.0.1", 9000)));
        assertThat(c.forwards()).containsExactly(
                new SidecarConfig.Forward(new TcpAddress("127.0.0.1", 0), "pod-b", "echo"));
        assertThat(c.limits()).isEqualTo(new SidecarConfig.Limits(1 << 20, 2 << 20, 4 << 20, 16 << 10, 100, 10,
                Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(3), Duration.ofSeconds(4),
                Duration.ofSeconds(5), Duration.ofSeconds(6)));
        assertThat(c.security().preSharedKeyFile()).contains(keyFile);
        assertThat(c.security().key()).hasValueSatisfying(k -> assertThat(k).hasSize(16));
        assertThat(c.logging().level()).isEqualTo(SidecarConfig.LogLevel.ERROR);
    }

    @Test
    void inlineKeyVariableIsNotMistakenForTheKeyFileOne() throws Exception {
        SidecarConfig c = loader().environment(Map.of("INVMUX_SECURITY_PRE_SHARED_KEY", "AAECAwQFBgcICQoLDA0ODw=="))
                .load();
        assertThat(c.security().preSharedKey()).isEqualTo("AAECAwQFBgcICQoLDA0ODw==");
        assertThat(c.security().preSharedKeyFile()).isEmpty();
    }

    @Test
    void environmentValuesLoseSurroundingWhitespace() throws Exception {
        SidecarConfig c = loader().environment(Map.of("INVMUX_LIMITS_WINDOW_SIZE", " 1MiB\n")).load();
        assertThat(c.limits().windowSize()).isEqualTo(1 << 20);
    }

    @Test
    void configFileVariableIsIgnored() throws Exception {
        SidecarConfig c = loader().environment(Map.of(ConfigLoader.CONFIG_FILE_ENV, "/etc/invmux.yaml")).load();
        assertThat(c).isEqualTo(loader().load());
    }

    @Test
    void indexOnePastTheEndAppends() throws Exception {
        SidecarConfig c = loader().environment(Map.of("INVMUX_LISTENERS_1", "mem://second")).load();
        assertThat(c.listeners()).containsExactly(URI.create("tcp://127.0.0.1:7700"), URI.create("mem://second"));

        SidecarConfig replaced = loader().environment(Map.of("INVMUX_LISTENERS_0", "mem://first")).load();
        assertThat(replaced.listeners()).containsExactly(URI.create("mem://first"));

        SidecarConfig cli = loader().overrides(List.of("listeners.1=mem://b", "listeners[2]=mem://c")).load();
        assertThat(cli.listeners()).containsExactly(URI.create("tcp://127.0.0.1:7700"), URI.create("mem://b"),
                URI.create("mem://c"));
    }

    @Test
    void listInTheFileReplacesTheDefaultList() throws Exception {
        SidecarConfig c = loader().yaml("config.yaml", "listeners: [mem://a]\n")
                .environment(Map.of("INVMUX_LISTENERS_1", "mem://b")).load();
        assertThat(c.listeners()).containsExactly(URI.create("mem://a"), URI.create("mem://b"));
        assertThat(loader().yaml("config.yaml", "listeners: []\n").load().listeners()).isEmpty();
        assertThat(loader().yaml("config.yaml", "listeners:\n").load().listeners()).isEmpty();
    }

    @Test
    void listEntriesAreAppliedInIndexOrderWhateverTheMapOrder() throws Exception {
        Map<String, String> env = new HashMap<>();
        for (int i = 0; i < 12; i++) {
            env.put("INVMUX_LISTENERS_" + i, "mem://l" + i);
        }
        SidecarConfig c = loader().environment(env).load();
        assertThat(c.listeners()).hasSize(12);
        for (int i = 0; i < 12; i++) {
            assertThat(c.listeners().get(i)).isEqualTo(URI.create("mem://l" + i));
        }
    }

    @Test
    void overridesChangeOneKeyOfAnEntryFromTheFile() throws Exception {
        String yaml = """
                peers:
                  - name: pod-b
                    links:
                      - address: tcp://10.0.2.2:7700
                        weight: 3
                """;
        SidecarConfig c = loader().yaml("config.yaml", yaml)
                .environment(Map.of("INVMUX_PEERS_0_LINKS_0_PRIORITY", "7"))
                .overrides(List.of("peers[0].links[1].address=tcp://10.0.3.2:7700", "peers.0.links.1.weight=0.5"))
                .load();
        assertThat(c.peers()).containsExactly(new SidecarConfig.Peer("pod-b", List.of(
                new SidecarConfig.Link(URI.create("tcp://10.0.2.2:7700"), 7, 3.0),
                new SidecarConfig.Link(URI.create("tcp://10.0.3.2:7700"), 0, 0.5))));
    }

    @Test
    void sectionsAndListsTakeYamlFlowValues() throws Exception {
        SidecarConfig c = loader()
                .environment(Map.of("INVMUX_LISTENERS", "[tcp://127.0.0.1:0, mem://x]",
                        "INVMUX_PEERS_0", "{name: pod-b, links: [{address: \"tcp://h:7700\"}]}"))
                .overrides(List.of("api={maxStreamsPerClient: 9}", "peers.0.links.1={address: mem://b, weight: 2}",
                        "services=[{name: echo, target: \"127.0.0.1:9000\"}]"))
                .load();
        assertThat(c.listeners()).containsExactly(URI.create("tcp://127.0.0.1:0"), URI.create("mem://x"));
        assertThat(c.peers()).containsExactly(new SidecarConfig.Peer("pod-b", List.of(
                new SidecarConfig.Link(URI.create("tcp://h:7700"), 0, 1.0),
                new SidecarConfig.Link(URI.create("mem://b"), 0, 2.0))));
        // a section merges: the rest of api keeps its values
        assertThat(c.api().maxStreamsPerClient()).isEqualTo(9);
        assertThat(c.api().address()).isEqualTo(new TcpAddress("127.0.0.1", 7701));
        assertThat(c.services()).hasSize(1);
    }

    @Test
    void plainValueForAListIsAnError() {
        assertThat(problems(loader().environment(Map.of("INVMUX_LISTENERS", "tcp://0.0.0.0:1,tcp://0.0.0.0:2"))))
                .containsExactly("environment variable INVMUX_LISTENERS: listeners = tcp://0.0.0.0:1,tcp://0.0.0.0:2: "
                        + "must be a list of values in YAML flow form, e.g. [a, b]; or set its keys one by one");
    }

    @Test
    void emptyValueEmptiesAList() throws Exception {
        assertThat(loader().environment(Map.of("INVMUX_LISTENERS", "")).load().listeners()).isEmpty();
        assertThat(loader().overrides(List.of("listeners=")).load().listeners()).isEmpty();
        assertThat(loader().overrides(List.of("listeners=[]")).load().listeners()).isEmpty();
    }

    @Test
    void overrideValuesMayContainEqualsSigns() throws Exception {
        SidecarConfig c = loader().overrides(List.of("security.preSharedKey=AAECAwQFBgcICQoLDA0ODw==")).load();
        assertThat(c.security().key()).hasValueSatisfying(k -> assertThat(k).hasSize(16));
    }

    @Test
    void environmentVariableNames() {
        assertThat(ConfigLoader.environmentVariable("api.address")).isEqualTo("INVMUX_API_ADDRESS");
        assertThat(ConfigLoader.environmentVariable("limits.windowSize")).isEqualTo("INVMUX_LIMITS_WINDOW_SIZE");
        assertThat(ConfigLoader.environmentVariable("listeners.0")).isEqualTo("INVMUX_LISTENERS_0");
        assertThat(ConfigLoader.environmentVariable("peers[0].links[1].weight"))
                .isEqualTo("INVMUX_PEERS_0_LINKS_1_WEIGHT");
        assertThat(ConfigLoader.environmentVariable("security.preSharedKey"))
                .isEqualTo("INVMUX_SECURITY_PRE_SHARED_KEY");
        assertThat(ConfigLoader.environmentVariable("api.maxStreamsPerClient"))
                .isEqualTo("INVMUX_API_MAX_STREAMS_PER_CLIENT");
        assertThatThrownBy(() -> ConfigLoader.environmentVariable("api.adress"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("unknown key");
    }

    @Test
    void unknownEnvironmentVariablesAreErrors() {
        Map<String, String> env = new HashMap<>();
        env.put("INVMUX_API_ADRESS", "127.0.0.1:1");
        env.put("INVMUX_FOO", "1");
        env.put("INVMUX_", "1");
        env.put("INVMUX_PEERS_X_NAME", "1");
        env.put("INVMUX_API_ADDRESS_PORT", "1");
        env.put("INVMUX_LIMITS_WINDOWSIZE", "1MiB");
        env.put("PATH", "/bin");
        assertThat(problems(loader().environment(env))).containsExactly(
                "environment variable INVMUX_: names no configuration key; known variables: INVMUX_IDENTITY, "
                        + "INVMUX_API_*, INVMUX_HEALTH_*, INVMUX_ADMIN_*, INVMUX_LISTENERS_<n>, INVMUX_PEERS_<n>_*, "
                        + "INVMUX_SERVICES_<n>_*, INVMUX_FORWARDS_<n>_*, INVMUX_MIDDLEWARE_<n>, INVMUX_LIMITS_*, INVMUX_SECURITY_*, "
                        + "INVMUX_LOGGING_*",
                "environment variable INVMUX_API_ADDRESS_PORT: names no configuration key; INVMUX_API_ADDRESS sets "
                        + "api.address, which has no sub-keys",
                "environment variable INVMUX_API_ADRESS: names no configuration key; known variables under api: "
                        + "INVMUX_API_ADDRESS, INVMUX_API_TOKEN, INVMUX_API_MAX_MESSAGE_SIZE, "
                        + "INVMUX_API_MAX_STREAMS_PER_CLIENT, INVMUX_API_TOKEN_FILE, INVMUX_API_SOCKET_GROUP, "
                        + "INVMUX_API_MAX_CONNECTIONS_PER_CLIENT (did you "
                        + "mean INVMUX_API_ADDRESS?)",
                "environment variable INVMUX_FOO: names no configuration key; known variables: INVMUX_IDENTITY, "
                        + "INVMUX_API_*, INVMUX_HEALTH_*, INVMUX_ADMIN_*, INVMUX_LISTENERS_<n>, INVMUX_PEERS_<n>_*, "
                        + "INVMUX_SERVICES_<n>_*, INVMUX_FORWARDS_<n>_*, INVMUX_MIDDLEWARE_<n>, INVMUX_LIMITS_*, INVMUX_SECURITY_*, "
                        + "INVMUX_LOGGING_*",
                "environment variable INVMUX_LIMITS_WINDOWSIZE: names no configuration key; known variables under "
                        + "limits: INVMUX_LIMITS_WINDOW_SIZE, INVMUX_LIMITS_MAX_WINDOW_SIZE, "
                        + "INVMUX_LIMITS_SESSION_WINDOW_SIZE, INVMUX_LIMITS_MAX_CHUNK_SIZE, INVMUX_LIMITS_MAX_STREAMS, "
                        + "INVMUX_LIMITS_ACCEPT_BACKLOG, INVMUX_LIMITS_ACCEPT_TIMEOUT, "
                        + "INVMUX_LIMITS_KEEP_ALIVE_INTERVAL, "
                        + "INVMUX_LIMITS_KEEP_ALIVE_TIMEOUT, INVMUX_LIMITS_WRITE_TIMEOUT, "
                        + "INVMUX_LIMITS_RESUME_GRACE_PERIOD, INVMUX_LIMITS_DRAIN_TIMEOUT, "
                        + "INVMUX_LIMITS_MAX_SERVICE_CONNECTIONS, INVMUX_LIMITS_SERVICE_IDLE_TIMEOUT, "
                        + "INVMUX_LIMITS_HANDSHAKE_TIMEOUT, INVMUX_LIMITS_MAX_HANDSHAKES, "
                        + "INVMUX_LIMITS_MAX_HANDSHAKES_PER_ADDRESS, INVMUX_LIMITS_MAX_SESSIONS, "
                        + "INVMUX_LIMITS_MAX_LINKS_PER_SESSION, INVMUX_LIMITS_PENDING_OPEN_TIMEOUT, "
                        + "INVMUX_LIMITS_MAX_REORDER_CHUNKS, INVMUX_LIMITS_MAX_PING_RATE "
                        + "(did you mean INVMUX_LIMITS_WINDOW_SIZE?)",
                "environment variable INVMUX_PEERS_X_NAME: names no configuration key; peers is a list: give an "
                        + "index, as in INVMUX_PEERS_0_*");
    }

    @Test
    void unknownVariableValuesAreNotShown() {
        assertThat(problems(loader().environment(Map.of("INVMUX_API_TOKN", "super-secret-value-123"))))
                .singleElement().asString().doesNotContain("super-secret-value-123");
    }

    @Test
    void indexTwoPastTheEndIsAnError() {
        assertThat(problems(loader().environment(Map.of("INVMUX_LISTENERS_2", "mem://x")))).containsExactly(
                "environment variable INVMUX_LISTENERS_2: listeners[2] = mem://x: index 2 is past the end of "
                        + "listeners, which has 1 entry; the next index is 1");
        assertThat(problems(loader().overrides(List.of("peers.0.links.1.address=mem://x")))).containsExactly(
                "command line: peers[0].links[1] = mem://x: index 1 is past the end of peers[0].links, which has "
                        + "0 entries; the next index is 0");
    }

    @Test
    void badOverridesAreErrors() {
        assertThat(problems(loader().overrides(List.of(
                "api.adress=127.0.0.1:1",
                "no-equals-sign",
                "=value",
                "peers.name=x",
                "api.address.port=1",
                "Identity=x",
                "api..address=x")))).containsExactly(
                "command line: api.adress: unknown key; known keys under api: address, token, maxMessageSize, "
                        + "maxStreamsPerClient, tokenFile, socketGroup, maxConnectionsPerClient (did you mean address?)",
                "command line: override no-equals-sign must be key=value, e.g. api.address=127.0.0.1:7701",
                "command line: override =value must be key=value, e.g. api.address=127.0.0.1:7701",
                "command line: peers.name: peers is a list: give an index (0, 1, ...) after it, as in peers[0]",
                "command line: api.address.port: api.address is a single value and has no key port",
                "command line: Identity: unknown key; known keys at the top level: identity, api, health, admin, "
                        + "listeners, peers, services, forwards, middleware, limits, security, logging (did you mean identity?)",
                "command line: api..address: unknown key; known keys under api: address, token, maxMessageSize, "
                        + "maxStreamsPerClient, tokenFile, socketGroup, maxConnectionsPerClient");
    }

    @Test
    void badFlowValuesAreErrors() {
        assertThat(problems(loader().overrides(List.of("listeners=[tcp://a:1", "api=5", "peers.0={nme: x}"))))
                .containsExactly(
                        "command line: listeners = [tcp://a:1: must be a list of values in YAML flow form; line 1, "
                                + "column 11: invalid YAML: expected ',' or ']', but got <stream end> (while parsing "
                                + "a flow sequence started at line 1, column 1)",
                        "command line: api = (hidden): must be a section with the keys address, token, "
                                + "maxMessageSize, maxStreamsPerClient, tokenFile, socketGroup, maxConnectionsPerClient in YAML flow form, "
                                + "e.g. {key: value}; or set its keys one by one",
                        "command line: peers[0].nme: unknown key; known keys under peers[0]: name, links, preSharedKeyFile (did you "
                                + "mean name?)",
                        "command line: peers[0].name: is required: every peer needs a name",
                        "command line: peers[0].links: must have at least one link");
    }
}
