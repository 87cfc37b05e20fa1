package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code invmux inject} as users run it: the packaged jar, a manifest file, the exit code and both outputs. */
class InjectCommandIT {
    @TempDir
    Path dir;

    @Test
    void injectsEveryPodTemplateAndListsThemOnStderr() throws Exception {
        SidecarProcess.Result r = SidecarProcess.run(List.of("inject", "--image", "registry.example.com/invmux:0.2.0",
                "--memory", "1Gi", Path.of("../k8s/inject/workloads.yaml").toAbsolutePath().toString()));
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("Deployment/orders injected", "StatefulSet/ledger injected",
                "Job/migrate injected", "CronJob/nightly-report injected", "DaemonSet/node-agent injected",
                "Pod/debug injected", "Deployment/static-site skipped (invmux.io/inject: \"false\")");
        assertThat(r.output()).contains("restartPolicy: Always", "image: registry.example.com/invmux:0.2.0",
                "memory: 1Gi");
    }

    @Test
    void aPodThatCannotBeInjectedExitsTwoWritingNothing() throws Exception {
        Path manifest = dir.resolve("pods.yaml");
        Files.writeString(manifest, """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: ok
                spec:
                  containers: [{name: web, image: nginx}]
                ---
                apiVersion: v1
                kind: Pod
                metadata:
                  name: legacy
                  annotations: {invmux.io/listeners: "tcp//0.0.0.0:7700"}
                spec:
                  containers: [{name: invmux, image: someone/else}]
                """);
        SidecarProcess.Result r = SidecarProcess.run(List.of("inject", "--image", "invmux", manifest.toString()));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.output()).contains("invmux inject: nothing written:",
                "Pod/legacy: annotation invmux.io/listeners: listeners[0] = tcp//0.0.0.0:7700: must be a link URI");
        assertThat(r.output()).doesNotContain("kind: Pod");
    }

    @Test
    void aFileThatIsNotYamlIsNamed() throws Exception {
        Path manifest = dir.resolve("broken.yaml");
        Files.writeString(manifest, "kind: Pod\n  metadata: [\n");
        SidecarProcess.Result r = SidecarProcess.run(List.of("inject", "--image", "invmux", manifest.toString()));
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.output()).contains("invmux inject: " + manifest + " is not valid YAML");
    }
}
