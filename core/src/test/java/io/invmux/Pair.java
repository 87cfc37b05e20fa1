package io.invmux;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** A listener and a dialed session joined by real loopback TCP links, plus the accepted session. Test helper. */
public final class Pair implements AutoCloseable {
    public final SessionListener listener;
    public final Session client;
    public final Session server;
    public final List<URI> linkUris;

    private Pair(SessionListener listener, Session client, Session server, List<URI> linkUris) {
        this.listener = listener;
        this.client = client;
        this.server = server;
        this.linkUris = linkUris;
    }

    /** {@code links} TCP links to one listener on 127.0.0.1. */
    public static Pair tcp(Config config, int links) throws Exception {
        SessionListener listener = InvMux.listen(config, URI.create("tcp://127.0.0.1:0"));
        int port = ((InetSocketAddress) listener.localAddresses().get(0)).getPort();
        List<URI> uris = new ArrayList<>();
        for (int i = 0; i < links; i++) {
            uris.add(URI.create("tcp://127.0.0.1:" + port));
        }
        return connect(config, listener, uris);
    }

    /** Dials {@code uris} (which must reach {@code listener}) and accepts the session. */
    public static Pair connect(Config config, SessionListener listener, List<URI> uris) throws Exception {
        Session client = InvMux.connect(config, uris.toArray(new URI[0]));
        Session server = listener.accept(Duration.ofSeconds(10));
        assertThat(client.numConnections()).isEqualTo(uris.size());
        return new Pair(listener, client, server, uris);
    }

    @Override
    public void close() {
        client.close();
        listener.close();
    }
}
