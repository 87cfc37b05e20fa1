package io.invmux.internal.session;

import io.invmux.Connection;
import io.invmux.Quality;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.Wire;
import io.netty.channel.Channel;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One link of a session: a channel plus what the session knows about it.
 *
 * <p>Threading: fields marked [L] belong to the session's event loop. The channel may live on another loop (an
 * accepted link, an in-memory link); then frames are collected in {@link #outbox} and handed over in one task
 * per flush, and {@link #handedOverBytes} counts what that loop has not yet taken.
 */
final class Link implements Connection {
    private static final long RTT_UNSET = -1;

    final MuxSession session;
    final int linkId;
    final Channel channel;
    final String type;
    /** The URI it was dialed with (null on the accepting side). */
    final URI dialUri;
    private final boolean sameLoop;

    // [L] scheduling state
    /** Being removed gracefully: no new chunk goes here (see MuxSession#maybeFinishDrain). */
    boolean draining;
    boolean drainInitiator;
    boolean drainSent;
    boolean drainReceived;
    long drainStartNanos;
    boolean lost;
    /** In-flight chunks stopped being acknowledged: no new chunk goes here until acks move again. */
    boolean suspect;
    int inFlightChunks;
    /** Last time a chunk sent on this link was acknowledged, or it went from idle to busy. */
    long lastAckedNanos;
    long lastReceivedNanos;
    long unwritableSinceNanos;
    private boolean needsFlush;
    private List<Frame> outbox = new ArrayList<>();
    private long outboxBytes;
    private long srttNanos = RTT_UNSET;
    private long rttVarNanos;

    // [L] counters
    long bytesSent;
    long bytesReceived;
    long chunksSent;
    long chunksReceived;
    long pingsSent;
    long pongsReceived;

    /** Completes once the session has let go of the link. */
    final java.util.concurrent.CompletableFuture<Void> removed = new java.util.concurrent.CompletableFuture<>();

    /** Bytes handed to the channel's loop and not yet written into the channel. */
    private final AtomicLong handedOverBytes = new AtomicLong();
    private volatile int priority;
    private volatile Quality quality = Quality.UNKNOWN;

    Link(MuxSession session, int linkId, Channel channel, String type, URI dialUri) {
        this.session = session;
        this.linkId = linkId;
        this.channel = channel;
        this.type = type;
        this.dialUri = dialUri;
        this.sameLoop = channel.eventLoop() == session.loop;
        this.lastReceivedNanos = System.nanoTime();
    }

    @Override
    public String id() {
        return Integer.toString(linkId);
    }

    @Override
    public String type() {
        return type;
    }

    @Override
    public String remoteAddress() {
        return String.valueOf(channel.remoteAddress());
    }

    @Override
    public Quality quality() {
        return quality;
    }

    @Override
    public int priority() {
        return priority;
    }

    @Override
    public void setPriority(int priority) {
        this.priority = priority;
        session.requestPump();
    }

    @Override
    public boolean isActive() {
        return !lost && channel.isActive();
    }

    /** [L] Whether the scheduler may give this link another chunk now. */
    boolean canTakeData() {
        if (lost || draining || suspect || !channel.isWritable()) {
            return false;
        }
        return sameLoop || outboxBytes + handedOverBytes.get() < session.config.linkWriteBufferSize();
    }

    /** [L] A chunk goes out on this link. */
    void onChunkInFlight() {
        if (inFlightChunks++ == 0) {
            lastAckedNanos = System.nanoTime();
        }
    }

    /** [L] Queues a frame; it goes out at the next {@link #flush()}. Takes ownership of the frame. */
    void write(Frame frame) {
        if (frame instanceof DataFrame) {
            DataFrame data = (DataFrame) frame;
            int length = data.payload.readableBytes();
            bytesSent += length;
            chunksSent++;
            if (!sameLoop) {
                outboxBytes += length + Wire.HEADER_LENGTH + Wire.DATA_PREFIX_LENGTH;
            }
        }
        if (sameLoop) {
            channel.write(frame, channel.voidPromise());
            needsFlush = true;
        } else {
            outbox.add(frame);
        }
    }

    /** [L] Sends what {@link #write} queued. */
    void flush() {
        if (sameLoop) {
            if (needsFlush) {
                needsFlush = false;
                channel.flush();
            }
            return;
        }
        if (outbox.isEmpty()) {
            return;
        }
        List<Frame> batch = outbox;
        long bytes = outboxBytes;
        outbox = new ArrayList<>();
        outboxBytes = 0;
        handedOverBytes.addAndGet(bytes);
        channel.eventLoop().execute(() -> {
            for (Frame f : batch) {
                channel.write(f, channel.voidPromise());
            }
            channel.flush();
            handedOverBytes.addAndGet(-bytes);
        });
    }

    /** [L] Drops frames not yet handed to the channel (the link is gone). */
    void discardOutbox() {
        for (Frame f : outbox) {
            if (f instanceof DataFrame) {
                ((DataFrame) f).release();
            }
        }
        outbox.clear();
        outboxBytes = 0;
    }

    /** [L] A heartbeat round trip, smoothed as TCP does (RFC 6298: 1/8 gain, 1/4 for the variance). */
    void onRttSample(long rttNanos) {
        if (srttNanos == RTT_UNSET) {
            srttNanos = rttNanos;
            rttVarNanos = rttNanos / 2;
        } else {
            rttVarNanos += (Math.abs(srttNanos - rttNanos) - rttVarNanos) / 4;
            srttNanos += (rttNanos - srttNanos) / 8;
        }
        long lost = Math.max(0, pingsSent - pongsReceived - 1);
        double loss = pingsSent == 0 ? 0 : Math.min(1.0, (double) lost / pingsSent);
        quality = new Quality(Duration.ofNanos(srttNanos), Duration.ofNanos(rttVarNanos), 0, loss, 0,
                Math.max(0, 1.0 - loss));
    }

    /** [L] Smoothed RTT, or -1 before the first sample. */
    long srttNanos() {
        return srttNanos;
    }

    @Override
    public String toString() {
        return "link " + linkId + " (" + type + " " + channel.remoteAddress() + ")";
    }
}
