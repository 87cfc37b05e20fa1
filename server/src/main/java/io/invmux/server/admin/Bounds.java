package io.invmux.server.admin;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Consumer;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The resource bounds of the local API and the proxy as metrics: what each one refused (the
 * {@code invmux_refusals} counter, labelled with the bound's config key) and how close each is (gauges the bounded
 * components register). A refusal is logged without letting a client flood the log: the first of a bound at once,
 * later ones at most once per {@link #LOG_INTERVAL_NANOS} with how many were not logged since. Client-chosen text
 * in a message is cut and escaped by {@link #shown(String)}. Thread-safe and lock-free: refusals come from gRPC
 * threads and event loops alike.
 */
public final class Bounds {
    private static final Logger log = LoggerFactory.getLogger(Bounds.class);
    static final long LOG_INTERVAL_NANOS = 10_000_000_000L;
    private static final int MAX_SHOWN = 64;

    private final Map<String, Bound> bounds = new ConcurrentHashMap<>();
    private final Map<String, Gauge> gauges = new ConcurrentHashMap<>();
    private final LongSupplier nanoClock;
    private final Consumer<String> warn;

    /** Bounds that log to this class's SLF4J logger at WARN, on {@link System#nanoTime()}. */
    public Bounds() {
        this(System::nanoTime, log::warn);
    }

    /** Bounds on {@code nanoClock} that write each log line to {@code warn} (tests). */
    Bounds(LongSupplier nanoClock, Consumer<String> warn) {
        this.nanoClock = nanoClock;
        this.warn = warn;
    }

    /** A gauge a bounded component registered: its help text and where its value is read at scrape time. */
    public record Gauge(String help, LongSupplier value) {
    }

    /** Registers (or replaces) the gauge {@code name}, read at every scrape. */
    public void gauge(String name, String help, LongSupplier value) {
        gauges.put(name, new Gauge(help, value));
    }

    /** The registered gauges by name. */
    public Map<String, Gauge> gauges() {
        return new TreeMap<>(gauges);
    }

    /** One bound's count and its log throttle. */
    private static final class Bound {
        final LongAdder count = new LongAdder();
        /** When a refusal of this bound was last logged, {@code System.nanoTime()}; MIN_VALUE: never. */
        final AtomicLong lastLogged = new AtomicLong(Long.MIN_VALUE);
        /** Bounds since the last one logged. */
        final AtomicLong unlogged = new AtomicLong();
    }

    /**
     * Counts one refusal at {@code bound} (a config key such as {@code api.maxStreamsPerClient}) and logs
     * {@code message} unless a refusal of that bound was logged less than 10 s ago.
     */
    public void refused(String bound, String message) {
        Bound b = bounds.computeIfAbsent(bound, k -> new Bound());
        b.count.increment();
        long now = nanoClock.getAsLong();
        long last = b.lastLogged.get();
        if (last != Long.MIN_VALUE && now - last < LOG_INTERVAL_NANOS || !b.lastLogged.compareAndSet(last, now)) {
            b.unlogged.incrementAndGet();
            return;
        }
        long skipped = b.unlogged.getAndSet(0);
        warn.accept("refused at " + bound + ": " + message + (skipped == 0 ? ""
                : " (" + skipped + " more refusal(s) at this bound not logged since the last one)"));
    }

    /** Bounds counted so far, by bound. */
    public Map<String, Long> counts() {
        Map<String, Long> out = new TreeMap<>();
        bounds.forEach((k, v) -> out.put(k, v.count.sum()));
        return out;
    }

    /** Bounds counted at {@code bound} so far. */
    public long count(String bound) {
        Bound b = bounds.get(bound);
        return b == null ? 0 : b.count.sum();
    }

    /** Client-chosen text as it may appear in a log line: at most 64 characters, control characters escaped. */
    public static String shown(String text) {
        String t = text.length() > MAX_SHOWN ? text.substring(0, MAX_SHOWN) + "..." : text;
        StringBuilder sb = new StringBuilder(t.length() + 2).append('\'');
        for (int i = 0; i < t.length(); i++) {
            char c = t.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\'' || c == '\\') {
                sb.append(String.format("\\x%02x", (int) c));
            } else {
                sb.append(c);
            }
        }
        return sb.append('\'').toString();
    }
}
