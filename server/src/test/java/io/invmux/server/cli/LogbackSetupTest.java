package io.invmux.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;
import ch.qos.logback.core.OutputStreamAppender;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.invmux.LogKeys;
import io.invmux.server.config.SidecarConfig;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The two line formats of {@code logging.format}, written by a Logback context of the test's own. */
class LogbackSetupTest {
    private static List<String> log(SidecarConfig.LogFormat format, java.util.function.Consumer<Logger> events) {
        LoggerContext ctx = new LoggerContext();
        ctx.setMDCAdapter(new LogbackMDCAdapter());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        OutputStreamAppender<ILoggingEvent> appender = new OutputStreamAppender<>();
        appender.setContext(ctx);
        appender.setEncoder(LogbackSetup.encoder(ctx, format));
        appender.setOutputStream(out);
        appender.start();
        Logger logger = ctx.getLogger("io.invmux.internal.session.MuxSession");
        logger.addAppender(appender);
        events.accept(logger);
        ctx.stop();
        return out.toString(StandardCharsets.UTF_8).lines().toList();
    }

    @Test
    void jsonLinesCarryTheIdsAsFieldsOfTheirOwn() throws IOException {
        Instant before = Instant.now();
        List<String> lines = log(SidecarConfig.LogFormat.JSON, l -> l.atInfo()
                .addKeyValue(LogKeys.SESSION_ID, "0123456789abcdef0123456789abcdef").addKeyValue(LogKeys.LINK_ID, "2")
                .log("session {}: {} up, {} link(s)", "0123456789abcdef0123456789abcdef", "link 2", 3));
        assertThat(lines).hasSize(1);
        JsonNode e = new ObjectMapper().readTree(lines.get(0));
        assertThat(Instant.parse(e.get("timestamp").asText())).isBetween(before.minusMillis(1), Instant.now());
        assertThat(e.get("timestamp").asText()).as("UTC").endsWith("Z");
        assertThat(e.get("level").asText()).isEqualTo("INFO");
        assertThat(e.get("logger").asText()).isEqualTo("io.invmux.internal.session.MuxSession");
        assertThat(e.get("thread").asText()).isEqualTo(Thread.currentThread().getName());
        assertThat(e.get("message").asText())
                .isEqualTo("session 0123456789abcdef0123456789abcdef: link 2 up, 3 link(s)");
        assertThat(e.get("sessionId").asText()).isEqualTo("0123456789abcdef0123456789abcdef");
        assertThat(e.get("linkId").asText()).isEqualTo("2");
        assertThat(e.has("exception")).as("no exception, no field").isFalse();
        assertThat(e.has("@version") || e.has("level_value") || e.has("@timestamp")).isFalse();
    }

    @Test
    void anExceptionIsOneFieldOnTheSameLine() throws IOException {
        List<String> lines = log(SidecarConfig.LogFormat.JSON, l -> l.atWarn().addKeyValue(LogKeys.STREAM_ID, 7)
                .setCause(new IllegalStateException("boom")).log("stream {} failed", 7));
        assertThat(lines).as("the stack trace stays inside the JSON line").hasSize(1);
        JsonNode e = new ObjectMapper().readTree(lines.get(0));
        assertThat(e.get("level").asText()).isEqualTo("WARN");
        assertThat(e.get("streamId").asInt()).isEqualTo(7);
        assertThat(e.get("exception").asText()).startsWith("java.lang.IllegalStateException: boom")
                .contains("at io.invmux.server.cli.LogbackSetupTest");
    }

    @Test
    void textLinesReadAsBeforeWithTheIdsInTheMessage() {
        List<String> lines = log(SidecarConfig.LogFormat.TEXT, l -> l.atInfo().addKeyValue(LogKeys.SESSION_ID, "ab")
                .log("session {}: closed", "ab"));
        assertThat(lines).singleElement().satisfies(line -> assertThat(line).matches(
                "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}[+-]\\d{4} \\[.+] INFO "
                        + "io\\.invmux\\.internal\\.session\\.MuxSession - session ab: closed"));
    }
}
