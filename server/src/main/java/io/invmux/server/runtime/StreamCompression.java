package io.invmux.server.runtime;

import io.invmux.Middleware;
import io.invmux.Stream;
import io.invmux.compress.CompressionMiddleware;
import io.invmux.compress.CompressionStats;
import io.invmux.Session;
import java.util.Optional;

/**
 * Where the sidecar applies a per-stream compression choice (a {@code services}/{@code forwards} entry's
 * {@code middleware}, or an {@code OpenStream} target's {@code compress}): the session's compression middleware
 * then sends that stream's chunks compressed or raw (each chunk says which on the wire), whatever other streams of
 * the session do.
 */
public final class StreamCompression {
    private StreamCompression() {
    }

    /** Applies {@code compress} (empty: the session's default, compressed) to {@code stream}'s outbound chunks. */
    public static void apply(Stream stream, Optional<Boolean> compress) {
        if (compress.isEmpty()) {
            return;
        }
        for (Middleware m : stream.session().middleware()) {
            if (m instanceof CompressionMiddleware c) {
                c.setStreamCompression(stream.id(), compress.get());
            }
        }
    }

    /** The session's compression counters, if its chain compresses. */
    public static Optional<CompressionStats> stats(Session session) {
        for (Middleware m : session.middleware()) {
            if (m instanceof CompressionMiddleware c) {
                return Optional.of(c.stats());
            }
        }
        return Optional.empty();
    }
}
