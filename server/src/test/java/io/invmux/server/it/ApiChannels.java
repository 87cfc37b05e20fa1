package io.invmux.server.it;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/** Channels to sidecars' APIs, all shut down together when the test is done. */
final class ApiChannels implements AutoCloseable {
    private final List<ManagedChannel> open = new CopyOnWriteArrayList<>();

    ManagedChannel to(SidecarProcess p) {
        ManagedChannel ch = NettyChannelBuilder.forAddress("127.0.0.1", p.apiPort).usePlaintext().build();
        open.add(ch);
        return ch;
    }

    @Override
    public void close() {
        open.forEach(ManagedChannel::shutdownNow);
    }
}
