#!/usr/bin/env python3
"""Regenerates the offline JSON schemas of cert-manager's Certificate, Issuer and ClusterIssuer under
k8s/schemas/cert-manager-<version>/, which k8s/validate.sh checks the manifests' cert-manager objects with.

Source: cert-manager's own CustomResourceDefinitions (deploy/crds/cert-manager.io_*.yaml) in its Go module, pinned
below with the module's checksum (the h1: hash go.sum and the Go checksum database use), fetched from the Go module
proxy with `go mod download`. Each CRD's openAPIV3Schema becomes one JSON schema file named as kubeconform's
-schema-location template looks it up ({kind}-{group's first label}-{version}.json), made strict the way
kubeconform's openapi2jsonschema does it: additionalProperties false on every object that lists its properties
(unless the CRD says x-kubernetes-preserve-unknown-fields), x-kubernetes-int-or-string as string-or-integer, and
the description texts dropped.

    python3 k8s/schemas/cert_manager.py           # go mod download of the pinned module, writes the files
    python3 k8s/schemas/cert_manager.py DIR       # uses an unpacked module directory (checksum not checked)

Nothing else reads the network: k8s/validate.sh only reads the files this writes.
"""
import json
import os
import subprocess
import sys

import yaml

MODULE = "github.com/cert-manager/cert-manager"
VERSION = "v1.21.2"
MODULE_SUM = "h1:UWgoYM+KLNtRlqmoWOKjKBOBUPVHeepQ6/ac3ERJW68="
CRDS = ["cert-manager.io_certificates.yaml", "cert-manager.io_issuers.yaml", "cert-manager.io_clusterissuers.yaml"]
HERE = os.path.dirname(os.path.abspath(__file__))


def module_dir():
    r = subprocess.run(["go", "mod", "download", "-json", f"{MODULE}@{VERSION}"], capture_output=True, text=True,
                       env={**os.environ, "GOFLAGS": "-mod=mod"}, cwd=HERE)
    if r.returncode != 0:
        raise SystemExit(f"go mod download {MODULE}@{VERSION} failed:\n{r.stdout}{r.stderr}")
    info = json.loads(r.stdout)
    if info.get("Sum") != MODULE_SUM:
        raise SystemExit(f"{MODULE}@{VERSION}: checksum {info.get('Sum')}, expected {MODULE_SUM}")
    return info["Dir"]


def strict(node, names=False):
    """The schema made strict (see the module's doc); names: node maps property names to schemas."""
    if isinstance(node, list):
        return [strict(v) for v in node]
    if not isinstance(node, dict):
        return node
    if names:  # keys are field names (one may well be "description"), values are schemas
        return {k: strict(v) for k, v in node.items()}
    out = {k: strict(v, names=k in ("properties", "patternProperties")) for k, v in node.items()
           if k != "description"}
    if out.pop("x-kubernetes-int-or-string", False):
        out.pop("type", None)
        out["oneOf"] = [{"type": "string"}, {"type": "integer"}]
    preserve = out.pop("x-kubernetes-preserve-unknown-fields", False)
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else module_dir()
    out_dir = os.path.join(HERE, f"cert-manager-{VERSION}")
    os.makedirs(out_dir, exist_ok=True)
    for name in CRDS:
        with open(os.path.join(src, "deploy", "crds", name)) as f:
            crd = yaml.safe_load(f)
        kind = crd["spec"]["names"]["kind"]
        group = crd["spec"]["group"].split(".")[0]
        for v in crd["spec"]["versions"]:
            if not v.get("served"):
                continue
            schema = strict(v["schema"]["openAPIV3Schema"])
            # apiVersion and kind must be exactly this CRD's (kubeconform picked the file by them, but say so).
            schema["properties"]["apiVersion"] = {"enum": [f"{crd['spec']['group']}/{v['name']}"]}
            schema["properties"]["kind"] = {"enum": [kind]}
            schema["$schema"] = "http://json-schema.org/draft-04/schema#"
            schema["$comment"] = (f"cert-manager {VERSION} {kind} {v['name']}, from {MODULE}@{VERSION} "
                                  f"deploy/crds/{name}, made strict by k8s/schemas/cert_manager.py")
            path = os.path.join(out_dir, f"{kind.lower()}-{group}-{v['name']}.json")
            with open(path, "w") as f:
                json.dump(schema, f, indent=1, sort_keys=True)
                f.write("\n")
            print(f"wrote {os.path.relpath(path, os.path.dirname(HERE))}")


if __name__ == "__main__":
    main()
