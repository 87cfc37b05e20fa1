package io.invmux.server.config;

import io.invmux.TlsSettings;
import io.invmux.server.config.ConfigTree.KeyPath;
import io.invmux.server.config.ConfigTree.Problems;
import io.invmux.server.config.ConfigTree.Source;
import io.invmux.server.config.ConfigTree.TList;
import io.invmux.server.config.ConfigTree.TMap;
import io.invmux.server.config.ConfigTree.TNode;
import io.invmux.server.config.ConfigTree.TScalar;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/** Turns the merged tree into a {@link SidecarConfig}, checking every value and adding each problem found. */
final class ConfigBinder {
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9._-]{1,63}");
    static final Pattern SERVICE_NAME = Pattern.compile("[A-Za-z0-9._/-]{1,128}");
    static final String NAME_RULE = "must be 1 to 63 characters of A-Z, a-z, 0-9, '.', '_' and '-'";
    static final String SERVICE_RULE = "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', '/' and '-'";
    static final String TOKEN_RULE = "must be empty (no token) or 16 to 1024 printable ASCII characters without "
            + "spaces";
    static final String WEIGHT_RULE = "must be greater than 0 and at most 1000";
    static final String LINK_URI_RULE = "must be a link URI: tcp://host:port[?bind=..&iface=..&sndbuf=..&rcvbuf=..], "
            + "tls://host:port[?...] or mem://name";
    private static final Pattern INTEGER = Pattern.compile("[+-]?[0-9]{1,10}");
    private static final Pattern DECIMAL =
            Pattern.compile("[+-]?([0-9]{1,10}(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]{1,3})?");
    private static final Set<String> DIAL_PARAMETERS = Set.of("bind", "iface", "sndbuf", "rcvbuf");
    private static final Set<String> LISTEN_PARAMETERS = Set.of("sndbuf", "rcvbuf");
    private static final long MAX_KEY_FILE = 64 * 1024;

    private final Problems problems;

    ConfigBinder(Problems problems) {
        this.problems = problems;
    }

    /** Parses a value; throws {@link IllegalArgumentException} whose message is the rule broken. */
    @FunctionalInterface
    interface Parser<T> {
        T parse(String text);
    }

    /** A bound value and where it came from; {@code ok} is false when it failed (and was reported). */
    record V<T>(T value, Source source, KeyPath path, String text, boolean ok) {
    }

    // ---------------------------------------------------------------- binding

    SidecarConfig bind(TMap root) {
        KeyPath top = KeyPath.ROOT;
        V<String> identity = value(root, top, "identity", false, t -> name(t, NAME, NAME_RULE), "invmux");

        KeyPath apiPath = top.child("api");
        TMap api = section(root, "api");
        V<Address> apiAddress = value(api, apiPath, "address", false, ConfigBinder::apiAddress,
                new TcpAddress("127.0.0.1", 7701));
        V<String> token = value(api, apiPath, "token", true, ConfigBinder::token, "");
        V<Integer> maxMessageSize = value(api, apiPath, "maxMessageSize", false,
                sizeIn(64 * Units.KIB, 64 * Units.MIB), 4 * 1024 * 1024);
        V<Integer> maxStreamsPerClient = value(api, apiPath, "maxStreamsPerClient", false, intIn(1, 100_000), 1024);
        V<Integer> maxConnectionsPerClient = value(api, apiPath, "maxConnectionsPerClient", false,
                intIn(1, 100_000), SidecarConfig.Api.DEFAULT_MAX_CONNECTIONS_PER_CLIENT);
        ApiAccess access = apiAccess(api, apiPath, token, apiAddress);

        V<Optional<TcpAddress>> health = value(section(root, "health"), top.child("health"), "address", false,
                ConfigBinder::optionalListenAddress, Optional.empty());
        V<Optional<TcpAddress>> admin = value(section(root, "admin"), top.child("admin"), "address", false,
                ConfigBinder::optionalListenAddress, Optional.empty());

        List<V<URI>> listenerValues = new ArrayList<>();
        List<URI> listeners = listeners(root, listenerValues);
        List<SidecarConfig.Peer> peers = peers(root);
        SidecarConfig.Exposure exposure = exposure(section(root, "security"), top.child("security"));
        List<String> middleware = middleware(root);
        List<SidecarConfig.Service> services = services(root, exposure.serviceTargets(), middleware);
        List<V<TcpAddress>> forwardListens = new ArrayList<>();
        List<SidecarConfig.Forward> forwards = forwards(root, peers, forwardListens, middleware);

        List<V<TcpAddress>> listening = new ArrayList<>();
        if (apiAddress.ok() && apiAddress.value() instanceof TcpAddress a) {
            listening.add(new V<>(a, apiAddress.source(), apiAddress.path(), apiAddress.text(), true));
        }
        health.value().ifPresent(a -> listening.add(new V<>(a, health.source(), health.path(), health.text(), true)));
        admin.value().ifPresent(a -> listening.add(new V<>(a, admin.source(), admin.path(), admin.text(), true)));
        listening.addAll(forwardListens);
        checkDistinctListenAddresses(listening);

        SidecarConfig.Limits limits = limits(section(root, "limits"), top.child("limits"));
        SidecarConfig.Security security = security(section(root, "security"), top.child("security"));
        checkListenersSecured(listenerValues, security);
        checkTlsLinks(peers, security);
        V<SidecarConfig.LogLevel> level = value(section(root, "logging"), top.child("logging"), "level", false,
                ConfigBinder::logLevel, SidecarConfig.LogLevel.INFO);
        V<SidecarConfig.LogFormat> logFormat = value(section(root, "logging"), top.child("logging"), "format", false,
                ConfigBinder::logFormat, SidecarConfig.LogFormat.TEXT);

        if (problems.isEmpty()) {
            checkApiExposure(apiAddress, access);
        }
        return new SidecarConfig(
                identity.value(),
                new SidecarConfig.Api(apiAddress.value(), access.token(), maxMessageSize.value(),
                        maxStreamsPerClient.value(), access.tokenFile(), access.socketGroup(),
                        maxConnectionsPerClient.value()),
                new SidecarConfig.Health(health.value()),
                new SidecarConfig.Admin(admin.value()),
                listeners, peers, services, forwards, limits, security, exposure,
                new SidecarConfig.Logging(level.value(), logFormat.value()), middleware);
    }

    /** The API token from {@code api.token} or {@code api.tokenFile}, and the Unix socket's group. */
    private record ApiAccess(String token, Optional<Path> tokenFile, String socketGroup) {
    }

    private ApiAccess apiAccess(TMap api, KeyPath apiPath, V<String> inline, V<Address> address) {
        V<String> file = value(api, apiPath, "tokenFile", false, t -> t, "");
        V<String> group = value(api, apiPath, "socketGroup", false, ConfigBinder::groupName, "");
        if (group.ok() && !group.value().isEmpty() && address.ok() && !(address.value() instanceof UnixAddress)) {
            report(group, false, "applies only to an API on a Unix socket; api.address is " + address.text()
                    + " (" + setBy(address.source()) + ")");
        }
        String socketGroup = group.ok() ? group.value() : "";
        if (!inline.value().isEmpty() && !file.value().isEmpty()) {
            V<String> blamed = inline.source().rank() > file.source().rank() ? inline : file;
            V<String> other = blamed == inline ? file : inline;
            report(blamed, blamed == inline, "must not be set together with " + other.path() + " ("
                    + setBy(other.source()) + "); give only one of them");
            return new ApiAccess("", Optional.empty(), socketGroup);
        }
        if (file.value().isEmpty()) {
            return new ApiAccess(inline.value(), Optional.empty(), socketGroup);
        }
        try {
            Path path = Path.of(file.value());
            return new ApiAccess(TokenFile.read(path), Optional.of(path), socketGroup);
        } catch (InvalidPathException e) {
            report(file, false, "is not a valid file path: " + e.getReason());
        } catch (IllegalArgumentException e) {
            report(file, false, e.getMessage());
        }
        return new ApiAccess("", Optional.empty(), socketGroup);
    }

    /**
     * An API other hosts can reach must ask for a token. Checked once every key is valid: it combines
     * {@code api.address} with {@code api.token} and {@code api.tokenFile}.
     */
    private void checkApiExposure(V<Address> address, ApiAccess access) {
        if (address.value() instanceof TcpAddress t && access.token().isEmpty() && !t.isLoopback()) {
            report(address, false, "the API would listen on an address other hosts may reach, with no token: set "
                    + "api.tokenFile (or api.token), or listen on loopback (127.0.0.1:7701) or a Unix socket "
                    + "(unix:///path)");
        }
    }

    static String groupName(String text) {
        if (!text.isEmpty() && !text.matches("[A-Za-z_][A-Za-z0-9_.-]{0,31}|[0-9]{1,10}")) {
            throw new IllegalArgumentException("must be empty (the process's group) or a group name or number");
        }
        return text;
    }

    private List<URI> listeners(TMap root, List<V<URI>> values) {
        KeyPath path = KeyPath.ROOT.child("listeners");
        List<URI> out = new ArrayList<>();
        Map<URI, KeyPath> seen = new HashMap<>();
        List<TNode> items = items(root, "listeners");
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TScalar s)) {
                continue;
            }
            V<URI> uri = parse(s, path.index(i), false, t -> linkUri(t, true), null);
            if (uri.ok()) {
                KeyPath first = seen.putIfAbsent(uri.value(), uri.path());
                if (first != null) {
                    report(uri, false, "is listed twice (also " + first + ")");
                } else {
                    out.add(uri.value());
                    values.add(uri);
                }
            }
        }
        return out;
    }

    private List<SidecarConfig.Peer> peers(TMap root) {
        KeyPath path = KeyPath.ROOT.child("peers");
        List<SidecarConfig.Peer> out = new ArrayList<>();
        Map<String, KeyPath> names = new HashMap<>();
        List<TNode> items = items(root, "peers");
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TMap peer)) {
                continue;
            }
            KeyPath p = path.index(i);
            V<String> name = required(peer, p, "name", t -> name(t, NAME, NAME_RULE), "every peer needs a name");
            if (name.ok()) {
                KeyPath first = names.putIfAbsent(name.value(), p);
                if (first != null) {
                    report(name, false, "is already the name of " + first + "; peer names must be unique");
                }
            }
            List<SidecarConfig.Link> links = links(peer, p.child("links"));
            V<Optional<Path>> keyFile = optional(peer, p, "preSharedKeyFile",
                    t -> t.isEmpty() ? Optional.empty() : Optional.of(keyFile(t)), "");
            if (name.ok() && keyFile.ok()) {
                out.add(new SidecarConfig.Peer(name.value(), links, keyFile.value()));
            }
        }
        return out;
    }

    private List<SidecarConfig.Link> links(TMap peer, KeyPath path) {
        TNode node = peer.entries().get("links");
        List<TNode> items = node instanceof TList l ? l.items() : List.of();
        if (items.isEmpty()) {
            Source src = node == null ? peer.source() : node.source();
            problems.add(src, path, node == null ? null : "[]", "must have at least one link");
        }
        List<SidecarConfig.Link> out = new ArrayList<>();
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TMap link)) {
                continue;
            }
            KeyPath p = path.index(i);
            V<URI> address = required(link, p, "address", t -> linkUri(t, false), "every link needs an address");
            V<Integer> priority = optional(link, p, "priority", intIn(-100, 100), "0");
            V<Double> weight = optional(link, p, "weight", ConfigBinder::weight, "1.0");
            V<Long> maxBytesPerDay = optional(link, p, "maxBytesPerDay", ConfigBinder::budget, "0");
            // The same address may be listed more than once on purpose: several TCP connections over one path
            // beat a per-flow rate limit.
            if (address.ok() && priority.ok() && weight.ok() && maxBytesPerDay.ok()) {
                out.add(new SidecarConfig.Link(address.value(), priority.value(), weight.value(),
                        maxBytesPerDay.value()));
            }
        }
        return out;
    }

    /** {@code security.serviceTargets} and {@code security.allowNonLoopbackForwards}. */
    private SidecarConfig.Exposure exposure(TMap m, KeyPath p) {
        KeyPath listPath = p.child("serviceTargets");
        List<String> entries = new ArrayList<>();
        boolean ok = true;
        List<TNode> items = items(m, "serviceTargets");
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i) instanceof TScalar s) {
                V<String> e = parse(s, listPath.index(i), false, TargetPolicy::checkEntry, null);
                ok &= e.ok();
                if (e.ok()) {
                    entries.add(e.value());
                }
            }
        }
        V<Boolean> forwards = value(m, p, "allowNonLoopbackForwards", false, ConfigBinder::bool, false);
        return new SidecarConfig.Exposure(ok ? TargetPolicy.of(entries) : TargetPolicy.loopbackOnly(),
                forwards.value());
    }

    static boolean bool(String text) {
        return switch (text.toLowerCase(Locale.ROOT)) {
            case "true" -> true;
            case "false" -> false;
            default -> throw new IllegalArgumentException("must be true or false");
        };
    }

    /** The session chain: each entry a middleware spec, names unique. */
    private List<String> middleware(TMap root) {
        KeyPath path = KeyPath.ROOT.child("middleware");
        List<String> out = new ArrayList<>();
        Map<String, KeyPath> names = new HashMap<>();
        List<TNode> items = items(root, "middleware");
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TScalar s)) {
                continue;
            }
            V<String> spec = parse(s, path.index(i), false, ConfigBinder::middlewareSpec, null);
            if (spec.ok()) {
                KeyPath first = names.putIfAbsent(SidecarConfig.middlewareName(spec.value()), spec.path());
                if (first != null) {
                    report(spec, false, "names the same middleware as " + first + "; names must be unique");
                } else {
                    out.add(spec.value());
                }
            }
        }
        return out;
    }

    static String middlewareSpec(String text) {
        if (text.equals("passthrough")) {
            return text;
        }
        try {
            SidecarConfig.middlewareOf(text);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("must be passthrough or zstd|lz4|deflate[:LEVEL][@DICTIONARY_FILE]: " + e.getMessage());
        }
        return text;
    }

    /** An entry's {@code middleware}: absent (the session's default), or names from the session chain. */
    private Optional<List<String>> entryMiddleware(TMap entry, KeyPath entryPath, List<String> chain) {
        TNode node = entry.entries().get("middleware");
        if (node == null) {
            return Optional.empty();
        }
        KeyPath path = entryPath.child("middleware");
        List<String> names = chain.stream().map(SidecarConfig::middlewareName).toList();
        List<String> out = new ArrayList<>();
        List<TNode> items = node instanceof TList l ? l.items() : List.of();
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TScalar s)) {
                continue;
            }
            V<String> name = parse(s, path.index(i), false, t -> t, null);
            if (!names.contains(name.value())) {
                report(name, false, names.isEmpty() ? "names no middleware: the session chain (middleware) is empty"
                        : "is not in the session chain; it has " + String.join(", ", names));
            } else {
                out.add(name.value());
            }
        }
        return Optional.of(out);
    }

    private List<SidecarConfig.Service> services(TMap root, TargetPolicy targets, List<String> chain) {
        KeyPath path = KeyPath.ROOT.child("services");
        List<SidecarConfig.Service> out = new ArrayList<>();
        Map<String, KeyPath> names = new HashMap<>();
        List<TNode> items = items(root, "services");
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TMap service)) {
                continue;
            }
            KeyPath p = path.index(i);
            V<String> name = required(service, p, "name", t -> name(t, SERVICE_NAME, SERVICE_RULE),
                    "every service needs a name");
            V<TcpAddress> target = required(service, p, "target", t -> TcpAddress.parse(t, false),
                    "every service needs a target host:port");
            if (name.ok()) {
                KeyPath first = names.putIfAbsent(name.value(), p);
                if (first != null) {
                    report(name, false, "is already the name of " + first + "; service names must be unique");
                }
            }
            if (target.ok()) {
                Optional<String> refusal = targets.refusal(target.value().host());
                if (refusal.isPresent()) {
                    report(target, false, refusal.get());
                    continue;
                }
            }
            Optional<List<String>> middleware = entryMiddleware(service, p, chain);
            if (name.ok() && target.ok()) {
                out.add(new SidecarConfig.Service(name.value(), target.value(), middleware));
            }
        }
        return out;
    }

    private List<SidecarConfig.Forward> forwards(TMap root, List<SidecarConfig.Peer> peers,
            List<V<TcpAddress>> listens, List<String> chain) {
        KeyPath path = KeyPath.ROOT.child("forwards");
        List<String> peerNames = peers.stream().map(SidecarConfig.Peer::name).distinct().toList();
        List<SidecarConfig.Forward> out = new ArrayList<>();
        List<TNode> items = items(root, "forwards");
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TMap forward)) {
                continue;
            }
            KeyPath p = path.index(i);
            V<TcpAddress> listen = required(forward, p, "listen", t -> TcpAddress.parse(t, true),
                    "every forward needs a listen host:port");
            V<String> peer = required(forward, p, "peer", t -> name(t, NAME, NAME_RULE),
                    "every forward needs the name of a peer");
            V<String> service = required(forward, p, "service", t -> name(t, SERVICE_NAME, SERVICE_RULE),
                    "every forward needs a service name");
            if (peer.ok() && !peerNames.contains(peer.value())) {
                report(peer, false, peerNames.isEmpty() ? "names no peer; no peers are configured"
                        : "names no peer; known peers: " + String.join(", ", peerNames));
            }
            Optional<List<String>> middleware = entryMiddleware(forward, p, chain);
            V<io.invmux.TrafficClass> trafficClass = optional(forward, p, "trafficClass", ConfigBinder::trafficClass,
                    "bulk");
            if (listen.ok() && peer.ok() && service.ok() && trafficClass.ok() && peerNames.contains(peer.value())) {
                out.add(new SidecarConfig.Forward(listen.value(), peer.value(), service.value(), middleware,
                        trafficClass.value()));
            }
            if (listen.ok()) {
                listens.add(listen);
            }
        }
        return out;
    }

    /** No two listeners of the sidecar on the same host:port (port 0 picks a free port, so never clashes). */
    private void checkDistinctListenAddresses(List<V<TcpAddress>> listening) {
        for (int i = 0; i < listening.size(); i++) {
            for (int j = 0; j < i; j++) {
                V<TcpAddress> a = listening.get(j);
                V<TcpAddress> b = listening.get(i);
                if (b.value().port() != 0 && a.value().equals(b.value())) {
                    V<TcpAddress> blamed = b.source().rank() >= a.source().rank() ? b : a;
                    V<TcpAddress> other = blamed == b ? a : b;
                    report(blamed, false, "is already used by " + other.path() + " (" + setBy(other.source()) + ")");
                    break;
                }
            }
        }
    }

    private SidecarConfig.Limits limits(TMap m, KeyPath p) {
        long kib = Units.KIB;
        long mib = Units.MIB;
        long gib = Units.GIB;
        V<Integer> windowSize = value(m, p, "windowSize", false, sizeIn(16 * kib, gib), 256 * 1024);
        V<Integer> maxWindowSize = value(m, p, "maxWindowSize", false, sizeIn(16 * kib, gib), 16 * 1024 * 1024);
        V<Integer> sessionWindowSize = value(m, p, "sessionWindowSize", false, sizeIn(64 * kib, gib),
                64 * 1024 * 1024);
        V<Integer> maxChunkSize = value(m, p, "maxChunkSize", false, sizeIn(kib, mib), 32 * 1024);
        V<Integer> maxStreams = value(m, p, "maxStreams", false, intIn(1, 1 << 24), 65_536);
        V<Integer> acceptBacklog = value(m, p, "acceptBacklog", false, intIn(1, 65_536), 256);
        V<Duration> acceptTimeout = value(m, p, "acceptTimeout", false,
                durationIn(Duration.ofMillis(100), Duration.ofHours(1)), Duration.ofSeconds(10));
        V<Duration> keepAliveInterval = value(m, p, "keepAliveInterval", false,
                durationIn(Duration.ofMillis(10), Duration.ofHours(1)), Duration.ofMillis(100));
        V<Duration> keepAliveTimeout = value(m, p, "keepAliveTimeout", false,
                durationIn(Duration.ofMillis(20), Duration.ofHours(1)), Duration.ofMillis(800));
        V<Duration> writeTimeout = value(m, p, "writeTimeout", false,
                durationIn(Duration.ofMillis(10), Duration.ofHours(1)), Duration.ofSeconds(10));
        V<Duration> resumeGracePeriod = value(m, p, "resumeGracePeriod", false,
                durationIn(Duration.ZERO, Duration.ofHours(24)), Duration.ofSeconds(30));
        V<Duration> drainTimeout = value(m, p, "drainTimeout", false,
                durationIn(Duration.ZERO, Duration.ofMinutes(10)), Duration.ofSeconds(20));
        V<Integer> maxServiceConnections = value(m, p, "maxServiceConnections", false, intIn(1, 1_000_000),
                SidecarConfig.Limits.DEFAULT_MAX_SERVICE_CONNECTIONS);
        V<Duration> serviceIdleTimeout = value(m, p, "serviceIdleTimeout", false,
                durationIn(Duration.ZERO, Duration.ofDays(7)), SidecarConfig.Limits.DEFAULT_SERVICE_IDLE_TIMEOUT);
        // What peers and strangers may make the sidecar hold: ranges as the core's Config.Builder checks them,
        // defaults from the core.
        SidecarConfig.PeerLimits peerDefaults = SidecarConfig.PeerLimits.defaults();
        V<Duration> handshakeTimeout = value(m, p, "handshakeTimeout", false,
                durationIn(Duration.ofMillis(10), Duration.ofMinutes(10)), peerDefaults.handshakeTimeout());
        V<Integer> maxHandshakes = value(m, p, "maxHandshakes", false, intIn(1, 1 << 20),
                peerDefaults.maxHandshakes());
        V<Integer> maxHandshakesPerAddress = value(m, p, "maxHandshakesPerAddress", false, intIn(1, 1 << 20),
                peerDefaults.maxHandshakesPerAddress());
        V<Integer> maxSessions = value(m, p, "maxSessions", false, intIn(1, 1 << 20), peerDefaults.maxSessions());
        V<Integer> maxLinksPerSession = value(m, p, "maxLinksPerSession", false, intIn(1, 1024),
                peerDefaults.maxLinksPerSession());
        V<Duration> pendingOpenTimeout = value(m, p, "pendingOpenTimeout", false,
                durationIn(Duration.ofMillis(10), Duration.ofMinutes(10)), peerDefaults.pendingOpenTimeout());
        V<Integer> maxReorderChunks = value(m, p, "maxReorderChunks", false, intIn(16, 1 << 24),
                peerDefaults.maxReorderChunks());
        V<Integer> maxPingRate = value(m, p, "maxPingRate", false, intIn(1, 1_000_000), peerDefaults.maxPingRate());

        if (windowSize.ok() && maxWindowSize.ok() && maxWindowSize.value() < windowSize.value()) {
            atLeast(maxWindowSize, windowSize, "be at least");
        }
        if (windowSize.ok() && sessionWindowSize.ok() && sessionWindowSize.value() < windowSize.value()) {
            atLeast(sessionWindowSize, windowSize, "be at least");
        }
        if (keepAliveInterval.ok() && keepAliveTimeout.ok()
                && keepAliveTimeout.value().compareTo(keepAliveInterval.value().multipliedBy(2)) < 0) {
            atLeast(keepAliveTimeout, keepAliveInterval, "be at least twice");
        }
        return new SidecarConfig.Limits(windowSize.value(), maxWindowSize.value(), sessionWindowSize.value(),
                maxChunkSize.value(), maxStreams.value(), acceptBacklog.value(), acceptTimeout.value(),
                keepAliveInterval.value(),
                keepAliveTimeout.value(), writeTimeout.value(), resumeGracePeriod.value(), drainTimeout.value(),
                maxServiceConnections.value(), serviceIdleTimeout.value(),
                new SidecarConfig.PeerLimits(handshakeTimeout.value(), maxHandshakes.value(),
                        maxHandshakesPerAddress.value(), maxSessions.value(), maxLinksPerSession.value(),
                        pendingOpenTimeout.value(), maxReorderChunks.value(), maxPingRate.value()));
    }

    /**
     * {@code dependent} must {@code relation} {@code base}; reports on whichever of the two was set by the later
     * source (the dependent one on a tie), naming the other with its value and source.
     */
    private void atLeast(V<?> dependent, V<?> base, String relation) {
        if (base.source().rank() > dependent.source().rank()) {
            String inverse = relation.equals("be at least") ? "be at most" : "be at most half of";
            report(base, false, "must " + inverse + " " + dependent.path() + " (" + dependent.text() + ", "
                    + setBy(dependent.source()) + ")");
        } else {
            report(dependent, false, "must " + relation + " " + base.path() + " (" + base.text() + ", "
                    + setBy(base.source()) + ")");
        }
    }

    private SidecarConfig.Security security(TMap m, KeyPath p) {
        SidecarConfig.Security shared = sharedKey(m, p);
        return shared.with(tls(section(m, "tls"), p.child("tls")), acceptPeers(m, p.child("acceptPeers")),
                value(m, p, "insecure", false, ConfigBinder::bool, false).value());
    }

    /**
     * Secure by default: a listener reachable from the network must authenticate its links (TLS, or a pre-shared
     * key), unless security.insecure says unauthenticated links are knowingly accepted.
     */
    private void checkListenersSecured(List<V<URI>> listeners, SidecarConfig.Security security) {
        for (V<URI> l : listeners) {
            String scheme = l.value().getScheme().toLowerCase(Locale.ROOT);
            if (scheme.equals("tls") && security.tls().isEmpty()) {
                report(l, false, "is a tls:// listener, but security.tls.certFile, keyFile and caFile are not set");
            } else if (scheme.equals("tcp") && !isLoopback(l.value().getHost()) && !security.requiresKey()
                    && !security.insecure()) {
                report(l, false, "accepts links from the network with neither TLS nor a pre-shared key: listen on "
                        + "tls:// and set security.tls.certFile, keyFile and caFile, or set security.preSharedKeyFile "
                        + "(or security.acceptPeers); to accept unauthenticated links anyway, set "
                        + "security.insecure: true");
            }
        }
    }

    private void checkTlsLinks(List<SidecarConfig.Peer> peers, SidecarConfig.Security security) {
        if (security.tls().isPresent()) {
            return;
        }
        for (SidecarConfig.Peer p : peers) {
            for (SidecarConfig.Link l : p.links()) {
                if ("tls".equalsIgnoreCase(l.address().getScheme())) {
                    problems.add("configuration", KeyPath.ROOT.child("security").child("tls").child("certFile"),
                            null, "is required: peer '" + p.name() + "' has a tls:// link (" + l.address() + ")");
                    return;
                }
            }
        }
    }

    /** True for {@code localhost} and loopback address literals; any other name may resolve off the host. */
    static boolean isLoopback(String host) {
        if (host == null) {
            return false;
        }
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!h.matches("[0-9.]+|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*")) {
            return false;
        }
        try {
            return java.net.InetAddress.getByName(h).isLoopbackAddress(); // a literal: no lookup
        } catch (java.net.UnknownHostException e) {
            return false;
        }
    }

    /** The three PEM files, all or none; loaded once here so a bad file is named with its key. */
    private Optional<SidecarConfig.Tls> tls(TMap m, KeyPath p) {
        List<V<String>> files = List.of(value(m, p, "certFile", false, t -> t, ""),
                value(m, p, "keyFile", false, t -> t, ""), value(m, p, "caFile", false, t -> t, ""));
        long set = files.stream().filter(f -> !f.value().isEmpty()).count();
        if (set == 0) {
            return Optional.empty();
        }
        if (set < 3) {
            V<String> given = files.stream().filter(f -> !f.value().isEmpty()).findFirst().orElseThrow();
            for (V<String> f : files) {
                if (f.value().isEmpty()) {
                    problems.add(given.source(), f.path(), null, "is required: " + given.path() + " is set ("
                            + setBy(given.source()) + "), and TLS needs all three files");
                }
            }
            return Optional.empty();
        }
        Path[] paths = new Path[3];
        for (int i = 0; i < 3; i++) {
            try {
                paths[i] = Path.of(files.get(i).value());
            } catch (InvalidPathException e) {
                report(files.get(i), false, "is not a valid file path: " + e.getReason());
                return Optional.empty();
            }
        }
        try {
            TlsSettings.of(paths[0], paths[1], paths[2]);
        } catch (IllegalArgumentException e) {
            // The core names the file's knob first: "keyFile /x is not the private key of ..."
            String message = e.getMessage();
            V<String> blamed = message.startsWith("keyFile") ? files.get(1) : message.startsWith("caFile")
                    ? files.get(2) : files.get(0);
            report(blamed, false, message);
            return Optional.empty();
        }
        return Optional.of(new SidecarConfig.Tls(paths[0], paths[1], paths[2]));
    }

    private List<SidecarConfig.AcceptPeer> acceptPeers(TMap security, KeyPath path) {
        List<SidecarConfig.AcceptPeer> out = new ArrayList<>();
        Map<String, KeyPath> names = new HashMap<>();
        List<TNode> items = items(security, "acceptPeers");
        for (int i = 0; i < items.size(); i++) {
            if (!(items.get(i) instanceof TMap entry)) {
                continue;
            }
            KeyPath p = path.index(i);
            V<String> name = required(entry, p, "name", t -> name(t, NAME, NAME_RULE),
                    "the name the peer announces (its identity)");
            V<Path> file = required(entry, p, "preSharedKeyFile", ConfigBinder::keyFile, "the peer's key");
            if (name.ok()) {
                KeyPath first = names.putIfAbsent(name.value(), p);
                if (first != null) {
                    report(name, false, "is already the name of " + first + "; names must be unique");
                }
            }
            if (name.ok() && file.ok()) {
                out.add(new SidecarConfig.AcceptPeer(name.value(), file.value()));
            }
        }
        return out;
    }

    /** A key file that exists and holds a valid key. */
    static Path keyFile(String text) {
        Path path;
        try {
            path = Path.of(text);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("is not a valid file path: " + e.getReason());
        }
        readKeyFile(path);
        return path;
    }

    private SidecarConfig.Security sharedKey(TMap m, KeyPath p) {
        V<String> inline = value(m, p, "preSharedKey", true, t -> t, "");
        V<String> file = value(m, p, "preSharedKeyFile", false, t -> t, "");
        if (!inline.value().isEmpty() && !file.value().isEmpty()) {
            V<String> blamed = inline.source().rank() > file.source().rank() ? inline : file;
            V<String> other = blamed == inline ? file : inline;
            report(blamed, blamed == inline, "must not be set together with " + other.path() + " ("
                    + setBy(other.source()) + "); give only one of them");
            return SidecarConfig.Security.none();
        }
        if (!inline.value().isEmpty()) {
            try {
                return new SidecarConfig.Security(inline.value(), Optional.empty(), decodeKey(inline.value(), ""));
            } catch (IllegalArgumentException e) {
                report(inline, true, e.getMessage());
                return SidecarConfig.Security.none();
            }
        }
        if (!file.value().isEmpty()) {
            try {
                Path path = Path.of(file.value());
                return new SidecarConfig.Security("", Optional.of(path), readKeyFile(path));
            } catch (InvalidPathException e) {
                report(file, false, "is not a valid file path: " + e.getReason());
            } catch (IllegalArgumentException e) {
                report(file, false, e.getMessage());
            }
        }
        return SidecarConfig.Security.none();
    }

    static byte[] readKeyFile(Path path) {
        String text;
        try {
            if (Files.isDirectory(path)) {
                throw new IllegalArgumentException("cannot read the key file: it is a directory");
            }
            if (Files.size(path) > MAX_KEY_FILE) {
                throw new IllegalArgumentException("cannot read the key file: it is larger than 64KiB");
            }
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("cannot read the key file: no such file");
        } catch (AccessDeniedException e) {
            throw new IllegalArgumentException("cannot read the key file: permission denied");
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the key file: " + e);
        }
        return decodeKey(text.strip(), "the key file ");
    }

    static byte[] decodeKey(String base64, String what) {
        byte[] key;
        try {
            key = Base64.getDecoder().decode(base64);
        } catch (IllegalArgumentException e) {
            try {
                key = Base64.getUrlDecoder().decode(base64);
            } catch (IllegalArgumentException e2) {
                throw new IllegalArgumentException(what + "must be base64 of a 16 to 1024 byte key; "
                        + (what.isEmpty() ? "this" : "it") + " is not valid base64");
            }
        }
        if (key.length < 16 || key.length > 1024) {
            throw new IllegalArgumentException(what + "must be base64 of a 16 to 1024 byte key; "
                    + (what.isEmpty() ? "this" : "it") + " decodes to " + key.length + " bytes");
        }
        return key;
    }

    // ---------------------------------------------------------------- tree access

    private static TMap section(TMap root, String key) {
        return root.entries().get(key) instanceof TMap m ? m : new TMap(root.source());
    }

    private static List<TNode> items(TMap map, String key) {
        return map.entries().get(key) instanceof TList l ? l.items() : List.of();
    }

    /** A key every merged tree holds (the defaults set it). */
    private <T> V<T> value(TMap map, KeyPath mapPath, String key, boolean secret, Parser<T> parser, T fallback) {
        KeyPath path = mapPath.child(key);
        if (!(map.entries().get(key) instanceof TScalar s)) {
            problems.add(map.source(), path, null, "is required");
            return new V<>(fallback, map.source(), path, "", false);
        }
        return parse(s, path, secret, parser, fallback);
    }

    /** A key of a list entry that has no default. */
    private <T> V<T> required(TMap map, KeyPath mapPath, String key, Parser<T> parser, String why) {
        KeyPath path = mapPath.child(key);
        if (!(map.entries().get(key) instanceof TScalar s)) {
            problems.add(map.source(), path, null, "is required: " + why);
            return new V<>(null, map.source(), path, "", false);
        }
        return parse(s, path, false, parser, null);
    }

    /** A key of a list entry with a default. */
    private <T> V<T> optional(TMap map, KeyPath mapPath, String key, Parser<T> parser, String defaultText) {
        KeyPath path = mapPath.child(key);
        if (!(map.entries().get(key) instanceof TScalar s)) {
            return new V<>(parser.parse(defaultText), map.source(), path, defaultText, true);
        }
        return parse(s, path, false, parser, null);
    }

    private <T> V<T> parse(TScalar s, KeyPath path, boolean secret, Parser<T> parser, T fallback) {
        try {
            return new V<>(parser.parse(s.text()), s.source(), path, s.text(), true);
        } catch (IllegalArgumentException e) {
            problems.add(s.source(), path, secret ? ConfigTree.showSecret(s.text()) : ConfigTree.show(s.text()),
                    e.getMessage());
            return new V<>(fallback, s.source(), path, s.text(), false);
        }
    }

    private void report(V<?> v, boolean secret, String rule) {
        problems.add(v.source(), v.path(), secret ? ConfigTree.showSecret(v.text()) : ConfigTree.show(v.text()),
                rule);
    }

    /** {@code set in config.yaml}, {@code set by environment variable INVMUX_X}, {@code the default}. */
    static String setBy(Source source) {
        return switch (source.rank()) {
            case ConfigTree.RANK_DEFAULTS -> "the default";
            case ConfigTree.RANK_FILE -> "set in " + source.label();
            case ConfigTree.RANK_CLI -> "set on the " + source.label();
            default -> "set by " + source.label();
        };
    }

    // ---------------------------------------------------------------- value parsers

    static String name(String text, Pattern pattern, String rule) {
        if (!pattern.matcher(text).matches()) {
            throw new IllegalArgumentException(rule);
        }
        return text;
    }

    static io.invmux.TrafficClass trafficClass(String text) {
        for (io.invmux.TrafficClass c : io.invmux.TrafficClass.values()) {
            if (c.name().equalsIgnoreCase(text)) {
                return c;
            }
        }
        throw new IllegalArgumentException("must be bulk, interactive or redundant");
    }

    static Address apiAddress(String text) {
        try {
            return Address.parse(text, true);
        } catch (IllegalArgumentException e) {
            if (text.indexOf(':') < 0) {
                throw new IllegalArgumentException("must be host:port (e.g. 127.0.0.1:7701) or "
                        + "unix:///absolute/path");
            }
            throw e;
        }
    }

    static Optional<TcpAddress> optionalListenAddress(String text) {
        if (text.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(TcpAddress.parse(text, true));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(e.getMessage() + ", or empty for off");
        }
    }

    static String token(String text) {
        if (!text.isEmpty() && (text.length() < 16 || text.length() > 1024
                || !text.chars().allMatch(c -> c >= 0x21 && c <= 0x7e))) {
            throw new IllegalArgumentException(TOKEN_RULE);
        }
        return text;
    }

    static Parser<Integer> intIn(int min, int max) {
        return text -> {
            long n = INTEGER.matcher(text).matches() ? Long.parseLong(text) : Long.MIN_VALUE;
            if (n < min || n > max) {
                throw new IllegalArgumentException("must be an integer from " + min + " to " + max);
            }
            return (int) n;
        };
    }

    static Parser<Integer> sizeIn(long min, long max) {
        return text -> {
            long n = Units.parseSize(text);
            if (n < min || n > max) {
                throw new IllegalArgumentException("must be between " + Units.formatSize(min) + " and "
                        + Units.formatSize(max));
            }
            return (int) n;
        };
    }

    /** A link's {@code maxBytesPerDay}: 0 (no cap) or a size of at least 1 MiB. */
    static long budget(String text) {
        long n = Units.parseSize(text);
        if (n != 0 && n < Units.MIB) {
            throw new IllegalArgumentException("must be 0 (no cap) or at least 1MiB");
        }
        return n;
    }

    static Parser<Duration> durationIn(Duration min, Duration max) {
        return text -> {
            Duration d = Units.parseDuration(text);
            if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
                throw new IllegalArgumentException("must be between " + Units.formatDuration(min) + " and "
                        + Units.formatDuration(max));
            }
            return d;
        };
    }

    static double weight(String text) {
        if (!DECIMAL.matcher(text).matches()) {
            throw new IllegalArgumentException("must be a number greater than 0 and at most 1000");
        }
        double w = Double.parseDouble(text);
        if (!(w > 0 && w <= 1000)) {
            throw new IllegalArgumentException(WEIGHT_RULE);
        }
        return w;
    }

    static SidecarConfig.LogLevel logLevel(String text) {
        for (SidecarConfig.LogLevel l : SidecarConfig.LogLevel.values()) {
            if (l.configName().equals(text.toLowerCase(Locale.ROOT))) {
                return l;
            }
        }
        throw new IllegalArgumentException("must be one of trace, debug, info, warn, error");
    }

    static SidecarConfig.LogFormat logFormat(String text) {
        List<String> names = new ArrayList<>();
        for (SidecarConfig.LogFormat f : SidecarConfig.LogFormat.values()) {
            if (f.configName().equals(text.toLowerCase(Locale.ROOT))) {
                return f;
            }
            names.add(f.configName());
        }
        throw new IllegalArgumentException("must be text or json" + ConfigTree.suggest(text, names)
                .map(s -> " (did you mean " + s + "?)").orElse(""));
    }

    /**
     * A link URI as the core's transports take it: {@code tcp://host:port} with the parameters {@code bind},
     * {@code iface}, {@code sndbuf}, {@code rcvbuf} (only the last two on a listener), or {@code mem://name}.
     */
    static URI linkUri(String text, boolean listen) {
        if (!text.contains("://")) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (missing tcp://, tls:// or mem://)");
        }
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (" + e.getReason() + " at index " + e.getIndex()
                    + ")");
        }
        String scheme = uri.getScheme();
        if (scheme == null || uri.isOpaque()) {
            throw new IllegalArgumentException(LINK_URI_RULE);
        }
        if (uri.getRawFragment() != null || uri.getRawUserInfo() != null) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (no user info or #fragment)");
        }
        if (scheme.equalsIgnoreCase("mem")) {
            if (uri.getRawAuthority() == null || uri.getRawAuthority().isEmpty()) {
                throw new IllegalArgumentException(LINK_URI_RULE + " (mem needs a name: mem://name)");
            }
            return uri;
        }
        if (!scheme.equalsIgnoreCase("tcp") && !scheme.equalsIgnoreCase("tls")) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (scheme must be tcp, tls or mem)");
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (" + (uri.getRawAuthority() == null
                    ? "missing host" : "not a valid host:port") + ")");
        }
        int min = listen ? 0 : 1;
        if (uri.getPort() < min) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (" + (uri.getPort() < 0 ? "missing port"
                    : "port must be " + min + " to 65535") + ")");
        }
        if (uri.getPort() > 65535) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (port must be " + min + " to 65535)");
        }
        if (uri.getRawPath() != null && !uri.getRawPath().isEmpty() && !uri.getRawPath().equals("/")) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (no path)");
        }
        checkParameters(uri, listen);
        return uri;
    }

    private static void checkParameters(URI uri, boolean listen) {
        String query = uri.getRawQuery();
        if (query == null || query.isEmpty()) {
            return;
        }
        Set<String> known = listen ? LISTEN_PARAMETERS : DIAL_PARAMETERS;
        Map<String, String> params = new LinkedHashMap<>();
        for (String pair : query.split("&")) {
            int eq = pair.indexOf('=');
            String key = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            if (!known.contains(key)) {
                if (listen && DIAL_PARAMETERS.contains(key)) {
                    throw new IllegalArgumentException(LINK_URI_RULE + " (parameter '" + key + "' applies only to "
                            + "links a peer dials; a listener takes sndbuf and rcvbuf)");
                }
                throw new IllegalArgumentException(LINK_URI_RULE + " (unknown parameter '" + key + "'; known "
                        + "parameters: " + (listen ? "sndbuf, rcvbuf" : "bind, iface, sndbuf, rcvbuf") + ")");
            }
            if (params.put(key, value) != null) {
                throw new IllegalArgumentException(LINK_URI_RULE + " (parameter '" + key + "' given twice)");
            }
        }
        if (params.containsKey("bind") && params.containsKey("iface")) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (give either bind or iface, not both)");
        }
        String bind = params.get("bind");
        if (bind != null) {
            try {
                if (bind.indexOf(':') < 0 || (bind.startsWith("[") && bind.endsWith("]"))) {
                    TcpAddress.parse(bind + ":0", true);
                } else {
                    TcpAddress.parse(bind, true);
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(LINK_URI_RULE + " (bind must be an address with an optional "
                        + "port, e.g. bind=10.0.2.1)");
            }
        }
        String iface = params.get("iface");
        if (iface != null && !iface.matches("[A-Za-z0-9._@:-]{1,64}")) {
            throw new IllegalArgumentException(LINK_URI_RULE + " (iface must name a network interface)");
        }
        for (String buf : List.of("sndbuf", "rcvbuf")) {
            String v = params.get(buf);
            if (v != null && !(v.matches("[0-9]{1,9}") && Long.parseLong(v) >= 1024 && Long.parseLong(v) <= 256L
                    * 1024 * 1024)) {
                throw new IllegalArgumentException(LINK_URI_RULE + " (" + buf + " must be a whole number of bytes "
                        + "from 1024 to 268435456)");
            }
        }
    }
}
