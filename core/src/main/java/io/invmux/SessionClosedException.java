package io.invmux;

/** The session is closed or going away; streams can no longer be opened or carry bytes. */
public class SessionClosedException extends InvMuxException {
    private static final long serialVersionUID = 1L;

    public SessionClosedException(ErrorCode errorCode, String message) {
        super(errorCode, message);
    }
}
