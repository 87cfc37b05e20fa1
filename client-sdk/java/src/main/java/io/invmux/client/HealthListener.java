package io.invmux.client;

import io.invmux.proto.v1.WatchHealthResponse;
import java.time.Duration;

/**
 * Receives a health watch's events, one at a time, on a gRPC thread: the next event is asked for only once
 * {@link #onEvent} returned (so a slow listener slows the watch down rather than queueing events here; a sidecar
 * ends a watch that falls more than 4096 events behind, and the watch is then opened again).
 */
public interface HealthListener {
    /**
     * An event: first (and again after each resubscription) a {@code snapshot} of every session and link, then
     * {@code link_up}, {@code link_down}, {@code state_change}, {@code quality} and {@code session} events
     * ({@code event.getEventCase()} tells which).
     */
    void onEvent(WatchHealthResponse event);

    /** The watch broke and is opened again after {@code delay}. */
    default void onReconnecting(InvMuxException cause, Duration delay) {
    }

    /** The watch failed for good (e.g. INVALID_ARGUMENT, UNAUTHENTICATED) and has ended. */
    default void onError(InvMuxException error) {
    }
}
