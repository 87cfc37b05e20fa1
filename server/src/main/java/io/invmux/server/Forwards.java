package io.invmux.server;

import io.invmux.server.config.TcpAddress;
import io.invmux.server.proxy.TcpForwarder;
import io.invmux.server.proxy.TcpServiceConnector;
import io.invmux.server.runtime.SidecarRuntime;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/** The TCP forwarding proxy of a sidecar: forwards (local listener → peer service) and exposed services. */
public final class Forwards implements AutoCloseable {
    private final SidecarRuntime runtime;
    private final TcpServiceConnector connector;
    private final Map<String, TcpForwarder> forwards = new ConcurrentHashMap<>(); // listen as given -> forwarder

    public Forwards(SidecarRuntime runtime, TcpServiceConnector connector) {
        this.runtime = runtime;
        this.connector = connector;
    }

    public TcpForwarder addForward(String key, TcpAddress listen, String peer, String service) throws IOException {
        return addForward(key, listen, peer, service, java.util.Optional.empty(), io.invmux.TrafficClass.BULK);
    }

    /**
     * With the compression of the forwarded streams (empty: the session's default) and their traffic class.
     */
    public TcpForwarder addForward(String key, TcpAddress listen, String peer, String service,
            java.util.Optional<Boolean> compress, io.invmux.TrafficClass trafficClass) throws IOException {
        if (forwards.containsKey(key)) {
            throw new IllegalArgumentException("listen = '" + key + "': a forward already listens there");
        }
        TcpForwarder f = TcpForwarder.start(listen.host(), listen.port(), peer, service,
                (p, s) -> runtime.openStream(p, s, Map.of(), compress, trafficClass));
        forwards.put(key, f);
        return f;
    }

    public boolean removeForward(String listen) {
        TcpForwarder f = forwards.remove(listen);
        if (f == null) {
            for (Map.Entry<String, TcpForwarder> e : forwards.entrySet()) {
                InetSocketAddress b = e.getValue().boundAddress();
                if ((b.getAddress().getHostAddress() + ":" + b.getPort()).equals(listen)) {
                    f = forwards.remove(e.getKey());
                    break;
                }
            }
        }
        if (f == null) {
            return false;
        }
        f.close();
        return true;
    }

    public Map<String, TcpForwarder> forwards() {
        return new LinkedHashMap<>(forwards);
    }

    public void addService(String name, TcpAddress target) {
        addService(name, target, java.util.Optional.empty());
    }

    /** With the compression of the service's replies (empty: the session's default). */
    public void addService(String name, TcpAddress target, java.util.Optional<Boolean> compress) {
        runtime.router().addLocalService(name, new InetSocketAddress(target.host(), target.port()), compress);
    }

    /**
     * Exposes a service unless its name is taken by another target and {@code replace} is false.
     *
     * @return empty when added (or already there with this target); else the target the service keeps
     */
    public Optional<InetSocketAddress> addService(String name, InetSocketAddress target, boolean replace) {
        return runtime.router().addLocalService(name, target, replace);
    }

    public boolean removeService(String name) {
        return runtime.router().removeLocalService(name);
    }

    public Map<String, InetSocketAddress> services() {
        return runtime.router().localServices();
    }

    /** Connections carried so far, both halves. */
    public long connections() {
        long n = connector.stats().connectionsAccepted();
        for (TcpForwarder f : forwards.values()) {
            n += f.stats().connectionsAccepted();
        }
        return n;
    }

    /** Stops accepting new forwarded connections (open ones go on). */
    public void stopListening() {
        for (TcpForwarder f : forwards.values()) {
            f.close();
        }
    }

    @Override
    public void close() {
        for (TcpForwarder f : forwards.values()) {
            f.closeAll();
        }
        forwards.clear();
        connector.closeAll();
    }
}
