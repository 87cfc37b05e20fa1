package io.invmux.server.inject;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ManifestInjectorTest {
    /** The workloads k8s/validate.sh also injects and checks with kubeconform. */
    static final Path WORKLOADS = Path.of("../k8s/inject/workloads.yaml");
    private static final String IMAGE = "registry.example.com/invmux:0.2.0";

    private final ManifestInjector injector = new ManifestInjector(new PodInjector(IMAGE, Map.of(), "0.2.0"));

    @Test
    void injectingTheOutputAgainChangesNothing() throws Exception {
        String once = injector.inject(new StringReader(Files.readString(WORKLOADS))).yaml();
        String twice = injector.inject(new StringReader(once)).yaml();
        assertThat(twice).isEqualTo(once);
    }

    @Test
    void theSidecarIsTheFirstInitContainerAndANativeSidecar() throws Exception {
        JsonNode ledger = byName(inject(Files.readString(WORKLOADS)), "ledger").path("spec").path("template");
        JsonNode init = ledger.path("spec").path("initContainers");
        assertThat(init).extracting(c -> c.path("name").asText()).containsExactly("invmux", "wait-for-schema");
        JsonNode sidecar = init.get(0);
        assertThat(sidecar.path("restartPolicy").asText()).isEqualTo("Always");
        assertThat(sidecar.path("image").asText()).isEqualTo(IMAGE);
        assertThat(sidecar.path("startupProbe").path("grpc").path("service").asText()).isEqualTo("liveness");
        assertThat(sidecar.path("readinessProbe").path("grpc").path("port").asInt()).isEqualTo(7703);
        assertThat(sidecar.path("securityContext").path("runAsUser").asInt()).isEqualTo(65532);
        assertThat(sidecar.path("securityContext").path("readOnlyRootFilesystem").asBoolean()).isTrue();
        // the ConfigMap annotation: mounted where --config points, the join key from the named Secret
        assertThat(sidecar.path("args").toString()).isEqualTo("[\"--config\",\"/etc/invmux/invmux.yaml\"]");
        assertThat(ledger.path("spec").path("volumes").toString())
                .contains("{\"name\":\"invmux-config\",\"configMap\":{\"name\":\"ledger-invmux\"}}")
                .contains("\"secretName\":\"ledger-join-key\"");
        assertThat(sidecar.path("resources").path("limits").path("memory").asText()).isEqualTo("1Gi");
        assertThat(ledger.path("spec").path("enableServiceLinks").asBoolean(true)).isFalse();
        assertThat(ledger.path("metadata").path("annotations").path(Annotations.INJECTED).asText()).isEqualTo("0.2.0");
    }

    @Test
    void peersAndForwardsFromAnnotationsBecomeTheSidecarsEnvironment() throws Exception {
        JsonNode orders = byName(inject(Files.readString(WORKLOADS)), "orders").path("spec").path("template")
                .path("spec");
        JsonNode env = orders.path("initContainers").get(0).path("env");
        assertThat(envValue(env, "INVMUX_PEERS_0_NAME")).isEqualTo("backend");
        assertThat(envValue(env, "INVMUX_PEERS_0_LINKS_0_ADDRESS")).isEqualTo("tcp://db-peer.db.svc.cluster.local:7700");
        assertThat(envValue(env, "INVMUX_FORWARDS_0_LISTEN")).isEqualTo("127.0.0.1:5432");
        assertThat(envValue(env, "INVMUX_SERVICES_0_TARGET")).isEqualTo("127.0.0.1:8080");
        assertThat(envValue(orders.path("containers").get(0).path("env"), "INVMUX_GRPC_ENDPOINT"))
                .isEqualTo("127.0.0.1:7701");
        assertThat(orders.path("initContainers").get(0).path("ports").toString()).contains("\"containerPort\":7700");
    }

    @Test
    void aJobsPodKeepsItsRestartPolicyAndGetsANativeSidecar() throws Exception {
        JsonNode job = byName(inject(Files.readString(WORKLOADS)), "migrate").path("spec").path("template").path("spec");
        assertThat(job.path("restartPolicy").asText()).isEqualTo("Never");
        assertThat(job.path("containers")).hasSize(1);
        assertThat(job.path("initContainers").get(0).path("restartPolicy").asText()).isEqualTo("Always");
        assertThat(envValue(job.path("initContainers").get(0).path("env"), "INVMUX_LISTENERS")).isEmpty();
        // health and admin (/metrics for Prometheus) only: it only dials
        assertThat(job.path("initContainers").get(0).path("ports")).extracting(p -> p.path("name").asText())
                .containsExactly("invmux-admin", "invmux-health");
    }

    @Test
    void theAdminPortGoesOnThePodIpForPrometheusAndThePodGetsTheLabelItsPodMonitorSelects() throws Exception {
        JsonNode pod = byName(inject(Files.readString(WORKLOADS)), "migrate").path("spec").path("template");
        JsonNode sidecar = pod.path("spec").path("initContainers").get(0);
        assertThat(envValue(sidecar.path("env"), "INVMUX_ADMIN_ADDRESS")).isEqualTo("0.0.0.0:7702");
        assertThat(envValue(sidecar.path("env"), "INVMUX_API_ADDRESS")).as("the API stays local")
                .isEqualTo("127.0.0.1:7701");
        assertThat(pod.path("metadata").path("labels").path("invmux.io/sidecar").asText()).isEqualTo("injected");
    }

    @Test
    void aPodThatOptsOutAndOtherObjectsPassThroughUnchanged() throws Exception {
        List<JsonNode> in = parse(Files.readString(WORKLOADS));
        List<JsonNode> out = inject(Files.readString(WORKLOADS));
        assertThat(byName(out, "static-site")).isEqualTo(byName(in, "static-site"));
        assertThat(byName(out, "orders-peer")).isEqualTo(byName(in, "orders-peer"));
    }

    @Test
    void aContainerAlreadyNamedInvmuxIsRefusedAndNothingIsWritten() {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata: {name: p}
                spec:
                  containers:
                    - {name: invmux, image: someone/else}
                    - name: web
                      image: nginx
                      ports: [{containerPort: 7701}]
                """;
        assertThatThrownBy(() -> injector.inject(new StringReader(pod)))
                .isInstanceOfSatisfying(InjectionException.class, e -> {
                    assertThat(e.kind()).isEqualTo(InjectionException.Kind.CONFLICT);
                    assertThat(e.problems()).containsExactly(
                            "Pod/p: spec.containers: a container is already named 'invmux', the name of the InvMux "
                                    + "sidecar (a hand-written sidecar? remove it, or rename that container)",
                            "Pod/p: spec.containers[web].ports: containerPort 7701 is one the InvMux sidecar binds "
                                    + "in the pod ([7700, 7701, 7702, 7703]); move it");
                });
    }

    @Test
    void everyBadAnnotationIsReportedWithItsValueAndRule() {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: p
                  annotations:
                    invmux.io/peers: "backend=tcp//db:7700"
                    invmux.io/forwards: "127.0.0.1:5432=postgres"
                    invmux.io/config: Not_A_Name
                    invmux.io/peer: typo
                spec:
                  containers: [{name: web, image: nginx}]
                """;
        assertThatThrownBy(() -> injector.inject(new StringReader(pod)))
                .isInstanceOfSatisfying(InjectionException.class, e -> assertThat(e.problems()).satisfiesExactly(
                        p -> assertThat(p).startsWith("Pod/p: annotation invmux.io/peer: unknown (known: "),
                        p -> assertThat(p).startsWith("Pod/p: annotation invmux.io/config = \"Not_A_Name\": must be "
                                + "a Kubernetes object name"),
                        p -> assertThat(p).startsWith("Pod/p: annotation invmux.io/peers = \"backend=tcp//db:7700\": "
                                + "cannot be combined with invmux.io/config"),
                        p -> assertThat(p).startsWith("Pod/p: annotation invmux.io/forwards = "
                                + "\"127.0.0.1:5432=postgres\": cannot be combined"),
                        p -> assertThat(p).isEqualTo("Pod/p: annotation invmux.io/forwards = "
                                + "\"127.0.0.1:5432=postgres\": entry '127.0.0.1:5432=postgres' must be "
                                + "listen=peer/service (e.g. 127.0.0.1:5432=backend/postgres); entries are "
                                + "separated by ';'")));
    }

    @Test
    void aValueTheSidecarsLoaderRefusesIsReportedUnderItsAnnotation() {
        String pod = """
                apiVersion: v1
                kind: Pod
                metadata:
                  name: p
                  annotations:
                    invmux.io/peers: "backend=tcp//db:7700"
                    invmux.io/forwards: "127.0.0.1:5432=other/postgres"
                spec:
                  containers: [{name: web, image: nginx}]
                """;
        assertThatThrownBy(() -> injector.inject(new StringReader(pod)))
                .isInstanceOfSatisfying(InjectionException.class, e -> assertThat(e.problems()).satisfiesExactly(
                        p -> assertThat(p).startsWith("Pod/p: annotation invmux.io/peers: peers[0].links[0].address "
                                + "= tcp//db:7700: must be a link URI"),
                        p -> assertThat(p).isEqualTo("Pod/p: annotation invmux.io/forwards: forwards[0].peer = "
                                + "other: names no peer; known peers: backend")));
    }

    private List<JsonNode> inject(String yaml) throws Exception {
        return parse(injector.inject(new StringReader(yaml)).yaml());
    }

    static List<JsonNode> parse(String yaml) throws IOException {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = new YAMLMapper().readerFor(JsonNode.class).readValues(yaml)) {
            it.forEachRemaining(docs::add);
        }
        return docs;
    }

    static JsonNode byName(List<JsonNode> docs, String name) {
        return docs.stream().filter(d -> name.equals(d.path("metadata").path("name").asText())).findFirst()
                .orElseThrow(() -> new AssertionError("no object named " + name));
    }

    static String envValue(JsonNode env, String name) {
        for (JsonNode e : env) {
            if (name.equals(e.path("name").asText())) {
                return e.path("value").asText();
            }
        }
        throw new AssertionError("no variable " + name + " in " + env);
    }
}
