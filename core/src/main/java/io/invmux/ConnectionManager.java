package io.invmux;

import java.net.URI;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Keeps a dialing session's links up: when the {@link ErrorHandler} answers {@link ErrorAction#RECONNECT} for a
 * lost link, the session redials the link's URI after the delays this manager gives, until a redial joins the
 * session, the manager gives up, or the session closes. Called on the session's event loop.
 */
public interface ConnectionManager {
    /**
     * The wait before redial number {@code attempt} (0 for the first) of {@code uri}.
     *
     * @return the delay, or empty to give up on this link
     */
    Optional<Duration> redialDelay(URI uri, int attempt);

    /** Never redials. */
    static ConnectionManager never() {
        return (uri, attempt) -> Optional.empty();
    }

    /** Exponential backoff with jitter, without end: {@link #backoff(Duration, Duration, int)} with no attempt limit. */
    static ConnectionManager defaults() {
        return backoff(Duration.ofMillis(50), Duration.ofSeconds(2), Integer.MAX_VALUE);
    }

    /**
     * Waits {@code min × 2^attempt}, capped at {@code max}, each wait drawn uniformly from half to all of it (jitter,
     * so many sessions losing links at once do not redial in lockstep); gives up after {@code maxAttempts}.
     */
    static ConnectionManager backoff(Duration min, Duration max, int maxAttempts) {
        if (min == null || min.isNegative() || min.isZero()) {
            throw new IllegalArgumentException("backoff min must be positive, got " + min);
        }
        if (max == null || max.compareTo(min) < 0) {
            throw new IllegalArgumentException("backoff max must be at least min (" + min + "), got " + max);
        }
        if (maxAttempts < 1) {
            throw new IllegalArgumentException("backoff maxAttempts must be at least 1, got " + maxAttempts);
        }
        long minNanos = min.toNanos();
        long maxNanos = max.toNanos();
        return (uri, attempt) -> {
            if (attempt >= maxAttempts) {
                return Optional.empty();
            }
            long ceiling = attempt >= 62 || minNanos << attempt <= 0 ? maxNanos
                    : Math.min(maxNanos, minNanos << attempt);
            long delay = ceiling / 2 + ThreadLocalRandom.current().nextLong(ceiling / 2 + 1);
            return Optional.of(Duration.ofNanos(delay));
        };
    }
}
