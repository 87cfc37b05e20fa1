#!/usr/bin/env bash
# Fails, naming each one, when a package's version disagrees with the project version in the root pom.xml: every
# Maven module's parent (the Java SDK among them), the npm package and the Python distribution (X.Y.Z for a root
# X.Y.Z or X.Y.Z-SNAPSHOT). The rules: client-sdk/versions.py.
set -euo pipefail
exec python3 "$(dirname "$0")/versions.py" check
