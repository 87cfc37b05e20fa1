#!/usr/bin/env bash
# InvMux bonding lab: two network namespaces ("pods") A and B joined by N veth
# links, each shaped with tbf in both directions, so that InvMux, each link alone
# and kernel MPTCP can be measured over the same paths.  See README.md here.
#
#   lab.sh up --links 40,20,10 [--delay-ms 0|D|D1,D2,..]
#   lab.sh down | status
#   lab.sh shape <i> <rate-mbit> | cut <i> | uncut <i> | blackhole <i> | unblackhole <i>
#   lab.sh loss <i> <percent> | unloss <i>
#   lab.sh mptcp                  (MPTCP endpoints: one subflow per link, as baseline.sh uses them)
#   lab.sh exec a|b|d -- cmd...
#
# Environment: LAB_PREFIX (default imux) names the namespaces <prefix>-a, <prefix>-b
# (and <prefix>-d when there is delay), so two labs can exist side by side;
# LAB_CC sets the namespaces' TCP congestion control (default: inherited).
#
# Nothing here touches the host's own interfaces, routes or sysctls: every veth
# is created directly inside a lab namespace and every address (10.77.<i>.1 in A,
# 10.77.<i>.2 in B) exists only inside them.
set -euo pipefail

PREFIX="${LAB_PREFIX:-imux}"
if [[ ! "$PREFIX" =~ ^[A-Za-z0-9][A-Za-z0-9_-]{0,30}$ ]]; then
    echo "lab: LAB_PREFIX '$PREFIX' must be 1-31 characters of [A-Za-z0-9_-]" >&2
    exit 2
fi
NS_A="${PREFIX}-a"
NS_B="${PREFIX}-b"
NS_D="${PREFIX}-d" # only exists when some link has a delay (userspace delay relays live here)
STATE_DIR="/run/${PREFIX}-lab"
LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NFT_TABLE="imux_lab"

# Shaping parameters (README "Shaping" explains them):
#  - queue: tbf's latency, i.e. how long a packet may wait in the bottleneck queue
#    before it is dropped; 50 ms at the link's rate is a typical access-link buffer.
#  - burst: bucket size; at least 4 full frames so that tbf's hrtimer-driven release
#    and GSO segmentation stay exact, and 2 ms of the rate at high rates so that the
#    timer is not woken for every single packet.
QUEUE_MS=50
BURST_MS=2
MIN_BURST_BYTES=$((4 * 1514))
MAX_LINKS=32

log() { echo "lab: $*" >&2; }
die() {
    log "error: $*"
    exit 1
}

usage() {
    awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
}

need_root() {
    [[ $EUID -eq 0 ]] || die "must run as root (namespaces, tc, nft)"
}

# ensure_tools cmd:package ... installs the Debian packages of missing commands, so
# the lab works on a fresh machine.  apt-get update runs only when the package
# lists are missing or the first install attempt fails (stale lists).
ensure_tools() {
    local pair cmd pkg missing=()
    for pair in "$@"; do
        cmd="${pair%%:*}"
        pkg="${pair#*:}"
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} == 0)) && return 0
    # de-duplicate (several commands come from one package)
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! compgen -G '/var/lib/apt/lists/*_Packages' >/dev/null; then
        apt-get update -qq
    fi
    if ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

ns_exists() { [[ -e "/run/netns/$1" ]]; }
in_ns() {
    local ns="$1"
    shift
    ip netns exec "$ns" "$@"
}
# Write a sysctl of one namespace through /proc (no dependency on procps).  /proc/sys/net
# shows the namespace of the process that opens it, which ip netns exec switches.
# A key this kernel lacks is reported and skipped; a refused write fails.
ns_sysctl() {
    local ns="$1" key="$2" value="$3"
    local path="/proc/sys/${key//.//}"
    if ! in_ns "$ns" test -e "$path"; then
        log "note: sysctl $key does not exist in this kernel (skipped)"
        return 0
    fi
    # shellcheck disable=SC2016 # $1/$2 are expanded by the inner sh, on purpose
    in_ns "$ns" sh -c 'printf "%s\n" "$2" > "$1"' _ "$path" "$value"
}

is_number() { [[ "$1" =~ ^[0-9]+([.][0-9]+)?$ ]] && awk -v x="$1" 'BEGIN { exit !(x > 0) }'; }

# tbf arguments for a rate in Mbit/s: "rate 40mbit burst 10000 latency 50ms".
tbf_args() {
    local rate="$1"
    local burst
    burst=$(awk -v r="$rate" -v ms="$BURST_MS" -v min="$MIN_BURST_BYTES" \
        'BEGIN { b = r * 1e6 / 8 * ms / 1000; if (b < min) b = min; printf "%d", b }')
    echo "rate ${rate}mbit burst ${burst} latency ${QUEUE_MS}ms"
}

# Number of links of the running lab, from A's interfaces (works without the state file).
link_count() {
    ns_exists "$NS_A" || die "no lab '$PREFIX' is up (run: lab.sh up --links ...)"
    in_ns "$NS_A" ip -o link show | grep -c ': link[0-9]\+[@:]' || true
}

check_index() {
    local i="$1" n
    [[ "$i" =~ ^[0-9]+$ ]] || die "link index must be a number, got '$i'"
    n=$(link_count)
    ((i >= 1 && i <= n)) || die "link $i does not exist (links 1..$n)"
}

# Shape link i in both directions.  Each direction is shaped where it is RECEIVED:
# the ingress of link<i> is redirected to ifb<i> whose root qdisc is the tbf.  So the
# bottleneck queue (and its drops) lie on the path, not inside the sender's own
# stack; a tbf on the sender's egress would make TCP see local drops and TSQ
# back-pressure instead of path loss (README "Shaping" has the numbers).
shape_link() {
    local i="$1" rate="$2" ns args
    args=$(tbf_args "$rate")
    for ns in "$NS_A" "$NS_B"; do
        # shellcheck disable=SC2086 # args is a list of tc words on purpose
        in_ns "$ns" tc qdisc replace dev "ifb$i" root tbf $args
    done
    if [[ -f "$STATE_DIR/rates" ]]; then
        awk -v i="$i" -v r="$rate" 'NR == i { $0 = r } { print }' "$STATE_DIR/rates" >"$STATE_DIR/rates.tmp" &&
            mv "$STATE_DIR/rates.tmp" "$STATE_DIR/rates"
    fi
}

setup_ns_common() {
    local ns="$1"
    ip netns add "$ns"
    # IPv4 only: no IPv6 router solicitations / DAD / MLD on the links, so interface
    # counters hold only the traffic under test.  Set before any interface exists.
    ns_sysctl "$ns" net.ipv6.conf.all.disable_ipv6 1
    ns_sysctl "$ns" net.ipv6.conf.default.disable_ipv6 1
    in_ns "$ns" ip link set lo up
}

setup_endpoint_ns() {
    local ns="$1"
    setup_ns_common "$ns"
    # MPTCP: on (per namespace), in-kernel path manager, and room for a subflow per link.
    ns_sysctl "$ns" net.mptcp.enabled 1
    ns_sysctl "$ns" net.mptcp.pm_type 0
    # Reverse-path filtering off: an MPTCP join leaves A from 10.77.i.1 on link i towards
    # B's first address 10.77.1.2, which B receives on link i (see README).
    ns_sysctl "$ns" net.ipv4.conf.all.rp_filter 0
    ns_sysctl "$ns" net.ipv4.conf.default.rp_filter 0
    # ... and B must answer ARP for 10.77.1.2 on link i for that join (Linux default, made explicit).
    ns_sysctl "$ns" net.ipv4.conf.all.arp_ignore 0
    ns_sysctl "$ns" net.ipv4.conf.all.arp_filter 0
    # Each run starts from scratch instead of the previous run's cached ssthresh/RTT.
    ns_sysctl "$ns" net.ipv4.tcp_no_metrics_save 1
    if [[ -n "${LAB_CC:-}" ]]; then
        # A namespace may only pick an algorithm listed in the host's
        # net.ipv4.tcp_allowed_congestion_control; otherwise the inherited one stays.
        ns_sysctl "$ns" net.ipv4.tcp_congestion_control "$LAB_CC" 2>/dev/null ||
            log "warning: $ns may not use congestion control '$LAB_CC' (not in the host's allowed list); keeping $(in_ns "$ns" cat /proc/sys/net/ipv4/tcp_congestion_control)"
    fi
    in_ns "$ns" ip mptcp limits set subflow 8 add_addr_accepted 8
    # One nft table per endpoint namespace; blackhole <i> adds link<i> to the set.
    # Hook: prerouting at raw priority, i.e. where packets are received (after the
    # ingress shaper): they vanish silently, no RST, no ICMP, ARP still works -- a
    # black hole somewhere along the path.  (A netdev ingress hook would not see the
    # packets: tc redirects them to the ifb before that hook runs.)
    in_ns "$ns" nft -f - <<EOF
table inet $NFT_TABLE {
    set blackholed {
        type ifname
    }
    chain prerouting {
        type filter hook prerouting priority raw; policy accept;
        iifname @blackholed counter drop
    }
}
EOF
}

start_delay_relay() {
    local i="$1" delay="$2" t
    rm -f "$STATE_DIR/delay$i.pid"
    # setsid: the relay must not die with the terminal's Ctrl-C / process group of "up".
    in_ns "$NS_D" setsid python3 "$LAB_DIR/delayline.py" --if-a "a$i" --if-b "b$i" --delay-ms "$delay" \
        --pid-file "$STATE_DIR/delay$i.pid" </dev/null >>"$STATE_DIR/delay$i.log" 2>&1 &
    local launcher=$!
    # Wait until its sockets are bound (it writes the pid file then), so traffic sent right
    # after "up" is relayed; give up at once if it died.
    for t in $(seq 50); do
        [[ -s "$STATE_DIR/delay$i.pid" ]] && return 0
        kill -0 "$launcher" 2>/dev/null || break
        sleep 0.1
    done
    cat "$STATE_DIR/delay$i.log" >&2 || true
    die "delay relay of link $i did not start"
}

# EXIT trap of "up": runs only when up did not finish (it clears the trap on success).
up_failed_cleanup() {
    local rc=$?
    log "up failed (exit $rc); tearing the partial lab down"
    cmd_down quiet
}

cmd_up() {
    local links="" delays="0"
    while (($#)); do
        case "$1" in
        --links) links="${2:?--links needs a value}"; shift 2 ;;
        --links=*) links="${1#*=}"; shift ;;
        --delay-ms) delays="${2:?--delay-ms needs a value}"; shift 2 ;;
        --delay-ms=*) delays="${1#*=}"; shift ;;
        *) die "up: unknown argument '$1'" ;;
        esac
    done
    [[ -n "$links" ]] || die "up: --links R1,R2,... (Mbit/s) is required"
    local -a rates delay_list
    IFS=, read -r -a rates <<<"$links"
    IFS=, read -r -a delay_list <<<"$delays"
    local n=${#rates[@]} i
    ((n >= 1 && n <= MAX_LINKS)) || die "up: between 1 and $MAX_LINKS links"
    for i in "${!rates[@]}"; do
        is_number "${rates[$i]}" || die "up: rate '${rates[$i]}' is not a positive number of Mbit/s"
    done
    # one delay for every link, or one per link
    if ((${#delay_list[@]} == 1)); then
        local d="${delay_list[0]}"
        delay_list=()
        for i in "${!rates[@]}"; do delay_list+=("$d"); done
    fi
    ((${#delay_list[@]} == n)) || die "up: --delay-ms takes one value or one per link ($n)"
    local any_delay=0
    for i in "${!delay_list[@]}"; do
        [[ "${delay_list[$i]}" =~ ^[0-9]+([.][0-9]+)?$ ]] || die "up: delay '${delay_list[$i]}' is not a number of ms"
        awk -v x="${delay_list[$i]}" 'BEGIN { exit !(x > 0) }' && any_delay=1
    done

    need_root
    local tools=(ip:iproute2 tc:iproute2 ss:iproute2 nft:nftables)
    ((any_delay)) && tools+=(python3:python3-minimal)
    ensure_tools "${tools[@]}"

    # A fresh lab every time: whatever an earlier (maybe half-built) lab left goes first.
    cmd_down quiet
    # If anything below fails, do not leave half a lab behind.
    trap up_failed_cleanup EXIT

    mkdir -p "$STATE_DIR"
    printf '%s\n' "${rates[@]}" >"$STATE_DIR/rates"
    printf '%s\n' "${delay_list[@]}" >"$STATE_DIR/delays"

    setup_endpoint_ns "$NS_A"
    setup_endpoint_ns "$NS_B"
    if ((any_delay)); then
        setup_ns_common "$NS_D"
        # The relay's AF_PACKET sockets get their copy before any ingress hook; dropping
        # everything after that keeps D's own stack from processing the transit traffic.
        in_ns "$NS_D" nft -f - <<EOF
table netdev $NFT_TABLE {
}
EOF
    fi

    for ((i = 1; i <= n; i++)); do
        local rate="${rates[$((i - 1))]}" delay="${delay_list[$((i - 1))]}"
        if awk -v x="$delay" 'BEGIN { exit !(x > 0) }'; then
            # A:link<i> <-> D:a<i> [delayline] D:b<i> <-> B:link<i>
            ip link add "link$i" netns "$NS_A" type veth peer name "a$i" netns "$NS_D"
            ip link add "b$i" netns "$NS_D" type veth peer name "link$i" netns "$NS_B"
            local dev
            for dev in "a$i" "b$i"; do
                in_ns "$NS_D" ip link set "$dev" up
                in_ns "$NS_D" nft add chain netdev "$NFT_TABLE" "drop_$dev" \
                    "{ type filter hook ingress device \"$dev\" priority 0; policy drop; }"
            done
        else
            # A:link<i> <-> B:link<i>; created inside the namespaces, never in the host's.
            ip link add "link$i" netns "$NS_A" type veth peer name "link$i" netns "$NS_B"
        fi
        in_ns "$NS_A" ip addr add "10.77.$i.1/24" dev "link$i"
        in_ns "$NS_B" ip addr add "10.77.$i.2/24" dev "link$i"
        local ns
        for ns in "$NS_A" "$NS_B"; do
            in_ns "$ns" ip link add "ifb$i" type ifb
            in_ns "$ns" ip link set "ifb$i" up
            in_ns "$ns" ip link set "link$i" up
            in_ns "$ns" tc qdisc add dev "link$i" handle ffff: ingress
            in_ns "$ns" tc filter add dev "link$i" parent ffff: protocol all prio 1 \
                u32 match u32 0 0 action mirred egress redirect dev "ifb$i"
        done
        shape_link "$i" "$rate"
        if awk -v x="$delay" 'BEGIN { exit !(x > 0) }'; then
            start_delay_relay "$i" "$delay"
        fi
    done
    # veth carrier comes up asynchronously (linkwatch); return only when every link is
    # usable, so a benchmark started right after "up" does not race it.
    local t ready
    for t in $(seq 50); do
        ready=1
        for ((i = 1; i <= n; i++)); do
            for ns in "$NS_A" "$NS_B"; do
                [[ "$(in_ns "$ns" cat "/sys/class/net/link$i/operstate")" == up ]] || ready=0
            done
        done
        ((ready)) && break
        sleep 0.1
    done
    ((ready)) || log "warning: not every link reports operstate up yet"
    trap - EXIT
    log "up: $n link(s) between $NS_A and $NS_B: rates ${links} Mbit/s, one-way delay ${delays} ms"
    for ((i = 1; i <= n; i++)); do
        log "  link$i  A 10.77.$i.1  <->  B 10.77.$i.2  $(tbf_args "${rates[$((i - 1))]}")"
    done
}

# Stop every process still running inside a namespace (iperf3 servers, relays, a
# benchmark left behind): a process holding the namespace would keep it, and its
# veths, alive after "ip netns del".  Only the PIDs the kernel reports for that
# namespace are signalled.
kill_ns_pids() {
    local ns="$1" pids t
    for t in 1 2 3 4 5 6 7 8 9 10; do
        pids=$(ip netns pids "$ns" 2>/dev/null || true)
        [[ -z "$pids" ]] && return 0
        if ((t < 10)); then
            # shellcheck disable=SC2086 # one PID per word
            kill -TERM $pids 2>/dev/null || true
        else
            # shellcheck disable=SC2086
            kill -KILL $pids 2>/dev/null || true
        fi
        sleep 0.2
    done
}

cmd_down() {
    local quiet="${1:-}" ns removed=0
    for ns in "$NS_A" "$NS_B" "$NS_D"; do
        if ns_exists "$ns"; then
            kill_ns_pids "$ns"
            # Deleting the namespace deletes its veths, ifbs, qdiscs, MPTCP endpoints
            # and nft tables with it.
            ip netns del "$ns" 2>/dev/null || true
            removed=1
        fi
    done
    rm -rf "$STATE_DIR"
    if [[ -z "$quiet" ]]; then
        if ((removed)); then log "down: lab '$PREFIX' removed"; else log "down: no lab '$PREFIX' (nothing to do)"; fi
    fi
    return 0
}

cmd_shape() {
    (($# == 2)) || die "usage: lab.sh shape <link-index> <rate-mbit>"
    check_index "$1"
    is_number "$2" || die "shape: rate '$2' is not a positive number of Mbit/s"
    shape_link "$1" "$2"
    log "link$1 shaped to $(tbf_args "$2") in both directions"
}

cmd_cut() {
    local state="$1"
    shift
    (($# == 1)) || die "usage: lab.sh cut|uncut <link-index>"
    check_index "$1"
    # Both ends administratively down/up: each side sees its interface (and routes) go.
    in_ns "$NS_A" ip link set "link$1" "$state"
    in_ns "$NS_B" ip link set "link$1" "$state"
    log "link$1 $state on both ends"
}

cmd_blackhole() {
    local op="$1"
    shift
    (($# == 1)) || die "usage: lab.sh blackhole|unblackhole <link-index>"
    check_index "$1"
    local ns
    for ns in "$NS_A" "$NS_B"; do
        if [[ "$op" == add ]]; then
            in_ns "$ns" nft add element inet "$NFT_TABLE" blackholed "{ \"link$1\" }"
        else
            # deleting an absent element is an error in nft: make unblackhole idempotent
            in_ns "$ns" nft delete element inet "$NFT_TABLE" blackholed "{ \"link$1\" }" 2>/dev/null || true
        fi
    done
    if [[ "$op" == add ]]; then log "link$1 black-holed (packets silently dropped both ways)"; else log "link$1 restored"; fi
}

# Random loss on link i, both ways: a rule in the same prerouting chain as the
# blackholes, numgen random per packet (nftables has no other random match), tagged
# with a comment so unloss finds its handle.  Per mille, so 0.1 % steps work.
cmd_loss() {
    (($# == 2)) || die "usage: lab.sh loss <link-index> <percent>"
    check_index "$1"
    is_number "$2" && awk -v p="$2" 'BEGIN { exit !(p <= 100) }' || die "loss: '$2' is not a percentage in (0, 100]"
    cmd_unloss "$1" 2>/dev/null
    local ns permille
    permille=$(awk -v p="$2" 'BEGIN { printf "%d", p * 10 + 0.5 }')
    for ns in "$NS_A" "$NS_B"; do
        in_ns "$ns" nft add rule inet "$NFT_TABLE" prerouting iifname "link$1" numgen random mod 1000 "<" "$permille" \
            counter drop comment "\"loss link$1\""
    done
    log "link$1 drops $2 % of the packets it receives, both ways"
}

cmd_unloss() {
    (($# == 1)) || die "usage: lab.sh unloss <link-index>"
    check_index "$1"
    local ns h
    for ns in "$NS_A" "$NS_B"; do
        for h in $(in_ns "$ns" nft -a list chain inet "$NFT_TABLE" prerouting |
            sed -n "s/.*comment \"loss link$1\" # handle \([0-9]*\).*/\1/p"); do
            in_ns "$ns" nft delete rule inet "$NFT_TABLE" prerouting handle "$h"
        done
    done
    log "link$1 loses nothing"
}

# MPTCP endpoints for the in-kernel path manager: A gets a "subflow" endpoint for each
# link but the first, bound to that link's device, so a connection to B's 10.77.1.2
# gets one more subflow per link, each on its own link both ways (README "Baselines"
# says why).  B announces nothing: that would put a second subflow on links 2..N.
cmd_mptcp() {
    local n i ns
    n=$(link_count)
    for ns in "$NS_A" "$NS_B"; do
        in_ns "$ns" ip mptcp endpoint flush
        in_ns "$ns" ip mptcp limits set subflow 8 add_addr_accepted 8
    done
    for ((i = 2; i <= n; i++)); do
        in_ns "$NS_A" ip mptcp endpoint add "10.77.$i.1" dev "link$i" subflow
    done
}

cmd_status() {
    local ns n i
    echo "== lab '$PREFIX'"
    if ! ns_exists "$NS_A"; then
        echo "not up"
        return 0
    fi
    echo "namespaces: $(ip netns list | awk -v p="$PREFIX" '$1 == p"-a" || $1 == p"-b" || $1 == p"-d" { printf "%s ", $1 }')"
    n=$(link_count)
    echo "links: $n"
    for ((i = 1; i <= n; i++)); do
        local rate="?" delay="0" state bh=""
        [[ -f "$STATE_DIR/rates" ]] && rate=$(sed -n "${i}p" "$STATE_DIR/rates")
        [[ -f "$STATE_DIR/delays" ]] && delay=$(sed -n "${i}p" "$STATE_DIR/delays")
        state=$(in_ns "$NS_A" cat "/sys/class/net/link$i/operstate")
        in_ns "$NS_A" nft list set inet "$NFT_TABLE" blackholed 2>/dev/null | grep -q "\"link$i\"" && bh=" BLACKHOLED"
        printf '  link%d  A 10.77.%d.1 <-> B 10.77.%d.2  rate=%s Mbit/s  delay=%s ms  %s%s\n' \
            "$i" "$i" "$i" "$rate" "$delay" "$state" "$bh"
    done
    for ns in "$NS_A" "$NS_B"; do
        echo "-- $ns"
        echo "congestion control: $(in_ns "$ns" cat /proc/sys/net/ipv4/tcp_congestion_control)"
        in_ns "$ns" ip -br addr show
        for ((i = 1; i <= n; i++)); do
            echo "shaper of traffic received on link$i:"
            in_ns "$ns" tc -s qdisc show dev "ifb$i" | sed 's/^/  /'
        done
        echo "mptcp: $(in_ns "$ns" ip mptcp limits show)"
        in_ns "$ns" ip mptcp endpoint show | sed 's/^/  endpoint /'
        in_ns "$ns" nft list table inet "$NFT_TABLE" | grep -E 'elements|counter' | sed 's/^[[:space:]]*/  nft: /' || true
    done
    if ns_exists "$NS_D"; then
        echo "-- $NS_D (delay relays)"
        local f
        for f in "$STATE_DIR"/delay*.pid; do
            [[ -e "$f" ]] || continue
            local pid
            pid=$(cat "$f")
            if kill -0 "$pid" 2>/dev/null; then
                kill -USR1 "$pid" 2>/dev/null || true # makes the relay log its counters
                sleep 0.1
                echo "  $(tail -n 1 "${f%.pid}.log")"
            else
                echo "  relay pid $pid ($(basename "$f")) NOT running"
            fi
        done
    fi
}

cmd_exec() {
    (($# >= 1)) || die "usage: lab.sh exec a|b|d -- cmd..."
    local side="$1" ns
    shift
    [[ "${1:-}" == "--" ]] && shift
    (($# >= 1)) || die "exec: no command given"
    case "$side" in
    a | A) ns="$NS_A" ;;
    b | B) ns="$NS_B" ;;
    d | D) ns="$NS_D" ;;
    *) die "exec: side must be a or b (or d), got '$side'" ;;
    esac
    ns_exists "$ns" || die "namespace $ns does not exist"
    exec ip netns exec "$ns" "$@"
}

main() {
    local cmd="${1:-}"
    (($#)) && shift
    case "$cmd" in
    up) cmd_up "$@" ;;
    down) need_root; cmd_down ;;
    shape) need_root; cmd_shape "$@" ;;
    cut) need_root; cmd_cut down "$@" ;;
    uncut) need_root; cmd_cut up "$@" ;;
    blackhole) need_root; cmd_blackhole add "$@" ;;
    unblackhole) need_root; cmd_blackhole delete "$@" ;;
    loss) need_root; cmd_loss "$@" ;;
    unloss) need_root; cmd_unloss "$@" ;;
    mptcp) need_root; cmd_mptcp ;;
    status) need_root; cmd_status ;;
    exec) need_root; cmd_exec "$@" ;;
    -h | --help | help) usage ;;
    *) usage >&2; exit 2 ;;
    esac
}

main "$@"
