package io.invmux.server.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every PromQL expression of the Grafana dashboard and the PrometheusRule names only series docs/METRICS.md lists
 * (which {@link MetricsDocumentationIT} holds to the live /metrics), with labels that series has: a renamed metric
 * or label breaks this test, not a dashboard panel nobody looks at.
 */
class MonitoringQueriesTest {
    private static final Path DASHBOARD = Path.of("../deploy/grafana/invmux-dashboard.json");
    private static final Path RULES = Path.of("../k8s/monitoring/prometheusrule.yaml");

    /** PromQL functions and aggregation operators (followed by '('). */
    private static final Set<String> FUNCTIONS = Set.of("abs", "absent", "absent_over_time", "avg", "avg_over_time",
            "bottomk", "ceil", "changes", "clamp", "clamp_max", "clamp_min", "count", "count_over_time",
            "count_values", "delta", "deriv", "exp", "floor", "group", "histogram_quantile", "idelta", "increase",
            "irate", "label_join", "label_replace", "last_over_time", "ln", "log2", "log10", "max", "max_over_time",
            "min", "min_over_time", "predict_linear", "quantile", "quantile_over_time", "rate", "resets", "round",
            "scalar", "sort", "sort_desc", "sqrt", "stddev", "stdvar", "sum", "sum_over_time", "time", "timestamp",
            "topk", "vector");
    /** Keywords and binary operators written as words. */
    private static final Set<String> KEYWORDS = Set.of("and", "or", "unless", "bool", "offset", "by", "without", "on",
            "ignoring", "group_left", "group_right", "inf", "nan");
    /** Series Prometheus makes itself for every target. */
    private static final Set<String> PROMETHEUS_SERIES = Set.of("up");
    /** Labels Prometheus attaches to every series it scrapes from a PodMonitor's targets. */
    private static final Set<String> TARGET_LABELS = Set.of("namespace", "pod", "container", "endpoint", "job",
            "instance");

    private static final Pattern STRING = Pattern.compile("\"(?:\\\\.|[^\"\\\\])*\"|'(?:\\\\.|[^'\\\\])*'|`[^`]*`");
    private static final Pattern GROUPING = Pattern.compile(
            "\\b(by|without|on|ignoring|group_left|group_right)\\s*\\([^)]*\\)");
    private static final Pattern IDENTIFIER = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern SELECTOR = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)\\s*\\{([^}]*)\\}");
    private static final Pattern MATCHER = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)\\s*(=~|!~|!=|=)");

    /** The metric names an expression reads, in order of appearance. */
    static Set<String> metricNames(String expr) {
        String e = STRING.matcher(expr).replaceAll("\"\"");
        e = e.replaceAll("\\{[^}]*\\}", " ");  // label matchers: label names, not metrics
        e = e.replaceAll("\\[[^\\]]*\\]", " "); // ranges and subqueries: durations, $__rate_interval
        e = GROUPING.matcher(e).replaceAll(" ");
        e = e.replaceAll("\\$[a-zA-Z_][a-zA-Z0-9_]*", " ");
        Set<String> names = new TreeSet<>();
        Matcher m = IDENTIFIER.matcher(e);
        while (m.find()) {
            if (m.start() > 0 && Character.isDigit(e.charAt(m.start() - 1))) {
                continue; // the exponent or unit of a number (1e3, 5m)
            }
            String id = m.group();
            boolean call = e.substring(m.end()).stripLeading().startsWith("(");
            if (call) {
                if (!FUNCTIONS.contains(id)) {
                    throw new IllegalArgumentException("'" + id + "(' in " + expr + " is no PromQL function");
                }
            } else if (!KEYWORDS.contains(id.toLowerCase(java.util.Locale.ROOT))) {
                names.add(id);
            }
        }
        return names;
    }

    /** The label names each selector {@code metric{...}} of an expression matches on, by metric. */
    static Map<String, Set<String>> matchedLabels(String expr) {
        Map<String, Set<String>> out = new LinkedHashMap<>();
        Matcher s = SELECTOR.matcher(STRING.matcher(expr).replaceAll("\"\""));
        while (s.find()) {
            Matcher m = MATCHER.matcher(s.group(2));
            while (m.find()) {
                out.computeIfAbsent(s.group(1), k -> new TreeSet<>()).add(m.group(1));
            }
        }
        return out;
    }

    /** Every expression: the dashboard's targets and template queries, and the rules' exprs, each with its place. */
    static Map<String, String> expressions() throws Exception {
        Map<String, String> out = new LinkedHashMap<>();
        JsonNode dash = new ObjectMapper().readTree(DASHBOARD.toFile());
        List<JsonNode> panels = new ArrayList<>();
        dash.path("panels").forEach(p -> {
            panels.add(p);
            p.path("panels").forEach(panels::add);
        });
        for (JsonNode p : panels) {
            for (JsonNode t : p.path("targets")) {
                out.put("dashboard panel '" + p.path("title").asText() + "' " + t.path("refId").asText(),
                        t.path("expr").asText());
            }
        }
        for (JsonNode v : dash.path("templating").path("list")) {
            if (v.path("type").asText().equals("query")) {
                String query = v.path("query").isObject() ? v.path("query").path("query").asText()
                        : v.path("query").asText();
                Matcher lv = Pattern.compile("label_values\\((.*),\\s*[a-zA-Z_][a-zA-Z0-9_]*\\)").matcher(query);
                assertThat(lv.matches()).as("variable %s: %s", v.path("name").asText(), query).isTrue();
                out.put("dashboard variable " + v.path("name").asText(), lv.group(1));
            }
        }
        JsonNode rules = new ObjectMapper(new YAMLFactory()).readTree(RULES.toFile());
        for (JsonNode g : rules.path("spec").path("groups")) {
            for (JsonNode r : g.path("rules")) {
                out.put("rule " + r.path("alert").asText(r.path("record").asText()), r.path("expr").asText());
            }
        }
        return out;
    }

    @Test
    void theParserFindsMetricNamesAndNotFunctionsKeywordsLabelsOrDurations() {
        assertThat(metricNames("histogram_quantile(0.9, sum by (pod, le) (rate(a_seconds_bucket{le=\"1\", "
                + "x=~\"$pod\"}[$__rate_interval])))")).containsExactly("a_seconds_bucket");
        assertThat(metricNames("max by (peer) (b) > max by (peer) (c) or d unless on (peer) e offset 5m"))
                .containsExactly("b", "c", "d", "e");
        assertThat(metricNames("count(f == 0) or vector(0) and 1e3 > bool g")).containsExactly("f", "g");
        assertThat(metricNames("increase(h_total[10m]) > 0")).containsExactly("h_total");
        assertThatThrownBy(() -> metricNames("ratez(h_total[5m])")).hasMessageContaining("no PromQL function");
        assertThat(matchedLabels("rate(a{namespace=~\"x\", outcome=\"y\"}[5m]) / b{peer!=\"{\"}"))
                .containsEntry("a", Set.of("namespace", "outcome")).containsEntry("b", Set.of("peer"));
    }

    @Test
    void everyMetricTheDashboardAndTheAlertsQueryIsDocumentedWithTheLabelsTheyMatch() throws Exception {
        Map<String, MetricsDocumentationIT.Documented> doc = MetricsDocumentationIT.documented();
        Map<String, String> exprs = expressions();
        assertThat(exprs.keySet()).as("queries found").anyMatch(k -> k.startsWith("dashboard panel"))
                .anyMatch(k -> k.startsWith("rule InvMuxLinkDown")).anyMatch(k -> k.startsWith("rule InvMuxSessionWithoutLinks"))
                .anyMatch(k -> k.startsWith("rule InvMuxBundleDegraded"))
                .anyMatch(k -> k.startsWith("rule InvMuxSidecarNotReady"));
        Set<String> used = new TreeSet<>();
        for (Map.Entry<String, String> e : exprs.entrySet()) {
            Set<String> names = metricNames(e.getValue());
            assertThat(names).as("%s reads no metric: %s", e.getKey(), e.getValue()).isNotEmpty();
            for (String name : names) {
                String family = family(name, doc);
                assertThat(family).as("%s: %s is not in docs/METRICS.md (%s)", e.getKey(), name, e.getValue())
                        .isNotNull();
                used.add(family);
            }
            matchedLabels(e.getValue()).forEach((name, labels) -> {
                String family = family(name, doc);
                Set<String> allowed = new TreeSet<>(TARGET_LABELS);
                if (doc.containsKey(family)) {
                    allowed.addAll(doc.get(family).labels());
                }
                if (name.endsWith("_bucket")) {
                    allowed.add("le");
                }
                assertThat(allowed).as("%s: labels of %s (%s)", e.getKey(), name, e.getValue()).containsAll(labels);
            });
        }
        assertThat(used).as("the dashboard covers links, streams, failovers and bytes by compression")
                .contains("invmux_link_healthy", "invmux_link_rtt_seconds", "invmux_link_rate_bytes_per_second",
                        "invmux_link_loss_ratio", "invmux_link_score", "invmux_session_open_streams",
                        "invmux_failover_gap_seconds", "invmux_link_downs_total",
                        "invmux_compression_offered_bytes_total", "invmux_compression_sent_bytes_total");
    }

    /** The documented series a name belongs to (a histogram's or summary's by its suffix), or null. */
    private static String family(String name, Map<String, MetricsDocumentationIT.Documented> doc) {
        if (doc.containsKey(name) || PROMETHEUS_SERIES.contains(name)) {
            return name;
        }
        for (String suffix : List.of("_bucket", "_sum", "_count")) {
            String base = name.endsWith(suffix) ? name.substring(0, name.length() - suffix.length()) : null;
            if (base != null && doc.containsKey(base) && Set.of("histogram", "summary").contains(doc.get(base).type())
                    && (!suffix.equals("_bucket") || doc.get(base).type().equals("histogram"))) {
                return base;
            }
        }
        return null;
    }
}
