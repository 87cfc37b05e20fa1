package io.invmux.internal.session;

import io.netty.buffer.ByteBuf;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * Puts one stream's chunks back in order. Chunks arrive on any link in any order and may be repeated (a chunk
 * re-sent after its link died may already have arrived). Bytes below {@link #nextOffset()} have been passed on;
 * later ones wait here, keyed by offset, trimmed so that no two overlap. Memory is bounded by the stream window:
 * the sender may not send past it, and overlapping copies (a hostile peer's, cut at other offsets) add nothing.
 *
 * <p>Owned by the session's event loop; not thread-safe. Takes ownership of every buffer added.
 */
final class ReorderBuffer {
    private long nextOffset;
    private long highestOffset;
    private long finalOffset = -1;
    private TreeMap<Long, ByteBuf> waiting; // created on the first out-of-order chunk
    private long waitingBytes;

    /** Bytes below this offset have been passed on, in order. */
    long nextOffset() {
        return nextOffset;
    }

    /** Highest end offset of any chunk seen; the stream's share of the session window. */
    long highestOffset() {
        return highestOffset;
    }

    long finalOffset() {
        return finalOffset;
    }

    long waitingBytes() {
        return waitingBytes;
    }

    /** Chunks held out of order. */
    int waitingChunks() {
        return waiting == null ? 0 : waiting.size();
    }

    /** True when the final offset is known and every byte before it has been passed on. */
    boolean complete() {
        return finalOffset >= 0 && nextOffset == finalOffset;
    }

    /**
     * Records the stream's final offset.
     *
     * @return an error message when it contradicts what is known, else null
     */
    String setFinalOffset(long offset) {
        if (finalOffset >= 0 && finalOffset != offset) {
            return "final offset changed from " + finalOffset + " to " + offset;
        }
        if (offset < highestOffset) {
            return "final offset " + offset + " is below bytes already received up to " + highestOffset;
        }
        finalOffset = offset;
        return null;
    }

    /**
     * Adds a chunk and passes every byte that is now in order to {@code inOrder} (which takes ownership).
     *
     * @return false when the chunk held nothing new (a duplicate), true otherwise
     */
    boolean add(long offset, ByteBuf data, Consumer<ByteBuf> inOrder) {
        long end = offset + data.readableBytes();
        if (end > highestOffset) {
            highestOffset = end;
        }
        if (data.readableBytes() == 0) {
            data.release(); // an empty chunk only carries a FIN, which the caller has recorded
            return true;
        }
        if (end <= nextOffset) {
            data.release();
            return false;
        }
        if (offset > nextOffset) {
            return hold(offset, end, data);
        }
        if (offset < nextOffset) {
            data.skipBytes((int) (nextOffset - offset));
        }
        nextOffset = end;
        inOrder.accept(data);
        drainWaiting(inOrder);
        return true;
    }

    /**
     * Keeps an early chunk, trimmed to the bytes no held chunk has: held chunks never overlap, so the bytes held
     * are at most the window's span beyond {@link #nextOffset()} however a peer cuts and repeats its chunks.
     * Releases {@code data} and returns false when it holds nothing new.
     */
    private boolean hold(long offset, long end, ByteBuf data) {
        if (waiting == null) {
            waiting = new TreeMap<>();
        }
        if (heldAlready(offset, end)) {
            data.release(); // every byte of it is held already
            return false;
        }
        Map.Entry<Long, ByteBuf> floor = waiting.lowerEntry(offset);
        if (floor != null) {
            long floorEnd = floor.getKey() + floor.getValue().readableBytes();
            if (floorEnd > offset) {
                data.skipBytes((int) (floorEnd - offset)); // keep the held head
                offset = floorEnd;
            }
        }
        Map.Entry<Long, ByteBuf> next;
        while ((next = waiting.ceilingEntry(offset)) != null && next.getKey() < end) {
            ByteBuf covered = next.getValue();
            if (next.getKey() + covered.readableBytes() <= end) {
                waiting.remove(next.getKey()); // the new chunk holds all of it
                waitingBytes -= covered.readableBytes();
                covered.release();
            } else {
                data.writerIndex(data.readerIndex() + (int) (next.getKey() - offset)); // keep the held tail
                break;
            }
        }
        waiting.put(offset, data);
        waitingBytes += data.readableBytes();
        return true;
    }

    /**
     * Whether held chunks cover all of [offset, end). Stops at the first gap; otherwise visits at most one held
     * chunk per byte of the range, so the work stays proportional to the bytes received.
     */
    private boolean heldAlready(long offset, long end) {
        long pos = offset;
        Map.Entry<Long, ByteBuf> e = waiting.floorEntry(pos);
        while (e != null && e.getKey() <= pos) {
            pos = Math.max(pos, e.getKey() + e.getValue().readableBytes());
            if (pos >= end) {
                return true;
            }
            e = waiting.higherEntry(e.getKey());
        }
        return false;
    }

    private void drainWaiting(Consumer<ByteBuf> inOrder) {
        if (waiting == null) {
            return;
        }
        Map.Entry<Long, ByteBuf> first;
        while ((first = waiting.firstEntry()) != null && first.getKey() <= nextOffset) {
            waiting.pollFirstEntry();
            ByteBuf buf = first.getValue();
            waitingBytes -= buf.readableBytes();
            long end = first.getKey() + buf.readableBytes();
            if (end <= nextOffset) {
                buf.release();
                continue;
            }
            buf.skipBytes((int) (nextOffset - first.getKey()));
            nextOffset = end;
            inOrder.accept(buf);
        }
        if (waiting.isEmpty()) {
            waiting = null;
        }
    }

    /** Releases everything still waiting. */
    void release() {
        if (waiting != null) {
            for (ByteBuf b : waiting.values()) {
                b.release();
            }
            waiting = null;
            waitingBytes = 0;
        }
    }
}
