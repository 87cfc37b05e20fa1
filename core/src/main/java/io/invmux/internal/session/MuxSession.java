package io.invmux.internal.session;

import io.invmux.Config;
import io.invmux.Connection;
import io.invmux.ErrorAction;
import io.invmux.ErrorCode;
import io.invmux.HealthListener;
import io.invmux.HealthMonitor;
import io.invmux.HealthState;
import io.invmux.Quality;
import io.invmux.InvMuxException;
import io.invmux.LoadBalancer;
import io.invmux.Middleware;
import io.invmux.PeerIdentity;
import io.invmux.Session;
import io.invmux.SessionClosedException;
import io.invmux.SessionStats;
import io.invmux.Stream;
import io.invmux.StreamOptions;
import io.invmux.StreamResetException;
import io.invmux.TrafficClass;
import io.invmux.internal.frame.AckFrame;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.FrameType;
import io.invmux.internal.frame.GoAwayFrame;
import io.invmux.internal.frame.HelloFrame;
import io.invmux.internal.frame.OpenFrame;
import io.invmux.internal.frame.PingFrame;
import io.invmux.internal.frame.ResetFrame;
import io.invmux.internal.frame.Wire;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.EventLoop;
import io.netty.util.collection.IntObjectHashMap;
import io.netty.util.concurrent.ScheduledFuture;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.event.Level;

/**
 * The session state machine. Everything marked [L] is confined to {@link #loop}, the session's event loop: frames
 * from every link, application signals and timers all run there, one at a time, so the state needs no locks.
 * Application threads reach it only through {@link #signal(MuxStream)} and {@code loop.execute}.
 *
 * <p>Lock order: a stream's monitor may be taken while on the loop; nothing is taken while holding it.
 */
public final class MuxSession implements Session {
    private static final Logger log = LoggerFactory.getLogger(MuxSession.class);
    private static final long DRAIN_DEADLINE_NANOS = TimeUnit.SECONDS.toNanos(5);
    /** First wait for a stream's acknowledgement before its OPEN is sent again (see retransmitOpens). */
    static final long OPEN_RETRANSMIT_NANOS = TimeUnit.SECONDS.toNanos(1);
    /**
     * How many stream ids beyond the highest it opened a peer may reset before we see them: an RST may overtake its
     * stream's OPEN and DATA on another link, but not by thousands of streams. It also bounds the gaps in the set
     * of closed peer ids beyond the streams open at once (see {@link #markPeerStreamClosed}).
     */
    static final int RESETS_AHEAD = 1024;
    /** Stream ids are u32 on the wire. */
    static final long MAX_STREAM_ID = 0xFFFF_FFFFL;
    /** Longest an ACK waits for data to ride with (see MuxStream#owesAckForData). */
    static final long ACK_DELAY_MICROS = 1000;

    final Config config;
    final EventLoop loop;
    final ByteBufAllocator alloc = PooledByteBufAllocator.DEFAULT;
    final int maxChunkSize;
    private final boolean client;
    private final byte[] sessionId;
    private final String idHex;
    private final byte[] secret;
    private final LoadBalancer loadBalancer;
    private final HealthMonitor healthMonitor;
    private final List<HealthListener> healthListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<io.invmux.MeasurementListener> measurementListeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<Middleware> middleware; // this session's own instances (Middleware.forSession)
    private final MuxSessionListener listener;

    // Peer limits, fixed by the first handshake, before the session is handed to the application.
    volatile int peerStreamWindow;
    private volatile int peerMaxChunk;

    // [L] links and streams
    private final List<Link> links = new ArrayList<>();
    private final List<Link> usable = new ArrayList<>();
    /** [L] Whether, at the last collectTier, some link that takes data had budget left (see pruneUsable). */
    private boolean withinBudgetElsewhere;
    /** [L] The control link ACKs last went on (see flushAcks). */
    private Link lastControlLink;
    /** [L] Scratch list of {@link #collectResendable}. */
    private final List<Link> resendable = new ArrayList<>();
    private final IntObjectHashMap<MuxStream> streams = new IntObjectHashMap<>();
    private final IdRangeSet closedPeerStreams = new IdRangeSet();
    /** [L] Bulk streams with bytes (or a FIN) to send, served in turn. */
    private final ArrayDeque<MuxStream> sendQueue = new ArrayDeque<>();
    /** [L] Interactive and redundant streams with bytes to send, served before any bulk stream. */
    private final ArrayDeque<MuxStream> urgentSendQueue = new ArrayDeque<>();
    private final ArrayDeque<MuxStream> resendQueue = new ArrayDeque<>();
    final ArrayDeque<MuxStream> ackQueue = new ArrayDeque<>();
    private final ArrayDeque<MuxStream> delayedAcks = new ArrayDeque<>();
    private boolean ackTimerScheduled;
    /** A stream's ACK goes out at once when this many bytes arrived since its last one; else it may wait. */
    final int ackEveryBytes;
    private final List<MuxStream> blockedOnSessionCredit = new ArrayList<>();
    private boolean sessionAckOwed;
    private boolean pumping;
    /** RSTs sent lately, repeated when their link may have lost them (RST is idempotent). */
    private final java.util.LinkedHashMap<Integer, ResetFrame> recentResets =
            new java.util.LinkedHashMap<>(16, 0.75f, false) {
                @Override
                protected boolean removeEldestEntry(java.util.Map.Entry<Integer, ResetFrame> eldest) {
                    return size() > 1024;
                }
            };

    // [L] session-level flow control: sums of each stream's highest offset, as in QUIC's MAX_DATA
    private long peerSessionMax;
    private long sentHighest;
    private long recvSessionMax;
    private long receivedHighest;

    // [L] lifecycle
    private boolean localGoAway;
    private boolean peerGoAway;
    private ScheduledFuture<?> keepAliveTimer;
    private ScheduledFuture<?> healthTimer;
    private ScheduledFuture<?> graceTimer;

    // [L] counters
    private long bytesSent;
    private long bytesReceived;
    private long chunksSent;
    private long chunksReceived;
    private long chunksResent;
    private long bytesResent;
    /** First transmissions by traffic class, indexed by ordinal. */
    private final long[] bytesSentByClass = new long[TrafficClass.values().length];
    /** Bytes in the second copies of redundant streams' chunks. */
    private long bytesCopied;
    private long duplicateChunks;
    private long reorderHighWater;
    /**
     * [L] Peer streams created by DATA that overtook their OPEN, oldest first: reset when their OPEN has not come
     * within {@link Config#pendingOpenTimeout()}. Entries whose OPEN came (or that ended) are skipped when they
     * age out, and swept out when the queue doubles, so it holds at most twice the streams still waiting.
     */
    private final ArrayDeque<MuxStream> awaitingOpen = new ArrayDeque<>();
    private int awaitingOpenCompactAt = 1024;
    /**
     * [L] Local streams whose OPEN went out and that the peer has not acknowledged yet, oldest first; at most the
     * streams open (each is dropped at its first ACK or its end). See retransmitOpens.
     */
    private final ArrayDeque<MuxStream> unackedOpens = new ArrayDeque<>();
    /** [L] Highest id of a peer stream that existed here (opened, or refused); unsigned. */
    private int highestPeerStreamId;
    /** [L] The set of closed peer ids grew past its bound and the session is closing for it. */
    private boolean closedIdsOverflow;
    /** [L] Bytes and chunks held out of order now, over every stream (see onReorderChanged). */
    private long reorderBytes;
    private long reorderChunks;
    /** Limits of this session reached so far, by knob (any thread reads). */
    final LimitCounters limits = new LimitCounters();
    final AtomicLong refusedLinks = new AtomicLong();
    /**
     * Who the peer proved to be (its certificate or its per-peer key); null when its credential names nobody.
     * Written once by the handshake of the session's first link, before the session is handed to anyone.
     */
    private volatile PeerIdentity peerIdentity;

    // Any thread
    private final ConcurrentLinkedQueue<MuxStream> signals = new ConcurrentLinkedQueue<>();
    /** [L] Streams that got in-order bytes in the current read batch (see {@link #afterInbound}). */
    private final ArrayDeque<MuxStream> deliveries = new ArrayDeque<>();
    private final AtomicBoolean wakeupScheduled = new AtomicBoolean();
    private final AtomicLong consumedTotal = new AtomicLong();
    private volatile long sessionCreditThreshold;
    /** Next id for a stream opened here; past {@link #MAX_STREAM_ID} the ids are spent (never reused). */
    private final AtomicLong nextLocalStreamId;
    private final AtomicBoolean streamIdsSpent = new AtomicBoolean();
    private final AtomicInteger nextLinkId = new AtomicInteger(1);
    private final AtomicInteger openStreams = new AtomicInteger();
    private final java.util.Set<Integer> liveLinkIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    /** Completed (on whichever thread stops new streams) once {@link #goingAway} is set; never exceptionally. */
    private final CompletableFuture<Void> goAwayFuture = new CompletableFuture<>();
    private volatile boolean closed;
    /** No new streams either way; set by application threads (goAway, stream ids spent) and the loop. */
    private volatile boolean goingAway;
    private volatile List<Connection> connectionSnapshot = List.of();
    private final Object acceptLock = new Object();
    private final ArrayDeque<MuxStream> acceptQueue = new ArrayDeque<>(); // guarded by acceptLock
    private final ArrayDeque<CompletableFuture<Stream>> acceptWaiters = new ArrayDeque<>(); // guarded by acceptLock

    MuxSession(Config config, boolean client, byte[] sessionId, byte[] secret, EventLoop loop,
            MuxSessionListener listener) {
        this.config = config;
        this.client = client;
        this.sessionId = sessionId;
        this.idHex = HexFormat.of().formatHex(sessionId);
        this.secret = secret;
        this.loop = loop;
        this.loadBalancer = config.loadBalancer().get();
        this.healthMonitor = config.healthMonitor().get();
        this.middleware = config.middleware().stream().map(m -> m.forSession(config)).toList();
        this.listener = listener;
        this.maxChunkSize = config.maxChunkSize();
        this.ackEveryBytes = Math.min(64 * 1024, config.windowSize() / 4);
        this.peerStreamWindow = config.windowSize();
        this.peerMaxChunk = config.maxChunkSize();
        this.recvSessionMax = config.sessionWindowSize();
        this.sessionCreditThreshold = config.sessionWindowSize() / 2;
        this.nextLocalStreamId = new AtomicLong(client ? 1 : 2);
        long interval = config.keepAliveInterval().toNanos();
        this.keepAliveTimer = loop.scheduleAtFixedRate(this::onKeepAliveTick, interval, interval,
                TimeUnit.NANOSECONDS);
        long check = healthMonitor.thresholds().checkInterval().toNanos();
        this.healthTimer = loop.scheduleAtFixedRate(this::onHealthCheck, check, check, TimeUnit.NANOSECONDS);
    }

    @Override
    public void addHealthListener(HealthListener listener) {
        healthListeners.add(java.util.Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public void removeHealthListener(HealthListener listener) {
        healthListeners.remove(listener);
    }

    @Override
    public void addMeasurementListener(io.invmux.MeasurementListener listener) {
        measurementListeners.add(java.util.Objects.requireNonNull(listener, "listener"));
    }

    @Override
    public void removeMeasurementListener(io.invmux.MeasurementListener listener) {
        measurementListeners.remove(listener);
    }

    /** [L] A heartbeat came back on {@code link}. */
    void onRoundTrip(Link link, long rttNanos) {
        for (io.invmux.MeasurementListener l : measurementListeners) {
            try {
                l.onRoundTrip(link, rttNanos);
            } catch (RuntimeException e) {
                log.warn("session {}: measurement listener failed", idHex, e);
            }
        }
    }

    /** [L] Everything in flight on {@code lost} when it was lost is acknowledged (see {@link Failover}). */
    void onFailover(Link lost, long gapNanos, int chunks) {
        if (closed) {
            return; // its streams were dropped with the session, not delivered
        }
        log.info("session {}: {} failed over: its {} chunk(s) in flight acknowledged {} ms after it was lost or "
                + "suspected", idHex, lost, chunks, gapNanos / 1_000_000);
        for (io.invmux.MeasurementListener l : measurementListeners) {
            try {
                l.onFailover(lost, gapNanos, chunks);
            } catch (RuntimeException e) {
                log.warn("session {}: measurement listener failed", idHex, e);
            }
        }
    }

    /** [L] Measures every link, asks the health monitor about it and acts on a change of state. */
    private void onHealthCheck() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        long interval = healthMonitor.thresholds().checkInterval().toNanos();
        long fastest = 0;
        for (Link l : links) {
            fastest = Math.max(fastest, l.rateBytesPerSecond());
        }
        boolean changed = false;
        for (Link l : links) {
            l.updateQuality(now, interval, fastest);
            Quality q = l.quality();
            loadBalancer.updateStats(l, q);
            HealthState next = healthMonitor.check(l, q, now - l.lastReceivedNanos, l.health);
            if (next != l.health && next != HealthState.DEAD) {
                changed = true;
                changeHealth(l, next);
            }
        }
        if (changed) {
            pump();
        }
    }

    private void changeHealth(Link link, HealthState next) {
        HealthState previous = link.health;
        if (previous == next) {
            return;
        }
        link.setHealth(next);
        if (next != HealthState.DEAD) {
            SessionLog.at(log, Level.INFO, idHex, link).log("session {}: {} {} -> {} ({})",
                    idHex, link, previous, next, link.quality());
        }
        for (HealthListener listener : healthListeners) {
            try {
                listener.onStateChange(link, previous, next, link.quality());
            } catch (RuntimeException e) {
                log.warn("session {}: health listener failed", idHex, e);
            }
        }
    }

    /** Records the peer's limits from the session's first handshake; before any stream exists. [L] */
    void setPeerLimits(int streamWindow, int sessionWindow, int maxChunk) {
        // Above the largest this protocol allows, a peer's limits are taken as that largest (the decoder has
        // refused ones below the smallest): they size buffers and counters here.
        this.peerStreamWindow = Math.min(streamWindow, HelloFrame.MAX_WINDOW);
        this.peerSessionMax = Math.min(sessionWindow, HelloFrame.MAX_WINDOW);
        this.peerMaxChunk = Math.min(maxChunk, HelloFrame.MAX_CHUNK);
    }

    byte[] sessionIdBytes() {
        return sessionId;
    }

    byte[] secret() {
        return secret;
    }

    void setPeerIdentity(PeerIdentity identity) {
        this.peerIdentity = identity;
    }

    @Override
    public java.util.Optional<PeerIdentity> peerIdentity() {
        return java.util.Optional.ofNullable(peerIdentity);
    }

    int newLinkId() {
        return nextLinkId.getAndIncrement();
    }

    // =====================================================================================================
    // Session API
    // =====================================================================================================

    @Override
    public String id() {
        return idHex;
    }

    @Override
    public boolean isClient() {
        return client;
    }

    @Override
    public Stream openStream(byte[] metadata, StreamOptions options) throws IOException {
        java.util.Objects.requireNonNull(options, "options");
        if (metadata.length > Wire.MAX_METADATA_LENGTH) {
            throw new IllegalArgumentException("metadata must be at most " + Wire.MAX_METADATA_LENGTH
                    + " bytes, got " + metadata.length);
        }
        if (closed) {
            throw new SessionClosedException(ErrorCode.SESSION_CLOSED, "session " + idHex + " is closed");
        }
        if (goingAway) {
            throw new SessionClosedException(ErrorCode.SESSION_CLOSED, "session " + idHex
                    + " is going away and opens no new streams");
        }
        if (openStreams.incrementAndGet() > config.maxStreams()) {
            openStreams.decrementAndGet();
            throw new InvMuxException(ErrorCode.REFUSED_STREAM, "cannot open a stream: " + config.maxStreams()
                    + " streams are open in session " + idHex + " (maxStreams)");
        }
        long next = nextLocalStreamId.getAndAdd(2);
        if (next > MAX_STREAM_ID) {
            // An id used again would name a stream the peer has closed: it would answer ACK(CLOSED) to new bytes.
            openStreams.decrementAndGet();
            if (streamIdsSpent.compareAndSet(false, true)) {
                limits.hit("streamIds");
                SessionLog.at(log, Level.WARN, idHex, null)
                        .log("session {}: stream ids exhausted; going away so a new session takes new streams",
                        idHex);
                goAway();
            }
            throw new SessionClosedException(ErrorCode.LIMIT_EXCEEDED, "the stream ids of session " + idHex
                    + " are exhausted (the last, " + MAX_STREAM_ID + ", is used); open a new session");
        }
        int id = (int) next;
        MuxStream stream = new MuxStream(this, id, true, metadata.clone(), options.trafficClass());
        loop.execute(() -> registerLocalStream(stream));
        return stream;
    }

    private void registerLocalStream(MuxStream stream) {
        if (closed) {
            stream.fail(new SessionClosedException(ErrorCode.SESSION_CLOSED, "session " + idHex + " closed"));
            openStreams.decrementAndGet();
            return;
        }
        streams.put(stream.id, stream);
        onStreamOpened(stream.id);
        enqueueSend(stream);
        pump();
    }

    @Override
    public Stream acceptStream() throws IOException, InterruptedException {
        return awaitAccept(acceptStreamAsync(), 0);
    }

    @Override
    public Stream acceptStream(Duration timeout) throws IOException, InterruptedException {
        return awaitAccept(acceptStreamAsync(), timeout.toNanos());
    }

    private Stream awaitAccept(CompletableFuture<Stream> future, long timeoutNanos)
            throws IOException, InterruptedException {
        try {
            return timeoutNanos > 0 ? future.get(timeoutNanos, TimeUnit.NANOSECONDS) : future.get();
        } catch (TimeoutException | InterruptedException e) {
            if (!future.cancel(false)) {
                return future.join(); // a stream arrived just now: do not lose it
            }
            if (e instanceof InterruptedException) {
                throw (InterruptedException) e;
            }
            throw new SocketTimeoutException("no stream accepted within " + timeoutNanos / 1_000_000 + " ms");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException ? (IOException) e.getCause() : new IOException(e.getCause());
        }
    }

    @Override
    public CompletableFuture<Stream> acceptStreamAsync() {
        CompletableFuture<Stream> future = new CompletableFuture<>();
        synchronized (acceptLock) {
            MuxStream ready = acceptQueue.pollFirst();
            if (ready != null) {
                future.complete(ready);
            } else if (closed) {
                future.completeExceptionally(
                        new SessionClosedException(ErrorCode.SESSION_CLOSED, "session " + idHex + " is closed"));
            } else {
                acceptWaiters.addLast(future);
            }
        }
        return future;
    }

    @Override
    public CompletableFuture<Connection> addConnection(URI uri) {
        if (!client) {
            return CompletableFuture.failedFuture(new IllegalStateException(
                    "only the dialing side adds links; the peer dials them to this listener"));
        }
        if (closed) {
            return CompletableFuture.failedFuture(
                    new SessionClosedException(ErrorCode.SESSION_CLOSED, "session " + idHex + " is closed"));
        }
        return Dialer.connectLink(this, uri, false, null).thenApply(link -> link);
    }

    @Override
    public CompletableFuture<Void> removeConnection(String id) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        loop.execute(() -> {
            Link link = null;
            for (Link l : links) {
                if (l.id().equals(id)) {
                    link = l;
                }
            }
            if (link == null) {
                done.completeExceptionally(new IllegalArgumentException("no link with id '" + id
                        + "' in session " + idHex + "; links: " + links.stream().map(Link::id).toList()));
                return;
            }
            Link target = link;
            target.removed.whenComplete((v, e) -> done.complete(null));
            startDrain(target, true);
            pump();
        });
        return done;
    }

    /**
     * [L] Graceful removal of a link. The end that removes it sends GOAWAY(link) at once; both ends stop
     * scheduling chunks on it; the other end answers with its own GOAWAY(link) once all its chunks sent on the
     * link are acknowledged; the removing end closes the link once it has that answer and all of its own chunks are
     * acknowledged too. Nothing in flight is cut off, so nothing needs re-sending. (If the answer never comes, the
     * keep-alive tick closes the link after a deadline and unacknowledged chunks are re-sent as for a lost link.)
     */
    private void startDrain(Link link, boolean initiator) {
        if (!link.draining) {
            link.draining = true;
            link.drainStartNanos = System.nanoTime();
            SessionLog.at(log, Level.INFO, idHex, link).log("session {}: draining {}", idHex, link);
        }
        if (initiator && !link.drainInitiator) {
            link.drainInitiator = true;
            sendDrain(link);
        }
        maybeFinishDrain(link);
    }

    private void sendDrain(Link link) {
        if (!link.drainSent) {
            link.drainSent = true;
            link.write(new GoAwayFrame(true, ErrorCode.NO_ERROR, "link removed"));
            link.flush();
        }
    }

    private void maybeFinishDrain(Link link) {
        if (!link.draining || link.lost || link.inFlightChunks > 0) {
            return;
        }
        sendDrain(link);
        if (link.drainInitiator && link.drainReceived) {
            link.channel.close();
        }
    }

    @Override
    public List<Connection> connections() {
        return connectionSnapshot;
    }

    @Override
    public int numStreams() {
        return openStreams.get();
    }

    @Override
    public int numConnections() {
        return connectionSnapshot.size();
    }

    @Override
    public List<Middleware> middleware() {
        return middleware;
    }

    @Override
    public SessionStats stats() {
        if (loop.inEventLoop()) {
            return statsNow();
        }
        try {
            return loop.submit(this::statsNow).get(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while reading stats", e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read stats of session " + idHex, e);
        }
    }

    private SessionStats statsNow() {
        List<SessionStats.LinkStats> linkStats = new ArrayList<>();
        for (Link l : links) {
            linkStats.add(new SessionStats.LinkStats(l.id(), l.type, l.remoteAddress(), l.priority(), l.weight(), l.health,
                    l.bytesSent, l.bytesReceived, l.chunksSent, l.chunksReceived, l.reinjectedChunks,
                    l.pipeBytes(System.nanoTime()), l.quality()));
        }
        java.util.Map<TrafficClass, Long> byClass = new java.util.EnumMap<>(TrafficClass.class);
        for (TrafficClass c : TrafficClass.values()) {
            byClass.put(c, bytesSentByClass[c.ordinal()]);
        }
        return new SessionStats(bytesSent, bytesReceived, chunksSent, chunksReceived, chunksResent, bytesResent,
                duplicateChunks, reorderHighWater, openStreams.get(), refusedLinks.get(), linkStats, reorderBytes,
                reorderChunks, limits.snapshot(), byClass, bytesCopied);
    }

    @Override
    public boolean isGoingAway() {
        return goingAway;
    }

    @Override
    public CompletableFuture<Void> goAwayFuture() {
        return goAwayFuture.copy();
    }

    /** Stops new streams both ways; completes {@link #goAwayFuture} once, after setting the flag. Any thread. */
    private void markGoingAway() {
        goingAway = true;
        goAwayFuture.complete(null);
    }

    @Override
    public void goAway() {
        markGoingAway();
        loop.execute(() -> {
            if (!localGoAway && !closed) {
                localGoAway = true;
                for (Link l : links) {
                    l.write(new GoAwayFrame(false, ErrorCode.NO_ERROR, "session going away"));
                    l.flush();
                }
            }
        });
    }

    @Override
    public CompletableFuture<Void> closeFuture() {
        return closeFuture;
    }

    @Override
    public boolean isClosed() {
        return closed;
    }

    @Override
    public void close() {
        io.netty.util.concurrent.Future<?> f = loop.submit(() -> closeSession(ErrorCode.SESSION_CLOSED,
                "session closed by the application", false));
        if (!loop.inEventLoop()) {
            f.awaitUninterruptibly(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public String toString() {
        return "session " + idHex;
    }

    // =====================================================================================================
    // Links [L]
    // =====================================================================================================

    /** [L] A link finished its handshake and joins the session. */
    void attachLink(Link link) {
        if (closed) {
            link.channel.close();
            return;
        }
        links.add(link);
        refreshConnectionSnapshot();
        if (graceTimer != null) {
            graceTimer.cancel(false);
            graceTimer = null;
        }
        loadBalancer.onConnectionAdded(link);
        SessionLog.at(log, Level.INFO, idHex, link).log("session {}: {} up, {} link(s)", idHex, link, links.size());
        // The peer may have missed ACKs or window updates while links were down: repeat them (they are absolute).
        if (links.size() == 1) {
            for (MuxStream s : streams.values()) {
                s.owesAck();
            }
            sessionAckOwed = true;
        }
        long now = System.nanoTime();
        link.write(new PingFrame(false, now, link.bytesReceived));
        link.onPingSent(now);
        for (HealthListener listener : healthListeners) {
            try {
                listener.onStateChange(link, HealthState.DEAD, link.health, link.quality());
            } catch (RuntimeException e) {
                log.warn("session {}: health listener failed", idHex, e);
            }
        }
        pump();
    }

    /** Claims a link id for a joining link (any thread); false when a live link already has it. */
    boolean claimLinkId(int linkId) {
        return liveLinkIds.add(linkId);
    }

    /** [L] A link is gone (closed, reset, timed out): re-send what was in flight on it elsewhere. */
    void onLinkLost(Link link, Throwable cause) {
        if (link.lost) {
            return;
        }
        link.lost = true;
        link.discardOutbox();
        liveLinkIds.remove(link.linkId);
        if (!links.remove(link)) {
            return;
        }
        refreshConnectionSnapshot();
        loadBalancer.onConnectionRemoved(link);
        healthMonitor.onConnectionRemoved(link);
        changeHealth(link, HealthState.DEAD);
        link.removed.complete(null);
        if (closed) {
            return;
        }
        String reason = cause == null ? "closed" : cause.getMessage();
        if (link.draining) {
            SessionLog.at(log, Level.INFO, idHex, link).log("session {}: {} removed", idHex, link);
        } else {
            SessionLog.at(log, Level.WARN, idHex, link).log("session {}: {} lost ({}), {} link(s) left",
                    idHex, link, reason, links.size());
        }
        ErrorAction action = link.draining ? ErrorAction.FAILOVER
                : config.errorHandler().handleConnectionError(link,
                        cause != null ? cause : new IOException("link closed"));
        if (action == ErrorAction.CLOSE) {
            closeSession(ErrorCode.LINKS_LOST, "error handler closed the session after " + link + " was lost: "
                    + reason, false);
            return;
        }
        Failover failover = new Failover(this, link, System.nanoTime());
        for (MuxStream s : streams.values()) {
            if (s.onLinkLost(link, failover)) {
                queueResend(s);
            }
        }
        sessionAckOwed = true;
        for (ResetFrame rst : recentResets.values()) {
            controlWrite(rst);
        }
        if (action == ErrorAction.RECONNECT && client && link.dialUri != null && !link.draining) {
            Dialer.scheduleReconnect(this, link, 0);
        }
        if (links.isEmpty()) {
            startGraceTimer();
        }
        pump();
    }

    private void queueResend(MuxStream s) {
        if (!s.inResendQueue) {
            s.inResendQueue = true;
            resendQueue.add(s);
        }
    }

    /**
     * How long bytes may take to reach the peer on {@code link} before it is suspected of stalling: three
     * keep-alive intervals, two round trips, or twice the time a full queue (its cap) takes at its measured rate,
     * whichever is longest. The last matters on slow links, where a couple of chunks are a long wait.
     */
    private long suspectAfter(Link link) {
        long rate = link.rateBytesPerSecond();
        long drainNanos = rate > 0 ? (long) (link.inFlightCap() * 1e9 / rate) : 0;
        return Math.max(Math.max(3 * config.keepAliveInterval().toNanos(), 2 * Math.max(0, link.srttNanos())),
                2 * drainNanos);
    }

    /**
     * [L] Bytes sent on this link stopped arriving although the link may still look alive: take it out of
     * scheduling and send its unacknowledged chunks again on the other links, so a black-holed or throttled path
     * costs a few hundred milliseconds rather than the whole keep-alive timeout.
     */
    private void markSuspect(Link link, long lateBytes, long afterNanos, long now) {
        link.markSuspect(now);
        SessionLog.at(log, Level.INFO, idHex, link)
                .log("session {}: {} suspect: {} bytes sent over {} ms ago have not arrived; re-sending its {} chunk(s)"
                + " in flight elsewhere", idHex, link, lateBytes, afterNanos / 1_000_000, link.inFlightChunks);
        Failover failover = new Failover(this, link, now);
        for (MuxStream s : streams.values()) {
            if (s.reinjectFrom(link, failover)) {
                queueResend(s);
            }
        }
    }

    private void startGraceTimer() {
        long grace = config.resumeGracePeriod().toMillis();
        if (grace == 0) {
            closeSession(ErrorCode.LINKS_LOST, "all links of session " + idHex + " were lost", false);
            return;
        }
        SessionLog.at(log, Level.WARN, idHex, null).log("session {}: no link left; streams wait {} ms for one to join",
                idHex, grace);
        graceTimer = loop.schedule(() -> {
            if (links.isEmpty()) {
                closeSession(ErrorCode.LINKS_LOST, "all links of session " + idHex + " were lost and none joined"
                        + " within the grace period of " + grace + " ms", false);
            }
        }, grace, TimeUnit.MILLISECONDS);
    }

    private void refreshConnectionSnapshot() {
        connectionSnapshot = List.copyOf(links);
    }

    /** [L] Fails a link now, telling the peer why when it still can. */
    void failLink(Link link, ErrorCode code, String message) {
        if (link.lost) {
            return;
        }
        link.write(new GoAwayFrame(true, code, message));
        link.flush();
        link.channel.close();
        onLinkLost(link, new InvMuxException(code, message));
    }

    /** [L] Resets the streams created by DATA whose OPEN has not come within pendingOpenTimeout. */
    private void expireAwaitingOpen(long now) {
        long timeout = config.pendingOpenTimeout().toNanos();
        MuxStream s;
        while ((s = awaitingOpen.peekFirst()) != null && now - s.createdNanos > timeout) {
            awaitingOpen.pollFirst();
            if (!s.removed && s.awaitingOpen()) {
                limits.hit("pendingOpenTimeout");
                resetStream(s, ErrorCode.PROTOCOL_ERROR, "no OPEN for stream " + Integer.toUnsignedString(s.id)
                        + " within " + timeout / 1_000_000 + " ms of its first DATA (pendingOpenTimeout)", false);
            }
        }
    }

    /** [L] {@code stream}'s first OPEN went out: watch for its acknowledgement (see retransmitOpens). */
    void onOpenSent(MuxStream stream) {
        unackedOpens.addLast(stream);
    }

    /**
     * [L] Sends again the OPEN of each local stream the peer has not acknowledged within {@link #OPEN_RETRANSMIT_NANOS}
     * (doubling per try, as TCP does its SYN). The receiver acknowledges a stream as soon as its OPEN arrives, so an
     * OPEN that long without an ACK was lost on a path that is gone, or sits behind one that stalls, and the peer
     * holds the stream's data waiting for it (up to its pendingOpenTimeout). Lost links already re-send the OPENs
     * they carried; this covers the rest. A repeated OPEN is ignored by the receiver.
     */
    private void retransmitOpens(long now) {
        boolean any = false;
        for (java.util.Iterator<MuxStream> it = unackedOpens.iterator(); it.hasNext(); ) {
            MuxStream s = it.next();
            if (s.removed || s.openAcked()) {
                it.remove();
            } else if (s.openDueAgain(now, OPEN_RETRANSMIT_NANOS)) {
                queueResend(s);
                any = true;
            }
        }
        if (any) {
            pump();
        }
    }

    private void onKeepAliveTick() {
        if (closed) {
            return;
        }
        long now = System.nanoTime();
        expireAwaitingOpen(now);
        retransmitOpens(now);
        long timeout = config.keepAliveTimeout().toNanos();
        long writeTimeout = config.writeTimeout().toNanos();
        for (Link link : new ArrayList<>(links)) {
            if (now - link.lastReceivedNanos > timeout) {
                failLink(link, ErrorCode.KEEPALIVE_TIMEOUT, "no frame received on " + link + " for "
                        + (now - link.lastReceivedNanos) / 1_000_000 + " ms (keepAliveTimeout "
                        + timeout / 1_000_000 + " ms)");
                continue;
            }
            if (link.draining && link.drainInitiator && now - link.drainStartNanos > DRAIN_DEADLINE_NANOS) {
                SessionLog.at(log, Level.WARN, idHex, link).log("session {}: {} did not drain within {} ms; closing it",
                        idHex, link,
                        DRAIN_DEADLINE_NANOS / 1_000_000);
                link.channel.close();
                continue;
            }
            // Stalled: bytes sent on this link a while ago have not reached the peer, as its per-link reports (in
            // every PING and PONG) say. Not acknowledgements: when one link stalls, the others' chunks wait behind
            // the gap in the stream and go unacknowledged too, though they arrived.
            link.markSent(now);
            long after = suspectAfter(link);
            if (link.inFlightChunks > 0 && !link.suspect && links.size() > 1) {
                long late = link.undeliveredSentBefore(now - after);
                if (late > 0) {
                    markSuspect(link, late, after, now);
                }
            }
            if (!link.channel.isWritable()) {
                if (link.unwritableSinceNanos == 0) {
                    link.unwritableSinceNanos = now;
                } else if (now - link.unwritableSinceNanos > writeTimeout) {
                    failLink(link, ErrorCode.KEEPALIVE_TIMEOUT, "writes on " + link + " stalled for "
                            + (now - link.unwritableSinceNanos) / 1_000_000 + " ms (writeTimeout)");
                    continue;
                }
            } else {
                link.unwritableSinceNanos = 0;
            }
            link.write(new PingFrame(false, now, link.bytesReceived));
            link.onPingSent(now);
            link.flush();
        }
        pump();
    }

    /**
     * [L] The link for control frames: the active link with the lowest round-trip time as it stands now, so a link
     * whose heartbeat has gone unanswered for longer than another link's round trip (cut, or stuck behind a queue)
     * stops carrying the session's ACKs within about one heartbeat interval, not at the keep-alive timeout.
     */
    Link controlLink() {
        long now = System.nanoTime();
        Link best = null;
        long bestRtt = 0;
        for (Link l : links) {
            if (l.lost) {
                continue;
            }
            long rtt = l.currentRttNanos(now);
            if (best == null || (l.draining ? 1 : 0) < (best.draining ? 1 : 0)
                    || (l.draining == best.draining && rtt < bestRtt)) {
                best = l;
                bestRtt = rtt;
            }
        }
        return best;
    }

    /** [L] Smallest smoothed RTT over the links, or 0 when unknown. */
    long minRttNanos() {
        long min = Long.MAX_VALUE;
        for (Link l : links) {
            long rtt = l.srttNanos();
            if (rtt >= 0 && rtt < min) {
                min = rtt;
            }
        }
        return min == Long.MAX_VALUE ? 0 : min;
    }

    // =====================================================================================================
    // Inbound frames [L]
    // =====================================================================================================

    /** [L] One frame from a link; takes ownership of it. */
    void onFrame(Link link, Frame frame) {
        link.lastReceivedNanos = System.nanoTime();
        if (closed || link.lost) {
            if (frame instanceof DataFrame) {
                ((DataFrame) frame).release();
            }
            return;
        }
        switch (frame.type()) {
            case FrameType.DATA:
                onDataFrame(link, (DataFrame) frame);
                break;
            case FrameType.OPEN:
                onOpenFrame((OpenFrame) frame);
                break;
            case FrameType.ACK:
                onAckFrame((AckFrame) frame);
                break;
            case FrameType.RST:
                onResetFrame((ResetFrame) frame);
                break;
            case FrameType.PING:
                onPingFrame(link, (PingFrame) frame);
                break;
            case FrameType.GOAWAY:
                onGoAwayFrame(link, (GoAwayFrame) frame);
                break;
            default:
                failLink(link, ErrorCode.PROTOCOL_ERROR, "unexpected " + FrameType.name(frame.type())
                        + " frame after the handshake");
        }
    }

    /** [L] After a batch of inbound frames: send the ACKs they earned and whatever they unblocked. */
    void afterInbound() {
        MuxStream s;
        while ((s = deliveries.poll()) != null) {
            s.deliveryQueued = false;
            s.deliverToHandler();
        }
        pump();
    }

    /** [L] {@code stream} got bytes in this read batch: hand them to its handler once the batch is in. */
    void deliverAfterInbound(MuxStream stream) {
        if (!stream.deliveryQueued) {
            stream.deliveryQueued = true;
            deliveries.add(stream);
        }
    }

    private void onDataFrame(Link link, DataFrame frame) {
        int length = frame.payload.readableBytes();
        link.bytesReceived += length;
        link.chunksReceived++;
        chunksReceived++;
        MuxStream stream = streams.get(frame.streamId);
        if (stream == null) {
            stream = streamForUnknownId(frame.streamId);
            if (stream == null) {
                frame.release();
                return;
            }
        }
        ByteBuf payload;
        try {
            payload = applyInbound(frame.streamId, frame.payload);
        } catch (RuntimeException e) {
            // The middleware owns (and has released) the chunk. Nothing of it reached the stream, so closing the
            // link makes the sender re-send it, with the link's other unacknowledged chunks, on the others.
            failLink(link, ErrorCode.PROTOCOL_ERROR, "middleware refused the chunk of stream " + frame.streamId
                    + " at offset " + frame.offset + ": " + e.getMessage());
            return;
        }
        stream.onData(frame, payload);
    }

    /**
     * [L] A frame names a stream we do not hold. Either it is closed (answer so the peer can forget it) or it is a
     * peer stream whose DATA overtook its OPEN on another link (create it; it is offered for accept once the OPEN
     * arrives).
     */
    private MuxStream streamForUnknownId(int streamId) {
        boolean peerInitiated = (streamId & 1) == (client ? 0 : 1);
        if (!peerInitiated || closedPeerStreams.contains(streamId)) {
            if (!peerInitiated && Integer.toUnsignedLong(streamId) >= nextLocalStreamId.get()) {
                SessionLog.at(log, Level.DEBUG, idHex, null).log("session {}: frame for stream {} we never opened",
                        idHex, streamId);
                return null;
            }
            ResetFrame reset = recentResets.get(streamId);
            controlWrite(reset != null ? reset : new AckFrame(streamId, Frame.FLAG_ACK_CLOSED, 0, 0));
            return null;
        }
        if (localGoAway || openStreams.get() >= config.maxStreams()) {
            refuse(streamId, localGoAway ? "session is going away" : "maxStreams (" + config.maxStreams()
                    + ") streams are open");
            return null;
        }
        openStreams.incrementAndGet();
        notePeerStream(streamId);
        MuxStream stream = new MuxStream(this, streamId, false, null, TrafficClass.BULK);
        stream.createdNanos = System.nanoTime();
        awaitingOpen.addLast(stream);
        if (awaitingOpen.size() > awaitingOpenCompactAt) {
            awaitingOpen.removeIf(s -> s.removed || !s.awaitingOpen());
            awaitingOpenCompactAt = Math.max(1024, 2 * awaitingOpen.size());
        }
        streams.put(streamId, stream);
        onStreamOpened(streamId);
        return stream;
    }

    /** [L] A peer stream exists or existed: ids up to it are ones the peer has used. */
    private void notePeerStream(int streamId) {
        if (Integer.compareUnsigned(streamId, highestPeerStreamId) > 0) {
            highestPeerStreamId = streamId;
        }
    }

    /**
     * [L] Remembers a peer stream id as closed. The set holds ranges: one per run of closed ids, split by streams
     * still open and ids not seen yet. A peer that skips ids makes a range of each; past the streams that can be
     * open plus {@link #RESETS_AHEAD} it is abusing the set and the session closes (after the frame at hand).
     */
    private void markPeerStreamClosed(int streamId) {
        if (closedIdsOverflow) {
            return; // closing: the frames still in this batch must not grow the set
        }
        closedPeerStreams.add(streamId);
        if (!closedIdsOverflow && closedPeerStreams.rangeCount() > config.maxStreams() + RESETS_AHEAD) {
            closedIdsOverflow = true;
            limits.hit("maxStreams");
            String message = "peer skipped stream ids: its closed streams form more than " + (config.maxStreams()
                    + RESETS_AHEAD) + " ranges (maxStreams + " + RESETS_AHEAD + ")";
            loop.execute(() -> closeSession(ErrorCode.PROTOCOL_ERROR, message, false));
        }
    }

    /** Bytes written to this session's links and not yet taken by their sockets (any thread; asks the loop). */
    long outboundBytes() throws Exception {
        return loop.submit(() -> {
            long n = 0;
            for (Link l : links) {
                io.netty.channel.ChannelOutboundBuffer out = l.channel.unsafe().outboundBuffer();
                n += out == null ? 0 : out.totalPendingWriteBytes();
            }
            return n;
        }).get(10, TimeUnit.SECONDS);
    }

    /** Links joined now (claimed ids; any thread). */
    int liveLinkCount() {
        return liveLinkIds.size();
    }

    /** Makes the next stream opened here take id {@code next} (tests reach the end of the id space). */
    void skipStreamIdsForTest(long next) {
        nextLocalStreamId.set(next);
    }

    /** How many ranges the set of closed peer ids holds (any thread; asks the loop). */
    int closedPeerStreamRanges() throws Exception {
        return loop.submit(closedPeerStreams::rangeCount).get(10, TimeUnit.SECONDS);
    }

    private void refuse(int streamId, String why) {
        notePeerStream(streamId);
        markPeerStreamClosed(streamId);
        ResetFrame rst = new ResetFrame(streamId, ErrorCode.REFUSED_STREAM, "stream refused: " + why);
        recentResets.put(streamId, rst);
        controlWrite(rst);
    }

    private void onOpenFrame(OpenFrame frame) {
        MuxStream stream = streams.get(frame.streamId);
        if (stream == null) {
            stream = streamForUnknownId(frame.streamId);
            if (stream == null) {
                return;
            }
        }
        if (!stream.awaitingOpen()) {
            return; // a repeated OPEN (re-sent after a link loss)
        }
        TrafficClass trafficClass = TrafficClass.ofWireValue(frame.trafficClassValue());
        if (trafficClass == null) {
            resetStream(stream, ErrorCode.PROTOCOL_ERROR, "OPEN of stream " + Integer.toUnsignedString(frame.streamId)
                    + " names traffic class " + frame.trafficClassValue() + ", which is none of 0 (bulk),"
                    + " 1 (interactive), 2 (redundant)", false);
            return;
        }
        synchronized (acceptLock) {
            if (acceptQueue.size() >= config.acceptBacklog()) {
                resetStream(stream, ErrorCode.REFUSED_STREAM, "stream refused: accept backlog of "
                        + config.acceptBacklog() + " streams is full", false);
                return;
            }
        }
        stream.onOpen(frame.metadata, trafficClass);
        offerAccepted(stream);
    }

    private void offerAccepted(MuxStream stream) {
        synchronized (acceptLock) {
            CompletableFuture<Stream> waiter;
            while ((waiter = acceptWaiters.pollFirst()) != null) {
                if (waiter.complete(stream)) {
                    return;
                }
            }
            acceptQueue.addLast(stream);
        }
    }

    private void onAckFrame(AckFrame frame) {
        if (frame.streamId == 0) {
            if (frame.maxOffset > peerSessionMax) {
                peerSessionMax = frame.maxOffset;
                for (MuxStream s : blockedOnSessionCredit) {
                    s.blockedOnSession = false;
                    enqueueSend(s);
                }
                blockedOnSessionCredit.clear();
            }
            return;
        }
        MuxStream stream = streams.get(frame.streamId);
        if (stream != null) {
            stream.onAck(frame);
            releaseDrainedLinks();
        }
    }

    private void releaseDrainedLinks() {
        for (int i = links.size() - 1; i >= 0; i--) {
            Link l = links.get(i);
            if (l.draining) {
                maybeFinishDrain(l);
            }
        }
    }

    private void onResetFrame(ResetFrame frame) {
        MuxStream stream = streams.get(frame.streamId);
        if (stream == null) {
            int id = frame.streamId;
            if ((id & 1) == (client ? 0 : 1) && !closedPeerStreams.contains(id)) {
                // A peer stream we have not seen: its RST overtook its OPEN. Remember it, so the OPEN is refused.
                if (Integer.toUnsignedLong(id) > Integer.toUnsignedLong(highestPeerStreamId) + 2L * RESETS_AHEAD) {
                    limits.hit("resetsAhead");
                    closeSession(ErrorCode.PROTOCOL_ERROR, "peer reset stream " + Integer.toUnsignedString(id)
                            + ", more than " + RESETS_AHEAD + " ids beyond the highest stream it opened ("
                            + Integer.toUnsignedString(highestPeerStreamId) + ")", false);
                    return;
                }
                markPeerStreamClosed(id);
            }
            return;
        }
        String message = frame.errorCode == ErrorCode.REFUSED_STREAM ? "stream refused by peer: " + frame.message
                : "stream reset by peer (" + frame.errorCode + "): " + frame.message;
        failStream(stream, new StreamResetException(frame.errorCode, message, true));
    }

    private void onPingFrame(Link link, PingFrame frame) {
        long now = System.nanoTime();
        if (frame.isAck()) {
            if (link.onPong(frame.opaque, frame.receivedBytes, now)) {
                long rate = link.clearSuspect(now, suspectAfter(link));
                SessionLog.at(log, Level.INFO, idHex, link).log("session {}: {} delivers again{}",
                        idHex, link, rate < 0 ? ""
                        : String.format(java.util.Locale.ROOT, " (drained at %.1f Mbit/s)", rate * 8 / 1e6));
                requestPump();
            }
        } else {
            link.onPeerReport(frame.receivedBytes, now);
            if (link.takePong(now, config.maxPingRate())) {
                link.write(new PingFrame(true, frame.opaque, link.bytesReceived));
            } else {
                limits.hit("maxPingRate");
            }
        }
    }

    private void onGoAwayFrame(Link link, GoAwayFrame frame) {
        if (frame.linkOnly()) {
            if (frame.errorCode != ErrorCode.NO_ERROR) {
                SessionLog.at(log, Level.WARN, idHex, link).log("session {}: peer dropped {} ({}: {})",
                        idHex, link, frame.errorCode,
                        RefusalLog.printable(frame.message, 200));
                onLinkLost(link, new InvMuxException(frame.errorCode, frame.message));
                link.channel.close();
                return;
            }
            link.drainReceived = true;
            startDrain(link, false);
            return;
        }
        if (frame.errorCode == ErrorCode.NO_ERROR) {
            SessionLog.at(log, Level.INFO, idHex, null).log("session {}: peer is going away: {}",
                    idHex, RefusalLog.printable(frame.message, 200));
            peerGoAway = true;
            markGoingAway();
            return;
        }
        closeSession(frame.errorCode, "peer closed session " + idHex + " (" + frame.errorCode + "): "
                + RefusalLog.printable(frame.message, 200), true);
    }

    // =====================================================================================================
    // Outbound [L]
    // =====================================================================================================

    /** Asks the loop to run the scheduler (any thread). */
    void requestPump() {
        if (wakeupScheduled.compareAndSet(false, true)) {
            loop.execute(this::onWakeup);
        }
    }

    /** Queues an application signal for a stream (any thread). */
    void signal(MuxStream stream) {
        signals.add(stream);
        requestPump();
    }

    private void onWakeup() {
        wakeupScheduled.set(false);
        MuxStream s;
        while ((s = signals.poll()) != null) {
            s.onSignal();
        }
        if (consumedTotal.get() >= sessionCreditThreshold) {
            long c = consumedTotal.get();
            long newMax = c + config.sessionWindowSize();
            if (newMax > recvSessionMax) {
                recvSessionMax = newMax;
                sessionAckOwed = true;
            }
            sessionCreditThreshold = c + config.sessionWindowSize() / 2;
        }
        pump();
    }

    /**
     * [L] A stream's ACK may wait up to {@link #ACK_DELAY_MICROS} for a frame to ride with; any pump that sends
     * data takes it along earlier.
     */
    void delayAck(MuxStream stream) {
        delayedAcks.add(stream);
        if (!ackTimerScheduled) {
            ackTimerScheduled = true;
            loop.schedule(this::onAckTimer, ACK_DELAY_MICROS, TimeUnit.MICROSECONDS);
        }
    }

    private void onAckTimer() {
        ackTimerScheduled = false;
        releaseDelayedAcks();
        pump();
    }

    private void releaseDelayedAcks() {
        MuxStream s;
        while ((s = delayedAcks.pollFirst()) != null) {
            if (s.ackDelayed) {
                s.ackDelayed = false;
                ackQueue.add(s);
            }
        }
    }

    /** [L] Puts a stream in line for the scheduler. */
    void enqueueSend(MuxStream stream) {
        if (!stream.inSendQueue && !stream.blockedOnSession && !stream.removed) {
            stream.inSendQueue = true;
            (stream.trafficClass() == TrafficClass.BULK ? sendQueue : urgentSendQueue).addLast(stream);
        }
    }

    /**
     * [L] The scheduler: owed ACKs first (they unblock the peer), then chunks to re-send (they block the peer's
     * reorder buffers), then the new chunks of interactive and redundant streams, then those of bulk streams, one
     * per stream in turn so no stream starves the others, for as long as some link can take more. Ends by flushing
     * every link once.
     */
    void pump() {
        if (pumping || closed) {
            return;
        }
        pumping = true;
        try {
            if (links.isEmpty()) {
                return;
            }
            flushAcks();
            collectUsable();
            long chunksBefore = chunksSent + chunksResent;
            if (!resendQueue.isEmpty()) {
                pumpResends();
            }
            if (!urgentSendQueue.isEmpty()) {
                pumpUrgent();
            }
            while (!usable.isEmpty()) {
                MuxStream s = sendQueue.pollFirst();
                if (s == null) {
                    break;
                }
                s.inSendQueue = false;
                int result = s.sendOne(usable);
                if (result == MuxStream.HELD) {
                    // A busy link will deliver sooner than any free one: wait for it to drain (an ACK pumps).
                    s.inSendQueue = true;
                    sendQueue.addFirst(s);
                    break;
                }
                if (result == MuxStream.SENT_MORE) {
                    s.inSendQueue = true;
                    sendQueue.addLast(s);
                } else if (result == MuxStream.BLOCKED_SESSION_CREDIT) {
                    s.blockedOnSession = true;
                    blockedOnSessionCredit.add(s);
                }
                pruneUsable();
            }
            if (chunksSent + chunksResent != chunksBefore) {
                releaseDelayedAcks(); // they ride along with the data just written
            }
            flushAcks();
        } finally {
            pumping = false;
            for (Link l : links) {
                l.flush();
            }
        }
    }

    /**
     * [L] Sends the new chunks of interactive and redundant streams, in turn, for as long as they have credit: on
     * any link that takes data, full or not (each chunk goes where it is delivered first, and a full link that
     * still does is better than waiting). Their credit (a stream window each) bounds what they put on the links.
     */
    private void pumpUrgent() {
        collectResendable();
        if (resendable.isEmpty()) {
            return;
        }
        MuxStream s;
        while ((s = urgentSendQueue.pollFirst()) != null) {
            s.inSendQueue = false;
            int result = s.sendOne(resendable);
            if (result == MuxStream.SENT_MORE) {
                s.inSendQueue = true;
                urgentSendQueue.addLast(s);
            } else if (result == MuxStream.BLOCKED_SESSION_CREDIT) {
                s.blockedOnSession = true;
                blockedOnSessionCredit.add(s);
            }
        }
        pruneUsable();
    }

    /**
     * [L] Of {@code candidates} other than {@code excluding}, the link expected to deliver {@code length} more bytes
     * first: its unacknowledged bytes and these at its measured rate (the mean of the measured links' rates when
     * it has none yet), plus half the round trip it shows now (which grows while its heartbeat goes unanswered).
     * Null when there is no other link.
     */
    Link fastest(List<Link> candidates, int length, Link excluding) {
        long now = System.nanoTime();
        double fallbackRate = meanMeasuredRate();
        Link best = null;
        double bestTime = Double.MAX_VALUE;
        for (int i = 0; i < candidates.size(); i++) {
            Link l = candidates.get(i);
            if (l == excluding) {
                continue;
            }
            long bw = l.rateBytesPerSecond();
            long rtt = l.currentRttNanos(now);
            // A link with no round trip measured yet comes after every measured one.
            double oneWay = rtt == Long.MAX_VALUE ? 1.0 : rtt / 2e9;
            double time = (l.queuedBytes() + length) / (bw > 0 ? bw : fallbackRate) + oneWay;
            if (best == null || time < bestTime) {
                best = l;
                bestTime = time;
            }
        }
        return best;
    }

    private double meanMeasuredRate() {
        double sum = 0;
        int n = 0;
        for (Link l : links) {
            long bw = l.rateBytesPerSecond();
            if (bw > 0) {
                sum += bw;
                n++;
            }
        }
        return n == 0 ? 1_000_000 : sum / n;
    }

    /** [L] Sends everything that waits for a re-send, ahead of new chunks. */
    private void pumpResends() {
        collectResendable();
        if (resendable.isEmpty()) {
            return;
        }
        MuxStream s;
        while ((s = resendQueue.pollFirst()) != null) {
            s.inResendQueue = false;
            s.resendAll(resendable);
        }
        pruneUsable();
    }

    /**
     * [L] The links that get chunks now: of the links that can take data and are schedulable by health, those of
     * the highest priority tier. Lower tiers are backups: they carry data only while no higher-tier link is
     * healthy or every higher-tier link is full. Unhealthy links are used only when no schedulable link exists
     * at all (a bad link beats none).
     */
    private void collectUsable() {
        collectTier(usable, Link::canTakeData);
    }

    /**
     * [L] Where re-sends may go: as {@link #collectUsable} but full links count. A re-sent chunk must not wait for
     * room: a link is often full precisely because its chunks wait behind the gap this re-send fills.
     */
    private void collectResendable() {
        collectTier(resendable, Link::takesData);
    }

    /**
     * [L] The links that pass {@code takes}, of the highest priority tier among them (see collectUsable). A link
     * whose budget is spent counts only while no other link takes data at all (full or not): it is the last resort,
     * never the overflow of a busy primary.
     */
    private void collectTier(List<Link> into, java.util.function.Predicate<Link> takes) {
        into.clear();
        boolean anySchedulable = false;
        boolean anyWithinBudget = false;
        for (Link l : links) {
            if (l.health.schedulable() && !l.lost && !l.draining) {
                anySchedulable = true;
            }
            if (!anyWithinBudget && l.takesData() && !l.overBudget()) {
                anyWithinBudget = true;
            }
        }
        withinBudgetElsewhere = anyWithinBudget;
        int best = Integer.MIN_VALUE;
        for (Link l : links) {
            if (eligible(l, takes, anySchedulable, anyWithinBudget)) {
                best = Math.max(best, l.priority());
            }
        }
        for (Link l : links) {
            if (eligible(l, takes, anySchedulable, anyWithinBudget) && l.priority() == best) {
                into.add(l);
            }
        }
    }

    private static boolean eligible(Link l, java.util.function.Predicate<Link> takes, boolean anySchedulable,
            boolean anyWithinBudget) {
        return takes.test(l) && (l.health.schedulable() || !anySchedulable) && !(anyWithinBudget && l.overBudget());
    }

    /**
     * [L] Drops from {@link #usable} the links that filled up, and those whose budget the last chunk spent while
     * another link is within its own (see collectTier).
     */
    private void pruneUsable() {
        for (int i = usable.size() - 1; i >= 0; i--) {
            Link l = usable.get(i);
            if (!l.canTakeData() || (withinBudgetElsewhere && l.overBudget())) {
                usable.remove(i);
            }
        }
    }

    private void flushAcks() {
        if (links.isEmpty()) {
            return;
        }
        Link link = controlLink();
        if (link != lastControlLink) {
            if (lastControlLink != null && !lastControlLink.lost) {
                // Moved off a live link that stopped answering: what was sent on it may never arrive, and the
                // peer may be waiting for it to send more. ACKs are absolute, so repeat them all.
                for (MuxStream st : streams.values()) {
                    st.owesAck();
                }
                sessionAckOwed = true;
            }
            lastControlLink = link;
        }
        if (sessionAckOwed) {
            sessionAckOwed = false;
            link.write(new AckFrame(0, 0, 0, recvSessionMax));
        }
        MuxStream s;
        while ((s = ackQueue.pollFirst()) != null) {
            if (s.removed || !s.ackOwed) {
                s.ackOwed = false;
                continue;
            }
            link.write(s.takeAck());
            s.maybeRemove();
        }
    }

    /** [L] Sends a control frame on the control link (dropped when no link is up: such frames are repeatable). */
    private void controlWrite(Frame frame) {
        Link link = controlLink();
        if (link != null) {
            link.write(frame);
        }
    }

    /**
     * [L] Chooses a link for a chunk through the load balancer, guarding against a foreign answer; null when the
     * balancer holds the chunk back for a busy link.
     */
    Link select(List<Link> candidates, int streamId, int length) {
        Connection chosen = loadBalancer.select(candidates, streamId, length);
        if (chosen == null) {
            return null;
        }
        if (chosen instanceof Link && candidates.contains(chosen)) {
            return (Link) chosen;
        }
        SessionLog.at(log, Level.WARN, idHex, null)
                .log("session {}: load balancer returned {}, not one of the offered links; using the first",
                idHex,
                chosen);
        return candidates.get(0);
    }

    /** [L] Like {@link #select} but never holds back (re-sends go out at once). */
    Link selectNow(List<Link> candidates, int streamId, int length) {
        Link link = select(candidates, streamId, length);
        return link != null ? link : candidates.get(0);
    }

    /** [L] How many more bytes the peer's session window allows. */
    long sessionCredit() {
        return peerSessionMax - sentHighest;
    }

    /**
     * The largest DATA payload (after the offset) this end accepts: the chunk size plus what the middleware chain
     * may add to a chunk (both ends have the same chain).
     */
    static int maxFramedChunk(Config config) {
        return config.maxChunkSize() + config.middleware().stream().mapToInt(Middleware::maxOverhead).sum();
    }

    int peerChunkLimit() {
        return Math.min(maxChunkSize, peerMaxChunk);
    }

    void onChunkSent(int length, TrafficClass trafficClass) {
        sentHighest += length;
        bytesSent += length;
        chunksSent++;
        bytesSentByClass[trafficClass.ordinal()] += length;
    }

    /** [L] A redundant stream's second copy of a chunk went out. */
    void onCopySent(int length) {
        bytesCopied += length;
    }

    void onChunkResent(int length) {
        chunksResent++;
        bytesResent += length;
    }

    ByteBuf applyOutbound(int streamId, ByteBuf chunk) {
        ByteBuf b = chunk;
        for (int i = 0; i < middleware.size(); i++) {
            b = middleware.get(i).processOutbound(streamId, b);
        }
        return b;
    }

    private ByteBuf applyInbound(int streamId, ByteBuf chunk) {
        ByteBuf b = chunk;
        for (int i = middleware.size() - 1; i >= 0; i--) {
            b = middleware.get(i).processInbound(streamId, b);
        }
        return b;
    }

    // =====================================================================================================
    // Receive accounting [L]
    // =====================================================================================================

    /** [L] Bookkeeping for a received chunk; {@code newBytes} moved the stream's highest offset. */
    void onChunkReceived(long newBytes, boolean fresh, long waitingBytes) {
        receivedHighest += newBytes;
        bytesReceived += newBytes;
        if (!fresh) {
            duplicateChunks++;
        }
        if (waitingBytes > reorderHighWater) {
            reorderHighWater = waitingBytes;
        }
        if (receivedHighest > recvSessionMax) {
            closeSession(ErrorCode.FLOW_CONTROL_ERROR, "peer sent " + receivedHighest
                    + " bytes, beyond the session window limit of " + recvSessionMax, false);
        }
    }

    /**
     * [L] A stream's reorder buffer grew or shrank by {@code bytes} in {@code chunks}; false when the session now
     * holds more chunks out of order than {@link Config#maxReorderChunks()} allows.
     */
    boolean onReorderChanged(long bytes, int chunks) {
        reorderBytes += bytes;
        reorderChunks += chunks;
        if (chunks > 0 && reorderChunks > config.maxReorderChunks()) {
            limits.hit("maxReorderChunks");
            return false;
        }
        return true;
    }

    /** The application took {@code n} bytes off some stream (any thread): session credit may be due. */
    void onConsumed(long n) {
        if (consumedTotal.addAndGet(n) >= sessionCreditThreshold) {
            requestPump();
        }
    }

    // =====================================================================================================
    // Stream lifecycle [L]
    // =====================================================================================================

    private void onStreamOpened(int streamId) {
        for (Middleware m : middleware) {
            m.onStreamOpen(streamId);
        }
    }

    /** [L] Resets a stream: tells the peer, fails it locally. */
    void resetStream(MuxStream stream, ErrorCode code, String message, boolean byPeer) {
        if (stream.removed) {
            return;
        }
        ResetFrame rst = new ResetFrame(stream.id, code, message);
        recentResets.put(stream.id, rst);
        controlWrite(rst);
        failStream(stream, new StreamResetException(code, message, byPeer));
        ErrorAction ignored = config.errorHandler().handleStreamError(stream,
                new StreamResetException(code, message, byPeer));
        if (ignored == ErrorAction.CLOSE) {
            closeSession(code, "error handler closed the session after " + stream + " failed: " + message, false);
        }
    }

    private void failStream(MuxStream stream, IOException cause) {
        boolean wasRemoved = stream.removed;
        stream.fail(cause);
        if (!wasRemoved) {
            removeStream(stream);
        }
    }

    /** [L] Forgets a stream; late frames for it are answered as for a closed stream. */
    void removeStream(MuxStream stream) {
        if (streams.remove(stream.id) == null) {
            return;
        }
        if (!stream.local) {
            markPeerStreamClosed(stream.id);
            synchronized (acceptLock) {
                acceptQueue.remove(stream);
            }
        }
        openStreams.decrementAndGet();
        for (Middleware m : middleware) {
            m.onStreamClose(stream.id);
        }
        releaseDrainedLinks();
    }

    /** [L] Ends the session: the peer is told, every stream fails, every link closes. */
    void closeSession(ErrorCode code, String message, boolean byPeer) {
        if (closed) {
            return;
        }
        closed = true;
        markGoingAway();
        if (keepAliveTimer != null) {
            keepAliveTimer.cancel(false);
        }
        if (healthTimer != null) {
            healthTimer.cancel(false);
        }
        if (graceTimer != null) {
            graceTimer.cancel(false);
        }
        if (code == ErrorCode.SESSION_CLOSED || code == ErrorCode.NO_ERROR) {
            SessionLog.at(log, Level.INFO, idHex, null).log("session {}: closed{}",
                    idHex, byPeer ? " by the peer" : "");
        } else {
            SessionLog.at(log, Level.WARN, idHex, null).log("session {}: closed: {}", idHex, message);
        }
        for (Link l : links) {
            if (!byPeer) {
                l.write(new GoAwayFrame(false, code, message));
            }
            l.flush();
            l.lost = true;
            l.channel.close();
            l.removed.complete(null);
        }
        links.clear();
        refreshConnectionSnapshot();
        SessionClosedException cause = new SessionClosedException(code, message);
        for (MuxStream s : new ArrayList<>(streams.values())) {
            s.fail(cause);
        }
        streams.clear();
        openStreams.set(0);
        sendQueue.clear();
        urgentSendQueue.clear();
        resendQueue.clear();
        ackQueue.clear();
        delayedAcks.clear();
        awaitingOpen.clear();
        blockedOnSessionCredit.clear();
        List<CompletableFuture<Stream>> waiters;
        synchronized (acceptLock) {
            acceptQueue.clear();
            waiters = new ArrayList<>(acceptWaiters);
            acceptWaiters.clear();
        }
        for (CompletableFuture<Stream> w : waiters) {
            w.completeExceptionally(cause);
        }
        if (listener != null) {
            listener.onSessionClosed(this);
        }
        if (code == ErrorCode.SESSION_CLOSED || code == ErrorCode.NO_ERROR) {
            closeFuture.complete(null);
        } else {
            closeFuture.completeExceptionally(cause);
        }
    }
}
