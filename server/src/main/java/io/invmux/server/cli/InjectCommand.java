package io.invmux.server.cli;

import io.invmux.server.config.ConfigException;
import io.invmux.server.inject.InjectionException;
import io.invmux.server.inject.ManifestInjector;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * {@code invmux inject}: Kubernetes manifests in (a file or stdin), the same manifests with the InvMux native sidecar
 * out, as {@code linkerd inject} does: {@code invmux inject --image ... deploy.yaml | kubectl apply -f -}.
 */
@Command(name = "inject", mixinStandardHelpOptions = true,
        description = {"Add the InvMux native sidecar to every pod template of Kubernetes manifests (multi-document "
                + "YAML: Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs, CronJobs, Pods, Lists).",
                "Flags are defaults; a pod's invmux.io/ annotations win. Output on stdout, one line per pod on stderr;"
                        + " exit 2 (nothing written) when a pod cannot be injected."})
public final class InjectCommand implements Callable<Integer> {
    @Mixin
    InjectionOptions options;

    @Parameters(index = "0", arity = "0..1", defaultValue = "-", description = "Manifest file, or - for stdin (default).")
    String file;

    @Override
    public Integer call() {
        ManifestInjector.Result result;
        try (Reader in = file.equals("-") ? new InputStreamReader(System.in, StandardCharsets.UTF_8)
                : Files.newBufferedReader(Path.of(file), StandardCharsets.UTF_8)) {
            result = new ManifestInjector(options.injector()).inject(in);
        } catch (NoSuchFileException e) {
            System.err.println("invmux inject: " + file + ": no such file");
            return ConfigException.EXIT_CODE;
        } catch (IOException e) {
            System.err.println("invmux inject: " + (file.equals("-") ? "stdin" : file) + " is not valid YAML: "
                    + e.getMessage());
            return ConfigException.EXIT_CODE;
        } catch (InjectionException e) {
            System.err.println("invmux inject: nothing written:");
            e.problems().forEach(p -> System.err.println("  " + p));
            return ConfigException.EXIT_CODE;
        }
        System.out.print(result.yaml());
        System.out.flush();
        result.outcomes().forEach(o -> System.err.println(o));
        return 0;
    }
}
