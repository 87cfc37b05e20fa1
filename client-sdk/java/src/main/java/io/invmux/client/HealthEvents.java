package io.invmux.client;

import io.invmux.proto.v1.WatchHealthResponse;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A health watch as a blocking iterator ({@link InvMuxClient#watchHealth(WatchOptions)}): {@link #next()} waits
 * for the next event, {@link #poll(Duration)} waits at most so long. The next event is asked from the sidecar only
 * when this one is taken (nothing queues up here). The watch is opened again when it breaks (each new watch
 * starts with a snapshot); a permanent failure (INVALID_ARGUMENT, UNAUTHENTICATED, ...) is thrown by
 * {@code hasNext}/{@code next} as an {@link UncheckedIOException} around the {@link InvMuxException}, and by
 * {@code poll} as is. {@link #close()} ends the watch; then {@code hasNext()} returns false.
 */
public final class HealthEvents implements Iterator<WatchHealthResponse>, AutoCloseable {
    private static final Object CLOSED = new Object();

    private record Item(WatchHealthResponse event, Runnable next) {
    }

    private final BlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private HealthWatch watch;
    private Object peeked;

    HealthEvents() {
    }

    HealthWatch.Sink sink() {
        return new HealthWatch.Sink() {
            @Override
            public void event(WatchHealthResponse event, Runnable next) {
                queue.add(new Item(event, next));
            }

            @Override
            public void reconnecting(InvMuxException cause, Duration delay) {
            }

            @Override
            public void error(InvMuxException error) {
                queue.add(error);
            }
        };
    }

    void attach(HealthWatch w) {
        this.watch = w;
    }

    /** The next event, or null when none came within {@code timeout}. */
    public synchronized WatchHealthResponse poll(Duration timeout) throws InvMuxException, InterruptedException {
        if (peeked == null) {
            peeked = queue.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (peeked == null) {
                return null;
            }
        }
        return take();
    }

    @Override
    public synchronized boolean hasNext() {
        if (peeked == null) {
            try {
                peeked = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for a health event", e);
            }
        }
        if (peeked instanceof InvMuxException e) {
            throw new UncheckedIOException(e);
        }
        if (peeked == CLOSED) {
            queue.add(CLOSED);
        }
        return peeked != CLOSED;
    }

    @Override
    public synchronized WatchHealthResponse next() {
        if (!hasNext()) {
            throw new NoSuchElementException("the health watch is closed");
        }
        try {
            return take();
        } catch (InvMuxException e) {
            throw new UncheckedIOException(e);
        }
    }

    private WatchHealthResponse take() throws InvMuxException {
        Object p = peeked;
        if (p instanceof InvMuxException e) {
            throw e;
        }
        if (p == CLOSED) {
            queue.add(CLOSED);
            throw new NoSuchElementException("the health watch is closed");
        }
        peeked = null;
        Item item = (Item) p;
        item.next().run();
        return item.event();
    }

    /** Ends the watch. */
    @Override
    public void close() {
        watch.close();
        queue.add(CLOSED);
    }
}
