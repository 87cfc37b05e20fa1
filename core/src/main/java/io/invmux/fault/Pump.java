package io.invmux.fault;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.util.concurrent.ScheduledFuture;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;

/**
 * One direction of one proxied connection: bytes read from {@code in} go through the current {@link Faults}
 * (black hole, then delay, then token bucket) and are written to {@code out}, in order.
 *
 * <p>Threading: both channels are on the same event loop (the target side is dialed on the accepted channel's
 * loop) and every method runs on it; all mutable fields are [L], owned by that loop.
 *
 * <p>Ownership: {@link #receive} takes over the buffer it is given. A queued buffer is either written to
 * {@code out} (the channel then owns it), dropped (released here) or released by {@link #stop}.
 */
final class Pump {
    /**
     * Queued bytes above which we stop reading {@code in}. A delayed or throttled direction thus holds at most
     * about this much (like a TCP window over a slow path) and pushes back on the sender instead of buffering.
     */
    private static final long MAX_QUEUED = 1024 * 1024;

    private final FaultProxy proxy;
    private final ProxyConnection connection;
    private final Channel in;
    private final Channel out;

    // [L] bytes received and not yet forwarded, oldest first
    private final ArrayDeque<Chunk> queue = new ArrayDeque<>();
    private long queuedBytes;

    // [L] token bucket; rate is the rate the tokens were last computed for (0 = unlimited)
    private long rate;
    private double tokens;
    private long refilledAt;

    // [L] the one pending wake-up (delay or tokens), if any, and when it is due
    private ScheduledFuture<?> timer;
    private long timerDueNanos;

    // [L] lifecycle
    private boolean inputEnded;
    private boolean finishing;
    private boolean stopped;

    Pump(FaultProxy proxy, ProxyConnection connection, Channel in, Channel out) {
        this.proxy = proxy;
        this.connection = connection;
        this.in = in;
        this.out = out;
    }

    /** A buffer read from {@code in}; this pump now owns it. */
    void receive(ByteBuf buf) {
        if (stopped || !buf.isReadable()) {
            buf.release();
            return;
        }
        if (proxy.faults().dropping()) {
            // Drop on arrival, keep reading: this fault eats data, it does not push back.
            proxy.countDropped(buf.readableBytes());
            buf.release();
            return;
        }
        if (proxy.takeCorruption()) {
            int at = buf.readerIndex() + buf.readableBytes() / 2;
            buf.setByte(at, buf.getByte(at) ^ 0x10);
        }
        queue.add(new Chunk(buf, System.nanoTime()));
        queuedBytes += buf.readableBytes();
        drain();
    }

    /** {@code in} is gone (it sent FIN): forward what is still queued, then close the connection. */
    void endOfInput() {
        inputEnded = true;
        drain();
    }

    /**
     * Forwards whatever the faults allow now and arranges to be called again when more is allowed: by the timer
     * (delay, tokens) or by {@code out} becoming writable. Also called after every command, so a new fault state
     * applies to what is already queued.
     */
    void drain() {
        if (stopped) {
            return;
        }
        Faults faults = proxy.faults();
        long now = System.nanoTime();
        boolean wrote = false;
        if (faults.dropping()) {
            dropQueued();
        } else if (faults.blackholed()) {
            // Hold everything: what a path that loses every packet looks like to TCP. Bytes wait here and in the
            // sender's socket buffers, as unacknowledged segments would, and go through once healed.
        } else {
            refill(faults.bytesPerSecond(), now);
            while (!queue.isEmpty() && out.isWritable()) {
                Chunk head = queue.peek();
                // Due time from the current delay, not the one at arrival: a shorter delay (heal) releases
                // queued bytes at once. Arrival times only grow, so order is kept either way.
                long due = head.arrivedNanos + faults.delayNanos();
                if (due - now > 0) {
                    wakeAt(due);
                    break;
                }
                int n = head.buf.readableBytes();
                if (rate > 0) {
                    // Wait for a bucket's worth (or the whole chunk) rather than trickling out single bytes.
                    long wanted = Math.min(n, capacity(rate));
                    if (tokens < wanted) {
                        wakeAt(now + (long) Math.ceil((wanted - tokens) * 1e9 / rate));
                        break;
                    }
                    n = (int) Math.min(n, (long) tokens);
                    tokens -= n;
                }
                ByteBuf piece;
                if (n == head.buf.readableBytes()) {
                    queue.poll();
                    piece = head.buf; // ownership passes to the channel
                } else {
                    piece = head.buf.readRetainedSlice(n); // head keeps its own reference for the rest
                }
                queuedBytes -= n;
                proxy.countForwarded(n);
                // Void promise: a failed write is fired as exceptionCaught, which closes the connection.
                out.write(piece, out.voidPromise());
                wrote = true;
            }
        }
        if (wrote) {
            out.flush();
        }
        if (inputEnded && queue.isEmpty() && !finishing) {
            finish();
        }
        if (!inputEnded) {
            // Back-pressure: read only while there is room and the path is open. Dropping always reads.
            in.config().setAutoRead(faults.dropping()
                    || (!faults.blackholed() && queuedBytes < MAX_QUEUED && out.isWritable()));
        }
    }

    /** The connection is closing: release everything queued and forget the timer. */
    void stop() {
        stopped = true;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
        Chunk c;
        while ((c = queue.poll()) != null) {
            c.buf.release();
        }
        queuedBytes = 0;
    }

    private void dropQueued() {
        Chunk c;
        while ((c = queue.poll()) != null) {
            proxy.countDropped(c.buf.readableBytes());
            c.buf.release();
        }
        queuedBytes = 0;
    }

    private void refill(long newRate, long now) {
        if (newRate != rate) {
            // New rate (or throttling just switched on): start with a full bucket at that rate.
            rate = newRate;
            tokens = capacity(newRate);
            refilledAt = now;
            return;
        }
        if (rate > 0) {
            tokens = Math.min(capacity(rate), tokens + (now - refilledAt) * (rate / 1e9));
            refilledAt = now;
        }
    }

    /** Bucket size: 50 ms worth, but at least 1 KiB (or one second's worth if that is less) to avoid tiny writes. */
    private static long capacity(long rate) {
        return Math.max(rate / 20, Math.min(rate, 1024));
    }

    /** Ensures {@link #drain} runs again no later than {@code dueNanos}; one timer at most. */
    private void wakeAt(long dueNanos) {
        if (timer != null) {
            if (timerDueNanos - dueNanos <= 0) {
                return; // an earlier wake-up is already pending; drain reschedules from there
            }
            timer.cancel(false);
        }
        timerDueNanos = dueNanos;
        timer = in.eventLoop().schedule(() -> {
            timer = null;
            drain();
        }, Math.max(0, dueNanos - System.nanoTime()), TimeUnit.NANOSECONDS);
    }

    private void finish() {
        finishing = true;
        // close() discards writes still pending in the channel, so wait until they are on the wire.
        out.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(written -> connection.closeGracefully());
    }

    /** Bytes read from {@code in} at {@code arrivedNanos} (System.nanoTime). */
    private record Chunk(ByteBuf buf, long arrivedNanos) {
    }
}
