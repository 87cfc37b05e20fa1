package io.invmux.internal.frame;

/**
 * A heartbeat on one link; the answer carries the same opaque value back with {@link #FLAG_ACK}. Both carry how
 * many DATA payload bytes their sender has received on this link so far: the peer learns, per link and
 * independently of stream order, that its chunks are getting through.
 */
public final class PingFrame extends Frame {
    public final long opaque;
    /** DATA payload bytes the sender of this frame has received on this link (cumulative). */
    public final long receivedBytes;

    public PingFrame(boolean ack, long opaque, long receivedBytes) {
        super(0, ack ? FLAG_ACK : 0);
        this.opaque = opaque;
        this.receivedBytes = receivedBytes;
    }

    public boolean isAck() {
        return hasFlag(FLAG_ACK);
    }

    @Override
    public byte type() {
        return FrameType.PING;
    }

    @Override
    public String toString() {
        return (isAck() ? "PONG(" : "PING(") + opaque + ", received " + receivedBytes + ")";
    }
}
