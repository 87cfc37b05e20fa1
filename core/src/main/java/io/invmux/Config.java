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
    private final Duration resumeGracePeriod;
    private final int maxStreams;
    private final int acceptBacklog;
    private final int linkWriteBufferSize;
    private final Supplier<? extends LoadBalancer> loadBalancer;
    private final ErrorHandler errorHandler;
    private final ConnectionManager connectionManager;
    private final Supplier<? extends HealthMonitor> healthMonitor;
    private final List<Middleware> middleware;
    private final ConnectionRegistry connectionRegistry;
    private final byte[] preSharedKey;

    private Config(Builder b) {
        this.windowSize = b.windowSize;
        this.maxWindowSize = b.maxWindowSize;
        this.sessionWindowSize = b.sessionWindowSize;
        this.maxChunkSize = b.maxChunkSize;
        this.keepAliveInterval = b.keepAliveInterval;
        this.keepAliveTimeout = b.keepAliveTimeout;
        this.writeTimeout = b.writeTimeout;
        this.handshakeTimeout = b.handshakeTimeout;
        this.resumeGracePeriod = b.resumeGracePeriod;
        this.maxStreams = b.maxStreams;
        this.acceptBacklog = b.acceptBacklog;
        this.linkWriteBufferSize = b.linkWriteBufferSize;
        this.loadBalancer = b.loadBalancer;
        this.errorHandler = b.errorHandler;
        this.connectionManager = b.connectionManager;
        this.healthMonitor = b.healthMonitor;
        this.middleware = List.copyOf(b.middleware);
        this.connectionRegistry = b.connectionRegistry;
        this.preSharedKey = b.preSharedKey;
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
        private Duration resumeGracePeriod = Duration.ofSeconds(30);
        private int maxStreams = 65_536;
        private int acceptBacklog = 256;
        private int linkWriteBufferSize = 256 * KIB;
        private Supplier<? extends LoadBalancer> loadBalancer = LoadBalancer::earliestDelivery;
        private ErrorHandler errorHandler = ErrorHandler.defaults();
        private ConnectionManager connectionManager = ConnectionManager.defaults();
        private Supplier<? extends HealthMonitor> healthMonitor =
                () -> HealthMonitor.withThresholds(HealthThresholds.defaults());
        private List<Middleware> middleware = new ArrayList<>();
        private ConnectionRegistry connectionRegistry = ConnectionRegistry.defaults();
        private byte[] preSharedKey;

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
            resumeGracePeriod = c.resumeGracePeriod;
            maxStreams = c.maxStreams;
            acceptBacklog = c.acceptBacklog;
            linkWriteBufferSize = c.linkWriteBufferSize;
            loadBalancer = c.loadBalancer;
            errorHandler = c.errorHandler;
            connectionManager = c.connectionManager;
            healthMonitor = c.healthMonitor;
            middleware = new ArrayList<>(c.middleware);
            connectionRegistry = c.connectionRegistry;
            preSharedKey = c.preSharedKey;
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
