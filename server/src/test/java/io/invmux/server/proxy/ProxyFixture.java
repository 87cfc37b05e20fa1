package io.invmux.server.proxy;

import io.invmux.Config;
import io.invmux.Pair;
import io.invmux.Stream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Both halves of the proxy over a real session pair on loopback TCP links: {@link TcpForwarder}s on the dialing
 * session, and on the accepting session a loop that hands each stream ({@code "svc:<name>"} metadata) to a
 * {@link TcpServiceConnector} for the address mapped to that name. What the sidecar will do, minus config.
 */
final class ProxyFixture implements AutoCloseable {
    static final String PEER = "server";

    final Pair pair;
    final TcpServiceConnector connector = new TcpServiceConnector();
    private final Map<String, InetSocketAddress> services = new ConcurrentHashMap<>();
    private final List<TcpForwarder> forwarders = new CopyOnWriteArrayList<>();
    private final Thread acceptor;

    private ProxyFixture(Pair pair) {
        this.pair = pair;
        this.acceptor = new Thread(this::acceptLoop, "fixture-accept-streams");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    static ProxyFixture start(Config config, int links) throws Exception {
        return new ProxyFixture(Pair.tcp(config, links));
    }

    /** Streams for {@code service} go to {@code target}. */
    void map(String service, InetSocketAddress target) {
        services.put(service, target);
    }

    /** A forwarder on 127.0.0.1:0 whose connections reach {@code service} over the session. */
    TcpForwarder forward(String service) throws IOException {
        return forward(service, (peer, svc) -> pair.client.openStream(("svc:" + svc).getBytes(StandardCharsets.UTF_8)));
    }

    TcpForwarder forward(String service, StreamOpener opener) throws IOException {
        TcpForwarder f = TcpForwarder.start("127.0.0.1", 0, PEER, service, opener);
        forwarders.add(f);
        return f;
    }

    private void acceptLoop() {
        while (true) {
            Stream s;
            try {
                s = pair.server.acceptStream();
            } catch (IOException | InterruptedException e) {
                return; // the session closed
            }
            String meta = new String(s.metadata(), StandardCharsets.UTF_8);
            InetSocketAddress target = meta.startsWith("svc:") ? services.get(meta.substring(4)) : null;
            if (target == null) {
                s.reset();
            } else {
                connector.connect(s, target);
            }
        }
    }

    @Override
    public void close() {
        for (TcpForwarder f : forwarders) {
            f.closeAll();
        }
        connector.closeAll();
        pair.close(); // ends the accept loop: acceptStream throws once the session is closed
        try {
            acceptor.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
