package io.invmux;

/** The stream was reset, by this end or by the peer; no more bytes flow on it in either direction. */
public class StreamResetException extends InvMuxException {
    private static final long serialVersionUID = 1L;

    private final boolean byPeer;

    public StreamResetException(ErrorCode errorCode, String message, boolean byPeer) {
        super(errorCode, message);
        this.byPeer = byPeer;
    }

    /** True when the peer sent the reset, false when this end reset the stream. */
    public boolean byPeer() {
        return byPeer;
    }
}
