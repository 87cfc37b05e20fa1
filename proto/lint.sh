#!/usr/bin/env bash
# Lints the API contract with buf (STANDARD and COMMENTS rules, see proto/buf.yaml). buf comes from the npm
# registry, pinned, installed once into .tools/.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
version=1.75.0
tools="$root/.tools/buf-$version"
if [ ! -x "$tools/node_modules/.bin/buf" ]; then
  mkdir -p "$tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" "@bufbuild/buf@$version" >/dev/null
fi
cd "$here"
"$tools/node_modules/.bin/buf" lint
echo "buf lint: proto/ clean (buf $version, STANDARD + COMMENTS)"
