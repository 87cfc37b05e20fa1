package io.invmux.server.config;

import io.invmux.server.config.ConfigException.Problem;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.StringJoiner;
import org.snakeyaml.engine.v2.api.LoadSettings;
import org.snakeyaml.engine.v2.api.lowlevel.Compose;
import org.snakeyaml.engine.v2.exceptions.Mark;
import org.snakeyaml.engine.v2.exceptions.MarkedYamlEngineException;
import org.snakeyaml.engine.v2.exceptions.YamlEngineException;
import org.snakeyaml.engine.v2.nodes.MappingNode;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.NodeTuple;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.SequenceNode;
import org.snakeyaml.engine.v2.nodes.Tag;
import org.snakeyaml.engine.v2.schema.CoreSchema;

/**
 * The untyped configuration tree every source is merged into before binding, the schema (shape) it must follow,
 * and the key paths and problem reporting shared by loader and binder. Every node remembers the source that set it,
 * so a problem found later still names the right file, variable or argument.
 */
final class ConfigTree {
    static final int RANK_DEFAULTS = 0;
    static final int RANK_FILE = 1;
    static final int RANK_ENV = 2;
    static final int RANK_CLI = 3;
    private static final int MAX_DEPTH = 32;

    private ConfigTree() {
    }

    /** Where values came from; a higher rank overrides a lower one. */
    record Source(String label, int rank) {
    }

    // ---------------------------------------------------------------- schema

    sealed interface Shape permits Leaf, ListShape, MapShape {
    }

    /** A single value; secret ones are never shown in messages. */
    record Leaf(boolean secret) implements Shape {
    }

    record ListShape(Shape element) implements Shape {
    }

    record MapShape(Map<String, Shape> fields) implements Shape {
    }

    private static final Leaf LEAF = new Leaf(false);
    private static final Leaf SECRET = new Leaf(true);

    static final MapShape SCHEMA = map(
            "identity", LEAF,
            "api", map("address", LEAF, "token", SECRET, "maxMessageSize", LEAF, "maxStreamsPerClient", LEAF,
                    "tokenFile", LEAF, "socketGroup", LEAF, "maxConnectionsPerClient", LEAF),
            "health", map("address", LEAF),
            "admin", map("address", LEAF),
            "listeners", new ListShape(LEAF),
            "peers", new ListShape(map(
                    "name", LEAF,
                    "links", new ListShape(map("address", LEAF, "priority", LEAF, "weight", LEAF,
                            "maxBytesPerDay", LEAF)),
                    "preSharedKeyFile", LEAF)),
            "services", new ListShape(map("name", LEAF, "target", LEAF, "middleware", new ListShape(LEAF))),
            "forwards", new ListShape(map("listen", LEAF, "peer", LEAF, "service", LEAF,
                    "middleware", new ListShape(LEAF), "trafficClass", LEAF)),
            "middleware", new ListShape(LEAF),
            "limits", map(
                    "windowSize", LEAF,
                    "maxWindowSize", LEAF,
                    "sessionWindowSize", LEAF,
                    "maxChunkSize", LEAF,
                    "maxStreams", LEAF,
                    "acceptBacklog", LEAF,
                    "acceptTimeout", LEAF,
                    "keepAliveInterval", LEAF,
                    "keepAliveTimeout", LEAF,
                    "writeTimeout", LEAF,
                    "resumeGracePeriod", LEAF,
                    "drainTimeout", LEAF,
                    "maxServiceConnections", LEAF,
                    "serviceIdleTimeout", LEAF,
                    "handshakeTimeout", LEAF,
                    "maxHandshakes", LEAF,
                    "maxHandshakesPerAddress", LEAF,
                    "maxSessions", LEAF,
                    "maxLinksPerSession", LEAF,
                    "pendingOpenTimeout", LEAF,
                    "maxReorderChunks", LEAF,
                    "maxPingRate", LEAF),
            "security", map("preSharedKey", SECRET, "preSharedKeyFile", LEAF,
                    "serviceTargets", new ListShape(LEAF), "allowNonLoopbackForwards", LEAF,
                    "tls", map("certFile", LEAF, "keyFile", LEAF, "caFile", LEAF),
                    "acceptPeers", new ListShape(map("name", LEAF, "preSharedKeyFile", LEAF)),
                    "insecure", LEAF),
            "logging", map("level", LEAF, "format", LEAF));

    private static MapShape map(Object... kv) {
        Map<String, Shape> fields = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            fields.put((String) kv[i], (Shape) kv[i + 1]);
        }
        return new MapShape(Collections.unmodifiableMap(fields));
    }

    /** The embedded defaults; {@code identity} is added by the loader. */
    static final String DEFAULTS_YAML = """
            api:
              address: 127.0.0.1:7701
              token: ""
              maxMessageSize: 4MiB
              maxStreamsPerClient: 1024
              tokenFile: ""
              socketGroup: ""
              maxConnectionsPerClient: 64
            health:
              address: ""
            admin:
              address: 127.0.0.1:7702
            listeners:
              - tcp://127.0.0.1:7700
            peers: []
            services: []
            forwards: []
            middleware: []
            limits:
              windowSize: 256KiB
              maxWindowSize: 16MiB
              sessionWindowSize: 64MiB
              maxChunkSize: 32KiB
              maxStreams: 65536
              acceptBacklog: 256
              acceptTimeout: 10s
              keepAliveInterval: 100ms
              keepAliveTimeout: 800ms
              writeTimeout: 10s
              resumeGracePeriod: 30s
              drainTimeout: 20s
              maxServiceConnections: 1024
              serviceIdleTimeout: 30m
              handshakeTimeout: 10s
              maxHandshakes: 256
              maxHandshakesPerAddress: 32
              maxSessions: 1024
              maxLinksPerSession: 32
              pendingOpenTimeout: 10s
              maxReorderChunks: 65536
              maxPingRate: 200
            security:
              preSharedKey: ""
              preSharedKeyFile: ""
              serviceTargets: [127.0.0.0/8, "::1/128"]
              allowNonLoopbackForwards: false
              tls:
                certFile: ""
                keyFile: ""
                caFile: ""
              acceptPeers: []
              insecure: false
            logging:
              level: info
              format: text
            """;

    // ---------------------------------------------------------------- key paths

    /** A key path: field names and list indexes; printed {@code peers[0].links[1].weight}. */
    record KeyPath(List<Object> segments) {
        static final KeyPath ROOT = new KeyPath(List.of());

        KeyPath child(String field) {
            List<Object> s = new ArrayList<>(segments);
            s.add(field);
            return new KeyPath(List.copyOf(s));
        }

        KeyPath index(int i) {
            List<Object> s = new ArrayList<>(segments);
            s.add(i);
            return new KeyPath(List.copyOf(s));
        }

        boolean isRoot() {
            return segments.isEmpty();
        }

        /** {@code INVMUX_PEERS_0_LINKS_1_WEIGHT}. */
        String envName() {
            StringJoiner j = new StringJoiner("_", ConfigLoader.ENV_PREFIX, "");
            for (Object s : segments) {
                j.add(s instanceof Integer ? s.toString() : upperSnake((String) s));
            }
            return j.toString();
        }

        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            for (Object s : segments) {
                if (s instanceof Integer) {
                    sb.append('[').append(s).append(']');
                } else {
                    if (sb.length() > 0) {
                        sb.append('.');
                    }
                    sb.append(s);
                }
            }
            return sb.toString();
        }
    }

    /** {@code maxStreamsPerClient} to {@code MAX_STREAMS_PER_CLIENT}. */
    static String upperSnake(String camel) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c) && i > 0) {
                sb.append('_');
            }
            sb.append(Character.toUpperCase(c));
        }
        return sb.toString();
    }

    // ---------------------------------------------------------------- problems

    /** Collects problems in the order found. */
    static final class Problems {
        final List<Problem> list = new ArrayList<>();

        void add(String source, KeyPath key, String value, String rule) {
            list.add(new Problem(source, key == null || key.isRoot() ? null : key.toString(), value, rule));
        }

        void add(Source source, KeyPath key, String value, String rule) {
            add(source.label(), key, value, rule);
        }

        boolean isEmpty() {
            return list.isEmpty();
        }

        int size() {
            return list.size();
        }
    }

    // ---------------------------------------------------------------- tree nodes

    sealed interface TNode permits TScalar, TMap, TList {
        Source source();
    }

    record TScalar(String text, Source source) implements TNode {
    }

    record TMap(LinkedHashMap<String, TNode> entries, Source source) implements TNode {
        TMap(Source source) {
            this(new LinkedHashMap<>(), source);
        }
    }

    record TList(ArrayList<TNode> items, Source source) implements TNode {
        TList(Source source) {
            this(new ArrayList<>(), source);
        }
    }

    /** An empty section or list for {@code shape}, set by {@code source}. */
    static TNode emptyContainer(Shape shape, Source source) {
        return shape instanceof ListShape ? new TList(source) : new TMap(source);
    }

    /** Sections merge key by key; lists and values replace. Mutates and may return {@code base}. */
    static TNode merge(TNode base, TNode over) {
        if (base instanceof TMap b && over instanceof TMap o) {
            for (Map.Entry<String, TNode> e : o.entries().entrySet()) {
                TNode old = b.entries().get(e.getKey());
                b.entries().put(e.getKey(), old == null ? e.getValue() : merge(old, e.getValue()));
            }
            return b;
        }
        return over;
    }

    // ---------------------------------------------------------------- YAML

    static LoadSettings loadSettings(String label) {
        return LoadSettings.builder()
                .setLabel(label)
                .setSchema(new CoreSchema())
                .setMaxAliasesForCollections(100)
                .build();
    }

    /**
     * Parses one YAML document; empty when the text holds none (empty file, only comments). A syntax error is added
     * to {@code problems} with line and column, prefixed by {@code what}, and null is returned.
     */
    static Optional<Node> parseYaml(String text, String label, Problems problems, KeyPath key, String value,
            String prefix) {
        try {
            return new Compose(loadSettings(label)).composeString(text);
        } catch (MarkedYamlEngineException e) {
            Mark mark = e.getProblemMark().orElse(e.getContextMark().orElse(null));
            StringBuilder rule = new StringBuilder(prefix);
            if (mark != null) {
                rule.append(at(mark)).append(": ");
            }
            rule.append("invalid YAML: ").append(e.getProblem() == null ? "syntax error" : e.getProblem().strip());
            if (e.getContext() != null && !e.getContext().isBlank()) {
                rule.append(" (").append(e.getContext().strip());
                e.getContextMark().filter(m -> m != mark).ifPresent(m -> rule.append(" started at ").append(at(m)));
                rule.append(')');
            }
            problems.add(label, key, value, rule.toString());
            return null;
        } catch (YamlEngineException e) {
            problems.add(label, key, value, prefix + "invalid YAML: " + e.getMessage());
            return null;
        }
    }

    static String at(Mark m) {
        return "line " + (m.getLine() + 1) + ", column " + (m.getColumn() + 1);
    }

    private static String at(Node n) {
        return n.getStartMark().map(ConfigTree::at).orElse("");
    }

    private static boolean isNull(Node n) {
        return n instanceof ScalarNode s && s.getTag().equals(Tag.NULL);
    }

    /**
     * Converts a YAML node to a tree node, checking it against {@code shape}: unknown keys, a list or section where
     * a value belongs and the like are added to {@code problems} and left out. An empty value ({@code key:},
     * {@code ~}, {@code null}) where a section or list belongs counts as an empty one.
     *
     * @return the node, or null when it does not fit the shape at all
     */
    static TNode fromYaml(Node node, Shape shape, KeyPath path, Source source, Problems problems) {
        return fromYaml(node, shape, path, source, problems, 0);
    }

    private static TNode fromYaml(Node node, Shape shape, KeyPath path, Source source, Problems problems,
            int depth) {
        if (depth > MAX_DEPTH) {
            problems.add(source, path, null, "nested too deeply (recursive alias?)");
            return null;
        }
        if (shape instanceof Leaf leaf) {
            if (node instanceof ScalarNode s) {
                return new TScalar(isNull(s) ? "" : s.getValue(), source);
            }
            problems.add(source, path, shown(node, shape),
                    "must be a single value, not " + (node instanceof SequenceNode ? "a list" : "a section"));
            return null;
        }
        if (isNull(node)) {
            return emptyContainer(shape, source);
        }
        if (shape instanceof ListShape list) {
            if (!(node instanceof SequenceNode seq)) {
                problems.add(source, path, shown(node, shape), describe(shape));
                return null;
            }
            TList out = new TList(source);
            for (Node item : seq.getValue()) {
                KeyPath p = path.index(out.items().size());
                TNode t = fromYaml(item, list.element(), p, source, problems, depth + 1);
                out.items().add(t); // null when broken (already reported): kept so later indexes stay right
            }
            return out;
        }
        MapShape map = (MapShape) shape;
        if (!(node instanceof MappingNode mapping)) {
            problems.add(source, path, shown(node, shape), (path.isRoot() ? "the document " : "")
                    + describe(shape));
            return null;
        }
        TMap out = new TMap(source);
        Map<String, Node> seen = new HashMap<>();
        for (NodeTuple t : mapping.getValue()) {
            Node keyNode = t.getKeyNode();
            if (!(keyNode instanceof ScalarNode ks) || isNull(ks)) {
                problems.add(source, path, null, at(keyNode) + ": keys must be plain names, got " + render(keyNode));
                continue;
            }
            String key = ks.getValue();
            KeyPath p = path.child(key);
            Node first = seen.putIfAbsent(key, keyNode);
            if (first != null) {
                problems.add(source, null, null, at(keyNode) + ": duplicate key " + p + " (first given at "
                        + at(first) + ")");
                continue;
            }
            Shape fieldShape = map.fields().get(key);
            if (fieldShape == null) {
                problems.add(source, p, null, unknownKey(key, path, map.fields().keySet()));
                continue;
            }
            TNode value = fromYaml(t.getValueNode(), fieldShape, p, source, problems, depth + 1);
            if (value != null) {
                out.entries().put(key, value);
            }
        }
        return out;
    }

    /** The rule for a node of the wrong kind where {@code shape} belongs. */
    static String describe(Shape shape) {
        if (shape instanceof MapShape m) {
            return "must be a section with the keys " + String.join(", ", m.fields().keySet());
        }
        if (shape instanceof ListShape l) {
            return l.element() instanceof Leaf ? "must be a list of values" : "must be a list of sections with the "
                    + "keys " + String.join(", ", ((MapShape) l.element()).fields().keySet());
        }
        return "must be a single value";
    }

    /** {@code unknown key; known keys under api: address, token (did you mean address?)}. */
    static String unknownKey(String key, KeyPath parent, Collection<String> known) {
        StringBuilder sb = new StringBuilder("unknown key; known keys ");
        sb.append(parent.isRoot() ? "at the top level" : "under " + parent).append(": ")
                .append(String.join(", ", known));
        suggest(key, known).ifPresent(s -> sb.append(" (did you mean ").append(s).append("?)"));
        return sb.toString();
    }

    /** The known name closest to {@code bad}, if it is close enough to be a typo. */
    static Optional<String> suggest(String bad, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = distance(bad.toLowerCase(Locale.ROOT), k.toLowerCase(Locale.ROOT));
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        return best != null && bestDistance <= Math.max(2, bad.length() / 4) ? Optional.of(best) : Optional.empty();
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    // ---------------------------------------------------------------- showing values

    private static final int MAX_SHOWN = 100;

    /** A value as shown in a message: as written, quoted when empty or padded, cut when long. */
    static String show(String text) {
        String t = text.length() > MAX_SHOWN ? text.substring(0, MAX_SHOWN - 3) + "..." : text;
        boolean plain = !t.isEmpty() && t.equals(t.strip()) && t.chars().noneMatch(Character::isISOControl);
        if (plain) {
            return t;
        }
        StringBuilder sb = new StringBuilder("\"");
        for (char c : t.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        sb.append(String.format("\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    /** A secret as shown in a message: only its length. */
    static String showSecret(String text) {
        return text.isEmpty() ? "\"\"" : "(hidden, " + text.length() + " characters)";
    }

    /** Whether a value of this shape is or holds a secret. */
    static boolean holdsSecret(Shape shape) {
        if (shape instanceof Leaf leaf) {
            return leaf.secret();
        }
        if (shape instanceof ListShape list) {
            return holdsSecret(list.element());
        }
        return ((MapShape) shape).fields().values().stream().anyMatch(ConfigTree::holdsSecret);
    }

    private static String shown(Node node, Shape shape) {
        return holdsSecret(shape) ? "(hidden)" : render(node);
    }

    /** A YAML node in short flow form, for messages. */
    static String render(Node node) {
        StringBuilder sb = new StringBuilder();
        render(node, sb, 0);
        String s = sb.toString();
        return s.length() > MAX_SHOWN ? s.substring(0, MAX_SHOWN - 3) + "..." : s;
    }

    private static void render(Node node, StringBuilder sb, int depth) {
        if (sb.length() > MAX_SHOWN || depth > 8) {
            sb.append("...");
        } else if (node instanceof ScalarNode s) {
            sb.append(isNull(s) ? "null" : show(s.getValue()));
        } else if (node instanceof SequenceNode seq) {
            sb.append('[');
            boolean first = true;
            for (Node n : seq.getValue()) {
                sb.append(first ? "" : ", ");
                first = false;
                render(n, sb, depth + 1);
            }
            sb.append(']');
        } else if (node instanceof MappingNode m) {
            sb.append('{');
            boolean first = true;
            for (NodeTuple t : m.getValue()) {
                sb.append(first ? "" : ", ");
                first = false;
                render(t.getKeyNode(), sb, depth + 1);
                sb.append(": ");
                render(t.getValueNode(), sb, depth + 1);
            }
            sb.append('}');
        }
    }
}
