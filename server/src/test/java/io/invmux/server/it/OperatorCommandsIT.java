package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

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
 * token on loopback TCP, pod-b with its API on a Unix socket.
 */
@Timeout(180)
class OperatorCommandsIT {
    private static final String TOKEN = "ops-token-0123456789abcdef";
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
        SidecarProcess.Result second = onA("link", "add", "--peer", "pod-b", "--address", address, "--priority", "1");
        assertThat(second.exitCode()).as(second.output()).isZero();
        Matcher m2 = ADDED.matcher(second.output());
        assertThat(m2.find()).as(second.output()).isTrue();
        String session = m1.group(2);
        assertThat(m2.group(2)).as("both links join one session").isEqualTo(session);
        String removed = m1.group(1);
        String kept = m2.group(1);

        SidecarProcess.Result links = onA("links");
        assertThat(links.exitCode()).as(links.output()).isZero();
        // SESSION PEER LINK REMOTE STATE PRIO ...
        List<String[]> linkRows = rows(links.output(), "pod-b").stream().map(r -> r.trim().split("\\s+")).toList();
        assertThat(linkRows).hasSize(2).allSatisfy(c -> assertThat(c[3]).isEqualTo("127.0.0.1:" + bPort));
        assertThat(linkRows).anySatisfy(c -> assertThat(List.of(c[2], c[5])).containsExactly(removed, "0"))
                .anySatisfy(c -> assertThat(List.of(c[2], c[5])).containsExactly(kept, "1"));

        SidecarProcess.Result sessions = onA("sessions");
        assertThat(sessions.exitCode()).as(sessions.output()).isZero();
        assertThat(sessions.output()).containsPattern(Pattern.quote(session) + "\\s+pod-b\\s+dialer\\s+2\\s");
        SidecarProcess.Result fromB = onB("sessions");
        assertThat(fromB.exitCode()).as(fromB.output()).isZero();
        // The accepting side names a peer it has no configuration for by the address its links come from.
        assertThat(fromB.output()).containsPattern("\\s127\\.0\\.0\\.1:\\d+\\s+accepter\\s+2\\s")
                .doesNotContain("WARN");

        SidecarProcess.Result watch = onA("watch", "--plain", "--count", "2", "--interval-ms", "200");
        assertThat(watch.exitCode()).as(watch.output()).isZero();
        assertThat(rows(watch.output(), "SESSION")).as("two tables").hasSize(2);
        assertThat(rows(watch.output(), "127.0.0.1:" + bPort)).as("each with both links").hasSize(4);

        SidecarProcess.Result remove = onA("link", "remove", "--session", session, "--link", removed);
        assertThat(remove.exitCode()).as(remove.output()).isZero();
        assertThat(remove.output()).contains("link " + removed + " of session " + session + " removed");
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
        SidecarProcess.Result unknown = onB("health", "--service", "no-such-service");
        assertThat(unknown.exitCode()).isEqualTo(3);
        assertThat(unknown.output()).contains("NOT_FOUND");
    }

    @Test
    void demoStreamsThroughTwoSidecarsAndShowsTheLinkTable() throws Exception {
        SidecarProcess.Result demo = SidecarProcess.run(List.of("demo", "--links", "2", "--seconds", "2", "--plain"));
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
