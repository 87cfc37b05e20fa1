package io.invmux.server.it;

import io.grpc.CallCredentials;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ManagedChannel;
import io.grpc.MethodDescriptor;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.invmux.server.cli.ApiClient;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * Plaintext channels to sidecars' control APIs and the bearer token they may ask for; an instance keeps the
 * channels it made and shuts them all down together when the test is done.
 */
final class ApiChannels implements AutoCloseable {
    private final List<ManagedChannel> open = new CopyOnWriteArrayList<>();
    /** Made on the first Unix socket channel; guarded by this. */
    private EpollEventLoopGroup unixGroup;

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

    /** A channel (a connection of its own) to an API on the Unix socket {@code socket}, without a token. */
    synchronized ManagedChannel toUnix(Path socket) {
        if (unixGroup == null) {
            unixGroup = new EpollEventLoopGroup(1);
        }
        ManagedChannel ch = NettyChannelBuilder.forAddress(new DomainSocketAddress(socket.toString()))
                .eventLoopGroup(unixGroup).channelType(EpollDomainSocketChannel.class).usePlaintext().build();
        open.add(ch);
        return ch;
    }

    @Override
    public synchronized void close() {
        open.forEach(ManagedChannel::shutdownNow);
        if (unixGroup != null) {
            unixGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS);
        }
    }
}
