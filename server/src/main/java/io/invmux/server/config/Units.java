package io.invmux.server.config;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes and durations as written in the sidecar configuration.
 * <ul>
 *   <li>Size: a whole number of bytes, optionally followed by {@code B}, {@code KiB}, {@code MiB} or {@code GiB}
 *       (binary units, case-sensitive; one optional space before the unit): {@code 65536}, {@code 256KiB},
 *       {@code 4 MiB}.</li>
 *   <li>Duration: a whole number followed by {@code ms}, {@code s}, {@code m} or {@code h}: {@code 250ms},
 *       {@code 30s}, {@code 10m}; a bare {@code 0} is zero.</li>
 * </ul>
 */
public final class Units {
    public static final long KIB = 1024L;
    public static final long MIB = 1024L * 1024;
    public static final long GIB = 1024L * 1024 * 1024;

    static final String SIZE_RULE =
            "must be a size: a whole number of bytes, optionally followed by B, KiB, MiB or GiB (e.g. 256KiB)";
    static final String DURATION_RULE =
            "must be a duration: a whole number followed by ms, s, m or h (e.g. 250ms, 30s)";

    private static final Pattern SIZE = Pattern.compile("([0-9]{1,19}) ?(B|KiB|MiB|GiB)?");
    private static final Pattern DURATION = Pattern.compile("([0-9]{1,19}) ?(ms|s|m|h)");

    private Units() {
    }

    /**
     * Parses a size into bytes.
     *
     * @throws IllegalArgumentException with the rule when the text is not a size or overflows a long
     */
    public static long parseSize(String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException(SIZE_RULE);
        }
        String unit = m.group(2) == null ? "B" : m.group(2);
        long factor = switch (unit) {
            case "KiB" -> KIB;
            case "MiB" -> MIB;
            case "GiB" -> GIB;
            default -> 1;
        };
        try {
            return Math.multiplyExact(Long.parseLong(m.group(1)), factor);
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(SIZE_RULE + "; this one is too large");
        }
    }

    /** The shortest exact form: {@code 256KiB}, {@code 16MiB}, {@code 1000} (plain bytes). */
    public static String formatSize(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("size must not be negative, got " + bytes);
        }
        if (bytes != 0) {
            if (bytes % GIB == 0) {
                return bytes / GIB + "GiB";
            }
            if (bytes % MIB == 0) {
                return bytes / MIB + "MiB";
            }
            if (bytes % KIB == 0) {
                return bytes / KIB + "KiB";
            }
        }
        return Long.toString(bytes);
    }

    /**
     * Parses a duration.
     *
     * @throws IllegalArgumentException with the rule when the text is not a duration or is too large
     */
    public static Duration parseDuration(String text) {
        if (text.equals("0")) {
            return Duration.ZERO;
        }
        Matcher m = DURATION.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException(DURATION_RULE);
        }
        try {
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "ms" -> Duration.ofMillis(n);
                case "s" -> Duration.ofSeconds(n);
                case "m" -> Duration.ofMinutes(n);
                default -> Duration.ofHours(n);
            };
        } catch (NumberFormatException | ArithmeticException e) {
            throw new IllegalArgumentException(DURATION_RULE + "; this one is too large");
        }
    }

    /**
     * The shortest exact form in the largest whole unit: {@code 100ms}, {@code 30s}, {@code 10m}, {@code 1h},
     * {@code 0s}.
     *
     * @throws IllegalArgumentException for negative durations or ones that are not whole milliseconds
     */
    public static String formatDuration(Duration d) {
        if (d.isNegative() || d.getNano() % 1_000_000 != 0) {
            throw new IllegalArgumentException("duration must be a non-negative whole number of milliseconds, got "
                    + d);
        }
        long ms = d.toMillis();
        if (ms == 0) {
            return "0s";
        }
        if (ms % 3_600_000 == 0) {
            return ms / 3_600_000 + "h";
        }
        if (ms % 60_000 == 0) {
            return ms / 60_000 + "m";
        }
        if (ms % 1000 == 0) {
            return ms / 1000 + "s";
        }
        return ms + "ms";
    }
}
