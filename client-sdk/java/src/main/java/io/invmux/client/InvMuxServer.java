package io.invmux.client;

import io.grpc.Status;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves one service ({@link InvMuxClient#serve(String, StreamHandler, int)}): keeps {@code concurrency}
 * AcceptStream calls waiting, replaces each one that accepted a stream at once, and runs the {@link StreamHandler}
 * for every accepted stream on an executor. After the handler returns, the stream is half-closed (if it was not)
 * and closed ({@link InvMuxStream#close()}); when it throws, the stream is aborted (the peer sees a reset) and the
 * failure is logged.
 *
 * <p>Failures the next try may cure (UNAVAILABLE: the sidecar restarts or is not up yet; RESOURCE_EXHAUSTED, ...)
 * are retried with backoff (100 ms doubling to 5 s, or the sidecar's retry delay when longer). The others
 * (INVALID_ARGUMENT: a bad service name; UNAUTHENTICATED, ...) stop the accepting: {@link #failure()} tells the
 * error, and {@link #whenTerminated()} completes exceptionally with it once the handlers in flight have returned.
 * Closing the client stops it the same way, with CANCELLED.
 *
 * <p>{@link #close()} stops accepting (every call waiting is cancelled) and waits for the handlers in flight, at
 * most {@link #DEFAULT_CLOSE_TIMEOUT}; then it aborts the streams of the handlers still running. Thread-safe.
 */
public final class InvMuxServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(InvMuxServer.class);
    /** How long {@link #close()} waits for the handlers in flight before aborting their streams. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(30);
    /** How long closing waits for handlers whose streams it aborted (and threads it interrupted) to return. */
    private static final long ABORTED_HANDLERS_GRACE_MILLIS = 5_000;
    /** How long an idle thread of the server's own pool lives. */
    private static final long IDLE_THREAD_SECONDS = 60;

    private final String service;
    private final StreamHandler handler;
    private final Function<String, CompletableFuture<InvMuxStream>> accept;
    private final ScheduledExecutorService scheduler;
    private final Executor executor;
    /** The server's own pool, or null when it runs the handlers on the caller's executor. */
    private final ThreadPoolExecutor pool;
    /** The pool's threads (the live ones, and some that ended), to wait for them when closing. */
    private final List<Thread> poolThreads = new CopyOnWriteArrayList<>();
    private final Set<CompletableFuture<InvMuxStream>> waiting = ConcurrentHashMap.newKeySet();
    private final Set<ScheduledFuture<?>> retries = ConcurrentHashMap.newKeySet();
    private final Set<InvMuxStream> handling = ConcurrentHashMap.newKeySet();
    /** Acceptors still going plus handlers not returned yet: the server has terminated once none is left. */
    private final AtomicInteger running;
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private final AtomicReference<InvMuxException> failure = new AtomicReference<>();
    private volatile boolean stopping;

    private InvMuxServer(String service, StreamHandler handler, int concurrency, Executor executor,
            Function<String, CompletableFuture<InvMuxStream>> accept, ScheduledExecutorService scheduler) {
        this.service = service;
        this.handler = handler;
        this.accept = accept;
        this.scheduler = scheduler;
        if (executor != null) {
            this.pool = null;
            this.executor = executor;
        } else {
            AtomicInteger n = new AtomicInteger();
            this.pool = new ThreadPoolExecutor(concurrency, concurrency, IDLE_THREAD_SECONDS, TimeUnit.SECONDS,
                    new LinkedBlockingQueue<>(), r -> {
                        Thread t = new Thread(r, "invmux-serve-" + service + "-" + n.incrementAndGet());
                        poolThreads.removeIf(old -> !old.isAlive());
                        poolThreads.add(t);
                        return t;
                    });
            this.pool.allowCoreThreadTimeOut(true);
            this.executor = pool;
        }
        this.running = new AtomicInteger(concurrency);
    }

    /** Starts serving; see {@link InvMuxClient#serve(String, StreamHandler, int, Executor)}. */
    static InvMuxServer start(String service, StreamHandler handler, int concurrency, Executor executor,
            Function<String, CompletableFuture<InvMuxStream>> accept, ScheduledExecutorService scheduler) {
        Objects.requireNonNull(service, "service");
        Objects.requireNonNull(handler, "handler");
        if (concurrency < 1) {
            throw new IllegalArgumentException("concurrency must be at least 1, was " + concurrency);
        }
        InvMuxServer s = new InvMuxServer(service, handler, concurrency, executor, accept, scheduler);
        for (int i = 0; i < concurrency; i++) {
            s.acceptNext(HealthWatch.MIN_BACKOFF_MILLIS);
        }
        return s;
    }

    /** The service served. */
    public String service() {
        return service;
    }

    /** The error that stopped the accepting (one no retry cures, or the client closed); empty while none did. */
    public Optional<InvMuxException> failure() {
        return Optional.ofNullable(failure.get());
    }

    /**
     * Completes once accepting has stopped and every handler has returned: normally after {@link #close()},
     * exceptionally with the {@link #failure()}.
     */
    public CompletableFuture<Void> whenTerminated() {
        return terminated.copy();
    }

    /**
     * Waits until the server has terminated (see {@link #whenTerminated()}).
     *
     * @return false when {@code timeout} passed first
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        try {
            terminated.get(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (ExecutionException failed) {
            // terminated all the same
        } catch (TimeoutException e) {
            return false;
        }
        return true;
    }

    /** Stops and waits for the handlers in flight, at most {@link #DEFAULT_CLOSE_TIMEOUT}; see {@link #close(Duration)}. */
    @Override
    public void close() {
        close(DEFAULT_CLOSE_TIMEOUT);
    }

    /**
     * Stops accepting (every AcceptStream call waiting is cancelled) and waits at most {@code timeout} for the
     * handlers in flight; then aborts the streams of those still running (and interrupts them when they run on the
     * server's own pool) and waits a little longer. Returns once the server's own threads have ended. Idempotent;
     * called from a handler, it only stops accepting.
     *
     * @return whether every handler returned within {@code timeout}
     */
    public boolean close(Duration timeout) {
        stop();
        if (poolThreads.contains(Thread.currentThread())) {
            return false; // a handler closing its own server cannot wait for itself
        }
        boolean inTime;
        try {
            inTime = awaitTermination(timeout);
            if (!inTime) {
                log.warn("serving '{}': {} handler(s) still running after {} ms; aborting their streams", service,
                        handling.size(), timeout.toMillis());
                abortHandlers();
                awaitTermination(Duration.ofMillis(ABORTED_HANDLERS_GRACE_MILLIS));
            }
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ABORTED_HANDLERS_GRACE_MILLIS);
            for (Thread t : poolThreads) {
                t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            abortHandlers();
            return false;
        }
        return inTime;
    }

    private void abortHandlers() {
        handling.forEach(InvMuxStream::abort);
        if (pool != null) {
            pool.shutdownNow();
        }
    }

    @Override
    public String toString() {
        return "InvMuxServer(" + service + (terminated.isDone() ? ", terminated" : stopping ? ", stopping" : "") + ")";
    }

    // ------------------------------------------------------------------ accepting

    private void acceptNext(long backoffMillis) {
        if (stopping) {
            ended();
            return;
        }
        CompletableFuture<InvMuxStream> f;
        try {
            f = accept.apply(service);
        } catch (RuntimeException e) { // failing to start a call is a failed call
            f = CompletableFuture.failedFuture(e);
        }
        waiting.add(f);
        if (stopping) {
            f.cancel(false);
        }
        CompletableFuture<InvMuxStream> call = f;
        f.whenComplete((stream, error) -> {
            waiting.remove(call);
            if (error == null) {
                handle(stream); // even when stopping: the peer's stream was accepted
                acceptNext(HealthWatch.MIN_BACKOFF_MILLIS);
            } else if (stopping) {
                ended();
            } else {
                InvMuxException e = InvMuxException.from(error);
                if (HealthWatch.retryable(e.code())) {
                    long delay = Math.max(backoffMillis, e.retryDelay().map(Duration::toMillis).orElse(0L));
                    retryAfter(delay, Math.min(backoffMillis * 2, HealthWatch.MAX_BACKOFF_MILLIS));
                } else {
                    fail(e);
                    ended();
                }
            }
        });
    }

    private void retryAfter(long delayMillis, long nextBackoffMillis) {
        AtomicReference<ScheduledFuture<?>> self = new AtomicReference<>();
        ScheduledFuture<?> retry;
        try {
            retry = scheduler.schedule(() -> {
                ScheduledFuture<?> me = self.get();
                if (me != null) {
                    retries.remove(me);
                }
                acceptNext(nextBackoffMillis);
            }, delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException clientClosed) {
            fail(new InvMuxException(Status.CANCELLED.withDescription("serving '" + service
                    + "': the client was closed")));
            ended();
            return;
        }
        self.set(retry);
        retries.add(retry);
        if (stopping && retry.cancel(false)) { // stop() may have looked at the retries before this one was there
            retries.remove(retry);
            ended();
        }
    }

    private void fail(InvMuxException e) {
        if (failure.compareAndSet(null, e)) {
            log.warn("serving '{}' stopped: {}", service, e.getMessage());
        }
        stop();
    }

    /** Stops accepting: cancels the calls waiting and the retries not started; each ends its acceptor. */
    private void stop() {
        stopping = true;
        waiting.forEach(f -> f.cancel(false));
        for (ScheduledFuture<?> r : retries) {
            if (r.cancel(false)) {
                retries.remove(r);
                ended();
            }
        }
    }

    // ------------------------------------------------------------------ handling

    private void handle(InvMuxStream stream) {
        running.incrementAndGet();
        handling.add(stream);
        try {
            executor.execute(() -> run(stream));
        } catch (RejectedExecutionException e) {
            log.warn("serving '{}': the executor refused {}; aborting it", service, stream, e);
            stream.abort();
            handling.remove(stream);
            ended();
        }
    }

    private void run(InvMuxStream stream) {
        try {
            handler.handle(stream);
            stream.closeWrite();
            stream.close();
        } catch (Exception e) {
            stream.abort();
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            log.warn("serving '{}': the handler of {} failed; the stream was aborted", service, stream, e);
        } catch (Error e) {
            stream.abort();
            throw e;
        } finally {
            handling.remove(stream);
            ended();
        }
    }

    /** An acceptor or a handler has ended; the last one terminates the server. */
    private void ended() {
        if (running.decrementAndGet() > 0) {
            return;
        }
        if (pool != null) {
            pool.shutdown();
        }
        InvMuxException e = failure.get();
        if (e == null) {
            terminated.complete(null);
        } else {
            terminated.completeExceptionally(e);
        }
    }
}
