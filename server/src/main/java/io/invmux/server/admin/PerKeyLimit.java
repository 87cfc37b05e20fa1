package io.invmux.server.admin;

import java.util.concurrent.ConcurrentHashMap;

/**
 * At most {@code limit} places held at once per key (a client, a service). A key's entry goes when its count
 * reaches zero, so the map holds only keys with places taken. Thread-safe: each key's count changes atomically.
 */
public final class PerKeyLimit {
    private final int limit;
    private final ConcurrentHashMap<String, Integer> held = new ConcurrentHashMap<>();

    public PerKeyLimit(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("limit must be at least 1, got " + limit);
        }
        this.limit = limit;
    }

    public int limit() {
        return limit;
    }

    /** Takes a place for {@code key}; false (and nothing taken) when it holds {@link #limit()} already. */
    public boolean tryAcquire(String key) {
        boolean[] taken = new boolean[1];
        held.compute(key, (k, n) -> {
            int now = n == null ? 0 : n;
            if (now >= limit) {
                return n;
            }
            taken[0] = true;
            return now + 1;
        });
        return taken[0];
    }

    /** Gives back one place of {@code key}; call once per successful {@link #tryAcquire(String)}. */
    public void release(String key) {
        held.computeIfPresent(key, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** Places {@code key} holds now. */
    public int held(String key) {
        return held.getOrDefault(key, 0);
    }

    /** Places held now over all keys. */
    public long total() {
        return held.values().stream().mapToLong(Integer::longValue).sum();
    }

    /** Keys holding at least one place now. */
    public int keys() {
        return held.size();
    }
}
