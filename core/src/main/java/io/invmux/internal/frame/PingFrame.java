package io.invmux.internal.frame;

/** A heartbeat on one link; the answer carries the same opaque value back with {@link #FLAG_ACK}. */
public final class PingFrame extends Frame {
    public final long opaque;

    public PingFrame(boolean ack, long opaque) {
        super(0, ack ? FLAG_ACK : 0);
        this.opaque = opaque;
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
        return (isAck() ? "PONG(" : "PING(") + opaque + ")";
    }
}
