#!/usr/bin/env bash
# InvMux bonding benchmark on the lab: each link alone and kernel MPTCP (baseline.sh), then one InvMux session
# over all links (BondingBench), 1 stream and 4 streams, all in one run on one lab.
#
#   bonding.sh --links 40,20,10 [--seconds 10] [--streams 1|4|1,4] [--schemes tcp|tls|tcp,tls] [--delay-ms D]
#              [--reshape IDX:MBIT@SEC] [--cut IDX@SEC] [--skip-baseline] [--no-build]
#
#   --streams        which InvMux runs (default 1,4: one bulk stream, then four)
#   --schemes        link schemes, each run with every --streams count (default tcp). tls: TLS 1.3 links with
#                    mutual authentication, certificates made for the run by deploy/pki.sh (openssl); B's names
#                    its link addresses 10.77.i.2, which A checks
#   --reshape I:R@T  T seconds after the bulk transfer starts, link I is shaped to R Mbit/s (lab.sh shape);
#                    restored after each run
#   --cut I@T        T seconds after the bulk transfer starts, link I goes down on both ends (lab.sh cut);
#                    brought back after each run
#   --skip-baseline  build the lab with lab.sh up and skip the iperf3 / MPTCP figures (sum and mptcp are then "-")
#   --no-build       do not run ./mvnw package (use the jars under */target as they are)
#   --no-probe       no echo probe (no latency figures); for checking the probe's effect on the balancer
#
# Environment: LAB_PREFIX, LAB_CC as for lab.sh; BENCH_ARGS: extra BondingBench arguments for BOTH sides (Config
# knobs, e.g. "--window 1m --max-window 32m"); BENCH_JAVA_OPTS: extra JVM options.
#
# Output (stdout), besides progress on stderr and the baseline: lines:
#   bonding: invmux [scheme=tls] streams=N mbps=... sent=... received=... lost_bytes=0 sha256=match p99_ms=... ...
#   bonding: invmux streams=N link=i ...                (bytes each link carried, from session.stats())
#   bonding: scenario=cut|reshape streams=N gap_ms=... lost_bytes=... before_mbps=... after_mbps=...
#            (with --cut / --reshape; before: 3 s to the event, after: event + 2 s to the end of the writes)
#   bonding: invmux streams=N first_s_mbps=... t90_s=...   (the first second's goodput; when a 1 s window first
#            reaches 0.9 of the summed single links)
#   bonding: links=40,20,10 sum=... mptcp=... invmux=<best> efficiency=<1-stream invmux/sum> invmux_1=...
#            efficiency_1=... first_s_mbps_1=... t90_s_1=... invmux_4=... efficiency_4=...
#            vs_mptcp=... best_single=... targets=... delay_ms=... cc=...      (tcp:// runs; with --schemes tcp,tls
#            also: invmux_tls=<best tls> efficiency_tls=<invmux_tls/sum> invmux_tls_1=... tls_vs_tcp=...)
# Logs of every process are kept in bench/target/bonding-<time>/. The lab is torn down at the end (trap).
set -euo pipefail

LAB_TAG=bonding
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
PORT=7700

links=""
seconds=10
streams_list="1,4"
schemes_list="tcp"
delays=0
reshape=""
cut=""
skip_baseline=0
build=1
probe=(--probe)
while (($#)); do
    case "$1" in
    --links) links="${2:?}"; shift 2 ;;
    --seconds) seconds="${2:?}"; shift 2 ;;
    --streams) streams_list="${2:?}"; shift 2 ;;
    --schemes) schemes_list="${2:?}"; shift 2 ;;
    --delay-ms) delays="${2:?}"; shift 2 ;;
    --reshape) reshape="${2:?}"; shift 2 ;;
    --cut) cut="${2:?}"; shift 2 ;;
    --skip-baseline) skip_baseline=1; shift ;;
    --no-build) build=0; shift ;;
    --no-probe) probe=(); shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
    esac
done
[[ -n "$links" ]] || die "--links R1,R2,... (Mbit/s) is required"
if [[ ! "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 2)); then die "--seconds must be an integer >= 2"; fi
[[ $EUID -eq 0 ]] || die "must run as root"
IFS=, read -r -a rates <<<"$links"
n=${#rates[@]}
IFS=, read -r -a stream_counts <<<"$streams_list"
IFS=, read -r -a schemes <<<"$schemes_list"
for s in "${schemes[@]}"; do [[ "$s" == tcp || "$s" == tls ]] || die "--schemes takes tcp and/or tls, got '$s'"; done

event_kind=""
event_link=""
event_rate=""
event_at=""
if [[ -n "$reshape" && -n "$cut" ]]; then die "give --reshape or --cut, not both"; fi
if [[ -n "$reshape" ]]; then
    [[ "$reshape" =~ ^([0-9]+):([0-9.]+)@([0-9.]+)$ ]] || die "--reshape wants IDX:MBIT@SEC, got '$reshape'"
    event_kind=reshape event_link="${BASH_REMATCH[1]}" event_rate="${BASH_REMATCH[2]}" event_at="${BASH_REMATCH[3]}"
elif [[ -n "$cut" ]]; then
    [[ "$cut" =~ ^([0-9]+)@([0-9.]+)$ ]] || die "--cut wants IDX@SEC, got '$cut'"
    event_kind=cut event_link="${BASH_REMATCH[1]}" event_at="${BASH_REMATCH[2]}"
fi
if [[ -n "$event_kind" ]] && ((event_link < 1 || event_link > n)); then die "link $event_link does not exist"; fi

bench_classpath "$build" BondingBench
# shellcheck disable=SC2206
JAVA=(java -Xmx1g -Dio.netty.leakDetection.level=disabled -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    -Dorg.slf4j.simpleLogger.showDateTime=true -Dorg.slf4j.simpleLogger.dateTimeFormat=HH:mm:ss.SSS
    -Dorg.slf4j.simpleLogger.log.io.invmux.internal.session.MuxSession=info
    -Dorg.slf4j.simpleLogger.log.io.invmux.internal.session.Dialer=info ${BENCH_JAVA_OPTS:-} -cp "$CP" io.invmux.bench.BondingBench)
# shellcheck disable=SC2206
EXTRA=(${BENCH_ARGS:-})

OUT="$BENCH_DIR/target/bonding-$(date +%Y%m%d-%H%M%S)-${links//,/_}${event_kind:+-$event_kind}"
mkdir -p "$OUT"
log "logs in $OUT"

recv_pid=""
event_pid=""
cleanup() {
    local rc=$?
    [[ -z "$event_pid" ]] || kill "$event_pid" 2>/dev/null || true
    [[ -z "$recv_pid" ]] || kill "$recv_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    "$LAB" down >/dev/null 2>&1 || true
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM


# ---- (1) lab + baselines
sum="-"
mptcp="-"
best_single="-"
best_other="-"
if ((skip_baseline)); then
    "$LAB" up --links "$links" --delay-ms "$delays"
else
    "$LAB_DIR/baseline.sh" --links "$links" --seconds "$seconds" --delay-ms "$delays" --keep \
        2> >(tee "$OUT/baseline.err" >&2) | tee "$OUT/baseline.out"
    summary=$(grep '^baseline: links=' "$OUT/baseline.out" || true)
    [[ -n "$summary" ]] || die "baseline.sh printed no summary"
    sum=$(kv sum "$summary")
    # best single link, and the best one that is not touched by --cut / --reshape
    best_single=$(grep '^baseline: link=' "$OUT/baseline.out" | sed 's/.*goodput_mbps=\([^ ]*\).*/\1/' | sort -g | tail -n 1)
    best_other=$(grep '^baseline: link=' "$OUT/baseline.out" | grep -v "^baseline: link=${event_link:-0} " |
        sed 's/.*goodput_mbps=\([^ ]*\).*/\1/' | sort -g | tail -n 1)
    mptcp=$(kv mptcp "$summary")
fi
cc=$(A cat /proc/sys/net/ipv4/tcp_congestion_control)
log "kernel $(uname -r), cc $cc, links $links, delay ${delays} ms, ${seconds}s per run"

uri_list() { # uri_list SCHEME: one link per lab link, to B's address on it, bound to A's
    local i uris=()
    for ((i = 1; i <= n; i++)); do uris+=("$1://10.77.$i.2:$PORT?bind=10.77.$i.1"); done
    (IFS=,; echo "${uris[*]}")
}
# tls: a CA and one certificate per side for this run; B's names every address A dials (A checks the URI host).
if [[ " ${schemes[*]} " == *" tls "* ]]; then
    b_sans=(DNS:bond-b)
    for ((i = 1; i <= n; i++)); do b_sans+=("IP:10.77.$i.2"); done
    "$ROOT/deploy/pki.sh" ca "$OUT/pki/ca" && "$ROOT/deploy/pki.sh" leaf "$OUT/pki/ca" "$OUT/pki/a" DNS:bond-a &&
        "$ROOT/deploy/pki.sh" leaf "$OUT/pki/ca" "$OUT/pki/b" "${b_sans[@]}" || die "could not make the TLS certificates"
fi

tx_bytes() {
    local i
    for ((i = 1; i <= n; i++)); do A cat "/sys/class/net/link$i/statistics/tx_bytes" 2>/dev/null || echo 0; done
}

# ---- (2) InvMux runs
declare -A result first_s t90_s
run_invmux() { # run_invmux STREAMS SCHEME
    local k="$1" scheme="$2" tag="invmux-$2-$1" key="$2-$1" tls_recv=() tls_send=()
    if [[ "$scheme" == tls ]]; then tls_recv=(--tls-dir "$OUT/pki/b"); tls_send=(--tls-dir "$OUT/pki/a"); fi
    local start_file="$OUT/$tag.start"
    rm -f "$start_file"
    B "${JAVA[@]}" receiver --listen "$scheme://0.0.0.0:$PORT" "${tls_recv[@]}" --json --timeout-s $((seconds + 120)) "${EXTRA[@]}" \
        >"$OUT/$tag.recv.out" 2>"$OUT/$tag.recv.err" &
    recv_pid=$!
    wait_listen_b "$PORT" "$recv_pid" "$OUT/$tag.recv.err"
    if [[ -n "$event_kind" ]]; then
        (
            while [[ ! -f "$start_file" ]]; do sleep 0.02; done
            sleep "$event_at"
            if [[ "$event_kind" == reshape ]]; then
                "$LAB" shape "$event_link" "$event_rate"
            else
                "$LAB" cut "$event_link"
            fi
            date +%s%3N >"$OUT/$tag.event"
        ) >"$OUT/$tag.event.log" 2>&1 &
        event_pid=$!
    fi
    mapfile -t before < <(tx_bytes)
    local rc=0
    timeout $((seconds + 90)) ip netns exec "$NS_A" "${JAVA[@]}" sender --links "$(uri_list "$scheme")" "${tls_send[@]}" --seconds "$seconds" \
        --streams "$k" "${probe[@]}" --start-file "$start_file" --trace "$OUT/$tag.trace" "${EXTRA[@]}" \
        >"$OUT/$tag.send.out" 2>"$OUT/$tag.send.err" || rc=$?
    mapfile -t after < <(tx_bytes)
    ((rc == 0)) || log "warning: sender exited with $rc (see $OUT/$tag.send.err)"
    local waited=0
    while kill -0 "$recv_pid" 2>/dev/null && ((waited < 300)); do sleep 0.1; waited=$((waited + 1)); done
    kill "$recv_pid" 2>/dev/null || true
    wait "$recv_pid" 2>/dev/null || true
    recv_pid=""
    if [[ -n "$event_pid" ]]; then
        kill "$event_pid" 2>/dev/null || true
        wait "$event_pid" 2>/dev/null || true
        event_pid=""
        # restore the link for the next run
        if [[ "$event_kind" == reshape ]]; then
            "$LAB" shape "$event_link" "${rates[$((event_link - 1))]}" 2>/dev/null
        else
            "$LAB" uncut "$event_link" 2>/dev/null
            sleep 1
        fi
    fi

    local sline rline
    sline=$(grep '^bondsend: bytes=' "$OUT/$tag.send.out" || true)
    rline=$(grep '^bondrecv: bytes=' "$OUT/$tag.recv.out" || true)
    if [[ -z "$sline" || -z "$rline" ]]; then
        log "invmux $scheme streams=$k: no result (sender: $(tail -n 3 "$OUT/$tag.send.err" | tr '\n' ' '); receiver: $(tail -n 3 "$OUT/$tag.recv.err" | tr '\n' ' '))"
        result[$key]="0"
        echo "bonding: invmux scheme=$scheme streams=$k mbps=0 result=FAILED"
        return
    fi
    local sent received lost mbps sha_ok=match
    sent=$(kv bytes "$sline")
    received=$(kv bytes "$rline")
    lost=$((sent - received))
    mbps=$(kv mbps "$rline")
    # sha256 per stream: sender's vs receiver's, by stream id
    while read -r line; do
        local id ssha rsha
        id=$(kv stream "$line")
        ssha=$(kv sha256 "$line")
        rsha=$(grep "^bondrecv: stream=$id " "$OUT/$tag.recv.out" | sed -n 's/.*sha256=\([^ ]*\).*/\1/p')
        if [[ "$ssha" != "$rsha" ]]; then
            sha_ok=MISMATCH
            log "stream $id: sender sha256 $ssha, receiver ${rsha:-none}"
        fi
    done < <(grep '^bondsend: stream=' "$OUT/$tag.send.out")
    local info
    info=$(grep '^bondrecv: streams=' "$OUT/$tag.recv.out" || true)
    echo "bonding: invmux scheme=$scheme streams=$k mbps=$mbps sent=$sent received=$received lost_bytes=$lost sha256=$sha_ok" \
        "max_gap_ms=$(kv max_gap_ms "$rline") idle_p50_ms=$(kv idle_p50_ms "$sline") p50_ms=$(kv p50_ms "$sline")" \
        "p99_ms=$(kv p99_ms "$sline") added_p99_ms=$(kv added_p99_ms "$sline") chunks_resent=$(kv chunks_resent "$(grep '^bondsend: chunks_sent=' "$OUT/$tag.send.out")")" \
        "reorder_high_water=$(kv reorder_high_water "$info") join_retries=$(kv join_retries "$sline")"
    echo "bonding: invmux scheme=$scheme streams=$k per_second_mbps=$(kv per_second_mbps "$(grep '^bondrecv: per_second_mbps=' "$OUT/$tag.recv.out")")"
    # Mean goodput over a window of the receiver's 100 ms delivery timeline (bins counted from the first byte):
    # steady = from 3 s to the end of the writes (leaves out the ramp-up and the drain at the end).
    local bins
    bins=$(grep -o '"timeline_100ms_bytes":\[[0-9,]*\]' "$OUT/$tag.recv.out" | sed 's/.*\[//; s/\]//')
    window_mbps() { # FROM_S TO_S
        awk -v from="$1" -v to="$2" -v bins="$bins" 'BEGIN {
            n = split(bins, b, ","); s = 0; c = 0
            for (i = int(from * 10) + 1; i <= int(to * 10) && i <= n; i++) { s += b[i]; c++ }
            if (c == 0) print "-"; else printf "%.1f", s * 8 / (c * 0.1) / 1e6 }'
    }
    echo "bonding: invmux scheme=$scheme streams=$k steady_mbps=$(window_mbps 3 "$seconds") (mean of 100 ms bins from 3 s to ${seconds} s; diagnostic only, the baselines include their ramp-up)"
    # The ramp: the first second's goodput, and when a 1 s window of the timeline first reaches 90 % of the summed
    # single links (its start, from the first byte; "never" if it does not within the run).
    local t90="-"
    if [[ "$sum" != "-" ]]; then
        t90=$(awk -v bins="$bins" -v target="$(awk -v s="$sum" 'BEGIN { print 0.9 * s }')" 'BEGIN {
            n = split(bins, b, ","); for (i = 1; i + 9 <= n; i++) { s = 0; for (j = i; j < i + 10; j++) s += b[j]
                if (s * 8 / 1e6 >= target) { printf "%.1f", (i - 1) / 10; exit } }
            print "never" }')
    fi
    first_s[$key]=$(window_mbps 0 1)
    t90_s[$key]=$t90
    echo "bonding: invmux scheme=$scheme streams=$k first_s_mbps=${first_s[$key]} t90_s=$t90 (t90_s: start of the first 1 s window at >= 0.9 of the sum)"
    local wire=""
    for ((i = 1; i <= n; i++)); do
        wire+="${wire:+/}$(awk -v b=$((after[i - 1] - before[i - 1])) 'BEGIN { printf "%.1f", b / 1e6 }')"
    done
    grep '^bondsend: link=' "$OUT/$tag.send.out" | while read -r line; do
        echo "bonding: invmux scheme=$scheme streams=$k link=$(kv link "$line") remote=$(kv remote "$line" | sed 's|.*/||')" \
            "bytes_sent=$(kv bytes_sent "$line") share=$(kv share "$line") chunks=$(kv chunks_sent "$line")" \
            "avg_chunk=$(kv avg_chunk "$line") reinjected=$(kv reinjected "$line") est_mbps=$(kv est_mbps "$line")" \
            "rtt_ms=$(kv rtt_ms "$line") state=$(kv state "$line") per_second_mbps=$(kv per_second_mbps "$line")"
    done
    echo "bonding: invmux scheme=$scheme streams=$k wire_mb_per_link=$wire (A's interface tx counters, whole run incl. probe)"
    if [[ -n "$event_kind" ]]; then
        echo "bonding: scenario=$event_kind scheme=$scheme streams=$k link=$event_link${event_rate:+ rate=$event_rate} at_s=$event_at" \
            "gap_ms=$(kv max_gap_ms "$rline") gap_at_s=$(kv max_gap_at_s "$info") lost_bytes=$lost sha256=$sha_ok mbps=$mbps" \
            "before_mbps=$(window_mbps 3 "$event_at") after_mbps=$(window_mbps "$(awk -v a="$event_at" 'BEGIN { print a + 2 }')" "$seconds")" \
            "best_untouched_single_link=$best_other"
    fi
    if [[ "$sha_ok" != match || "$lost" != 0 ]]; then
        log "ERROR: $scheme streams=$k lost $lost bytes / sha256 $sha_ok"
    fi
    result[$key]="$mbps"
}

for scheme in "${schemes[@]}"; do
    for k in "${stream_counts[@]}"; do
        log "InvMux: $k bulk stream(s) over $n $scheme:// links for ${seconds}s${event_kind:+, $event_kind of link $event_link at ${event_at}s}"
        run_invmux "$k" "$scheme"
    done
done

# ---- (3) summary
best_of() { # best_of SCHEME: the best goodput of that scheme's runs
    local k b=0
    for k in "${stream_counts[@]}"; do b=$(awk -v a="$b" -v c="${result[$1-$k]}" 'BEGIN { print (c > a) ? c : a }'); done
    echo "$b"
}
ratio() { awk -v m="$1" -v s="$2" 'BEGIN { if (s + 0 > 0) printf "%.3f", m / s; else print "-" }'; }
# The summary's invmux / efficiency are the tcp:// runs' (the tls:// runs' alone when only tls was run).
main_scheme=tcp
[[ " ${schemes[*]} " == *" tcp "* ]] || main_scheme=tls
best=$(best_of "$main_scheme")
# efficiency= is the 1-stream figure when a 1-stream run was made (what one application connection gets), else the
# best run's; each run's own is efficiency_<streams>=.
eff=$(ratio "${result[$main_scheme-1]:-$best}" "$sum")
vs=$(ratio "$best" "$mptcp")
per=""
for k in "${stream_counts[@]}"; do
    per+=" invmux_$k=${result[$main_scheme-$k]} efficiency_$k=$(ratio "${result[$main_scheme-$k]}" "$sum")"
    per+=" first_s_mbps_$k=${first_s[$main_scheme-$k]} t90_s_$k=${t90_s[$main_scheme-$k]}"
done
if [[ "$main_scheme" == tcp && " ${schemes[*]} " == *" tls "* ]]; then
    best_tls=$(best_of tls)
    per+=" invmux_tls=$best_tls efficiency_tls=$(ratio "$best_tls" "$sum")"
    for k in "${stream_counts[@]}"; do per+=" invmux_tls_$k=${result[tls-$k]}"; done
    per+=" tls_vs_tcp=$(ratio "$best_tls" "$best")"
fi
# targets (plain scenarios): >= 97 % of the summed single links, >= MPTCP, never below the best single link
verdict="-"
if [[ -z "$event_kind" && "$sum" != "-" ]]; then
    verdict=$(awk -v m="$best" -v s="$sum" -v p="$mptcp" -v b="$best_single" 'BEGIN {
        printf "%s,%s,%s", (m >= 0.97 * s) ? "97pct_met" : "97pct_MISSED", (m >= p) ? "mptcp_met" : "mptcp_MISSED",
            (m >= b) ? "best_single_met" : "best_single_MISSED" }')
    if [[ -n "${best_tls:-}" ]]; then
        verdict+=$(awk -v m="$best_tls" -v s="$sum" 'BEGIN { printf ",%s", (m >= 0.97 * s) ? "tls_97pct_met" : "tls_97pct_MISSED" }')
    fi
fi
echo "bonding: links=$links sum=$sum mptcp=$mptcp invmux=$best efficiency=$eff${per} vs_mptcp=$vs" \
    "best_single=$best_single targets=$verdict delay_ms=$delays seconds=$seconds${event_kind:+ scenario=$event_kind} cc=$cc"
