#!/usr/bin/env python3
"""Regenerates the offline Kubernetes JSON schemas under k8s/schemas/ that k8s/validate.sh checks manifests with.

Source: the PyPI package kubernetes-validate (pinned below, with its sha256), which ships JSON schemas made from the
Kubernetes OpenAPI definitions of each release, in a "local-strict" form: additionalProperties false everywhere,
and every $ref pointing into one shared _definitions.json. kubeconform wants one self-contained file per kind, so
this script inlines the references ("standalone-strict", the layout kubeconform's -schema-location template
expects) and drops the description texts to keep the files small. Only the kinds the manifests use are written.

    python3 k8s/schemas/generate.py            # downloads the pinned wheel with pip, writes the files
    python3 k8s/schemas/generate.py WHEEL      # uses a wheel already downloaded

Nothing else reads the network: k8s/validate.sh only reads the files this writes.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import zipfile

PACKAGE = "kubernetes-validate"
VERSION = "1.37.0"
WHEEL = "kubernetes_validate-1.37.0-py3-none-any.whl"
WHEEL_SHA256 = "85136d018a27b50ec7fc049d902bfa5193f5976807e6c0f408e3ab6fe078cad9"
# Kubernetes versions: 1.29 is the oldest with native sidecars (initContainers[].restartPolicy: Always) on by
# default; 1.37 is the newest the pinned package ships.
KUBERNETES_VERSIONS = ["v1.29.0", "v1.37.0"]
# Every kind the base, the overlays, the webhook and `invmux inject`'s output render, named as kubeconform looks
# them up: {kind}-{group}-{version}.
KINDS = [
    "configmap-v1",
    "secret-v1",
    "service-v1",
    "serviceaccount-v1",
    "namespace-v1",
    "pod-v1",
    "deployment-apps-v1",
    "statefulset-apps-v1",
    "daemonset-apps-v1",
    "job-batch-v1",
    "cronjob-batch-v1",
    "networkpolicy-networking-v1",
    "poddisruptionbudget-policy-v1",
    "mutatingwebhookconfiguration-admissionregistration-v1",
]
HERE = os.path.dirname(os.path.abspath(__file__))


def fetch_wheel(dest):
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
                    "-d", dest, f"{PACKAGE}=={VERSION}"], check=True)
    return os.path.join(dest, WHEEL)


def inline(node, defs, stack, names=False):
    """The schema with every $ref replaced by its definition; names: node maps property names to schemas."""
    if isinstance(node, dict):
        if names:  # keys are field names (one may well be "description"), values are schemas
            return {k: inline(v, defs, stack) for k, v in node.items()}
        if "$ref" in node:
            ref = node["$ref"]
            name = ref.split("#/$defs/", 1)[1]
            if name in stack:
                raise SystemExit(f"recursive schema at {name}: cannot inline")
            target = inline(defs[name], defs, stack | {name})
            rest = {k: v for k, v in node.items() if k not in ("$ref", "description")}
            if rest:  # siblings of $ref (rare): keep both
                return {"allOf": [target, inline(rest, defs, stack)]}
            return target
        return {k: inline(v, defs, stack, names=k in ("properties", "patternProperties"))
                for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [inline(v, defs, stack) for v in node]
    return node


def main():
    with tempfile.TemporaryDirectory() as tmp:
        wheel = sys.argv[1] if len(sys.argv) > 1 else fetch_wheel(tmp)
        digest = hashlib.sha256(open(wheel, "rb").read()).hexdigest()
        if digest != WHEEL_SHA256:
            raise SystemExit(f"{wheel}: sha256 {digest}, expected {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as z:
            for kv in KUBERNETES_VERSIONS:
                base = f"kubernetes_validate/kubernetes-json-schema/{kv}-local-strict/"
                defs = json.loads(z.read(base + "_definitions.json"))["$defs"]
                out = os.path.join(HERE, f"{kv}-standalone-strict")
                os.makedirs(out, exist_ok=True)
                for kind in KINDS:
                    schema = inline(json.loads(z.read(base + kind + ".json")), defs, frozenset())
                    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
                    schema["$comment"] = (f"Kubernetes {kv} {kind}, from PyPI {PACKAGE}=={VERSION} "
                                          f"({base}{kind}.json), references inlined, descriptions dropped "
                                          "by k8s/schemas/generate.py")
                    with open(os.path.join(out, kind + ".json"), "w") as f:
                        json.dump(schema, f, indent=1, sort_keys=True)
                        f.write("\n")
                    print(f"wrote {os.path.relpath(os.path.join(out, kind + '.json'), os.path.dirname(HERE))}")


if __name__ == "__main__":
    main()
