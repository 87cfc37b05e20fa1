package io.invmux.internal.session;

import io.invmux.Connection;
import io.invmux.HealthState;
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
    private static final double LOSS_GAIN = 0.1;
    private static final double ERROR_GAIN = 0.2;

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

    // [L] measurements behind quality()
    private final RateEstimator rate = new RateEstimator();
    private final long[] pingTimes = new long[64];
    private int pingCount;
    private double lossEwma;
    private double errorEwma;
    private long minRttNanos = Long.MAX_VALUE;
    long deliveredBytes;
    long deliveredChunks;
    long reinjectedChunks;
    private long lastDeliveredChunks;
    private long lastReinjectedChunks;
    long inFlightBytes;
    /** The link's queue reached half its cap during the current check interval. */
    private boolean wasSaturated;
    HealthState health = HealthState.HEALTHY;

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
    private volatile double weight = 1.0;
    private volatile Quality quality = Quality.UNKNOWN;
    private volatile HealthState publishedHealth = HealthState.HEALTHY;
    private volatile long publishedQueuedBytes;

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
    public double weight() {
        return weight;
    }

    @Override
    public void setWeight(double weight) {
        if (!(weight > 0) || Double.isInfinite(weight)) {
            throw new IllegalArgumentException("weight must be a positive number, got " + weight);
        }
        this.weight = weight;
    }

    @Override
    public boolean isActive() {
        return !lost && channel.isActive();
    }

    @Override
    public HealthState health() {
        return session.loop.inEventLoop() ? health : publishedHealth;
    }

    @Override
    public long queuedBytes() {
        return session.loop.inEventLoop() ? inFlightBytes : publishedQueuedBytes;
    }

    /**
     * [L] Whether the scheduler may give this link another chunk now: it must be usable, its channel writable, and
     * its unacknowledged bytes under its cap. The cap follows the measured rate ({@link #inFlightCap()}) so a slow
     * link's queue (socket buffers, the path's own queue) holds tens of milliseconds of data, not seconds.
     */
    boolean canTakeData() {
        if (lost || draining || suspect || !channel.isWritable() || inFlightBytes >= inFlightCap()) {
            return false;
        }
        return sameLoop || outboxBytes + handedOverBytes.get() < session.config.linkWriteBufferSize();
    }

    /**
     * [L] Most unacknowledged bytes the link may hold: what it delivers in 50 ms (or twice its base round trip, if
     * longer) plus two chunks, so it never runs dry while an ack is on its way; before its rate is known, the
     * configured link write buffer size.
     */
    long inFlightCap() {
        long bw = rate.bytesPerSecond();
        if (bw <= 0) {
            return session.config.linkWriteBufferSize();
        }
        long window = Math.max(50_000_000L, minRttNanos == Long.MAX_VALUE ? 0 : 2 * minRttNanos);
        return (long) (bw * (window / 1e9)) + 2L * session.maxChunkSize;
    }

    /** [L] A chunk of {@code length} bytes goes out on this link. */
    void onChunkInFlight(int length) {
        if (inFlightChunks++ == 0) {
            lastAckedNanos = System.nanoTime();
        }
        inFlightBytes += length;
        if (inFlightBytes >= inFlightCap() / 2) {
            wasSaturated = true; // the scheduler kept it full at some point of this interval
        }
    }

    /** [L] A chunk sent on this link was acknowledged. */
    void onChunkDelivered(int length, long now) {
        inFlightChunks--;
        inFlightBytes -= length;
        lastAckedNanos = now;
        deliveredBytes += length;
        deliveredChunks++;
    }

    /** [L] A chunk sent on this link is no longer its business (re-sent elsewhere, or its stream is gone). */
    void onChunkWithdrawn(int length, boolean reinjected) {
        inFlightChunks--;
        inFlightBytes -= length;
        if (reinjected) {
            reinjectedChunks++;
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

    /** [L] A heartbeat goes out, stamped with {@code sentNanos}. */
    void onPingSent(long sentNanos) {
        pingsSent++;
        if (pingCount == pingTimes.length) {
            System.arraycopy(pingTimes, 1, pingTimes, 0, pingCount - 1); // oldest counts as lost
            pingCount--;
            lossEwma = lossEwma * (1 - LOSS_GAIN) + LOSS_GAIN;
        }
        pingTimes[pingCount++] = sentNanos;
    }

    /**
     * [L] A heartbeat came back: its round trip, smoothed as TCP does (RFC 6298: gain 1/8, 1/4 for the variance).
     */
    void onPong(long sentNanos, long now) {
        pongsReceived++;
        for (int i = 0; i < pingCount; i++) {
            if (pingTimes[i] == sentNanos) {
                System.arraycopy(pingTimes, i + 1, pingTimes, i, pingCount - i - 1);
                pingCount--;
                lossEwma *= 1 - LOSS_GAIN;
                break;
            }
        }
        long rttNanos = now - sentNanos;
        if (rttNanos < 0) {
            return;
        }
        if (srttNanos == RTT_UNSET) {
            srttNanos = rttNanos;
            rttVarNanos = rttNanos / 2;
        } else {
            rttVarNanos += (Math.abs(srttNanos - rttNanos) - rttVarNanos) / 4;
            srttNanos += (rttNanos - srttNanos) / 8;
        }
        minRttNanos = Math.min(minRttNanos, rttNanos);
    }

    /**
     * [L] Once per check interval: counts heartbeats that went unanswered for too long as lost, takes a rate
     * sample, and publishes a new {@link Quality}.
     *
     * <p>Score, in [0, 1]: {@code (1 − loss) × (1 − errorRate) × 1 / (1 + rtt / 200 ms) × (0.5 + 0.5 × rate /
     * fastest rate in the session)}: a perfect link scores 1, a link at 200 ms scores half of that, a link with
     * half the loss-free delivery scores half, the slowest of very unequal links scores at least half of the
     * fastest's.
     */
    void updateQuality(long now, long intervalNanos, long fastestRate) {
        long lostAfter = Math.max(4 * Math.max(srttNanos, 0), 3 * intervalNanos) + intervalNanos;
        while (pingCount > 0 && now - pingTimes[0] > lostAfter) {
            System.arraycopy(pingTimes, 1, pingTimes, 0, pingCount - 1);
            pingCount--;
            lossEwma = lossEwma * (1 - LOSS_GAIN) + LOSS_GAIN;
        }
        rate.sample(deliveredBytes, wasSaturated || inFlightBytes >= inFlightCap() / 2, now);
        wasSaturated = false;
        long delivered = deliveredChunks - lastDeliveredChunks;
        long reinjected = reinjectedChunks - lastReinjectedChunks;
        lastDeliveredChunks = deliveredChunks;
        lastReinjectedChunks = reinjectedChunks;
        if (delivered + reinjected > 0) {
            errorEwma = errorEwma * (1 - ERROR_GAIN) + ERROR_GAIN * reinjected / (double) (delivered + reinjected);
        }
        long bw = rate.bytesPerSecond();
        long rtt = Math.max(srttNanos, 0);
        double latencyFactor = 1.0 / (1.0 + rtt / 200e6);
        double rateFactor = fastestRate > 0 && bw > 0 ? 0.5 + 0.5 * Math.min(1.0, (double) bw / fastestRate) : 1.0;
        double score = (1 - lossEwma) * (1 - errorEwma) * latencyFactor * rateFactor;
        quality = new Quality(Duration.ofNanos(rtt), Duration.ofNanos(rttVarNanos), bw, lossEwma, errorEwma,
                Math.max(0, Math.min(1, score)));
        publishedQueuedBytes = inFlightBytes;
    }

    /** [L] Records a new health state (also readable from other threads). */
    void setHealth(HealthState state) {
        health = state;
        publishedHealth = state;
    }

    long rateBytesPerSecond() {
        return rate.bytesPerSecond();
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
