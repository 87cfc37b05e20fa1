package io.invmux;

import java.io.Closeable;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Accepts links on one or more addresses and sorts them into sessions by the session id of their handshake: the
 * first link of a session creates it (and {@link #accept()} returns it), later links join it.
 */
public interface SessionListener extends Closeable {
    /** Waits for the next new session. */
    Session accept() throws IOException, InterruptedException;

    /** Like {@link #accept()} with a deadline; throws {@link java.net.SocketTimeoutException} when it passes. */
    Session accept(Duration timeout) throws IOException, InterruptedException;

    CompletableFuture<Session> acceptAsync();

    /** Starts accepting on one more address; completes with the bound address. */
    CompletableFuture<SocketAddress> listen(URI uri);

    /**
     * Stops accepting on one bound address (as returned by {@link #listen} or {@link #localAddresses()}); sessions
     * already joined stay up. Completes when the address is released; false when no such address is bound.
     */
    CompletableFuture<Boolean> stopListening(SocketAddress boundAddress);

    /** The bound addresses (useful with port 0). */
    List<SocketAddress> localAddresses();

    /** The sessions alive now. */
    List<Session> sessions();

    /** Links refused at the handshake so far. */
    long refusedLinks();

    /**
     * How often each resource limit of the listener was reached (handshakes in flight, sessions, links per
     * session), by the name of its {@link Config} knob. Sessions count their own in {@link SessionStats#limitsHit()}.
     */
    java.util.Map<String, Long> limitsHit();

    /** Stops accepting and closes every session. */
    @Override
    void close();
}
