package io.invmux;

/**
 * Why a stream, a link or a session ended. The numeric {@link #code()} travels in RST and GOAWAY frames
 * (docs/PROTOCOL.md), so both ends agree on the reason.
 */
public enum ErrorCode {
    /** Graceful end. */
    NO_ERROR(0),
    /** The peer broke the protocol (malformed frame, unexpected frame, bad state). */
    PROTOCOL_ERROR(1),
    /** An internal failure in the peer. */
    INTERNAL_ERROR(2),
    /** Data arrived beyond the window the receiver advertised. */
    FLOW_CONTROL_ERROR(3),
    /** A frame longer than the receiver accepts. */
    FRAME_SIZE_ERROR(4),
    /** The stream was refused: accept backlog full, stream limit reached, or session going away. */
    REFUSED_STREAM(5),
    /** The stream was cancelled by its application. */
    CANCEL(6),
    /** The session is closed or closing. */
    SESSION_CLOSED(7),
    /** The link's preface named a protocol version this end does not speak. */
    UNSUPPORTED_VERSION(8),
    /** The handshake failed (bad magic, mismatched middleware chain, malformed HELLO). */
    HANDSHAKE_FAILED(9),
    /** A link asked to join a session this end does not know. */
    UNKNOWN_SESSION(10),
    /** A link failed to prove that it belongs to the session it asked to join. */
    AUTH_FAILED(11),
    /** The link stopped answering heartbeats. */
    KEEPALIVE_TIMEOUT(12),
    /** The session lost all its links and none came back within the grace period. */
    LINKS_LOST(13),
    /** A resource limit of the receiver was reached (handshakes, sessions, links, held chunks, stream ids). */
    LIMIT_EXCEEDED(14);

    private static final ErrorCode[] BY_CODE;

    static {
        ErrorCode[] values = values();
        BY_CODE = new ErrorCode[values.length];
        for (ErrorCode c : values) {
            BY_CODE[c.code] = c;
        }
    }

    private final int code;

    ErrorCode(int code) {
        this.code = code;
    }

    /** The number carried on the wire. */
    public int code() {
        return code;
    }

    /** The code for a wire number; unknown numbers map to {@link #PROTOCOL_ERROR} so a newer peer cannot crash us. */
    public static ErrorCode fromCode(long code) {
        return code >= 0 && code < BY_CODE.length ? BY_CODE[(int) code] : PROTOCOL_ERROR;
    }
}
