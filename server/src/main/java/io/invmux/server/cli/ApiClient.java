package io.invmux.server.cli;

import io.grpc.CallCredentials;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.invmux.server.config.TokenFile;
import java.nio.file.Path;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** Where the operator commands find the sidecar's API: flags, else environment, else the default. */
public final class ApiClient {
    static final String DEFAULT_ENDPOINT = "127.0.0.1:7701";

    @Option(names = "--api", description = "Sidecar API address, host:port or unix:///path "
            + "(default: $INVMUX_GRPC_ENDPOINT or " + DEFAULT_ENDPOINT + ")")
    String api;

    @Option(names = "--token", description = "API token (default: $INVMUX_API_TOKEN); visible to other processes "
            + "in /proc: prefer --token-file")
    String token;

    @Option(names = "--token-file", description = "File holding the API token, readable by its owner (and group) "
            + "only (default: $INVMUX_API_TOKEN_FILE)")
    Path tokenFile;

    @Spec(Spec.Target.MIXEE)
    CommandSpec command;

    String endpoint() {
        if (api != null) {
            return api;
        }
        String env = System.getenv("INVMUX_GRPC_ENDPOINT");
        return env != null && !env.isBlank() ? env.trim() : DEFAULT_ENDPOINT;
    }

    /** The token from {@code --token}, {@code --token-file}, or their environment variables; null: none. */
    String token() {
        if (token != null && tokenFile != null) {
            throw new ParameterException(command.commandLine(), "give either --token or --token-file, not both");
        }
        if (token != null) {
            return token;
        }
        if (tokenFile != null) {
            return readTokenFile(tokenFile, "--token-file");
        }
        String file = System.getenv("INVMUX_API_TOKEN_FILE");
        if (file != null && !file.isBlank()) {
            return readTokenFile(Path.of(file.trim()), "INVMUX_API_TOKEN_FILE");
        }
        String env = System.getenv("INVMUX_API_TOKEN");
        return env == null || env.isBlank() ? null : env.trim();
    }

    private String readTokenFile(Path file, String what) {
        try {
            return TokenFile.read(file);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(command.commandLine(), what + " " + file + ": " + e.getMessage());
        }
    }

    ManagedChannel channel() {
        String endpoint = endpoint();
        if (!endpoint.startsWith("unix://")) {
            return NettyChannelBuilder.forTarget(endpoint).usePlaintext().build();
        }
        // gRPC asks every client channel for SO_KEEPALIVE, which a Unix socket does not have; Netty's warning about
        // it would be printed into the operator's output on every command.
        Logs.setLevel("io.grpc.netty.shaded.io.netty.bootstrap.Bootstrap", "error");
        return NettyChannelBuilder.forAddress(new io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress(
                        endpoint.substring("unix://".length())))
                .eventLoopGroup(new io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup(1))
                .channelType(io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel.class)
                .usePlaintext().build();
    }

    CallCredentials credentials() {
        String t = token();
        return t == null ? null : bearer(t);
    }

    /** Sends {@code token} as the sidecar's API expects it: {@code authorization: Bearer <token>}. */
    public static CallCredentials bearer(String token) {
        return new CallCredentials() {
            @Override
            public void applyRequestMetadata(RequestInfo info, Executor executor, MetadataApplier applier) {
                Metadata m = new Metadata();
                m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + token);
                applier.apply(m);
            }
        };
    }

    static void shutdown(ManagedChannel ch) {
        ch.shutdownNow();
        try {
            ch.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
