package io.invmux.internal.frame;

/**
 * A decoded or to-be-encoded frame. Immutable except for the payload buffer of {@link DataFrame}, whose
 * ownership moves with the frame: whoever holds the frame releases it.
 */
public abstract class Frame {
    /** Flag of DATA: this chunk ends the stream; the final offset is {@code offset + length}. */
    public static final int FLAG_FIN = 0x1;
    /** Flag of PING: this is the answer (pong). Flag of HELLO: this is the accepting end's reply. */
    public static final int FLAG_ACK = 0x2;
    /** Flag of ACK: the receiver has every byte up to the final offset and the FIN. */
    public static final int FLAG_ACK_FIN = 0x1;
    /** Flag of ACK: the receiver no longer knows the stream (done or reset); treat everything as acknowledged. */
    public static final int FLAG_ACK_CLOSED = 0x4;
    /** Flag bits of OPEN: the stream's traffic class (0 bulk, 1 interactive, 2 redundant; 3 is not used). */
    public static final int OPEN_CLASS_MASK = 0x3;
    /** Flag of GOAWAY: only the link it travels on is going away, not the session. */
    public static final int FLAG_GOAWAY_LINK = 0x1;
    /** Flag of HELLO: the link starts a new session (else it joins one). */
    public static final int FLAG_HELLO_NEW_SESSION = 0x1;
    /** Flag of HELLO: the dialer's answer to the accepting end's challenge (third handshake message). */
    public static final int FLAG_HELLO_PROOF = 0x4;
    /** HELLO request: its auth ends with the name the dialer's pre-shared key is configured under. */
    public static final int FLAG_HELLO_KEY_NAME = 0x8;

    public final int streamId;
    public final int flags;

    protected Frame(int streamId, int flags) {
        this.streamId = streamId;
        this.flags = flags;
    }

    public abstract byte type();

    public final boolean hasFlag(int flag) {
        return (flags & flag) != 0;
    }
}
