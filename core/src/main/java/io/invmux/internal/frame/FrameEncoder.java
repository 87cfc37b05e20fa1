package io.invmux.internal.frame;

import static java.nio.charset.StandardCharsets.UTF_8;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.util.ReferenceCountUtil;

/**
 * Turns {@link Frame}s (and the {@link #PREFACE} marker) into bytes. DATA payloads are not copied: the header
 * goes out as its own small buffer and the payload follows it, so the transport can gather both in one write.
 * Ownership: the frame passed to {@link #write} is consumed here (its payload is handed on or released).
 */
@ChannelHandler.Sharable
public final class FrameEncoder extends ChannelOutboundHandlerAdapter {
    /** Write this object to send the link preface. */
    public static final Object PREFACE = new Object() {
        @Override
        public String toString() {
            return "PREFACE";
        }
    };

    public static final FrameEncoder INSTANCE = new FrameEncoder();

    private FrameEncoder() {
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg == PREFACE) {
            ctx.write(encodePreface(ctx.alloc()), promise);
        } else if (msg instanceof DataFrame) {
            DataFrame data = (DataFrame) msg;
            ByteBuf header = ctx.alloc().buffer(Wire.HEADER_LENGTH + Wire.DATA_PREFIX_LENGTH);
            writeHeader(header, FrameType.DATA, data.flags, data.streamId,
                    Wire.DATA_PREFIX_LENGTH + data.payload.readableBytes());
            header.writeLong(data.offset);
            ctx.write(header, ctx.voidPromise());
            ctx.write(data.payload, promise);
        } else if (msg instanceof Frame) {
            ctx.write(encodeControl(ctx.alloc(), (Frame) msg), promise);
        } else {
            ReferenceCountUtil.release(msg);
            promise.setFailure(new IllegalArgumentException("not a frame: " + msg.getClass().getName()));
        }
    }

    public static ByteBuf encodePreface(ByteBufAllocator alloc) {
        ByteBuf buf = alloc.buffer(Wire.PREFACE_LENGTH);
        buf.writeInt(Wire.MAGIC).writeShort(Wire.VERSION).writeShort(0);
        return buf;
    }

    /** Encodes any frame into one buffer; DATA payload is copied (used by tests and by peers that script frames). */
    public static ByteBuf encode(ByteBufAllocator alloc, Frame frame) {
        if (frame instanceof DataFrame) {
            DataFrame data = (DataFrame) frame;
            try {
                int length = Wire.DATA_PREFIX_LENGTH + data.payload.readableBytes();
                ByteBuf buf = alloc.buffer(Wire.HEADER_LENGTH + length);
                writeHeader(buf, FrameType.DATA, data.flags, data.streamId, length);
                buf.writeLong(data.offset).writeBytes(data.payload, data.payload.readerIndex(),
                        data.payload.readableBytes());
                return buf;
            } finally {
                data.release();
            }
        }
        return encodeControl(alloc, frame);
    }

    private static ByteBuf encodeControl(ByteBufAllocator alloc, Frame frame) {
        ByteBuf buf = alloc.buffer(64);
        int start = buf.writerIndex();
        writeHeader(buf, frame.type(), frame.flags, frame.streamId, 0);
        switch (frame.type()) {
            case FrameType.OPEN: {
                byte[] metadata = ((OpenFrame) frame).metadata;
                if (metadata.length > Wire.MAX_METADATA_LENGTH) {
                    buf.release();
                    throw new IllegalArgumentException("OPEN metadata of " + metadata.length
                            + " bytes exceeds " + Wire.MAX_METADATA_LENGTH);
                }
                buf.writeBytes(metadata);
                break;
            }
            case FrameType.ACK: {
                AckFrame ack = (AckFrame) frame;
                buf.writeLong(ack.ackOffset).writeLong(ack.maxOffset);
                break;
            }
            case FrameType.RST: {
                ResetFrame rst = (ResetFrame) frame;
                buf.writeInt(rst.errorCode.code());
                writeMessage(buf, rst.message);
                break;
            }
            case FrameType.PING: {
                PingFrame ping = (PingFrame) frame;
                buf.writeLong(ping.opaque).writeLong(ping.receivedBytes);
                break;
            }
            case FrameType.GOAWAY: {
                GoAwayFrame goAway = (GoAwayFrame) frame;
                buf.writeInt(goAway.errorCode.code());
                writeMessage(buf, goAway.message);
                break;
            }
            case FrameType.HELLO:
                writeHello(buf, (HelloFrame) frame);
                break;
            default:
                buf.release();
                throw new IllegalArgumentException("cannot encode " + frame);
        }
        buf.setInt(start + Wire.LENGTH_OFFSET, buf.writerIndex() - start - Wire.HEADER_LENGTH);
        return buf;
    }

    private static void writeHello(ByteBuf buf, HelloFrame hello) {
        if (hello.sessionId.length != HelloFrame.SESSION_ID_LENGTH || hello.middleware.size() > 255
                || hello.auth.length > Wire.MAX_AUTH_LENGTH) {
            throw new IllegalArgumentException("HELLO out of bounds: session id " + hello.sessionId.length
                    + " bytes, " + hello.middleware.size() + " middleware names, auth " + hello.auth.length + " bytes");
        }
        buf.writeBytes(hello.sessionId);
        buf.writeInt(hello.linkId);
        buf.writeInt(hello.maxChunkSize);
        buf.writeInt(hello.streamWindow);
        buf.writeInt(hello.sessionWindow);
        buf.writeByte(hello.middleware.size());
        for (String name : hello.middleware) {
            byte[] bytes = name.getBytes(UTF_8);
            if (bytes.length > 255) {
                throw new IllegalArgumentException("middleware name longer than 255 bytes: " + name);
            }
            buf.writeByte(bytes.length);
            buf.writeBytes(bytes);
        }
        buf.writeShort(hello.auth.length);
        buf.writeBytes(hello.auth);
    }

    /** Writes at most {@link Wire#MAX_MESSAGE_LENGTH} bytes, cut before a character, never inside one. */
    private static void writeMessage(ByteBuf buf, String message) {
        byte[] bytes = message == null ? new byte[0] : message.getBytes(UTF_8);
        int length = bytes.length;
        if (length > Wire.MAX_MESSAGE_LENGTH) {
            length = Wire.MAX_MESSAGE_LENGTH;
            while (length > 0 && (bytes[length] & 0xC0) == 0x80) {
                length--; // bytes[length] continues a character that started before the cut
            }
        }
        buf.writeBytes(bytes, 0, length);
    }

    static void writeHeader(ByteBuf buf, int type, int flags, int streamId, int length) {
        buf.writeByte(type).writeByte(flags).writeInt(streamId).writeInt(length);
    }
}
