package io.invmux.server.config;

import io.invmux.Config;
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
        Objects.requireNonNull(logging, "logging");
        middleware = List.copyOf(middleware);
    }

    /** Without a middleware chain. */
    public SidecarConfig(String identity, Api api, Health health, Admin admin, List<URI> listeners, List<Peer> peers,
            List<Service> services, List<Forward> forwards, Limits limits, Security security, Logging logging) {
        this(identity, api, health, admin, listeners, peers, services, forwards, limits, security, logging,
                List.of());
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
     * @param token token checked on every call; empty: no check
     * @param maxMessageSize largest inbound gRPC message, bytes
     * @param maxStreamsPerClient concurrent stream RPCs per client connection
     */
    public record Api(Address address, String token, int maxMessageSize, int maxStreamsPerClient) {
        public Api {
            Objects.requireNonNull(address, "address");
            Objects.requireNonNull(token, "token");
        }

        /** The token, when one is set. */
        public Optional<String> tokenIfSet() {
            return token.isEmpty() ? Optional.empty() : Optional.of(token);
        }

        /** Hides the token. */
        @Override
        public String toString() {
            return "Api[address=" + address + ", token=" + (token.isEmpty() ? "" : "(hidden)") + ", maxMessageSize="
                    + maxMessageSize + ", maxStreamsPerClient=" + maxStreamsPerClient + "]";
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

    /** A sidecar this one dials, over one or more links. */
    public record Peer(String name, List<Link> links) {
        public Peer {
            Objects.requireNonNull(name, "name");
            links = List.copyOf(links);
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
    public record Link(URI address, int priority, double weight) {
        public Link {
            Objects.requireNonNull(address, "address");
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
     * Connections accepted on {@code listen} become streams to {@code service} of {@code peer}; {@code middleware}
     * as for {@link Service}.
     */
    public record Forward(TcpAddress listen, String peer, String service, Optional<List<String>> middleware) {
        public Forward {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(peer, "peer");
            Objects.requireNonNull(service, "service");
            middleware = middleware.map(List::copyOf);
        }

        public Forward(TcpAddress listen, String peer, String service) {
            this(listen, peer, service, Optional.empty());
        }
    }

    /**
     * Session limits (passed to the core, see {@link Config}), how long an incoming stream waits for an application
     * to accept it ({@code acceptTimeout}), and the drain timeout of a graceful stop.
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
            Duration drainTimeout) {
        public Limits {
            Objects.requireNonNull(acceptTimeout, "acceptTimeout");
            Objects.requireNonNull(keepAliveInterval, "keepAliveInterval");
            Objects.requireNonNull(keepAliveTimeout, "keepAliveTimeout");
            Objects.requireNonNull(writeTimeout, "writeTimeout");
            Objects.requireNonNull(resumeGracePeriod, "resumeGracePeriod");
            Objects.requireNonNull(drainTimeout, "drainTimeout");
        }
    }

    /**
     * The pre-shared join key: given inline ({@link #preSharedKey()}, base64) or in a file
     * ({@link #preSharedKeyFile()}), at most one of them; {@link #key()} is the decoded key from either. Equality
     * covers all three; {@link #toString()} hides the key.
     */
    public static final class Security {
        private final String preSharedKey;
        private final Optional<Path> preSharedKeyFile;
        private final byte[] key;

        /**
         * @param preSharedKey the inline base64 key as configured, empty when none
         * @param preSharedKeyFile the key file, when the key is read from one
         * @param key the decoded key, null when none
         */
        public Security(String preSharedKey, Optional<Path> preSharedKeyFile, byte[] key) {
            this.preSharedKey = Objects.requireNonNull(preSharedKey, "preSharedKey");
            this.preSharedKeyFile = Objects.requireNonNull(preSharedKeyFile, "preSharedKeyFile");
            this.key = key == null ? null : key.clone();
        }

        /** No pre-shared key. */
        public static Security none() {
            return new Security("", Optional.empty(), null);
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
                    && preSharedKeyFile.equals(s.preSharedKeyFile) && Arrays.equals(key, s.key);
        }

        @Override
        public int hashCode() {
            return Objects.hash(preSharedKey, preSharedKeyFile, Arrays.hashCode(key));
        }

        @Override
        public String toString() {
            return "Security[preSharedKey=" + (preSharedKey.isEmpty() ? "" : "(hidden)") + ", preSharedKeyFile="
                    + preSharedKeyFile.map(Path::toString).orElse("") + ", key="
                    + (key == null ? "none" : "(" + key.length + " bytes)") + "]";
        }
    }

    public record Logging(LogLevel level) {
        public Logging {
            Objects.requireNonNull(level, "level");
        }
    }

    public enum LogLevel {
        TRACE, DEBUG, INFO, WARN, ERROR;

        /** The name as written in the configuration: {@code info}. */
        public String configName() {
            return name().toLowerCase(Locale.ROOT);
        }
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
        security.key().ifPresent(b::preSharedKey);
        b.middleware(middleware.stream().map(SidecarConfig::middlewareOf).toList());
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
                "token", secret(api.token(), redactSecrets),
                "maxMessageSize", size(api.maxMessageSize()),
                "maxStreamsPerClient", api.maxStreamsPerClient()));
        root.put("health", map("address", health.address().map(TcpAddress::toString).orElse("")));
        root.put("admin", map("address", admin.address().map(TcpAddress::toString).orElse("")));
        root.put("listeners", listeners.stream().map(URI::toString).toList());
        List<Object> peerList = new ArrayList<>();
        for (Peer p : peers) {
            List<Object> links = new ArrayList<>();
            for (Link l : p.links()) {
                links.add(map("address", l.address().toString(), "priority", l.priority(), "weight", l.weight()));
            }
            peerList.add(map("name", p.name(), "links", links));
        }
        root.put("peers", peerList);
        root.put("services", services.stream().map(s -> withMiddleware(map("name", s.name(), "target",
                s.target().toString()), s.middleware())).toList());
        root.put("forwards", forwards.stream().map(f -> withMiddleware(map("listen", f.listen().toString(), "peer",
                f.peer(), "service", f.service()), f.middleware())).toList());
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
                "drainTimeout", Units.formatDuration(limits.drainTimeout())));
        root.put("security", map(
                "preSharedKey", secret(security.preSharedKey(), redactSecrets),
                "preSharedKeyFile", security.preSharedKeyFile().map(Path::toString).orElse("")));
        root.put("logging", map("level", logging.level().configName()));
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
