package io.invmux;

/**
 * Names of the key-value pairs (SLF4J 2's {@code addKeyValue}) that InvMux's log events carry beside their message,
 * so that structured logs (the sidecar's {@code logging.format: json}) hold the ids as fields of their own, the same
 * names as the sidecar API's JSON. The messages still name the same ids: text logs read as before.
 */
public final class LogKeys {
    /** The session's id, 32 hex digits ({@link Session#id()}). */
    public static final String SESSION_ID = "sessionId";
    /** The link's id within its session ({@link Connection#id()}). */
    public static final String LINK_ID = "linkId";
    /** The stream's id within its session ({@link Stream#id()}). */
    public static final String STREAM_ID = "streamId";
    /** The peer's name (or its address, when it has none). */
    public static final String PEER = "peer";

    private LogKeys() {
    }
}
