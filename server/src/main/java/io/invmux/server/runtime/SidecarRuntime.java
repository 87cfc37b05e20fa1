package io.invmux.server.runtime;

import com.google.protobuf.InvalidProtocolBufferException;
import io.invmux.Config;
import io.invmux.Connection;
import io.invmux.ErrorCode;
import io.invmux.HealthState;
import io.invmux.InvMux;
import io.invmux.InvMuxException;
import io.invmux.LogKeys;
import io.invmux.Session;
import io.invmux.SessionListener;
import io.invmux.Stream;
import io.invmux.StreamOptions;
import io.invmux.TrafficClass;
import io.invmux.internal.session.MuxSessionListener;
import io.invmux.internal.transport.Addresses;
import io.invmux.proto.v1.PeerStreamHeader;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.spi.LoggingEventBuilder;

/**
 * The sidecar's data plane: the sessions it dialed to its peers (one per peer name), the sessions peers dialed to
 * it, the addresses it accepts peer links on, and the routing of incoming streams to services. Every public
 * method is thread-safe; the gRPC services, the TCP proxy and the CLI all go through it.
 */
public final class SidecarRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SidecarRuntime.class);
    /** Longest metadata an application may attach to a stream, in bytes of its encoded form. */
    public static final int MAX_METADATA_BYTES = 8 * 1024;

    private final String identity;
    private final Config config;
    /** The settings of a session dialed to a peer (its certificate name, its own key). */
    private final java.util.function.Function<String, Config> dialConfig;
    /** security.insecure: plaintext listeners without a key may face the network. */
    private final boolean insecure;
    private final MuxSessionListener listener;
    private final ServiceRouter router;
    private final ScheduledExecutorService timer;
    private final Map<String, String> listenerAddresses = new ConcurrentHashMap<>(); // as given -> bound
    private final Map<String, CompletableFuture<Session>> dialed = new ConcurrentHashMap<>(); // peer -> session
    private final Map<String, Tracked> sessions = new ConcurrentHashMap<>(); // session id -> tracked
    private final List<RuntimeListener> listeners = new CopyOnWriteArrayList<>();
    private final java.util.Set<String> knownPeers = ConcurrentHashMap.newKeySet();
    private volatile boolean closed;
    /** Set by {@link #goAway()} (graceful stop): every session, including ones that start later, goes away. */
    private volatile boolean goingAway;

    /** A session and the peer name it is known by. */
    public record Tracked(Session session, String peer, boolean dialer) {
    }

    public SidecarRuntime(String identity, Config config, LocalServiceConnector connector, long pendingTimeoutMillis) {
        this(identity, config, peer -> config, false, connector, pendingTimeoutMillis, (bound, message) -> { });
    }

    /**
     * @param dialConfig the settings of a session dialed to a named peer ({@code config} specialised for it: the
     *     name its certificate must carry, its own pre-shared key)
     * @param insecure whether a plaintext listener without a pre-shared key may take links from the network
     * @param refusals told (bound, message) of every stream from a peer the router refuses or resets at a bound
     */
    public SidecarRuntime(String identity, Config config, java.util.function.Function<String, Config> dialConfig,
            boolean insecure, LocalServiceConnector connector, long pendingTimeoutMillis,
            java.util.function.BiConsumer<String, String> refusals) {
        this.identity = identity;
        this.config = config;
        this.dialConfig = dialConfig;
        this.insecure = insecure;
        this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "invmux-router");
            t.setDaemon(true);
            return t;
        });
        this.router = new ServiceRouter(connector, timer, pendingTimeoutMillis, refusals);
        this.listener = new MuxSessionListener(config);
        acceptSessions();
    }

    /** TLS credentials of this sidecar's links, when it has them (their reloads and refusals are counted). */
    public java.util.Optional<io.invmux.TlsSettings> tls() {
        return config.tls();
    }

    /** The transports links and listeners can use. */
    public io.invmux.ConnectionRegistry connectionRegistry() {
        return config.connectionRegistry();
    }

    public String identity() {
        return identity;
    }

    public ServiceRouter router() {
        return router;
    }

    public void addListener(RuntimeListener l) {
        listeners.add(l);
    }

    public void removeListener(RuntimeListener l) {
        listeners.remove(l);
    }

    // ------------------------------------------------------------------ listeners (peer links)

    /**
     * Starts accepting peer links on {@code address}; completes with the bound address as a link URI, or with an
     * IllegalArgumentException when a listener was already added with that address (port 0 included).
     */
    public CompletableFuture<String> addListenAddress(String address) {
        URI uri = URI.create(address);
        if ("tcp".equalsIgnoreCase(uri.getScheme()) && !config.requiresKey() && !insecure
                && !io.invmux.server.config.SidecarConfig.isLoopbackHost(uri.getHost())) {
            // The same rule as for configured listeners: secure by default, whoever adds the listener.
            return CompletableFuture.failedFuture(new IllegalArgumentException("address = '" + address
                    + "': accepts links from the network with neither TLS nor a pre-shared key: listen on tls:// "
                    + "(security.tls.certFile, keyFile and caFile), set security.preSharedKeyFile, or set "
                    + "security.insecure: true"));
        }
        return listener.listen(uri).thenApply(bound -> {
            String boundUri = boundUri(uri, bound);
            // Replacing the entry would leave the earlier listener accepting links, unlisted and unremovable.
            String earlier = listenerAddresses.putIfAbsent(address, boundUri);
            if (earlier != null) {
                listener.stopListening(bound);
                throw new IllegalArgumentException("address = '" + address + "': a listener was already added with"
                        + " this address (bound at " + earlier + "); remove it first");
            }
            log.info("accepting peer links on {} ({})", address, boundUri);
            return boundUri;
        });
    }

    /**
     * What a peer dials to reach a listener: {@code tcp://10.0.0.5:7700} for one asked for as
     * {@code tcp://10.0.0.5:0} (SocketAddress.toString() gives "/10.0.0.5:7700", which no peer can dial).
     */
    private static String boundUri(URI given, SocketAddress bound) {
        return bound instanceof InetSocketAddress
                ? given.getScheme() + "://" + Addresses.hostPort(bound) : String.valueOf(bound);
    }

    /** Stops accepting on an address given to {@link #addListenAddress} (or its bound form). */
    public CompletableFuture<Boolean> removeListenAddress(String address) {
        String key = address;
        if (!listenerAddresses.containsKey(key)) {
            key = listenerAddresses.entrySet().stream().filter(e -> e.getValue().equals(address))
                    .map(Map.Entry::getKey).findFirst().orElse(null);
        }
        if (key == null) {
            return CompletableFuture.completedFuture(false);
        }
        String bound = listenerAddresses.remove(key);
        for (SocketAddress a : listener.localAddresses()) {
            if (boundUri(URI.create(key), a).equals(bound)) {
                return listener.stopListening(a);
            }
        }
        return CompletableFuture.completedFuture(false);
    }

    /** Address as given → address bound, as a link URI. */
    public Map<String, String> listenAddresses() {
        return new LinkedHashMap<>(listenerAddresses);
    }

    public long refusedLinks() {
        return listener.refusedLinks();
    }

    /** How often each limit of the peer listener was reached, by knob (sessions count their own). */
    public Map<String, Long> listenerLimitsHit() {
        return listener.limitsHit();
    }

    private void acceptSessions() {
        listener.acceptAsync().whenComplete((s, e) -> {
            if (e != null) {
                if (!closed) {
                    log.warn("accepting sessions stopped: {}", e.toString());
                }
                return;
            }
            // A peer is known by what its credential proves; without one, by its address until it says who it is.
            String peer = s.peerIdentity().map(io.invmux.PeerIdentity::name).orElse(
                    s.connections().isEmpty() ? "unknown" : s.connections().get(0).remoteAddress());
            track(s, peer, false);
            acceptSessions();
        });
    }

    // ------------------------------------------------------------------ peers and sessions

    /**
     * Dials a link to {@code peer}: the first link creates the session with that peer, later ones join it.
     * Completes with the new link.
     */
    public CompletableFuture<Connection> dialLink(String peer, URI address, int priority, double weight) {
        return dialLink(peer, address, priority, weight, null);
    }

    /**
     * As {@link #dialLink(String, URI, int, double)}, the new link capped by {@code budget} (null: no cap), which
     * its redials keep.
     */
    public CompletableFuture<Connection> dialLink(String peer, URI address, int priority, double weight,
            io.invmux.LinkBudget budget) {
        if (closed) {
            return CompletableFuture.failedFuture(new InvMuxException(ErrorCode.SESSION_CLOSED,
                    "the sidecar is shutting down"));
        }
        knownPeers.add(peer);
        CompletableFuture<Session> mine = new CompletableFuture<>();
        CompletableFuture<Session> existing = dialed.putIfAbsent(peer, mine);
        CompletableFuture<Connection> link;
        if (existing == null) {
            InvMux.dial(dialConfig.apply(peer), List.of(address)).whenComplete((s, e) -> {
                if (e != null) {
                    dialed.remove(peer, mine);
                    mine.completeExceptionally(e);
                } else {
                    track(s, peer, true);
                    s.closeFuture().whenComplete((v, x) -> dialed.remove(peer, mine));
                    mine.complete(s);
                }
            });
            link = mine.thenApply(s -> s.connections().get(s.connections().size() - 1));
        } else {
            link = existing.thenCompose(s -> s.addConnection(address));
        }
        return link.thenApply(c -> {
            c.setPriority(priority);
            if (weight > 0) {
                c.setWeight(weight);
            }
            if (budget != null) {
                c.setBudget(budget);
            }
            return c;
        });
    }

    /** The session's and the stream's ids as fields of a log event ({@link LogKeys}). */
    private static LoggingEventBuilder streamEvent(LoggingEventBuilder event, Session s, Stream stream) {
        return event.addKeyValue(LogKeys.SESSION_ID, s.id()).addKeyValue(LogKeys.STREAM_ID, stream.id());
    }

    private void track(Session s, String peer, boolean dialer) {
        Tracked t = new Tracked(s, peer, dialer);
        sessions.put(s.id(), t);
        if (goingAway) {
            s.goAway(); // a peer that dials a draining sidecar gets no session to open streams on
        }
        log.atInfo().addKeyValue(LogKeys.SESSION_ID, s.id()).addKeyValue(LogKeys.PEER, peer)
                .log("session {} with {} started ({})", s.id(), peer, dialer ? "dialed" : "accepted");
        for (RuntimeListener l : listeners) {
            l.sessionStarted(s, peer);
        }
        for (Connection c : s.connections()) {
            for (RuntimeListener l : listeners) {
                l.linkStateChanged(s, peer, c, HealthState.DEAD, c.health());
            }
        }
        s.addHealthListener((c, from, to, q) -> {
            Tracked now = sessions.get(s.id());
            for (RuntimeListener l : listeners) {
                l.linkStateChanged(s, now == null ? peer : now.peer(), c, from, to);
            }
        });
        s.closeFuture().whenComplete((v, e) -> {
            Tracked gone = sessions.remove(s.id());
            String reason = e == null ? "" : String.valueOf(e.getCause() != null ? e.getCause().getMessage()
                    : e.getMessage());
            for (RuntimeListener l : listeners) {
                l.sessionEnded(s, gone == null ? peer : gone.peer(), reason);
            }
        });
        acceptStreams(s);
    }

    private void acceptStreams(Session s) {
        s.acceptStreamAsync().whenComplete((stream, e) -> {
            if (e != null) {
                return; // the session ended
            }
            try {
                PeerStreamHeader h = PeerStreamHeader.parseFrom(stream.metadata());
                Tracked t = sessions.get(s.id());
                java.util.Optional<io.invmux.PeerIdentity> proven = s.peerIdentity();
                if (proven.isPresent() && !h.getSource().isEmpty() && !proven.get().hasName(h.getSource())) {
                    streamEvent(log.atWarn(), s, stream)
                            .log("session {}: stream {} claims to come from '{}' but the peer's {} names {}; reset",
                            s.id(), stream.id(), h.getSource(), proven.get().credential(), proven.get().names());
                    stream.reset(ErrorCode.REFUSED_STREAM, "source '" + h.getSource() + "' is not a name of this "
                            + "peer's " + proven.get().credential() + " " + proven.get().names());
                    acceptStreams(s);
                    return;
                }
                if (t != null && !t.dialer() && proven.isEmpty() && !h.getSource().isEmpty()
                        && !t.peer().equals(h.getSource())) {
                    sessions.put(s.id(), new Tracked(s, h.getSource(), false)); // now we know who it is
                }
                streamEvent(log.atDebug(), s, stream).log("stream {} of session {} opened by {} for '{}'",
                        stream.id(), s.id(), h.getSource(), h.getService());
                watchEnd(stream, false, t == null ? h.getSource() : t.peer());
                router.route(new Incoming(stream, s.id(), h.getSource(), h.getService(), h.getMetadataMap()));
            } catch (InvalidProtocolBufferException ex) {
                streamEvent(log.atWarn(), s, stream)
                        .log("session {}: stream {} has an unreadable header; reset", s.id(), stream.id());
                stream.reset();
            }
            acceptStreams(s);
        });
    }

    /**
     * Forgets {@code session} as the one dialed to {@code peer}, if it still is, so that the next
     * {@link #dialLink} starts a fresh session while this one finishes its open streams (it went away: its stream
     * ids ran out, or the peer is draining).
     */
    public void retireDialed(String peer, Session session) {
        dialed.computeIfPresent(peer, (k, f) -> f.isDone() && !f.isCompletedExceptionally() && f.join() == session
                ? null : f);
    }

    /** A peer this sidecar dials (from its config); asked-for before it connects, it is UNAVAILABLE, not unknown. */
    public void addKnownPeer(String name) {
        knownPeers.add(name);
    }

    /** Every session, dialed and accepted. */
    public List<Tracked> sessions() {
        return new ArrayList<>(sessions.values());
    }

    public Tracked session(String sessionId) {
        return sessions.get(sessionId);
    }

    /** Peer names this sidecar has dialed. */
    public List<String> dialedPeers() {
        return new ArrayList<>(dialed.keySet());
    }

    /**
     * The session to use for {@code peer}: the session dialed to that name, else a session with that id, else an
     * accepted session whose peer identity is that name.
     */
    public Session sessionFor(String peer) throws InvMuxException {
        CompletableFuture<Session> f = dialed.get(peer);
        if (f != null && f.isDone() && !f.isCompletedExceptionally()) {
            return f.join();
        }
        Tracked t = sessions.get(peer);
        if (t != null) {
            return t.session();
        }
        for (Tracked x : sessions.values()) {
            if (x.peer().equals(peer) && !x.session().isGoingAway()) {
                return x.session();
            }
        }
        if (f != null || knownPeers.contains(peer)) {
            throw new PeerUnavailableException(peer, "peer '" + peer + "' is known but not connected now"
                    + " (its links are being dialed); try again later");
        }
        List<String> known = new ArrayList<>(dialed.keySet());
        for (Tracked x : sessions.values()) {
            if (!known.contains(x.peer())) {
                known.add(x.peer());
            }
        }
        throw new PeerNotFoundException(peer, "no peer or session named '" + peer + "'; known: " + known);
    }

    /** Opening a stream to a peer name failed; {@link #peer()} is the name asked for. */
    public abstract static class PeerException extends InvMuxException {
        private static final long serialVersionUID = 1L;
        private final String peer;

        PeerException(ErrorCode code, String peer, String message) {
            super(code, message);
            this.peer = peer;
        }

        /** The name asked for. */
        public String peer() {
            return peer;
        }
    }

    /** A peer name that matches nothing. */
    public static final class PeerNotFoundException extends PeerException {
        private static final long serialVersionUID = 1L;

        PeerNotFoundException(String peer, String message) {
            super(ErrorCode.PROTOCOL_ERROR, peer, message);
        }
    }

    /** A peer this sidecar knows (it dials it) that has no session now. */
    public static final class PeerUnavailableException extends PeerException {
        private static final long serialVersionUID = 1L;

        PeerUnavailableException(String peer, String message) {
            super(ErrorCode.LINKS_LOST, peer, message);
        }
    }

    /** Opens a stream to {@code service} at {@code peer}. */
    public Stream openStream(String peer, String service, Map<String, String> metadata) throws IOException {
        return openStream(peer, service, metadata, java.util.Optional.empty());
    }

    /**
     * Opens a bulk stream to {@code service} at {@code peer}, its chunks compressed or raw as {@code compress} says
     * (empty: the session's default; see {@link StreamCompression}).
     */
    public Stream openStream(String peer, String service, Map<String, String> metadata,
            java.util.Optional<Boolean> compress) throws IOException {
        return openStream(peer, service, metadata, compress, TrafficClass.BULK);
    }

    /**
     * Opens a stream to {@code service} at {@code peer} in traffic class {@code trafficClass}, its chunks compressed
     * or raw as {@code compress} says (empty: the session's default; see {@link StreamCompression}).
     */
    public Stream openStream(String peer, String service, Map<String, String> metadata,
            java.util.Optional<Boolean> compress, TrafficClass trafficClass) throws IOException {
        byte[] header = PeerStreamHeader.newBuilder().setService(service).setSource(identity)
                .putAllMetadata(metadata).build().toByteArray();
        Stream stream = sessionFor(peer).openStream(header, StreamOptions.of(trafficClass));
        StreamCompression.apply(stream, compress); // before the application's first byte is written
        streamEvent(log.atDebug(), stream.session(), stream).addKeyValue(LogKeys.PEER, peer)
                .log("stream {} of session {} opened to {} for '{}'", stream.id(), stream.session().id(), peer, service);
        watchEnd(stream, true, peer);
        return stream;
    }

    /** Logs the end of {@code stream} (at debug) and tells the listeners how long it lasted. */
    private void watchEnd(Stream stream, boolean opened, String peer) {
        long started = System.nanoTime();
        Session s = stream.session();
        stream.closeFuture().whenComplete((v, e) -> {
            long duration = System.nanoTime() - started;
            if (log.isDebugEnabled()) {
                streamEvent(log.atDebug(), s, stream).log("stream {} of session {} ended{}", stream.id(), s.id(),
                        e == null ? "" : ": " + e.getMessage());
            }
            Tracked t = sessions.get(s.id());
            for (RuntimeListener l : listeners) {
                l.streamEnded(s, t == null ? peer : t.peer(), opened, duration, e != null);
            }
        });
    }

    /** Stops taking new streams in every session (first step of a graceful shutdown). */
    public void goAway() {
        goingAway = true;
        for (Tracked t : sessions.values()) {
            t.session().goAway();
        }
    }

    /** Open streams over all sessions. */
    public int openStreams() {
        int n = 0;
        for (Tracked t : sessions.values()) {
            n += t.session().numStreams();
        }
        return n;
    }

    @Override
    public void close() {
        closed = true;
        router.close();
        listener.close();
        for (CompletableFuture<Session> f : dialed.values()) {
            f.thenAccept(Session::close);
        }
        for (Tracked t : sessions.values()) {
            t.session().close();
        }
        timer.shutdownNow();
    }
}
