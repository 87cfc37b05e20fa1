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
import java.util.function.BiConsumer;

/**
 * Decides where a stream a peer opened goes, by its service name: to a local TCP address when the service is
 * exposed that way; else to an application waiting in {@code AcceptStream} for it; else it waits (at most
 * {@link #MAX_PENDING_PER_SERVICE} per service, at most {@code pendingTimeout}) for such a call, and is reset
 * when none comes. Thread-safe: everything below is guarded by {@code this}, and no callback runs under it.
 *
 * <p>The service name comes from the peer: one that is not a valid service name is reset PROTOCOL_ERROR before it
 * is used as a key or logged, and a service's queue (of waiting streams or waiting acceptors) is dropped from its
 * map once empty, so names a peer made up hold no memory once their streams are gone.
 */
public final class ServiceRouter {
    static final int MAX_PENDING_PER_SERVICE = 256;
    /** The bounds as refusals name them. */
    static final String BAD_NAME = "peer stream service name";
    static final String PENDING_PER_SERVICE = "streams waiting per service (256)";
    static final String ACCEPT_TIMEOUT = "limits.acceptTimeout";
    /**
     * How the reset of a stream nobody accepted begins its message. The opening sidecar recognises it in the RST
     * it receives and tells its application SERVICE_NOT_ACCEPTED: keep the wording.
     */
    public static final String NOT_ACCEPTED = "no application accepted service '";
    private static final java.util.regex.Pattern SERVICE_NAME = java.util.regex.Pattern.compile(
            "[A-Za-z0-9._/-]{1,128}");

    private final Map<String, InetSocketAddress> localServices = new ConcurrentHashMap<>();
    private final Map<String, Boolean> localServiceCompression = new ConcurrentHashMap<>(); // absent: the default
    private final Map<String, ArrayDeque<CompletableFuture<Incoming>>> waiters = new HashMap<>(); // this
    private final Map<String, ArrayDeque<Pending>> pending = new HashMap<>(); // this
    private final LocalServiceConnector connector;
    private final ScheduledExecutorService timer;
    private final long pendingTimeoutMillis;
    private final BiConsumer<String, String> refusals;

    private record Pending(Incoming incoming, ScheduledFuture<?> expiry, long sinceNanos) {
    }

    /** Hears how long each stream for an application waited to be accepted (any thread; must not block). */
    public interface AcceptWaits {
        /** @param accepted true when an application took it, false when the accept timeout reset it */
        void waited(boolean accepted, long nanos);
    }

    /** Set once before the first stream arrives (volatile: read on any thread). */
    private volatile AcceptWaits acceptWaits = (accepted, nanos) -> { };

    /**
     * @param refusals told (bound, message) of every stream refused or reset at a bound; it rate-limits its logging
     */
    public ServiceRouter(LocalServiceConnector connector, ScheduledExecutorService timer, long pendingTimeoutMillis,
            BiConsumer<String, String> refusals) {
        this.connector = connector;
        this.timer = timer;
        this.pendingTimeoutMillis = pendingTimeoutMillis;
        this.refusals = refusals;
    }

    /** Where accept waits are reported (the sidecar's histogram); call before streams arrive. */
    public void setAcceptWaits(AcceptWaits waits) {
        this.acceptWaits = java.util.Objects.requireNonNull(waits, "waits");
    }

    public void addLocalService(String name, InetSocketAddress target) {
        addLocalService(name, target, java.util.Optional.empty());
    }

    /** With the compression of the service's replies ({@link StreamCompression}; empty: the session's default). */
    public void addLocalService(String name, InetSocketAddress target, java.util.Optional<Boolean> compress) {
        compress.ifPresentOrElse(c -> localServiceCompression.put(name, c), () -> localServiceCompression.remove(name));
        localServices.put(name, target);
    }

    /**
     * Exposes {@code name} at {@code target} unless the name is already exposed at another target and
     * {@code replace} is false; atomic against concurrent calls.
     *
     * @return empty when the service now goes to {@code target}; else the other target it keeps
     */
    public java.util.Optional<InetSocketAddress> addLocalService(String name, InetSocketAddress target,
            boolean replace) {
        InetSocketAddress[] kept = new InetSocketAddress[1];
        localServices.compute(name, (k, old) -> {
            if (old != null && !replace && !old.equals(target)) {
                kept[0] = old;
                return old;
            }
            return target;
        });
        return java.util.Optional.ofNullable(kept[0]);
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
        if (!SERVICE_NAME.matcher(in.service()).matches()) {
            // Not logged as it came: the peer chose it, and its length.
            refusals.accept(BAD_NAME, "stream " + in.stream().id() + " of session " + in.sessionId() + " names no "
                    + "valid service (" + in.service().length() + " characters); reset PROTOCOL_ERROR");
            in.stream().reset(ErrorCode.PROTOCOL_ERROR, "the service name must be 1 to 128 characters of A-Z, a-z, "
                    + "0-9, '.', '_', '/' and '-'");
            return;
        }
        InetSocketAddress target = localServices.get(in.service());
        if (target != null) {
            StreamCompression.apply(in.stream(), java.util.Optional.ofNullable(localServiceCompression.get(in.service())));
            connector.connect(in.stream(), in.service(), target);
            return;
        }
        if (!offer(in, false)) {
            refusals.accept(PENDING_PER_SERVICE, "stream " + in.stream().id() + " for service '" + in.service()
                    + "' of session " + in.sessionId() + " refused: " + MAX_PENDING_PER_SERVICE + " streams already "
                    + "wait for an acceptor");
            // The opener's status says why, naming the service: a limit of this side (RESOURCE_EXHAUSTED).
            in.stream().reset(ErrorCode.REFUSED_STREAM, "service '" + in.service() + "' already has "
                    + MAX_PENDING_PER_SERVICE + " streams waiting for an application to accept them");
        }
    }

    /**
     * Takes back a stream {@link #accept} handed out whose acceptor was gone by the time it got it (its call
     * cancelled in between): the stream goes to the next acceptor, or waits first in line for one, as if it had
     * never left. Without this, an application stopping one of several outstanding AcceptStream calls could lose a
     * stream that another of its calls would have taken.
     */
    public void giveBack(Incoming in) {
        offer(in, true);
    }

    /**
     * Hands {@code in} to the first waiting acceptor, or queues it (at the head when {@code first}) with its accept
     * timeout; false when the service's queue is full (never when {@code first}: a stream given back was counted
     * already, and refusing it now would lose what the bound let in).
     */
    private boolean offer(Incoming in, boolean first) {
        while (true) {
            CompletableFuture<Incoming> waiter;
            synchronized (this) {
                ArrayDeque<CompletableFuture<Incoming>> q = waiters.get(in.service());
                waiter = q == null ? null : q.pollFirst();
                if (q != null && q.isEmpty()) {
                    waiters.remove(in.service());
                }
                if (waiter == null) {
                    ArrayDeque<Pending> p = pending.computeIfAbsent(in.service(), k -> new ArrayDeque<>());
                    if (!first && p.size() >= MAX_PENDING_PER_SERVICE) {
                        return false;
                    }
                    Pending entry = new Pending(in, timer.schedule(() -> expire(in), pendingTimeoutMillis,
                            TimeUnit.MILLISECONDS), System.nanoTime());
                    if (first) {
                        p.addFirst(entry);
                    } else {
                        p.addLast(entry);
                    }
                    return true;
                }
            }
            if (waiter.complete(in)) {
                acceptWaits.waited(true, 0); // an application was already waiting for it
                return true;
            }
        }
    }

    private void expire(Incoming in) {
        boolean removed = false;
        long since = 0;
        synchronized (this) {
            ArrayDeque<Pending> p = pending.get(in.service());
            for (java.util.Iterator<Pending> it = p == null ? java.util.Collections.emptyIterator() : p.iterator();
                    it.hasNext(); ) {
                Pending x = it.next();
                if (x.incoming() == in) {
                    it.remove();
                    removed = true;
                    since = x.sinceNanos();
                    break;
                }
            }
            if (p != null && p.isEmpty()) {
                pending.remove(in.service());
            }
        }
        if (removed) {
            acceptWaits.waited(false, System.nanoTime() - since);
            refusals.accept(ACCEPT_TIMEOUT, "stream " + in.stream().id() + " for service '" + in.service()
                    + "' of session " + in.sessionId() + " reset: no application accepted it within "
                    + pendingTimeoutMillis + " ms");
            in.stream().reset(ErrorCode.CANCEL, NOT_ACCEPTED + in.service() + "' within "
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
            if (p != null && p.isEmpty()) {
                pending.remove(service);
            }
            if (ready == null) {
                waiters.computeIfAbsent(service, k -> new ArrayDeque<>()).addLast(f);
                f.whenComplete((v, e) -> {
                    if (f.isCancelled()) {
                        synchronized (this) {
                            ArrayDeque<CompletableFuture<Incoming>> q = waiters.get(service);
                            if (q != null && q.remove(f) && q.isEmpty()) {
                                waiters.remove(service);
                            }
                        }
                    }
                });
                return f;
            }
        }
        ready.expiry().cancel(false);
        acceptWaits.waited(true, System.nanoTime() - ready.sinceNanos());
        f.complete(ready.incoming());
        return f;
    }

    /** Services with streams waiting for an acceptor, or acceptors waiting for streams (each queue non-empty). */
    public synchronized int queuedServices() {
        return pending.size() + waiters.size();
    }

    /** Streams waiting for an application to accept them, over all services. */
    public synchronized int pendingStreams() {
        return pending.values().stream().mapToInt(ArrayDeque::size).sum();
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
