#!/usr/bin/env bash
# Offline validation of the Kubernetes manifests (usable in CI; no cluster, no network but the Go module proxy
# and PyPI the first time, to install the pinned tools):
#
#   1. renders k8s/base and every overlay with kustomize (pinned);
#   2. validates every rendered object with kubeconform (pinned) in strict mode against the JSON schemas shipped
#      in k8s/schemas/ (Kubernetes v1.29.0, the oldest with native sidecars, and v1.37.0; see k8s/schemas/README.md):
#      unknown fields, wrong types and kinds without a schema all fail;
#   2b. injects k8s/inject/workloads.yaml and the webhook tests' pods with `invmux inject`, validates the output the
#      same way and checks that injecting it again changes nothing; renders and validates k8s/webhook and
#      k8s/monitoring (cert-manager's Certificate and Issuer against its CRDs' schemas in k8s/schemas/cert-manager-*/;
#      the PodMonitors and the PrometheusRule against schemas made from the Prometheus Operator's CRDs,
#      k8s/schemas/crds/);
#   2c. lints and renders the Helm chart deploy/helm/invmux (helm from the Go module proxy; skipped, saying so,
#      when it cannot be built) and validates its output the same way;
#   2d. parses every PromQL expression of the Grafana dashboard and the PrometheusRule with Prometheus's own parser
#      (k8s/promqlcheck, built with Go from the Go module proxy);
#   3. checks the InvMux invariants (and, with --injected, what invmux inject added to the injected pods) with k8s/check_invariants.py, which also loads every ConfigMap's invmux.yaml
#      with the sidecar's own loader (bin/invmux sidecar --config FILE --print-config; the jar is built if missing).
#
# Usage: k8s/validate.sh [--skip-build]
# Tools are cached in $INVMUX_TOOLS_DIR (default ~/.cache/invmux-tools): a repeated run takes seconds.
set -euo pipefail

KUSTOMIZE_VERSION=v5.8.1     # sigs.k8s.io/kustomize/kustomize/v5, from the Go module proxy
KUBECONFORM_VERSION=v0.7.0   # github.com/yannh/kubeconform, from the Go module proxy
PYYAML_VERSION=6.0.3         # only if python3 has no yaml module
HELM_VERSION=v3.22.0         # helm.sh/helm/v3, from the Go module proxy; optional: skipped, saying so, without it
KUBERNETES_VERSIONS=(1.29.0 1.37.0)
CERT_MANAGER_VERSION=v1.21.2 # the CRD schemas in k8s/schemas/cert-manager-*/ (k8s/schemas/cert_manager.py)

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
tools=${INVMUX_TOOLS_DIR:-$HOME/.cache/invmux-tools}
skip_build=0
[ "${1:-}" = "--skip-build" ] && skip_build=1
started=$(date +%s)

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\nvalidate: FAILED: %s\n' "$*" >&2; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/invmux-validate.XXXXXX")
trap 'rm -rf "$out"' EXIT

# ------------------------------------------------------------------------------------------------ tools
go_tool() {  # go_tool NAME MODULE VERSION: installs once into $tools/NAME-VERSION/, prints the binary's path
  local name=$1 module=$2 version=$3 dir="$tools/$1-$3"
  if [ ! -x "$dir/$name" ]; then
    command -v go >/dev/null || fail "$name $version is not cached in $dir and there is no Go toolchain to build it (install Go >= 1.22)"
    echo "installing $name $version into $dir (go install $module@$version)" >&2
    mkdir -p "$dir"
    GOBIN="$dir" GOFLAGS=-mod=mod go install "$module@$version" >&2 || fail "go install $module@$version failed"
  fi
  echo "$dir/$name"
}
step "tools (cache: $tools)"
kustomize=$(go_tool kustomize sigs.k8s.io/kustomize/kustomize/v5 "$KUSTOMIZE_VERSION")
kubeconform=$(go_tool kubeconform github.com/yannh/kubeconform/cmd/kubeconform "$KUBECONFORM_VERSION")
python=python3
if ! python3 -c 'import yaml' 2>/dev/null; then
  if [ ! -x "$tools/venv-pyyaml-$PYYAML_VERSION/bin/python" ]; then
    echo "installing PyYAML $PYYAML_VERSION into $tools/venv-pyyaml-$PYYAML_VERSION" >&2
    python3 -m venv "$tools/venv-pyyaml-$PYYAML_VERSION" || fail "python3 -m venv failed (apt-get install python3-venv)"
    "$tools/venv-pyyaml-$PYYAML_VERSION/bin/pip" install --quiet "PyYAML==$PYYAML_VERSION" || fail "pip install PyYAML failed"
  fi
  python="$tools/venv-pyyaml-$PYYAML_VERSION/bin/python"
fi
echo "kustomize $("$kustomize" version), kubeconform $("$kubeconform" -v), $("$python" --version)"

# ------------------------------------------------------------------------------------------------ 1. render
targets=(k8s/base)
for d in k8s/overlays/*/; do
  [ -f "$d/kustomization.yaml" ] && targets+=("${d%/}")
done
step "render: ${targets[*]}"
rendered=()
for t in "${targets[@]}"; do
  file="$out/$(echo "$t" | tr '/' '_').yaml"
  "$kustomize" build "$t" >"$file" 2>"$out/kustomize.err" || fail "kustomize build $t: $(cat "$out/kustomize.err")"
  echo "$t: $(grep -c '^kind:' "$file") objects ($(grep '^kind:' "$file" | sort | uniq -c | awk '{printf "%s%s %s", s, $1, $3; s=", "}'))"
  rendered+=("$file")
done

# ------------------------------------------------------------------------------------------------ the jar
jar=$(find server/target -maxdepth 1 -name "invmux-server-*-all.jar" 2>/dev/null | head -n 1 || true)
if [ -z "$jar" ]; then
  [ $skip_build -eq 0 ] || fail "no server/target/invmux-server-*-all.jar: build it or run without --skip-build"
  step "build the sidecar jar (invmux inject, and its config loader checks every ConfigMap)"
  ./mvnw -B -q -pl server -am package -DskipTests || fail "the Maven build failed"
fi

# ------------------------------------------------------------------------------------------------ 1b. inject
# `invmux inject` over workloads as their authors write them: the output is validated like the rest, and
# injecting it again must change nothing.
step "invmux inject k8s/inject/workloads.yaml (and once more over its output)"
inject=(bin/invmux inject --image registry.example.com/invmux:0.2.0)
"${inject[@]}" k8s/inject/workloads.yaml >"$out/inject_workloads.yaml" 2>"$out/inject.err" \
  || fail "invmux inject k8s/inject/workloads.yaml: $(cat "$out/inject.err")"
sed 's/^/  /' "$out/inject.err"
"${inject[@]}" "$out/inject_workloads.yaml" >"$out/inject_twice.yaml" 2>"$out/inject.err" \
  || fail "invmux inject over its own output: $(cat "$out/inject.err")"
diff -u "$out/inject_workloads.yaml" "$out/inject_twice.yaml" >&2 \
  || fail "injecting the injected workloads again changed them (above)"
echo "injecting the output again changes nothing"
# The pods of the webhook's tests (AdmissionReview requests shaped like the API server's) through the same
# injection core: the pods the webhook patches are valid Pods (its tests apply the patch, and run kubeconform too
# when it is installed).
"$python" - "$out/inject_admission_pods.in.yaml" server/src/test/resources/admission/{deployment,statefulset,job}-pod.json <<'PY'
import json, sys
with open(sys.argv[1], "w") as out:
    out.write("\n---\n".join(json.dumps(json.load(open(f))["request"]["object"]) for f in sys.argv[2:]) + "\n")
PY
"${inject[@]}" "$out/inject_admission_pods.in.yaml" >"$out/inject_admission-pods.yaml" 2>"$out/inject.err" \
  || fail "invmux inject over the webhook's fixture pods: $(cat "$out/inject.err")"
sed 's/^/  /' "$out/inject.err"

# The webhook's own manifests (k8s/webhook): rendered and validated like the rest, but not held to the sidecar
# invariants (it is no sidecar pod).
for t in webhook monitoring; do
  step "render: k8s/$t"
  "$kustomize" build "k8s/$t" >"$out/k8s_$t.yaml" 2>"$out/kustomize.err" \
    || fail "kustomize build k8s/$t: $(cat "$out/kustomize.err")"
  echo "k8s/$t: $(grep -c '^kind:' "$out/k8s_$t.yaml") objects ($(grep '^kind:' "$out/k8s_$t.yaml" | sort | uniq -c | awk '{printf "%s%s %s", s, $1, $3; s=", "}'))"
done

# (schemas only: the invariants are about the apps' containers too, which are theirs to make restricted)
validated=("${rendered[@]}" "$out/inject_workloads.yaml" "$out/inject_admission-pods.yaml" "$out/k8s_webhook.yaml"
           "$out/k8s_monitoring.yaml")

# ------------------------------------------------------------------------------------------------ 1c. helm chart
# deploy/helm/invmux: helm lint, and helm template with the default values (the webhook), with the sidecar pair and
# with a TLS Secret of one's own; the output is validated like the rest, the pair's configs by the sidecar's loader.
step "helm lint and helm template deploy/helm/invmux"
helm="$tools/helm-$HELM_VERSION/helm"
if [ ! -x "$helm" ] && command -v go >/dev/null; then
  echo "installing helm $HELM_VERSION into $tools/helm-$HELM_VERSION (go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION)" >&2
  mkdir -p "$tools/helm-$HELM_VERSION"
  GOBIN="$tools/helm-$HELM_VERSION" GOFLAGS=-mod=mod go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2 \
    || echo "go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION failed" >&2
fi
if [ -x "$helm" ]; then
  chart=deploy/helm/invmux
  variants=("webhook:" "pair:--set pair.enabled=true --set webhook.enabled=false"
            "own-tls:--set webhook.certManager.enabled=false --set webhook.tls.existingSecret=my-tls --set webhook.tls.caBundle=Y2E=")
  for variant in "${variants[@]}"; do
    name=${variant%%:*}; flags=${variant#*:}
    # shellcheck disable=SC2086 # the flags are words
    "$helm" lint --strict $flags "$chart" >"$out/helm.out" 2>&1 || { cat "$out/helm.out" >&2; fail "helm lint $flags $chart"; }
    # shellcheck disable=SC2086
    "$helm" template invmux "$chart" --namespace invmux-system --kube-version 1.29.0 $flags >"$out/helm_$name.yaml" 2>"$out/helm.out" \
      || { cat "$out/helm.out" >&2; fail "helm template $flags $chart"; }
    echo "helm/$name: lint ok; $(grep -c '^kind:' "$out/helm_$name.yaml") objects ($(grep '^kind:' "$out/helm_$name.yaml" | sort | uniq -c | awk '{printf "%s%s %s", s, $1, $3; s=", "}'))"
    validated+=("$out/helm_$name.yaml")
  done
  "$python" - "$repo/bin/invmux" "$out/helm_pair.yaml" <<'PY' || fail "a sidecar config of the chart's pair does not load (above)"
import os, subprocess, sys, tempfile, yaml
launcher, rendered = sys.argv[1], sys.argv[2]
maps = [o for o in yaml.safe_load_all(open(rendered)) if o and o["kind"] == "ConfigMap"]
assert maps, "the pair renders no ConfigMap"
for cm in maps:
    with tempfile.TemporaryDirectory() as tmp:
        cfg, key = os.path.join(tmp, "invmux.yaml"), os.path.join(tmp, "psk")
        open(cfg, "w").write(cm["data"]["invmux.yaml"])
        open(key, "w").write("c2VjcmV0LWtleS1vZi10aGUtcGFpci0xMjM0NTY3OA==")
        env = {k: os.environ[k] for k in ("PATH", "JAVA_HOME", "INVMUX_JAR") if k in os.environ}
        env.update(HOSTNAME="invmux-a-5f7c9d8b6d-x2x7q", INVMUX_SECURITY_PRE_SHARED_KEY_FILE=key)
        r = subprocess.run([launcher, "sidecar", "--config", cfg, "--print-config"], env=env, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"ConfigMap {cm['metadata']['name']}: exit {r.returncode}\n{r.stderr or r.stdout}")
        print(f"helm/pair: ConfigMap {cm['metadata']['name']} loads with the sidecar's loader")
PY
else
  echo "helm: SKIPPED: no helm $HELM_VERSION in $tools/helm-$HELM_VERSION and it could not be built (needs Go and the Go module proxy); deploy/helm/invmux is not checked"
fi

# ------------------------------------------------------------------------------------------------ 2. schemas
for v in "${KUBERNETES_VERSIONS[@]}"; do
  step "kubeconform -strict against the Kubernetes v$v schemas in k8s/schemas/"
  [ -d "k8s/schemas/v$v-standalone-strict" ] || fail "no k8s/schemas/v$v-standalone-strict (python3 k8s/schemas/generate.py)"
  for f in "${validated[@]}"; do
    # No -ignore-missing-schemas: a kind without a shipped schema fails (add it to k8s/schemas/generate.py).
    # cert-manager's Certificate, Issuer and ClusterIssuer are checked against its own CRDs' schemas, made strict
    # (k8s/schemas/cert_manager.py); the Prometheus Operator's PodMonitor and PrometheusRule (k8s/monitoring)
    # against schemas made from its CRDs (k8s/schemas/crds.py). Nothing is skipped.
    if ! "$kubeconform" -strict -summary -kubernetes-version "$v" \
        -schema-location "$repo/k8s/schemas/{{ .NormalizedKubernetesVersion }}-standalone-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -schema-location "$repo/k8s/schemas/cert-manager-$CERT_MANAGER_VERSION/{{ .ResourceKind }}{{ .KindSuffix }}.json" \
        -schema-location "$repo/k8s/schemas/crds/{{ .ResourceKind }}-{{ .Group }}-{{ .ResourceAPIVersion }}.json" \
        "$f" >"$out/kubeconform.out" 2>&1; then
      cat "$out/kubeconform.out" >&2
      fail "$(basename "$f" .yaml | tr '_' '/') is not valid Kubernetes v$v (above)"
    fi
    echo "$(basename "$f" .yaml | tr '_' '/'): $(tail -n 1 "$out/kubeconform.out" | sed "s#$out/##")"
  done
done

# ------------------------------------------------------------------------------------------------ 3b. PromQL
# Every PromQL expression of the Grafana dashboard (panels and variables) and of the PrometheusRule, through
# Prometheus's own parser (k8s/promqlcheck: a few lines of Go on github.com/prometheus/prometheus/promql/parser,
# pinned by its go.sum). Their metric names and labels are MonitoringQueriesTest's to check against docs/METRICS.md.
step "PromQL of deploy/grafana/invmux-dashboard.json and k8s/monitoring/prometheusrule.yaml (Prometheus's parser)"
pq_dir="$tools/promqlcheck-$(cat k8s/promqlcheck/go.mod k8s/promqlcheck/go.sum k8s/promqlcheck/main.go | sha256sum | cut -c1-12)"
if [ ! -x "$pq_dir/promqlcheck" ]; then
  echo "building k8s/promqlcheck into $pq_dir (go build, modules from the Go module proxy)" >&2
  mkdir -p "$pq_dir"
  (cd k8s/promqlcheck && go build -o "$pq_dir/promqlcheck" .) >&2 || fail "go build k8s/promqlcheck failed (needs Go >= 1.26)"
fi
"$python" - deploy/grafana/invmux-dashboard.json k8s/monitoring/prometheusrule.yaml >"$out/promql.txt" <<'PY'
import json, re, sys, yaml
# Grafana's variables become values of their kind: a regex for the label filters, a duration for the interval.
def plain(e):
    return re.sub(r"\$(namespace|pod|peer)\b", ".*", e.replace("$__rate_interval", "1m"))
dash = json.load(open(sys.argv[1]))
for p in dash["panels"] + [c for p in dash["panels"] for c in p.get("panels", [])]:
    for t in p.get("targets", []):
        print(plain(t["expr"]))
for v in dash["templating"]["list"]:
    if v["type"] == "query":
        print(plain(re.fullmatch(r"label_values\((.*),\s*\w+\)", v["query"]["query"]).group(1)))
for g in yaml.safe_load(open(sys.argv[2]))["spec"]["groups"]:
    for r in g["rules"]:
        print(" ".join(r["expr"].split()))
PY
"$pq_dir/promqlcheck" <"$out/promql.txt" >"$out/promql.out" || { grep -v '^ok ' "$out/promql.out" >&2; fail "PromQL that does not parse (above)"; }
tail -n 1 "$out/promql.out"

# ------------------------------------------------------------------------------------------------ 4. invariants
step "InvMux invariants and each ConfigMap's invmux.yaml through the sidecar's loader"
(cd "$out" && "$python" "$repo/k8s/check_invariants.py" "$repo/bin/invmux" "${rendered[@]##*/}") \
  || fail "invariants violated (above)"
step "what invmux inject added to each pod (its sidecar, config, probes, volumes)"
(cd "$out" && "$python" "$repo/k8s/check_invariants.py" --injected "$repo/bin/invmux" inject_workloads.yaml \
  inject_admission-pods.yaml) || fail "injected pods violate the invariants (above)"

printf '\nvalidate: OK in %ss: %d targets, %d Kubernetes versions, invariants hold\n' \
  "$(( $(date +%s) - started ))" "${#rendered[@]}" "${#KUBERNETES_VERSIONS[@]}"
