package io.invmux.server.cli;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse;
import io.grpc.health.v1.HealthGrpc;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

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

    @Option(names = "--timeout-ms", defaultValue = "3000", description = "Deadline of the check (default ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Override
    public Integer call() {
        ManagedChannel ch = api.channel();
        try {
            HealthCheckResponse r = HealthGrpc.newBlockingStub(ch).withDeadlineAfter(timeoutMs, TimeUnit.MILLISECONDS)
                    .check(HealthCheckRequest.newBuilder().setService(service).build());
            System.out.println((service.isEmpty() ? "overall" : service) + ": " + r.getStatus());
            return r.getStatus() == HealthCheckResponse.ServingStatus.SERVING ? 0 : 1;
        } catch (StatusRuntimeException e) {
            return OperatorCommands.report(System.err, e);
        } finally {
            ApiClient.shutdown(ch);
        }
    }
}
