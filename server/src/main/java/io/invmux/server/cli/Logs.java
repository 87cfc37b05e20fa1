package io.invmux.server.cli;

import io.invmux.server.config.SidecarConfig;

/**
 * The commands' logging settings, on whichever SLF4J backend is on the class path: Logback (the sidecar's jar), or
 * slf4j-simple (the benches run the sidecar with it). Holds no Logback type itself, so that it loads without it.
 */
final class Logs {
    private static final boolean LOGBACK = logbackOnClassPath();

    private Logs() {
    }

    /**
     * Applies {@code logging} before the first logger is used; true when the lines are JSON. At debug the
     * libraries (Netty, gRPC) log every HTTP/2 frame of every API call, drowning the sidecar's own lines and slowing
     * the data path: debug is the sidecar's alone, trace is for everything.
     */
    static boolean configure(SidecarConfig.Logging logging) {
        if (LOGBACK && LogbackSetup.apply(logging)) {
            return logging.format() == SidecarConfig.LogFormat.JSON;
        }
        SidecarConfig.LogLevel level = logging.level();
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                level == SidecarConfig.LogLevel.DEBUG ? "info" : level.configName());
        System.setProperty("org.slf4j.simpleLogger.log.io.invmux", level.configName());
        System.setProperty("org.slf4j.simpleLogger.showDateTime", "true");
        System.setProperty("org.slf4j.simpleLogger.dateTimeFormat", "yyyy-MM-dd'T'HH:mm:ss.SSSZ");
        return false;
    }

    /** Sets one logger's level ({@code ""}: every logger without its own), e.g. to keep a library quiet. */
    static void setLevel(String logger, String level) {
        if (LOGBACK && LogbackSetup.setLevel(logger, level)) {
            return;
        }
        System.setProperty(logger.isEmpty() ? "org.slf4j.simpleLogger.defaultLogLevel"
                : "org.slf4j.simpleLogger.log." + logger, level);
    }

    /**
     * Asked without starting SLF4J: slf4j-simple reads its settings only once, when it starts, so they must be set
     * before the first logger is made.
     */
    private static boolean logbackOnClassPath() {
        try {
            Class.forName("ch.qos.logback.classic.LoggerContext", false, Logs.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException e) {
            return false;
        }
    }
}
