package io.invmux;

import io.netty.buffer.ByteBuf;

/**
 * Transforms each chunk: outbound in chain order before it is framed, inbound in reverse order after it is
 * received. Each chunk must be transformed on its own (chunks travel on different links and arrive in any order).
 * Both ends must configure the same chain; the link handshake compares the names.
 *
 * <p>Ownership: a process method takes ownership of {@code chunk} and returns a buffer the caller owns (it may be
 * the same one); it owns the chunk even when it throws, and releases it then. Called on the session's event loop.
 *
 * <p>A chunk the peer sent that inbound processing cannot accept (malformed, or growing past the limit) is refused
 * by throwing {@link MiddlewareException}: the link that carried it is closed with {@code GOAWAY(PROTOCOL_ERROR)}
 * naming the reason, and the sender re-sends the chunk, with every other unacknowledged chunk of that link, on its
 * other links. The session and its streams carry on.
 */
public interface Middleware {
    /** Name exchanged in the handshake. */
    String name();

    /**
     * The instance one session uses; called once per session with the session's configuration. A middleware with
     * per-stream state returns a fresh instance (stream ids of different sessions collide); a stateless one returns
     * itself, the default.
     */
    default Middleware forSession(Config config) {
        return this;
    }

    /**
     * How many bytes outbound processing may add to a chunk (at most 1 KiB in all). Chunks are cut at the chunk
     * size; a receiver accepts DATA up to its chunk size plus its chain's overhead. Default 0.
     */
    default int maxOverhead() {
        return 0;
    }

    ByteBuf processOutbound(int streamId, ByteBuf chunk);

    ByteBuf processInbound(int streamId, ByteBuf chunk);

    default void onStreamOpen(int streamId) {
    }

    default void onStreamClose(int streamId) {
    }

    /** A middleware that leaves chunks as they are. */
    static Middleware passthrough() {
        return Passthrough.INSTANCE;
    }

    /** The passthrough middleware. */
    final class Passthrough implements Middleware {
        static final Passthrough INSTANCE = new Passthrough();

        private Passthrough() {
        }

        @Override
        public String name() {
            return "passthrough";
        }

        @Override
        public ByteBuf processOutbound(int streamId, ByteBuf chunk) {
            return chunk;
        }

        @Override
        public ByteBuf processInbound(int streamId, ByteBuf chunk) {
            return chunk;
        }
    }
}
