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
    /**
     * Its chunks stopped getting through (see MuxSession#onKeepAliveTick): they were re-sent elsewhere and no new
     * chunk goes here until the peer reports having received everything that was sent on it.
     */
    boolean suspect;
    /** When the current suspicion began, and what the peer had reported receiving on the link by then. */
    private long suspectSinceNanos;
    private long peerReceivedAtSuspect;
    private long peerReportAtSuspectNanos;
    /** DATA payload bytes the peer last reported having received on this link, and when that report came. */
    private long peerReceivedBytes;
    private long peerReportNanos;
    /** A ring of (time, {@link #bytesSent}) marks, one per keep-alive tick: what had been sent on the link by when. */
    private final long[] sentMarkNanos = new long[SENT_MARKS];
    private final long[] sentMarkBytes = new long[SENT_MARKS];
    private int sentMarkNext;
    private static final int SENT_MARKS = 64;
    int inFlightChunks;
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
    /** {@link #bytesSent} when the heartbeat of the same index in {@link #pingTimes} went out. */
    private final long[] pingSentBytes = new long[64];
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
    /** [L] PONGs this link may still send now: a bucket of {@code maxPingRate}, refilled at that rate per second. */
    private double pongTokens = -1;
    private long pongRefillNanos;

    /** Completes once the session has let go of the link. */
    final java.util.concurrent.CompletableFuture<Void> removed = new java.util.concurrent.CompletableFuture<>();

    /** Bytes handed to the channel's loop and not yet written into the channel. */
    private final AtomicLong handedOverBytes = new AtomicLong();
    private volatile int priority;
    private volatile double weight = 1.0;
    /** Written by any thread, read on the loop for every chunk: the path's budget, or null. */
    private volatile io.invmux.LinkBudget budget;
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
        return io.invmux.internal.transport.Addresses.hostPort(channel.remoteAddress());
    }

    @Override
    public String localAddress() {
        return io.invmux.internal.transport.Addresses.hostPort(channel.localAddress());
    }

    @Override
    public Quality quality() {
        return quality;
    }

    /**
     * [L, before the link joins] Takes over the scheduling settings of the lost link this one replaces (a redial):
     * they were set for the path, not for one connection.
     */
    void takeSettingsOf(Link lost) {
        this.priority = lost.priority;
        this.weight = lost.weight;
        this.budget = lost.budget;
    }

    @Override
    public java.util.Optional<io.invmux.LinkBudget> budget() {
        return java.util.Optional.ofNullable(budget);
    }

    @Override
    public void setBudget(io.invmux.LinkBudget budget) {
        this.budget = budget;
        session.requestPump();
    }

    /** [L] Whether the link's budget is spent: it gets stream data only when no other link takes any. */
    boolean overBudget() {
        io.invmux.LinkBudget b = budget;
        return b != null && b.exhausted();
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
    public boolean takesData() {
        return !lost && !draining && !suspect && channel.isActive();
    }

    @Override
    public HealthState health() {
        return session.loop.inEventLoop() ? health : publishedHealth;
    }

    @Override
    public long queuedBytes() {
        return session.loop.inEventLoop() ? pipeBytes(System.nanoTime()) : publishedQueuedBytes;
    }

    /**
     * [L] Bytes sent on the link that have not reached the peer yet: what it had not received at its last report
     * (every PING and PONG carries one), less what the link delivers at its measured rate since. This, not the
     * bytes awaiting acknowledgement, is the link's own queue: a chunk that arrived waits for its stream's
     * cumulative ACK behind the chunks of slower links, and counting it here would cap a fast link at what the
     * slowest one lets through (the receiver's window bounds those bytes instead).
     */
    long pipeBytes(long now) {
        long unreported = bytesSent - peerReceivedBytes;
        long bw = rate.bytesPerSecond();
        if (bw > 0 && peerReportNanos != 0 && now > peerReportNanos) {
            // At most one report interval's worth: reports that stop coming (a link slowed down, its heartbeats
            // queued behind its data) must not make its queue look empty, or it would be given ever more.
            long age = Math.min(now - peerReportNanos, session.config.keepAliveInterval().toNanos());
            unreported -= (long) (bw * (age / 1e9));
        }
        return Math.max(0, unreported);
    }

    /**
     * [L] Whether the scheduler may give this link another chunk now: it must be usable, its channel writable, and
     * its queue ({@link #pipeBytes}) under its cap. The cap follows the measured rate ({@link #inFlightCap()}) so a slow
     * link's queue (socket buffers, the path's own queue) holds tens of milliseconds of data, not seconds.
     */
    boolean canTakeData() {
        if (lost || draining || suspect || !channel.isWritable() || pipeBytes(System.nanoTime()) >= inFlightCap()) {
            return false;
        }
        return sameLoop || outboxBytes + handedOverBytes.get() < session.config.linkWriteBufferSize();
    }

    /**
     * [L] Most bytes the link may have on their way ({@link #pipeBytes}): what it delivers in 50 ms (or twice its base round trip, if
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
        inFlightChunks++;
        inFlightBytes += length;
        if (pipeBytes(System.nanoTime()) >= inFlightCap() / 2) {
            wasSaturated = true; // the scheduler kept it full at some point of this interval
        }
    }

    /** [L] A chunk sent on this link was acknowledged. */
    void onChunkDelivered(int length, long now) {
        inFlightChunks--;
        inFlightBytes -= length;
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
            io.invmux.LinkBudget b = budget;
            if (b != null) {
                b.record(length);
            }
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

    /**
     * [L] Whether a PING from the peer gets its PONG: at most {@code perSecond} a second (in bursts of up to as
     * many). That bounds what a peer that never reads can make pile up (and writeTimeout ends such a link). A link
     * busy with bulk data is unwritable most of the time, so unwritability must not stop PONGs: its RTT samples
     * and received-byte reports are what tell a busy link from a stalled one.
     */
    boolean takePong(long now, int perSecond) {
        if (pongTokens < 0) {
            pongTokens = perSecond;
        } else {
            pongTokens = Math.min(perSecond, pongTokens + (now - pongRefillNanos) * perSecond / 1e9);
        }
        pongRefillNanos = now;
        if (pongTokens < 1) {
            return false;
        }
        pongTokens--;
        return true;
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
            System.arraycopy(pingSentBytes, 1, pingSentBytes, 0, pingCount - 1);
            pingCount--;
            lossEwma = lossEwma * (1 - LOSS_GAIN) + LOSS_GAIN;
        }
        pingSentBytes[pingCount] = bytesSent;
        pingTimes[pingCount++] = sentNanos;
    }

    /** [L] The peer's report of the DATA payload bytes it has received on this link (every PING and PONG). */
    void onPeerReport(long received, long now) {
        if (received > peerReceivedBytes) {
            peerReceivedBytes = received;
            peerReportNanos = now;
        }
    }

    /** [L] Notes how much has been sent on the link by {@code now} (once per keep-alive tick). */
    void markSent(long now) {
        sentMarkNanos[sentMarkNext] = now;
        sentMarkBytes[sentMarkNext] = bytesSent;
        sentMarkNext = (sentMarkNext + 1) % SENT_MARKS;
    }

    /**
     * [L] Bytes sent on the link by {@code time} that the peer has not reported receiving: the link's bytes are
     * one FIFO (TCP), so any such byte has been on its way for longer than {@code now - time}. Uses the latest
     * mark at or before {@code time}; 0 when there is none that old.
     */
    long undeliveredSentBefore(long time) {
        long sent = -1;
        long markTime = Long.MIN_VALUE;
        for (int i = 0; i < SENT_MARKS; i++) {
            long t = sentMarkNanos[i];
            if (t != 0 && t <= time && t > markTime) {
                markTime = t;
                sent = sentMarkBytes[i];
            }
        }
        return sent < 0 ? 0 : Math.max(0, sent - peerReceivedBytes);
    }

    /**
     * [L] A heartbeat came back with the peer's report: its round trip, smoothed as TCP does (RFC 6298: gain 1/8,
     * 1/4 for the variance). Returns true when the report covers every byte sent on the link before a heartbeat
     * sent since the link became suspect: its queue has drained.
     */
    boolean onPong(long sentNanos, long received, long now) {
        pongsReceived++;
        long sentBefore = -1;
        for (int i = 0; i < pingCount; i++) {
            if (pingTimes[i] == sentNanos) {
                sentBefore = pingSentBytes[i];
                System.arraycopy(pingTimes, i + 1, pingTimes, i, pingCount - i - 1);
                System.arraycopy(pingSentBytes, i + 1, pingSentBytes, i, pingCount - i - 1);
                pingCount--;
                lossEwma *= 1 - LOSS_GAIN;
                break;
            }
        }
        onPeerReport(received, now);
        boolean caughtUp = sentBefore >= 0 && received >= sentBefore; // all sent before the heartbeat got through
        updateRtt(sentNanos, now);
        return caughtUp && suspect && sentNanos >= suspectSinceNanos;
    }

    /** [L] Its chunks stopped getting through: the session re-sends them elsewhere and gives it nothing new. */
    void markSuspect(long now) {
        suspect = true;
        suspectSinceNanos = now;
        peerReceivedAtSuspect = peerReceivedBytes;
        // A link too new to have had a report yet counts from now: the rate measured over its drain then also
        // credits what arrived before, an overestimate, but better than keeping the credit it was given unmeasured.
        peerReportAtSuspectNanos = peerReportNanos != 0 ? peerReportNanos : now;
    }

    /**
     * [L] The link drained what it held: it takes chunks again. If draining took longer than {@code
     * slowDrainNanos}, it was delivering flat out the whole time, so what it delivered meanwhile is its rate now;
     * when that is below the estimate (the link was re-shaped slower), the estimate starts again from it, and the
     * link's cap shrinks at once instead of over the estimator's one-second window. Returns that rate, or -1.
     */
    long clearSuspect(long now, long slowDrainNanos) {
        suspect = false;
        long reportSpan = peerReportNanos - peerReportAtSuspectNanos;
        if (now - suspectSinceNanos <= slowDrainNanos || reportSpan <= 0) {
            return -1;
        }
        long drained = (long) ((peerReceivedBytes - peerReceivedAtSuspect) * 1e9 / reportSpan);
        if (drained < rate.bytesPerSecond()) {
            rate.restart(drained);
        }
        return drained;
    }

    private void updateRtt(long sentNanos, long now) {
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
        session.onRoundTrip(this, rttNanos);
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
            System.arraycopy(pingSentBytes, 1, pingSentBytes, 0, pingCount - 1);
            pingCount--;
            lossEwma = lossEwma * (1 - LOSS_GAIN) + LOSS_GAIN;
        }
        // The peer's per-link reports, not acknowledgements: a link's chunks are acknowledged only once the
        // slower links' chunks before them in their stream have arrived, which would make it look as slow as they.
        rate.sample(peerReceivedBytes, wasSaturated || pipeBytes(now) >= inFlightCap() / 2,
                peerReportNanos != 0 ? peerReportNanos : now);
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
        publishedQueuedBytes = pipeBytes(now);
    }

    /** [L] Records a new health state (also readable from other threads). */
    void setHealth(HealthState state) {
        health = state;
        publishedHealth = state;
    }

    long rateBytesPerSecond() {
        return rate.bytesPerSecond();
    }

    /**
     * [L] The round trip the link shows now: its smoothed RTT, or longer while its oldest unanswered heartbeat has
     * waited longer than that; {@code Long.MAX_VALUE} before the first sample.
     */
    long currentRttNanos(long now) {
        if (srttNanos == RTT_UNSET) {
            return Long.MAX_VALUE;
        }
        return pingCount > 0 ? Math.max(srttNanos, now - pingTimes[0]) : srttNanos;
    }

    /** [L] Smoothed RTT, or -1 before the first sample. */
    long srttNanos() {
        return srttNanos;
    }

    @Override
    public String toString() {
        return "link " + linkId + " (" + type + " " + remoteAddress() + ")";
    }
}
