package io.invmux.internal.session;

import io.invmux.ErrorCode;
import io.invmux.InvMuxException;
import io.invmux.Session;
import io.invmux.SessionClosedException;
import io.invmux.Stream;
import io.invmux.StreamHandler;
import io.invmux.StreamResetException;
import io.invmux.TrafficClass;
import io.invmux.WriteTimeoutException;
import io.invmux.internal.frame.AckFrame;
import io.invmux.internal.frame.DataFrame;
import io.invmux.internal.frame.Frame;
import io.invmux.internal.frame.OpenFrame;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A stream of a {@link MuxSession}.
 *
 * <p>Threading. Fields marked [L] belong to the session's event loop. Fields marked [this] are shared with
 * application threads and guarded by this object's monitor, which is a leaf lock: while holding it, code only
 * touches this stream's buffers and may post a signal to the loop, nothing else. Application threads never touch
 * links; they leave bytes here and {@link #signal()} the loop, which does the rest.
 *
 * <p>Send side: application bytes wait in {@code pending} until the loop cuts them into chunks; a chunk stays in
 * {@code unacked} until the peer acknowledges it. {@code bufferedBytes} (pending + unacknowledged) is what blocks
 * writers once it reaches {@code writeLimit}, which follows the peer's window.
 *
 * <p>Receive side: chunks go through the {@link ReorderBuffer}; bytes in order wait in {@code readable} until the
 * application reads them, and only then is window credit returned to the peer.
 */
final class MuxStream implements Stream {
    final MuxSession session;
    final int id;
    final boolean local;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private final AtomicBoolean signalQueued = new AtomicBoolean();
    /** [L] Queued for delivery at the end of the current read batch. */
    boolean deliveryQueued;
    private volatile byte[] metadata;
    /** Set at construction (local streams) or by the peer's OPEN on the loop, before the stream is offered. */
    private volatile TrafficClass trafficClass;

    // ---------------- [this] shared with application threads ----------------
    private ArrayDeque<ByteBuf> pending;
    private long pendingBytes;
    private long bufferedBytes;
    private long writeLimit;
    private boolean writeClosed;
    private ArrayDeque<ByteBuf> readable;
    private long readableBytes;
    private long consumed;
    private long creditThreshold;
    private boolean recvFinished;
    private boolean readClosed;
    /** Set when the application asked for a reset, with the reason the peer is told. */
    private ErrorCode resetCode;
    private String resetReason;
    private IOException failure;
    private int waitingWriters;
    private int waitingReaders;
    private StreamHandler handler;
    private long demand;
    private List<Runnable> writableCallbacks;
    private long readTimeoutNanos;
    private long writeTimeoutNanos;

    // ---------------- [L] send side ----------------
    private long sendOffset;
    private long peerMaxOffset;
    private long ackedOffset;
    private ArrayDeque<SentChunk> unacked;
    private int resendCount;
    private boolean finSent;
    private boolean finAcked;
    boolean openPending;
    private boolean openAcked;
    private Link openLink;
    /** [L] When the OPEN last went out, and how many times it was sent again unasked (see openDueAgain). */
    private long openSentNanos;
    private int openRetransmits;
    boolean inSendQueue;
    boolean inResendQueue;
    boolean blockedOnSession;

    // ---------------- [L] receive side ----------------
    private final ReorderBuffer reorder = new ReorderBuffer();
    private long recvMaxOffset;
    private int recvWindow;
    private long lastWindowUpdateNanos;
    boolean peerOpened;
    /** [L] When DATA created this peer stream before its OPEN came (see MuxSession#expireAwaitingOpen). */
    long createdNanos;
    boolean ackOwed;
    /** The owed ACK waits in the session's delayed queue (see {@link #owesAckForData}). */
    boolean ackDelayed;
    private long reportedAck;
    private boolean finAckSent;
    private boolean endDelivered;
    boolean removed;

    MuxStream(MuxSession session, int id, boolean local, byte[] metadata, TrafficClass trafficClass) {
        this.session = session;
        this.trafficClass = trafficClass;
        this.id = id;
        this.local = local;
        this.metadata = metadata;
        this.peerMaxOffset = session.peerStreamWindow;
        this.writeLimit = writeLimitFor(session, session.peerStreamWindow);
        this.recvWindow = session.config.windowSize();
        this.recvMaxOffset = recvWindow;
        this.creditThreshold = recvWindow / 2;
        this.openPending = local;
        this.peerOpened = local;
    }

    // =====================================================================================================
    // Public API (any thread)
    // =====================================================================================================

    @Override
    public int id() {
        return id;
    }

    @Override
    public TrafficClass trafficClass() {
        return trafficClass;
    }

    @Override
    public byte[] metadata() {
        byte[] m = metadata;
        return m == null ? new byte[0] : m.clone();
    }

    @Override
    public Session session() {
        return session;
    }

    @Override
    public InputStream inputStream() {
        return input;
    }

    @Override
    public OutputStream outputStream() {
        return output;
    }

    @Override
    public synchronized void setReadTimeout(Duration timeout) {
        readTimeoutNanos = checkTimeout("readTimeout", timeout);
    }

    @Override
    public synchronized void setWriteTimeout(Duration timeout) {
        writeTimeoutNanos = checkTimeout("writeTimeout", timeout);
    }

    private static long checkTimeout(String name, Duration timeout) {
        if (timeout == null || timeout.isNegative()) {
            throw new IllegalArgumentException(name + " must be zero (none) or positive, got " + timeout);
        }
        return timeout.toNanos();
    }

    @Override
    public int tryWrite(ByteBuffer src) throws IOException {
        int accepted;
        synchronized (this) {
            checkWritable();
            long space = writeLimit - bufferedBytes;
            accepted = (int) Math.min(space, src.remaining());
            if (accepted <= 0) {
                return 0;
            }
            appendPending(src, accepted);
        }
        signal();
        return accepted;
    }

    @Override
    public void write(ByteBuf data) throws IOException {
        synchronized (this) {
            try {
                checkWritable();
            } catch (IOException e) {
                data.release();
                throw e;
            }
            int n = data.readableBytes();
            if (n == 0) {
                data.release();
                return;
            }
            if (pending == null) {
                pending = new ArrayDeque<>(4);
            }
            // appendPending fills a tail buffer that isWritable(), and this one is the caller's memory: a slice's
            // capacity is its length, so it never is (a read-only view would be: it reports the capacity beyond).
            pending.addLast(data.slice());
            pendingBytes += n;
            bufferedBytes += n;
        }
        signal();
    }

    @Override
    public synchronized boolean isWritable() {
        return failure == null && !writeClosed && bufferedBytes < writeLimit;
    }

    @Override
    public void onWritable(Runnable callback) {
        boolean now;
        synchronized (this) {
            now = failure != null || bufferedBytes < writeLimit;
            if (!now) {
                if (writableCallbacks == null) {
                    writableCallbacks = new ArrayList<>(1);
                }
                writableCallbacks.add(callback);
            }
        }
        if (now) {
            session.loop.execute(callback);
        }
    }

    @Override
    public void setHandler(StreamHandler handler) {
        synchronized (this) {
            this.handler = handler;
        }
        signal();
    }

    @Override
    public void request(long chunks) {
        if (chunks <= 0) {
            throw new IllegalArgumentException("request must be positive, got " + chunks);
        }
        synchronized (this) {
            demand = demand + chunks < 0 ? Long.MAX_VALUE : demand + chunks;
        }
        signal();
    }

    @Override
    public void closeWrite() {
        synchronized (this) {
            if (writeClosed || failure != null) {
                return;
            }
            writeClosed = true;
        }
        signal();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (!writeClosed && failure == null) {
                writeClosed = true;
            }
            if (!readClosed) {
                readClosed = true;
                // Unread bytes are dropped; their credit goes back to the peer so it is never stuck on us.
                discardReadable();
                notifyAll();
            }
        }
        signal();
    }

    @Override
    public void reset() {
        reset(ErrorCode.CANCEL, "stream reset by the application");
    }

    @Override
    public void reset(ErrorCode code, String reason) {
        synchronized (this) {
            if (failure != null || resetCode != null) {
                return;
            }
            resetCode = code;
            resetReason = reason;
        }
        signal();
    }

    @Override
    public CompletableFuture<Void> closeFuture() {
        return closeFuture;
    }

    @Override
    public String toString() {
        return "stream " + id + " of session " + session.id();
    }

    // =====================================================================================================
    // Blocking I/O (application threads)
    // =====================================================================================================

    private final InputStream input = new InputStream() {
        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            int n = read(one, 0, 1);
            return n < 0 ? -1 : one[0] & 0xFF;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            return len == 0 ? 0 : readBlocking(b, off, len);
        }

        @Override
        public int available() {
            synchronized (MuxStream.this) {
                return (int) Math.min(Integer.MAX_VALUE, readableBytes);
            }
        }

        @Override
        public void close() {
            MuxStream.this.close();
        }
    };

    private final OutputStream output = new OutputStream() {
        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            java.util.Objects.checkFromIndexSize(off, len, b.length);
            writeBlocking(ByteBuffer.wrap(b, off, len));
        }

        @Override
        public void close() {
            closeWrite();
        }
    };

    private int readBlocking(byte[] b, int off, int len) throws IOException {
        int n;
        boolean creditDue;
        synchronized (this) {
            long deadline = readTimeoutNanos == 0 ? 0 : System.nanoTime() + readTimeoutNanos;
            while (readableBytes == 0) {
                if (failure != null) {
                    throw failure instanceof InvMuxException ? copyOf((InvMuxException) failure) : failure;
                }
                if (recvFinished) {
                    return -1;
                }
                if (readClosed) {
                    throw new IOException("stream " + id + " is closed for reading");
                }
                if (handler != null) {
                    throw new IllegalStateException("stream " + id + " delivers to a handler; blocking reads are off");
                }
                waitFor(deadline, false);
            }
            n = 0;
            while (n < len && readableBytes > 0) {
                ByteBuf head = readable.peekFirst();
                int take = Math.min(len - n, head.readableBytes());
                head.readBytes(b, off + n, take);
                n += take;
                readableBytes -= take;
                if (!head.isReadable()) {
                    readable.pollFirst().release();
                }
            }
            consumed += n;
            creditDue = consumed >= creditThreshold;
        }
        session.onConsumed(n);
        if (creditDue) {
            signal();
        }
        return n;
    }

    private void writeBlocking(ByteBuffer src) throws IOException {
        int total = src.remaining();
        boolean signalled = false;
        synchronized (this) {
            long deadline = writeTimeoutNanos == 0 ? 0 : System.nanoTime() + writeTimeoutNanos;
            while (src.hasRemaining()) {
                checkWritable();
                long space = writeLimit - bufferedBytes;
                if (space <= 0) {
                    if (!signalled) {
                        signal();
                    }
                    try {
                        waitFor(deadline, true);
                    } catch (SocketTimeoutException e) {
                        int accepted = total - src.remaining();
                        throw new WriteTimeoutException("write to stream " + id + " timed out after "
                                + writeTimeoutNanos / 1_000_000 + " ms; " + accepted + " of " + total
                                + " bytes were accepted and will be delivered", accepted);
                    }
                    signalled = false;
                    continue;
                }
                appendPending(src, (int) Math.min(space, src.remaining()));
                signal();
                signalled = true;
            }
        }
    }

    /** Waits on this monitor until notified or the deadline (0 = none) passes. Caller holds the monitor. */
    private void waitFor(long deadline, boolean writer) throws IOException {
        long waitMillis = 0;
        if (deadline != 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new SocketTimeoutException((writer ? "write to" : "read from") + " stream " + id
                        + " timed out");
            }
            waitMillis = Math.max(1, left / 1_000_000);
        }
        if (writer) {
            waitingWriters++;
        } else {
            waitingReaders++;
        }
        try {
            wait(waitMillis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting on stream " + id);
        } finally {
            if (writer) {
                waitingWriters--;
            } else {
                waitingReaders--;
            }
        }
    }

    private void checkWritable() throws IOException {
        assert Thread.holdsLock(this);
        if (failure != null) {
            throw failure instanceof InvMuxException ? copyOf((InvMuxException) failure) : failure;
        }
        if (writeClosed) {
            throw new IOException("stream " + id + " is closed for writing");
        }
    }

    /** A fresh exception per throw, so each caller gets its own stack trace; the original is the cause. */
    private static IOException copyOf(InvMuxException e) {
        if (e instanceof StreamResetException) {
            StreamResetException r = (StreamResetException) e;
            StreamResetException copy = new StreamResetException(r.errorCode(), r.getMessage(), r.byPeer());
            copy.initCause(e);
            return copy;
        }
        if (e instanceof SessionClosedException) {
            SessionClosedException copy = new SessionClosedException(e.errorCode(), e.getMessage());
            copy.initCause(e);
            return copy;
        }
        return new InvMuxException(e.errorCode(), e.getMessage(), e);
    }

    /** Copies {@code n} bytes of {@code src} into the pending queue, filling the last buffer first. [this] */
    private void appendPending(ByteBuffer src, int n) {
        if (pending == null) {
            pending = new ArrayDeque<>(4);
        }
        int left = n;
        ByteBuf tail = pending.peekLast();
        if (tail != null && tail.isWritable()) {
            int k = Math.min(left, tail.writableBytes());
            int limit = src.limit();
            src.limit(src.position() + k);
            tail.writeBytes(src);
            src.limit(limit);
            left -= k;
        }
        if (left > 0) {
            // Buffers of a whole chunk let many small writes coalesce into full chunks.
            int capacity = Math.max(left, session.maxChunkSize);
            ByteBuf buf = session.alloc.directBuffer(capacity, capacity);
            int limit = src.limit();
            src.limit(src.position() + left);
            buf.writeBytes(src);
            src.limit(limit);
            pending.addLast(buf);
        }
        pendingBytes += n;
        bufferedBytes += n;
    }

    /** Releases bytes not yet cut into chunks (nothing of them can be sent any more). [this] */
    private void releasePending() {
        if (pending != null) {
            pending.forEach(ByteBuf::release);
            pending.clear();
        }
        pendingBytes = 0;
    }

    /** Drops unread bytes and counts them as consumed. [this] */
    private void discardReadable() {
        long dropped = readableBytes;
        if (readable != null) {
            for (ByteBuf b : readable) {
                b.release();
            }
            readable.clear();
        }
        readableBytes = 0;
        consumed += dropped;
        if (dropped > 0) {
            session.onConsumed(dropped);
        }
    }

    /** Tells the loop this stream has news from the application. Any thread; cheap when already queued. */
    void signal() {
        if (signalQueued.compareAndSet(false, true)) {
            session.signal(this);
        }
    }

    // =====================================================================================================
    // Event loop side
    // =====================================================================================================

    /** [L] Acts on what the application did since the last signal. */
    void onSignal() {
        signalQueued.set(false);
        if (removed && failureSet()) {
            return;
        }
        ErrorCode reset;
        String reason;
        boolean sendable;
        boolean creditDue;
        synchronized (this) {
            reset = failure == null ? resetCode : null;
            reason = resetReason;
            sendable = pendingBytes > 0 || (writeClosed && !finSent);
            creditDue = consumed >= creditThreshold;
        }
        if (reset != null) {
            session.resetStream(this, reset, reason, false);
            return;
        }
        if (creditDue && !removed) {
            updateWindow();
        }
        if ((sendable || openPending) && !removed) {
            session.enqueueSend(this);
        }
        deliverToHandler();
        maybeRemove();
    }

    private synchronized boolean failureSet() {
        return failure != null;
    }

    /** [L] Grows the advertised receive window as the application reads, auto-tuning its size. */
    private void updateWindow() {
        long now = System.nanoTime();
        long rtt = session.minRttNanos();
        int max = session.config.maxWindowSize();
        // The whole window was read within two round trips: the window, not the path, limits throughput.
        if (lastWindowUpdateNanos != 0 && rtt > 0 && now - lastWindowUpdateNanos < 2 * rtt && recvWindow < max) {
            recvWindow = (int) Math.min((long) recvWindow * 2, max);
        }
        lastWindowUpdateNanos = now;
        long c;
        synchronized (this) {
            c = consumed;
            creditThreshold = c + recvWindow / 2;
        }
        long newMax = c + recvWindow;
        if (newMax > recvMaxOffset && !reorder.complete()) {
            recvMaxOffset = newMax;
            owesAck();
        }
    }

    /** [L] An ACK must go out with the next flush (window update, end of stream, link lost). */
    void owesAck() {
        if (!peerOpened || (ackOwed && !ackDelayed)) {
            return;
        }
        ackDelayed = false; // promoted: the delayed queue skips it
        ackOwed = true;
        session.ackQueue.add(this);
    }

    /**
     * [L] Bytes arrived: acknowledge at once when enough have piled up since the last ACK (or the stream ended);
     * otherwise let the ACK wait a moment for a frame to ride with: data this end is about to send (as TCP's
     * delayed ACK), so a request/response exchange costs one segment each way, not two.
     */
    private void owesAckForData() {
        if (reorder.complete() || reorder.nextOffset() - reportedAck >= session.ackEveryBytes) {
            owesAck();
        } else if (peerOpened && !ackOwed) {
            ackOwed = true;
            ackDelayed = true;
            session.delayAck(this);
        }
    }

    /** [L] The ACK frame this stream owes the peer. */
    AckFrame takeAck() {
        ackOwed = false;
        ackDelayed = false;
        reportedAck = reorder.nextOffset();
        boolean fin = reorder.complete();
        if (fin) {
            finAckSent = true;
        }
        return new AckFrame(id, fin ? Frame.FLAG_ACK_FIN : 0, reorder.nextOffset(), recvMaxOffset);
    }

    // ---------------- send ----------------

    /** Results of {@link #sendOne}. */
    static final int SENT_MORE = 0;
    static final int SENT_DONE = 1;
    static final int BLOCKED_STREAM_CREDIT = 2;
    static final int BLOCKED_SESSION_CREDIT = 3;
    /** The load balancer chose to wait for a busy link. */
    static final int HELD = 4;
    /** Smallest chunk cut while more bytes wait and more credit is due (see sendOne). */
    static final int MIN_CHUNK = 1024;

    /** [L] Sends the OPEN if due, then at most one chunk, on links from {@code usable} (never empty). */
    int sendOne(List<Link> usable) {
        if (removed) {
            return SENT_DONE;
        }
        if (openPending) {
            sendOpen();
        }
        long streamCredit = peerMaxOffset - sendOffset;
        long sessionCredit = session.sessionCredit();
        int n;
        synchronized (this) {
            if (failure != null) {
                return SENT_DONE;
            }
            if (pendingBytes == 0) {
                if (!writeClosed || finSent) {
                    return SENT_DONE;
                }
                n = 0;
            } else {
                if (streamCredit <= 0) {
                    return BLOCKED_STREAM_CREDIT;
                }
                if (sessionCredit <= 0) {
                    return BLOCKED_SESSION_CREDIT;
                }
                if (streamCredit < Math.min(pendingBytes, MIN_CHUNK) && streamCredit < peerMaxOffset - ackedOffset) {
                    // Credit trickling in a few bytes at a time would cost a chunk (and its bookkeeping) per few
                    // bytes; wait for more. It comes: the peer's window is at least 16 KiB and a new one is due
                    // once half of it has been read, so at most MIN_CHUNK bytes of it can be left unused.
                    return BLOCKED_STREAM_CREDIT;
                }
                ByteBuf head = pending.peekFirst();
                while (!head.isReadable()) {
                    // A buffer kept for appendPending to fill, all of it sent, with an owned buffer (write) behind
                    // it: never cut an empty chunk from it while bytes wait (nothing would acknowledge it).
                    pending.pollFirst().release();
                    head = pending.peekFirst();
                }
                n = (int) Math.min(Math.min(head.readableBytes(), session.peerChunkLimit()),
                        Math.min(streamCredit, sessionCredit));
            }
        }
        // The link is chosen before the bytes are taken, and outside the lock: the balancer may say "wait".
        Link link = trafficClass == TrafficClass.BULK ? session.select(usable, id, n) : session.fastest(usable, n, null);
        if (link == null) {
            return HELD;
        }
        boolean fin;
        ByteBuf chunk;
        synchronized (this) {
            if (n == 0) {
                chunk = session.alloc.directBuffer(0, 0);
            } else {
                // Only this loop takes bytes out of pending, so the head still holds at least n bytes.
                ByteBuf head = pending.peekFirst();
                chunk = head.readRetainedSlice(n);
                if (!head.isReadable() && (pending.size() > 1 || !head.isWritable() || writeClosed)) {
                    pending.pollFirst().release();
                }
                pendingBytes -= n;
            }
            fin = writeClosed && pendingBytes == 0;
        }
        ByteBuf payload = session.applyOutbound(id, chunk);
        SentChunk sent = new SentChunk(sendOffset, n, fin, payload, link);
        if (unacked == null) {
            unacked = new ArrayDeque<>(8);
        }
        unacked.addLast(sent);
        link.onChunkInFlight(n);
        link.write(new DataFrame(id, fin ? Frame.FLAG_FIN : 0, sendOffset, payload.retainedDuplicate()));
        if (trafficClass == TrafficClass.REDUNDANT) {
            sendCopy(sent, usable);
        }
        sendOffset += n;
        session.onChunkSent(n, trafficClass);
        if (fin) {
            finSent = true;
        }
        synchronized (this) {
            return pendingBytes > 0 || (writeClosed && !finSent) ? SENT_MORE : SENT_DONE;
        }
    }

    /**
     * [L] A redundant stream's second copy of {@code sent}, on the link expected to deliver it first after the one it
     * went on (none when that is the only link). It counts in that link's in-flight bytes until the chunk is
     * acknowledged; if the link is lost first, the copy is forgotten (the chunk's first copy is what gets re-sent).
     */
    private void sendCopy(SentChunk sent, List<Link> usable) {
        Link copy = session.fastest(usable, sent.length, sent.link);
        if (copy == null) {
            return;
        }
        sent.copyLink = copy;
        copy.onChunkInFlight(sent.length);
        copy.write(new DataFrame(id, sent.fin ? Frame.FLAG_FIN : 0, sent.offset, sent.payload.retainedDuplicate()));
        session.onCopySent(sent.length);
    }

    /** [L] Writes the OPEN on the session's control link (there is one: callers have a usable link). */
    private void sendOpen() {
        if (openLink == null) {
            session.onOpenSent(this);
        }
        openPending = false;
        openSentNanos = System.nanoTime();
        openLink = session.controlLink();
        openLink.write(new OpenFrame(id, trafficClass.wireValue(), metadataForWire()));
    }

    private byte[] metadataForWire() {
        byte[] m = metadata;
        return m == null ? new byte[0] : m;
    }

    /**
     * [L] Marks the chunks whose last copy went out on {@code link} for sending again elsewhere, counting each in
     * {@code failover} (the first that moves it), and the OPEN if it went out on that link and the peer has not
     * acknowledged the stream yet; returns true if any. The link's own copies may still arrive: the receiver drops
     * whichever comes second (a repeated OPEN is ignored).
     */
    boolean reinjectFrom(Link link, Failover failover) {
        boolean any = false;
        if (openLink == link && !openAcked && local && !removed) {
            // Re-sent with the chunks (resendAll), not with new data: new data may be waiting for session credit
            // that comes only once the peer has this OPEN and its application reads the stream.
            openPending = true;
            any = true;
        }
        if (unacked != null) {
            for (SentChunk c : unacked) {
                if (c.copyLink == link) {
                    c.copyLink = null; // only the first copy is re-sent; this one is no longer the link's business
                    link.onChunkWithdrawn(c.length, false);
                }
                if (c.link == link && !c.needsResend) {
                    c.needsResend = true;
                    if (failover != null && c.failover == null) {
                        c.failover = failover;
                        failover.add();
                    }
                    link.onChunkWithdrawn(c.length, true);
                    resendCount++;
                    any = true;
                }
            }
        }
        return any;
    }

    /** [L] Whether the peer has acknowledged this (local) stream, which it does once it has the OPEN. */
    boolean openAcked() {
        return openAcked;
    }

    /**
     * [L] Marks the OPEN for sending again (with resendAll) if it has waited for an acknowledgement longer than
     * {@code firstWait} doubled per earlier try (at most 8 times it); returns whether it did.
     */
    boolean openDueAgain(long now, long firstWait) {
        if (openPending || openAcked || removed || now - openSentNanos < firstWait << Math.min(openRetransmits, 3)) {
            return false;
        }
        openPending = true;
        openRetransmits++;
        return true;
    }

    /** [L] Marks chunks that went out on {@code lost} for re-sending; returns true if any. */
    boolean onLinkLost(Link lost, Failover failover) {
        boolean any = reinjectFrom(lost, failover);
        if (peerOpened) {
            owesAck(); // our last ACK may have gone down with the link; ACKs are absolute, so repeat it
        }
        return any;
    }

    /**
     * [L] Sends the OPEN if it must go again, then every chunk waiting for a re-send, each on the link the
     * balancer says delivers it first, full or not ({@code candidates} are the links that take data). Never held
     * back: the peer's reorder buffer waits for these, and links wait for the peer's acknowledgements.
     */
    void resendAll(List<Link> candidates) {
        if (openPending && !removed) {
            sendOpen();
        }
        if (resendCount == 0 || unacked == null || removed) {
            resendCount = 0;
            return;
        }
        for (SentChunk c : unacked) {
            if (!c.needsResend) {
                continue;
            }
            Link link = session.selectNow(candidates, id, c.length);
            c.needsResend = false;
            c.link = link;
            link.onChunkInFlight(c.length);
            link.write(new DataFrame(id, c.fin ? Frame.FLAG_FIN : 0, c.offset, c.payload.retainedDuplicate()));
            session.onChunkResent(c.length);
            if (--resendCount == 0) {
                return;
            }
        }
        resendCount = 0; // fewer were marked than counted: nothing is left to send
    }

    /** [L] The peer's cumulative acknowledgement and window for this stream. */
    void onAck(AckFrame ack) {
        openAcked = true;
        boolean closedByPeer = ack.hasFlag(Frame.FLAG_ACK_CLOSED);
        if (closedByPeer && !finSent && !removed) {
            // The peer forgets a stream only once it has all of it (and said so) or after a reset. Without our FIN
            // it cannot have all of it: these bytes are not delivered, whatever the ACK says.
            session.resetStream(this, ErrorCode.PROTOCOL_ERROR, "peer no longer knows stream "
                    + Integer.toUnsignedString(id) + " (ACK CLOSED) though " + (sendOffset - ackedOffset)
                    + " bytes sent are unacknowledged and no FIN was sent: they may be lost", true);
            return;
        }
        long ackTo = closedByPeer ? sendOffset : Math.min(ack.ackOffset, sendOffset);
        boolean finReceived = closedByPeer || (ack.hasFlag(Frame.FLAG_ACK_FIN) && finSent);
        long released = 0;
        if (unacked != null && !unacked.isEmpty()) {
            long now = System.nanoTime();
            SentChunk c;
            while ((c = unacked.peekFirst()) != null
                    && (c.end() < ackTo || (c.end() == ackTo && (!c.fin || finReceived)))) {
                unacked.pollFirst();
                if (c.needsResend) {
                    resendCount--;
                } else {
                    c.link.onChunkDelivered(c.length, now);
                }
                if (c.copyLink != null) {
                    c.copyLink.onChunkWithdrawn(c.length, false);
                }
                if (c.failover != null) {
                    c.failover.done(now);
                }
                c.payload.release();
                released += c.length;
            }
        }
        if (ackTo > ackedOffset) {
            ackedOffset = ackTo;
        }
        if (finReceived && finSent) {
            finAcked = true;
        }
        boolean creditGrew = ack.maxOffset > peerMaxOffset;
        if (creditGrew) {
            peerMaxOffset = ack.maxOffset;
        }
        if (released > 0 || creditGrew) {
            onSendBufferFreed(released);
        }
        if (creditGrew) {
            session.enqueueSend(this);
        }
        if (closedByPeer && !finAcked) {
            // The peer forgot the stream although we still had something unacknowledged: it must have reset it.
            finAcked = true;
        }
        maybeRemove();
    }

    /**
     * How many bytes writers may buffer (pending plus unacknowledged) while the peer grants {@code window}: twice
     * that, so the next window's bytes are ready when credit comes, but never more than twice this end's own
     * {@code maxWindowSize}, whatever the peer advertises (which also keeps the doubling far from overflow).
     */
    private static long writeLimitFor(MuxSession session, long window) {
        long capped = Math.min(window, session.config.maxWindowSize());
        return 2 * Math.max(capped, session.config.maxChunkSize());
    }

    /** [L] Writers may go on: fewer bytes are buffered or the peer's window grew. */
    private void onSendBufferFreed(long released) {
        List<Runnable> callbacks = null;
        synchronized (this) {
            bufferedBytes -= released;
            writeLimit = writeLimitFor(session, Math.max(peerMaxOffset - ackedOffset, session.peerStreamWindow));
            if (bufferedBytes < writeLimit) {
                if (waitingWriters > 0) {
                    notifyAll();
                }
                if (writableCallbacks != null) {
                    callbacks = writableCallbacks;
                    writableCallbacks = null;
                }
            }
        }
        if (callbacks != null) {
            callbacks.forEach(Runnable::run);
        }
    }

    // ---------------- receive ----------------

    /** [L] Called when the peer's OPEN arrives (or for local streams, never). */
    void onOpen(byte[] metadata, TrafficClass trafficClass) {
        this.metadata = metadata;
        this.trafficClass = trafficClass;
        peerOpened = true;
        owesAck();
    }

    /** [L] A chunk from the peer; takes ownership of the frame's payload. */
    void onData(DataFrame frame, ByteBuf payload) {
        long offset = frame.offset;
        long end = offset + payload.readableBytes();
        if (end > recvMaxOffset) {
            payload.release();
            session.resetStream(this, ErrorCode.FLOW_CONTROL_ERROR, "peer sent bytes up to offset " + end
                    + " beyond the window limit " + recvMaxOffset, false);
            return;
        }
        if (frame.fin()) {
            String error = reorder.setFinalOffset(end);
            if (error != null) {
                payload.release();
                session.resetStream(this, ErrorCode.PROTOCOL_ERROR, error, false);
                return;
            }
        } else if (reorder.finalOffset() >= 0 && end > reorder.finalOffset()) {
            payload.release();
            session.resetStream(this, ErrorCode.PROTOCOL_ERROR, "bytes up to offset " + end
                    + " after the final offset " + reorder.finalOffset(), false);
            return;
        }
        long highestBefore = reorder.highestOffset();
        long heldBefore = reorder.waitingBytes();
        int chunksBefore = reorder.waitingChunks();
        boolean fresh = reorder.add(offset, payload, this::deliverInOrder);
        session.onChunkReceived(reorder.highestOffset() - highestBefore, fresh, reorder.waitingBytes());
        if (!session.onReorderChanged(reorder.waitingBytes() - heldBefore, reorder.waitingChunks() - chunksBefore)) {
            session.resetStream(this, ErrorCode.LIMIT_EXCEEDED, "peer's chunks held out of order in the session"
                    + " exceed maxReorderChunks (" + session.config.maxReorderChunks() + ")", false);
            return;
        }
        if (reorder.complete()) {
            synchronized (this) {
                if (!recvFinished) {
                    recvFinished = true;
                    if (waitingReaders > 0) {
                        notifyAll();
                    }
                }
            }
        }
        owesAckForData();
        // Delivery waits for the end of the read batch, so the chunks of one batch reach the handler together.
        session.deliverAfterInbound(this);
    }

    /** [L] In-order bytes for the application. */
    private void deliverInOrder(ByteBuf buf) {
        int n = buf.readableBytes();
        synchronized (this) {
            if (readClosed || failure != null) {
                buf.release();
                consumed += n;
            } else {
                if (readable == null) {
                    readable = new ArrayDeque<>(4);
                }
                readable.addLast(buf);
                readableBytes += n;
                if (waitingReaders > 0) {
                    notifyAll();
                }
                return;
            }
        }
        session.onConsumed(n);
    }

    /** Most bytes one {@link StreamHandler#onData} call carries when several chunks are readable at once. */
    static final int MAX_DELIVERY_BYTES = 256 * 1024;

    /**
     * [L] Hands readable bytes to the handler while it has demand. Chunks readable at the same time go in one call
     * (up to {@link #MAX_DELIVERY_BYTES}): a handler that forwards each call as one message (gRPC, a socket
     * write) then pays its per-message cost per batch, not per chunk.
     */
    void deliverToHandler() {
        StreamHandler h;
        while (true) {
            ByteBuf buf = null;
            boolean end = false;
            boolean creditDue;
            synchronized (this) {
                h = handler;
                if (h == null || failure != null) {
                    return;
                }
                if (readableBytes > 0 && demand > 0) {
                    buf = takeReadable();
                    demand--;
                    readableBytes -= buf.readableBytes();
                    consumed += buf.readableBytes();
                } else if (readableBytes == 0 && recvFinished && !endDelivered) {
                    endDelivered = true;
                    end = true;
                } else {
                    return;
                }
                creditDue = consumed >= creditThreshold;
            }
            if (buf != null) {
                session.onConsumed(buf.readableBytes());
                if (creditDue) {
                    updateWindow();
                }
                h.onData(this, buf);
            } else if (end) {
                h.onEnd(this);
                maybeRemove();
                return;
            }
        }
    }

    /** [L, this] The first readable buffer, merged with those after it up to {@link #MAX_DELIVERY_BYTES}. */
    private ByteBuf takeReadable() {
        ByteBuf first = readable.pollFirst();
        ByteBuf next = readable.peekFirst();
        if (next == null || first.readableBytes() + next.readableBytes() > MAX_DELIVERY_BYTES) {
            return first;
        }
        CompositeByteBuf merged = first.alloc().compositeBuffer(readable.size() + 1);
        merged.addComponent(true, first);
        while ((next = readable.peekFirst()) != null
                && merged.readableBytes() + next.readableBytes() <= MAX_DELIVERY_BYTES) {
            merged.addComponent(true, readable.pollFirst());
        }
        return merged;
    }

    // ---------------- end of life ----------------

    /** [L] Removes the stream from the session once both directions are done. */
    void maybeRemove() {
        if (removed) {
            return;
        }
        boolean sendDone = finAcked;
        boolean recvDone = reorder.complete() && finAckSent;
        if (sendDone && recvDone) {
            session.removeStream(this);
            removed = true;
            synchronized (this) {
                releasePending();
            }
            releaseLoopState();
            closeFuture.complete(null);
        }
    }

    /** [L] Ends the stream with an error: wakes every waiter, releases every buffer. */
    void fail(IOException cause) {
        StreamHandler h;
        List<Runnable> callbacks;
        synchronized (this) {
            if (failure != null) {
                return;
            }
            failure = cause;
            h = handler;
            callbacks = writableCallbacks;
            writableCallbacks = null;
            releasePending();
            if (readable != null) {
                readable.forEach(ByteBuf::release);
                readable.clear();
            }
            readableBytes = 0;
            notifyAll();
        }
        removed = true;
        releaseLoopState();
        if (callbacks != null) {
            callbacks.forEach(Runnable::run);
        }
        if (h != null) {
            h.onError(this, cause);
        }
        closeFuture.completeExceptionally(cause);
    }

    private void releaseLoopState() {
        if (unacked != null) {
            for (SentChunk c : unacked) {
                if (!c.needsResend) {
                    c.link.onChunkWithdrawn(c.length, false);
                }
                if (c.copyLink != null) {
                    c.copyLink.onChunkWithdrawn(c.length, false);
                }
                if (c.failover != null) {
                    c.failover.done(System.nanoTime());
                }
                c.payload.release();
            }
            unacked.clear();
        }
        resendCount = 0;
        session.onReorderChanged(-reorder.waitingBytes(), -reorder.waitingChunks());
        reorder.release();
    }

    /** [L] Highest offset received; the stream's share of the session window. */
    long receivedHighest() {
        return reorder.highestOffset();
    }

    /** [L] Whether the stream was created by DATA before its OPEN arrived. */
    boolean awaitingOpen() {
        return !local && !peerOpened;
    }

    synchronized long bufferedBytesForTest() {
        return bufferedBytes;
    }

    Iterator<SentChunk> unackedForTest() {
        return unacked == null ? java.util.Collections.emptyIterator() : unacked.iterator();
    }
}
