package io.invmux.internal.frame;

import io.netty.buffer.ByteBuf;
import io.netty.util.ReferenceCounted;

/**
 * A chunk of one stream: {@code payload} holds the stream's bytes from {@code offset} on. Reference counted
 * through its payload; the holder releases it.
 */
public final class DataFrame extends Frame implements ReferenceCounted {
    public final long offset;
    public final ByteBuf payload;

    public DataFrame(int streamId, int flags, long offset, ByteBuf payload) {
        super(streamId, flags);
        this.offset = offset;
        this.payload = payload;
    }

    @Override
    public byte type() {
        return FrameType.DATA;
    }

    public boolean fin() {
        return hasFlag(FLAG_FIN);
    }

    @Override
    public int refCnt() {
        return payload.refCnt();
    }

    @Override
    public DataFrame retain() {
        payload.retain();
        return this;
    }

    @Override
    public DataFrame retain(int increment) {
        payload.retain(increment);
        return this;
    }

    @Override
    public DataFrame touch() {
        payload.touch();
        return this;
    }

    @Override
    public DataFrame touch(Object hint) {
        payload.touch(hint);
        return this;
    }

    @Override
    public boolean release() {
        return payload.release();
    }

    @Override
    public boolean release(int decrement) {
        return payload.release(decrement);
    }

    @Override
    public String toString() {
        return "DATA(stream=" + streamId + ", offset=" + offset + ", length=" + payload.readableBytes()
                + (fin() ? ", FIN" : "") + ")";
    }
}
