package io.invmux.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every rule, with the exact message: source, key path, value and rule. */
class ConfigValidationTest {
    private static final String LINK = "must be a link URI: tcp://host:port[?bind=..&iface=..&sndbuf=..&rcvbuf=..], "
            + "tls://host:port[?...] or mem://name";
    private static final String TOP_KEYS = "identity, api, health, admin, listeners, peers, services, forwards, "
            + "middleware, limits, security, logging";

    @TempDir
    Path dir;

    /** The problems of loading {@code yaml} as the file {@code config.yaml}. */
    private static List<String> problems(String yaml) {
        return problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", yaml));
    }

    private static List<String> problems(ConfigLoader loader) {
        try {
            loader.load();
        } catch (ConfigException e) {
            assertThat(e.getMessage()).isEqualTo(String.join("\n",
                    e.problems().stream().map(ConfigException.Problem::toString).toList()));
            return e.problems().stream().map(ConfigException.Problem::toString).toList();
        }
        throw new AssertionError("expected a ConfigException");
    }

    /** The single problem of setting {@code key} to {@code value} on the command line. */
    private static String override(String key, String value) {
        List<String> p = problems(new ConfigLoader().hostname("pod-a").overrides(List.of(key + "=" + value)));
        assertThat(p).hasSize(1);
        return p.get(0);
    }

    // ---------------------------------------------------------------- the exception

    @Test
    void exceptionCarriesExitCodeAndStructuredProblems() {
        assertThat(ConfigException.EXIT_CODE).isEqualTo(2);
        assertThat(Exception.class).isAssignableFrom(ConfigException.class);
        assertThatThrownBy(() -> new ConfigLoader().hostname("pod-a").yaml("config.yaml",
                "peers: [{name: b, links: [{address: 'tcp://h:1'}, {address: 'tcp://h:2', weight: -2}]}]").load())
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.problems()).containsExactly(new ConfigException.Problem("config.yaml",
                            "peers[0].links[1].weight", "-2", "must be greater than 0 and at most 1000"));
                    assertThat(e.getMessage()).isEqualTo(
                            "config.yaml: peers[0].links[1].weight = -2: must be greater than 0 and at most 1000");
                });
    }

    @Test
    void fileProblemsNameTheFilePath() throws Exception {
        Path file = dir.resolve("config.yaml");
        Files.writeString(file, "logging:\n  level: loud\n");
        assertThat(problems(new ConfigLoader().hostname("pod-a").file(file)))
                .containsExactly(file + ": logging.level = loud: must be one of trace, debug, info, warn, error");
    }

    @Test
    void eachSourceIsNamed() {
        assertThat(problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", "logging: {level: a}")
                .environment(Map.of("INVMUX_LIMITS_MAX_STREAMS", "0"))
                .overrides(List.of("api.maxStreamsPerClient=0")))).containsExactly(
                "command line: api.maxStreamsPerClient = 0: must be an integer from 1 to 100000",
                "environment variable INVMUX_LIMITS_MAX_STREAMS: limits.maxStreams = 0: must be an integer from 1 "
                        + "to 16777216",
                "config.yaml: logging.level = a: must be one of trace, debug, info, warn, error");
    }

    // ---------------------------------------------------------------- structure

    @Test
    void unknownKeysAtEveryLevel() {
        assertThat(problems("""
                identiy: x
                api:
                  adress: 127.0.0.1:1
                peers:
                  - name: b
                    link: []
                    links:
                      - address: tcp://h:1
                        wieght: 2
                limits:
                  windowsize: 1MiB
                  bogus: 1
                """)).containsExactly(
                "config.yaml: identiy: unknown key; known keys at the top level: " + TOP_KEYS
                        + " (did you mean identity?)",
                "config.yaml: api.adress: unknown key; known keys under api: address, token, maxMessageSize, "
                        + "maxStreamsPerClient, tokenFile, socketGroup, maxConnectionsPerClient (did you mean address?)",
                "config.yaml: peers[0].link: unknown key; known keys under peers[0]: name, links, preSharedKeyFile (did you mean "
                        + "links?)",
                "config.yaml: peers[0].links[0].wieght: unknown key; known keys under peers[0].links[0]: address, "
                        + "priority, weight, maxBytesPerDay (did you mean weight?)",
                "config.yaml: limits.windowsize: unknown key; known keys under limits: windowSize, maxWindowSize, "
                        + "sessionWindowSize, maxChunkSize, maxStreams, acceptBacklog, acceptTimeout, "
                        + "keepAliveInterval, "
                        + "keepAliveTimeout, writeTimeout, resumeGracePeriod, drainTimeout, maxServiceConnections, "
                        + "serviceIdleTimeout, handshakeTimeout, maxHandshakes, maxHandshakesPerAddress, maxSessions, "
                        + "maxLinksPerSession, pendingOpenTimeout, maxReorderChunks, maxPingRate "
                        + "(did you mean windowSize?)",
                "config.yaml: limits.bogus: unknown key; known keys under limits: windowSize, maxWindowSize, "
                        + "sessionWindowSize, maxChunkSize, maxStreams, acceptBacklog, acceptTimeout, "
                        + "keepAliveInterval, "
                        + "keepAliveTimeout, writeTimeout, resumeGracePeriod, drainTimeout, maxServiceConnections, "
                        + "serviceIdleTimeout, handshakeTimeout, maxHandshakes, maxHandshakesPerAddress, maxSessions, "
                        + "maxLinksPerSession, pendingOpenTimeout, maxReorderChunks, maxPingRate");
    }

    @Test
    void wrongTypes() {
        assertThat(problems("""
                identity: [a, b]
                api: 5
                health: {address: {host: x}}
                listeners: tcp://0.0.0.0:7700
                peers: {name: b}
                services: [echo]
                security: [x]
                """)).containsExactly(
                "config.yaml: identity = [a, b]: must be a single value, not a list",
                "config.yaml: api = (hidden): must be a section with the keys address, token, maxMessageSize, "
                        + "maxStreamsPerClient, tokenFile, socketGroup, maxConnectionsPerClient",
                "config.yaml: health.address = {host: x}: must be a single value, not a section",
                "config.yaml: listeners = tcp://0.0.0.0:7700: must be a list of values",
                "config.yaml: peers = {name: b}: must be a list of sections with the keys name, links, "
                        + "preSharedKeyFile",
                "config.yaml: services[0] = echo: must be a section with the keys name, target, middleware",
                "config.yaml: security = (hidden): must be a section with the keys preSharedKey, preSharedKeyFile, "
                        + "serviceTargets, allowNonLoopbackForwards, tls, acceptPeers, insecure");
    }

    @Test
    void documentMustBeAMapping() {
        assertThat(problems("- a\n- b\n")).containsExactly(
                "config.yaml: the document must be a section with the keys " + TOP_KEYS);
        assertThat(problems("just text\n")).containsExactly(
                "config.yaml: the document must be a section with the keys " + TOP_KEYS);
    }

    // ---------------------------------------------------------------- YAML syntax

    @Test
    void yamlSyntaxErrorsGiveLineAndColumn() {
        assertThat(problems("api:\n  address: 127.0.0.1:1\nlisteners: [tcp://a:1\nlogging: {}\n")).containsExactly(
                "config.yaml: line 4, column 8: invalid YAML: expected ',' or ']', but got : (while parsing a "
                        + "flow sequence started at line 3, column 12)");
        assertThat(problems("api:\n  address: x\n token: y\n")).singleElement().asString()
                .startsWith("config.yaml: line 3, column ").contains("invalid YAML");
        assertThat(problems("api:\n\taddress: x\n")).singleElement().asString()
                .startsWith("config.yaml: line 2, column 1: invalid YAML:");
        assertThat(problems("a: 1\n---\nb: 2\n")).containsExactly(
                "config.yaml: line 2, column 1: invalid YAML: but found another document (expected a single "
                        + "document in the stream started at line 1, column 1)");
        assertThat(problems("a: *nothing\n")).containsExactly(
                "config.yaml: line 1, column 4: invalid YAML: found undefined alias nothing");
    }

    @Test
    void duplicateKeysGiveLineAndColumn() {
        assertThat(problems("api:\n  address: 127.0.0.1:1\n  address: 127.0.0.1:2\nlogging: {}\nlogging: {}\n"))
                .containsExactly(
                        "config.yaml: line 3, column 3: duplicate key api.address (first given at line 2, column 3)",
                        "config.yaml: line 5, column 1: duplicate key logging (first given at line 4, column 1)");
    }

    @Test
    void syntaxErrorSkipsTheOtherChecksButStillReportsBadVariablesAndOverrides() {
        assertThat(problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", "api: [\n")
                .environment(Map.of("INVMUX_NOPE", "1")).overrides(List.of("limits.maxStreams=0"))))
                .hasSize(2)
                .first().asString().startsWith("config.yaml: line 2, column 1: invalid YAML:");
    }

    @Test
    void missingOrUnreadableFile() throws Exception {
        Path missing = dir.resolve("nope.yaml");
        assertThat(problems(new ConfigLoader().hostname("pod-a").file(missing)))
                .containsExactly(missing + ": cannot read the configuration file: no such file");
        Path notUtf8 = dir.resolve("latin1.yaml");
        Files.write(notUtf8, new byte[] {'a', ':', ' ', (byte) 0xE9, '\n'});
        assertThat(problems(new ConfigLoader().hostname("pod-a").file(notUtf8)))
                .containsExactly(notUtf8 + ": cannot read the configuration file: it is not UTF-8 text");
        assertThat(problems(new ConfigLoader().hostname("pod-a").file(dir))).singleElement().asString()
                .startsWith(dir + ": cannot read the configuration file: ");
    }

    // ---------------------------------------------------------------- identity and api

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "pod a|pod a",
            "pod/a|pod/a",
            "'  '|\"\"",
            "é|é"})
    void identityRule(String value, String shown) {
        assertThat(override("identity", value)).isEqualTo("command line: identity = " + shown
                + ": must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
    }

    @Test
    void identityLengthLimit() throws Exception {
        assertThat(new ConfigLoader().overrides(List.of("identity=" + "a".repeat(63))).load().identity())
                .hasSize(63);
        assertThat(override("identity", "a".repeat(64))).isEqualTo("command line: identity = " + "a".repeat(64)
                + ": must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and '-'");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "localhost|must be host:port (e.g. 127.0.0.1:7701) or unix:///absolute/path",
            "''|must be host:port (e.g. 127.0.0.1:7701) or unix:///absolute/path",
            "127.0.0.1:99999|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or [::1]:7701)",
            "::1:7701|must be host:port; write IPv6 addresses in brackets, e.g. [::1]:7701",
            "unix:relative.sock|must be unix:///absolute/path",
            "unix://host/x.sock|must be unix:///absolute/path (three slashes: no host between // and the path)"})
    void apiAddressRule(String value, String rule) {
        assertThat(override("api.address", value))
                .isEqualTo("command line: api.address = " + (value.isEmpty() ? "\"\"" : value) + ": " + rule);
    }

    @Test
    void tokenRuleNeverShowsTheToken() {
        String rule = ": must be empty (no token) or 16 to 1024 printable ASCII characters without spaces";
        assertThat(override("api.token", "short")).isEqualTo("command line: api.token = (hidden, 5 characters)"
                + rule);
        assertThat(override("api.token", "has a space in it, 24ch")).isEqualTo(
                "command line: api.token = (hidden, 23 characters)" + rule);
        assertThat(override("api.token", "x".repeat(1025))).isEqualTo(
                "command line: api.token = (hidden, 1025 characters)" + rule);
        assertThat(problems(new ConfigLoader().hostname("pod-a").environment(Map.of("INVMUX_API_TOKEN", "tiny"))))
                .containsExactly("environment variable INVMUX_API_TOKEN: api.token = (hidden, 4 characters)" + rule);
    }

    @Test
    void tokenAtTheLimitsIsAccepted() throws Exception {
        assertThat(new ConfigLoader().overrides(List.of("api.token=" + "t".repeat(16))).load().api().token())
                .hasSize(16);
        assertThat(new ConfigLoader().overrides(List.of("api.token=" + "~".repeat(1024))).load().api().token())
                .hasSize(1024);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "api.maxMessageSize|32KiB|must be between 64KiB and 64MiB",
            "api.maxMessageSize|65535|must be between 64KiB and 64MiB",
            "api.maxMessageSize|128MiB|must be between 64KiB and 64MiB",
            "api.maxMessageSize|4MB|must be a size: a whole number of bytes, optionally followed by B, KiB, MiB or "
                    + "GiB (e.g. 256KiB)",
            "api.maxStreamsPerClient|0|must be an integer from 1 to 100000",
            "api.maxStreamsPerClient|100001|must be an integer from 1 to 100000",
            "api.maxStreamsPerClient|many|must be an integer from 1 to 100000",
            "api.maxStreamsPerClient|1.5|must be an integer from 1 to 100000",
            "api.maxStreamsPerClient|99999999999|must be an integer from 1 to 100000",
            "health.address|localhost|must be host:port (e.g. 127.0.0.1:7701 or [::1]:7701), or empty for off",
            "health.address|unix:///x.sock|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or "
                    + "[::1]:7701), or empty for off",
            "admin.address|0.0.0.0:http|must be host:port with a port from 0 to 65535 (e.g. 127.0.0.1:7701 or "
                    + "[::1]:7701), or empty for off",
            "logging.level|verbose|must be one of trace, debug, info, warn, error",
            "logging.format|jsn|must be text or json (did you mean json?)",
            "logging.format|logfmt|must be text or json"})
    void valueRules(String key, String value, String rule) {
        assertThat(override(key, value)).isEqualTo("command line: " + key + " = " + value + ": " + rule);
    }

    @Test
    void valuesAtTheLimitsAreAccepted() throws Exception {
        SidecarConfig c = new ConfigLoader().overrides(List.of("api.maxMessageSize=64KiB",
                "api.maxStreamsPerClient=100000", "logging.level=Warn")).load();
        assertThat(c.api().maxMessageSize()).isEqualTo(65536);
        assertThat(c.api().maxStreamsPerClient()).isEqualTo(100000);
        assertThat(c.logging().level()).isEqualTo(SidecarConfig.LogLevel.WARN);
        assertThat(new ConfigLoader().environment(Map.of("INVMUX_LOGGING_FORMAT", "JSON")).load().logging().format())
                .as("any case, from the environment too").isEqualTo(SidecarConfig.LogFormat.JSON);
        assertThat(new ConfigLoader().load().logging().format()).as("default").isEqualTo(SidecarConfig.LogFormat.TEXT);
        assertThat(new ConfigLoader().overrides(List.of("api.maxMessageSize=64MiB", "api.maxStreamsPerClient=+1"))
                .load().api().maxMessageSize()).isEqualTo(64 << 20);
    }

    @Test
    void listenAddressesMustDiffer() {
        assertThat(problems("admin: {address: '127.0.0.1:7701'}\n")).containsExactly(
                "config.yaml: admin.address = 127.0.0.1:7701: is already used by api.address (the default)");
        assertThat(problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", """
                health: {address: "0.0.0.0:7703"}
                peers: [{name: b, links: [{address: "tcp://h:1"}]}]
                forwards:
                  - {listen: "127.0.0.1:0", peer: b, service: s}
                  - {listen: "127.0.0.1:0", peer: b, service: s}
                  - {listen: "0.0.0.0:7703", peer: b, service: s}
                """).overrides(List.of("api.address=0.0.0.0:7703")))).containsExactly(
                "command line: api.address = 0.0.0.0:7703: is already used by health.address (set in config.yaml)",
                "command line: api.address = 0.0.0.0:7703: is already used by forwards[2].listen (set in "
                        + "config.yaml)");
        assertThat(problems("""
                health: {address: "0.0.0.0:7703"}
                peers: [{name: b, links: [{address: "tcp://h:1"}]}]
                forwards: [{listen: "0.0.0.0:7703", peer: b, service: s}]
                """)).containsExactly(
                "config.yaml: forwards[0].listen = 0.0.0.0:7703: is already used by health.address (set in "
                        + "config.yaml)");
    }

    // ---------------------------------------------------------------- listeners and peers

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "udp://0.0.0.0:7700|(scheme must be tcp, tls or mem)",
            "0.0.0.0:7700|(missing tcp://, tls:// or mem://)",
            "mem:x|(missing tcp://, tls:// or mem://)",
            "tcp://0.0.0.0|(missing port)",
            "tcp://:7700|(not a valid host:port)",
            "tcp://my_host:7700|(not a valid host:port)",
            "tcp://0.0.0.0:7700/path|(no path)",
            "tcp://0.0.0.0:7700?bind=10.0.0.1|(parameter 'bind' applies only to links a peer dials; a listener "
                    + "takes sndbuf and rcvbuf)",
            "tcp://0.0.0.0:7700?snbuf=4096|(unknown parameter 'snbuf'; known parameters: sndbuf, rcvbuf)",
            "tcp://0.0.0.0:7700?sndbuf=100|(sndbuf must be a whole number of bytes from 1024 to 268435456)",
            "tcp://0.0.0.0:7700#x|(no user info or #fragment)",
            "tcp://u@0.0.0.0:7700|(no user info or #fragment)",
            "tcp://0.0.0.0:7700 x|(Illegal character in authority at index 6)"})
    void listenerRule(String value, String detail) {
        assertThat(problems("listeners: ['" + value + "']\n")).containsExactly(
                "config.yaml: listeners[0] = " + value + ": " + LINK + " " + detail);
    }

    @Test
    void listenersAcceptPortZeroAndBufferSizesAndMem() throws Exception {
        SidecarConfig c = new ConfigLoader().yaml("config.yaml",
                "listeners: ['tcp://0.0.0.0:0?sndbuf=1024&rcvbuf=268435456', 'TCP://[::]:7700', 'mem://a']\n"
                        + "security: {insecure: true}").load();
        assertThat(c.listeners()).hasSize(3);
    }

    @Test
    void duplicateListeners() {
        assertThat(problems("listeners: ['tcp://127.0.0.1:7700', 'mem://a', 'tcp://127.0.0.1:7700']\n"))
                .containsExactly("config.yaml: listeners[2] = tcp://127.0.0.1:7700: is listed twice (also "
                        + "listeners[0])");
    }

    @Test
    void peerRules() {
        assertThat(problems("""
                peers:
                  - name: pod b
                    links: [{address: "tcp://h:1"}]
                  - links: [{address: "tcp://h:2"}]
                  - name: c
                  - name: d
                    links: []
                  - name: c
                    links: [{address: "tcp://h:3"}, {priority: 1}]
                """)).containsExactly(
                "config.yaml: peers[0].name = pod b: must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
                "config.yaml: peers[1].name: is required: every peer needs a name",
                "config.yaml: peers[2].links: must have at least one link",
                "config.yaml: peers[3].links = []: must have at least one link",
                "config.yaml: peers[4].name = c: is already the name of peers[2]; peer names must be unique",
                "config.yaml: peers[4].links[1].address: is required: every link needs an address");
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "address|tcp://h:0|" + LINK + " (port must be 1 to 65535)",
            "address|tcp://h|" + LINK + " (missing port)",
            "address|h:7700|" + LINK + " (missing tcp://, tls:// or mem://)",
            "address|tcp://h:1?bind=10.0.0.1&iface=eth0|" + LINK + " (give either bind or iface, not both)",
            "address|tcp://h:1?bind=10.0.0.1&bind=10.0.0.2|" + LINK + " (parameter 'bind' given twice)",
            "address|tcp://h:1?bind=bad host|" + LINK + " (Illegal character in query at index 18)",
            "address|tcp://h:1?bind=10.0.0.1:99999|" + LINK + " (bind must be an address with an optional port, "
                    + "e.g. bind=10.0.2.1)",
            "address|tcp://h:1?iface=a/b|" + LINK + " (iface must name a network interface)",
            "address|tcp://h:1?rcvbuf=1GiB|" + LINK + " (rcvbuf must be a whole number of bytes from 1024 to "
                    + "268435456)",
            "address|tcp://h:1?timeout=1|" + LINK + " (unknown parameter 'timeout'; known parameters: bind, iface, "
                    + "sndbuf, rcvbuf)",
            "address|mem://|" + LINK + " (Expected authority at index 6)",
            "priority|101|must be an integer from -100 to 100",
            "priority|-101|must be an integer from -100 to 100",
            "priority|high|must be an integer from -100 to 100",
            "weight|-2|must be greater than 0 and at most 1000",
            "weight|0|must be greater than 0 and at most 1000",
            "weight|0.0|must be greater than 0 and at most 1000",
            "weight|1000.5|must be greater than 0 and at most 1000",
            "weight|1e4|must be greater than 0 and at most 1000",
            "weight|heavy|must be a number greater than 0 and at most 1000",
            "weight|NaN|must be a number greater than 0 and at most 1000",
            "weight|Infinity|must be a number greater than 0 and at most 1000",
            "weight|1f|must be a number greater than 0 and at most 1000",
            "weight|0x1p3|must be a number greater than 0 and at most 1000",
            "maxBytesPerDay|1KiB|must be 0 (no cap) or at least 1MiB",
            "maxBytesPerDay|-1|must be a size: a whole number of bytes, optionally followed by B, KiB, "
                    + "MiB or GiB (e.g. 256KiB)",
            "maxBytesPerDay|lots|must be a size: a whole number of bytes, optionally followed by B, KiB, "
                    + "MiB or GiB (e.g. 256KiB)"})
    void linkRules(String key, String value, String rule) {
        String link = key.equals("address") ? "{address: '" + value + "'}"
                : "{address: 'tcp://h:7700', " + key + ": '" + value + "'}";
        assertThat(problems("peers: [{name: b, links: [{address: 'tcp://h:1'}, " + link + "]}]\n")).containsExactly(
                "config.yaml: peers[0].links[1]." + key + " = " + value + ": " + rule);
    }

    @Test
    void linkValuesAtTheLimitsAreAccepted() throws Exception {
        SidecarConfig c = new ConfigLoader().yaml("config.yaml", """
                peers:
                  - name: b
                    links:
                      - {address: "tcp://h:65535?bind=10.0.0.1:0&sndbuf=1024", priority: -100, weight: 1000}
                      - {address: "tcp://h:1?iface=eth0.100", priority: 100, weight: .001}
                      - {address: "tcp://[::1]:1?bind=[::1]", priority: +0, weight: 1E2, maxBytesPerDay: 20GiB}
                """).load();
        assertThat(c.peers().get(0).links()).extracting(SidecarConfig.Link::weight).containsExactly(1000.0, 0.001,
                100.0);
        assertThat(c.peers().get(0).links()).extracting(SidecarConfig.Link::maxBytesPerDay).containsExactly(0L, 0L,
                20L * 1024 * 1024 * 1024);
    }

    @Test
    void aPeerMayListTheSameAddressTwiceForParallelConnections() throws ConfigException {
        SidecarConfig c = new ConfigLoader().hostname("pod-a").yaml("config.yaml",
                "peers: [{name: b, links: [{address: 'tcp://h:1'}, {address: 'tcp://h:1'}]}]\n").load();
        assertThat(c.peers().get(0).links()).hasSize(2);
    }

    // ---------------------------------------------------------------- services and forwards

    @Test
    void serviceRules() {
        String longName = "s".repeat(129);
        assertThat(problems("""
                services:
                  - {name: "echo service", target: "127.0.0.1:9000"}
                  - {name: %s, target: "127.0.0.1:9000"}
                  - {name: echo, target: "127.0.0.1:0"}
                  - {name: echo, target: "127.0.0.1:9001"}
                  - {name: grpc/echo.v1_x-y}
                  - {target: "localhost:1"}
                """.formatted(longName))).containsExactly(
                "config.yaml: services[0].name = echo service: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', "
                        + "'_', '/' and '-'",
                "config.yaml: services[1].name = " + longName.substring(0, 97) + "...: must be 1 to 128 characters "
                        + "of A-Z, a-z, 0-9, '.', '_', '/' and '-'",
                "config.yaml: services[2].target = 127.0.0.1:0: must be host:port with a port from 1 to 65535 (e.g. "
                        + "127.0.0.1:7701 or [::1]:7701)",
                "config.yaml: services[3].name = echo: is already the name of services[2]; service names must be "
                        + "unique",
                "config.yaml: services[4].target: is required: every service needs a target host:port",
                "config.yaml: services[5].name: is required: every service needs a name");
    }

    @Test
    void forwardRules() {
        assertThat(problems("""
                peers:
                  - {name: pod-b, links: [{address: "tcp://h:1"}]}
                  - {name: pod-c, links: [{address: "tcp://h:2"}]}
                forwards:
                  - {listen: "127.0.0.1:8080", peer: pod-x, service: echo}
                  - {listen: "127.0.0.1", peer: pod-b, service: "echo service"}
                  - {peer: "pod b"}
                  - {listen: "127.0.0.1:8081", peer: pod-b, service: echo, trafficClass: realtime}
                """)).containsExactly(
                "config.yaml: forwards[0].peer = pod-x: names no peer; known peers: pod-b, pod-c",
                "config.yaml: forwards[1].listen = 127.0.0.1: must be host:port (e.g. 127.0.0.1:7701 or "
                        + "[::1]:7701)",
                "config.yaml: forwards[1].service = echo service: must be 1 to 128 characters of A-Z, a-z, 0-9, '.', "
                        + "'_', '/' and '-'",
                "config.yaml: forwards[2].listen: is required: every forward needs a listen host:port",
                "config.yaml: forwards[2].peer = pod b: must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and "
                        + "'-'",
                "config.yaml: forwards[2].service: is required: every forward needs a service name",
                "config.yaml: forwards[3].trafficClass = realtime: must be bulk, interactive or redundant");
        assertThat(problems("forwards: [{listen: '127.0.0.1:0', peer: b, service: s}]\n")).containsExactly(
                "config.yaml: forwards[0].peer = b: names no peer; no peers are configured");
    }

    @Test
    void forwardToAPeerAddedByAnOverride() throws Exception {
        SidecarConfig c = new ConfigLoader().hostname("pod-a")
                .yaml("config.yaml", "forwards: [{listen: '127.0.0.1:0', peer: b, service: s}]\n")
                .overrides(List.of("peers.0.name=b", "peers.0.links.0.address=mem://b")).load();
        assertThat(c.forwards()).hasSize(1);
    }

    // ---------------------------------------------------------------- limits

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "windowSize|8KiB|must be between 16KiB and 1GiB",
            "windowSize|2GiB|must be between 16KiB and 1GiB",
            "maxWindowSize|16383|must be between 16KiB and 1GiB",
            "maxWindowSize|1025MiB|must be between 16KiB and 1GiB",
            "sessionWindowSize|32KiB|must be between 64KiB and 1GiB",
            "sessionWindowSize|99GiB|must be between 64KiB and 1GiB",
            "maxChunkSize|512|must be between 1KiB and 1MiB",
            "maxChunkSize|1025KiB|must be between 1KiB and 1MiB",
            "maxStreams|0|must be an integer from 1 to 16777216",
            "maxStreams|16777217|must be an integer from 1 to 16777216",
            "acceptBacklog|0|must be an integer from 1 to 65536",
            "acceptBacklog|65537|must be an integer from 1 to 65536",
            "acceptTimeout|99ms|must be between 100ms and 1h",
            "acceptTimeout|2h|must be between 100ms and 1h",
            "keepAliveInterval|9ms|must be between 10ms and 1h",
            "keepAliveInterval|61m|must be between 10ms and 1h",
            "keepAliveTimeout|19ms|must be between 20ms and 1h",
            "keepAliveTimeout|2h|must be between 20ms and 1h",
            "writeTimeout|0s|must be between 10ms and 1h",
            "writeTimeout|3601s|must be between 10ms and 1h",
            "resumeGracePeriod|25h|must be between 0s and 24h",
            "drainTimeout|601s|must be between 0s and 10m",
            "drainTimeout|10|must be a duration: a whole number followed by ms, s, m or h (e.g. 250ms, 30s)",
            "windowSize|1.5MiB|must be a size: a whole number of bytes, optionally followed by B, KiB, MiB or GiB "
                    + "(e.g. 256KiB)"})
    void limitRules(String key, String value, String rule) {
        assertThat(override("limits." + key, value)).isEqualTo("command line: limits." + key + " = " + value + ": "
                + rule);
    }

    @Test
    void windowsMustHoldTheStreamWindow() {
        assertThat(problems("limits: {windowSize: 32MiB}\n")).containsExactly(
                "config.yaml: limits.windowSize = 32MiB: must be at most limits.maxWindowSize (16MiB, the default)");
        assertThat(problems("limits: {windowSize: 1MiB, sessionWindowSize: 512KiB}\n")).containsExactly(
                "config.yaml: limits.sessionWindowSize = 512KiB: must be at least limits.windowSize (1MiB, set in "
                        + "config.yaml)");
        assertThat(problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", "limits: {windowSize: 1MiB}\n")
                .environment(Map.of("INVMUX_LIMITS_MAX_WINDOW_SIZE", "512KiB")))).containsExactly(
                "environment variable INVMUX_LIMITS_MAX_WINDOW_SIZE: limits.maxWindowSize = 512KiB: must be at least "
                        + "limits.windowSize (1MiB, set in config.yaml)");
    }

    @Test
    void keepAliveTimeoutMustBeTwiceTheInterval() {
        assertThat(override("limits.keepAliveTimeout", "150ms")).isEqualTo(
                "command line: limits.keepAliveTimeout = 150ms: must be at least twice limits.keepAliveInterval "
                        + "(100ms, the default)");
        assertThat(override("limits.keepAliveInterval", "1s")).isEqualTo(
                "command line: limits.keepAliveInterval = 1s: must be at most half of limits.keepAliveTimeout "
                        + "(800ms, the default)");
        assertThat(problems(new ConfigLoader().hostname("pod-a")
                .yaml("config.yaml", "limits: {keepAliveInterval: 1s}\n")
                .overrides(List.of("limits.keepAliveTimeout=1500ms")))).containsExactly(
                "command line: limits.keepAliveTimeout = 1500ms: must be at least twice limits.keepAliveInterval (1s, "
                        + "set in config.yaml)");
    }

    // ---------------------------------------------------------------- security

    private static String key(int bytes) {
        return Base64.getEncoder().encodeToString(new byte[bytes]);
    }

    @Test
    void inlineKeyRules() throws Exception {
        assertThat(override("security.preSharedKey", "not base64!")).isEqualTo(
                "command line: security.preSharedKey = (hidden, 11 characters): must be base64 of a 16 to 1024 byte "
                        + "key; this is not valid base64");
        assertThat(override("security.preSharedKey", key(15))).isEqualTo(
                "command line: security.preSharedKey = (hidden, 20 characters): must be base64 of a 16 to 1024 byte "
                        + "key; this decodes to 15 bytes");
        assertThat(override("security.preSharedKey", key(1025))).startsWith(
                "command line: security.preSharedKey = (hidden, 1368 characters): must be base64 of a 16 to 1024 "
                        + "byte key; this decodes to 1025 bytes");
        assertThat(new ConfigLoader().overrides(List.of("security.preSharedKey=" + key(1024))).load().security()
                .key()).hasValueSatisfying(k -> assertThat(k).hasSize(1024));
        // URL-safe alphabet and missing padding are accepted
        assertThat(new ConfigLoader().overrides(List.of("security.preSharedKey=-_-_-_-_-_-_-_-_-_-_-w")).load()
                .security().key()).hasValueSatisfying(k -> assertThat(k).hasSize(16));
    }

    @Test
    void keyAndKeyFileAreExclusive() throws Exception {
        Path file = dir.resolve("psk");
        Files.writeString(file, key(32));
        assertThat(problems(new ConfigLoader().hostname("pod-a")
                .yaml("config.yaml", "security: {preSharedKeyFile: " + file + "}\n")
                .environment(Map.of("INVMUX_SECURITY_PRE_SHARED_KEY", key(32))))).containsExactly(
                "environment variable INVMUX_SECURITY_PRE_SHARED_KEY: security.preSharedKey = (hidden, 44 "
                        + "characters): must not be set together with security.preSharedKeyFile (set in "
                        + "config.yaml); give only one of them");
        assertThat(problems("security: {preSharedKey: " + key(32) + ", preSharedKeyFile: " + file + "}\n"))
                .containsExactly("config.yaml: security.preSharedKeyFile = " + file + ": must not be set together "
                        + "with security.preSharedKey (set in config.yaml); give only one of them");
        // clearing one of them resolves it
        assertThat(new ConfigLoader().yaml("config.yaml", "security: {preSharedKeyFile: " + file + "}\n")
                .environment(Map.of("INVMUX_SECURITY_PRE_SHARED_KEY", key(32),
                        "INVMUX_SECURITY_PRE_SHARED_KEY_FILE", "")).load().security().preSharedKeyFile()).isEmpty();
    }

    @Test
    void keyFileRules() throws Exception {
        Path missing = dir.resolve("missing");
        assertThat(override("security.preSharedKeyFile", missing.toString())).isEqualTo(
                "command line: security.preSharedKeyFile = " + missing + ": cannot read the key file: no such file");
        assertThat(override("security.preSharedKeyFile", dir.toString())).isEqualTo(
                "command line: security.preSharedKeyFile = " + dir + ": cannot read the key file: it is a directory");
        Path garbage = Files.writeString(dir.resolve("garbage"), "not base64 at all\n");
        assertThat(override("security.preSharedKeyFile", garbage.toString())).isEqualTo(
                "command line: security.preSharedKeyFile = " + garbage + ": the key file must be base64 of a 16 to "
                        + "1024 byte key; it is not valid base64");
        Path shortKey = Files.writeString(dir.resolve("short"), key(8));
        assertThat(override("security.preSharedKeyFile", shortKey.toString())).isEqualTo(
                "command line: security.preSharedKeyFile = " + shortKey + ": the key file must be base64 of a 16 to "
                        + "1024 byte key; it decodes to 8 bytes");
        Path empty = Files.writeString(dir.resolve("empty"), "\n");
        assertThat(override("security.preSharedKeyFile", empty.toString())).endsWith(
                ": the key file must be base64 of a 16 to 1024 byte key; it decodes to 0 bytes");
        Path big = Files.write(dir.resolve("big"), new byte[70_000]);
        assertThat(override("security.preSharedKeyFile", big.toString())).isEqualTo(
                "command line: security.preSharedKeyFile = " + big + ": cannot read the key file: it is larger than "
                        + "64KiB");
    }

    @Test
    void keyFileWithTrailingWhitespaceIsRead() throws Exception {
        byte[] bytes = new byte[24];
        bytes[0] = 42;
        Path file = Files.writeString(dir.resolve("psk"), Base64.getEncoder().encodeToString(bytes) + " \n\n");
        SidecarConfig c = new ConfigLoader().overrides(List.of("security.preSharedKeyFile=" + file)).load();
        assertThat(c.security().key()).hasValueSatisfying(k -> assertThat(k).isEqualTo(bytes));
        assertThat(c.toCoreConfig().preSharedKey()).hasValueSatisfying(k -> assertThat(k).isEqualTo(bytes));
    }

    // ---------------------------------------------------------------- many at once

    @Test
    void everyProblemIsReportedInOneException() {
        List<String> problems = problems(new ConfigLoader().hostname("pod-a").yaml("config.yaml", """
                identity: "pod a"
                api:
                  adress: x
                  token: short
                listeners: [udp://x:1]
                peers:
                  - name: b
                    links:
                      - {address: "tcp://h:1", weight: -2}
                forwards:
                  - {listen: "127.0.0.1:0", peer: c, service: s}
                limits:
                  windowSize: 1KiB
                  drainTimeout: forever
                logging: {level: loud}
                """).environment(Map.of("INVMUX_LIMITS_MAX_STREAMS", "0", "INVMUX_WHAT", "1"))
                .overrides(List.of("api.maxMessageSize=1GiB")));
        assertThat(problems).containsExactly(
                "config.yaml: api.adress: unknown key; known keys under api: address, token, maxMessageSize, "
                        + "maxStreamsPerClient, tokenFile, socketGroup, maxConnectionsPerClient (did you mean address?)",
                "environment variable INVMUX_WHAT: names no configuration key; known variables: INVMUX_IDENTITY, "
                        + "INVMUX_API_*, INVMUX_HEALTH_*, INVMUX_ADMIN_*, INVMUX_LISTENERS_<n>, INVMUX_PEERS_<n>_*, "
                        + "INVMUX_SERVICES_<n>_*, INVMUX_FORWARDS_<n>_*, INVMUX_MIDDLEWARE_<n>, INVMUX_LIMITS_*, INVMUX_SECURITY_*, "
                        + "INVMUX_LOGGING_*",
                "config.yaml: identity = pod a: must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and '-'",
                "config.yaml: api.token = (hidden, 5 characters): must be empty (no token) or 16 to 1024 printable "
                        + "ASCII characters without spaces",
                "command line: api.maxMessageSize = 1GiB: must be between 64KiB and 64MiB",
                "config.yaml: listeners[0] = udp://x:1: " + LINK + " (scheme must be tcp, tls or mem)",
                "config.yaml: peers[0].links[0].weight = -2: must be greater than 0 and at most 1000",
                "config.yaml: forwards[0].peer = c: names no peer; known peers: b",
                "config.yaml: limits.windowSize = 1KiB: must be between 16KiB and 1GiB",
                "environment variable INVMUX_LIMITS_MAX_STREAMS: limits.maxStreams = 0: must be an integer from 1 to "
                        + "16777216",
                "config.yaml: limits.drainTimeout = forever: must be a duration: a whole number followed by ms, s, m "
                        + "or h (e.g. 250ms, 30s)",
                "config.yaml: logging.level = loud: must be one of trace, debug, info, warn, error");
    }

    @Test
    void valuesAreShownAsWrittenQuotedWhenNeeded() {
        assertThat(problems("logging: {level: ''}\n")).containsExactly(
                "config.yaml: logging.level = \"\": must be one of trace, debug, info, warn, error");
        assertThat(problems("logging: {level: ' info'}\n")).containsExactly(
                "config.yaml: logging.level = \" info\": must be one of trace, debug, info, warn, error");
        assertThat(problems("logging: {level: \"a\\tb\"}\n")).containsExactly(
                "config.yaml: logging.level = \"a\\tb\": must be one of trace, debug, info, warn, error");
        assertThat(problems("logging: {level: ~}\n")).containsExactly(
                "config.yaml: logging.level = \"\": must be one of trace, debug, info, warn, error");
    }
}
