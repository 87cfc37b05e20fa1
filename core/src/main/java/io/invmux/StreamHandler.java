package io.invmux;

import io.netty.buffer.ByteBuf;

/**
 * Receives a stream's bytes in push mode ({@link Stream#setHandler}). Called on the session's event loop, one
 * call at a time; must not block.
 */
public interface StreamHandler {
    /** The next bytes in order. The handler owns {@code data} and must release it. */
    void onData(Stream stream, ByteBuf data);

    /** The peer half-closed and every byte has been delivered. */
    void onEnd(Stream stream);

    /** The stream failed (reset or session lost); no more calls follow. */
    void onError(Stream stream, Throwable cause);
}
