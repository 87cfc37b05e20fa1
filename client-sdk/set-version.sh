#!/usr/bin/env bash
# client-sdk/set-version.sh X   (X.Y.Z or X.Y.Z-SNAPSHOT): sets the project version X in the root pom.xml and every
# Maven module's parent (the Java SDK among them), and X.Y.Z in the npm package (package.json, package-lock.json)
# and the Python distribution (pyproject.toml); then checks them (client-sdk/check-versions.sh). The Go module is
# versioned by its tag, client-sdk/go/vX.Y.Z (client-sdk/go/README.md).
set -euo pipefail
if [ $# != 1 ]; then echo "usage: $0 X.Y.Z[-SNAPSHOT]" >&2; exit 2; fi
exec python3 "$(dirname "$0")/versions.py" set "$1"
