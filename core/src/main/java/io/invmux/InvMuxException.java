package io.invmux;

import java.io.IOException;

/** A failure of a stream, link or session, with the {@link ErrorCode} that explains it. */
public class InvMuxException extends IOException {
    private static final long serialVersionUID = 1L;

    private final ErrorCode errorCode;

    public InvMuxException(ErrorCode errorCode, String message) {
        super(message);
        this.errorCode = errorCode;
    }

    public InvMuxException(ErrorCode errorCode, String message, Throwable cause) {
        super(message, cause);
        this.errorCode = errorCode;
    }

    public ErrorCode errorCode() {
        return errorCode;
    }
}
