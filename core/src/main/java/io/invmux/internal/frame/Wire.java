package io.invmux.internal.frame;

/**
 * Layout constants of the wire format (docs/PROTOCOL.md).
 *
 * <pre>
 * Link preface, sent first by both ends:
 *   0                   1                   2                   3
 *  +-------+-------+-------+-------+-------+-------+-------+-------+
 *  |  'I'  |  'M'  |  'U'  |  'X'  |    version    |   reserved    |
 *  +-------+-------+-------+-------+-------+-------+-------+-------+
 *
 * Frame header, 10 bytes, big-endian:
 *  +-------+-------+-------------------------------+-------------------------------+
 *  | type  | flags |        stream id (u32)        |     payload length (u32)      |
 *  +-------+-------+-------------------------------+-------------------------------+
 *  |                      payload (length bytes) ...
 * </pre>
 */
public final class Wire {
    public static final int MAGIC = 0x494D5558; // "IMUX"
    public static final int VERSION = 1;
    public static final int PREFACE_LENGTH = 8;

    public static final int TYPE_OFFSET = 0;
    public static final int FLAGS_OFFSET = 1;
    public static final int STREAM_ID_OFFSET = 2;
    public static final int LENGTH_OFFSET = 6;
    public static final int HEADER_LENGTH = 10;

    /** DATA payload: offset (u64) then the bytes. */
    public static final int DATA_PREFIX_LENGTH = 8;
    /** ACK payload: ack offset (u64), max offset (u64). */
    public static final int ACK_PAYLOAD_LENGTH = 16;
    /**
     * PING payload: opaque (u64, the sender's clock; a PONG echoes it), then the DATA payload bytes the sender has
     * received on this link so far (u64).
     */
    public static final int PING_PAYLOAD_LENGTH = 16;
    /** RST / GOAWAY payload: error code (u32) then a UTF-8 message. */
    public static final int ERROR_PREFIX_LENGTH = 4;

    /** Longest metadata an OPEN may carry. */
    public static final int MAX_METADATA_LENGTH = 16 * 1024;
    /** Longest UTF-8 message an RST or GOAWAY may carry; longer ones are cut when encoding. */
    public static final int MAX_MESSAGE_LENGTH = 1024;
    /** Longest auth field of a HELLO. */
    public static final int MAX_AUTH_LENGTH = 1024;
    /** Payload limit of a HELLO: fixed fields, up to 255 middleware names of up to 255 bytes each, auth. */
    public static final int MAX_HELLO_PAYLOAD = 16 + 16 + 1 + 255 * 256 + 2 + MAX_AUTH_LENGTH;

    private Wire() {
    }
}
