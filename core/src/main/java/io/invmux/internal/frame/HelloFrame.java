package io.invmux.internal.frame;

import java.util.List;

/**
 * The first frame on a link, in both directions: which session the link belongs to, its id inside the session,
 * the sender's limits, its middleware chain and proof that it may join.
 */
public final class HelloFrame extends Frame {
    public static final int SESSION_ID_LENGTH = 16;
    /** Smallest max chunk a HELLO may announce; smaller ones are refused. */
    public static final int MIN_CHUNK = 1024;
    /** Largest max chunk that counts; a larger one is read as this. */
    public static final int MAX_CHUNK = 1024 * 1024;
    /** Smallest stream window a HELLO may announce; smaller ones are refused. */
    public static final int MIN_STREAM_WINDOW = 16 * 1024;
    /** Smallest session window a HELLO may announce; smaller ones are refused. */
    public static final int MIN_SESSION_WINDOW = 64 * 1024;
    /** Largest window (stream or session) that counts; a larger one is read as this. */
    public static final int MAX_WINDOW = 1024 * 1024 * 1024;

    /**
     * Longest HELLO payload a peer with the middleware chain {@code names} can need: the fixed fields, the names,
     * the longest auth. A peer's chain must equal ours, so nothing longer is legitimate: a stranger announcing more
     * (the wire allows 66 KiB) is refused from the header, before we hold any of it.
     */
    public static int maxPayload(List<String> names) {
        int n = SESSION_ID_LENGTH + 16 + 1 + 2 + Wire.MAX_AUTH_LENGTH;
        for (String name : names) {
            n += 1 + name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        }
        return Math.min(n, Wire.MAX_HELLO_PAYLOAD);
    }

    public final byte[] sessionId;
    public final int linkId;
    public final int maxChunkSize;
    public final int streamWindow;
    public final int sessionWindow;
    public final List<String> middleware;
    public final byte[] auth;

    public HelloFrame(int flags, byte[] sessionId, int linkId, int maxChunkSize, int streamWindow, int sessionWindow,
            List<String> middleware, byte[] auth) {
        super(0, flags);
        this.sessionId = sessionId;
        this.linkId = linkId;
        this.maxChunkSize = maxChunkSize;
        this.streamWindow = streamWindow;
        this.sessionWindow = sessionWindow;
        this.middleware = List.copyOf(middleware);
        this.auth = auth;
    }

    public boolean newSession() {
        return hasFlag(FLAG_HELLO_NEW_SESSION);
    }

    public boolean isReply() {
        return hasFlag(FLAG_ACK);
    }

    public boolean isProof() {
        return hasFlag(FLAG_HELLO_PROOF);
    }

    @Override
    public byte type() {
        return FrameType.HELLO;
    }

    @Override
    public String toString() {
        return "HELLO(" + (isReply() ? "reply, " : "") + (isProof() ? "proof, " : "") + (newSession() ? "new, " : "join, ") + "link=" + linkId
                + ", chunk=" + maxChunkSize + ", window=" + streamWindow + "/" + sessionWindow + ", middleware="
                + middleware + ")";
    }
}
