package io.invmux.server.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code invmux completion bash}: a script bash accepts, and that completes the commands as they are. */
class CompletionTest {
    @TempDir
    Path dir;

    private static String run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        assertThat(code).as(err.toString()).isZero();
        return out.toString();
    }

    private Path script() throws IOException {
        Path file = dir.resolve("invmux.bash");
        Files.writeString(file, run("completion", "bash"));
        return file;
    }

    /** Runs bash; returns its stdout (stderr is dropped: compopt complains outside a real completion). */
    private static String bash(String... args) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(args).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    /** What bash offers for {@code words}, the last one being completed. */
    private String complete(String... words) throws IOException, InterruptedException {
        String line = String.join(" ", words);
        StringBuilder array = new StringBuilder();
        for (String w : words) {
            array.append(" '").append(w).append("'");
        }
        return bash("bash", "-c", "source '" + script() + "'; COMP_WORDS=(" + array + " ); COMP_CWORD="
                + (words.length - 1) + "; COMP_LINE='" + line + "'; COMP_POINT=" + line.length()
                + "; _complete_invmux; printf '%s\\n' \"${COMPREPLY[@]}\"");
    }

    @Test
    void theScriptIsValidBashAndNamesEverySubcommand() throws Exception {
        Path file = script();
        bash("bash", "-n", file.toString());
        String text = Files.readString(file);
        for (String sub : List.of("sidecar", "links", "sessions", "link", "watch", "health", "demo", "inject",
                "webhook", "completion")) {
            assertThat(text).as(sub).contains("_picocli_invmux_" + sub + "()");
        }
        assertThat(text).contains("complete -F _complete_invmux").doesNotContain("--interval-ms");
        assertThat(run("completion", "zsh")).as("one script for both shells").isEqualTo(text)
                .contains("bashcompinit");
    }

    @Test
    void bashCompletesSubcommandsOptionsAndTheirValues() throws Exception {
        assertThat(complete("invmux", "wa").lines()).containsExactly("watch");
        assertThat(complete("invmux", "link", "").lines()).contains("add", "remove");
        assertThat(complete("invmux", "links", "-o", "").lines()).containsExactly("table", "json", "yaml");
        assertThat(complete("invmux", "watch", "--inter").lines()).as("not the hidden --interval-ms")
                .containsExactly("--interval");
    }

    @Test
    void anUnknownShellIsRefused() {
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new Main());
        cli.setErr(new PrintWriter(err, true));
        assertThat(cli.execute("completion", "fish")).isEqualTo(2);
        assertThat(err.toString()).contains("'fish' must be one of bash, zsh");
    }
}
