package io.invmux.internal.session;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;

/**
 * Logs refusals of peers at most once per interval and cause, so a stranger who floods us with bad links cannot
 * flood the log: the first refusal of a cause is logged, the next ones within the interval are only counted, and
 * the count rides with the next line logged. Text that came from the peer goes through {@link #printable} first.
 * Thread-safe.
 */
final class RefusalLog {
    private final Logger log;
    private final long intervalNanos;
    private final Map<String, Window> windows = new ConcurrentHashMap<>(); // keys: causes, a fixed small set

    private static final class Window {
        long lastNanos; // guarded by this
        long suppressed; // guarded by this
        boolean logged; // guarded by this
    }

    RefusalLog(Logger log, long intervalNanos) {
        this.log = log;
        this.intervalNanos = intervalNanos;
    }

    /** Logs at WARN unless a line for {@code cause} was logged within the interval (then only counts it). */
    void warn(String cause, String subject, String message) {
        Window w = windows.computeIfAbsent(cause, k -> new Window());
        long suppressed;
        synchronized (w) {
            long now = System.nanoTime();
            if (w.logged && now - w.lastNanos < intervalNanos) {
                w.suppressed++;
                return;
            }
            w.logged = true;
            w.lastNanos = now;
            suppressed = w.suppressed;
            w.suppressed = 0;
        }
        if (suppressed > 0) {
            log.warn("{} refused: {} ({} more refusal(s) for {} not logged)", subject, message, suppressed, cause);
        } else {
            log.warn("{} refused: {}", subject, message);
        }
    }

    /**
     * At most {@code max} characters of {@code text} with every character outside printable ASCII escaped
     * ({@code \\uXXXX}), so peer-chosen text can neither forge log lines nor fill them.
     */
    static String printable(String text, int max) {
        if (text == null) {
            return "null";
        }
        StringBuilder sb = new StringBuilder(Math.min(text.length(), max) + 16);
        int i = 0;
        for (; i < text.length() && sb.length() < max; i++) {
            char c = text.charAt(i);
            if (c >= 0x20 && c < 0x7F && c != '\\') {
                sb.append(c);
            } else {
                sb.append(String.format("\\u%04x", (int) c));
            }
        }
        if (i < text.length()) {
            sb.append("...(").append(text.length()).append(" chars)");
        }
        return sb.toString();
    }
}
