package io.invmux.server.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;
import io.invmux.server.config.SidecarConfig;
import net.logstash.logback.encoder.LogstashEncoder;
import net.logstash.logback.fieldnames.LogstashFieldNames;
import org.slf4j.LoggerFactory;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * The sidecar's {@code logging} section applied to Logback: levels, and one line per event on stderr, as text or as
 * a JSON object. Only {@link Logs} calls it, once it knows Logback is on the class path, so that a class path
 * without it (the benches log through slf4j-simple) never loads this class.
 */
final class LogbackSetup {
    /** The text line, as the sidecar printed it before it had a JSON form. */
    static final String TEXT_PATTERN = "%d{yyyy-MM-dd'T'HH:mm:ss.SSSZ} [%thread] %level %logger - %msg%n";
    private static final String IGNORE = "[ignore]";

    private LogbackSetup() {
    }

    /** Sets one logger's level ({@code ""}: the root's); false when SLF4J is bound to another backend. */
    static boolean setLevel(String logger, String level) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return false;
        }
        ctx.getLogger(logger.isEmpty() ? org.slf4j.Logger.ROOT_LOGGER_NAME : logger).setLevel(Level.toLevel(level));
        return true;
    }

    /**
     * Replaces the appenders of the root logger with one writing {@code logging.format} lines to stderr, and sets
     * the levels: at {@code debug} only the sidecar's own loggers (the libraries would log every HTTP/2 frame of
     * every API call), at {@code trace} everything. gRPC logs through java.util.logging: its records are routed
     * here too, so that every line has the one format. False, changing nothing, when SLF4J is bound to another
     * backend.
     */
    static boolean apply(SidecarConfig.Logging logging) {
        if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext ctx)) {
            return false;
        }
        Level level = Level.toLevel(logging.level().configName());
        Logger root = ctx.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(level == Level.DEBUG ? Level.INFO : level);
        ctx.getLogger("io.invmux").setLevel(level);

        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(ctx);
        stderr.setName("stderr");
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder(ctx, logging.format()));
        stderr.start();
        root.detachAndStopAllAppenders();
        root.addAppender(stderr);

        // java.util.logging's levels follow Logback's, so records below them are not even made.
        LevelChangePropagator propagator = new LevelChangePropagator();
        propagator.setContext(ctx);
        propagator.setResetJUL(true);
        propagator.start();
        ctx.addListener(propagator);
        propagator.onReset(ctx);
        SLF4JBridgeHandler.removeHandlersForRootLogger();
        SLF4JBridgeHandler.install();
        return true;
    }

    /**
     * The encoder of one format. JSON: {@code timestamp} (ISO 8601, UTC), {@code level}, {@code logger},
     * {@code thread}, {@code message}, {@code exception} (the stack trace, when there is one), then the event's
     * key-value pairs ({@code sessionId}, {@code linkId}, {@code streamId}, {@code peer}: {@link io.invmux.LogKeys})
     * and MDC entries as fields of their own.
     */
    static Encoder<ILoggingEvent> encoder(LoggerContext ctx, SidecarConfig.LogFormat format) {
        if (format == SidecarConfig.LogFormat.TEXT) {
            PatternLayoutEncoder text = new PatternLayoutEncoder();
            text.setContext(ctx);
            text.setPattern(TEXT_PATTERN);
            text.start();
            return text;
        }
        LogstashEncoder json = new LogstashEncoder();
        json.setContext(ctx);
        LogstashFieldNames names = new LogstashFieldNames();
        names.setTimestamp("timestamp");
        names.setVersion(IGNORE);
        names.setLogger("logger");
        names.setThread("thread");
        names.setLevelValue(IGNORE);
        names.setStackTrace("exception");
        json.setFieldNames(names);
        json.setTimeZone("UTC");
        // Logback's context properties (its birth time, host name) are the same on every line: not repeated.
        json.setIncludeContext(false);
        json.start();
        return json;
    }
}
