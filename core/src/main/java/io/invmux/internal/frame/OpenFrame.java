package io.invmux.internal.frame;

/** Opens a stream and carries its small, opaque metadata (for example the name of the remote service). */
public final class OpenFrame extends Frame {
    public final byte[] metadata;

    public OpenFrame(int streamId, byte[] metadata) {
        super(streamId, 0);
        this.metadata = metadata;
    }

    @Override
    public byte type() {
        return FrameType.OPEN;
    }

    @Override
    public String toString() {
        return "OPEN(stream=" + streamId + ", metadata=" + metadata.length + "B)";
    }
}
