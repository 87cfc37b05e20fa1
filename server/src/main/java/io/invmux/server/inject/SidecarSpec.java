package io.invmux.server.inject;

import io.invmux.server.config.ConfigException;
import io.invmux.server.config.ConfigLoader;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What one pod's sidecar is: the settings resolved from the injector's defaults and the pod's annotations, checked
 * by the sidecar's own config loader. The generated config travels as {@code INVMUX_} environment variables (the
 * loader's environment source), so a pod needs no ConfigMap of its own; with {@link Annotations#CONFIG} the named
 * ConfigMap is the file and the variables set only the addresses the probes and the app rely on.
 *
 * @param image          the sidecar image
 * @param configMap      the ConfigMap holding {@code invmux.yaml}, if any
 * @param joinKeySecret  the Secret holding the join key under {@code psk}
 * @param env            the sidecar's environment, in order
 * @param listenerPorts  TCP ports peer links are accepted on (declared as container ports); empty when unknown
 *                       (the ConfigMap decides) or when the sidecar only dials
 * @param cpu            CPU request
 * @param cpuLimit       CPU limit
 * @param memory         memory request and limit
 */
public record SidecarSpec(String image, Optional<String> configMap, String joinKeySecret, Map<String, String> env,
        List<Integer> listenerPorts, String cpu, String cpuLimit, String memory) {
    public static final String API_ADDRESS = "127.0.0.1:7701";
    public static final int API_PORT = 7701;
    public static final int ADMIN_PORT = 7702;
    public static final int HEALTH_PORT = 7703;
    public static final String CONFIG_DIR = "/etc/invmux";
    public static final String CONFIG_FILE = CONFIG_DIR + "/invmux.yaml";
    public static final String JOIN_KEY_DIR = "/var/run/secrets/invmux";
    public static final String DEFAULT_JOIN_KEY_SECRET = "invmux-join-key";
    static final String DEFAULT_CPU = "250m";
    static final String DEFAULT_CPU_LIMIT = "2";
    static final String DEFAULT_MEMORY = "768Mi";

    private static final Pattern DNS_SUBDOMAIN = Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    private static final Pattern QUANTITY = Pattern.compile("[0-9]+(\\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?");
    /** Config sections an annotation sets, by the first segment of the loader's key path. */
    private static final Map<String, String> SECTION_ANNOTATION = Map.of("peers", Annotations.PEERS, "forwards",
            Annotations.FORWARDS, "services", Annotations.SERVICES, "listeners", Annotations.LISTENERS, "logging",
            Annotations.LOG_LEVEL);

    public SidecarSpec {
        env = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(env));
        listenerPorts = List.copyOf(listenerPorts);
    }

    /**
     * The sidecar for a pod with these annotations; {@code defaults} are annotation values that apply when the pod
     * has none (the command's flags).
     *
     * @throws InjectionException listing every bad annotation (name, value, rule)
     */
    public static SidecarSpec resolve(String image, Map<String, String> defaults, Map<String, String> annotations)
            throws InjectionException {
        Map<String, String> a = new LinkedHashMap<>(defaults);
        a.putAll(annotations);
        List<String> problems = new ArrayList<>();
        for (String k : annotations.keySet()) {
            if (k.startsWith(Annotations.PREFIX) && !Annotations.KNOWN.contains(k)) {
                problems.add("annotation " + k + ": unknown (known: " + String.join(", ", Annotations.KNOWN) + ")");
            }
        }
        String inject = a.get(Annotations.INJECT);
        if (inject != null && !inject.equals("true") && !inject.equals("false")) {
            problems.add(bad(Annotations.INJECT, inject, "must be \"true\" or \"false\""));
        }
        Optional<String> configMap = Optional.ofNullable(a.get(Annotations.CONFIG)).map(String::trim);
        configMap.ifPresent(c -> checkName(Annotations.CONFIG, c, problems));
        if (configMap.isPresent()) {
            for (String k : List.of(Annotations.PEERS, Annotations.FORWARDS, Annotations.SERVICES,
                    Annotations.LISTENERS)) {
                if (a.containsKey(k)) {
                    problems.add(bad(k, a.get(k), "cannot be combined with " + Annotations.CONFIG + " "
                            + configMap.get() + ": put it in that ConfigMap's invmux.yaml, or drop "
                            + Annotations.CONFIG));
                }
            }
        }
        String secret = a.getOrDefault(Annotations.JOIN_KEY_SECRET, DEFAULT_JOIN_KEY_SECRET).trim();
        checkName(Annotations.JOIN_KEY_SECRET, secret, problems);
        String cpu = quantity(a, Annotations.CPU, DEFAULT_CPU, problems);
        String cpuLimit = quantity(a, Annotations.CPU_LIMIT, DEFAULT_CPU_LIMIT, problems);
        String memory = quantity(a, Annotations.MEMORY, DEFAULT_MEMORY, problems);

        Map<String, String> env = new LinkedHashMap<>();
        // Set even over a ConfigMap (the environment wins over the file): the probes, the container ports and the
        // app's INVMUX_GRPC_ENDPOINT are written against these.
        env.put("INVMUX_API_ADDRESS", API_ADDRESS);
        // On the pod IP for Prometheus: the admin port serves only /metrics, /ready and /live (docs/SECURITY.md).
        env.put("INVMUX_ADMIN_ADDRESS", "0.0.0.0:" + ADMIN_PORT);
        env.put("INVMUX_HEALTH_ADDRESS", "0.0.0.0:" + HEALTH_PORT);
        List<Integer> ports = new ArrayList<>();
        String listeners = a.get(Annotations.LISTENERS);
        if (listeners == null && configMap.isEmpty()) {
            ports.add(7700); // the loader's default listener, tcp://0.0.0.0:7700
        } else if (listeners != null && listeners.trim().equals("none")) {
            env.put("INVMUX_LISTENERS", "");
        } else if (listeners != null) {
            List<String> uris = split(listeners, ",");
            if (uris.isEmpty()) {
                problems.add(bad(Annotations.LISTENERS, listeners, "must list link URIs (tcp://0.0.0.0:7700), "
                        + "or be none"));
            }
            for (int i = 0; i < uris.size(); i++) {
                env.put("INVMUX_LISTENERS_" + i, uris.get(i));
                tcpPort(uris.get(i)).ifPresent(ports::add);
            }
        }
        int beforeEntries = problems.size();
        peers(a.get(Annotations.PEERS), env, problems);
        forwards(a.get(Annotations.FORWARDS), env, problems);
        services(a.get(Annotations.SERVICES), env, problems);
        if (a.containsKey(Annotations.LOG_LEVEL)) {
            env.put("INVMUX_LOGGING_LEVEL", a.get(Annotations.LOG_LEVEL).trim());
        }
        if (problems.size() == beforeEntries) {
            // (with an entry left out, the loader would report forwards to its peer as a second, false problem)
            check(env, configMap.isPresent(), problems);
        }
        if (!problems.isEmpty()) {
            throw new InjectionException(InjectionException.Kind.INVALID, problems);
        }
        env.put("INVMUX_SECURITY_PRE_SHARED_KEY_FILE", JOIN_KEY_DIR + "/psk");
        return new SidecarSpec(image, configMap, secret, env, ports, cpu, cpuLimit, memory);
    }

    /** The ports the sidecar binds in the pod's network namespace (no other container may use them). */
    public List<Integer> boundPorts() {
        List<Integer> p = new ArrayList<>(listenerPorts);
        p.addAll(List.of(API_PORT, ADMIN_PORT, HEALTH_PORT));
        return p;
    }

    private static void peers(String value, Map<String, String> env, List<String> problems) {
        if (value == null) {
            return;
        }
        List<String> entries = split(value, ";");
        for (int i = 0; i < entries.size(); i++) {
            String[] kv = entries.get(i).split("=", 2);
            List<String> links = kv.length == 2 ? split(kv[1], ",") : List.of();
            if (kv.length != 2 || kv[0].isBlank() || links.isEmpty()) {
                problems.add(bad(Annotations.PEERS, value, "entry '" + entries.get(i) + "' must be name=uri[,uri...] "
                        + "(e.g. backend=tcp://backend-peer.db.svc:7700); entries are separated by ';'"));
                continue;
            }
            env.put("INVMUX_PEERS_" + i + "_NAME", kv[0].trim());
            for (int j = 0; j < links.size(); j++) {
                env.put("INVMUX_PEERS_" + i + "_LINKS_" + j + "_ADDRESS", links.get(j));
            }
        }
    }

    private static void forwards(String value, Map<String, String> env, List<String> problems) {
        if (value == null) {
            return;
        }
        List<String> entries = split(value, ";");
        for (int i = 0; i < entries.size(); i++) {
            String[] kv = entries.get(i).split("=", 2);
            String[] ps = kv.length == 2 ? kv[1].trim().split("/", 2) : new String[0];
            if (kv.length != 2 || kv[0].isBlank() || ps.length != 2 || ps[0].isBlank() || ps[1].isBlank()) {
                problems.add(bad(Annotations.FORWARDS, value, "entry '" + entries.get(i) + "' must be "
                        + "listen=peer/service (e.g. 127.0.0.1:5432=backend/postgres); entries are separated by ';'"));
                continue;
            }
            env.put("INVMUX_FORWARDS_" + i + "_LISTEN", kv[0].trim());
            env.put("INVMUX_FORWARDS_" + i + "_PEER", ps[0].trim());
            env.put("INVMUX_FORWARDS_" + i + "_SERVICE", ps[1].trim());
        }
    }

    private static void services(String value, Map<String, String> env, List<String> problems) {
        if (value == null) {
            return;
        }
        List<String> entries = split(value, ";");
        for (int i = 0; i < entries.size(); i++) {
            String[] kv = entries.get(i).split("=", 2);
            if (kv.length != 2 || kv[0].isBlank() || kv[1].isBlank()) {
                problems.add(bad(Annotations.SERVICES, value, "entry '" + entries.get(i) + "' must be "
                        + "name=host:port (e.g. demo-http=127.0.0.1:8080); entries are separated by ';'"));
                continue;
            }
            env.put("INVMUX_SERVICES_" + i + "_NAME", kv[0].trim());
            env.put("INVMUX_SERVICES_" + i + "_TARGET", kv[1].trim());
        }
    }

    /**
     * The generated environment through the sidecar's own loader, so the pod is refused now rather than crash-looping
     * later. With a ConfigMap the file is not at hand here; the variables alone are still checked.
     */
    private static void check(Map<String, String> env, boolean withConfigMap, List<String> problems) {
        try {
            new ConfigLoader().environment(env).hostname("injected-pod").load();
        } catch (ConfigException e) {
            for (ConfigException.Problem p : e.problems()) {
                String section = p.key() == null ? "" : p.key().split("[.\\[]", 2)[0];
                String annotation = SECTION_ANNOTATION.get(section);
                problems.add((annotation == null ? "sidecar config" : "annotation " + annotation) + ": "
                        + (p.key() == null ? "" : p.key() + (p.value() == null ? "" : " = " + p.value()) + ": ")
                        + p.rule() + (withConfigMap ? " (checked without the ConfigMap)" : ""));
            }
        }
    }

    private static Optional<Integer> tcpPort(String uri) {
        try {
            URI u = new URI(uri);
            return "tcp".equals(u.getScheme()) && u.getPort() > 0 ? Optional.of(u.getPort()) : Optional.empty();
        } catch (URISyntaxException e) {
            return Optional.empty(); // the loader reports it
        }
    }

    private static String quantity(Map<String, String> a, String key, String dflt, List<String> problems) {
        String v = a.getOrDefault(key, dflt).trim();
        if (!QUANTITY.matcher(v).matches()) {
            problems.add(bad(key, v, "must be a Kubernetes quantity such as 250m, 2, 768Mi or 1Gi"));
        }
        return v;
    }

    private static void checkName(String key, String v, List<String> problems) {
        if (!DNS_SUBDOMAIN.matcher(v).matches()) {
            problems.add(bad(key, v, "must be a Kubernetes object name (lower case a-z, 0-9, '-' and '.', at most "
                    + "253, starting and ending with a letter or digit)"));
        }
    }

    private static List<String> split(String v, String sep) {
        List<String> out = new ArrayList<>();
        for (String s : v.split(Pattern.quote(sep), -1)) {
            if (!s.isBlank()) {
                out.add(s.trim());
            }
        }
        return out;
    }

    private static String bad(String key, String value, String rule) {
        return "annotation " + key + " = \"" + value + "\": " + rule;
    }
}
