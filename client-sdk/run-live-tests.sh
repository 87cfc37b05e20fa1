#!/usr/bin/env bash
# Runs every SDK's live tests against real sidecar processes, then the cross-language tests, and exits non-zero
# when anything failed:
#   1. installs each language's dependencies from its registry, cached between runs: a venv in
#      client-sdk/python/.venv (pip, requirements-test.txt), client-sdk/node/node_modules (npm ci), the Go module
#      cache (go mod download); Maven fetches the Java ones;
#   2. builds the sidecar jar when it is missing (./mvnw -B -q -pl server -am package -DskipTests);
#   3. checks that the checked-in generated stubs are fresh (client-sdk/generate.sh --check);
#   4. Java SDK tests (Maven; they start their own sidecar pair, with a TCP proxy to cut a link);
#   5. starts a sidecar pair (client-sdk/testing/sidecars.sh) for the rest, stopped on exit;
#   6. Python (pytest), Node (node --test, after tsc) and Go (go test) live tests;
#   7. cross-language echoes through the two sidecars: Python opens / Node accepts, Go opens / Java accepts,
#      Node opens / Go accepts, Java opens / Python accepts (16 MiB each, sha256 compared on both sides).
#
# Options: --skip-java, --skip-check (of the generated code), --only LANG (java|python|node|go|cross, repeatable).
# Logs of each step and of the sidecars: client-sdk/testing/.run/ (or $INVMUX_LIVE_DIR).
set -uo pipefail
SDK=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SDK/.." && pwd)
RUN=${INVMUX_LIVE_DIR:-$SDK/testing/.run}
CROSS_BYTES=${INVMUX_CROSS_BYTES:-16777216}
mkdir -p "$RUN"

skip_java=false skip_check=false only=()
while [ $# -gt 0 ]; do
  case $1 in
    --skip-java) skip_java=true ;;
    --skip-check) skip_check=true ;;
    --only) only+=("$2"); shift ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "run-live-tests.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
wanted() { [ ${#only[@]} = 0 ] && return 0; local o; for o in "${only[@]}"; do [ "$o" = "$1" ] && return 0; done; return 1; }

t0=$SECONDS
passed=0 failed=0 results=()
say() { printf '\n== [%3ds] %s\n' $((SECONDS - t0)) "$*"; }
record() { # name status seconds
  if [ "$2" = 0 ]; then passed=$((passed + 1)); results+=("PASS $1 ($3 s)"); else failed=$((failed + 1)); results+=("FAIL $1 ($3 s)"); fi
}
run_step() { # name command...: runs, logs to $RUN/<name>.log, prints the tail on failure
  local name=$1; shift
  local s=$SECONDS rc
  say "$name"
  "$@" >"$RUN/$name.log" 2>&1
  rc=$?
  if [ $rc = 0 ]; then
    grep -E '^(# (pass|fail)|[0-9]+ passed|ok  |RESULT)|Tests run:' "$RUN/$name.log" | tail -n 8
  else
    echo "-- $name failed (exit $rc); last lines of $RUN/$name.log:"
    tail -n 40 "$RUN/$name.log"
  fi
  record "$name" $rc $((SECONDS - s))
  return $rc
}

# ---------------------------------------------------------------- 1. dependencies (cached)
PY=$SDK/python/.venv/bin/python
install_python() {
  local stamp=$SDK/python/.venv/.invmux-installed
  if [ -x "$PY" ] && cmp -s "$SDK/python/requirements-test.txt" "$stamp"; then echo "python venv up to date"; return 0; fi
  python3 -m venv "$SDK/python/.venv" &&
    "$PY" -m pip install -q --disable-pip-version-check -r "$SDK/python/requirements-test.txt" &&
    "$PY" -m pip install -q --disable-pip-version-check --no-deps -e "$SDK/python" &&
    cp "$SDK/python/requirements-test.txt" "$stamp"
}
install_node() {
  local stamp=$SDK/node/node_modules/.invmux-installed
  if [ -d "$SDK/node/node_modules" ] && cmp -s "$SDK/node/package-lock.json" "$stamp"; then echo "node_modules up to date"; return 0; fi
  (cd "$SDK/node" && npm ci --no-audit --no-fund --loglevel=error) && cp "$SDK/node/package-lock.json" "$stamp"
}
install_go() { (cd "$SDK/go" && go mod download && go build -o "$RUN/invmux-echo" ./cmd/invmux-echo); }

if wanted python || wanted cross; then run_step deps-python install_python; fi
if wanted node || wanted cross; then run_step deps-node install_node; fi
if wanted go || wanted cross; then run_step deps-go install_go; fi

# ---------------------------------------------------------------- 2. the sidecar jar
jar() { ls "$ROOT"/server/target/invmux-server-*-all.jar 2>/dev/null | head -n 1; }
if [ -z "$(jar)" ]; then
  run_step build-sidecar-jar bash -c "cd '$ROOT' && ./mvnw -B -q -pl server -am package -DskipTests"
fi
if [ -z "$(jar)" ]; then
  echo "run-live-tests.sh: no sidecar jar; see $RUN/build-sidecar-jar.log" >&2
  exit 1
fi

# ---------------------------------------------------------------- 3. generated code is fresh
if ! $skip_check && [ ${#only[@]} = 0 ]; then
  run_step generated-code-fresh "$SDK/generate.sh" --check
fi

# ---------------------------------------------------------------- 4. Java (its own sidecar pair)
java_cp() { echo "$SDK/java/target/classes:$SDK/java/target/test-classes:$(cat "$SDK/java/target/test-classpath.txt")"; }
if ! $skip_java && { wanted java || wanted cross; }; then
  if wanted java; then
    run_step java bash -c "cd '$ROOT' && ./mvnw -B -ntp -pl client-sdk/java -am verify -Dtest='io.invmux.client.**' -Dsurefire.failIfNoSpecifiedTests=false"
  else
    run_step java-build bash -c "cd '$ROOT' && ./mvnw -B -q -ntp -pl client-sdk/java -am test-compile"
  fi
fi

# ---------------------------------------------------------------- 5. the shared sidecar pair
stop_sidecars() { "$SDK/testing/sidecars.sh" stop "$RUN/sidecars" >/dev/null 2>&1; }
trap stop_sidecars EXIT
trap 'exit 130' INT TERM
if wanted python || wanted node || wanted go || wanted cross; then
  say "starting the sidecar pair"
  if ! "$SDK/testing/sidecars.sh" start "$RUN/sidecars"; then
    record sidecars 1 0
    printf '%s\n' "${results[@]}"
    echo "live-tests: $passed passed, $failed failed"
    exit 1
  fi
  set -a
  # shellcheck disable=SC1091
  . "$RUN/sidecars/sidecars.env"
  set +a
fi

# ---------------------------------------------------------------- 6. Python, Node, Go
if wanted python; then
  run_step python bash -c "cd '$SDK/python' && '$PY' -m pytest -q -p no:cacheprovider tests"
fi
if wanted node; then
  run_step node bash -c "cd '$SDK/node' && npm test"
elif wanted cross; then
  run_step node-build bash -c "cd '$SDK/node' && npm run build && npm run build:test"
fi
if wanted go; then
  run_step go bash -c "cd '$SDK/go' && go vet ./... && go test -count=1 ./..."
fi

# ---------------------------------------------------------------- 7. cross-language
# cross NAME ACCEPT_COMMAND OPEN_COMMAND: the acceptor on pod-b, the opener on pod-a, one stream echoed back; the
# opener checks the echo, and here the acceptor's sha256 must equal what the opener sent.
cross() {
  local name=$1 accept=$2 open=$3 service="x-$1-$$" apid rc=0
  INVMUX_GRPC_ENDPOINT=$INVMUX_B_ENDPOINT timeout 120 bash -c "$accept --service $service" >"$RUN/$name.accept.log" 2>&1 &
  apid=$!
  INVMUX_GRPC_ENDPOINT=$INVMUX_A_ENDPOINT timeout 120 bash -c "$open --service $service --bytes $CROSS_BYTES" >"$RUN/$name.open.log" 2>&1 || rc=1
  wait $apid || rc=1
  cat "$RUN/$name.accept.log" "$RUN/$name.open.log"
  local sent got
  sent=$(sed -nE 's/^RESULT role=open .*sent_sha256=([0-9a-f]+).*/\1/p' "$RUN/$name.open.log")
  got=$(sed -nE 's/^RESULT role=accept .*sha256=([0-9a-f]+).*/\1/p' "$RUN/$name.accept.log")
  if [ -z "$sent" ] || [ "$sent" != "$got" ]; then
    echo "the acceptor's sha256 ($got) differs from what the opener sent ($sent)"
    rc=1
  fi
  return $rc
}
if wanted cross; then
  PY_ECHO="cd '$SDK/python' && exec '$PY' examples/echo.py"
  NODE_ECHO="cd '$SDK/node' && exec node dist/examples/echo.js"
  GO_ECHO="exec '$RUN/invmux-echo'"
  JAVA_ECHO="exec java -cp '$(java_cp 2>/dev/null)' io.invmux.client.examples.EchoMain"
  run_step cross-python-to-node cross python-to-node "$NODE_ECHO accept" "$PY_ECHO open"
  run_step cross-node-to-go cross node-to-go "$GO_ECHO accept" "$NODE_ECHO open"
  if ! $skip_java; then
    run_step cross-go-to-java cross go-to-java "$JAVA_ECHO accept" "$GO_ECHO open"
    run_step cross-java-to-python cross java-to-python "$PY_ECHO accept" "$JAVA_ECHO open"
  fi
fi

say "summary"
printf '%s\n' "${results[@]}"
echo "live-tests: $passed passed, $failed failed"
[ $failed = 0 ]
