#!/usr/bin/env bash
# Builds every SDK package from this checkout, installs each into a fresh environment the way an app would, and
# runs the live tests against the installed package, then the cross-language tests; exits non-zero when anything
# failed. Needs only a JDK 17, Node >= 20, Go and Python >= 3.11 with pip; the rest comes from the registries:
#   1. the packages' versions agree with the root pom (client-sdk/check-versions.sh);
#   2. build tools, cached between runs: `build` in client-sdk/.tools/py-build (requirements-build.txt),
#      client-sdk/node/node_modules (npm ci: tsc, ts-proto), the Go module cache; Maven fetches the Java ones;
#      the Go module builds and vets with the Go release its go.mod's go line names (go/check-go-version.sh);
#   3. the sidecar jar when it is missing (./mvnw -B -q -pl server -am package -DskipTests);
#   4. the checked-in generated stubs are fresh (client-sdk/generate.sh --check);
#   5. the packages, from the sources, into $RUN/pkg: the Python sdist and wheel (python -m build), the npm
#      tarball (npm pack, which builds it), the Java SDK jars (mvn install, with its JUnit live tests that start
#      their own sidecar pair);
#   6. fresh environments in $RUN/env (made anew each run): a venv with the wheel and requirements-test.txt; an
#      npm project with the tarball (its dependencies resolved from the registry by the package's ranges) where the
#      Node tests and example are compiled against the installed types; a Go module that requires the SDK module
#      (replaced by this checkout's) and builds the echo from it; a Maven project that depends on the installed
#      invmux-client and compiles the Java examples (client-sdk/java/examples) with the echo; each environment gets
#      a copy of its SDK's tests;
#   7. a sidecar pair (client-sdk/testing/sidecars.sh) for the rest, stopped on exit;
#   8. Python (pytest), Node (node --test) and Go (go test) live tests in those environments;
#   9. cross-language echoes through the two sidecars: Python opens / Node accepts, Go opens / Java accepts,
#      Node opens / Go accepts, Java opens / Python accepts (16 MiB each, sha256 compared on both sides).
#
# Options: --skip-java (no Java at all), --skip-java-tests (the Java SDK's JUnit tests, e.g. when the Maven build
# ran them already: its jars are still built, installed and used by the cross-language echoes), --skip-check (of
# the generated code), --only LANG (java|python|node|go|cross, repeatable).
# Logs of each step and of the sidecars: client-sdk/testing/.run/ (or $INVMUX_LIVE_DIR).
set -uo pipefail
SDK=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$SDK/.." && pwd)
RUN=${INVMUX_LIVE_DIR:-$SDK/testing/.run}
TOOLS=${INVMUX_TOOLS_DIR:-$SDK/.tools}
CROSS_BYTES=${INVMUX_CROSS_BYTES:-16777216}
PKG=$RUN/pkg ENVDIR=$RUN/env
mkdir -p "$RUN"

skip_java=false skip_java_tests=false skip_check=false only=()
while [ $# -gt 0 ]; do
  case $1 in
    --skip-java) skip_java=true ;;
    --skip-java-tests) skip_java_tests=true ;;
    --skip-check) skip_check=true ;;
    --only) only+=("$2"); shift ;;
    -h|--help) sed -n '2,27p' "$0"; exit 0 ;;
    *) echo "run-live-tests.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
wanted() { [ ${#only[@]} = 0 ] && return 0; local o; for o in "${only[@]}"; do [ "$o" = "$1" ] && return 0; done; return 1; }
want_python=false want_node=false want_go=false want_java=false
if wanted python || wanted cross; then want_python=true; fi
if wanted node || wanted cross; then want_node=true; fi
if wanted go || wanted cross; then want_go=true; fi
if ! $skip_java && { wanted java || wanted cross; }; then want_java=true; fi

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
    grep -E '^(# (pass|fail)|[0-9]+ passed|ok  |RESULT|installed |packed |built )|Tests run:' "$RUN/$name.log" | tail -n 8
  else
    echo "-- $name failed (exit $rc); last lines of $RUN/$name.log:"
    tail -n 40 "$RUN/$name.log"
  fi
  record "$name" $rc $((SECONDS - s))
  return $rc
}
finish() {
  say "summary"
  printf '%s\n' "${results[@]}"
  echo "live-tests: $passed passed, $failed failed"
  [ $failed = 0 ]
  exit
}

# The interpreter itself, not a shim that resolves it per user (such as pyenv's): venvs made from it work for
# whoever runs them.
PYTHON=$(python3 -c 'import sys; print(sys.executable)') || { echo "run-live-tests.sh: no python3" >&2; exit 1; }
VERSION=$(python3 "$SDK/versions.py" show) || exit 1   # the root pom's: the Java SDK's

# ---------------------------------------------------------------- 1. versions
run_step versions "$SDK/check-versions.sh"

# ---------------------------------------------------------------- 2. build tools (cached)
BUILD_PY=$TOOLS/py-build/bin/python
tools_python() {
  local stamp=$TOOLS/py-build/.invmux-installed
  if [ -x "$BUILD_PY" ] && cmp -s "$SDK/python/requirements-build.txt" "$stamp"; then echo "build venv up to date"; return 0; fi
  rm -rf "$TOOLS/py-build" &&
    "$PYTHON" -m venv "$TOOLS/py-build" &&
    "$BUILD_PY" -m pip install -q --disable-pip-version-check -r "$SDK/python/requirements-build.txt" &&
    cp "$SDK/python/requirements-build.txt" "$stamp"
}
tools_node() {
  local stamp=$SDK/node/node_modules/.invmux-installed
  if [ -d "$SDK/node/node_modules" ] && cmp -s "$SDK/node/package-lock.json" "$stamp"; then echo "node_modules up to date"; return 0; fi
  # --ignore-scripts: npm pack builds the package below (prepare); no need to build it twice
  (cd "$SDK/node" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) && cp "$SDK/node/package-lock.json" "$stamp"
}
tools_go() { (cd "$SDK/go" && go mod download); }

if $want_python; then run_step tools-python tools_python; fi
if $want_node; then run_step tools-node tools_node; fi
if $want_go; then run_step tools-go tools_go && run_step go-version "$SDK/go/check-go-version.sh"; fi

# ---------------------------------------------------------------- 3. the sidecar jar
jar() { ls "$ROOT"/server/target/invmux-server-*-all.jar 2>/dev/null | head -n 1; }
if [ -z "$(jar)" ]; then
  run_step build-sidecar-jar bash -c "cd '$ROOT' && ./mvnw -B -q -pl server -am package -DskipTests"
fi
if [ -z "$(jar)" ]; then
  echo "run-live-tests.sh: no sidecar jar; see $RUN/build-sidecar-jar.log" >&2
  exit 1
fi

# ---------------------------------------------------------------- 4. generated code is fresh
if ! $skip_check && [ ${#only[@]} = 0 ]; then
  run_step generated-code-fresh "$SDK/generate.sh" --check
fi

# ---------------------------------------------------------------- 5. packages, built from the sources
package_python() {
  rm -rf "$PKG/python" && mkdir -p "$PKG/python" &&
    "$BUILD_PY" -m build --outdir "$PKG/python" "$SDK/python" &&
    echo "built $(cd "$PKG/python" && echo *)"
}
package_node() {
  rm -rf "$PKG/node" && mkdir -p "$PKG/node" &&
    (cd "$SDK/node" && npm pack --pack-destination "$PKG/node" --loglevel=notice) &&
    echo "packed $(cd "$PKG/node" && echo *)"
}
package_java() { # $1: test|notest. Installs the parent, invmux-proto and invmux-client (+ sources, javadoc).
  local tests=(-Dtest='io.invmux.client.**' -Dsurefire.failIfNoSpecifiedTests=false)
  [ "$1" = notest ] && tests=(-DskipTests)
  (cd "$ROOT" && ./mvnw -B -ntp -pl client-sdk/java -am install "${tests[@]}") &&
    echo "installed $(cd "$HOME/.m2/repository/io/invmux/invmux-client/$VERSION" && echo *.jar)"
}
WHEEL= TARBALL=
if $want_python && run_step package-python package_python; then WHEEL=$(ls "$PKG"/python/invmux-*.whl); fi
if $want_node && run_step package-node package_node; then TARBALL=$(ls "$PKG"/node/*.tgz); fi
java_ok=false
if $want_java; then
  if wanted java && ! $skip_java_tests; then
    run_step java package_java test && java_ok=true
  else
    run_step package-java package_java notest && java_ok=true
  fi
fi

# ---------------------------------------------------------------- 6. fresh environments with the packages installed
ENV_PY=$ENVDIR/python/venv/bin/python
env_python() {
  local e=$ENVDIR/python
  rm -rf "$e" && mkdir -p "$e" &&
    "$PYTHON" -m venv "$e/venv" &&
    "$ENV_PY" -m pip install -q --disable-pip-version-check -r "$SDK/python/requirements-test.txt" "$WHEEL" &&
    cp -r "$SDK/python/tests" "$SDK/python/examples" "$e/" &&
    (cd "$e" && "$ENV_PY" -c '
import sys, invmux
assert invmux.__file__.startswith(sys.prefix), f"invmux imported from {invmux.__file__}, not from the venv"
assert invmux.__version__ == sys.argv[1], f"installed invmux {invmux.__version__}, the wheel is {sys.argv[1]}"
print(f"installed invmux {invmux.__version__} at {invmux.__file__}")' "$(basename "$WHEEL" | cut -d- -f2)")
}
env_node() {
  local e=$ENVDIR/node
  rm -rf "$e" && mkdir -p "$e" &&
    printf '{\n  "name": "invmux-node-live",\n  "private": true\n}\n' >"$e/package.json" &&
    (cd "$e" && npm install --no-audit --no-fund --loglevel=error "$TARBALL") &&
    cp -r "$SDK/node/test" "$SDK/node/examples" "$e/" &&
    # the repo's test config, with the sources here and the types of @invmux/client from node_modules here
    cat >"$e/tsconfig.json" <<JSON &&
{
  "extends": "$SDK/node/tsconfig.test.json",
  "compilerOptions": { "rootDir": ".", "outDir": "dist", "typeRoots": ["$SDK/node/node_modules/@types"] },
  "include": ["test/**/*.ts", "test/**/*.mts", "examples/**/*.ts"]
}
JSON
    (cd "$e" && "$SDK/node/node_modules/.bin/tsc" -p tsconfig.json) &&
    (cd "$e" && node -p '`installed @invmux/client ${require("@invmux/client/package.json").version} at ${require.resolve("@invmux/client")}`')
}
GO_MODULE=github.com/invmux/invmux/client-sdk/go
env_go() {
  local e=$ENVDIR/go
  rm -rf "$e" && mkdir -p "$e" &&
    (cd "$e" && go mod init invmux.test/live &&
      go mod edit -require="$GO_MODULE@v0.0.0" -replace="$GO_MODULE=$SDK/go" &&
      printf '// Imports the SDK so that go mod tidy records what it needs.\npackage live\n\nimport _ "%s/invmux"\n' \
        "$GO_MODULE" >live.go &&
      go mod tidy &&
      go vet "$GO_MODULE/..." &&
      go build -o "$e/invmux-echo" "$GO_MODULE/cmd/invmux-echo") &&
    echo "built invmux-echo from $GO_MODULE (replaced by $SDK/go)"
}
env_java() {
  local e=$ENVDIR/java
  rm -rf "$e" && mkdir -p "$e" &&
    cp -r "$SDK/java/examples/src" "$e/" &&
    cat >"$e/pom.xml" <<POM &&
<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>io.invmux.test</groupId>
  <artifactId>invmux-java-live</artifactId>
  <version>0</version>
  <properties>
    <maven.compiler.release>17</maven.compiler.release>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>io.invmux</groupId>
      <artifactId>invmux-client</artifactId>
      <version>$VERSION</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-compiler-plugin</artifactId>
        <version>3.14.1</version>
      </plugin>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-resources-plugin</artifactId>
        <version>3.3.1</version>
      </plugin>
    </plugins>
  </build>
</project>
POM
    (cd "$ROOT" && ./mvnw -B -q -ntp -f "$e/pom.xml" compile \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:build-classpath -Dmdep.outputFile="$e/classpath.txt") &&
    echo "installed $(tr ':' '\n' <"$e/classpath.txt" | grep -m1 invmux-client)"
}
py_ok=false node_ok=false go_ok=false jenv_ok=false
if $want_python && [ -n "$WHEEL" ] && run_step env-python env_python; then py_ok=true; fi
if $want_node && [ -n "$TARBALL" ] && run_step env-node env_node; then node_ok=true; fi
if $want_go && run_step env-go env_go; then go_ok=true; fi
if $java_ok && wanted cross && run_step env-java env_java; then jenv_ok=true; fi

# ---------------------------------------------------------------- 7. the shared sidecar pair
stop_sidecars() { "$SDK/testing/sidecars.sh" stop "$RUN/sidecars" >/dev/null 2>&1; }
trap stop_sidecars EXIT
trap 'exit 130' INT TERM
if $py_ok || $node_ok || $go_ok; then
  say "starting the sidecar pair"
  if ! "$SDK/testing/sidecars.sh" start "$RUN/sidecars"; then
    record sidecars 1 0
    finish
  fi
  set -a
  # shellcheck disable=SC1091
  . "$RUN/sidecars/sidecars.env"
  set +a
fi

# ---------------------------------------------------------------- 8. Python, Node, Go, against the installed packages
if wanted python && $py_ok; then
  run_step python bash -c "cd '$ENVDIR/python' && '$ENV_PY' -m pytest -q -ra -p no:cacheprovider tests"
fi
if wanted node && $node_ok; then
  run_step node bash -c "cd '$ENVDIR/node' && node --test --test-concurrency=1 dist/test/*.test.js dist/test/*.test.mjs"
fi
if wanted go && $go_ok; then
  run_step go bash -c "cd '$ENVDIR/go' && go test -count=1 '$GO_MODULE/...'"
fi

# ---------------------------------------------------------------- 9. cross-language
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
  PY_ECHO="cd '$ENVDIR/python' && exec '$ENV_PY' examples/echo.py"
  NODE_ECHO="cd '$ENVDIR/node' && exec node dist/examples/echo.js"
  GO_ECHO="exec '$ENVDIR/go/invmux-echo'"
  JAVA_ECHO="exec java -cp '$ENVDIR/java/target/classes:$(cat "$ENVDIR/java/classpath.txt" 2>/dev/null)' io.invmux.client.examples.EchoMain"
  if $py_ok && $node_ok; then run_step cross-python-to-node cross python-to-node "$NODE_ECHO accept" "$PY_ECHO open"; fi
  if $node_ok && $go_ok; then run_step cross-node-to-go cross node-to-go "$GO_ECHO accept" "$NODE_ECHO open"; fi
  if $jenv_ok && $go_ok; then run_step cross-go-to-java cross go-to-java "$JAVA_ECHO accept" "$GO_ECHO open"; fi
  if $jenv_ok && $py_ok; then run_step cross-java-to-python cross java-to-python "$PY_ECHO accept" "$JAVA_ECHO open"; fi
fi

finish
