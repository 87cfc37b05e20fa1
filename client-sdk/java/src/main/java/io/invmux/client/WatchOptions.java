package io.invmux.client;

import java.time.Duration;

/**
 * What a health watch asks for.
 *
 * @param qualityInterval interval of quality samples of every link (null or zero: none; else at least 100 ms)
 * @param sessionId only this session ("" or null: all)
 * @param resubscribe open the watch again, with backoff (100 ms doubling to 5 s), when it breaks, e.g. when the
 *     sidecar restarts; each new watch resumes after the last event delivered: the missed events are replayed, or it
 *     starts with a snapshot whose {@code resync_reason} says they cannot be (expired, or the sidecar restarted)
 */
public record WatchOptions(Duration qualityInterval, String sessionId, boolean resubscribe) {
    /** Everything, no quality samples, resubscribing. */
    public static WatchOptions defaults() {
        return new WatchOptions(null, "", true);
    }

    /** Quality samples at this interval. */
    public WatchOptions withQualityInterval(Duration interval) {
        return new WatchOptions(interval, sessionId, resubscribe);
    }

    /** Only this session. */
    public WatchOptions withSessionId(String id) {
        return new WatchOptions(qualityInterval, id, resubscribe);
    }

    /** Whether to open the watch again when it breaks. */
    public WatchOptions withResubscribe(boolean value) {
        return new WatchOptions(qualityInterval, sessionId, value);
    }
}
