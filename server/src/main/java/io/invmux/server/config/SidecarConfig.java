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
        Logging logging) {

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
    public record Link(URI address, int priority, double weight) {
        public Link {
            Objects.requireNonNull(address, "address");
        }
    }

    /** Streams arriving for {@code name} are connected to {@code target}. */
    public record Service(String name, TcpAddress target) {
        public Service {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(target, "target");
        }
    }

    /** Connections accepted on {@code listen} become streams to {@code service} of {@code peer}. */
    public record Forward(TcpAddress listen, String peer, String service) {
        public Forward {
            Objects.requireNonNull(listen, "listen");
            Objects.requireNonNull(peer, "peer");
            Objects.requireNonNull(service, "service");
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
        security.key().ifPresent(b::preSharedKey);
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
            peerList.add(map("name", p.name(), "links", links, "preSharedKeyFile",
                    p.preSharedKeyFile().map(Path::toString).orElse("")));
        }
        root.put("peers", peerList);
        root.put("services", services.stream()
                .map(s -> map("name", s.name(), "target", s.target().toString())).toList());
        root.put("forwards", forwards.stream()
                .map(f -> map("listen", f.listen().toString(), "peer", f.peer(), "service", f.service())).toList());
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
                "preSharedKeyFile", security.preSharedKeyFile().map(Path::toString).orElse(""),
                "tls", map(
                        "certFile", security.tls().map(t -> t.certFile().toString()).orElse(""),
                        "keyFile", security.tls().map(t -> t.keyFile().toString()).orElse(""),
                        "caFile", security.tls().map(t -> t.caFile().toString()).orElse("")),
                "acceptPeers", security.acceptPeers().stream()
                        .map(a -> map("name", a.name(), "preSharedKeyFile", a.preSharedKeyFile().toString())).toList(),
                "insecure", security.insecure()));
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

    private static Map<String, Object> map(Object... keyValues) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < keyValues.length; i += 2) {
            m.put((String) keyValues[i], keyValues[i + 1]);
        }
        return m;
    }
}
