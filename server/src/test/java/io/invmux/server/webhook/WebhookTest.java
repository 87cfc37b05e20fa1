package io.invmux.server.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.invmux.server.inject.PodInjector;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The webhook over real HTTPS (its own server on an ephemeral port, a test certificate), fed AdmissionReview v1
 * requests shaped like the API server's (src/test/resources/admission/: pods of a Deployment, a StatefulSet with an
 * init container, a Job, one with a container already named invmux); the JSON patch it answers is applied here.
 */
class WebhookTest {
    private static final String IMAGE = "registry.example.com/invmux:0.2.0";
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path tmp;
    private static WebhookServer server;
    private static HttpClient client;

    @BeforeAll
    static void start() throws Exception {
        TestCertificates certs = TestCertificates.write(tmp, "invmux-webhook.invmux-system.svc");
        server = WebhookServer.start(new InetSocketAddress("127.0.0.1", 0), certs.certFile, certs.keyFile,
                new AdmissionHandler(new PodInjector(IMAGE, Map.of(), "0.2.0")));
        client = HttpClient.newBuilder().sslContext(certs.clientContext()).connectTimeout(Duration.ofSeconds(10))
                .build();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"deployment-pod.json", "statefulset-pod.json", "job-pod.json"})
    void anAnnotatedPodIsAllowedWithAPatchThatAddsTheNativeSidecar(String fixture) throws Exception {
        JsonNode review = fixture(fixture);
        JsonNode response = post(review).path("response");
        assertThat(response.path("uid").asText()).isEqualTo(review.path("request").path("uid").asText());
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.path("patchType").asText()).isEqualTo("JSONPatch");
        JsonNode pod = patched(review, response);
        JsonNode spec = pod.path("spec");
        JsonNode sidecar = spec.path("initContainers").get(0);
        assertThat(sidecar.path("name").asText()).isEqualTo("invmux");
        assertThat(sidecar.path("restartPolicy").asText()).isEqualTo("Always");
        assertThat(sidecar.path("startupProbe").path("grpc").path("port").asInt()).isEqualTo(7703);
        assertThat(pod.path("metadata").path("annotations").path("invmux.io/injected").asText()).isEqualTo("0.2.0");
        // what the pod had stays: its containers, volumes (the service account token's too), owner
        JsonNode original = review.path("request").path("object");
        assertThat(names(spec.path("containers"))).isEqualTo(names(original.path("spec").path("containers")));
        assertThat(names(spec.path("volumes"))).containsAll(names(original.path("spec").path("volumes")));
        assertThat(pod.path("metadata").path("ownerReferences"))
                .isEqualTo(original.path("metadata").path("ownerReferences"));
    }

    @Test
    void aStatefulSetsPodKeepsItsInitContainerAfterTheSidecar() throws Exception {
        JsonNode review = fixture("statefulset-pod.json");
        JsonNode pod = patched(review, post(review).path("response"));
        assertThat(names(pod.path("spec").path("initContainers"))).containsExactly("invmux", "wait-for-schema");
        assertThat(pod.path("spec").path("initContainers").get(0).path("args").toString())
                .isEqualTo("[\"--config\",\"/etc/invmux/invmux.yaml\"]");
        assertThat(pod.path("spec").path("volumes").toString()).contains("\"secretName\":\"ledger-join-key\"")
                .contains("\"claimName\":\"data-ledger-0\"");
    }

    @Test
    void aJobsPodKeepsRestartPolicyNeverWithTheSidecarNative() throws Exception {
        JsonNode review = fixture("job-pod.json");
        JsonNode pod = patched(review, post(review).path("response"));
        // Never stays: the kubelet ends a native sidecar (an init container with restartPolicy Always) once the
        // regular containers have exited, so the pod reaches Succeeded and the Job completes.
        assertThat(pod.path("spec").path("restartPolicy").asText()).isEqualTo("Never");
        assertThat(names(pod.path("spec").path("containers"))).containsExactly("migrate");
        assertThat(pod.path("spec").path("initContainers").get(0).path("restartPolicy").asText()).isEqualTo("Always");
    }

    @ParameterizedTest
    @ValueSource(strings = {"deployment-pod.json", "statefulset-pod.json", "job-pod.json"})
    void reviewingThePatchedPodAgainChangesNothing(String fixture) throws Exception {
        JsonNode review = fixture(fixture);
        JsonNode pod = patched(review, post(review).path("response"));
        ObjectNode again = review.deepCopy();
        ((ObjectNode) again.path("request")).set("object", pod);
        JsonNode response = post(again).path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.has("patch")).as("a patch for an injected pod: %s", response).isFalse();
    }

    @Test
    void aPodWithAContainerAlreadyNamedInvmuxIsDeniedAsAConflict() throws Exception {
        JsonNode response = post(fixture("conflict-pod.json")).path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(response.has("patch")).isFalse();
        assertThat(response.path("status").path("code").asInt()).isEqualTo(409);
        assertThat(response.path("status").path("message").asText()).isEqualTo("invmux: pod shop/legacy-6d5c4b3a2- "
                + "cannot be injected: spec.containers: a container is already named 'invmux', the name of the InvMux "
                + "sidecar (a hand-written sidecar? remove it, or rename that container)");
    }

    @Test
    void aBadAnnotationDeniesThePodNamingTheAnnotationValueAndRule() throws Exception {
        ObjectNode review = (ObjectNode) fixture("deployment-pod.json");
        ObjectNode annotations = (ObjectNode) review.at("/request/object/metadata/annotations");
        annotations.put("invmux.io/forwards", "127.0.0.1:5432=backend");
        annotations.put("invmux.io/memory", "lots");
        JsonNode response = post(review).path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(response.has("patch")).isFalse();
        assertThat(response.path("status").path("code").asInt()).isEqualTo(400);
        assertThat(response.path("status").path("message").asText()).isEqualTo("invmux: pod shop/orders-7c9f8d6b5- "
                + "cannot be injected: annotation invmux.io/memory = \"lots\": must be a Kubernetes quantity such as "
                + "250m, 2, 768Mi or 1Gi; annotation invmux.io/forwards = \"127.0.0.1:5432=backend\": entry "
                + "'127.0.0.1:5432=backend' must be listen=peer/service (e.g. 127.0.0.1:5432=backend/postgres); "
                + "entries are separated by ';'");
    }

    @Test
    void aMisspeltInjectAnnotationDeniesThePodRatherThanStartingItWithoutTheSidecar() throws Exception {
        ObjectNode review = (ObjectNode) fixture("job-pod.json");
        ((ObjectNode) review.at("/request/object/metadata/annotations")).put("invmux.io/inject", "yes");
        JsonNode response = post(review).path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(response.path("status").path("message").asText()).endsWith(
                "annotation invmux.io/inject = \"yes\": must be \"true\" or \"false\"");
    }

    @Test
    void aHostNetworkPodIsDenied() throws Exception {
        ObjectNode review = (ObjectNode) fixture("job-pod.json");
        ((ObjectNode) review.at("/request/object/spec")).put("hostNetwork", true);
        JsonNode response = post(review).path("response");
        assertThat(response.path("allowed").asBoolean()).isFalse();
        assertThat(response.path("status").path("code").asInt()).isEqualTo(409);
        assertThat(response.path("status").path("message").asText()).contains("spec.hostNetwork: true: the sidecar "
                + "binds [7701, 7702, 7703] in the pod's network namespace, which would be the node's");
    }

    @Test
    void aPodNotAnnotatedForInjectionIsAllowedUnchanged() throws Exception {
        ObjectNode review = (ObjectNode) fixture("deployment-pod.json");
        ((ObjectNode) review.at("/request/object/metadata/annotations")).remove("invmux.io/inject");
        JsonNode response = post(review).path("response");
        assertThat(response.path("allowed").asBoolean()).isTrue();
        assertThat(response.has("patch")).isFalse();
    }

    @Test
    void aBodyThatIsNoAdmissionReviewIsRefusedWith400() throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(mutateUri())
                .POST(HttpRequest.BodyPublishers.ofString("{\"apiVersion\":\"admission.k8s.io/v1beta1\","
                        + "\"kind\":\"AdmissionReview\"}")).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("expected an AdmissionReview of apiVersion admission.k8s.io/v1");
    }

    /** Every patched pod is a valid Pod for Kubernetes 1.29 and 1.37 (kubeconform -strict, k8s/schemas/). */
    @Test
    void everyPatchedPodPassesKubeconform() throws Exception {
        Path kubeconform = kubeconform();
        assumeTrue(kubeconform != null, "kubeconform is not installed (k8s/validate.sh installs it; it also checks "
                + "these pods through invmux inject)");
        List<String> docs = new ArrayList<>();
        for (String f : List.of("deployment-pod.json", "statefulset-pod.json", "job-pod.json")) {
            JsonNode review = fixture(f);
            docs.add(JSON.writeValueAsString(patched(review, post(review).path("response"))));
        }
        Path file = tmp.resolve("patched-pods.yaml"); // JSON documents, as YAML separates them
        Files.writeString(file, String.join("\n---\n", docs));
        for (String version : List.of("1.29.0", "1.37.0")) {
            Process p = new ProcessBuilder(kubeconform.toString(), "-strict", "-summary", "-kubernetes-version", version,
                    "-schema-location", Path.of("../k8s/schemas").toAbsolutePath() + "/{{ .NormalizedKubernetesVersion "
                    + "}}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json", file.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).as(out).isZero();
            assertThat(out).contains("Valid: 3, Invalid: 0, Errors: 0, Skipped: 0");
        }
    }

    private static Path kubeconform() {
        String dir = System.getenv("INVMUX_TOOLS_DIR");
        Path tools = dir != null ? Path.of(dir) : Path.of(System.getProperty("user.home"), ".cache", "invmux-tools");
        Path bin = tools.resolve("kubeconform-v0.7.0").resolve("kubeconform");
        return Files.isExecutable(bin) ? bin : null;
    }

    private static JsonNode patched(JsonNode review, JsonNode response) throws IOException {
        JsonNode patch = JSON.readTree(Base64.getDecoder().decode(response.path("patch").asText()));
        return JsonPatchApplier.apply(review.path("request").path("object"), patch);
    }

    private static List<String> names(JsonNode list) {
        return StreamSupport.stream(list.spliterator(), false).map(n -> n.path("name").asText()).toList();
    }

    private static JsonNode fixture(String name) throws IOException {
        try (var in = WebhookTest.class.getResourceAsStream("/admission/" + name)) {
            return JSON.readTree(in);
        }
    }

    private static URI mutateUri() {
        return URI.create("https://127.0.0.1:" + server.address().getPort() + "/mutate");
    }

    private static JsonNode post(JsonNode review) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(mutateUri())
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(review)))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
        return JSON.readTree(r.body());
    }
}
