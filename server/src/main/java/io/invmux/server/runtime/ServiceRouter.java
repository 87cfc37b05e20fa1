package io.invmux.server.runtime;

import io.invmux.ErrorCode;
import java.net.InetSocketAddress;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Decides where a stream a peer opened goes, by its service name: to a local TCP address when the service is
 * exposed that way; else to an application waiting in {@code AcceptStream} for it; else it waits (at most
 * {@link #MAX_PENDING_PER_SERVICE} per service, at most {@code pendingTimeout}) for such a call, and is reset
 * when none comes. Thread-safe: everything below is guarded by {@code this}, and no callback runs under it.
 */
public final class ServiceRouter {
    private static final Logger log = LoggerFactory.getLogger(ServiceRouter.class);
    static final int MAX_PENDING_PER_SERVICE = 256;

    private final Map<String, InetSocketAddress> localServices = new ConcurrentHashMap<>();
    private final Map<String, Boolean> localServiceCompression = new ConcurrentHashMap<>(); // absent: the default
    private final Map<String, ArrayDeque<CompletableFuture<Incoming>>> waiters = new HashMap<>(); // this
    private final Map<String, ArrayDeque<Pending>> pending = new HashMap<>(); // this
    private final LocalServiceConnector connector;
    private final ScheduledExecutorService timer;
    private final long pendingTimeoutMillis;

    private record Pending(Incoming incoming, ScheduledFuture<?> expiry) {
    }

    public ServiceRouter(LocalServiceConnector connector, ScheduledExecutorService timer, long pendingTimeoutMillis) {
        this.connector = connector;
        this.timer = timer;
        this.pendingTimeoutMillis = pendingTimeoutMillis;
    }

    public void addLocalService(String name, InetSocketAddress target) {
        addLocalService(name, target, java.util.Optional.empty());
    }

    /** With the compression of the service's replies ({@link StreamCompression}; empty: the session's default). */
    public void addLocalService(String name, InetSocketAddress target, java.util.Optional<Boolean> compress) {
        compress.ifPresentOrElse(c -> localServiceCompression.put(name, c), () -> localServiceCompression.remove(name));
        localServices.put(name, target);
    }

    public boolean removeLocalService(String name) {
        localServiceCompression.remove(name);
        return localServices.remove(name) != null;
    }

    public Map<String, InetSocketAddress> localServices() {
        return Map.copyOf(localServices);
    }

    /** Routes a stream a peer opened. */
    public void route(Incoming in) {
        InetSocketAddress target = localServices.get(in.service());
        if (target != null) {
            StreamCompression.apply(in.stream(), java.util.Optional.ofNullable(localServiceCompression.get(in.service())));
            connector.connect(in.stream(), target);
            return;
        }
        while (true) {
            CompletableFuture<Incoming> waiter;
            synchronized (this) {
                ArrayDeque<CompletableFuture<Incoming>> q = waiters.get(in.service());
                waiter = q == null ? null : q.pollFirst();
                if (waiter == null) {
                    ArrayDeque<Pending> p = pending.computeIfAbsent(in.service(), k -> new ArrayDeque<>());
                    if (p.size() >= MAX_PENDING_PER_SERVICE) {
                        break;
                    }
                    p.addLast(new Pending(in, timer.schedule(() -> expire(in), pendingTimeoutMillis,
                            TimeUnit.MILLISECONDS)));
                    return;
                }
            }
            if (waiter.complete(in)) {
                return;
            }
        }
        log.warn("stream {} for service '{}' from {} refused: {} streams already wait for an acceptor",
                in.stream().id(), in.service(), in.peer(), MAX_PENDING_PER_SERVICE);
        // The opener's status says why, naming the service: a limit of this side (RESOURCE_EXHAUSTED).
        in.stream().reset(ErrorCode.REFUSED_STREAM, "service '" + in.service() + "' already has "
                + MAX_PENDING_PER_SERVICE + " streams waiting for an application to accept them");
    }

    private void expire(Incoming in) {
        boolean removed;
        synchronized (this) {
            ArrayDeque<Pending> p = pending.get(in.service());
            removed = p != null && p.removeIf(x -> x.incoming() == in);
        }
        if (removed) {
            log.warn("stream {} for service '{}' from {} reset: no application accepted it within {} ms",
                    in.stream().id(), in.service(), in.peer(), pendingTimeoutMillis);
            in.stream().reset(ErrorCode.CANCEL, "no application accepted service '" + in.service() + "' within "
                    + pendingTimeoutMillis + " ms");
        }
    }

    /** The next stream for {@code service}; cancel the future to stop waiting. */
    public CompletableFuture<Incoming> accept(String service) {
        CompletableFuture<Incoming> f = new CompletableFuture<>();
        Pending ready;
        synchronized (this) {
            ArrayDeque<Pending> p = pending.get(service);
            ready = p == null ? null : p.pollFirst();
            if (ready == null) {
                waiters.computeIfAbsent(service, k -> new ArrayDeque<>()).addLast(f);
                f.whenComplete((v, e) -> {
                    if (f.isCancelled()) {
                        synchronized (this) {
                            ArrayDeque<CompletableFuture<Incoming>> q = waiters.get(service);
                            if (q != null) {
                                q.remove(f);
                            }
                        }
                    }
                });
                return f;
            }
        }
        ready.expiry().cancel(false);
        f.complete(ready.incoming());
        return f;
    }

    /** Resets every waiting stream (shutdown). */
    public void close() {
        java.util.List<Pending> all = new java.util.ArrayList<>();
        java.util.List<CompletableFuture<Incoming>> all2 = new java.util.ArrayList<>();
        synchronized (this) {
            pending.values().forEach(all::addAll);
            pending.clear();
            waiters.values().forEach(all2::addAll);
            waiters.clear();
        }
        for (Pending p : all) {
            p.expiry().cancel(false);
            p.incoming().stream().reset();
        }
        for (CompletableFuture<Incoming> w : all2) {
            w.cancel(false);
        }
    }
}
