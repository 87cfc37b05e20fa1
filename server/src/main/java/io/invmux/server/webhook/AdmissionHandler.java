package io.invmux.server.webhook;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.invmux.server.inject.InjectionException;
import io.invmux.server.inject.PodInjector;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code admission.k8s.io/v1} AdmissionReview in, its response out: pods annotated {@code invmux.io/inject:
 * "true"} are allowed with a JSON patch that adds the sidecar (the {@link PodInjector}'s); a pod whose annotations
 * are bad, or that holds a name the sidecar needs, is denied with every problem in the message (never half-injected);
 * anything else is allowed unchanged. Stateless and thread-safe.
 */
public final class AdmissionHandler {
    private static final Logger log = LoggerFactory.getLogger(AdmissionHandler.class);
    static final String API_VERSION = "admission.k8s.io/v1";

    private final PodInjector injector;
    private final ObjectMapper json = new ObjectMapper();

    public AdmissionHandler(PodInjector injector) {
        this.injector = injector;
    }

    /** Thrown for a body that is no AdmissionReview v1 request: the webhook answers HTTP 400 with the message. */
    public static final class BadReview extends Exception {
        private static final long serialVersionUID = 1L;

        BadReview(String message) {
            super(message);
        }
    }

    /** The AdmissionReview response for a request body. */
    public ObjectNode review(byte[] body) throws BadReview {
        JsonNode review;
        try {
            review = json.readTree(body);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new BadReview("the body is not JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw new BadReview("the body cannot be read: " + e.getMessage());
        }
        if (review == null || !API_VERSION.equals(review.path("apiVersion").asText())
                || !"AdmissionReview".equals(review.path("kind").asText())) {
            throw new BadReview("expected an AdmissionReview of apiVersion " + API_VERSION + " (set "
                    + "admissionReviewVersions: [v1] in the MutatingWebhookConfiguration)");
        }
        JsonNode request = review.path("request");
        String uid = request.path("uid").asText("");
        if (uid.isEmpty()) {
            throw new BadReview("request.uid is missing");
        }
        ObjectNode response = json.createObjectNode().put("uid", uid).put("allowed", true);
        ObjectNode out = json.createObjectNode().put("apiVersion", API_VERSION).put("kind", "AdmissionReview");
        out.set("response", response);

        JsonNode pod = request.path("object");
        if (!"Pod".equals(request.path("kind").path("kind").asText()) || !"CREATE".equals(
                request.path("operation").asText()) || !pod.isObject() || !PodInjector.requested(pod.path("metadata"))) {
            return out; // not ours to change: allowed as it is
        }
        String name = request.path("namespace").asText("?") + "/" + pod.path("metadata").path("name")
                .asText(pod.path("metadata").path("generateName").asText("?"));
        ObjectNode injected = pod.deepCopy();
        if (!(injected.path("spec") instanceof ObjectNode spec)) {
            return deny(out, 400, "invmux: pod " + name + " has no spec");
        }
        try {
            injector.inject(injected.withObject("/metadata"), spec);
        } catch (InjectionException e) {
            log.warn("pod {} denied: {}", name, e.getMessage());
            return deny(out, e.kind().httpStatus(), "invmux: pod " + name + " cannot be injected: "
                    + e.getMessage());
        }
        ArrayNode patch = JsonPatches.diff(pod, injected);
        if (!patch.isEmpty()) {
            response.put("patchType", "JSONPatch");
            response.put("patch", Base64.getEncoder().encodeToString(patch.toString().getBytes(StandardCharsets.UTF_8)));
        }
        log.info("pod {} injected ({} patch operation(s))", name, patch.size());
        return out;
    }

    private static ObjectNode deny(ObjectNode out, int code, String message) {
        ObjectNode response = (ObjectNode) out.get("response");
        response.put("allowed", false);
        response.putObject("status").put("code", code).put("message", message)
                .put("reason", code == 409 ? "Conflict" : "BadRequest");
        return out;
    }
}
