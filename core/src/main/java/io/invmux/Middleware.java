package io.invmux;

import io.netty.buffer.ByteBuf;

/**
 * Transforms each chunk: outbound in chain order before it is framed, inbound in reverse order after it is
 * received. Each chunk must be transformed on its own (chunks travel on different links and arrive in any order).
 * Both ends must configure the same chain; the link handshake compares the names.
 *
 * <p>Ownership: a process method takes ownership of {@code chunk} and returns a buffer the caller owns (it may be
 * the same one). Called on the session's event loop.
 */
public interface Middleware {
    /** Name exchanged in the handshake. */
    String name();

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
