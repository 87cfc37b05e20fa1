package io.invmux;

/**
 * Thrown by {@link Middleware#processInbound} for a chunk it refuses (malformed, or inflating beyond the chunk
 * size): the link that carried the chunk is closed with a message naming the middleware, the stream and the reason,
 * and the sender re-sends the chunk on its other links.
 */
public class MiddlewareException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public MiddlewareException(String message) {
        super(message);
    }

    public MiddlewareException(String message, Throwable cause) {
        super(message, cause);
    }
}
