package io.invmux;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * Immutable settings of a session. {@link #defaults()} serves most users; {@link #builder()} changes single knobs,
 * each validated when set: a bad value throws {@link IllegalArgumentException} naming the knob, the value and the
 * allowed range. Sizes are in bytes, durations in {@link Duration}.
 */
public final class Config {
    static final int KIB = 1024;
    static final int MIB = 1024 * 1024;
    static final int GIB = 1024 * 1024 * 1024;

    private final int windowSize;
    private final int maxWindowSize;
    private final int sessionWindowSize;
    private final int maxChunkSize;
    private final Duration keepAliveInterval;
    private final Duration keepAliveTimeout;
    private final Duration writeTimeout;
    private final Duration handshakeTimeout;
    private final Duration pendingOpenTimeout;
    private final Duration resumeGracePeriod;
    private final int maxStreams;
    private final int acceptBacklog;
    private final int linkWriteBufferSize;
    private final int maxReorderChunks;
    private final int maxHandshakes;
    private final int maxHandshakesPerAddress;
    private final int maxSessions;
    private final int maxLinksPerSession;
    private final int maxPingRate;
    private final Supplier<? extends LoadBalancer> loadBalancer;
    private final ErrorHandler errorHandler;
    private final ConnectionManager connectionManager;
    private final Supplier<? extends HealthMonitor> healthMonitor;
    private final List<Middleware> middleware;
    private final ConnectionRegistry connectionRegistry;
    private final byte[] preSharedKey;
    private final TlsSettings tls;
    private final String keyName;
    private final java.util.Map<String, byte[]> peerKeys;

    private Config(Builder b) {
        this.windowSize = b.windowSize;
        this.maxWindowSize = b.maxWindowSize;
        this.sessionWindowSize = b.sessionWindowSize;
        this.maxChunkSize = b.maxChunkSize;
        this.keepAliveInterval = b.keepAliveInterval;
        this.keepAliveTimeout = b.keepAliveTimeout;
        this.writeTimeout = b.writeTimeout;
        this.handshakeTimeout = b.handshakeTimeout;
        this.pendingOpenTimeout = b.pendingOpenTimeout;
        this.resumeGracePeriod = b.resumeGracePeriod;
        this.maxStreams = b.maxStreams;
        this.acceptBacklog = b.acceptBacklog;
        this.linkWriteBufferSize = b.linkWriteBufferSize;
        this.maxReorderChunks = b.maxReorderChunks;
        this.maxHandshakes = b.maxHandshakes;
        this.maxHandshakesPerAddress = b.maxHandshakesPerAddress;
        this.maxSessions = b.maxSessions;
        this.maxLinksPerSession = b.maxLinksPerSession;
        this.maxPingRate = b.maxPingRate;
        this.loadBalancer = b.loadBalancer;
        this.errorHandler = b.errorHandler;
        this.connectionManager = b.connectionManager;
        this.healthMonitor = b.healthMonitor;
        this.middleware = List.copyOf(b.middleware);
        this.connectionRegistry = b.connectionRegistry;
        this.preSharedKey = b.preSharedKey;
        this.tls = b.tls;
        this.keyName = b.keyName;
        this.peerKeys = java.util.Map.copyOf(b.peerKeys);
    }

    /** The defaults; a new instance each call, since the connection registry inside can be added to. */
    public static Config defaults() {
        return new Builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Initial receive window of each stream, in bytes. Default 256 KiB. */
    public int windowSize() {
        return windowSize;
    }

    /** Largest a stream's receive window may auto-tune to, in bytes. Default 16 MiB. */
    public int maxWindowSize() {
        return maxWindowSize;
    }

    /** Receive window of the whole session (bytes received but not yet read, over all streams). Default 64 MiB. */
    public int sessionWindowSize() {
        return sessionWindowSize;
    }

    /** Largest chunk a stream's bytes are cut into, in bytes. Default 32 KiB. */
    public int maxChunkSize() {
        return maxChunkSize;
    }

    /** Interval between heartbeats on each link. Default 100 ms. */
    public Duration keepAliveInterval() {
        return keepAliveInterval;
    }

    /** A link that has received nothing for this long is declared dead. Default 800 ms. */
    public Duration keepAliveTimeout() {
        return keepAliveTimeout;
    }

    /** A link whose queued bytes make no progress for this long is declared dead. Default 10 s. */
    public Duration writeTimeout() {
        return writeTimeout;
    }

    /** How long a new link may take to complete its handshake. Default 10 s. */
    public Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    /** How long a stream created by DATA that overtook its OPEN waits for the OPEN; then it is reset with {@link ErrorCode#PROTOCOL_ERROR}. Default 10 s. */
    public Duration pendingOpenTimeout() {
        return pendingOpenTimeout;
    }

    /** How long a session with no link left keeps its streams alive, waiting for a link to join. Default 30 s. */
    public Duration resumeGracePeriod() {
        return resumeGracePeriod;
    }

    /** Most streams open at once in a session, both directions together. Default 65,536. */
    public int maxStreams() {
        return maxStreams;
    }

    /** Most incoming streams waiting for {@code acceptStream}; beyond it new streams are refused. Default 256. */
    public int acceptBacklog() {
        return acceptBacklog;
    }

    /** Bytes a link may have queued for its socket before the scheduler stops giving it chunks. Default 256 KiB. */
    public int linkWriteBufferSize() {
        return linkWriteBufferSize;
    }

    /** Most chunks a session holds out of order, over all its streams (each costs a buffer and a map entry, however small); the stream whose chunk goes beyond is reset with {@link ErrorCode#LIMIT_EXCEEDED}. Default 65,536. */
    public int maxReorderChunks() {
        return maxReorderChunks;
    }

    /** Most links a listener lets run their handshake at once; one more is refused with {@link ErrorCode#LIMIT_EXCEEDED}. Default 256. */
    public int maxHandshakes() {
        return maxHandshakes;
    }

    /** Most links from one source address a listener lets run their handshake at once. Default 32. */
    public int maxHandshakesPerAddress() {
        return maxHandshakesPerAddress;
    }

    /** Most sessions a listener holds at once (started and starting); a link starting one more is refused with {@link ErrorCode#LIMIT_EXCEEDED}. Default 1,024. */
    public int maxSessions() {
        return maxSessions;
    }

    /** Most links a session accepts at once; one more joining is refused with {@link ErrorCode#LIMIT_EXCEEDED}. Default 32. */
    public int maxLinksPerSession() {
        return maxLinksPerSession;
    }

    /** Most PINGs answered per second on one link; more are dropped (and none is answered while the link cannot take writes). Default 200. */
    public int maxPingRate() {
        return maxPingRate;
    }

    /** Makes the load balancer of a new session (each session has its own). Default earliest-delivery. */
    public Supplier<? extends LoadBalancer> loadBalancer() {
        return loadBalancer;
    }

    /** Decides what happens after link, stream and session errors. Default {@link ErrorHandler#defaults()}. */
    public ErrorHandler errorHandler() {
        return errorHandler;
    }

    /**
     * Makes the health monitor of a new session (each session has its own). Default: the
     * {@link io.invmux.health.DefaultHealthMonitor} with {@link HealthThresholds#defaults()}.
     */
    public Supplier<? extends HealthMonitor> healthMonitor() {
        return healthMonitor;
    }

    /** Redials lost links of a dialing session. Default {@link ConnectionManager#defaults()}. */
    public ConnectionManager connectionManager() {
        return connectionManager;
    }

    /** Middleware applied to every chunk, in order outbound and in reverse inbound. Default none. */
    public List<Middleware> middleware() {
        return middleware;
    }

    /** Where link URIs are resolved to transports. Default {@link ConnectionRegistry#defaults()}. */
    public ConnectionRegistry connectionRegistry() {
        return connectionRegistry;
    }

    /**
     * Key every link must prove it holds (HMAC challenge-response) to start or join a session, when set. Unset
     * (the default), a link joining a session proves it holds the secret the session's first link chose.
     */
    public java.util.Optional<byte[]> preSharedKey() {
        return java.util.Optional.ofNullable(preSharedKey).map(byte[]::clone);
    }

    /**
     * Credentials of {@code tls://} links (this end's certificate and key, the peers' CA). Default none:
     * {@code tls://} URIs are refused, naming this knob.
     */
    public java.util.Optional<TlsSettings> tls() {
        return java.util.Optional.ofNullable(tls);
    }

    /**
     * The name this end announces when it dials with its {@link #preSharedKey()}, so that an accepting end holding
     * one key per peer ({@link #peerKeys()}) knows which key to check and whom the session is with. Default none.
     */
    public java.util.Optional<String> keyName() {
        return java.util.Optional.ofNullable(keyName);
    }

    /**
     * Accepting side: one key per peer name. A link announcing name {@code n} must prove it holds
     * {@code peerKeys().get(n)}, and its session's {@link Session#peerIdentity()} is {@code n}; a link announcing
     * no name must prove the shared {@link #preSharedKey()}. Default empty. The map's arrays are copies.
     */
    public java.util.Map<String, byte[]> peerKeys() {
        java.util.Map<String, byte[]> out = new java.util.LinkedHashMap<>();
        peerKeys.forEach((k, v) -> out.put(k, v.clone()));
        return out;
    }

    /** The key configured for peer {@code name}, or null. */
    public byte[] peerKey(String name) {
        byte[] k = peerKeys.get(name);
        return k == null ? null : k.clone();
    }

    /** True when this end accepts only links that prove a pre-shared key (shared or per peer). */
    public boolean requiresKey() {
        return preSharedKey != null || !peerKeys.isEmpty();
    }

    /** Builder of {@link Config}; every setter validates its argument. */
    public static final class Builder {
        private int windowSize = 256 * KIB;
        private int maxWindowSize = 16 * MIB;
        private int sessionWindowSize = 64 * MIB;
        private int maxChunkSize = 32 * KIB;
        private Duration keepAliveInterval = Duration.ofMillis(100);
        private Duration keepAliveTimeout = Duration.ofMillis(800);
        private Duration writeTimeout = Duration.ofSeconds(10);
        private Duration handshakeTimeout = Duration.ofSeconds(10);
        private Duration pendingOpenTimeout = Duration.ofSeconds(10);
        private Duration resumeGracePeriod = Duration.ofSeconds(30);
        private int maxStreams = 65_536;
        private int acceptBacklog = 256;
        private int linkWriteBufferSize = 256 * KIB;
        private int maxReorderChunks = 65_536;
        private int maxHandshakes = 256;
        private int maxHandshakesPerAddress = 32;
        private int maxSessions = 1024;
        private int maxLinksPerSession = 32;
        private int maxPingRate = 200;
        private Supplier<? extends LoadBalancer> loadBalancer = LoadBalancer::earliestDelivery;
        private ErrorHandler errorHandler = ErrorHandler.defaults();
        private ConnectionManager connectionManager = ConnectionManager.defaults();
        private Supplier<? extends HealthMonitor> healthMonitor =
                () -> HealthMonitor.withThresholds(HealthThresholds.defaults());
        private List<Middleware> middleware = new ArrayList<>();
        private ConnectionRegistry connectionRegistry = ConnectionRegistry.defaults();
        private byte[] preSharedKey;
        private TlsSettings tls;
        private String keyName;
        private java.util.Map<String, byte[]> peerKeys = java.util.Map.of();

        private Builder() {
        }

        private Builder(Config c) {
            windowSize = c.windowSize;
            maxWindowSize = c.maxWindowSize;
            sessionWindowSize = c.sessionWindowSize;
            maxChunkSize = c.maxChunkSize;
            keepAliveInterval = c.keepAliveInterval;
            keepAliveTimeout = c.keepAliveTimeout;
            writeTimeout = c.writeTimeout;
            handshakeTimeout = c.handshakeTimeout;
            pendingOpenTimeout = c.pendingOpenTimeout;
            resumeGracePeriod = c.resumeGracePeriod;
            maxStreams = c.maxStreams;
            acceptBacklog = c.acceptBacklog;
            linkWriteBufferSize = c.linkWriteBufferSize;
            maxReorderChunks = c.maxReorderChunks;
            maxHandshakes = c.maxHandshakes;
            maxHandshakesPerAddress = c.maxHandshakesPerAddress;
            maxSessions = c.maxSessions;
            maxLinksPerSession = c.maxLinksPerSession;
            maxPingRate = c.maxPingRate;
            loadBalancer = c.loadBalancer;
            errorHandler = c.errorHandler;
            connectionManager = c.connectionManager;
            healthMonitor = c.healthMonitor;
            middleware = new ArrayList<>(c.middleware);
            connectionRegistry = c.connectionRegistry;
            preSharedKey = c.preSharedKey;
            tls = c.tls;
            keyName = c.keyName;
            peerKeys = c.peerKeys;
        }

        /** Initial per-stream receive window, 16 KiB to 1 GiB. */
        public Builder windowSize(int bytes) {
            this.windowSize = checkRange("windowSize", bytes, 16 * KIB, GIB, "bytes");
            return this;
        }

        /** Auto-tuning ceiling of a stream's window, 16 KiB to 1 GiB, and at least windowSize when built. */
        public Builder maxWindowSize(int bytes) {
            this.maxWindowSize = checkRange("maxWindowSize", bytes, 16 * KIB, GIB, "bytes");
            return this;
        }

        /** Session-wide receive window, 64 KiB to 1 GiB, and at least windowSize when built. */
        public Builder sessionWindowSize(int bytes) {
            this.sessionWindowSize = checkRange("sessionWindowSize", bytes, 64 * KIB, GIB, "bytes");
            return this;
        }

        /** Largest chunk, 1 KiB to 1 MiB. */
        public Builder maxChunkSize(int bytes) {
            this.maxChunkSize = checkRange("maxChunkSize", bytes, KIB, MIB, "bytes");
            return this;
        }

        /** Heartbeat interval, 10 ms to 1 h. */
        public Builder keepAliveInterval(Duration interval) {
            this.keepAliveInterval = checkDuration("keepAliveInterval", interval, Duration.ofMillis(10),
                    Duration.ofHours(1));
            return this;
        }

        /** Silence after which a link is dead, 20 ms to 1 h, and at least twice keepAliveInterval when built. */
        public Builder keepAliveTimeout(Duration timeout) {
            this.keepAliveTimeout = checkDuration("keepAliveTimeout", timeout, Duration.ofMillis(20),
                    Duration.ofHours(1));
            return this;
        }

        /** Stall time after which a link with queued bytes is dead, 10 ms to 1 h. */
        public Builder writeTimeout(Duration timeout) {
            this.writeTimeout = checkDuration("writeTimeout", timeout, Duration.ofMillis(10), Duration.ofHours(1));
            return this;
        }

        /** Handshake deadline of a new link, 10 ms to 10 min. */
        public Builder handshakeTimeout(Duration timeout) {
            this.handshakeTimeout = checkDuration("handshakeTimeout", timeout, Duration.ofMillis(10),
                    Duration.ofMinutes(10));
            return this;
        }

        /** Wait of a stream for its OPEN, 10 ms to 10 min. */
        public Builder pendingOpenTimeout(Duration timeout) {
            this.pendingOpenTimeout = checkDuration("pendingOpenTimeout", timeout, Duration.ofMillis(10),
                    Duration.ofMinutes(10));
            return this;
        }

        /** Grace period of a session without links, 0 to 24 h (0: the session closes with its last link). */
        public Builder resumeGracePeriod(Duration grace) {
            this.resumeGracePeriod = checkDuration("resumeGracePeriod", grace, Duration.ZERO, Duration.ofHours(24));
            return this;
        }

        /** Most open streams per session, 1 to 16,777,216. */
        public Builder maxStreams(int count) {
            this.maxStreams = checkRange("maxStreams", count, 1, 1 << 24, "streams");
            return this;
        }

        /** Accept backlog, 1 to 65,536 streams. */
        public Builder acceptBacklog(int count) {
            this.acceptBacklog = checkRange("acceptBacklog", count, 1, 65_536, "streams");
            return this;
        }

        /** Per-link queue limit, 16 KiB to 64 MiB. */
        public Builder linkWriteBufferSize(int bytes) {
            this.linkWriteBufferSize = checkRange("linkWriteBufferSize", bytes, 16 * KIB, 64 * MIB, "bytes");
            return this;
        }

        /** Out-of-order chunks held per session, 16 to 16,777,216. */
        public Builder maxReorderChunks(int count) {
            this.maxReorderChunks = checkRange("maxReorderChunks", count, 16, 1 << 24, "chunks");
            return this;
        }

        /** Handshakes in flight per listener, 1 to 1,048,576. */
        public Builder maxHandshakes(int count) {
            this.maxHandshakes = checkRange("maxHandshakes", count, 1, 1 << 20, "handshakes");
            return this;
        }

        /** Handshakes in flight per source address, 1 to 1,048,576. */
        public Builder maxHandshakesPerAddress(int count) {
            this.maxHandshakesPerAddress = checkRange("maxHandshakesPerAddress", count, 1, 1 << 20, "handshakes");
            return this;
        }

        /** Sessions per listener, 1 to 1,048,576. */
        public Builder maxSessions(int count) {
            this.maxSessions = checkRange("maxSessions", count, 1, 1 << 20, "sessions");
            return this;
        }

        /** Links per accepted session, 1 to 1,024. */
        public Builder maxLinksPerSession(int count) {
            this.maxLinksPerSession = checkRange("maxLinksPerSession", count, 1, 1024, "links");
            return this;
        }

        /** PINGs answered per link and second, 1 to 1,000,000. */
        public Builder maxPingRate(int count) {
            this.maxPingRate = checkRange("maxPingRate", count, 1, 1_000_000, "PINGs per second");
            return this;
        }

        public Builder loadBalancer(Supplier<? extends LoadBalancer> factory) {
            this.loadBalancer = Objects.requireNonNull(factory, "loadBalancer");
            return this;
        }

        public Builder errorHandler(ErrorHandler handler) {
            this.errorHandler = Objects.requireNonNull(handler, "errorHandler");
            return this;
        }

        public Builder healthMonitor(Supplier<? extends HealthMonitor> factory) {
            this.healthMonitor = Objects.requireNonNull(factory, "healthMonitor");
            return this;
        }

        /** Health thresholds for the default monitor (shorthand for {@link #healthMonitor}). */
        public Builder healthThresholds(HealthThresholds thresholds) {
            Objects.requireNonNull(thresholds, "healthThresholds");
            this.healthMonitor = () -> HealthMonitor.withThresholds(thresholds);
            return this;
        }

        public Builder connectionManager(ConnectionManager manager) {
            this.connectionManager = Objects.requireNonNull(manager, "connectionManager");
            return this;
        }

        /** Replaces the middleware chain; names must be unique and 1 to 255 bytes of UTF-8. */
        public Builder middleware(List<? extends Middleware> chain) {
            Objects.requireNonNull(chain, "middleware");
            if (chain.size() > 255) {
                throw new IllegalArgumentException("middleware must hold at most 255 entries, got " + chain.size());
            }
            List<String> names = new ArrayList<>();
            for (Middleware m : chain) {
                String name = Objects.requireNonNull(m, "middleware entry").name();
                int len = name == null ? 0 : name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                if (len < 1 || len > 255) {
                    throw new IllegalArgumentException("middleware name must be 1 to 255 bytes of UTF-8, got '"
                            + name + "'");
                }
                if (names.contains(name)) {
                    throw new IllegalArgumentException("middleware names must be unique, '" + name
                            + "' appears twice");
                }
                names.add(name);
            }
            int overhead = chain.stream().mapToInt(Middleware::maxOverhead).sum();
            if (overhead < 0 || overhead > KIB) {
                throw new IllegalArgumentException("middleware may add 0 to 1024 bytes to a chunk in all, the chain "
                        + "adds " + overhead);
            }
            this.middleware = new ArrayList<>(chain);
            return this;
        }

        public Builder connectionRegistry(ConnectionRegistry registry) {
            this.connectionRegistry = Objects.requireNonNull(registry, "connectionRegistry");
            return this;
        }

        /** Pre-shared join key, 16 to 1024 bytes; null removes it. Both ends must hold the same key. */
        public Builder preSharedKey(byte[] key) {
            if (key != null && (key.length < 16 || key.length > 1024)) {
                throw new IllegalArgumentException("preSharedKey must be between 16 and 1024 bytes, got "
                        + key.length + " bytes");
            }
            this.preSharedKey = key == null ? null : key.clone();
            return this;
        }

        /** TLS credentials for {@code tls://} links; null removes them. */
        public Builder tls(TlsSettings settings) {
            this.tls = settings;
            return this;
        }

        /** Name announced with the pre-shared key when dialing, 1 to 255 bytes of UTF-8; null removes it. */
        public Builder keyName(String name) {
            if (name != null) {
                int len = name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                if (len < 1 || len > 255) {
                    throw new IllegalArgumentException("keyName must be 1 to 255 bytes of UTF-8, got '" + name + "'");
                }
            }
            this.keyName = name;
            return this;
        }

        /** Per-peer keys of the accepting side (name to key, each 16 to 1024 bytes); empty removes them. */
        public Builder peerKeys(java.util.Map<String, byte[]> keys) {
            Objects.requireNonNull(keys, "peerKeys");
            java.util.Map<String, byte[]> copy = new java.util.LinkedHashMap<>();
            keys.forEach((name, key) -> {
                int len = name == null ? 0 : name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
                if (len < 1 || len > 255) {
                    throw new IllegalArgumentException("peerKeys: name must be 1 to 255 bytes of UTF-8, got '"
                            + name + "'");
                }
                if (key == null || key.length < 16 || key.length > 1024) {
                    throw new IllegalArgumentException("peerKeys['" + name + "'] must be between 16 and 1024 bytes, "
                            + "got " + (key == null ? "none" : key.length + " bytes"));
                }
                copy.put(name, key.clone());
            });
            this.peerKeys = copy;
            return this;
        }

        /** Builds the config after checking the knobs that depend on each other. */
        public Config build() {
            if (maxWindowSize < windowSize) {
                throw new IllegalArgumentException("maxWindowSize (" + maxWindowSize
                        + " bytes) must be at least windowSize (" + windowSize + " bytes)");
            }
            if (sessionWindowSize < windowSize) {
                throw new IllegalArgumentException("sessionWindowSize (" + sessionWindowSize
                        + " bytes) must be at least windowSize (" + windowSize + " bytes)");
            }
            if (keepAliveTimeout.compareTo(keepAliveInterval.multipliedBy(2)) < 0) {
                throw new IllegalArgumentException("keepAliveTimeout (" + keepAliveTimeout.toMillis()
                        + " ms) must be at least twice keepAliveInterval (" + keepAliveInterval.toMillis() + " ms)");
            }
            if (keyName != null && preSharedKey == null) {
                throw new IllegalArgumentException("keyName ('" + keyName + "') is announced with a pre-shared key; "
                        + "set preSharedKey too");
            }
            return new Config(this);
        }

        private static int checkRange(String knob, int value, int min, int max, String unit) {
            if (value < min || value > max) {
                throw new IllegalArgumentException(knob + " must be between " + min + " and " + max + " " + unit
                        + ", got " + value);
            }
            return value;
        }

        private static Duration checkDuration(String knob, Duration value, Duration min, Duration max) {
            if (value == null) {
                throw new IllegalArgumentException(knob + " must not be null");
            }
            if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
                throw new IllegalArgumentException(knob + " must be between " + min + " and " + max + ", got "
                        + value);
            }
            return value;
        }
    }
}
