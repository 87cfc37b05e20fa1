package io.invmux.server.config;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The sidecar configuration is invalid. Holds every problem found (not just the first), each naming where the
 * value came from (file path, {@code environment variable INVMUX_X}, {@code command line}), the key path, the
 * value and the rule it breaks; {@link #getMessage()} gives one problem per line.
 */
public final class ConfigException extends Exception {
    private static final long serialVersionUID = 1L;

    /** Exit status of the sidecar CLI when its configuration is invalid. */
    public static final int EXIT_CODE = 2;

    /**
     * One problem: {@code source: key = value: rule}. {@code key} is null when the problem concerns no single key
     * (a YAML syntax error, an unreadable file); {@code value} is null when there is no value to show (a missing or
     * unknown key). Secret values (API token, pre-shared key) are never shown, only their length.
     */
    public record Problem(String source, String key, String value, String rule) {
        public Problem {
            Objects.requireNonNull(source, "source");
            Objects.requireNonNull(rule, "rule");
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(source).append(": ");
            if (key != null) {
                sb.append(key);
                if (value != null) {
                    sb.append(" = ").append(value);
                }
                sb.append(": ");
            }
            return oneLine(sb.append(rule));
        }

        /**
         * Control characters (a newline in a key given on the command line, say) escaped, so a problem stays one
         * line of a log. Values are escaped already where they are shown; this catches keys and sources.
         */
        private static String oneLine(CharSequence text) {
            StringBuilder sb = new StringBuilder(text.length());
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                if (Character.isISOControl(c)) {
                    sb.append(c == '\n' ? "\\n" : c == '\t' ? "\\t" : String.format("\\u%04x", (int) c));
                } else {
                    sb.append(c);
                }
            }
            return sb.toString();
        }
    }

    private final transient List<Problem> problems;

    public ConfigException(List<Problem> problems) {
        super(problems.stream().map(Problem::toString).collect(Collectors.joining("\n")));
        if (problems.isEmpty()) {
            throw new IllegalArgumentException("a ConfigException needs at least one problem");
        }
        this.problems = List.copyOf(problems);
    }

    public ConfigException(Problem problem) {
        this(List.of(problem));
    }

    /** Every problem found, in the order found. */
    public List<Problem> problems() {
        return problems;
    }
}
