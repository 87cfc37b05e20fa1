package io.invmux.internal.frame;

import io.invmux.ErrorCode;

/** Ends a stream abruptly in both directions, with a reason. */
public final class ResetFrame extends Frame {
    public final ErrorCode errorCode;
    public final String message;

    public ResetFrame(int streamId, ErrorCode errorCode, String message) {
        super(streamId, 0);
        this.errorCode = errorCode;
        this.message = message;
    }

    @Override
    public byte type() {
        return FrameType.RST;
    }

    @Override
    public String toString() {
        return "RST(stream=" + streamId + ", " + errorCode + ", " + message + ")";
    }
}
