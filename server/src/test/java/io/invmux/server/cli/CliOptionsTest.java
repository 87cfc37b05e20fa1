package io.invmux.server.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** The operator commands' flags as picocli parses them: durations as in the config, the output format. */
class CliOptionsTest {
    private static CommandLine cli() {
        return new CommandLine(new Main());
    }

    private static <T> T command(CommandLine.ParseResult r, Class<T> type) {
        return type.cast(r.subcommand().commandSpec().userObject());
    }

    @Test
    void durationsAreWrittenAsInTheConfig() {
        assertThat(command(cli().parseArgs("watch", "--interval", "500ms"), OperatorCommands.Watch.class).interval)
                .isEqualTo(Duration.ofMillis(500));
        assertThat(command(cli().parseArgs("watch", "--interval", "10s"), OperatorCommands.Watch.class).interval)
                .isEqualTo(Duration.ofSeconds(10));
        assertThat(command(cli().parseArgs("watch"), OperatorCommands.Watch.class).interval)
                .as("default").isEqualTo(Duration.ofSeconds(1));
        assertThat(command(cli().parseArgs("health", "--timeout", "2m"), HealthCommand.class).timeout)
                .isEqualTo(Duration.ofMinutes(2));
        assertThat(command(cli().parseArgs("demo", "--duration", "3s"), DemoCommand.class).duration)
                .isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void theOldMillisecondFlagsStillWork() {
        assertThat(command(cli().parseArgs("watch", "--interval-ms", "250"), OperatorCommands.Watch.class).interval())
                .isEqualTo(Duration.ofMillis(250));
        assertThat(command(cli().parseArgs("health", "--timeout-ms", "1500"), HealthCommand.class).timeout())
                .isEqualTo(Duration.ofMillis(1500));
        assertThat(command(cli().parseArgs("demo", "--seconds", "4"), DemoCommand.class).duration())
                .isEqualTo(Duration.ofSeconds(4));
        OperatorCommands.Watch zero = command(cli().parseArgs("watch", "--interval-ms", "0"),
                OperatorCommands.Watch.class);
        assertThatThrownBy(zero::interval).isInstanceOf(ParameterException.class)
                .hasMessage("--interval-ms 0: must be at least 1");
    }

    @Test
    void theOldFlagsAreHiddenFromTheHelp() {
        String help = cli().getSubcommands().get("watch").getUsageMessage();
        assertThat(help).contains("--interval=DURATION").doesNotContain("--interval-ms");
        assertThat(cli().getSubcommands().get("health").getUsageMessage()).doesNotContain("--timeout-ms");
    }

    @Test
    void aBadDurationNamesTheFlagTheValueAndTheRule() {
        assertThatThrownBy(() -> cli().parseArgs("watch", "--interval", "1.5s"))
                .isInstanceOf(ParameterException.class)
                .hasMessageContaining("--interval")
                .hasMessageContaining("'1.5s' must be a duration: a whole number followed by ms, s, m or h");
        assertThatThrownBy(() -> cli().parseArgs("health", "--timeout", "3"))
                .isInstanceOf(ParameterException.class)
                .hasMessageContaining("--timeout").hasMessageContaining("'3' must be a duration");
    }

    @Test
    void aDurationOutOfRangeIsRefusedBeforeAnyCall() {
        StringWriter err = new StringWriter();
        CommandLine cli = cli();
        cli.setErr(new PrintWriter(err, true));
        // No sidecar listens on port 1: the command must stop at the flag, not at the connection.
        int code = cli.execute("watch", "--interval", "50ms", "--api", "127.0.0.1:1");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("--interval 50ms: must be at least 100ms and at most 1h");
    }

    @Test
    void outputFormatIsTableJsonOrYamlInAnyCase() {
        assertThat(command(cli().parseArgs("links"), OperatorCommands.Links.class).output.format)
                .isEqualTo(OutputOptions.Format.TABLE);
        assertThat(command(cli().parseArgs("sessions", "-o", "json"), OperatorCommands.Sessions.class).output.format)
                .isEqualTo(OutputOptions.Format.JSON);
        assertThat(command(cli().parseArgs("health", "--output", "YAML"), HealthCommand.class).output.format)
                .isEqualTo(OutputOptions.Format.YAML);
        assertThatThrownBy(() -> cli().parseArgs("links", "-o", "xml"))
                .isInstanceOf(ParameterException.class)
                .hasMessageContaining("'xml' must be one of table, json, yaml");
    }

    @Test
    void everyOperatorCommandTakesTheOutputFlag() {
        CommandLine cli = cli();
        for (String name : new String[] {"links", "sessions", "watch", "health"}) {
            assertThat(cli.getSubcommands().get(name).getCommandSpec().findOption("-o")).as(name).isNotNull();
        }
        for (String name : new String[] {"add", "remove"}) {
            assertThat(cli.getSubcommands().get("link").getSubcommands().get(name).getCommandSpec().findOption("-o"))
                    .as("link " + name).isNotNull();
        }
    }
}
