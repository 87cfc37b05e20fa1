#!/usr/bin/env bash
# Request/response latency under bulk load on the lab: 1 KiB requests on an InvMux INTERACTIVE or REDUNDANT stream
# while a BULK stream of the same session fills the links, and the same over kernel MPTCP (one MPTCP connection for
# the requests while another carries the bulk); then one link turns bad mid-run. Variants interleaved rep by rep.
#
#   latency.sh [--links 40,20,10] [--delay-ms 0|D] [--reps 2] [--variants interactive,redundant,mptcp]
#              [--rate 50] [--unloaded-s 30] [--loaded-s 30] [--fault-s 20] [--fault-link 1] [--no-build]
#
# Each run (LatencyBench client in A, server in B; mptcp: both under mptcpize, plain sockets):
#   2 s warm-up, --unloaded-s of requests alone, then the bulk starts; after a 2 s ramp, --loaded-s of requests
#   under load; then (unless --fault-s 0) link --fault-link is shaped to 1 Mbit/s (rate_cut), and --fault-s/2
#   later it also drops 10 % of its packets both ways (loss, nftables), until the run ends. Requests go out
#   open-loop at --rate per second; a request's time runs from when it was due (LatencyBench's javadoc).
#   Variants: interactive, redundant, bulk (the request stream as a plain BULK stream), mptcp.
# Output (stdout):
#   latency: rep=R variant=V unloaded_p50_ms=... unloaded_p99_ms=... loaded_p50_ms=... loaded_p99_ms=...
#            ratio=<loaded p99 / unloaded p99> bulk_mbps=... rate_cut_p99_ms=... rate_cut_vs_loaded=...
#            rate_cut_recovery_ms=... loss_p99_ms=... loss_vs_loaded=... loss_recovery_ms=... ...
#   latency: links=... delay_ms=... reps=R <variant>_ratio=<median over reps> ... targets=...
#            (targets: loaded p99 <= 2x unloaded p99 per variant; redundant p99 after each fault <= 1.2x the loaded
#            p99; interactive back under its loaded p99 within 300 ms of each fault)
# Logs of every process (MuxSession at info) and a 100 ms per-link trace of each InvMux client (queued bytes, rate,
# RTT, state: BondingBench's format) are kept in bench/target/latency-<time>/. The lab is torn down at the end (trap).
set -euo pipefail

LAB_TAG=latency
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PORT=7710
TCP_PORT=7711

links="40,20,10"
delays=0
reps=2
variant_list="interactive,redundant,mptcp"
rate=50
unloaded_s=30
loaded_s=30
fault_s=20
fault_link=1
build=1
while (($#)); do
    case "$1" in
    --links) links="${2:?}"; shift 2 ;;
    --delay-ms) delays="${2:?}"; shift 2 ;;
    --reps) reps="${2:?}"; shift 2 ;;
    --variants) variant_list="${2:?}"; shift 2 ;;
    --rate) rate="${2:?}"; shift 2 ;;
    --unloaded-s) unloaded_s="${2:?}"; shift 2 ;;
    --loaded-s) loaded_s="${2:?}"; shift 2 ;;
    --fault-s) fault_s="${2:?}"; shift 2 ;;
    --fault-link) fault_link="${2:?}"; shift 2 ;;
    --no-build) build=0; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ $EUID -eq 0 ]] || die "must run as root"
IFS=, read -r -a rates <<<"$links"
n=${#rates[@]}
IFS=, read -r -a variants <<<"$variant_list"
for v in "${variants[@]}"; do
    [[ "$v" =~ ^(interactive|redundant|bulk|mptcp)$ ]] || die "unknown variant '$v'"
done
((fault_link >= 1 && fault_link <= n)) || die "--fault-link $fault_link: no such link"
if ! command -v mptcpize >/dev/null; then
    log "installing mptcpize"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends mptcpize >/dev/null ||
        { apt-get update -qq && apt-get install -y -qq --no-install-recommends mptcpize >/dev/null; }
fi

bench_classpath "$build" LatencyBench
# shellcheck disable=SC2206
JAVA=(java -Xmx512m -Dio.netty.leakDetection.level=disabled -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS
    -Dorg.slf4j.simpleLogger.log.io.invmux.internal.session.MuxSession=info ${BENCH_JAVA_OPTS:-} -cp "$CP"
    io.invmux.bench.LatencyBench)

OUT="$BENCH_DIR/target/latency-$(date +%Y%m%d-%H%M%S)-${links//,/_}-d$delays"
mkdir -p "$OUT"
log "logs in $OUT"

server_pid=""
event_pid=""
restore_fault_link() {
    "$LAB" unloss "$fault_link" 2>/dev/null || true
    "$LAB" shape "$fault_link" "${rates[$((fault_link - 1))]}" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    [[ -z "$event_pid" ]] || kill "$event_pid" 2>/dev/null || true
    [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    "$LAB" down >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$LAB" up --links "$links" --delay-ms "$delays" >&2
"$LAB" mptcp
cc=$(A cat /proc/sys/net/ipv4/tcp_congestion_control)
log "kernel $(uname -r), cc $cc, links $links, delay $delays ms, $rate requests/s," \
    "${unloaded_s}s unloaded, ${loaded_s}s loaded, ${fault_s}s fault on link $fault_link"
uris=()
for ((i = 1; i <= n; i++)); do uris+=("tcp://10.77.$i.2:$PORT?bind=10.77.$i.1"); done
uri_list=$(IFS=,; echo "${uris[*]}")

# The fault, timed from the bulk's start (the client writes it to START): rate cut when the loaded phase ends, 10 %
# loss half-way through the fault phase. Each event's time (epoch ms, after its command returned) goes to EVENTS.
faults() { # START EVENTS
    while [[ ! -s "$1" ]]; do sleep 0.02; done
    local start cut_at loss_at
    start=$(cat "$1")
    cut_at=$((start + (2 + loaded_s) * 1000))
    loss_at=$((cut_at + fault_s * 500))
    sleep_until_ms "$cut_at"
    "$LAB" shape "$fault_link" 1
    echo "rate_cut $(date +%s%3N)" >>"$2"
    sleep_until_ms "$loss_at"
    "$LAB" loss "$fault_link" 10
    echo "loss $(date +%s%3N)" >>"$2"
}
sleep_until_ms() {
    local wait_ms=$(($1 - $(date +%s%3N)))
    ((wait_ms <= 0)) || sleep "$(awk -v w="$wait_ms" 'BEGIN { printf "%.3f", w / 1000 }')"
}

run() { # REP VARIANT
    local rep="$1" v="$2" tag="$1-$2" server client port=$PORT
    if [[ "$v" == mptcp ]]; then
        port=$TCP_PORT
        server=(mptcpize run "${JAVA[@]}" tcp-server --port "$TCP_PORT")
        client=(mptcpize run "${JAVA[@]}" tcp-client --connect "10.77.1.2:$TCP_PORT")
    else
        server=("${JAVA[@]}" server --listen "tcp://0.0.0.0:$PORT")
        client=("${JAVA[@]}" client --links "$uri_list" --class "$v" --trace "$OUT/$tag.trace")
    fi
    local start="$OUT/$tag.start" events="$OUT/$tag.events"
    rm -f "$start" "$events"
    # Not through B(): a function in the background is a subshell, and killing it would leave the JVM listening.
    # ip netns exec and mptcpize run exec the command, so this PID is the server's.
    ip netns exec "$NS_B" "${server[@]}" >"$OUT/$tag.server.out" 2>"$OUT/$tag.server.err" &
    server_pid=$!
    wait_listen_b "$port" "$server_pid" "$OUT/$tag.server.err"
    if ((fault_s > 0)); then
        faults "$start" "$events" >"$OUT/$tag.faults.log" 2>&1 &
        event_pid=$!
    fi
    # MPTCP: which subflows the connections have, half-way through the loaded phase.
    (
        sleep $((2 + unloaded_s + 2 + loaded_s / 2))
        A ss -HMni >"$OUT/$tag.ss-mptcp.txt" 2>&1
        A ss -Htni state established >"$OUT/$tag.ss-tcp.txt" 2>&1
    ) &
    local ss_pid=$!
    local total_s=$((2 + unloaded_s + 2 + loaded_s + fault_s + 60)) rc=0 load_before
    load_before=$(cut -d' ' -f1 /proc/loadavg)
    timeout "$total_s" ip netns exec "$NS_A" "${client[@]}" --rate "$rate" --unloaded-s "$unloaded_s" \
        --loaded-s "$loaded_s" --fault-s "$fault_s" --start-file "$start" --events "$events" \
        >"$OUT/$tag.client.out" 2>"$OUT/$tag.client.err" || rc=$?
    ((rc == 0)) || log "warning: client exited with $rc (see $OUT/$tag.client.err)"
    kill "$ss_pid" 2>/dev/null || true
    wait "$ss_pid" 2>/dev/null || true
    if [[ -n "$event_pid" ]]; then
        kill "$event_pid" 2>/dev/null || true
        wait "$event_pid" 2>/dev/null || true
        event_pid=""
    fi
    local waited=0
    while kill -0 "$server_pid" 2>/dev/null && ((waited < 50)); do sleep 0.1; waited=$((waited + 1)); done
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=""
    for ((waited = 0; waited < 100; waited++)); do # the next run's server needs the port
        [[ -z "$(B ss -Hltn "sport = :$port")" ]] && break
        sleep 0.1
    done
    restore_fault_link
    local line
    line=$(grep '^latency: ' "$OUT/$tag.client.out" || true)
    if [[ -z "$line" ]]; then
        log "rep $rep $v: no result (client: $(tail -n 3 "$OUT/$tag.client.err" | tr '\n' ' '))"
        echo "latency: rep=$rep variant=$v result=FAILED"
        return
    fi
    # the machine's 1-minute load average before and after (2 cores, shared with other jobs)
    local extra=" load=$load_before,$(cut -d' ' -f1 /proc/loadavg)"
    if [[ "$v" == mptcp ]]; then
        # TCP subflows of each MPTCP connection (ss -M counts the additional ones): 3 each = one per link
        extra+=" mptcp_subflows=$(grep -o 'subflows:[0-9]*' "$OUT/$tag.ss-mptcp.txt" | awk -F: '{ printf "%s%d", (NR > 1 ? "," : ""), $2 + 1 }')"
    fi
    echo "latency: rep=$rep variant=$v ${line#latency: }$extra"
}

results="$OUT/results.txt"
for ((r = 1; r <= reps; r++)); do
    for v in "${variants[@]}"; do
        log "rep $r/$reps: $v"
        run "$r" "$v" | tee -a "$results"
    done
done

# Summary: medians over the reps of each variant's figures, and the targets.
median_of() { # VARIANT KEY
    grep "^latency: rep=[0-9]* variant=$1 " "$results" | sed -n "s/.* $2=\([^ ]*\).*/\1/p" |
        awk '$1 == "never" { $1 = 1e12 } { v[NR] = $1 } END {
            if (NR == 0) { print "-"; exit }
            for (i = 1; i <= NR; i++) for (j = i + 1; j <= NR; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            if (m >= 1e11) print "never"; else print m }'  # a median that takes in a "never" is "never"
}
summary="latency: links=$links delay_ms=$delays cc=$cc reps=$reps rate=$rate fault_link=$fault_link"
verdicts=()
for v in "${variants[@]}"; do
    ratio=$(median_of "$v" ratio)
    summary+=" ${v}_unloaded_p99_ms=$(median_of "$v" unloaded_p99_ms) ${v}_loaded_p99_ms=$(median_of "$v" loaded_p99_ms)"
    summary+=" ${v}_ratio=$ratio"
    verdicts+=("${v}_2x_$(awk -v r="$ratio" 'BEGIN { print (r != "-" && r <= 2) ? "met" : "MISSED" }')")
    if ((fault_s > 0)); then
        for f in rate_cut loss; do
            vs=$(median_of "$v" "${f}_vs_loaded")
            rec=$(median_of "$v" "${f}_recovery_ms")
            summary+=" ${v}_${f}_vs_loaded=$vs ${v}_${f}_recovery_ms=$rec"
            if [[ "$v" == redundant ]]; then
                verdicts+=("redundant_${f}_1.2x_$(awk -v r="$vs" 'BEGIN { print (r != "-" && r <= 1.2) ? "met" : "MISSED" }')")
            elif [[ "$v" == interactive ]]; then
                verdicts+=("interactive_${f}_300ms_$(awk -v r="$rec" 'BEGIN { print (r != "never" && r != "-" && r <= 300) ? "met" : "MISSED" }')")
            fi
        done
    fi
done
echo "$summary targets=$(IFS=,; echo "${verdicts[*]}")"
