package io.invmux.server.cli;

import java.util.Iterator;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.AutoComplete;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code invmux completion bash|zsh}: the shell completion script picocli generates from the commands themselves,
 * so that it never lags behind them. One script serves both shells (under zsh it loads bashcompinit).
 */
@Command(name = "completion", mixinStandardHelpOptions = true,
        description = {"Print the shell completion script of invmux: subcommands, options, and their values.",
                "bash: source <(invmux completion bash), or save it in /etc/bash_completion.d/invmux.",
                "zsh: source <(invmux completion zsh) in ~/.zshrc (after compinit)."})
public final class CompletionCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", defaultValue = "bash", paramLabel = "SHELL",
            completionCandidates = Shells.class, description = "bash (default) or zsh.")
    String shell;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        if (!Shells.NAMES.contains(shell)) {
            throw new ParameterException(spec.commandLine(), "invmux completion: '" + shell + "' must be one of "
                    + String.join(", ", Shells.NAMES));
        }
        spec.commandLine().getOut().print(AutoComplete.bash(spec.root().name(), spec.root().commandLine()));
        spec.commandLine().getOut().flush();
        return 0;
    }

    /** The shells the script is for. */
    static final class Shells implements Iterable<String> {
        static final List<String> NAMES = List.of("bash", "zsh");

        @Override
        public Iterator<String> iterator() {
            return NAMES.iterator();
        }
    }
}
