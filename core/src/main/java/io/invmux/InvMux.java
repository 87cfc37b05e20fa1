package io.invmux;

import io.invmux.internal.session.Dialer;
import io.invmux.internal.session.MuxSessionListener;
import java.io.IOException;
import java.net.URI;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** Entry points: dial a session over several links, or listen for sessions. */
public final class InvMux {
    private InvMux() {
    }

    /**
     * Dials a new session: the first URI's link creates it, the others join it. Completes once every link is up,
     * or exceptionally if the first cannot be established; later links that fail are left out (and logged).
     */
    public static CompletableFuture<Session> dial(Config config, List<URI> links) {
        return Dialer.dial(config, links);
    }

    /** Blocking form of {@link #dial}. */
    public static Session connect(Config config, URI... links) throws IOException {
        return Dialer.await(dial(config, List.of(links)));
    }

    /** Starts a listener on {@code uris} (e.g. {@code tcp://0.0.0.0:7700}); port 0 picks a free port. */
    public static SessionListener listen(Config config, URI... uris) throws IOException {
        MuxSessionListener listener = new MuxSessionListener(config);
        try {
            for (URI uri : uris) {
                Dialer.await(listener.listen(uri));
            }
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw e;
        }
        return listener;
    }
}
