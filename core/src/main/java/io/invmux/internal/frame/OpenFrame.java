package io.invmux.internal.frame;

/**
 * Opens a stream and carries its small, opaque metadata (for example the name of the remote service). The low two
 * flag bits ({@link Frame#OPEN_CLASS_MASK}) carry the stream's traffic class; a peer that knows no classes reads
 * them as zero's bulk.
 */
public final class OpenFrame extends Frame {
    public final byte[] metadata;

    public OpenFrame(int streamId, byte[] metadata) {
        this(streamId, 0, metadata);
    }

    public OpenFrame(int streamId, int flags, byte[] metadata) {
        super(streamId, flags);
        this.metadata = metadata;
    }

    /** The traffic class number the opener set (0 to 3; not every number names a class). */
    public int trafficClassValue() {
        return flags & OPEN_CLASS_MASK;
    }

    @Override
    public byte type() {
        return FrameType.OPEN;
    }

    @Override
    public String toString() {
        return "OPEN(stream=" + streamId + ", class=" + trafficClassValue() + ", metadata=" + metadata.length + "B)";
    }
}
