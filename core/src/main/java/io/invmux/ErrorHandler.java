package io.invmux;

/**
 * Decides what a session does after errors. Called on the session's event loop; must not block.
 *
 * <p>The default handler: a lost link → {@link ErrorAction#RECONNECT} (its chunks are re-sent on the others and,
 * on the dialing side, the {@link ConnectionManager} redials its address; the accepting side waits for it);
 * a stream error → {@link ErrorAction#RETRY} (that stream fails, the session carries on); a session error →
 * {@link ErrorAction#CLOSE}.
 */
public interface ErrorHandler {
    ErrorAction handleConnectionError(Connection connection, Throwable cause);

    ErrorAction handleStreamError(Stream stream, Throwable cause);

    ErrorAction handleSessionError(Session session, Throwable cause);

    static ErrorHandler defaults() {
        return DefaultErrorHandler.INSTANCE;
    }

    /** The documented default policy. */
    final class DefaultErrorHandler implements ErrorHandler {
        static final DefaultErrorHandler INSTANCE = new DefaultErrorHandler();

        private DefaultErrorHandler() {
        }

        @Override
        public ErrorAction handleConnectionError(Connection connection, Throwable cause) {
            return ErrorAction.RECONNECT;
        }

        @Override
        public ErrorAction handleStreamError(Stream stream, Throwable cause) {
            return ErrorAction.RETRY;
        }

        @Override
        public ErrorAction handleSessionError(Session session, Throwable cause) {
            return ErrorAction.CLOSE;
        }
    }
}
