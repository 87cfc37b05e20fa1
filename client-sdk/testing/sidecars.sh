#!/usr/bin/env bash
# Starts (or stops) a pair of real InvMux sidecar processes for the SDKs' live tests:
#   pod-b: API on a free loopback port, accepting peer links on two free loopback ports;
#   pod-a: API on a free loopback port, peer "pod-b" with two links (one to each of pod-b's link ports).
# An app on A opens streams with peer "pod-b"; an app on B accepts them.
#
#   client-sdk/testing/sidecars.sh start [DIR]   start both, wait until A is ready with 2 links, write DIR/sidecars.env
#   client-sdk/testing/sidecars.sh stop  [DIR]   SIGTERM both (they drain and exit 0), SIGKILL after 20 s
#   client-sdk/testing/sidecars.sh status [DIR]
#
# DIR (default: $INVMUX_SIDECARS_DIR or client-sdk/testing/.run) gets a.log, b.log, the pids and sidecars.env:
#   INVMUX_A_ENDPOINT=127.0.0.1:<port>   API of pod-a (the opener's sidecar)
#   INVMUX_B_ENDPOINT=127.0.0.1:<port>   API of pod-b (the acceptor's sidecar)
#   INVMUX_PEER=pod-b                    the name A knows B by
#   INVMUX_LINK_PORTS="<p1> <p2>"        pod-b's peer-link ports
# Extra JVM flags of the sidecars: $INVMUX_SIDECAR_JAVA_OPTS (default -Xmx768m).
# The jar is $INVMUX_JAR or server/target/invmux-server-*-all.jar (build: ./mvnw -B -q -pl server -am package -DskipTests).
set -euo pipefail
SDK=$(cd "$(dirname "$0")/.." && pwd)
ROOT=$(cd "$SDK/.." && pwd)
cmd=${1:-}
DIR=${2:-${INVMUX_SIDECARS_DIR:-$SDK/testing/.run}}
READY_TIMEOUT=${INVMUX_SIDECARS_TIMEOUT:-90}

die() { echo "sidecars.sh: $*" >&2; exit 1; }

find_jar() {
  if [ -n "${INVMUX_JAR:-}" ]; then
    [ -f "$INVMUX_JAR" ] || die "INVMUX_JAR=$INVMUX_JAR does not exist"
    echo "$INVMUX_JAR"; return
  fi
  local j
  for j in "$ROOT"/server/target/invmux-server-*-all.jar; do
    if [ -f "$j" ]; then echo "$j"; return; fi
  done
  die "no sidecar jar in server/target; build it: (cd $ROOT && ./mvnw -B -q -pl server -am package -DskipTests), or set INVMUX_JAR"
}

# waits until FILE has a line matching REGEX (or the process PID died, or the timeout passed); prints the line
wait_for_line() {
  local file=$1 regex=$2 pid=$3 deadline=$((SECONDS + READY_TIMEOUT)) line
  while [ $SECONDS -lt $deadline ]; do
    if line=$(grep -E -m1 "$regex" "$file" 2>/dev/null); then echo "$line"; return 0; fi
    kill -0 "$pid" 2>/dev/null || { echo "sidecars.sh: sidecar (pid $pid) exited; its log $file:" >&2; tail -n 30 "$file" >&2; return 1; }
    sleep 0.1
  done
  echo "sidecars.sh: no line matching '$regex' in $file after ${READY_TIMEOUT}s; log:" >&2
  tail -n 30 "$file" >&2
  return 1
}

stop_pid() { # $1 pid file
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
      echo "sidecars.sh: pid $pid did not exit 20 s after SIGTERM; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$f"
}

free_ports() { # prints N free loopback TCP ports
  python3 -c 'import socket,sys
socks=[socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$1"
}

# The sidecar reads every INVMUX_* environment variable as configuration and refuses unknown ones (such as the
# SDKs' INVMUX_GRPC_ENDPOINT, or the launcher's INVMUX_JAR): run it with none of them, and the launcher's JVM flags.
run_sidecar() { # $1 log file, rest: sidecar arguments
  local log=$1; shift
  local unset=() v
  for v in $(compgen -e); do case $v in INVMUX_*) unset+=(-u "$v") ;; esac; done
  env "${unset[@]}" "${JAVA_HOME:+$JAVA_HOME/bin/}java" -XX:+UseContainerSupport -XX:+ExitOnOutOfMemoryError \
      --add-opens java.base/java.nio=ALL-UNNAMED -Dio.netty.tryReflectionSetAccessible=true \
      ${INVMUX_SIDECAR_JAVA_OPTS:--Xmx768m} -jar "$JAR" sidecar "$@" >"$log" 2>&1 &
  echo $!
}

start_once() {
  local bpid apid line api_a api_b l1 l2
  rm -f "$DIR/sidecars.env" "$DIR/a.log" "$DIR/b.log"
  read -r l1 l2 < <(free_ports 2)
  bpid=$(run_sidecar "$DIR/b.log" --set identity=pod-b --set api.address=127.0.0.1:0 --set admin.address= \
      --set listeners.0=tcp://127.0.0.1:$l1 --set listeners.1=tcp://127.0.0.1:$l2)
  echo "$bpid" >"$DIR/b.pid"
  # the API port is bound (port 0) and logged once the listeners are up
  line=$(wait_for_line "$DIR/b.log" "sidecar 'pod-b' API on " "$bpid") || return 1
  api_b=${line##*:}
  wait_for_line "$DIR/b.log" "sidecar 'pod-b' ready" "$bpid" >/dev/null || return 1
  apid=$(run_sidecar "$DIR/a.log" --set identity=pod-a --set api.address=127.0.0.1:0 --set admin.address= \
      --set 'listeners=[]' --set peers.0.name=pod-b --set peers.0.links.0.address=tcp://127.0.0.1:$l1 \
      --set peers.0.links.1.address=tcp://127.0.0.1:$l2)
  echo "$apid" >"$DIR/a.pid"
  line=$(wait_for_line "$DIR/a.log" "sidecar 'pod-a' API on " "$apid") || return 1
  api_a=${line##*:}
  wait_for_line "$DIR/a.log" "sidecar 'pod-a' ready" "$apid" >/dev/null || return 1
  wait_for_line "$DIR/a.log" "up, 2 link\\(s\\)" "$apid" >/dev/null || return 1
  cat >"$DIR/sidecars.env" <<ENV
INVMUX_A_ENDPOINT=127.0.0.1:$api_a
INVMUX_B_ENDPOINT=127.0.0.1:$api_b
INVMUX_PEER=pod-b
INVMUX_LINK_PORTS="$l1 $l2"
ENV
  echo "sidecars.sh: pod-a API 127.0.0.1:$api_a (pid $apid), pod-b API 127.0.0.1:$api_b (pid $bpid), links $l1 $l2; env in $DIR/sidecars.env" >&2
}

start() {
  JAR=$(find_jar)
  mkdir -p "$DIR"
  stop
  local attempt
  for attempt in 1 2 3; do
    if start_once; then return 0; fi
    stop
    # a link port taken between picking and binding is the one retryable failure
    grep -q "Address already in use\|cannot bind\|BindException" "$DIR/b.log" 2>/dev/null || exit 1
    echo "sidecars.sh: a link port was taken meanwhile; trying again ($attempt)" >&2
  done
  exit 1
}

stop() {
  stop_pid "$DIR/a.pid"
  stop_pid "$DIR/b.pid"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status)
    for s in a b; do
      if [ -f "$DIR/$s.pid" ] && kill -0 "$(cat "$DIR/$s.pid")" 2>/dev/null; then echo "pod-$s: running (pid $(cat "$DIR/$s.pid"))"; else echo "pod-$s: stopped"; fi
    done
    [ -f "$DIR/sidecars.env" ] && cat "$DIR/sidecars.env" ;;
  *) echo "usage: $0 start|stop|status [DIR]" >&2; exit 2 ;;
esac
