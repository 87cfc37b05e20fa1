package io.invmux.internal.session;

import io.netty.buffer.ByteBuf;

/**
 * A chunk sent and not yet acknowledged. The sender keeps its wire payload so the chunk can be sent again, byte
 * for byte, if the link it went out on is lost. Event loop only.
 */
final class SentChunk {
    final long offset;
    final int length;
    final boolean fin;
    /** The payload as framed (after outbound middleware); released when acknowledged. */
    final ByteBuf payload;
    /** The link it last went out on. */
    Link link;
    /** The link a redundant stream's second copy went out on, until acknowledged or that link is lost. */
    Link copyLink;
    /** Set when its link was lost and it waits to be sent again. */
    boolean needsResend;
    /** The first link loss that sent it again elsewhere; told when it is acknowledged or dropped. */
    Failover failover;

    SentChunk(long offset, int length, boolean fin, ByteBuf payload, Link link) {
        this.offset = offset;
        this.length = length;
        this.fin = fin;
        this.payload = payload;
        this.link = link;
    }

    long end() {
        return offset + length;
    }
}
