package io.invmux.server.config;

import io.invmux.Config;
import io.invmux.TlsSettings;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.snakeyaml.engine.v2.api.Dump;
import org.snakeyaml.engine.v2.api.DumpSettings;
import org.snakeyaml.engine.v2.common.FlowStyle;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * The effective configuration of a sidecar: immutable, validated by {@link ConfigLoader}, which also documents the
 * YAML schema. {@link #toCoreConfig()} gives the session settings of the core library; {@link #toYaml()} renders
 * the configuration back to YAML that loads to an equal one.
 *
 * @param identity name of this sidecar ({@code [A-Za-z0-9._-]{1,63}})
 * @param listeners link URIs peer links are accepted on
 * @param peers sidecars this one dials, names unique
 * @param services streams arriving for these names go to a local TCP address
 * @param forwards local TCP listeners whose connections become streams to a peer's service
 * @param exposure what the API may expose: service targets, forward listen addresses ({@code security.*})
 * @param middleware the sessions' middleware chain, each {@code passthrough} or
 *                   {@code zstd|lz4|deflate[:LEVEL][@DICTIONARY_FILE]} (adaptive compression; a dictionary for zstd
 *                   only); both peers must have the same names in the same order (and the same dictionary)
 */
public record SidecarConfig(
        String identity,
        Api api,
        Health health,
        Admin admin,
        List<URI> listeners,
        List<Peer> peers,
        List<Service> services,
        List<Forward> forwards,
        Limits limits,
        Security security,
        Exposure exposure,
        Logging logging,
        List<String> middleware) {

    public SidecarConfig {
        Objects.requireNonNull(identity, "identity");
        Objects.requireNonNull(api, "api");
        Objects.requireNonNull(health, "health");
        Objects.requireNonNull(admin, "admin");
        listeners = List.copyOf(listeners);
        peers = List.copyOf(peers);
        services = List.copyOf(services);
        forwards = List.copyOf(forwards);
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(security, "security");
        Objects.requireNonNull(exposure, "exposure");
        Objects.requireNonNull(logging, "logging");
        middleware = List.copyOf(middleware);
    }

    /** Without a middleware chain, exposing what the defaults allow. */
    public SidecarConfig(String identity, Api api, Health health, Admin admin, List<URI> listeners, List<Peer> peers,
            List<Service> services, List<Forward> forwards, Limits limits, Security security, Logging logging) {
        this(identity, api, health, admin, listeners, peers, services, forwards, limits, security,
                Exposure.defaults(), logging, List.of());
    }

    /** The middleware of a chain entry: {@code passthrough}, or adaptive compression from its spec. */
    public static io.invmux.Middleware middlewareOf(String spec) {
        return spec.equals("passthrough") ? io.invmux.Middleware.passthrough()
                : io.invmux.compress.CompressionMiddleware.parse(spec);
    }

    /** The name an entry of the chain has in the handshake, which entries' {@code middleware} lists refer to. */
    public static String middlewareName(String spec) {
        int end = spec.length();
        for (char c : new char[] {':', '@'}) {
            int i = spec.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        return spec.substring(0, end);
    }

    /**
     * Whether an entry's streams are compressed: empty when the entry says nothing (the session's default:
     * compressed when the chain compresses), else whether its {@code middleware} names a compression entry.
     */
    public static Optional<Boolean> compresses(Optional<List<String>> entryMiddleware) {
        return entryMiddleware.map(l -> l.stream().anyMatch(n -> !n.equals("passthrough")));
    }

    /**
     * The control gRPC API.
     *
     * @param address TCP {@code host:port} or {@code unix:///absolute/path}
     * @param token token checked on every call, given inline or read from {@code tokenFile}; empty: no check
     * @param maxMessageSize largest inbound gRPC message, bytes
     * @param maxStreamsPerClient concurrent stream RPCs per client (peer uid on a Unix socket, remote address on
     *                            TCP), over all its connections
     * @param tokenFile the file the token was read from, when it came from one
     * @param socketGroup group owning the Unix socket (mode 0660 then, else 0600); empty: the process's group
     * @param maxConnectionsPerClient connections one client (as for {@code maxStreamsPerClient}) may hold open at
     *                                once to the API port, and likewise to the health port
     */
    public record Api(Address address, String token, int maxMessageSize, int maxStreamsPerClient,
            Optional<Path> tokenFile, String socketGroup, int maxConnectionsPerClient) {
        /** Default {@code maxConnectionsPerClient}. */
        public static final int DEFAULT_MAX_CONNECTIONS_PER_CLIENT = 64;

        public Api {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(token, "token");
            Objects.requireNonNull(tokenFile, "tokenFile");
            Objects.requireNonNull(socketGroup, "socketGroup");
        }

        /** An API with an inline token (or none), a Unix socket of the process's group. */
        public Api(Address address, String token, int maxMessageSize, int maxStreamsPerClient) {
            this(address, token, maxMessageSize, maxStreamsPerClient, Optional.empty(), "");
        }

        /** An API with the default {@code maxConnectionsPerClient}. */
        public Api(Address address, String token, int maxMessageSize, int maxStreamsPerClient,
                Optional<Path> tokenFile, String socketGroup) {
            this(address, token, maxMessageSize, maxStreamsPerClient, tokenFile, socketGroup,
                    DEFAULT_MAX_CONNECTIONS_PER_CLIENT);
        }

        /** The token, when one is set. */
        public Optional<String> tokenIfSet() {
            return token.isEmpty() ? Optional.empty() : Optional.of(token);
        }

        /** Hides the token. */
        @Override
        public String toString() {
            return "Api[address=" + address + ", token=" + (token.isEmpty() ? "" : "(hidden)") + ", maxMessageSize="
                    + maxMessageSize + ", maxStreamsPerClient=" + maxStreamsPerClient + ", tokenFile="
                    + tokenFile.map(Path::toString).orElse("") + ", socketGroup=" + socketGroup
                    + ", maxConnectionsPerClient=" + maxConnectionsPerClient + "]";
        }
    }

    /** The extra listener serving only {@code grpc.health.v1} (Kubernetes probes); empty: off. */
    public record Health(Optional<TcpAddress> address) {
        public Health {
            Objects.requireNonNull(address, "address");
        }
    }

    /** The HTTP admin listener ({@code /metrics}, {@code /ready}, {@code /live}); empty: off. */
    public record Admin(Optional<TcpAddress> address) {
        public Admin {
            Objects.requireNonNull(address, "address");
        }
    }

    /**
     * A sidecar this one dials, over one or more links.
     *
     * @param preSharedKeyFile the key this sidecar proves when dialing this peer, announced under this sidecar's
     *     identity (the peer lists it in its {@code security.acceptPeers}); empty: the shared key, if any
     */
    public record Peer(String name, List<Link> links, Optional<Path> preSharedKeyFile) {
        public Peer {
            Objects.requireNonNull(name, "name");
            links = List.copyOf(links);
            Objects.requireNonNull(preSharedKeyFile, "preSharedKeyFile");
        }

        /** A peer dialed with the shared key (or none). */
        public Peer(String name, List<Link> links) {
            this(name, links, Optional.empty());
        }
    }

    /**
     * One link to a peer.
     *
     * @param address link URI, {@code tcp://host:port[?bind=..&iface=..&sndbuf=..&rcvbuf=..]} or
     *                {@code mem://name}
     * @param priority -100..100
     * @param weight greater than 0, at most 1000
     */
    /**
     * One configured link of a peer: its address, scheduling tier and weight, and {@code maxBytesPerDay}, the most
     * stream bytes it may be sent in any 24 hours (a metered path; 0: no cap, see {@link io.invmux.LinkBudget}).
     */
    public record Link(URI address, int priority, double weight, long maxBytesPerDay) {
        public Link {
            Objects.requireNonNull(address, "address");
        }

        public Link(URI address, int priority, double weight) {
            this(address, priority, weight, 0);
        }
    }

    /**
     * Streams arriving for {@code name} are connected to {@code target}; {@code middleware}, when given, is the part
     * of the session's chain this service's replies use (without a compression entry they go raw).
     */
    public record Service(String name, TcpAddress target, Optional<List<String>> middleware) {
        public Service {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(target, "target");
            middleware = middleware.map(List::copyOf);
        }

        public Service(String name, TcpAddress target) {
            this(name, target, Optional.empty());
        }
    }

    /**
     * Connections accepted on {@code listen} become streams to {@code service} of {@code peer}, in traffic class
     * {@code trafficClass}; {@code middleware} as for {@link Service}.
     */
    public record Forward(TcpAddress listen, String peer, String service, Optional<List<String>> middleware,
            io.invmux.TrafficClass trafficClass) {
        public Forward {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(peer, "peer");
            Objects.requireNonNull(service, "service");
            Objects.requireNonNull(trafficClass, "trafficClass");
            middleware = middleware.map(List::copyOf);
        }

        public Forward(TcpAddress listen, String peer, String service, Optional<List<String>> middleware) {
            this(listen, peer, service, middleware, io.invmux.TrafficClass.BULK);
        }

        public Forward(TcpAddress listen, String peer, String service) {
            this(listen, peer, service, Optional.empty());
        }
    }

    /**
     * Session limits (passed to the core, see {@link Config}), how long an incoming stream waits for an application
     * to accept it ({@code acceptTimeout}), the drain timeout of a graceful stop, and the local connections the
     * proxy opens for peers' streams to a TCP service: at most {@code maxServiceConnections} per service at once,
     * each closed after {@code serviceIdleTimeout} without a byte either way (zero: never).
     */
    public record Limits(
            int windowSize,
            int maxWindowSize,
            int sessionWindowSize,
            int maxChunkSize,
            int maxStreams,
            int acceptBacklog,
            Duration acceptTimeout,
            Duration keepAliveInterval,
            Duration keepAliveTimeout,
            Duration writeTimeout,
            Duration resumeGracePeriod,
            Duration drainTimeout,
            int maxServiceConnections,
            Duration serviceIdleTimeout,
            PeerLimits peerLimits) {
        /** Default {@code maxServiceConnections}. */
        public static final int DEFAULT_MAX_SERVICE_CONNECTIONS = 1024;
        /** Default {@code serviceIdleTimeout}. */
        public static final Duration DEFAULT_SERVICE_IDLE_TIMEOUT = Duration.ofMinutes(30);

        public Limits {
            Objects.requireNonNull(acceptTimeout, "acceptTimeout");
            Objects.requireNonNull(keepAliveInterval, "keepAliveInterval");
            Objects.requireNonNull(keepAliveTimeout, "keepAliveTimeout");
            Objects.requireNonNull(writeTimeout, "writeTimeout");
            Objects.requireNonNull(resumeGracePeriod, "resumeGracePeriod");
            Objects.requireNonNull(drainTimeout, "drainTimeout");
            Objects.requireNonNull(serviceIdleTimeout, "serviceIdleTimeout");
            Objects.requireNonNull(peerLimits, "peerLimits");
        }

        /** Limits with the core's defaults for what peers may hold ({@link PeerLimits#defaults()}). */
        public Limits(int windowSize, int maxWindowSize, int sessionWindowSize, int maxChunkSize, int maxStreams,
                int acceptBacklog, Duration acceptTimeout, Duration keepAliveInterval, Duration keepAliveTimeout,
                Duration writeTimeout, Duration resumeGracePeriod, Duration drainTimeout, int maxServiceConnections,
                Duration serviceIdleTimeout) {
            this(windowSize, maxWindowSize, sessionWindowSize, maxChunkSize, maxStreams, acceptBacklog, acceptTimeout,
                    keepAliveInterval, keepAliveTimeout, writeTimeout, resumeGracePeriod, drainTimeout,
                    maxServiceConnections, serviceIdleTimeout, PeerLimits.defaults());
        }

        /** Limits with the proxy's defaults for service connections. */
        public Limits(int windowSize, int maxWindowSize, int sessionWindowSize, int maxChunkSize, int maxStreams,
                int acceptBacklog, Duration acceptTimeout, Duration keepAliveInterval, Duration keepAliveTimeout,
                Duration writeTimeout, Duration resumeGracePeriod, Duration drainTimeout) {
            this(windowSize, maxWindowSize, sessionWindowSize, maxChunkSize, maxStreams, acceptBacklog, acceptTimeout,
                    keepAliveInterval, keepAliveTimeout, writeTimeout, resumeGracePeriod, drainTimeout,
                    DEFAULT_MAX_SERVICE_CONNECTIONS, DEFAULT_SERVICE_IDLE_TIMEOUT);
        }
    }

    /**
     * What a peer, or a stranger that reaches a listener, may make this sidecar hold (docs/SECURITY.md, section 3):
     * handshakes in flight per listener and per source address and how long each may take, sessions per listener,
     * links per accepted session, how long a stream may wait for its OPEN, out-of-order chunks held per session,
     * and PINGs answered per link and second. Passed to the core, which owns their defaults and ranges.
     */
    public record PeerLimits(
            Duration handshakeTimeout,
            int maxHandshakes,
            int maxHandshakesPerAddress,
            int maxSessions,
            int maxLinksPerSession,
            Duration pendingOpenTimeout,
            int maxReorderChunks,
            int maxPingRate) {
        public PeerLimits {
            Objects.requireNonNull(handshakeTimeout, "handshakeTimeout");
            Objects.requireNonNull(pendingOpenTimeout, "pendingOpenTimeout");
        }

        /** The core's defaults ({@link Config#defaults()}). */
        public static PeerLimits defaults() {
            Config d = Config.defaults();
            return new PeerLimits(d.handshakeTimeout(), d.maxHandshakes(), d.maxHandshakesPerAddress(),
                    d.maxSessions(), d.maxLinksPerSession(), d.pendingOpenTimeout(), d.maxReorderChunks(),
                    d.maxPingRate());
        }

        void applyTo(Config.Builder b) {
            b.handshakeTimeout(handshakeTimeout)
                    .maxHandshakes(maxHandshakes)
                    .maxHandshakesPerAddress(maxHandshakesPerAddress)
                    .maxSessions(maxSessions)
                    .maxLinksPerSession(maxLinksPerSession)
                    .pendingOpenTimeout(pendingOpenTimeout)
                    .maxReorderChunks(maxReorderChunks)
                    .maxPingRate(maxPingRate);
        }
    }

    /** The PEM files of {@code tls://} links: this sidecar's certificate and key, and the CA of its peers. */
    public record Tls(Path certFile, Path keyFile, Path caFile) {
        public Tls {
            Objects.requireNonNull(certFile, "certFile");
            Objects.requireNonNull(keyFile, "keyFile");
            Objects.requireNonNull(caFile, "caFile");
        }
    }

    /** A peer that may dial in with its own key, announced under {@code name}; its sessions are named so. */
    public record AcceptPeer(String name, Path preSharedKeyFile) {
        public AcceptPeer {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(preSharedKeyFile, "preSharedKeyFile");
        }
    }

    /**
     * How links are secured: the shared pre-shared join key, given inline ({@link #preSharedKey()}, base64) or in
     * a file ({@link #preSharedKeyFile()}), at most one of them ({@link #key()} is the decoded key from either);
     * per-peer keys of peers that dial in ({@link #acceptPeers()}); TLS credentials ({@link #tls()}); and whether
     * unauthenticated links from the network are knowingly allowed ({@link #insecure()}). Equality covers all;
     * {@link #toString()} hides the key.
     */
    public static final class Security {
        private final String preSharedKey;
        private final Optional<Path> preSharedKeyFile;
        private final byte[] key;
        private final Optional<Tls> tls;
        private final List<AcceptPeer> acceptPeers;
        private final boolean insecure;

        /**
         * @param preSharedKey the inline base64 key as configured, empty when none
         * @param preSharedKeyFile the key file, when the key is read from one
         * @param key the decoded key, null when none
         */
        public Security(String preSharedKey, Optional<Path> preSharedKeyFile, byte[] key) {
            this(preSharedKey, preSharedKeyFile, key, Optional.empty(), List.of(), false);
        }

        public Security(String preSharedKey, Optional<Path> preSharedKeyFile, byte[] key, Optional<Tls> tls,
                List<AcceptPeer> acceptPeers, boolean insecure) {
            this.preSharedKey = Objects.requireNonNull(preSharedKey, "preSharedKey");
            this.preSharedKeyFile = Objects.requireNonNull(preSharedKeyFile, "preSharedKeyFile");
            this.key = key == null ? null : key.clone();
            this.tls = Objects.requireNonNull(tls, "tls");
            this.acceptPeers = List.copyOf(acceptPeers);
            this.insecure = insecure;
        }

        /** No pre-shared key, no TLS. */
        public static Security none() {
            return new Security("", Optional.empty(), null);
        }

        /** The same settings with {@code tls}, {@code acceptPeers} and {@code insecure} replaced. */
        public Security with(Optional<Tls> tls, List<AcceptPeer> acceptPeers, boolean insecure) {
            return new Security(preSharedKey, preSharedKeyFile, key, tls, acceptPeers, insecure);
        }

        /** TLS credentials of {@code tls://} links; empty: none. */
        public Optional<Tls> tls() {
            return tls;
        }

        /** Peers that may dial in with keys of their own. */
        public List<AcceptPeer> acceptPeers() {
            return acceptPeers;
        }

        /** True when links from the network without TLS or a key are knowingly allowed. */
        public boolean insecure() {
            return insecure;
        }

        /** True when accepted links must prove a pre-shared key (the shared one or a per-peer one). */
        public boolean requiresKey() {
            return key != null || !acceptPeers.isEmpty();
        }

        /** The inline base64 key as configured; empty when none is given inline. */
        public String preSharedKey() {
            return preSharedKey;
        }

        /** The file the key was read from, when it came from a file. */
        public Optional<Path> preSharedKeyFile() {
            return preSharedKeyFile;
        }

        /** The decoded key (a copy), from whichever source; empty when no key is configured. */
        public Optional<byte[]> key() {
            return Optional.ofNullable(key).map(byte[]::clone);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Security s && preSharedKey.equals(s.preSharedKey)
                    && preSharedKeyFile.equals(s.preSharedKeyFile) && Arrays.equals(key, s.key)
                    && tls.equals(s.tls) && acceptPeers.equals(s.acceptPeers) && insecure == s.insecure;
        }

        @Override
        public int hashCode() {
            return Objects.hash(preSharedKey, preSharedKeyFile, Arrays.hashCode(key), tls, acceptPeers, insecure);
        }

        @Override
        public String toString() {
            return "Security[preSharedKey=" + (preSharedKey.isEmpty() ? "" : "(hidden)") + ", preSharedKeyFile="
                    + preSharedKeyFile.map(Path::toString).orElse("") + ", key="
                    + (key == null ? "none" : "(" + key.length + " bytes)") + ", tls=" + tls + ", acceptPeers="
                    + acceptPeers + ", insecure=" + insecure + "]";
        }
    }

    /**
     * What applications may expose through the sidecar, keys of the {@code security} section.
     *
     * @param serviceTargets {@code security.serviceTargets}: where services (configured or added through the API)
     *                       may send peers' streams
     * @param allowNonLoopbackForwards {@code security.allowNonLoopbackForwards}: whether {@code AddForward} may
     *                                 listen on an address other hosts reach (the configuration's own forwards
     *                                 may always)
     */
    public record Exposure(TargetPolicy serviceTargets, boolean allowNonLoopbackForwards) {
        public Exposure {
            Objects.requireNonNull(serviceTargets, "serviceTargets");
        }

        /** The defaults: loopback targets only, no forward on another address through the API. */
        public static Exposure defaults() {
            return new Exposure(TargetPolicy.loopbackOnly(), false);
        }
    }

    /** {@code logging}: the level, and the format of each line on stderr. */
    public record Logging(LogLevel level, LogFormat format) {
        public Logging {
            Objects.requireNonNull(level, "level");
            Objects.requireNonNull(format, "format");
        }
    }

    /**
     * {@code logging.format}: {@code text}, one readable line per event, or {@code json}, one JSON object per line
     * with the session, link and stream ids as fields of their own, for log pipelines.
     */
    public enum LogFormat {
        TEXT, JSON;

        /** The name as written in the configuration: {@code json}. */
        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public enum LogLevel {
        TRACE, DEBUG, INFO, WARN, ERROR;

        /** The name as written in the configuration: {@code info}. */
        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** True for {@code localhost} and loopback address literals: a listener there cannot face the network. */
    public static boolean isLoopbackHost(String host) {
        return ConfigBinder.isLoopback(host);
    }

    /** The peer named {@code name}. */
    public Optional<Peer> peer(String name) {
        return peers.stream().filter(p -> p.name().equals(name)).findFirst();
    }

    /** The service named {@code name}. */
    public Optional<Service> service(String name) {
        return services.stream().filter(s -> s.name().equals(name)).findFirst();
    }

    /**
     * The core session settings: the limits and the pre-shared key on top of {@link Config#defaults()}. The core
     * validates them again.
     *
     * @throws IllegalArgumentException if the core rejects a value (not for a config from {@link ConfigLoader})
     */
    public Config toCoreConfig() {
        Config.Builder b = Config.builder()
                .windowSize(limits.windowSize())
                .maxWindowSize(limits.maxWindowSize())
                .sessionWindowSize(limits.sessionWindowSize())
                .maxChunkSize(limits.maxChunkSize())
                .maxStreams(limits.maxStreams())
                .acceptBacklog(limits.acceptBacklog())
                .keepAliveInterval(limits.keepAliveInterval())
                .keepAliveTimeout(limits.keepAliveTimeout())
                .writeTimeout(limits.writeTimeout())
                .resumeGracePeriod(limits.resumeGracePeriod());
        limits.peerLimits().applyTo(b);
        security.key().ifPresent(b::preSharedKey);
        b.middleware(middleware.stream().map(SidecarConfig::middlewareOf).toList());
        security.tls().ifPresent(t -> b.tls(TlsSettings.of(t.certFile(), t.keyFile(), t.caFile())));
        if (!security.acceptPeers().isEmpty()) {
            Map<String, byte[]> keys = new LinkedHashMap<>();
            for (AcceptPeer p : security.acceptPeers()) {
                keys.put(p.name(), ConfigBinder.readKeyFile(p.preSharedKeyFile()));
            }
            b.peerKeys(keys);
        }
        return b.build();
    }

    /**
     * The session settings for dialing {@code peer}: {@code base} (from {@link #toCoreConfig()}, whose TLS
     * credentials are shared so they reload once) with the peer's certificate required to name {@code peer}, and
     * the peer's own key, announced under this sidecar's identity, when it has one.
     */
    public Config dialConfig(Config base, String peer) {
        Config.Builder b = base.toBuilder();
        base.tls().ifPresent(t -> b.tls(t.withPeerName(peer)));
        Optional<Path> keyFile = peer(peer).flatMap(Peer::preSharedKeyFile);
        if (keyFile.isPresent()) {
            b.preSharedKey(ConfigBinder.readKeyFile(keyFile.get())).keyName(identity);
        }
        return b.build();
    }

    /** The whole configuration as YAML, secrets included; loading it gives an equal configuration. */
    public String toYaml() {
        return toYaml(false);
    }

    /**
     * The whole configuration as YAML.
     *
     * @param redactSecrets replace the API token and an inline pre-shared key by {@code REDACTED} (for display;
     *                      such output does not load back)
     */
    public String toYaml(boolean redactSecrets) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("identity", identity);
        root.put("api", map(
                "address", api.address().toString(),
                "token", api.tokenFile().isPresent() ? "" : secret(api.token(), redactSecrets),
                "maxMessageSize", size(api.maxMessageSize()),
                "maxStreamsPerClient", api.maxStreamsPerClient(),
                "tokenFile", api.tokenFile().map(Path::toString).orElse(""),
                "socketGroup", api.socketGroup(),
                "maxConnectionsPerClient", api.maxConnectionsPerClient()));
        root.put("health", map("address", health.address().map(TcpAddress::toString).orElse("")));
        root.put("admin", map("address", admin.address().map(TcpAddress::toString).orElse("")));
        root.put("listeners", listeners.stream().map(URI::toString).toList());
        List<Object> peerList = new ArrayList<>();
        for (Peer p : peers) {
            List<Object> links = new ArrayList<>();
            for (Link l : p.links()) {
                links.add(map("address", l.address().toString(), "priority", l.priority(), "weight", l.weight(),
                        "maxBytesPerDay", size(l.maxBytesPerDay())));
            }
            peerList.add(map("name", p.name(), "links", links, "preSharedKeyFile",
                    p.preSharedKeyFile().map(Path::toString).orElse("")));
        }
        root.put("peers", peerList);
        root.put("services", services.stream().map(s -> withMiddleware(map("name", s.name(), "target",
                s.target().toString()), s.middleware())).toList());
        root.put("forwards", forwards.stream().map(f -> withMiddleware(map("listen", f.listen().toString(), "peer",
                f.peer(), "service", f.service(), "trafficClass", f.trafficClass().name().toLowerCase(Locale.ROOT)),
                f.middleware())).toList());
        root.put("middleware", middleware);
        root.put("limits", map(
                "windowSize", size(limits.windowSize()),
                "maxWindowSize", size(limits.maxWindowSize()),
                "sessionWindowSize", size(limits.sessionWindowSize()),
                "maxChunkSize", size(limits.maxChunkSize()),
                "maxStreams", limits.maxStreams(),
                "acceptBacklog", limits.acceptBacklog(),
                "acceptTimeout", Units.formatDuration(limits.acceptTimeout()),
                "keepAliveInterval", Units.formatDuration(limits.keepAliveInterval()),
                "keepAliveTimeout", Units.formatDuration(limits.keepAliveTimeout()),
                "writeTimeout", Units.formatDuration(limits.writeTimeout()),
                "resumeGracePeriod", Units.formatDuration(limits.resumeGracePeriod()),
                "drainTimeout", Units.formatDuration(limits.drainTimeout()),
                "maxServiceConnections", limits.maxServiceConnections(),
                "serviceIdleTimeout", Units.formatDuration(limits.serviceIdleTimeout()),
                "handshakeTimeout", Units.formatDuration(limits.peerLimits().handshakeTimeout()),
                "maxHandshakes", limits.peerLimits().maxHandshakes(),
                "maxHandshakesPerAddress", limits.peerLimits().maxHandshakesPerAddress(),
                "maxSessions", limits.peerLimits().maxSessions(),
                "maxLinksPerSession", limits.peerLimits().maxLinksPerSession(),
                "pendingOpenTimeout", Units.formatDuration(limits.peerLimits().pendingOpenTimeout()),
                "maxReorderChunks", limits.peerLimits().maxReorderChunks(),
                "maxPingRate", limits.peerLimits().maxPingRate()));
        root.put("security", map(
                "preSharedKey", secret(security.preSharedKey(), redactSecrets),
                "preSharedKeyFile", security.preSharedKeyFile().map(Path::toString).orElse(""),
                "serviceTargets", exposure.serviceTargets().entries(),
                "allowNonLoopbackForwards", exposure.allowNonLoopbackForwards(),
                "tls", map(
                        "certFile", security.tls().map(t -> t.certFile().toString()).orElse(""),
                        "keyFile", security.tls().map(t -> t.keyFile().toString()).orElse(""),
                        "caFile", security.tls().map(t -> t.caFile().toString()).orElse("")),
                "acceptPeers", security.acceptPeers().stream()
                        .map(a -> map("name", a.name(), "preSharedKeyFile", a.preSharedKeyFile().toString())).toList(),
                "insecure", security.insecure()));
        root.put("logging", map("level", logging.level().configName(), "format", logging.format().configName()));
        DumpSettings settings = DumpSettings.builder()
                .setDefaultFlowStyle(FlowStyle.BLOCK)
                .setSchema(new CoreSchema())
                .setIndent(2)
                .setIndicatorIndent(2)
                .setIndentWithIndicator(true)
                .setWidth(1000)
                .setDereferenceAliases(true)
                .build();
        return new Dump(settings).dumpToString(root);
    }

    /** A size in its shortest form; plain bytes as a number, so the YAML does not quote them. */
    private static Object size(long bytes) {
        String text = Units.formatSize(bytes);
        return text.chars().allMatch(Character::isDigit) ? (Object) bytes : text;
    }

    private static String secret(String value, boolean redact) {
        return redact && !value.isEmpty() ? "REDACTED" : value;
    }

    private static Map<String, Object> withMiddleware(Map<String, Object> entry, Optional<List<String>> middleware) {
        middleware.ifPresent(m -> entry.put("middleware", m));
        return entry;
    }

    private static Map<String, Object> map(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }
}
