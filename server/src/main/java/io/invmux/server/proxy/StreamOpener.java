package io.invmux.server.proxy;

import io.invmux.Stream;
import java.io.IOException;

/**
 * Opens the stream that carries one forwarded TCP connection. The sidecar implements it (find or dial the session
 * to {@code peer}, open a stream naming {@code service}); tests implement it over a plain session.
 *
 * <p>Called on a {@link TcpForwarder} worker thread, never on an event loop, so it may block while a session is
 * dialed. It should still return promptly: the accepted connection waits (unread) until it does.
 */
@FunctionalInterface
public interface StreamOpener {
    /**
     * @return a new stream toward {@code service} on {@code peer}; the forwarder owns it from then on
     * @throws IOException when no stream can be opened; the accepted connection is then reset
     */
    Stream open(String peer, String service) throws IOException;
}
