#!/usr/bin/env python3
"""JSON schemas for kubeconform of the CRDs k8s/monitoring uses (the Prometheus Operator's PodMonitor and
PrometheusRule), made from the CRD manifests of the prometheus-operator Go module, fetched from the Go module
proxy (`go mod download`; its go.sum-style hash is checked).

    python3 k8s/schemas/crds.py    # writes k8s/schemas/crds/<kind>-<group>-<version>.json, the name that
                                   # kubeconform's -schema-location template in ../validate.sh asks for

Each schema is the CRD version's openAPIV3Schema, strict as the Kubernetes ones in this folder: an object with
`properties` gets `additionalProperties: false` unless it says otherwise or preserves unknown fields (what
kubeconform's openapi2jsonschema.py does with DENY_ROOT_ADDITIONAL_PROPERTIES and strict). Descriptions dropped.
"""
import json
import os
import subprocess
import sys

import yaml

MODULE = "github.com/prometheus-operator/prometheus-operator"
VERSION = "v0.85.0"
SUM = "h1:M5xLCLEoaW2IJfnuCwFzzpL+jSVQu3KGT84Pye+fW8s="
CRDS = ["monitoring.coreos.com_podmonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"]
HERE = os.path.dirname(os.path.abspath(__file__))


def strict(node):
    if isinstance(node, dict):
        node.pop("description", None)
        for v in node.values():
            strict(v)
        if ("properties" in node and "additionalProperties" not in node
                and not node.get("x-kubernetes-preserve-unknown-fields")):
            node["additionalProperties"] = False
    elif isinstance(node, list):
        for v in node:
            strict(v)
    return node


def main():
    info = json.loads(subprocess.run(["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"], check=True,
                                     capture_output=True, text=True, env={**os.environ, "GOFLAGS": "-mod=mod"},
                                     cwd=HERE).stdout)
    if info.get("Sum") != SUM:
        sys.exit(f"{MODULE}@{VERSION}: hash {info.get('Sum')} is not the pinned {SUM}")
    out = os.path.join(HERE, "crds")
    os.makedirs(out, exist_ok=True)
    for name in CRDS:
        with open(os.path.join(info["Dir"], "example", "prometheus-operator-crd", name)) as f:
            crd = yaml.safe_load(f)
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"].lower()
        for v in crd["spec"]["versions"]:
            schema = strict(v["schema"]["openAPIV3Schema"])
            schema["properties"]["apiVersion"] = {"type": "string", "enum": [f"{group}/{v['name']}"]}
            schema["properties"]["kind"] = {"type": "string", "enum": [crd["spec"]["names"]["kind"]]}
            path = os.path.join(out, f"{kind}-{group}-{v['name']}.json")
            with open(path, "w") as f:
                json.dump(schema, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"{os.path.relpath(path, HERE)}: {os.path.getsize(path)} bytes ({MODULE}@{VERSION} {name})")


if __name__ == "__main__":
    main()
