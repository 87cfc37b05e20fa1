package io.invmux.internal.session;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * How often each resource limit was reached, by the name of the knob that sets it (as {@code Config} names it).
 * Counted where the limit is enforced; read by stats and metrics. Thread-safe.
 */
final class LimitCounters {
    private final Map<String, LongAdder> counts = new ConcurrentHashMap<>();

    void hit(String knob) {
        counts.computeIfAbsent(knob, k -> new LongAdder()).increment();
    }

    long get(String knob) {
        LongAdder a = counts.get(knob);
        return a == null ? 0 : a.sum();
    }

    /** A copy, sorted by knob. */
    Map<String, Long> snapshot() {
        Map<String, Long> out = new TreeMap<>();
        counts.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
