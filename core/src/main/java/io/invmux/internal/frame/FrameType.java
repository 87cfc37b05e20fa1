package io.invmux.internal.frame;

/** The frame types of docs/PROTOCOL.md. The byte values are the wire's; never renumber them. */
public final class FrameType {
    public static final byte DATA = 0x0;
    public static final byte OPEN = 0x1;
    public static final byte ACK = 0x2;
    public static final byte RST = 0x3;
    public static final byte PING = 0x4;
    public static final byte GOAWAY = 0x5;
    public static final byte HELLO = 0x6;

    private FrameType() {
    }

    public static String name(int type) {
        switch (type) {
            case DATA: return "DATA";
            case OPEN: return "OPEN";
            case ACK: return "ACK";
            case RST: return "RST";
            case PING: return "PING";
            case GOAWAY: return "GOAWAY";
            case HELLO: return "HELLO";
            default: return "UNKNOWN(0x" + Integer.toHexString(type) + ")";
        }
    }
}
