#!/usr/bin/env bash
# Generates the gRPC/protobuf stubs of the InvMux API (proto/src/main/proto/invmux/v1/*.proto) for Python, Node
# (TypeScript) and Go with PINNED generators, and ONE protoc for all three: the one grpcio-tools ships
# (`python -m grpc_tools.protoc`). The generated code is checked in:
#   client-sdk/python/src/invmux/v1/   (grpcio-tools: *_pb2.py, *_pb2.pyi, *_pb2_grpc.py)
#   client-sdk/node/src/gen/           (ts-proto with grpc-js services; also google.rpc.Status and its error
#                                       details, from googleapis-common-protos, which the Node SDK decodes from the
#                                       grpc-status-details-bin trailer: Python and Go have them in libraries)
#   client-sdk/go/invmux/v1/           (protoc-gen-go + protoc-gen-go-grpc)
# The Java stubs are not made here: Maven generates them (proto/pom.xml).
#
#   client-sdk/generate.sh           regenerate and replace the checked-in code
#   client-sdk/generate.sh --check   regenerate into a temp dir; exit 1 (with a diff) if the checked-in code differs
#
# Generators are installed on first use, from their registries, into client-sdk/.tools/ (git-ignored; override
# with INVMUX_TOOLS_DIR): a Python venv for grpcio-tools, GOBIN for the Go plugins; ts-proto is a pinned
# devDependency of client-sdk/node (npm ci, from its package-lock.json).
set -euo pipefail

# ---- pinned generator versions (change them here, then run this script and check in the result) ----
GRPCIO_TOOLS_VERSION=1.85.1        # PyPI grpcio-tools; bundles protoc (libprotoc 35.x) used for ALL languages
PROTOC_GEN_GO_VERSION=v1.36.12     # google.golang.org/protobuf/cmd/protoc-gen-go
PROTOC_GEN_GO_GRPC_VERSION=v1.6.2  # google.golang.org/grpc/cmd/protoc-gen-go-grpc
TS_PROTO_VERSION=2.18.0            # npm ts-proto (pinned in client-sdk/node/package.json devDependencies)
GOOGLEAPIS_COMMON_PROTOS_VERSION=1.76.0  # PyPI googleapis-common-protos: the google/rpc/*.proto files for Node
GO_MODULE=github.com/invmux/invmux/client-sdk/go
TS_PROTO_OPTS=outputServices=grpc-js,env=node,esModuleInterop=true,oneof=unions-value,useOptionals=none,forceLong=number,useDate=true

SDK=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SDK/.." && pwd)
PROTO_ROOT=$ROOT/proto/src/main/proto
TOOLS=${INVMUX_TOOLS_DIR:-$SDK/.tools}

check=false
case "${1:-}" in
  --check) check=true ;;
  "") ;;
  -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

log() { echo "generate.sh: $*" >&2; }

ensure_python_tools() {
  local py=$TOOLS/py/bin/python
  if [ -x "$py" ] && [ "$("$py" -c 'import importlib.metadata as m; print(m.version("grpcio-tools"), m.version("googleapis-common-protos"))' 2>/dev/null)" = "$GRPCIO_TOOLS_VERSION $GOOGLEAPIS_COMMON_PROTOS_VERSION" ]; then
    return
  fi
  log "installing grpcio-tools==$GRPCIO_TOOLS_VERSION and googleapis-common-protos==$GOOGLEAPIS_COMMON_PROTOS_VERSION into $TOOLS/py"
  python3 -m venv "$TOOLS/py"
  "$py" -m pip install -q --disable-pip-version-check "grpcio-tools==$GRPCIO_TOOLS_VERSION" \
    "googleapis-common-protos==$GOOGLEAPIS_COMMON_PROTOS_VERSION"
}

ensure_go_tools() {
  local bin=$TOOLS/go-bin
  if [ -x "$bin/protoc-gen-go" ] && [ -x "$bin/protoc-gen-go-grpc" ] \
     && [ "$("$bin/protoc-gen-go" --version 2>/dev/null)" = "protoc-gen-go $PROTOC_GEN_GO_VERSION" ] \
     && [ "$("$bin/protoc-gen-go-grpc" --version 2>/dev/null)" = "protoc-gen-go-grpc ${PROTOC_GEN_GO_GRPC_VERSION#v}" ]; then
    return
  fi
  log "installing protoc-gen-go@$PROTOC_GEN_GO_VERSION and protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION into $bin"
  mkdir -p "$bin"
  GOBIN=$bin GOFLAGS=-mod=mod go install "google.golang.org/protobuf/cmd/protoc-gen-go@$PROTOC_GEN_GO_VERSION"
  GOBIN=$bin GOFLAGS=-mod=mod go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@$PROTOC_GEN_GO_GRPC_VERSION"
}

ensure_node_tools() {
  local installed
  installed=$(node -p 'require(process.argv[1]).version' "$SDK/node/node_modules/ts-proto/package.json" 2>/dev/null || true)
  if [ "$installed" != "$TS_PROTO_VERSION" ]; then
    log "installing client-sdk/node devDependencies (npm ci) for ts-proto $TS_PROTO_VERSION"
    # --ignore-scripts: the package's prepare (its tsc build) is not needed to generate, and must not stop it
    (cd "$SDK/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
    installed=$(node -p 'require(process.argv[1]).version' "$SDK/node/node_modules/ts-proto/package.json")
    if [ "$installed" != "$TS_PROTO_VERSION" ]; then
      echo "generate.sh: client-sdk/node/package.json pins ts-proto $installed, this script $TS_PROTO_VERSION: make them agree" >&2
      exit 1
    fi
  fi
}

generate() { # $1: output dir (gets python/ node/ go/)
  local out=$1 protoc=("$TOOLS/py/bin/python" -m grpc_tools.protoc)
  local files
  files=$(cd "$PROTO_ROOT" && find invmux -name '*.proto' | LC_ALL=C sort)
  mkdir -p "$out/python" "$out/node" "$out/go"
  # shellcheck disable=SC2086
  (cd "$PROTO_ROOT" && "${protoc[@]}" -I . \
      --python_out="$out/python" --pyi_out="$out/python" --grpc_python_out="$out/python" $files)
  printf '# Generated by client-sdk/generate.sh: protobuf and gRPC stubs of the InvMux API (package invmux.v1).\n' \
    > "$out/python/invmux/v1/__init__.py"
  # shellcheck disable=SC2086
  (cd "$PROTO_ROOT" && "${protoc[@]}" -I . \
      --plugin=protoc-gen-go="$TOOLS/go-bin/protoc-gen-go" --go_out="$out/go" --go_opt=module=$GO_MODULE \
      --plugin=protoc-gen-go-grpc="$TOOLS/go-bin/protoc-gen-go-grpc" --go-grpc_out="$out/go" \
      --go-grpc_opt=module=$GO_MODULE $files)
  # shellcheck disable=SC2086
  (cd "$PROTO_ROOT" && "${protoc[@]}" -I . \
      --plugin=protoc-gen-ts_proto="$SDK/node/node_modules/.bin/protoc-gen-ts_proto" \
      --ts_proto_out="$out/node" --ts_proto_opt=$TS_PROTO_OPTS $files)
  # google.rpc.Status and the error details the sidecar sends, for the Node SDK's errors (src/errors.ts)
  local common
  common=$("$TOOLS/py/bin/python" -c 'import google.rpc, os; print(os.path.dirname(os.path.dirname(google.rpc.__path__[0])))')
  (cd "$common" && "${protoc[@]}" -I . \
      --plugin=protoc-gen-ts_proto="$SDK/node/node_modules/.bin/protoc-gen-ts_proto" \
      --ts_proto_out="$out/node" --ts_proto_opt=$TS_PROTO_OPTS \
      google/rpc/status.proto google/rpc/error_details.proto)
}

# checked-in location <- generated location
PAIRS=(
  "python/src/invmux/v1:python/invmux/v1"
  "node/src/gen:node"
  "go/invmux/v1:go/invmux/v1"
)

ensure_python_tools
ensure_go_tools
ensure_node_tools

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
generate "$tmp"

if $check; then
  status=0
  for p in "${PAIRS[@]}"; do
    dst=${p%%:*} src=${p#*:}
    if ! diff -ru "$tmp/$src" "$SDK/$dst" > "$tmp/diff.txt" 2>&1; then
      echo "generate.sh --check: client-sdk/$dst is stale or edited by hand; run client-sdk/generate.sh and check in the result:" >&2
      head -n 60 "$tmp/diff.txt" >&2
      status=1
    fi
  done
  [ $status = 0 ] && log "generated code is up to date (python, node, go)"
  exit $status
fi

for p in "${PAIRS[@]}"; do
  dst=${p%%:*} src=${p#*:}
  rm -rf "${SDK:?}/$dst"
  mkdir -p "$(dirname "$SDK/$dst")"
  cp -r "$tmp/$src" "$SDK/$dst"
  log "wrote client-sdk/$dst ($(find "$SDK/$dst" -type f | wc -l) files)"
done
