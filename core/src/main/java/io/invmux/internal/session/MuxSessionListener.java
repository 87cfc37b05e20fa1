package io.invmux.internal.session;

import io.invmux.Config;
import io.invmux.ErrorCode;
import io.invmux.PeerIdentity;
import io.invmux.Session;
import io.invmux.SessionClosedException;
import io.invmux.SessionListener;
import io.invmux.TransportContext;
import io.invmux.internal.frame.FrameDecoder;
import io.invmux.internal.frame.FrameEncoder;
import io.invmux.internal.frame.HelloFrame;
import io.invmux.internal.tls.TlsIdentity;
import io.invmux.internal.transport.EventLoops;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.local.LocalChannel;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Accepts links and sorts them into sessions by the session id in their HELLO. Thread-safe: links arrive on any
 * event loop.
 */
public final class MuxSessionListener implements SessionListener {
    final Config config;
    private final Map<String, MuxSession> sessions = new ConcurrentHashMap<>();
    private final List<Channel> serverChannels = new CopyOnWriteArrayList<>();
    private final AtomicLong refused = new AtomicLong();
    /**
     * New sessions whose first link got its reply but has not proven itself yet. The dialer joins more links as
     * soon as its proof is written, so a join can overtake that proof (another path, another loop); such a join
     * waits for the first link's outcome here instead of being refused as an unknown session.
     */
    private final Map<String, CompletableFuture<Void>> pendingSessions = new ConcurrentHashMap<>();
    private final Object acceptLock = new Object();
    private final ArrayDeque<MuxSession> ready = new ArrayDeque<>(); // guarded by acceptLock
    private final ArrayDeque<CompletableFuture<Session>> waiters = new ArrayDeque<>(); // guarded by acceptLock
    private volatile boolean closed;
    /** Links between their first byte and the end of their handshake, on all and on each source address. */
    private final AtomicInteger handshakes = new AtomicInteger();
    private final Map<InetAddress, Integer> handshakesBySource = new ConcurrentHashMap<>();
    /** Limits of this listener reached so far, by knob. */
    final LimitCounters limits = new LimitCounters();

    public MuxSessionListener(Config config) {
        this.config = config;
    }

    @Override
    public CompletableFuture<SocketAddress> listen(URI uri) {
        if (closed) {
            return CompletableFuture.failedFuture(new IOException("listener is closed"));
        }
        TransportContext context = new TransportContext() {
            @Override
            public EventLoop eventLoop() {
                return EventLoops.socketGroup().next();
            }

            @Override
            public EventLoopGroup eventLoopGroup() {
                return EventLoops.socketGroup();
            }

            @Override
            public java.util.Optional<io.invmux.TlsSettings> tls() {
                return config.tls();
            }

            @Override
            public ChannelHandler channelInitializer() {
                return new ChannelInitializer<Channel>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        ch.pipeline().addLast(new FrameDecoder(MuxSession.maxFramedChunk(config),
                                HelloFrame.maxPayload(Handshake.middlewareNames(config))), FrameEncoder.INSTANCE,
                                new LinkHandler(MuxSessionListener.this));
                    }
                };
            }
        };
        CompletableFuture<Channel> bound;
        try {
            bound = config.connectionRegistry().listen(uri, context);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
        return bound.thenApply(ch -> {
            serverChannels.add(ch);
            return ch.localAddress();
        });
    }

    /** What the accepting end remembers between its reply and the dialer's proof. */
    static final class Challenge {
        final HelloFrame request;
        final byte[] key;
        /** The name the dialer's per-peer key is under; null when it used the shared key or none. */
        final String keyName;
        final byte[] clientNonce;
        final byte[] serverNonce;
        final ErrorCode errorCode;
        final String error;
        /** Set when the request joins a session whose first link is still proving itself: ask again then. */
        final CompletableFuture<Void> retryWhenDone;

        private Challenge(HelloFrame request, byte[] key, String keyName, byte[] clientNonce, byte[] serverNonce,
                ErrorCode errorCode, String error, CompletableFuture<Void> retryWhenDone) {
            this.request = request;
            this.key = key;
            this.keyName = keyName;
            this.clientNonce = clientNonce;
            this.serverNonce = serverNonce;
            this.errorCode = errorCode;
            this.error = error;
            this.retryWhenDone = retryWhenDone;
        }

        static Challenge refused(ErrorCode code, String error) {
            return new Challenge(null, null, null, null, null, code, error, null);
        }

        static Challenge deferred(CompletableFuture<Void> firstLinkOutcome) {
            return new Challenge(null, null, null, null, null, null, null, firstLinkOutcome);
        }
    }

    /** Outcome of a handshake. */
    static final class Admission {
        final MuxSession session;
        final boolean created;
        final ErrorCode errorCode;
        final String error;

        private Admission(MuxSession session, boolean created, ErrorCode errorCode, String error) {
            this.session = session;
            this.created = created;
            this.errorCode = errorCode;
            this.error = error;
        }

        static Admission refused(ErrorCode code, String error) {
            return new Admission(null, false, code, error);
        }
    }

    /** Checks a HELLO request and picks the key the dialer must prove it holds (channel's event loop). */
    Challenge challenge(HelloFrame hello) {
        if (closed) {
            return Challenge.refused(ErrorCode.SESSION_CLOSED, "listener is closed");
        }
        if (hello.isReply() || hello.isProof()) {
            return Challenge.refused(ErrorCode.PROTOCOL_ERROR, "expected a HELLO request, got " + hello);
        }
        String mismatch = Handshake.checkMiddleware(config, hello.middleware);
        if (mismatch != null) {
            return Challenge.refused(ErrorCode.HANDSHAKE_FAILED, mismatch);
        }
        String key = HexFormat.of().formatHex(hello.sessionId);
        Handshake.RequestKey requestKey = Handshake.requestKey(config, hello);
        if (requestKey.error() != null) {
            return Challenge.refused(ErrorCode.AUTH_FAILED, requestKey.error());
        }
        byte[] clientNonce = java.util.Arrays.copyOf(hello.auth, Handshake.NONCE_LENGTH);
        String keyName = requestKey.keyName();
        byte[] peerKey = requestKey.peerKey();
        boolean withPsk = config.requiresKey();
        byte[] secret;
        if (hello.newSession()) {
            if (sessions.size() + pendingSessions.size() >= config.maxSessions()) {
                limits.hit("maxSessions");
                return Challenge.refused(ErrorCode.LIMIT_EXCEEDED, "this listener holds maxSessions ("
                        + config.maxSessions() + ") sessions");
            }
            if (sessions.containsKey(key) || pendingSessions.putIfAbsent(key, new CompletableFuture<>()) != null) {
                return Challenge.refused(ErrorCode.HANDSHAKE_FAILED, "session id " + key + " is already in use");
            }
            secret = withPsk ? null : java.util.Arrays.copyOfRange(hello.auth, Handshake.NONCE_LENGTH,
                    hello.auth.length);
        } else {
            MuxSession session = sessions.get(key);
            if (session == null || session.isClosed()) {
                CompletableFuture<Void> pending = pendingSessions.get(key);
                if (session == null && pending != null) {
                    return Challenge.deferred(pending);
                }
                return Challenge.refused(ErrorCode.UNKNOWN_SESSION, "no session with id " + key + " to join");
            }
            if (session.liveLinkCount() >= config.maxLinksPerSession()) {
                return linksFull(key); // checked again on admission: joins may race
            }
            secret = session.secret();
        }
        byte[] proofKey = peerKey != null ? peerKey : Handshake.key(config, secret);
        return new Challenge(hello, proofKey, keyName, clientNonce, Handshake.nonce(), null, null, null);
    }

    private Challenge linksFull(String sessionKey) {
        limits.hit("maxLinksPerSession");
        return Challenge.refused(ErrorCode.LIMIT_EXCEEDED, "session " + sessionKey + " has maxLinksPerSession ("
                + config.maxLinksPerSession() + ") links");
    }

    /**
     * The handshake of a new session's first link ended (admitted, refused or closed): joins waiting for it go
     * on. Idempotent; any thread.
     */
    void firstLinkSettled(Challenge challenge) {
        if (challenge.request != null && challenge.request.newSession()) {
            CompletableFuture<Void> pending = pendingSessions.remove(HexFormat.of().formatHex(
                    challenge.request.sessionId));
            if (pending != null) {
                pending.complete(null);
            }
        }
    }

    /** Checks the dialer's proof and starts or joins the session (channel's event loop). */
    Admission admit(Channel channel, Challenge challenge, HelloFrame proof) {
        try {
            return admitOrRefuse(channel, challenge, proof);
        } finally {
            firstLinkSettled(challenge);
        }
    }

    private Admission admitOrRefuse(Channel channel, Challenge challenge, HelloFrame proof) {
        HelloFrame hello = challenge.request;
        String key = HexFormat.of().formatHex(hello.sessionId);
        if (!proof.isProof() || !java.util.Arrays.equals(proof.sessionId, hello.sessionId)
                || proof.linkId != hello.linkId) {
            return Admission.refused(ErrorCode.PROTOCOL_ERROR, "expected the HELLO proof for session " + key
                    + " link " + hello.linkId + ", got " + proof);
        }
        byte[] expected = Handshake.dialerMac(challenge.key, hello,
                Handshake.replyBase(config, hello, challenge.serverNonce));
        MuxSession existing = sessions.get(key);
        if (!Handshake.macMatches(expected, proof.auth)) {
            if (existing != null) {
                existing.refusedLinks.incrementAndGet();
            }
            return Admission.refused(ErrorCode.AUTH_FAILED, "link failed to prove it holds the "
                    + (challenge.keyName != null ? "pre-shared key of peer '" + challenge.keyName + "'"
                    : Handshake.keyName(config)) + " of session " + key + ", or a HELLO was altered on the way");
        }
        PeerIdentity identity = TlsIdentity.of(channel);
        if (identity == null && TlsIdentity.isTls(channel)) {
            return Admission.refused(ErrorCode.AUTH_FAILED, "the peer's certificate names nobody (no DNS, IP or "
                    + "SPIFFE URI SAN), so its session would have no peer name");
        }
        if (challenge.keyName != null) {
            if (identity != null && !identity.hasName(challenge.keyName)) {
                return Admission.refused(ErrorCode.AUTH_FAILED, "the peer's certificate names " + identity.names()
                        + " but its pre-shared key is the one of '" + challenge.keyName + "'");
            }
            if (identity == null) {
                identity = new PeerIdentity(challenge.keyName, List.of(challenge.keyName), "pre-shared key");
            }
        }
        if (hello.newSession()) {
            byte[] secret = config.requiresKey() ? null
                    : java.util.Arrays.copyOfRange(hello.auth, Handshake.NONCE_LENGTH, hello.auth.length);
            MuxSession session = new MuxSession(config, false, hello.sessionId.clone(), secret, channel.eventLoop(),
                    this);
            session.setPeerLimits(hello.streamWindow, hello.sessionWindow, hello.maxChunkSize);
            session.setPeerIdentity(identity);
            if (sessions.putIfAbsent(key, session) != null) {
                session.closeSession(ErrorCode.SESSION_CLOSED, "duplicate session id", false);
                return Admission.refused(ErrorCode.HANDSHAKE_FAILED, "session id " + key + " is already in use");
            }
            session.claimLinkId(hello.linkId);
            return new Admission(session, true, null, null);
        }
        if (existing == null || existing.isClosed()) {
            return Admission.refused(ErrorCode.UNKNOWN_SESSION, "no session with id " + key + " to join");
        }
        if (existing.liveLinkCount() >= config.maxLinksPerSession()) {
            Challenge full = linksFull(key);
            return Admission.refused(full.errorCode, full.error);
        }
        PeerIdentity owner = existing.peerIdentity().orElse(null);
        if (!sameName(owner, identity)) {
            existing.refusedLinks.incrementAndGet();
            return Admission.refused(ErrorCode.AUTH_FAILED, "link proves identity " + name(identity)
                    + " but session " + key + " belongs to " + name(owner));
        }
        if (!existing.claimLinkId(hello.linkId)) {
            return Admission.refused(ErrorCode.HANDSHAKE_FAILED, "session " + key + " already has a live link "
                    + hello.linkId);
        }
        return new Admission(existing, false, null, null);
    }

    /**
     * Lets a new link start its handshake unless {@link Config#maxHandshakes()} links (or
     * {@link Config#maxHandshakesPerAddress()} from its source address) are in theirs; returns why not, or null
     * (then {@link #endHandshake} must follow once). Any thread.
     */
    String startHandshake(Channel channel) {
        if (handshakes.incrementAndGet() > config.maxHandshakes()) {
            handshakes.decrementAndGet();
            limits.hit("maxHandshakes");
            return "too many handshakes in flight: maxHandshakes (" + config.maxHandshakes() + ") reached";
        }
        InetAddress source = sourceOf(channel);
        if (source == null) {
            return null;
        }
        boolean[] admitted = {false};
        handshakesBySource.compute(source, (k, n) -> {
            int count = n == null ? 0 : n;
            if (count >= config.maxHandshakesPerAddress()) {
                return n;
            }
            admitted[0] = true;
            return count + 1;
        });
        if (!admitted[0]) {
            handshakes.decrementAndGet();
            limits.hit("maxHandshakesPerAddress");
            return "too many handshakes in flight from " + source.getHostAddress() + ": maxHandshakesPerAddress ("
                    + config.maxHandshakesPerAddress() + ") reached";
        }
        return null;
    }

    /** A link counted by {@link #startHandshake} finished or abandoned its handshake. Any thread. */
    void endHandshake(Channel channel) {
        handshakes.decrementAndGet();
        InetAddress source = sourceOf(channel);
        if (source != null) {
            handshakesBySource.compute(source, (k, n) -> n == null || n <= 1 ? null : n - 1);
        }
    }

    private static InetAddress sourceOf(Channel channel) {
        SocketAddress remote = channel.remoteAddress();
        return remote instanceof InetSocketAddress ? ((InetSocketAddress) remote).getAddress() : null;
    }

    /** New sessions whose first link is between its reply and its proof. */
    int pendingSessionCount() {
        return pendingSessions.size();
    }

    /** Links in their handshake now. */
    int handshakesInFlight() {
        return handshakes.get();
    }

    @Override
    public java.util.Map<String, Long> limitsHit() {
        return limits.snapshot();
    }

    private static boolean sameName(PeerIdentity a, PeerIdentity b) {
        return a == null ? b == null : b != null && a.name().equals(b.name());
    }

    private static String name(PeerIdentity identity) {
        return identity == null ? "(none)" : "'" + identity.name() + "'";
    }

    void onRefused(ErrorCode code) {
        refused.incrementAndGet();
    }

    String transportName(Channel channel) {
        return channel instanceof LocalChannel ? "mem" : TlsIdentity.isTls(channel) ? "tls" : "tcp";
    }

    /** A new session's first link is up: hand the session to an accept call. */
    void offer(MuxSession session) {
        synchronized (acceptLock) {
            CompletableFuture<Session> w;
            while ((w = waiters.pollFirst()) != null) {
                if (w.complete(session)) {
                    return;
                }
            }
            ready.addLast(session);
        }
    }

    void onSessionClosed(MuxSession session) {
        sessions.remove(session.id(), session);
        synchronized (acceptLock) {
            ready.remove(session);
        }
    }

    @Override
    public Session accept() throws IOException, InterruptedException {
        return await(acceptAsync(), 0);
    }

    @Override
    public Session accept(Duration timeout) throws IOException, InterruptedException {
        return await(acceptAsync(), timeout.toNanos());
    }

    private static Session await(CompletableFuture<Session> f, long nanos) throws IOException, InterruptedException {
        try {
            return nanos > 0 ? f.get(nanos, TimeUnit.NANOSECONDS) : f.get();
        } catch (TimeoutException | InterruptedException e) {
            if (!f.cancel(false)) {
                return f.join();
            }
            if (e instanceof InterruptedException) {
                throw (InterruptedException) e;
            }
            throw new SocketTimeoutException("no session accepted within " + nanos / 1_000_000 + " ms");
        } catch (ExecutionException e) {
            throw e.getCause() instanceof IOException ? (IOException) e.getCause() : new IOException(e.getCause());
        }
    }

    @Override
    public CompletableFuture<Session> acceptAsync() {
        CompletableFuture<Session> f = new CompletableFuture<>();
        synchronized (acceptLock) {
            MuxSession s = ready.pollFirst();
            if (s != null) {
                f.complete(s);
            } else if (closed) {
                f.completeExceptionally(new SessionClosedException(ErrorCode.SESSION_CLOSED, "listener is closed"));
            } else {
                waiters.addLast(f);
            }
        }
        return f;
    }

    @Override
    public CompletableFuture<Boolean> stopListening(SocketAddress boundAddress) {
        for (Channel ch : serverChannels) {
            if (ch.localAddress().equals(boundAddress)) {
                serverChannels.remove(ch);
                CompletableFuture<Boolean> done = new CompletableFuture<>();
                ch.close().addListener(f -> done.complete(true));
                return done;
            }
        }
        return CompletableFuture.completedFuture(false);
    }

    @Override
    public List<SocketAddress> localAddresses() {
        List<SocketAddress> out = new ArrayList<>();
        for (Channel ch : serverChannels) {
            out.add(ch.localAddress());
        }
        return out;
    }

    @Override
    public List<Session> sessions() {
        return List.copyOf(sessions.values());
    }

    @Override
    public long refusedLinks() {
        return refused.get();
    }

    @Override
    public void close() {
        closed = true;
        for (Channel ch : serverChannels) {
            ch.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
        for (MuxSession s : sessions.values()) {
            s.close();
        }
        List<CompletableFuture<Session>> pending;
        synchronized (acceptLock) {
            pending = new ArrayList<>(waiters);
            waiters.clear();
        }
        for (CompletableFuture<Session> w : pending) {
            w.completeExceptionally(new SessionClosedException(ErrorCode.SESSION_CLOSED, "listener closed"));
        }
    }
}
