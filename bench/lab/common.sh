# Shared by the lab's benchmark drivers (bonding.sh, compression.sh, latency.sh): sourced, never run.
# Before sourcing, set LAB_TAG to the driver's name (it prefixes log lines).
# shellcheck shell=bash

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BENCH_DIR="$(cd "$LAB_DIR/.." && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"
LAB="$LAB_DIR/lab.sh"
export LAB_PREFIX="${LAB_PREFIX:-imux}"
NS_A="${LAB_PREFIX}-a"
NS_B="${LAB_PREFIX}-b"

log() { echo "${LAB_TAG:-lab}: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}
A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }
kv() { # kv KEY LINE -> value of KEY=... in LINE
    sed -n "s/.*[ :]$1=\([^ ]*\).*/\1/p" <<<"$2" | head -n 1
}

# bench_classpath BUILD CLASS: builds the bench (package only: never install into the shared ~/.m2) when BUILD is 1,
# and sets CP to the bench's classes and runtime classpath. Always rebuild unless told not to: the bench runs the
# modules' target/ classes, which may predate the sources.
bench_classpath() {
    local build="$1" class="$2" cpfile="$BENCH_DIR/target/classpath.txt"
    if ((build)); then
        log "building (./mvnw -B -q -pl bench -am package -DskipTests)"
        (cd "$ROOT" && ./mvnw -B -q -pl bench -am package -DskipTests)
    elif [[ ! -s "$cpfile" || ! -f "$BENCH_DIR/target/classes/io/invmux/bench/$class.class" ]]; then
        die "bench classes missing; run without --no-build"
    fi
    CP="$BENCH_DIR/target/classes:$(cat "$cpfile")"
}

# wait_listen_b PORT PID [ERRFILE]: until something listens on PORT in B; dies, with ERRFILE (the server's stderr),
# if PID (the server) exits first.
wait_listen_b() {
    local _
    for _ in $(seq 200); do
        [[ -n "$(B ss -Hltn "sport = :$1")" ]] && return 0
        kill -0 "$2" 2>/dev/null || die "server exited before listening on port $1: $(cat "${3:-/dev/null}")"
        sleep 0.05
    done
    die "nothing listens on port $1 in $NS_B"
}
