package io.invmux.server.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code invmux}: the sidecar and the commands that operate it. */
@Command(name = "invmux", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = "Inverse multiplexer sidecar: many streams over a bundle of links.",
        subcommands = {SidecarCommand.class, OperatorCommands.Links.class, OperatorCommands.Sessions.class,
                OperatorCommands.LinkCommand.class, OperatorCommands.Watch.class, HealthCommand.class,
                DemoCommand.class, InjectCommand.class, WebhookCommand.class, CompletionCommand.class})
public final class Main implements Runnable {
    public static void main(String[] args) {
        int code = new CommandLine(new Main()).setCaseInsensitiveEnumValuesAllowed(true).execute(args);
        System.exit(code);
    }

    @Override
    public void run() {
        new CommandLine(this).usage(System.out);
    }
}
