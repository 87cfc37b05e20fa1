#!/usr/bin/env bash
# Lints the API contract with buf (STANDARD and COMMENTS rules, see proto/buf.yaml) and checks it for breaking
# changes (FILE rules) against v1 as shipped: v1-baseline.binpb, the image `buf build -o v1-baseline.binpb` made of
# the v1 files. Additions need no new baseline; a deliberate break needs a v2 package, not a new baseline.
# buf comes from the npm registry, pinned, installed once into .tools/.
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
"$tools/node_modules/.bin/buf" breaking --against v1-baseline.binpb
echo "buf breaking: no breaking change against v1 (v1-baseline.binpb, FILE rules)"
