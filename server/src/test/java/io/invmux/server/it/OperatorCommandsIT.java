package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The operator commands ({@code links}, {@code sessions}, {@code link add|remove}, {@code watch}, {@code health},
 * {@code demo}), each run as its own {@code invmux} process against real sidecar processes: pod-a with an API
 * token on loopback TCP, pod-b with its API on a Unix socket. Their {@code -o json} and {@code -o yaml} output is
 * parsed as such and read by the API's field names.
 */
@Timeout(180)
class OperatorCommandsIT {
    private static final String TOKEN = "ops-token-0123456789abcdef";
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final YAMLMapper YAML = new YAMLMapper();
    private static final Pattern ADDED = Pattern.compile("link (\\S+) of session (\\S+) up");

    @TempDir
    static Path dir;

    private static SidecarProcess podA;
    private static SidecarProcess podB;
    private static int bPort;
    private static Path bSocket;

    @BeforeAll
    static void start() throws Exception {
        bPort = SidecarProcess.freePort();
        bSocket = dir.resolve("api.sock");
        podB = SidecarProcess.startOnUnixSocket("pod-b", bSocket, List.of("admin.address=",
                "listeners.0=tcp://127.0.0.1:" + bPort));
        podA = SidecarProcess.start("pod-a", List.of("api.token=" + TOKEN, "admin.address=", "listeners=[]"),
                List.of());
    }

    @AfterAll
    static void stop() throws Exception {
        if (podA != null) {
            assertThat(podA.stop()).isZero();
        }
        if (podB != null) {
            assertThat(podB.stop()).isZero();
            assertThat(bSocket).as("the API socket is removed at exit").doesNotExist();
        }
    }

    /** {@code invmux <args> --api <pod-a> --token <token>}. */
    private static SidecarProcess.Result onA(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--api", podA.target(), "--token", TOKEN));
        return SidecarProcess.run(all);
    }

    private static SidecarProcess.Result onB(String... args) throws Exception {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--api", "unix://" + bSocket));
        return SidecarProcess.run(all);
    }

    @Test
    void linksAreAddedListedWatchedAndRemoved() throws Exception {
        String address = "tcp://127.0.0.1:" + bPort;
        SidecarProcess.Result first = onA("link", "add", "--peer", "pod-b", "--address", address);
        assertThat(first.exitCode()).as(first.output()).isZero();
        Matcher m1 = ADDED.matcher(first.output());
        assertThat(m1.find()).as(first.output()).isTrue();
        SidecarProcess.Result second = onA("link", "add", "--peer", "pod-b", "--address", address, "--priority", "1",
                "-o", "json");
        assertThat(second.exitCode()).as(second.output()).isZero();
        JsonNode added = JSON.readTree(second.output()).get("link");
        String session = m1.group(2);
        assertThat(added.get("sessionId").asText()).as("both links join one session").isEqualTo(session);
        assertThat(added.get("peer").asText()).isEqualTo("pod-b");
        assertThat(added.get("priority").asInt()).isEqualTo(1);
        String removed = m1.group(1);
        String kept = added.get("linkId").asText();

        SidecarProcess.Result links = onA("links");
        assertThat(links.exitCode()).as(links.output()).isZero();
        // SESSION PEER LINK REMOTE STATE PRIO ...
        List<String[]> linkRows = rows(links.output(), "pod-b").stream().map(r -> r.trim().split("\\s+")).toList();
        assertThat(linkRows).hasSize(2).allSatisfy(c -> assertThat(c[3]).isEqualTo("127.0.0.1:" + bPort));
        assertThat(linkRows).anySatisfy(c -> assertThat(List.of(c[2], c[5])).containsExactly(removed, "0"))
                .anySatisfy(c -> assertThat(List.of(c[2], c[5])).containsExactly(kept, "1"));

        SidecarProcess.Result linksJson = onA("links", "-o", "json");
        assertThat(linksJson.exitCode()).as(linksJson.output()).isZero();
        JsonNode listed = JSON.readTree(linksJson.output()).get("links");
        assertThat(listed).hasSize(2).allSatisfy(l -> {
            assertThat(l.get("sessionId").asText()).isEqualTo(session);
            assertThat(l.get("remoteAddress").asText()).isEqualTo("127.0.0.1:" + bPort);
            assertThat(l.get("state").asText()).startsWith("LINK_STATE_");
            assertThat(l.has("bytesSent")).as("zero-valued fields are printed too").isTrue();
        });
        assertThat(listed).anySatisfy(l -> assertThat(List.of(l.get("linkId").asText(), l.get("priority").asInt()))
                .containsExactly(removed, 0));

        SidecarProcess.Result sessionsYaml = onA("sessions", "-o", "yaml");
        assertThat(sessionsYaml.exitCode()).as(sessionsYaml.output()).isZero();
        JsonNode yamlSession = YAML.readTree(sessionsYaml.output()).get("sessions").get(0);
        assertThat(yamlSession.get("sessionId").asText()).isEqualTo(session);
        assertThat(yamlSession.get("dialer").asBoolean()).isTrue();
        assertThat(yamlSession.get("links")).hasSize(2);

        SidecarProcess.Result sessions = onA("sessions");
        assertThat(sessions.exitCode()).as(sessions.output()).isZero();
        assertThat(sessions.output()).containsPattern(Pattern.quote(session) + "\\s+pod-b\\s+dialer\\s+2\\s");
        SidecarProcess.Result fromB = onB("sessions");
        assertThat(fromB.exitCode()).as(fromB.output()).isZero();
        // The accepting side names a peer it has no configuration for by the address its links come from.
        assertThat(fromB.output()).containsPattern("\\s127\\.0\\.0\\.1:\\d+\\s+accepter\\s+2\\s")
                .doesNotContain("WARN");

        SidecarProcess.Result watch = onA("watch", "--plain", "--count", "2", "--interval", "200ms");
        assertThat(watch.exitCode()).as(watch.output()).isZero();
        assertThat(rows(watch.output(), "SESSION")).as("two tables").hasSize(2);
        assertThat(rows(watch.output(), "127.0.0.1:" + bPort)).as("each with both links").hasSize(4);
        SidecarProcess.Result oldFlag = onA("watch", "--plain", "--count", "1", "--interval-ms", "200");
        assertThat(oldFlag.exitCode()).as(oldFlag.output()).isZero();
        assertThat(oldFlag.output()).contains("--interval-ms is deprecated; use --interval 200ms");
        assertThat(rows(oldFlag.output(), "127.0.0.1:" + bPort)).as("the old flag still works").hasSize(2);

        // JSON Lines: the snapshot first, then events of the session's links (quality samples every 200 ms).
        SidecarProcess.Result events = onA("watch", "-o", "json", "--count", "3", "--interval", "200ms");
        assertThat(events.exitCode()).as(events.output()).isZero();
        List<JsonNode> lines = new ArrayList<>();
        for (String line : events.output().lines().toList()) {
            lines.add(JSON.readTree(line));
        }
        assertThat(lines).hasSize(3).allSatisfy(e -> assertThat(e.has("time")).isTrue());
        assertThat(lines.get(0).get("snapshot").get("sessions").get(0).get("links")).hasSize(2);
        assertThat(lines.subList(1, 3)).allSatisfy(e -> assertThat(e.toString()).contains("\"sessionId\":\"" + session));

        SidecarProcess.Result remove = onA("link", "remove", "--session", session, "--link", removed, "-o", "yaml");
        assertThat(remove.exitCode()).as(remove.output()).isZero();
        JsonNode gone = YAML.readTree(remove.output());
        assertThat(List.of(gone.get("sessionId").asText(), gone.get("linkId").asText()))
                .containsExactly(session, removed);
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            SidecarProcess.Result after = onA("links", "--session", session);
            assertThat(after.exitCode()).as(after.output()).isZero();
            assertThat(rows(after.output(), "pod-b")).singleElement()
                    .satisfies(r -> assertThat(r.trim().split("\\s+")[2]).isEqualTo(kept));
        });
    }

    @Test
    void refusedCallsExitThreeWithTheStatusAndItsMessage() throws Exception {
        SidecarProcess.Result noToken = SidecarProcess.run(List.of("sessions", "--api", podA.target()));
        assertThat(noToken.exitCode()).isEqualTo(3);
        assertThat(noToken.output()).contains("UNAUTHENTICATED").contains("missing API token");

        SidecarProcess.Result badAddress = onA("link", "add", "--peer", "pod-b", "--address", "ftp://127.0.0.1:1");
        assertThat(badAddress.exitCode()).isEqualTo(3);
        assertThat(badAddress.output()).contains("INVALID_ARGUMENT").contains("address").contains("ftp://127.0.0.1:1");

        SidecarProcess.Result unknown = onA("link", "remove", "--session", "no-such-session", "--link", "7");
        assertThat(unknown.exitCode()).isEqualTo(3);
        assertThat(unknown.output()).contains("NOT_FOUND").contains("no-such-session");

        SidecarProcess.Result nobody = SidecarProcess.run(List.of("links", "--api",
                "127.0.0.1:" + SidecarProcess.freePort()));
        assertThat(nobody.exitCode()).isEqualTo(3);
        assertThat(nobody.output()).contains("UNAVAILABLE");

        SidecarProcess.Result badInterval = onA("watch", "--interval", "1 sec");
        assertThat(badInterval.exitCode()).isEqualTo(2);
        assertThat(badInterval.output()).contains("--interval").contains("'1 sec'")
                .contains("must be a duration: a whole number followed by ms, s, m or h");
        SidecarProcess.Result tooShort = onA("watch", "--interval", "50ms");
        assertThat(tooShort.exitCode()).isEqualTo(2);
        assertThat(tooShort.output()).contains("--interval 50ms: must be at least 100ms");
        SidecarProcess.Result badFormat = onA("links", "-o", "xml");
        assertThat(badFormat.exitCode()).isEqualTo(2);
        assertThat(badFormat.output()).contains("'xml' must be one of table, json, yaml");

        SidecarProcess.Result noSubcommand = SidecarProcess.run(List.of("link"));
        assertThat(noSubcommand.exitCode()).isEqualTo(2);
        assertThat(noSubcommand.output()).contains("add or remove");
    }

    @Test
    void healthAnswersOverTheUnixSocket() throws Exception {
        assertThat(Files.exists(bSocket)).isTrue();
        SidecarProcess.Result overall = onB("health");
        assertThat(overall.exitCode()).as(overall.output()).isZero();
        assertThat(overall.output()).contains("overall: SERVING");
        SidecarProcess.Result ready = onB("health", "--service", "readiness");
        assertThat(ready.exitCode()).as(ready.output()).isZero();
        assertThat(ready.output()).contains("readiness: SERVING");
        SidecarProcess.Result json = onB("health", "--service", "readiness", "-o", "json", "--timeout", "5s");
        assertThat(json.exitCode()).as(json.output()).isZero();
        JsonNode health = JSON.readTree(json.output());
        assertThat(List.of(health.get("service").asText(), health.get("status").asText()))
                .containsExactly("readiness", "SERVING");
        SidecarProcess.Result unknown = onB("health", "--service", "no-such-service");
        assertThat(unknown.exitCode()).isEqualTo(3);
        assertThat(unknown.output()).contains("NOT_FOUND");
    }

    @Test
    void demoStreamsThroughTwoSidecarsAndShowsTheLinkTable() throws Exception {
        SidecarProcess.Result demo = SidecarProcess.run(List.of("demo", "--links", "2", "--duration", "2s", "--plain"));
        assertThat(demo.exitCode()).as(demo.output()).isZero();
        assertThat(rows(demo.output(), "invmux demo: pod-a -> pod-b over 2 tls:// links")).hasSize(2);
        assertThat(demo.output().lines().filter(l -> l.matches("\\S+\\s+pod-b\\s+\\d+\\s+127\\.0\\.0\\.1:\\d+\\s.*")))
                .as("two tables of two links").hasSize(4);
        Matcher done = Pattern.compile("done: ([0-9.]+) MiB streamed").matcher(demo.output());
        assertThat(done.find()).as(demo.output()).isTrue();
        assertThat(Double.parseDouble(done.group(1))).isPositive();
        assertThat(demo.output()).doesNotContain("did not end cleanly");
    }

    private static List<String> rows(String output, String containing) {
        return output.lines().filter(l -> l.contains(containing)).toList();
    }
}
