package io.invmux.internal.transport;

import io.invmux.ConnectionFactory;
import io.invmux.TransportContext;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.local.LocalAddress;
import io.netty.channel.local.LocalChannel;
import io.netty.channel.local.LocalServerChannel;
import java.net.URI;
import java.util.concurrent.CompletableFuture;

/**
 * In-memory links inside one JVM: {@code mem://name}. A listener binds the name, dialers connect to it. Useful in
 * tests and for embedding two ends in one process; it runs on its own event loops, so frames hop to the session's
 * loop (exercising the same path as accepted TCP links).
 */
public final class MemConnectionFactory implements ConnectionFactory {
    @Override
    public String name() {
        return "mem";
    }

    @Override
    public boolean canHandle(URI uri) {
        return "mem".equalsIgnoreCase(uri.getScheme());
    }

    @Override
    public CompletableFuture<Channel> dial(URI uri, TransportContext context) {
        Bootstrap b = new Bootstrap()
                .group(EventLoops.localGroup())
                .channel(LocalChannel.class)
                .handler(context.channelInitializer());
        return Futures.toChannel(b.connect(address(uri)), "cannot connect link " + uri);
    }

    @Override
    public CompletableFuture<Channel> listen(URI uri, TransportContext context) {
        ServerBootstrap b = new ServerBootstrap()
                .group(EventLoops.localGroup())
                .channel(LocalServerChannel.class)
                .childHandler(context.channelInitializer());
        return Futures.toChannel(b.bind(address(uri)), "cannot listen on " + uri);
    }

    private static LocalAddress address(URI uri) {
        String name = uri.getAuthority();
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("mem URI needs a name: mem://name, got '" + uri + "'");
        }
        return new LocalAddress(name);
    }
}
