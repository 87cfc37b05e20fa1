package io.invmux.server.grpc;

import com.google.protobuf.Timestamp;
import io.invmux.Connection;
import io.invmux.HealthState;
import io.invmux.Session;
import io.invmux.proto.v1.LinkDown;
import io.invmux.proto.v1.LinkStateChange;
import io.invmux.proto.v1.LinkUp;
import io.invmux.proto.v1.SessionEvent;
import io.invmux.proto.v1.WatchHealthResponse;
import io.invmux.server.runtime.RuntimeListener;
import io.invmux.server.runtime.SidecarRuntime;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Consumer;

/**
 * The sidecar's health events, numbered 1, 2, 3, ... within its epoch (a random id of this run), the last
 * {@link #CAPACITY} kept so that a watch that broke can resume where it left off. One listener of the runtime for
 * all watches: an event has the same number whoever watches.
 *
 * <p>Guarded by {@code this}: the ring, the last number and the subscribers. Events are handed to subscribers
 * under the lock, so each sees them in number order and none falls between its replay and its live events;
 * subscribers only queue them (see MonitorServiceImpl's Watch), never block.
 */
final class HealthEventLog implements RuntimeListener {
    /** Events kept for resuming watches; a watcher further behind gets a snapshot (EVENTS_EXPIRED). */
    static final int CAPACITY = 1024;

    /** One numbered event, with the session it is about (for watches of one session). */
    record Event(long sequence, String sessionId, WatchHealthResponse message) {
    }

    /** Where a new subscriber starts: events to replay, or none because they are gone. */
    record Start(long lastSequence, List<Event> replay, boolean expired) {
    }

    private final SidecarRuntime runtime;
    private final String epoch;
    private final ArrayDeque<Event> ring = new ArrayDeque<>(); // this
    private final List<Consumer<Event>> subscribers = new ArrayList<>(); // this
    private long lastSequence; // this

    HealthEventLog(SidecarRuntime runtime) {
        this.runtime = runtime;
        byte[] id = new byte[8];
        new SecureRandom().nextBytes(id);
        this.epoch = HexFormat.of().formatHex(id);
    }

    String epoch() {
        return epoch;
    }

    /**
     * Adds a subscriber. With {@code resumeAfter} (-1: none), the events after that number are returned for replay,
     * unless some are no longer in the ring ({@link Start#expired()}).
     */
    synchronized Start subscribe(Consumer<Event> subscriber, long resumeAfter) {
        subscribers.add(subscriber);
        if (resumeAfter < 0) {
            return new Start(lastSequence, List.of(), false);
        }
        long oldestKept = ring.isEmpty() ? lastSequence + 1 : ring.peekFirst().sequence();
        if (resumeAfter + 1 < oldestKept) {
            return new Start(lastSequence, List.of(), true);
        }
        List<Event> replay = new ArrayList<>();
        for (Event e : ring) {
            if (e.sequence() > resumeAfter) {
                replay.add(e);
            }
        }
        return new Start(lastSequence, replay, false);
    }

    synchronized void unsubscribe(Consumer<Event> subscriber) {
        subscribers.remove(subscriber);
    }

    /** The last number given (0 before the first event). */
    synchronized long lastSequence() {
        return lastSequence;
    }

    /** A message stamped now with this epoch, unnumbered (for snapshots and samples). */
    WatchHealthResponse.Builder message() {
        Instant now = Instant.now();
        return WatchHealthResponse.newBuilder().setEpoch(epoch).setTime(Timestamp.newBuilder()
                .setSeconds(now.getEpochSecond()).setNanos(now.getNano()));
    }

    private synchronized void append(String sessionId, WatchHealthResponse.Builder m) {
        Event e = new Event(++lastSequence, sessionId, m.setSequence(lastSequence).build());
        ring.addLast(e);
        if (ring.size() > CAPACITY) {
            ring.removeFirst();
        }
        for (Consumer<Event> s : List.copyOf(subscribers)) { // a subscriber may unsubscribe when it overflows
            s.accept(e);
        }
    }

    @Override
    public void sessionStarted(Session session, String peer) {
        SidecarRuntime.Tracked t = runtime.session(session.id());
        if (t != null) {
            append(session.id(), message().setSession(SessionEvent.newBuilder()
                    .setKind(SessionEvent.Kind.KIND_STARTED).setSession(ProtoMapper.session(t))));
        }
    }

    @Override
    public void sessionEnded(Session session, String peer, String reason) {
        append(session.id(), message().setSession(SessionEvent.newBuilder().setKind(SessionEvent.Kind.KIND_ENDED)
                .setSession(io.invmux.proto.v1.Session.newBuilder().setSessionId(session.id()).setPeer(peer))
                .setReason(reason)));
    }

    @Override
    public void linkStateChanged(Session session, String peer, Connection link, HealthState from, HealthState to) {
        io.invmux.proto.v1.Link l = ProtoMapper.link(session.id(), peer, link);
        if (from == HealthState.DEAD) {
            append(session.id(), message().setLinkUp(LinkUp.newBuilder().setLink(l)));
        } else if (to == HealthState.DEAD) {
            append(session.id(), message().setLinkDown(LinkDown.newBuilder().setLink(l.toBuilder()
                    .setState(ProtoMapper.state(HealthState.DEAD)))));
        } else {
            append(session.id(), message().setStateChange(LinkStateChange.newBuilder().setLink(l)
                    .setPrevious(ProtoMapper.state(from))));
        }
    }
}
