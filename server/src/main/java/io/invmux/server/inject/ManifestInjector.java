package io.invmux.server.inject;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * {@code invmux inject} over a stream of Kubernetes manifests (multi-document YAML): every Pod and every pod
 * template of a Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob (also inside a {@code List}) gets the
 * sidecar; other objects pass through unchanged. Comments and key order of the input are not kept (the YAML is
 * parsed and written again).
 */
public final class ManifestInjector {
    private static final Set<String> TEMPLATED = Set.of("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job");
    private static final YAMLMapper YAML = YAMLMapper.builder(YAMLFactory.builder()
                    .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
                    // "2" (a CPU limit), "0440", "true": strings that would read back as numbers or booleans
                    .enable(YAMLGenerator.Feature.ALWAYS_QUOTE_NUMBERS_AS_STRINGS)
                    .disable(YAMLGenerator.Feature.SPLIT_LINES)
                    .build())
            .build();

    /** What happened to one object. */
    public record Outcome(String object, String what) {
        @Override
        public String toString() {
            return object + " " + what;
        }
    }

    /** The objects written, and one outcome per pod found. */
    public record Result(String yaml, List<Outcome> outcomes) {
    }

    private final PodInjector injector;

    public ManifestInjector(PodInjector injector) {
        this.injector = injector;
    }

    /**
     * Reads every document of {@code in}, injects, and writes them all.
     *
     * @throws InjectionException naming the objects, when any pod cannot be injected (nothing is written then)
     * @throws IOException        the input is not YAML
     */
    public Result inject(Reader in) throws IOException, InjectionException {
        List<JsonNode> docs = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(in)) {
            while (it.hasNextValue()) {
                JsonNode d = it.nextValue();
                if (d != null && !d.isNull() && !d.isMissingNode()) {
                    docs.add(d);
                }
            }
        }
        List<Outcome> outcomes = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        InjectionException.Kind kind = InjectionException.Kind.INVALID;
        for (JsonNode d : docs) {
            try {
                injectObject(d, outcomes);
            } catch (InjectionException e) {
                problems.addAll(e.problems()); // every object's problems, not just the first one's
                kind = e.kind();
            }
        }
        if (!problems.isEmpty()) {
            throw new InjectionException(kind, problems);
        }
        StringWriter out = new StringWriter();
        for (JsonNode d : docs) {
            out.write(YAML.writeValueAsString(d));
        }
        return new Result(out.toString(), outcomes);
    }

    private void injectObject(JsonNode obj, List<Outcome> outcomes) throws InjectionException {
        if (!(obj instanceof ObjectNode o)) {
            return;
        }
        String kind = o.path("kind").asText();
        String name = kind + "/" + o.path("metadata").path("name").asText(o.path("metadata").path("generateName")
                .asText("?"));
        JsonNode pod;
        if (kind.equals("List")) {
            for (JsonNode item : o.path("items")) {
                injectObject(item, outcomes);
            }
            return;
        } else if (kind.equals("Pod")) {
            pod = o;
        } else if (TEMPLATED.contains(kind)) {
            pod = o.path("spec").path("template");
        } else if (kind.equals("CronJob")) {
            pod = o.path("spec").path("jobTemplate").path("spec").path("template");
        } else {
            return;
        }
        if (!(pod instanceof ObjectNode p) || !(p.path("spec") instanceof ObjectNode spec)) {
            throw new InjectionException(InjectionException.Kind.INVALID, List.of(name + ": has no pod spec"));
        }
        if (PodInjector.optedOut(p.path("metadata"))) {
            outcomes.add(new Outcome(name, "skipped (" + Annotations.INJECT + ": \"false\")"));
            return;
        }
        try {
            injector.inject(p.withObject("/metadata"), spec);
        } catch (InjectionException e) {
            List<String> named = e.problems().stream().map(m -> name + ": " + m).toList();
            throw new InjectionException(e.kind(), named);
        }
        outcomes.add(new Outcome(name, "injected"));
    }
}
