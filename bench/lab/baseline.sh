#!/usr/bin/env bash
# Baselines for the bonding lab: what each link gives alone, and what kernel MPTCP
# makes of all of them together, measured in one run on a freshly built lab.  The
# InvMux benchmark is compared against these figures.
#
#   baseline.sh --links 40,20,10 [--seconds 10] [--delay-ms 0] [--keep]
#
# Prints, besides progress on stderr:
#   baseline: link=1 rate=40 goodput_mbps=38.2 ...      (one line per link)
#   baseline: mptcp subflows=N ...                       (data-carrying subflows seen by ss)
#   baseline: mptcp link=1 rate=40 wire_mbps=...         (how MPTCP spread the load)
#   baseline: mptcp goodput_mbps=...
#   baseline: links=40,20,10 sum=<sum of single links> mptcp=<mptcp> mptcp_efficiency=<mptcp/sum> delay_ms=0 cc=bbr
# Goodput is iperf3's receiver figure (application bytes delivered per second, TCP,
# one stream).  The lab is torn down at the end unless --keep is given.
# LAB_PREFIX selects the lab's namespaces and LAB_CC the TCP congestion control, as in lab.sh.
set -euo pipefail

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LAB="$LAB_DIR/lab.sh"
PREFIX="${LAB_PREFIX:-imux}"
NS_A="${PREFIX}-a"
NS_B="${PREFIX}-b"
PORT_SINGLE=5201
PORT_MPTCP=5202

log() { echo "baseline: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

links=""
seconds=10
delays=0
keep=0
while (($#)); do
    case "$1" in
    --links) links="${2:?--links needs a value}"; shift 2 ;;
    --links=*) links="${1#*=}"; shift ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --seconds=*) seconds="${1#*=}"; shift ;;
    --delay-ms) delays="${2:?--delay-ms needs a value}"; shift 2 ;;
    --delay-ms=*) delays="${1#*=}"; shift ;;
    --keep) keep=1; shift ;;
    -h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown argument '$1'" ;;
    esac
done
[[ -n "$links" ]] || die "--links R1,R2,... (Mbit/s) is required"
if [[ ! "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 2)); then die "--seconds must be an integer >= 2"; fi
IFS=, read -r -a rates <<<"$links"
n=${#rates[@]}
# The in-kernel path manager accepts at most 8 additional subflows.
((n <= 9)) || die "at most 9 links (MPTCP allows 8 additional subflows)"
[[ $EUID -eq 0 ]] || die "must run as root"

# Tools: iperf3 measures, jq reads its JSON, mptcpize (LD_PRELOAD wrapper, its own
# Debian package since bookworm; older releases shipped it in mptcpd) turns iperf3's
# TCP sockets into MPTCP ones.  Installed here when missing, so a fresh machine works.
install_missing() {
    local pkgs=()
    command -v iperf3 >/dev/null || pkgs+=(iperf3)
    command -v jq >/dev/null || pkgs+=(jq)
    command -v mptcpize >/dev/null || pkgs+=(mptcpize)
    command -v ss >/dev/null || pkgs+=(iproute2)
    ((${#pkgs[@]} == 0)) && return 0
    log "installing ${pkgs[*]}"
    export DEBIAN_FRONTEND=noninteractive
    compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null || apt-get update -qq
    if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; then
        apt-get update -qq
        # mptcpize is in mptcpd on releases without the separate package
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null ||
            apt-get install -y -qq --no-install-recommends "${pkgs[@]/mptcpize/mptcpd}" >/dev/null
    fi
}
install_missing

WORK="$(mktemp -d /tmp/imux-baseline.XXXXXX)"
server_pid=""
sampler_pid=""
cleanup() {
    local rc=$?
    # Our own background processes, by PID.
    [[ -z "$sampler_pid" ]] || kill "$sampler_pid" 2>/dev/null || true
    [[ -z "$server_pid" ]] || kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if ((keep)); then
        log "--keep: lab '$PREFIX' left up (tear down with: LAB_PREFIX=$PREFIX $LAB down)"
    else
        "$LAB" down >/dev/null 2>&1 || true
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }

# Wait until something listens on the port in B (iperf3 -s takes a moment to bind).
wait_listen() {
    local port="$1" _
    for _ in $(seq 100); do
        [[ -n "$(B ss -Hltn "sport = :$port")" ]] && return 0
        kill -0 "$server_pid" 2>/dev/null || die "iperf3 server exited early: $(cat "$WORK/server.log")"
        sleep 0.05
    done
    die "iperf3 server on port $port did not start"
}

# Bytes sent by A on each link so far (A's interface counters), one line per link.
tx_bytes() {
    local i
    for ((i = 1; i <= n; i++)); do A cat "/sys/class/net/link$i/statistics/tx_bytes"; done
}

mbps() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1e6 }'; }

# ---------------------------------------------------------------------------
"$LAB" up --links "$links" --delay-ms "$delays"
log "kernel $(uname -r), congestion control $(A cat /proc/sys/net/ipv4/tcp_congestion_control)," \
    "$(iperf3 --version | head -n 1 | cut -d' ' -f1-2), ${seconds}s per test, one TCP stream"

# (1) each link alone: server bound to the link's B address, client bound to its A
# address, so the connection can only use that link.
declare -a single
sum=0
for ((i = 1; i <= n; i++)); do
    rate="${rates[$((i - 1))]}"
    B iperf3 -s -1 -B "10.77.$i.2" -p "$PORT_SINGLE" >"$WORK/server.log" 2>&1 &
    server_pid=$!
    wait_listen "$PORT_SINGLE"
    mapfile -t before < <(tx_bytes)
    A iperf3 -c "10.77.$i.2" -B "10.77.$i.1" -p "$PORT_SINGLE" -t "$seconds" -J >"$WORK/link$i.json" ||
        die "iperf3 over link $i failed: $(jq -r '.error // empty' "$WORK/link$i.json" 2>/dev/null)"
    mapfile -t after < <(tx_bytes)
    wait "$server_pid" || true
    server_pid=""
    bps=$(jq '.end.sum_received.bits_per_second' "$WORK/link$i.json")
    retrans=$(jq '.end.sum_sent.retransmits // 0' "$WORK/link$i.json")
    single[i]=$(mbps "$bps")
    # Sanity check: the data must have left on link i only.
    stray=0
    for ((j = 1; j <= n; j++)); do
        ((j == i)) && continue
        ((after[j - 1] - before[j - 1] > 1000000)) && stray=1
    done
    ((stray)) && log "warning: link $i test also sent >1 MB on other links"
    # of_rate: goodput / shaped rate (~0.956 is the ceiling: 1448 payload bytes per
    # 1514-byte frame, which is what tbf counts).
    echo "baseline: link=$i rate=$rate goodput_mbps=${single[i]} of_rate=$(awk -v g="${single[i]}" -v r="$rate" 'BEGIN { printf "%.3f", g / r }') retransmits=$retrans"
    sum=$(awk -v s="$sum" -v g="${single[i]}" 'BEGIN { printf "%.1f", s + g }')
done

# (2) kernel MPTCP over all links (lab.sh mptcp).  In-kernel path manager, both sides allow 8
# subflows / 8 accepted addresses.  A gets a "subflow" endpoint for each link but the
# first, bound to that link's device: the kernel then opens one extra subflow per link
# from 10.77.i.1 (on link i) to B's 10.77.1.2, which B answers on link i.  B announces
# nothing (no "signal" endpoints): that would add subflows to 10.77.i.2 on top of
# these, i.e. two subflows on one link.
"$LAB" mptcp

B mptcpize run iperf3 -s -1 -p "$PORT_MPTCP" >"$WORK/server.log" 2>&1 &
server_pid=$!
wait_listen "$PORT_MPTCP"

# Mid-run snapshot of A's MPTCP connections and their TCP subflows (ss -M: MPTCP
# sockets; ss -t: their subflows, which are TCP sockets).
(
    sleep "$(awk -v s="$seconds" 'BEGIN { print s / 2 }')"
    A ss -HMni >"$WORK/ss_mptcp.txt" 2>&1
    A ss -Htni state established "( dport = :$PORT_MPTCP )" >"$WORK/ss_subflows.txt" 2>&1
) &
sampler_pid=$!

mapfile -t before < <(tx_bytes)
t0=$(date +%s.%N)
A mptcpize run iperf3 -c 10.77.1.2 -p "$PORT_MPTCP" -t "$seconds" -J >"$WORK/mptcp.json" ||
    die "MPTCP iperf3 failed: $(jq -r '.error // empty' "$WORK/mptcp.json" 2>/dev/null)"
t1=$(date +%s.%N)
mapfile -t after < <(tx_bytes)
wait "$sampler_pid" || true
sampler_pid=""
wait "$server_pid" || true
server_pid=""

log "MPTCP sockets in $NS_A at mid-run (ss -Mi):"
sed 's/^/    /' "$WORK/ss_mptcp.txt" >&2
log "TCP subflows to port $PORT_MPTCP in $NS_A at mid-run (local -> remote, bytes_acked):"
# ss prints each socket as a header line followed by an indented info line.
# With a state filter ss leaves out the State column: local and peer are the last two fields.
awk '/^[^ \t]/ { hdr = $(NF - 1) " -> " $NF; next }
     { ack = "-"; if (match($0, /bytes_acked:[0-9]+/)) ack = substr($0, RSTART + 12, RLENGTH - 12);
       print "    " hdr "  bytes_acked=" ack }' "$WORK/ss_subflows.txt" | tee "$WORK/subflows.txt" >&2

# The iperf3 control connection is an MPTCP connection too, with its own subflows;
# the data connection is the one whose subflows carried data.  Count those, and the
# links they leave from.
data_subflows=$(awk '$4 != "-" { split($4, a, "="); if (a[2] + 0 > 100000) c++ } END { print c + 0 }' "$WORK/subflows.txt")
data_links=$(awk '{ split($4, a, "="); if (a[2] + 0 > 100000) { sub(/[%:].*/, "", $1); print $1 } }' "$WORK/subflows.txt" | sort -u | paste -sd, -)
max_subflows=$(grep -o 'subflows:[0-9]\+' "$WORK/ss_mptcp.txt" | cut -d: -f2 | sort -n | tail -n 1)
echo "baseline: mptcp subflows=$data_subflows (data-carrying at mid-run; ss -M reports ${max_subflows:-?} additional subflows per connection) from=${data_links:-none}"
((data_subflows == n)) || log "warning: expected $n data-carrying subflows (one per link), saw $data_subflows"

# Per-link wire rate during the MPTCP test, from A's interface counters (frames incl.
# headers): shows how the kernel's scheduler spread the data over the links.
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')
for ((i = 1; i <= n; i++)); do
    wire=$(awk -v b=$((after[i - 1] - before[i - 1])) -v t="$elapsed" 'BEGIN { printf "%.1f", b * 8 / t / 1e6 }')
    echo "baseline: mptcp link=$i rate=${rates[$((i - 1))]} wire_mbps=$wire"
done

mptcp_bps=$(jq '.end.sum_received.bits_per_second' "$WORK/mptcp.json")
mptcp=$(mbps "$mptcp_bps")
intervals=$(jq -r '[.intervals[].sum.bits_per_second / 1e6 | . * 10 | round / 10] | map(tostring) | join(",")' "$WORK/mptcp.json")
echo "baseline: mptcp goodput_mbps=$mptcp retransmits=$(jq '.end.sum_sent.retransmits // 0' "$WORK/mptcp.json") per_second=$intervals"

# (3) summary
eff=$(awk -v m="$mptcp" -v s="$sum" 'BEGIN { if (s > 0) printf "%.3f", m / s; else print "nan" }')
# cc= last: the result depends on it (README, "Example figures").
echo "baseline: links=$links sum=$sum mptcp=$mptcp mptcp_efficiency=$eff delay_ms=$delays cc=$(A cat /proc/sys/net/ipv4/tcp_congestion_control)"
