package io.invmux.server.it;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.invmux.server.cli.ApiClient;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Plaintext channels to sidecars' control APIs and the bearer token they may ask for; an instance keeps the
 * channels it made and shuts them all down together when the test is done.
 */
final class ApiChannels implements AutoCloseable {
    private final List<ManagedChannel> open = new CopyOnWriteArrayList<>();

    static CallCredentials token(String token) {
        return ApiClient.bearer(token);
    }

    /** A channel whose every call carries {@code token} (none when null). */
    static ManagedChannel open(SidecarProcess sidecar, String token) {
        NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", sidecar.apiPort).usePlaintext();
        if (token != null) {
            b.intercept(new ClientInterceptor() {
                @Override
                public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method, CallOptions options,
                        Channel next) {
                    return next.newCall(method, options.withCallCredentials(token(token)));
                }
            });
        }
        return b.build();
    }

    /** A channel to {@code p}'s API without a token, shut down by {@link #close()}. */
    ManagedChannel to(SidecarProcess p) {
        ManagedChannel ch = open(p, null);
        open.add(ch);
        return ch;
    }

    @Override
    public void close() {
        open.forEach(ManagedChannel::shutdownNow);
    }
}
