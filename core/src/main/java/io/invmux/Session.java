package io.invmux;

import java.io.Closeable;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Many logical {@link Stream}s carried over a bundle of links ({@link Connection}s) to one peer. Each stream's
 * bytes are cut into chunks, spread over the links by the {@link LoadBalancer} and put back in order at the peer.
 * A session comes from {@link InvMux#connect} (the dialing side) or from a {@link SessionListener}.
 *
 * <p>All methods are thread-safe. Blocking methods must not be called from an event loop thread.
 */
public interface Session extends Closeable {
    /** The session id shared by both ends, as 32 hex digits. */
    String id();

    /** True on the side that dialed the session's first link. */
    boolean isClient();

    /**
     * Who the peer proved to be with its credentials: the names in its TLS certificate, or the name its per-peer
     * pre-shared key is configured under. Empty when the session's links carry no such credential.
     */
    default Optional<PeerIdentity> peerIdentity() {
        return Optional.empty();
    }

    /** Opens a stream with no metadata. */
    default Stream openStream() throws IOException {
        return openStream(new byte[0]);
    }

    /**
     * Opens a stream whose peer sees {@code metadata} (up to 16 KiB, e.g. a service name). Returns at once; bytes
     * may be written before the peer accepts. If the peer refuses the stream, the stream's reads and writes fail
     * with {@link StreamResetException} ({@link ErrorCode#REFUSED_STREAM}).
     *
     * @throws SessionClosedException when the session is closed or either end is going away
     * @throws InvMuxException with {@link ErrorCode#REFUSED_STREAM} when {@link Config#maxStreams()} are open
     */
    default Stream openStream(byte[] metadata) throws IOException {
        return openStream(metadata, StreamOptions.defaults());
    }

    /**
     * Like {@link #openStream(byte[])}, sent as {@code options} say (its {@link TrafficClass}, which the peer sees
     * too).
     */
    Stream openStream(byte[] metadata, StreamOptions options) throws IOException;

    /** Waits for the next stream opened by the peer. */
    Stream acceptStream() throws IOException, InterruptedException;

    /** Like {@link #acceptStream()} with a deadline; throws {@link SocketTimeoutException} when it passes. */
    Stream acceptStream(Duration timeout) throws IOException, InterruptedException;

    /** Completes with the next stream opened by the peer (for callers that must not block). */
    CompletableFuture<Stream> acceptStreamAsync();

    /** Dials one more link to the peer and joins it to this session (dialing side only). */
    CompletableFuture<Connection> addConnection(URI uri);

    /**
     * Removes a link gracefully: no new chunk is scheduled on it, chunks in flight on it are acknowledged or re-sent
     * elsewhere, then it closes. Completes when it is closed.
     */
    CompletableFuture<Void> removeConnection(String id);

    /** The links now carrying the session. */
    List<Connection> connections();

    int numStreams();

    int numConnections();

    /** A snapshot of the session's counters. */
    /**
     * This session's middleware instances, in chain order (each {@link Middleware#forSession} of the configured
     * chain): where a middleware keeps per-session state and counters, such as compression's.
     */
    List<Middleware> middleware();

    SessionStats stats();

    /**
     * Hears about every link state change: a link joining (from {@link HealthState#DEAD}), the health monitor's
     * verdicts, a link lost (to DEAD).
     */
    void addHealthListener(HealthListener listener);

    void removeHealthListener(HealthListener listener);

    /** Hears the session's round-trip samples and failovers as they happen; sessions that take none ignore it. */
    default void addMeasurementListener(MeasurementListener listener) {
    }

    default void removeMeasurementListener(MeasurementListener listener) {
    }

    /** Stops taking new streams in both directions; open streams carry on until they end. */
    void goAway();

    /**
     * True once the session takes no new streams: after {@link #goAway()}, a GOAWAY from the peer, its stream ids
     * running out, or its close.
     */
    boolean isGoingAway();

    /**
     * Completes (never exceptionally) when the session stops taking new streams, for any of the reasons of
     * {@link #isGoingAway()}, while its open streams may still run: the moment to open a fresh session for new
     * streams. Dependent actions run on the thread that stopped it (possibly the session's event loop): hand
     * blocking work to an executor.
     */
    CompletableFuture<Void> goAwayFuture();

    /** Completes when the session is closed, exceptionally when it ended on an error. */
    CompletableFuture<Void> closeFuture();

    boolean isClosed();

    /** Closes at once: open streams fail with {@link SessionClosedException}, links close, the peer is told. */
    @Override
    void close();
}
