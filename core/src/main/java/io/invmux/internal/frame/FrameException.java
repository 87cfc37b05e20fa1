package io.invmux.internal.frame;

import io.invmux.ErrorCode;
import io.netty.handler.codec.DecoderException;

/** A link-level protocol violation found while decoding: the link gets a GOAWAY with this code and closes. */
public final class FrameException extends DecoderException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    public FrameException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode;
    }

    public ErrorCode errorCode() {
        return errorCode;
    }
}
