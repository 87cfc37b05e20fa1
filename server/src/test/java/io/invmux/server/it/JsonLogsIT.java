package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code logging.format: json}: two sidecar processes joined by a link, at debug, one stream through a TCP forward
 * between them, from start to drained exit; every line either prints, on stdout or stderr, is one JSON object with
 * the documented fields, and the link's and the stream's events carry their ids as fields of their own.
 */
@Timeout(120)
class JsonLogsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");

    @Test
    void everyLineIsAJsonObjectAndLinkAndStreamEventsCarryTheirIds() throws Exception {
        int bPort = SidecarProcess.freePort();
        int forwardPort = SidecarProcess.freePort();
        List<String> aLines;
        List<String> bLines;
        try (ServerSocket echo = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                SidecarProcess b = SidecarProcess.start("pod-b", List.of("admin.address=", "logging.format=json",
                        "logging.level=debug", "listeners.0=tcp://127.0.0.1:" + bPort, "services.0.name=echo",
                        "services.0.target=127.0.0.1:" + echo.getLocalPort()), List.of());
                SidecarProcess a = SidecarProcess.start("pod-a", List.of("admin.address=", "listeners=[]",
                        "logging.format=json", "logging.level=debug", "peers.0.name=pod-b",
                        "peers.0.links.0.address=tcp://127.0.0.1:" + bPort,
                        "forwards.0.listen=127.0.0.1:" + forwardPort, "forwards.0.peer=pod-b",
                        "forwards.0.service=echo"), List.of())) {
            a.awaitLine(" up, 1 link(s)", 30);
            b.awaitLine(" up, 1 link(s)", 30);
            echoThrough(echo, forwardPort);
            b.awaitLine("opened by pod-a for 'echo'", 30);
            assertThat(a.stop()).isZero();
            assertThat(b.stop()).isZero();
            aLines = List.copyOf(a.output());
            bLines = List.copyOf(b.output());
        }

        for (List<String> lines : List.of(aLines, bLines)) {
            List<JsonNode> events = parse(lines);
            assertThat(events).as("start, link up, drain, stop").hasSizeGreaterThanOrEqualTo(4);
            assertThat(events).allSatisfy(e -> {
                assertThat(Instant.parse(e.get("timestamp").asText())).isBefore(Instant.now());
                assertThat(e.get("level").asText()).isIn(LEVELS);
                assertThat(e.get("logger").asText()).startsWith("io.");
                assertThat(e.get("thread").asText()).isNotEmpty();
                assertThat(e.get("message").asText()).isNotEmpty();
            });
            assertThat(events).anySatisfy(e -> assertThat(e.get("message").asText()).contains("running; API on"));

            JsonNode up = events.stream().filter(e -> e.get("message").asText().contains(" up, 1 link(s)"))
                    .findFirst().orElseThrow();
            String session = up.get("sessionId").asText();
            assertThat(session).matches("[0-9a-f]{32}");
            assertThat(up.get("message").asText()).startsWith("session " + session + ": link "
                    + up.get("linkId").asText() + " ");
            JsonNode started = events.stream().filter(e -> e.get("message").asText().contains(" started ("))
                    .findFirst().orElseThrow();
            assertThat(started.get("sessionId").asText()).isEqualTo(session);
            assertThat(started.get("peer").asText()).isNotEmpty();
        }
        JsonNode dialed = parse(aLines).stream().filter(e -> e.get("message").asText().contains(" started (dialed)"))
                .findFirst().orElseThrow();
        assertThat(dialed.get("peer").asText()).isEqualTo("pod-b");

        JsonNode opened = parse(aLines).stream().filter(e -> e.get("message").asText().contains("opened to pod-b"))
                .findFirst().orElseThrow();
        JsonNode accepted = parse(bLines).stream().filter(e -> e.get("message").asText().contains("opened by pod-a"))
                .findFirst().orElseThrow();
        for (JsonNode e : List.of(opened, accepted)) {
            assertThat(e.get("level").asText()).isEqualTo("DEBUG");
            assertThat(e.get("message").asText()).startsWith("stream " + e.get("streamId").asInt() + " of session "
                    + e.get("sessionId").asText() + " ");
        }
        assertThat(accepted.get("streamId").asInt()).as("one stream, seen from both ends")
                .isEqualTo(opened.get("streamId").asInt());
        assertThat(accepted.get("sessionId").asText()).isEqualTo(opened.get("sessionId").asText());
    }

    /** One connection through pod-a's forward to pod-b's echo service: five bytes there and back. */
    private static void echoThrough(ServerSocket echo, int forwardPort) throws IOException {
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), forwardPort)) {
            client.getOutputStream().write("hello".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            try (Socket served = echo.accept()) {
                served.getOutputStream().write(served.getInputStream().readAllBytes());
            }
            assertThat(new String(client.getInputStream().readAllBytes(), StandardCharsets.US_ASCII))
                    .isEqualTo("hello");
        }
    }

    private static List<JsonNode> parse(List<String> lines) throws IOException {
        List<JsonNode> events = new ArrayList<>();
        for (String line : lines) {
            JsonNode node;
            try {
                node = JSON.readTree(line);
            } catch (IOException e) {
                throw new AssertionError("not a JSON line: " + line, e);
            }
            assertThat(node.isObject()).as(line).isTrue();
            events.add(node);
        }
        return events;
    }
}
