package io.invmux.server.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code invmux health}: asks a sidecar's grpc.health.v1 service (as a Kubernetes gRPC probe does); exit 0 when
 * SERVING, 1 when not, 3 when it cannot be asked.
 */
@Command(name = "health", description = "Check a sidecar's gRPC health (exit 0 when serving).", mixinStandardHelpOptions = true)
public final class HealthCommand implements Callable<Integer> {
    @Mixin
    ApiClient api;

    @Option(names = "--service", defaultValue = "", description = "Health service name: '' (overall), liveness, readiness.")
    String service;

    @Mixin
    OutputOptions output;

    @Spec
    CommandSpec spec;

    @Option(names = "--timeout", defaultValue = "3s", converter = DurationConverter.class, paramLabel = "DURATION",
            description = "Deadline of the check, e.g. 500ms, 3s (default ${DEFAULT-VALUE}).")
    Duration timeout;

    /** Deprecated spelling of {@code --timeout} in milliseconds, kept so that scripts and probes keep working. */
    @Option(names = "--timeout-ms", hidden = true, paramLabel = "MILLISECONDS")
    Long timeoutMs;

    /** {@code --timeout}, or the deprecated {@code --timeout-ms} when given. */
    Duration timeout() {
        return DurationConverter.orMillis(spec, timeout, timeoutMs, "--timeout-ms");
    }

    @Override
    public Integer call() {
        Duration timeout = timeout();
        DurationConverter.warnIfDeprecated(spec, timeoutMs, "--timeout-ms", "--timeout", timeout);
        if (timeout.isZero()) {
            throw new ParameterException(spec.commandLine(), "--timeout 0: must be more than 0, e.g. 3s");
        }
        ManagedChannel ch = api.channel();
        try {
            HealthCheckResponse r = HealthGrpc.newBlockingStub(ch)
                    .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build());
            if (output.isTable()) {
                System.out.println((service.isEmpty() ? "overall" : service) + ": " + r.getStatus());
            } else {
                // {"service": "...", "status": "SERVING"}: the request's service beside the response's status.
                System.out.print(output.render(OutputOptions.tree(HealthCheckRequest.newBuilder().setService(service))
                        .setAll(OutputOptions.tree(r))));
            }
            return r.getStatus() == HealthCheckResponse.ServingStatus.SERVING ? 0 : 1;
        } catch (StatusRuntimeException e) {
            return OperatorCommands.report(System.err, e);
        } finally {
            ApiClient.shutdown(ch);
        }
    }
}
