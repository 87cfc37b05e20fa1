package io.invmux;

import io.invmux.internal.tls.TlsConnectionFactory;
import io.invmux.internal.transport.MemConnectionFactory;
import io.invmux.internal.transport.TcpConnectionFactory;
import io.netty.channel.Channel;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Finds the {@link ConnectionFactory} for a link URI. {@link #defaults()} knows {@code tcp://host:port},
 * {@code tls://host:port} and the in-memory {@code mem://name}; register more with {@link #register}. Later registrations win.
 */
public final class ConnectionRegistry {
    private final List<ConnectionFactory> factories = new CopyOnWriteArrayList<>();

    /** A registry with no factories. */
    public ConnectionRegistry() {
    }

    /** A new registry holding the TCP and in-memory factories. */
    public static ConnectionRegistry defaults() {
        ConnectionRegistry registry = new ConnectionRegistry();
        registry.register(new TcpConnectionFactory());
        registry.register(new TlsConnectionFactory());
        registry.register(new MemConnectionFactory());
        return registry;
    }

    public ConnectionRegistry register(ConnectionFactory factory) {
        factories.add(0, factory);
        return this;
    }

    /** The factory for {@code uri}. */
    public ConnectionFactory factoryFor(URI uri) {
        for (ConnectionFactory f : factories) {
            if (f.canHandle(uri)) {
                return f;
            }
        }
        throw new IllegalArgumentException("no transport for link URI '" + uri + "'; known schemes: "
                + factories.stream().map(ConnectionFactory::name).toList());
    }

    public CompletableFuture<Channel> dial(URI uri, TransportContext context) {
        return factoryFor(uri).dial(uri, context);
    }

    public CompletableFuture<Channel> listen(URI uri, TransportContext context) {
        return factoryFor(uri).listen(uri, context);
    }
}
