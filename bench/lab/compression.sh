#!/usr/bin/env bash
# Compression in the bonding lab: one InvMux session over shaped links, goodput with each compression middleware
# ÷ without, all in one run on one lab, variants interleaved rep by rep.
#
#   compression.sh [--links 10,10,5] [--seconds 10] [--reps 3] [--variants V1,V2,...] [--no-build]
#
# Variants (each a BondingBench receiver in B and sender in A, 1 bulk stream; sha256 checked per run):
#   json-none, json-zstd, json-lz4       the EventCorpus of JSON events and log lines, without and with compression
#   random-none, random-zstd             pseudo-random bytes, without and with adaptive zstd
# Output (stdout):
#   compression: rep=R variant=V mbps=... sha256=match|MISMATCH wire_mb=...   one line per run
#   compression: links=... zstd_json_gain=<median json-zstd ÷ median json-none> lz4_json_gain=...
#                random_adaptive_ratio=<median random-zstd ÷ median random-none> targets=...
# Logs of every process are kept in bench/target/compression-<time>/. The lab is torn down at the end (trap).
set -euo pipefail

LAB_TAG=compression
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PORT=7700

links="10,10,5"
seconds=10
reps=3
build=1
variant_list="json-none,json-zstd,json-lz4,random-none,random-zstd"
while (($#)); do
    case "$1" in
    --links) links="${2:?}"; shift 2 ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    --reps) reps="${2:?}"; shift 2 ;;
    --variants) variant_list="${2:?}"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $EUID -eq 0 ]] || die "must run as root"
IFS=, read -r -a rates <<<"$links"
n=${#rates[@]}

bench_classpath "$build" BondingBench
JAVA=(java -Xmx1g -Dio.netty.leakDetection.level=disabled -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP"
    io.invmux.bench.BondingBench)

OUT="$BENCH_DIR/target/compression-$(date +%Y%m%d-%H%M%S)-${links//,/_}"
mkdir -p "$OUT"
log "logs in $OUT"

recv_pid=""
cleanup() {
    local rc=$?
    [[ -z "$recv_pid" ]] || kill "$recv_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    "$LAB" down >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


"$LAB" up --links "$links" >&2
uris=()
for ((i = 1; i <= n; i++)); do uris+=("tcp://10.77.$i.2:$PORT?bind=10.77.$i.1"); done
uri_list=$(IFS=,; echo "${uris[*]}")
wire_bytes() {
    local i s=0
    for ((i = 1; i <= n; i++)); do s=$((s + $(A cat "/sys/class/net/link$i/statistics/tx_bytes"))); done
    echo "$s"
}

declare -A samples
run() { # REP VARIANT
    local rep="$1" v="$2" data="${2%%-*}" comp="${2#*-}" tag="$1-$2"
    local opts=(--compression "$comp")
    B "${JAVA[@]}" receiver --listen "tcp://0.0.0.0:$PORT" --timeout-s $((seconds + 120)) "${opts[@]}" \
        >"$OUT/$tag.recv.out" 2>"$OUT/$tag.recv.err" &
    recv_pid=$!
    wait_listen_b "$PORT" "$recv_pid" "$OUT/$tag.recv.err"
    local before after rc=0
    before=$(wire_bytes)
    timeout $((seconds + 90)) ip netns exec "$NS_A" "${JAVA[@]}" sender --links "$uri_list" --seconds "$seconds" \
        --streams 1 --data "$data" "${opts[@]}" >"$OUT/$tag.send.out" 2>"$OUT/$tag.send.err" || rc=$?
    after=$(wire_bytes)
    ((rc == 0)) || log "warning: sender exited with $rc (see $OUT/$tag.send.err)"
    local waited=0
    while kill -0 "$recv_pid" 2>/dev/null && ((waited < 300)); do sleep 0.1; waited=$((waited + 1)); done
    kill "$recv_pid" 2>/dev/null || true
    wait "$recv_pid" 2>/dev/null || true
    recv_pid=""
    local rline sha ssha rsha mbps
    rline=$(grep '^bondrecv: bytes=' "$OUT/$tag.recv.out" || true)
    mbps=$(kv mbps "$rline")
    ssha=$(sed -n 's/^bondsend: stream=.* sha256=\([^ ]*\).*/\1/p' "$OUT/$tag.send.out" | head -n 1)
    rsha=$(sed -n 's/^bondrecv: stream=.* sha256=\([^ ]*\).*/\1/p' "$OUT/$tag.recv.out" | head -n 1)
    sha=MISMATCH
    [[ -n "$ssha" && "$ssha" == "$rsha" ]] && sha=match
    echo "compression: rep=$rep variant=$v mbps=${mbps:-0} sha256=$sha wire_mb=$(awk -v b=$((after - before)) 'BEGIN { printf "%.1f", b / 1e6 }') $(sed -n 's/^bondsend: compression=/compression=/p' "$OUT/$tag.send.out")"
    samples[$v]+="${mbps:-0} "
}

IFS=, read -r -a variants <<<"$variant_list"
for ((r = 1; r <= reps; r++)); do
    for v in "${variants[@]}"; do run "$r" "$v"; done
done

median() { tr ' ' '\n' <<<"$1" | { grep -v '^$' || true; } | sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print 0; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "-" }'; }
jn=$(median "${samples[json-none]:-}")
jz=$(median "${samples[json-zstd]:-}")
jl=$(median "${samples[json-lz4]:-}")
rn=$(median "${samples[random-none]:-}")
rz=$(median "${samples[random-zstd]:-}")
echo "compression: links=$links seconds=$seconds reps=$reps json_none_mbps=$jn json_zstd_mbps=$jz json_lz4_mbps=$jl" \
    "random_none_mbps=$rn random_zstd_mbps=$rz zstd_json_gain=$(ratio "$jz" "$jn") lz4_json_gain=$(ratio "$jl" "$jn")" \
    "random_adaptive_ratio=$(ratio "$rz" "$rn") targets=zstd_json_gain>=3,random_adaptive_ratio>=0.98"
