package io.invmux.internal.frame;

import io.invmux.ErrorCode;

/**
 * The sender takes no new streams (session scope) or stops using the link it travels on
 * ({@link #FLAG_GOAWAY_LINK}). Also the error frame of a failed handshake or a malformed frame.
 */
public final class GoAwayFrame extends Frame {
    public final ErrorCode errorCode;
    public final String message;

    public GoAwayFrame(boolean linkOnly, ErrorCode errorCode, String message) {
        super(0, linkOnly ? FLAG_GOAWAY_LINK : 0);
        this.errorCode = errorCode;
        this.message = message;
    }

    public boolean linkOnly() {
        return hasFlag(FLAG_GOAWAY_LINK);
    }

    @Override
    public byte type() {
        return FrameType.GOAWAY;
    }

    @Override
    public String toString() {
        return "GOAWAY(" + (linkOnly() ? "link, " : "") + errorCode + ", " + message + ")";
    }
}
