"""The project's one version, and the packages that must carry it.

The root pom.xml's <revision> property is the project's version (X.Y.Z, or X.Y.Z-SNAPSHOT between releases), the
one place it is written by hand. It maps to:
  - every Maven module, the Java SDK (client-sdk/java/pom.xml) among them: its <version> and its <parent><version>
    are ${revision} (the flatten plugin writes the resolved version into installed poms), and the sidecar's
    `invmux --version` is read from the built jar;
  - the container image's label (docker/Dockerfile, ARG VERSION) and the Kubernetes image tag
    (k8s/base/kustomization.yaml, newTag): X.Y.Z;
  - the npm package (client-sdk/node/package.json and its package-lock.json) and the Python distribution
    (client-sdk/python/pyproject.toml): X.Y.Z, without -SNAPSHOT (npm would read "-SNAPSHOT" as a pre-release
    that sorts before X.Y.Z, and PEP 440 has no such suffix);
  - the Go module: no version in its files; a release is the tag client-sdk/go/vX.Y.Z (client-sdk/go/README.md).

  python3 client-sdk/versions.py check    exit 1, naming each package whose version disagrees with the root pom
  python3 client-sdk/versions.py set X    set the root pom's revision, the image label and tag and the SDK packages
  python3 client-sdk/versions.py show     print the root pom's version
Wrapped by client-sdk/check-versions.sh and client-sdk/set-version.sh. Needs Python >= 3.11 (tomllib).
"""

import json
import pathlib
import re
import sys
import tomllib
import xml.etree.ElementTree as ET

ROOT = pathlib.Path(__file__).resolve().parent.parent
POM_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
VERSION_RULE = re.compile(r"^\d+\.\d+\.\d+(-SNAPSHOT)?$")
SNAPSHOT = "-SNAPSHOT"

ROOT_POM = ROOT / "pom.xml"
NODE_PACKAGE = ROOT / "client-sdk/node/package.json"
NODE_LOCK = ROOT / "client-sdk/node/package-lock.json"
PYPROJECT = ROOT / "client-sdk/python/pyproject.toml"
DOCKERFILE = ROOT / "docker/Dockerfile"
KUSTOMIZATION = ROOT / "k8s/base/kustomization.yaml"
REVISION_REF = "${revision}"

# the root pom's <revision> property
ROOT_REVISION = re.compile(r"(<revision>)([^<]*)(</revision>)")
DOCKER_VERSION = re.compile(r"^(ARG VERSION=)(\S*)()", re.MULTILINE)
KUSTOMIZE_TAG = re.compile(r"^(\s*newTag:\s*)(\S*)()", re.MULTILINE)
PYPROJECT_VERSION = re.compile(r'^(version\s*=\s*")([^"]*)(")', re.MULTILINE)


def rel(p: pathlib.Path) -> str:
    return str(p.relative_to(ROOT))


def root_version() -> str:
    v = ET.parse(ROOT_POM).getroot().findtext("m:properties/m:revision", namespaces=POM_NS)
    if not v:
        sys.exit(f"versions: {rel(ROOT_POM)} has no <properties><revision>")
    return v.strip()


def module_poms() -> list[pathlib.Path]:
    modules = ET.parse(ROOT_POM).getroot().findall("m:modules/m:module", POM_NS)
    return [ROOT / m.text.strip() / "pom.xml" for m in modules]


def package_version(project_version: str) -> str:
    return project_version.removesuffix(SNAPSHOT)


def actual_versions() -> list[tuple[str, str, str]]:
    """(what, version found, version wanted) for everything that must follow the root pom."""
    project = root_version()
    pkg = package_version(project)
    found = []
    own = ET.parse(ROOT_POM).getroot().findtext("m:version", namespaces=POM_NS)
    found.append((f"{rel(ROOT_POM)} <version>", (own or "").strip(), REVISION_REF))
    for pom in module_poms():
        parent = ET.parse(pom).getroot().findtext("m:parent/m:version", namespaces=POM_NS)
        found.append((f"{rel(pom)} <parent><version>", (parent or "").strip(), REVISION_REF))
    for path, pattern, what in ((DOCKERFILE, DOCKER_VERSION, "ARG VERSION"), (KUSTOMIZATION, KUSTOMIZE_TAG, "newTag")):
        m = pattern.search(path.read_text())
        found.append((f"{rel(path)} {what}", m.group(2) if m else "", pkg))
    found.append((f"{rel(NODE_PACKAGE)} version", json.loads(NODE_PACKAGE.read_text())["version"], pkg))
    lock = json.loads(NODE_LOCK.read_text())
    found.append((f"{rel(NODE_LOCK)} version", lock.get("version", ""), pkg))
    found.append((f'{rel(NODE_LOCK)} packages[""].version', lock.get("packages", {}).get("", {}).get("version", ""), pkg))
    py = tomllib.loads(PYPROJECT.read_text())["project"]["version"]
    found.append((f"{rel(PYPROJECT)} [project] version", py, pkg))
    return found


def check() -> int:
    project = root_version()
    bad = [(what, got, want) for what, got, want in actual_versions() if got != want]
    for what, got, want in bad:
        print(f"check-versions: {what} is {got!r}, but the root pom.xml says {project} "
              f"(so it must be {want!r}); client-sdk/set-version.sh X sets them all", file=sys.stderr)
    if bad:
        return 1
    print(f"check-versions: every package carries the project version {project} "
          f"(npm and Python: {package_version(project)})")
    return 0


def substitute(path: pathlib.Path, pattern: re.Pattern, value: str) -> None:
    text = path.read_text()
    new, n = pattern.subn(lambda m: m.group(1) + value + m.group(3), text, count=1)
    if n != 1:
        sys.exit(f"set-version: found no version to set in {rel(path)} (pattern {pattern.pattern!r})")
    path.write_text(new)


def set_version(version: str) -> int:
    if not VERSION_RULE.match(version):
        print(f"set-version: {version!r} is not a version: use X.Y.Z or X.Y.Z-SNAPSHOT", file=sys.stderr)
        return 2
    pkg = package_version(version)
    substitute(ROOT_POM, ROOT_REVISION, version)
    substitute(DOCKERFILE, DOCKER_VERSION, pkg)
    substitute(KUSTOMIZATION, KUSTOMIZE_TAG, pkg)
    for path in (NODE_PACKAGE, NODE_LOCK):
        data = json.loads(path.read_text())
        data["version"] = pkg
        if path == NODE_LOCK:
            data["packages"][""]["version"] = pkg
        # npm writes two-space JSON with a final newline; keep it so, so that npm's next write changes nothing
        path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    substitute(PYPROJECT, PYPROJECT_VERSION, pkg)
    print(f"set-version: root pom revision {version}; image label and tag, npm and Python packages {pkg}")
    return check()


def main(argv: list[str]) -> int:
    if argv[:1] == ["check"] and len(argv) == 1:
        return check()
    if argv[:1] == ["show"] and len(argv) == 1:
        print(root_version())
        return 0
    if argv[:1] == ["set"] and len(argv) == 2:
        return set_version(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
