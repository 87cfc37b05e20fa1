package io.invmux.internal.frame;

/**
 * Cumulative acknowledgement plus window, both absolute so a copy re-sent on another link is harmless: the
 * receiver holds every byte below {@code ackOffset} and lets the sender go up to {@code maxOffset}. On stream 0
 * only {@code maxOffset} means something: the session-wide limit on the sum of all streams' highest offsets.
 */
public final class AckFrame extends Frame {
    public final long ackOffset;
    public final long maxOffset;

    public AckFrame(int streamId, int flags, long ackOffset, long maxOffset) {
        super(streamId, flags);
        this.ackOffset = ackOffset;
        this.maxOffset = maxOffset;
    }

    @Override
    public byte type() {
        return FrameType.ACK;
    }

    @Override
    public String toString() {
        return "ACK(stream=" + streamId + ", ack=" + ackOffset + ", max=" + maxOffset
                + (hasFlag(FLAG_ACK_FIN) ? ", FIN" : "") + (hasFlag(FLAG_ACK_CLOSED) ? ", CLOSED" : "") + ")";
    }
}
