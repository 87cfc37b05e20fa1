package io.invmux.server.config;

import io.invmux.server.config.ConfigException.Problem;
import io.invmux.server.config.ConfigTree.KeyPath;
import io.invmux.server.config.ConfigTree.Leaf;
import io.invmux.server.config.ConfigTree.ListShape;
import io.invmux.server.config.ConfigTree.MapShape;
import io.invmux.server.config.ConfigTree.Problems;
import io.invmux.server.config.ConfigTree.Shape;
import io.invmux.server.config.ConfigTree.Source;
import io.invmux.server.config.ConfigTree.TList;
import io.invmux.server.config.ConfigTree.TMap;
import io.invmux.server.config.ConfigTree.TNode;
import io.invmux.server.config.ConfigTree.TScalar;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.snakeyaml.engine.v2.nodes.Node;
import org.snakeyaml.engine.v2.nodes.ScalarNode;
import org.snakeyaml.engine.v2.nodes.Tag;

/**
 * Loads the sidecar configuration from, later sources winning:
 * <ol>
 *   <li>the embedded defaults (enough to run with no file at all; {@code identity} defaults to the host name);</li>
 *   <li>a YAML file ({@link #file}, optional; see {@code invmux-example.yaml} for every key);</li>
 *   <li>environment variables {@code INVMUX_} + the key path in UPPER_SNAKE case, list indexes as numbers:
 *       {@code INVMUX_API_ADDRESS}, {@code INVMUX_LIMITS_WINDOW_SIZE}, {@code INVMUX_LISTENERS_0},
 *       {@code INVMUX_PEERS_0_LINKS_1_ADDRESS} ({@link #environment});</li>
 *   <li>command-line overrides {@code key.path=value}: {@code api.address=127.0.0.1:0},
 *       {@code listeners.0=tcp://0.0.0.0:0}, {@code peers[0].links[1].weight=2} ({@link #overrides}).</li>
 * </ol>
 * Sections merge key by key; a list given in a file replaces the default list, while an indexed variable or
 * override replaces one entry, or appends one when the index is one past the end. A variable or override naming a
 * section or list (such as {@code INVMUX_LISTENERS} or {@code peers.0}) takes a YAML flow value
 * ({@code [tcp://0.0.0.0:7700, mem://a]}, {@code {name: b, links: [{address: "tcp://h:7700"}]}}); an empty one
 * empties a list. Values of single keys are taken as written, without surrounding whitespace.
 *
 * <p>Every problem is collected and reported together in one {@link ConfigException}: unknown keys (with the keys
 * known at that level), wrong types, out-of-range values, bad formats, duplicate names, forwards naming unknown
 * peers, conflicting settings, an unreadable key file, YAML syntax errors (with line and column). Each problem names
 * the source, the key path, the value and the rule. Secrets (API token, pre-shared key) are never shown.
 */
public final class ConfigLoader {
    /** Prefix of the environment variables that set configuration keys. */
    public static final String ENV_PREFIX = "INVMUX_";
    /**
     * Environment variable the CLI may read the path of the configuration file from. It names no key, so this
     * loader ignores it rather than rejecting it.
     */
    public static final String CONFIG_FILE_ENV = "INVMUX_CONFIG";
    /** Source named in problems with command-line overrides. */
    public static final String COMMAND_LINE = "command line";
    /** Source named in problems with the embedded defaults. */
    public static final String DEFAULTS = "defaults";

    /**
     * INVMUX_ variables that are not config keys: the config file path, the launcher's settings, and the client
     * SDKs' settings (an application container and its sidecar often share an environment).
     */
    private static final Set<String> IGNORED_ENV = Set.of(CONFIG_FILE_ENV, "INVMUX_JAVA_OPTS", "INVMUX_JAR",
            "INVMUX_HOME", "INVMUX_GRPC_ENDPOINT");

    private Path file;
    private String yamlName;
    private String yamlText;
    private Map<String, String> environment = Map.of();
    private List<String> overrides = List.of();
    private String hostname;

    /** A loader of the defaults alone; add sources with the setters. */
    public ConfigLoader() {
    }

    /** Loads defaults, {@code file} (when not null), {@code environment} and {@code overrides}. */
    public static SidecarConfig load(Path file, Map<String, String> environment, List<String> overrides)
            throws ConfigException {
        return new ConfigLoader().file(file).environment(environment).overrides(overrides).load();
    }

    /** The YAML file to read; null for none. Replaces {@link #yaml}. */
    public ConfigLoader file(Path file) {
        this.file = file;
        this.yamlText = null;
        return this;
    }

    /** YAML given as text, named {@code sourceName} in problems. Replaces {@link #file}. */
    public ConfigLoader yaml(String sourceName, String text) {
        this.yamlName = Objects.requireNonNull(sourceName, "sourceName");
        this.yamlText = Objects.requireNonNull(text, "text");
        this.file = null;
        return this;
    }

    /**
     * The process environment ({@code System.getenv()} in production). Variables not starting with
     * {@code INVMUX_} are ignored, as is {@link #CONFIG_FILE_ENV}; any other {@code INVMUX_} variable must name a
     * key. {@code HOSTNAME}, when set, is the default identity.
     */
    public ConfigLoader environment(Map<String, String> environment) {
        this.environment = Map.copyOf(Objects.requireNonNull(environment, "environment"));
        return this;
    }

    /** Command-line overrides, {@code key.path=value}, applied in order. */
    public ConfigLoader overrides(List<String> overrides) {
        this.overrides = List.copyOf(Objects.requireNonNull(overrides, "overrides"));
        return this;
    }

    /**
     * The host name the default identity is made from; by default {@code HOSTNAME} from {@link #environment}, else
     * the kernel's host name. Characters an identity cannot hold become {@code -}, and it is cut to 63.
     */
    public ConfigLoader hostname(String hostname) {
        this.hostname = hostname;
        return this;
    }

    /**
     * Loads, merges and validates every source.
     *
     * @throws ConfigException listing every problem found
     */
    public SidecarConfig load() throws ConfigException {
        Problems problems = new Problems();
        TMap root = defaults(problems);
        boolean fileParsed = readFile(root, problems);
        applyEnvironment(root, problems);
        applyOverrides(root, problems);
        if (!fileParsed) {
            // without the file, checking the rest would report problems that are not there
            throw new ConfigException(problems.list);
        }
        SidecarConfig config = new ConfigBinder(problems).bind(root);
        if (problems.isEmpty()) {
            try {
                config.toCoreConfig();
            } catch (IllegalArgumentException e) {
                problems.add("configuration", KeyPath.ROOT.child("limits"), null, e.getMessage()
                        + " (rejected by the core)");
            }
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems.list);
        }
        return config;
    }

    /**
     * The environment variable that sets {@code key} ({@code peers[0].links[1].weight} or
     * {@code peers.0.links.1.weight}): {@code INVMUX_PEERS_0_LINKS_1_WEIGHT}.
     *
     * @throws IllegalArgumentException if {@code key} names no key
     */
    public static String environmentVariable(String key) {
        Problems problems = new Problems();
        KeyPath path = resolveKey(key, new Source(COMMAND_LINE, ConfigTree.RANK_CLI), problems);
        if (path == null) {
            throw new IllegalArgumentException(problems.list.get(0).toString());
        }
        return path.envName();
    }

    // ---------------------------------------------------------------- sources

    private TMap defaults(Problems problems) {
        Source source = new Source(DEFAULTS, ConfigTree.RANK_DEFAULTS);
        Node node = ConfigTree.parseYaml(ConfigTree.DEFAULTS_YAML, DEFAULTS, problems, null, null, "")
                .orElseThrow();
        TMap root = new TMap(source);
        root.entries().put("identity", new TScalar(sanitizeHostname(
                hostname != null ? hostname : detectHostname(environment)), source));
        ConfigTree.merge(root, ConfigTree.fromYaml(node, ConfigTree.SCHEMA, KeyPath.ROOT, source, problems));
        if (!problems.isEmpty()) {
            throw new IllegalStateException("embedded defaults are broken: " + problems.list);
        }
        return root;
    }

    /** Merges the file into {@code root}; false when it could not be read or parsed. */
    private boolean readFile(TMap root, Problems problems) {
        if (file == null && yamlText == null) {
            return true;
        }
        String label = file != null ? file.toString() : yamlName;
        String text = yamlText;
        if (file != null) {
            try {
                text = Files.readString(file, StandardCharsets.UTF_8);
            } catch (NoSuchFileException e) {
                problems.add(label, null, null, "cannot read the configuration file: no such file");
                return false;
            } catch (AccessDeniedException e) {
                problems.add(label, null, null, "cannot read the configuration file: permission denied");
                return false;
            } catch (CharacterCodingException e) {
                problems.add(label, null, null, "cannot read the configuration file: it is not UTF-8 text");
                return false;
            } catch (IOException e) {
                problems.add(label, null, null, "cannot read the configuration file: " + e);
                return false;
            }
        }
        Optional<Node> node = ConfigTree.parseYaml(text, label, problems, null, null, "");
        if (node == null) {
            return false;
        }
        if (node.isPresent()) {
            TNode tree = ConfigTree.fromYaml(node.get(), ConfigTree.SCHEMA, KeyPath.ROOT,
                    new Source(label, ConfigTree.RANK_FILE), problems);
            if (tree != null) {
                ConfigTree.merge(root, tree);
            }
        }
        return true;
    }

    private record Assignment(KeyPath path, String value, Source source) {
    }

    private static final Comparator<KeyPath> PATH_ORDER = (a, b) -> {
        List<Object> x = a.segments();
        List<Object> y = b.segments();
        for (int i = 0; i < Math.min(x.size(), y.size()); i++) {
            Object p = x.get(i);
            Object q = y.get(i);
            int c = p instanceof Integer pi && q instanceof Integer qi ? Integer.compare(pi, qi)
                    : p.toString().compareTo(q.toString());
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.size(), y.size());
    };

    private void applyEnvironment(TMap root, Problems problems) {
        List<Assignment> assignments = new ArrayList<>();
        for (Map.Entry<String, String> e : new TreeMap<>(environment).entrySet()) {
            String name = e.getKey();
            if (!name.startsWith(ENV_PREFIX) || IGNORED_ENV.contains(name)) {
                continue;
            }
            Source source = new Source("environment variable " + name, ConfigTree.RANK_ENV);
            List<Object> segments = matchEnv(ConfigTree.SCHEMA, name.substring(ENV_PREFIX.length()).split("_", -1),
                    0);
            if (segments == null || segments.isEmpty()) {
                problems.add(source.label(), null, null, unknownEnv(name));
                continue;
            }
            assignments.add(new Assignment(new KeyPath(List.copyOf(segments)), e.getValue(), source));
        }
        // parents before children, list entries in index order, so appending works whatever the map order
        assignments.sort(Comparator.comparing(Assignment::path, PATH_ORDER));
        for (Assignment a : assignments) {
            assign(root, a.path(), a.value(), a.source(), problems);
        }
    }

    /** Paths of the secret values, lower case: {@code api.token}, {@code security.presharedkey}. */
    private static final List<String> SECRET_PATHS = List.of("api.token", "security.presharedkey");

    /**
     * An override without '=' as shown in its problem: whole, unless it starts with a secret's key (a typo such as
     * {@code api.token:s3cret} must not print the secret); then only that key and the length of the rest.
     */
    static String shownOverride(String override) {
        String lower = override.toLowerCase(java.util.Locale.ROOT);
        for (String secret : SECRET_PATHS) {
            if (lower.startsWith(secret) && override.length() > secret.length()) {
                return override.substring(0, secret.length()) + "... (the rest hidden, "
                        + (override.length() - secret.length()) + " characters)";
            }
        }
        return ConfigTree.show(override);
    }

    private void applyOverrides(TMap root, Problems problems) {
        Source source = new Source(COMMAND_LINE, ConfigTree.RANK_CLI);
        for (String override : overrides) {
            int eq = override.indexOf('=');
            if (eq <= 0) {
                problems.list.add(new Problem(COMMAND_LINE, null, null, "override " + shownOverride(override)
                        + " must be key=value, e.g. api.address=127.0.0.1:7701"));
                continue;
            }
            KeyPath path = resolveKey(override.substring(0, eq).strip(), source, problems);
            if (path != null) {
                assign(root, path, override.substring(eq + 1), source, problems);
            }
        }
    }

    // ---------------------------------------------------------------- key paths of variables and overrides

    /** The key path of an environment variable name (after the prefix), or null. Backtracks over the schema. */
    private static List<Object> matchEnv(Shape shape, String[] tokens, int i) {
        if (i == tokens.length) {
            return new ArrayList<>();
        }
        if (shape instanceof ListShape list) {
            if (!tokens[i].matches("[0-9]{1,6}")) {
                return null;
            }
            List<Object> rest = matchEnv(list.element(), tokens, i + 1);
            if (rest != null) {
                rest.add(0, Integer.parseInt(tokens[i]));
            }
            return rest;
        }
        if (shape instanceof MapShape map) {
            for (Map.Entry<String, Shape> f : map.fields().entrySet()) {
                String[] words = ConfigTree.upperSnake(f.getKey()).split("_");
                if (startsWith(tokens, i, words)) {
                    List<Object> rest = matchEnv(f.getValue(), tokens, i + words.length);
                    if (rest != null) {
                        rest.add(0, f.getKey());
                        return rest;
                    }
                }
            }
        }
        return null;
    }

    private static boolean startsWith(String[] tokens, int i, String[] words) {
        if (tokens.length - i < words.length) {
            return false;
        }
        for (int k = 0; k < words.length; k++) {
            if (!tokens[i + k].equals(words[k])) {
                return false;
            }
        }
        return true;
    }

    /** Why {@code name} names no key: how far it matched and what may come next. */
    private static String unknownEnv(String name) {
        String[] tokens = name.substring(ENV_PREFIX.length()).split("_", -1);
        Shape shape = ConfigTree.SCHEMA;
        KeyPath path = KeyPath.ROOT;
        int i = 0;
        walk:
        while (i < tokens.length) {
            if (shape instanceof ListShape list && tokens[i].matches("[0-9]{1,6}")) {
                path = path.index(Integer.parseInt(tokens[i]));
                shape = list.element();
                i++;
                continue;
            }
            if (shape instanceof MapShape map) {
                String best = null;
                int bestLength = 0;
                for (String field : map.fields().keySet()) {
                    String[] words = ConfigTree.upperSnake(field).split("_");
                    if (words.length > bestLength && startsWith(tokens, i, words)) {
                        best = field;
                        bestLength = words.length;
                    }
                }
                if (best != null) {
                    path = path.child(best);
                    shape = map.fields().get(best);
                    i += bestLength;
                    continue walk;
                }
            }
            break;
        }
        String rule = "names no configuration key";
        if (shape instanceof Leaf) {
            return rule + "; " + path.envName() + " sets " + path + ", which has no sub-keys";
        }
        if (shape instanceof ListShape list) {
            return rule + "; " + path + " is a list: give an index, as in " + variable(path.index(0), list.element());
        }
        MapShape map = (MapShape) shape;
        List<String> known = new ArrayList<>();
        for (Map.Entry<String, Shape> f : map.fields().entrySet()) {
            known.add(variable(path.child(f.getKey()), f.getValue()));
        }
        StringBuilder sb = new StringBuilder(rule).append("; known variables")
                .append(path.isRoot() ? "" : " under " + path).append(": ").append(String.join(", ", known));
        String rest = String.join("_", List.of(tokens).subList(i, tokens.length));
        List<String> snake = map.fields().keySet().stream().map(ConfigTree::upperSnake).toList();
        String prefix = path.isRoot() ? ENV_PREFIX : path.envName() + "_";
        ConfigTree.suggest(rest, snake).ifPresent(s -> sb.append(" (did you mean ").append(prefix).append(s)
                .append("?)"));
        return sb.toString();
    }

    private static String variable(KeyPath path, Shape shape) {
        if (shape instanceof Leaf) {
            return path.envName();
        }
        if (shape instanceof ListShape list) {
            return path.envName() + "_<n>" + (list.element() instanceof Leaf ? "" : "_*");
        }
        return path.envName() + "_*";
    }

    /** The key path of a command-line key ({@code peers.0.name} or {@code peers[0].name}), or null. */
    private static KeyPath resolveKey(String key, Source source, Problems problems) {
        String[] segments = key.replaceAll("\\[([0-9]+)]", ".$1").split("\\.", -1);
        Shape shape = ConfigTree.SCHEMA;
        KeyPath path = KeyPath.ROOT;
        for (String segment : segments) {
            String rule = null;
            if (shape instanceof MapShape map) {
                if (map.fields().containsKey(segment)) {
                    path = path.child(segment);
                    shape = map.fields().get(segment);
                    continue;
                }
                rule = ConfigTree.unknownKey(segment, path, map.fields().keySet());
            } else if (shape instanceof ListShape list) {
                if (segment.matches("[0-9]{1,6}")) {
                    path = path.index(Integer.parseInt(segment));
                    shape = list.element();
                    continue;
                }
                rule = path + " is a list: give an index (0, 1, ...) after it, as in " + path.index(0);
            } else {
                rule = path + " is a single value and has no key " + ConfigTree.show(segment);
            }
            problems.list.add(new Problem(source.label(), key, null, rule));
            return null;
        }
        return path;
    }

    // ---------------------------------------------------------------- assignment

    /**
     * Sets the key at {@code path} from a variable or override, creating sections and list entries on the way. On
     * a problem nothing is changed, so a broken override leaves no half-made entry behind.
     */
    private static void assign(TMap root, KeyPath path, String value, Source source, Problems problems) {
        List<Object> segments = path.segments();
        // 1. every index must exist or be one past the end (entries made on the way start empty)
        Shape shape = ConfigTree.SCHEMA;
        TNode node = root;
        for (int i = 0; i < segments.size(); i++) {
            Object segment = segments.get(i);
            Shape childShape = childShape(shape, segment);
            TNode child = null;
            if (segment instanceof Integer index) {
                List<TNode> items = node instanceof TList list ? list.items() : List.of();
                if (index > items.size()) {
                    boolean last = i == segments.size() - 1;
                    problems.add(source, new KeyPath(segments.subList(0, i + 1)), shown(value, last ? childShape
                            : null), "index " + index + " is past the end of " + new KeyPath(segments.subList(0, i))
                            + ", which has " + items.size() + (items.size() == 1 ? " entry" : " entries")
                            + "; the next index is " + items.size());
                    return;
                }
                child = index < items.size() ? items.get(index) : null;
            } else if (node instanceof TMap map) {
                child = map.entries().get((String) segment);
            }
            node = child;
            shape = childShape;
        }
        // 2. the value must fit its key
        TNode v = valueNode(shape, value, path, source, problems);
        if (v == null) {
            return;
        }
        // 3. set it
        TNode parent = root;
        shape = ConfigTree.SCHEMA;
        for (int i = 0; i < segments.size(); i++) {
            Object segment = segments.get(i);
            Shape childShape = childShape(shape, segment);
            TNode existing = parent instanceof TMap map ? map.entries().get((String) segment)
                    : (Integer) segment < ((TList) parent).items().size()
                            ? ((TList) parent).items().get((Integer) segment) : null;
            TNode next;
            if (i == segments.size() - 1) {
                next = existing == null ? v : ConfigTree.merge(existing, v);
            } else {
                next = existing != null ? existing : ConfigTree.emptyContainer(childShape, source);
            }
            if (parent instanceof TMap map) {
                map.entries().put((String) segment, next);
            } else {
                List<TNode> items = ((TList) parent).items();
                int index = (Integer) segment;
                if (index == items.size()) {
                    items.add(next);
                } else {
                    items.set(index, next);
                }
            }
            parent = next;
            shape = childShape;
        }
    }

    private static Shape childShape(Shape shape, Object segment) {
        return shape instanceof MapShape map ? map.fields().get((String) segment) : ((ListShape) shape).element();
    }

    /** A single value as written (stripped); a section or list as YAML flow text. */
    private static TNode valueNode(Shape shape, String value, KeyPath path, Source source, Problems problems) {
        if (shape instanceof Leaf) {
            return new TScalar(value.strip(), source);
        }
        Optional<Node> node = ConfigTree.parseYaml(value, source.label(), problems, path, shown(value, shape),
                ConfigTree.describe(shape) + " in YAML flow form; ");
        if (node == null) {
            return null;
        }
        if (node.isEmpty()) {
            return ConfigTree.emptyContainer(shape, source);
        }
        if (node.get() instanceof ScalarNode scalar && !scalar.getTag().equals(Tag.NULL)) {
            problems.add(source, path, shown(value, shape), ConfigTree.describe(shape) + " in YAML flow form, e.g. "
                    + (shape instanceof ListShape ? "[a, b]" : "{key: value}") + "; or set its keys one by one");
            return null;
        }
        return ConfigTree.fromYaml(node.get(), shape, path, source, problems);
    }

    private static String shown(String value, Shape shape) {
        return shape != null && ConfigTree.holdsSecret(shape) ? "(hidden)" : ConfigTree.show(value);
    }

    // ---------------------------------------------------------------- host name

    static String detectHostname(Map<String, String> environment) {
        String name = environment.get("HOSTNAME");
        if (name == null || name.isBlank()) {
            try {
                name = Files.readString(Path.of("/proc/sys/kernel/hostname")).strip();
            } catch (IOException | RuntimeException e) {
                name = null;
            }
        }
        if (name == null || name.isBlank()) {
            name = environment.get("COMPUTERNAME");
        }
        if (name == null || name.isBlank()) {
            try {
                name = InetAddress.getLocalHost().getHostName();
            } catch (IOException | RuntimeException e) {
                name = null;
            }
        }
        return name;
    }

    /** A valid identity made from a host name: other characters become '-', cut to 63; "invmux" if none. */
    static String sanitizeHostname(String name) {
        if (name == null) {
            return "invmux";
        }
        String s = name.strip().replaceAll("[^A-Za-z0-9._-]", "-");
        if (s.length() > 63) {
            s = s.substring(0, 63);
        }
        return s.isEmpty() ? "invmux" : s;
    }
}
