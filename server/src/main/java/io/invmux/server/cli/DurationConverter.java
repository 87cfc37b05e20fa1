package io.invmux.server.cli;

import io.invmux.server.config.Units;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.TypeConversionException;

/**
 * Durations on the command line as in the configuration ({@code 500ms}, {@code 1s}, {@code 10m}): the same parser,
 * so a value that works in one works in the other. Picocli prefixes the message with the option's name.
 */
final class DurationConverter implements ITypeConverter<Duration> {
    /**
     * {@code value}, or {@code millis} when the deprecated milliseconds flag {@code oldFlag} was given: the old
     * spelling, kept so that scripts keep working.
     */
    static Duration orMillis(CommandSpec spec, Duration value, Long millis, String oldFlag) {
        if (millis == null) {
            return value;
        }
        if (millis < 1) {
            throw new ParameterException(spec.commandLine(), oldFlag + " " + millis + ": must be at least 1");
        }
        return Duration.ofMillis(millis);
    }

    /** Says on stderr, when the deprecated flag was given, how to write the same with the new one. */
    static void warnIfDeprecated(CommandSpec spec, Object oldValue, String oldFlag, String newFlag, Duration d) {
        if (oldValue != null) {
            System.err.println("invmux " + spec.name() + ": " + oldFlag + " is deprecated; use " + newFlag + " "
                    + Units.formatDuration(d));
        }
    }

    @Override
    public Duration convert(String value) {
        try {
            return Units.parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException("'" + value + "' " + e.getMessage());
        }
    }
}
