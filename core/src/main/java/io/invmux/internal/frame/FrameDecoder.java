package io.invmux.internal.frame;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.invmux.ErrorCode;
import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the link preface, then frames. Every length is checked against a cap before anything is allocated; any
 * violation raises a {@link FrameException} (a link error) once, after which the rest of the input is discarded.
 * DATA payloads are retained slices of the input, not copies. One decoder per channel (not sharable).
 */
public final class FrameDecoder extends ByteToMessageDecoder {
    private enum State { PREFACE, FRAMES, FAILED }

    private final int maxDataPayload;
    private final int maxHelloPayload;
    private State state = State.PREFACE;
    /** A link error found after frames that are still to be handed on (see decode). */
    private FrameException pendingError;

    /**
     * @param maxChunkSize the largest DATA chunk this end accepts; a DATA frame may carry up to this many bytes
     *     after its offset field
     */
    public FrameDecoder(int maxChunkSize) {
        this(maxChunkSize, Wire.MAX_HELLO_PAYLOAD);
    }

    /**
     * @param maxChunkSize the largest DATA chunk this end accepts
     * @param maxHelloPayload the longest HELLO payload this end accepts (see {@link HelloFrame#maxPayload})
     */
    public FrameDecoder(int maxChunkSize, int maxHelloPayload) {
        this.maxDataPayload = maxChunkSize + Wire.DATA_PREFIX_LENGTH;
        this.maxHelloPayload = maxHelloPayload;
        // Chunks straddle socket reads nearly always; a composite cumulation keeps the read buffers and lets DATA
        // payloads be slices of them, instead of copying every byte once more into one merged buffer.
        setCumulator(COMPOSITE_CUMULATOR);
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (state == State.FAILED || !ctx.channel().isActive()) {
            // Failed, or closed (refused, say) while bytes of the same read were still here: nothing more counts.
            in.skipBytes(in.readableBytes());
            return;
        }
        if (pendingError != null) {
            FrameException e = pendingError;
            pendingError = null;
            state = State.FAILED;
            in.skipBytes(in.readableBytes());
            throw e;
        }
        int frameStart = in.readerIndex();
        try {
            if (state == State.PREFACE) {
                if (!readPreface(in)) {
                    return;
                }
                state = State.FRAMES;
            }
            while (in.readableBytes() >= Wire.HEADER_LENGTH) {
                frameStart = in.readerIndex();
                Frame frame = readFrame(in);
                if (frame == null) {
                    return;
                }
                out.add(frame);
            }
        } catch (FrameException e) {
            if (!out.isEmpty()) {
                // The frames before the bad one go first; the error follows on the next call, unless what they
                // caused (a GOAWAY that closes the link) makes it moot.
                pendingError = e;
                in.readerIndex(frameStart); // unread, so the decoder is called again while the link is open
                return;
            }
            state = State.FAILED;
            in.skipBytes(in.readableBytes());
            throw e;
        }
    }

    /** First byte of a TLS handshake record, as a TLS dialer at a plaintext port sends. */
    private static final byte TLS_HANDSHAKE_RECORD = 0x16;

    private static boolean readPreface(ByteBuf in) {
        // Check the magic as soon as its bytes arrive, so garbage is refused without waiting for more.
        int available = Math.min(in.readableBytes(), 4);
        for (int i = 0; i < available; i++) {
            if (in.getByte(in.readerIndex() + i) != (byte) (Wire.MAGIC >>> (24 - 8 * i))) {
                throw new FrameException(ErrorCode.HANDSHAKE_FAILED,
                        "bad link preface: expected magic 'IMUX' (0x494D5558), got 0x" + hexPrefix(in)
                        + (in.getByte(in.readerIndex()) == TLS_HANDSHAKE_RECORD
                        ? " (a TLS handshake: this address takes tcp:// links, not tls://)" : ""));
            }
        }
        if (in.readableBytes() < Wire.PREFACE_LENGTH) {
            return false;
        }
        int version = in.getUnsignedShort(in.readerIndex() + 4);
        if (version != Wire.VERSION) {
            throw new FrameException(ErrorCode.UNSUPPORTED_VERSION,
                    "unsupported protocol version " + version + ", this end speaks version " + Wire.VERSION);
        }
        in.skipBytes(Wire.PREFACE_LENGTH);
        return true;
    }

    private static String hexPrefix(ByteBuf in) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < Math.min(4, in.readableBytes()); i++) {
            sb.append(String.format("%02X", in.getByte(in.readerIndex() + i)));
        }
        return sb.toString();
    }

    /** Returns null (consuming nothing) when the whole frame has not arrived yet. */
    private Frame readFrame(ByteBuf in) {
        int start = in.readerIndex();
        int type = in.getUnsignedByte(start + Wire.TYPE_OFFSET);
        int flags = in.getUnsignedByte(start + Wire.FLAGS_OFFSET);
        int streamId = in.getInt(start + Wire.STREAM_ID_OFFSET);
        long length = in.getUnsignedInt(start + Wire.LENGTH_OFFSET);
        checkLength(type, length);
        if (in.readableBytes() < Wire.HEADER_LENGTH + length) {
            return null;
        }
        in.skipBytes(Wire.HEADER_LENGTH);
        int len = (int) length;
        int end = in.readerIndex() + len;
        try {
            return readPayload(in, type, flags, streamId, len);
        } finally {
            in.readerIndex(end);
        }
    }

    private void checkLength(int type, long length) {
        long max;
        long min;
        switch (type) {
            case FrameType.DATA:
                min = Wire.DATA_PREFIX_LENGTH;
                max = maxDataPayload;
                break;
            case FrameType.ACK:
                min = max = Wire.ACK_PAYLOAD_LENGTH;
                break;
            case FrameType.PING:
                min = max = Wire.PING_PAYLOAD_LENGTH;
                break;
            case FrameType.RST:
            case FrameType.GOAWAY:
                min = Wire.ERROR_PREFIX_LENGTH;
                max = Wire.ERROR_PREFIX_LENGTH + Wire.MAX_MESSAGE_LENGTH;
                break;
            case FrameType.OPEN:
                min = 0;
                max = Wire.MAX_METADATA_LENGTH;
                break;
            case FrameType.HELLO:
                min = HelloFrame.SESSION_ID_LENGTH + 16 + 1 + 2;
                max = maxHelloPayload;
                break;
            default:
                throw new FrameException(ErrorCode.PROTOCOL_ERROR, "unknown frame type 0x" + Integer.toHexString(type));
        }
        if (length > max) {
            throw new FrameException(ErrorCode.FRAME_SIZE_ERROR, FrameType.name(type) + " frame payload of " + length
                    + " bytes exceeds the limit of " + max + " bytes");
        }
        if (length < min) {
            throw new FrameException(ErrorCode.FRAME_SIZE_ERROR, FrameType.name(type) + " frame payload of " + length
                    + " bytes is shorter than the minimum of " + min + " bytes");
        }
    }

    private static Frame readPayload(ByteBuf in, int type, int flags, int streamId, int length) {
        if (streamId != 0 && (type == FrameType.PING || type == FrameType.GOAWAY || type == FrameType.HELLO)) {
            throw new FrameException(ErrorCode.PROTOCOL_ERROR, FrameType.name(type) + " frame on stream "
                    + Integer.toUnsignedString(streamId) + ", must be on stream 0");
        }
        switch (type) {
            case FrameType.DATA: {
                if (streamId == 0) {
                    throw new FrameException(ErrorCode.PROTOCOL_ERROR, "DATA frame on stream 0");
                }
                long offset = in.readLong();
                if (offset < 0) {
                    throw new FrameException(ErrorCode.PROTOCOL_ERROR, "DATA frame with negative offset " + offset);
                }
                if (offset > Long.MAX_VALUE - (length - Wire.DATA_PREFIX_LENGTH)) {
                    throw new FrameException(ErrorCode.PROTOCOL_ERROR, "DATA frame at offset " + offset
                            + " ends beyond the largest stream offset");
                }
                return new DataFrame(streamId, flags, offset, in.readRetainedSlice(length - Wire.DATA_PREFIX_LENGTH));
            }
            case FrameType.OPEN: {
                if (streamId == 0) {
                    throw new FrameException(ErrorCode.PROTOCOL_ERROR, "OPEN frame on stream 0");
                }
                byte[] metadata = new byte[length];
                in.readBytes(metadata);
                return new OpenFrame(streamId, flags & Frame.OPEN_CLASS_MASK, metadata);
            }
            case FrameType.ACK: {
                long ack = in.readLong();
                long max = in.readLong();
                if (ack < 0 || max < 0) {
                    throw new FrameException(ErrorCode.PROTOCOL_ERROR, "ACK frame with negative offset");
                }
                return new AckFrame(streamId, flags, ack, max);
            }
            case FrameType.RST: {
                if (streamId == 0) {
                    throw new FrameException(ErrorCode.PROTOCOL_ERROR, "RST frame on stream 0");
                }
                ErrorCode code = ErrorCode.fromCode(in.readUnsignedInt());
                return new ResetFrame(streamId, code, in.readCharSequence(length - 4, UTF_8).toString());
            }
            case FrameType.PING:
                return new PingFrame((flags & Frame.FLAG_ACK) != 0, in.readLong(), in.readLong());
            case FrameType.GOAWAY: {
                ErrorCode code = ErrorCode.fromCode(in.readUnsignedInt());
                return new GoAwayFrame((flags & Frame.FLAG_GOAWAY_LINK) != 0, code,
                        in.readCharSequence(length - 4, UTF_8).toString());
            }
            case FrameType.HELLO:
                return readHello(in, flags, length);
            default:
                throw new AssertionError("checked in checkLength");
        }
    }

    private static HelloFrame readHello(ByteBuf in, int flags, int length) {
        int end = in.readerIndex() + length;
        byte[] sessionId = new byte[HelloFrame.SESSION_ID_LENGTH];
        in.readBytes(sessionId);
        int linkId = in.readInt();
        int maxChunk = in.readInt();
        int streamWindow = in.readInt();
        int sessionWindow = in.readInt();
        int count = in.readUnsignedByte();
        List<String> names = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
            requireBytes(in, end, 1, "middleware name length");
            int len = in.readUnsignedByte();
            requireBytes(in, end, len, "middleware name");
            names.add(in.readCharSequence(len, UTF_8).toString());
        }
        requireBytes(in, end, 2, "auth length");
        int authLength = in.readUnsignedShort();
        if (authLength > Wire.MAX_AUTH_LENGTH) {
            throw new FrameException(ErrorCode.HANDSHAKE_FAILED, "HELLO auth of " + authLength
                    + " bytes exceeds the limit of " + Wire.MAX_AUTH_LENGTH);
        }
        requireBytes(in, end, authLength, "auth");
        byte[] auth = new byte[authLength];
        in.readBytes(auth);
        if (maxChunk < HelloFrame.MIN_CHUNK || streamWindow < HelloFrame.MIN_STREAM_WINDOW
                || sessionWindow < HelloFrame.MIN_SESSION_WINDOW) {
            // Tiny limits would make the other end cut its bytes into tiny chunks, each with its own bookkeeping.
            throw new FrameException(ErrorCode.HANDSHAKE_FAILED, "HELLO limits below the minimum: chunk=" + maxChunk
                    + " (at least " + HelloFrame.MIN_CHUNK + "), streamWindow=" + streamWindow + " (at least "
                    + HelloFrame.MIN_STREAM_WINDOW + "), sessionWindow=" + sessionWindow + " (at least "
                    + HelloFrame.MIN_SESSION_WINDOW + ")");
        }
        return new HelloFrame(flags, sessionId, linkId, maxChunk, streamWindow, sessionWindow, names, auth);
    }

    private static void requireBytes(ByteBuf in, int end, int needed, String what) {
        if (end - in.readerIndex() < needed) {
            throw new FrameException(ErrorCode.HANDSHAKE_FAILED, "HELLO frame truncated in " + what);
        }
    }
}
