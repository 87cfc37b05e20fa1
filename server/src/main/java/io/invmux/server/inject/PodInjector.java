package io.invmux.server.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Adds the InvMux native sidecar to one pod (a Pod, or a workload's pod template): the one injection core behind
 * {@code invmux inject} and {@code invmux webhook}.
 *
 * <p>The sidecar is the first init container, with {@code restartPolicy: Always}: the kubelet starts it before the
 * other init containers and the app, holds them until its startup probe passes, and stops it after the app, so a
 * Job's pod (restartPolicy Never or OnFailure, left as it is) still completes when its main container exits.
 * Probes, security context, resources and {@code /tmp} are those of {@code k8s/base}. Injecting an injected pod
 * replaces what the last injection added, so injecting twice changes nothing. A pod that already has a container or
 * volume by one of the sidecar's names, or a container port the sidecar binds, is refused (nothing changed).
 */
public final class PodInjector {
    public static final String CONTAINER = "invmux";
    static final String CONFIG_VOLUME = "invmux-config";
    static final String JOIN_KEY_VOLUME = "invmux-join-key";
    static final String TMP_VOLUME = "invmux-tmp";
    static final Set<String> VOLUMES = Set.of(CONFIG_VOLUME, JOIN_KEY_VOLUME, TMP_VOLUME);
    static final String LAUNCHER = "/opt/invmux/bin/invmux";
    static final int SIDECAR_UID = 65532;
    /** The variable the client SDKs and the CLI find the sidecar's API by. */
    public static final String ENDPOINT_ENV = "INVMUX_GRPC_ENDPOINT";

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final String image;
    private final Map<String, String> defaults;
    private final String version;

    /**
     * @param image    the sidecar image
     * @param defaults annotation values for pods that do not set them (the command's flags)
     * @param version  written into {@link Annotations#INJECTED}
     */
    public PodInjector(String image, Map<String, String> defaults, String version) {
        this.image = image;
        this.defaults = Map.copyOf(defaults);
        this.version = version;
    }

    /** True when the pod asks not to be injected ({@code invmux.io/inject: "false"}). */
    public static boolean optedOut(JsonNode podMetadata) {
        return "false".equals(podMetadata.path("annotations").path(Annotations.INJECT).asText(null));
    }

    /**
     * True when the pod asks the webhook for a sidecar ({@code invmux.io/inject: "true"}), or sets that annotation to
     * anything but {@code "false"}: a misspelt value ({@code "yes"}) is then refused by {@link #inject} naming it,
     * rather than the pod quietly starting without its sidecar.
     */
    public static boolean requested(JsonNode podMetadata) {
        JsonNode v = podMetadata.path("annotations").path(Annotations.INJECT);
        return v.isTextual() && !"false".equals(v.asText());
    }

    /**
     * Injects the sidecar into {@code metadata} and {@code spec} of a pod, in place. Either both are changed
     * completely, or (on an exception) neither at all.
     *
     * @throws InjectionException a bad annotation or a conflicting name or port
     */
    public void inject(ObjectNode metadata, ObjectNode spec) throws InjectionException {
        Map<String, String> annotations = new LinkedHashMap<>();
        metadata.path("annotations").fields().forEachRemaining(e -> annotations.put(e.getKey(), e.getValue().asText()));
        SidecarSpec sidecar = SidecarSpec.resolve(image, defaults, annotations);
        ObjectNode s = spec.deepCopy();
        if (annotations.containsKey(Annotations.INJECTED)) {
            removeInjected(s);
        }
        checkConflicts(s, sidecar);

        ArrayNode init = F.arrayNode().add(container(sidecar));
        s.path("initContainers").forEach(init::add);
        s.set("initContainers", init);
        for (JsonNode c : s.path("containers")) {
            addEndpointEnv((ObjectNode) c);
        }
        ArrayNode volumes = s.withArray("volumes");
        sidecar.configMap().ifPresent(cm -> volumes.add(F.objectNode().put("name", CONFIG_VOLUME)
                .set("configMap", F.objectNode().put("name", cm))));
        // 0444: the files of a Secret volume belong to root; without a pod fsGroup only a world-readable mode lets
        // uid 65532 read them. Only the sidecar mounts this volume, so no other container sees the key.
        volumes.add(F.objectNode().put("name", JOIN_KEY_VOLUME).set("secret", F.objectNode()
                .put("secretName", sidecar.joinKeySecret()).put("defaultMode", 0444)));
        volumes.add(F.objectNode().put("name", TMP_VOLUME).set("emptyDir", F.objectNode().put("sizeLimit", "64Mi")));
        // Service links put <SERVICE>_SERVICE_HOST-style variables into every container; a Service whose name
        // starts with "invmux" would put INVMUX_ variables into the sidecar's, which its loader refuses.
        s.put("enableServiceLinks", false);

        spec.removeAll();
        spec.setAll(s);
        metadata.withObject("/annotations").put(Annotations.INJECTED, version);
        // What k8s/monitoring's PodMonitor invmux-injected selects (a PodMonitor cannot select by annotation).
        metadata.withObject("/labels").put(Annotations.SIDECAR_LABEL, "injected");
    }

    /** The sidecar container: k8s/base's, with its config from {@code sidecar}. */
    static ObjectNode container(SidecarSpec sidecar) {
        ObjectNode c = F.objectNode();
        c.put("name", CONTAINER);
        c.put("image", sidecar.image());
        c.put("imagePullPolicy", "IfNotPresent");
        c.put("restartPolicy", "Always"); // what makes it a native sidecar
        c.set("command", F.arrayNode().add(LAUNCHER).add("sidecar"));
        if (sidecar.configMap().isPresent()) {
            c.set("args", F.arrayNode().add("--config").add(SidecarSpec.CONFIG_FILE));
        }
        ArrayNode env = c.putArray("env");
        sidecar.env().forEach((k, v) -> env.add(F.objectNode().put("name", k).put("value", v)));
        ArrayNode ports = c.putArray("ports");
        List<Integer> listeners = sidecar.listenerPorts();
        for (int i = 0; i < listeners.size(); i++) {
            ports.add(port(i == 0 ? "invmux-peer" : "invmux-peer-" + i, listeners.get(i)));
        }
        ports.add(port("invmux-admin", SidecarSpec.ADMIN_PORT)); // /metrics, /ready, /live: read-only
        ports.add(port("invmux-health", SidecarSpec.HEALTH_PORT));
        // liveness for the startup probe: a peer that is down must neither hold the app back nor get the sidecar
        // killed; "accepting" (not "readiness", which waits for peers) for readiness, or two workloads that dial
        // each other through Services would wait for each other forever (see k8s/README.md).
        c.set("startupProbe", probe("liveness", 1, 2, 60));
        c.set("readinessProbe", probe("accepting", 5, 2, 2));
        c.set("livenessProbe", probe("liveness", 10, 3, 3));
        ObjectNode resources = c.putObject("resources");
        resources.putObject("requests").put("cpu", sidecar.cpu()).put("memory", sidecar.memory());
        resources.putObject("limits").put("cpu", sidecar.cpuLimit()).put("memory", sidecar.memory());
        ObjectNode sc = c.putObject("securityContext");
        sc.put("runAsNonRoot", true).put("runAsUser", SIDECAR_UID).put("runAsGroup", SIDECAR_UID)
                .put("allowPrivilegeEscalation", false).put("readOnlyRootFilesystem", true);
        sc.putObject("capabilities").putArray("drop").add("ALL");
        sc.putObject("seccompProfile").put("type", "RuntimeDefault");
        ArrayNode mounts = c.putArray("volumeMounts");
        if (sidecar.configMap().isPresent()) {
            mounts.add(F.objectNode().put("name", CONFIG_VOLUME).put("mountPath", SidecarSpec.CONFIG_DIR)
                    .put("readOnly", true));
        }
        mounts.add(F.objectNode().put("name", JOIN_KEY_VOLUME).put("mountPath", SidecarSpec.JOIN_KEY_DIR)
                .put("readOnly", true));
        // JVM hsperfdata and Netty's extracted epoll library: the sidecar's own /tmp, never shared with the app's
        mounts.add(F.objectNode().put("name", TMP_VOLUME).put("mountPath", "/tmp"));
        return c;
    }

    private static ObjectNode port(String name, int port) {
        return F.objectNode().put("name", name).put("containerPort", port).put("protocol", "TCP");
    }

    private static ObjectNode probe(String service, int period, int timeout, int failures) {
        ObjectNode p = F.objectNode();
        p.putObject("grpc").put("port", SidecarSpec.HEALTH_PORT).put("service", service);
        return p.put("periodSeconds", period).put("timeoutSeconds", timeout).put("failureThreshold", failures);
    }

    private static void addEndpointEnv(ObjectNode container) {
        for (JsonNode e : container.path("env")) {
            if (ENDPOINT_ENV.equals(e.path("name").asText())) {
                return; // the app's own value stands
            }
        }
        container.withArray("env").add(F.objectNode().put("name", ENDPOINT_ENV).put("value", SidecarSpec.API_ADDRESS));
    }

    /** Takes out what an earlier injection added (the app's endpoint variable stays: it is the same again). */
    private static void removeInjected(ObjectNode spec) {
        removeNamed(spec, "initContainers", Set.of(CONTAINER));
        removeNamed(spec, "volumes", VOLUMES);
    }

    private static void removeNamed(ObjectNode spec, String field, Set<String> names) {
        if (!(spec.get(field) instanceof ArrayNode list)) {
            return;
        }
        ArrayNode kept = F.arrayNode();
        list.forEach(n -> {
            if (!names.contains(n.path("name").asText())) {
                kept.add(n);
            }
        });
        spec.set(field, kept);
    }

    private static void checkConflicts(ObjectNode spec, SidecarSpec sidecar) throws InjectionException {
        List<String> problems = new ArrayList<>();
        if (spec.path("hostNetwork").asBoolean(false)) {
            problems.add("spec.hostNetwork: true: the sidecar binds " + sidecar.boundPorts() + " in the pod's network "
                    + "namespace, which would be the node's; inject only pods with their own network");
        }
        for (String field : List.of("initContainers", "containers", "ephemeralContainers")) {
            for (JsonNode c : spec.path(field)) {
                String name = c.path("name").asText();
                if (CONTAINER.equals(name)) {
                    problems.add("spec." + field + ": a container is already named '" + CONTAINER + "', the name of "
                            + "the InvMux sidecar (a hand-written sidecar? remove it, or rename that container)");
                    continue; // its ports are the sidecar's own: saying so again would be noise
                }
                for (JsonNode p : c.path("ports")) {
                    int port = p.path("containerPort").asInt();
                    if (sidecar.boundPorts().contains(port)) {
                        problems.add("spec." + field + "[" + name + "].ports: containerPort " + port + " is one the "
                                + "InvMux sidecar binds in the pod (" + sidecar.boundPorts() + "); move it");
                    }
                }
            }
        }
        for (JsonNode v : spec.path("volumes")) {
            if (VOLUMES.contains(v.path("name").asText())) {
                problems.add("spec.volumes: a volume is already named '" + v.path("name").asText() + "', a name the "
                        + "InvMux sidecar's volumes use (" + String.join(", ", VOLUMES.stream().sorted().toList())
                        + "); rename it");
            }
        }
        if (!problems.isEmpty()) {
            throw new InjectionException(InjectionException.Kind.CONFLICT, problems);
        }
    }
}
