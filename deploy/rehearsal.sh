#!/usr/bin/env bash
# Two-pod rehearsal of the multipath overlay (k8s/overlays/multipath), on this machine, as root:
#
#   - two network namespaces play site A's and site B's pods, joined by three veth pairs named as in the pods:
#       net1  10.78.1.1 <-> 10.78.1.2   path 1 (a Multus interface in the cluster)
#       net2  10.78.2.1 <-> 10.78.2.2   path 2 (a Multus interface)
#       eth0  10.78.3.1 <-> 10.78.3.2   path 3 (the pod network)
#   - each runs the sidecar with its site's config file from the overlay, unchanged, as uid 65532, except:
#       INVMUX_PEERS_0_LINKS_2_ADDRESS: path 3 names site B's Service (cluster DNS); here it is B's eth0 address
#       INVMUX_SECURITY_TLS_CERT_FILE, _KEY_FILE, _CA_FILE: every link is tls://; in place of the Secrets that
#         cert-manager fills, a CA and one certificate per site (DNS name = the site's identity) made here with
#         deploy/pki.sh (openssl), laid out as the kubelet lays out a Secret volume: the files are symlinks through
#         ..data to a versioned directory, and an update swaps ..data atomically;
#   - beside site B's sidecar, the overlay's app: a plain TCP echo server on 127.0.0.1:9000 (the same socat
#     command; without socat, rehearsal-traffic.py's echo under a python3 the app's uid can run); in site A, a
#     client sends 64 MiB through the forward 127.0.0.1:8080 and checks the sha256 of the echo;
#   - once 16 MiB have come back, site B's certificate is rotated (a new key and certificate, one atomic ..data
#     swap); a new TLS connection to site B must then be served the new certificate, and B must count the reload
#     (invmux_tls_reloads); the three links must stay up (the same link ids, healthy, at 32 MiB);
#   - once 32 MiB have come back, path 1 is cut (ip link set net1 down); the bytes must come back intact, and path 1
#     must rejoin once it is back up (a new link, under B's new certificate);
#   - both sidecars then get SIGTERM and must exit 0.
# Everything (namespaces, veths, processes, temp files) is removed on exit, failure or Ctrl-C.
#
# Usage: sudo deploy/rehearsal.sh [--mib N] [--keep-logs DIR]     (JAVA_HOME picks the JVM, e.g. a jlink runtime)
# Takes about 15 s. Exit 0: passed; any failure says what and exits 1.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
mib=64
keep_logs=""
while [ $# -gt 0 ]; do
  case "$1" in
    --mib) mib=$2; shift 2 ;;
    --keep-logs) keep_logs=$2; shift 2 ;;
    *) echo "usage: $0 [--mib N] [--keep-logs DIR]" >&2; exit 64 ;;
  esac
done
rotate_at=$(( mib / 4 ))
[ "$rotate_at" -ge 1 ] || rotate_at=1
cut_at=$(( mib / 2 ))
[ "$cut_at" -gt "$rotate_at" ] || cut_at=$(( rotate_at + 1 ))
[ "$mib" -gt "$cut_at" ] || fail "--mib $mib is too small: the rotation and the cut need a transfer of at least 3 MiB"
overlay=k8s/overlays/multipath
cfg_a=$overlay/site-a/invmux.yaml
cfg_b=$overlay/site-b/invmux.yaml

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\nrehearsal: FAILED: %s\n' "$*" >&2; exit 1; }
started=$(date +%s)

[ "$(id -u)" = 0 ] || fail "needs root (network namespaces): sudo $0"
for t in ip python3 curl openssl; do command -v "$t" >/dev/null || fail "$t is needed"; done

id=$$
ns_a="invmux-reh-$id-a"
ns_b="invmux-reh-$id-b"
work=$(mktemp -d "${TMPDIR:-/tmp}/invmux-rehearsal.XXXXXX")
pids=()
created_ns=()

cleanup() {
  local rc=$?
  set +e
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  for ns in "${created_ns[@]}"; do
    # anything still running inside our namespaces was started by this script
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
  done
  for p in "${pids[@]}"; do { wait "$p"; } 2>/dev/null; done
  for ns in "${created_ns[@]}"; do ip netns del "$ns" 2>/dev/null; done  # deletes the veths in it too
  if [ $rc -ne 0 ]; then
    for f in "$work"/sidecar-*.log; do
      [ -f "$f" ] && { echo "---- $(basename "$f") (last 25 lines) ----" >&2; tail -n 25 "$f" >&2; }
    done
  fi
  if [ -n "$keep_logs" ]; then mkdir -p "$keep_logs" && cp "$work"/*.log "$work"/*.txt "$keep_logs"/ 2>/dev/null; fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------------------------------------ inputs
step "configs of $overlay"
for i in 1 2; do
  grep -q "address: tls://10.78.$i.2:7700?bind=10.78.$i.1" "$cfg_a" \
    || fail "$cfg_a no longer has path $i as tls://10.78.$i.2:7700?bind=10.78.$i.1: update this rehearsal"
done
grep -q "^  - tls://0.0.0.0:7700" "$cfg_b" || fail "$cfg_b no longer listens on tls://0.0.0.0:7700"
for site in a b; do
  cfg=$overlay/site-$site/invmux.yaml
  grep -q "^identity: site-$site\$" "$cfg" || fail "$cfg: the identity is no longer site-$site"
  grep -q "certFile: /var/run/secrets/invmux-tls/tls.crt" "$cfg" || fail "$cfg: security.tls.certFile moved"
done
grep -q "listen: 127.0.0.1:8080" "$cfg_a" || fail "$cfg_a has no forward on 127.0.0.1:8080"
grep -q "target: 127.0.0.1:9000" "$cfg_b" || fail "$cfg_b has no service targeting 127.0.0.1:9000"
jar=$(find server/target -maxdepth 1 -name "invmux-server-*-all.jar" 2>/dev/null | head -n 1 || true)
if [ -z "$jar" ]; then
  step "build the jar"
  ./mvnw -B -q -pl server -am package -DskipTests || fail "the Maven build failed"
  jar=$(find server/target -maxdepth 1 -name "invmux-server-*-all.jar" | head -n 1)
fi
chmod 0755 "$work"
as_user=()
run_uid=0
if command -v setpriv >/dev/null; then  # the image's user
  as_user=(setpriv --reuid 65532 --regid 65532 --clear-groups --)
  run_uid=65532
fi

# The bond's CA and each site's certificate, in a directory shaped like the Secret volume that cert-manager's
# Secret becomes (deploy/pki.sh secret: files through ..data, swapped atomically on update; mode 0440, group 65532:
# the Secret's defaultMode 288 and the pod's fsGroup).
group_opt=()
[ $run_uid -eq 0 ] || group_opt=(--group 65532)
deploy/pki.sh ca "$work/pki" || fail "could not make the CA"
for site in a b; do
  deploy/pki.sh secret "$work/pki" "$work/tls-$site" "DNS:site-$site" "${group_opt[@]}" \
    || fail "could not make site $site's certificate"
done
fingerprint() { openssl x509 -noout -fingerprint -sha256 "$@" | sed 's/.*=//'; }
echo "CA and certificates made: site-a $(fingerprint -in "$work/tls-a/tls.crt" | cut -c1-23)..., site-b $(fingerprint -in "$work/tls-b/tls.crt" | cut -c1-23)..."

as_user_can() { "${as_user[@]}" "$@" >/dev/null 2>&1; }
as_user_can test -r "$jar" -a -x bin/invmux -a -r "$cfg_a" -a -r "$cfg_b" -a -r "$work/tls-a/tls.key" \
  || fail "uid $run_uid cannot read $repo (the jar, bin/invmux, the overlay's configs): clone it where that uid can read"

# The overlay's app is socat; without it, the rehearsal's own Python echo, run by an interpreter the app's uid can
# execute (an interpreter under a private home, such as a pyenv shim under /root, cannot be).
probe_python=$(command -v python3)
echo_python=""
echo_desc="socat"
if ! command -v socat >/dev/null; then
  for candidate in "$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null)" /usr/bin/python3 /usr/local/bin/python3; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && as_user_can "$candidate" -c 'import socket'; then
      echo_python=$candidate
      break
    fi
  done
  [ -n "$echo_python" ] || fail "neither socat nor a python3 that uid $run_uid can run is installed: apt-get install socat"
  cp deploy/rehearsal-traffic.py "$work/rehearsal-traffic.py"
  chmod 0644 "$work/rehearsal-traffic.py"
  echo_desc="$echo_python rehearsal-traffic.py echo, since socat is not installed"
fi
echo "site A: $cfg_a; site B: $cfg_b; apps and sidecars run as uid $run_uid; site B's app: $echo_desc"

# ------------------------------------------------------------------------------------------------ two "pods"
step "network namespaces $ns_a, $ns_b and three veth links"
ip netns add "$ns_a"; created_ns+=("$ns_a")
ip netns add "$ns_b"; created_ns+=("$ns_b")
for ns in "$ns_a" "$ns_b"; do ip -n "$ns" link set lo up; done
names=(net1 net2 eth0)
for i in 1 2 3; do
  va="irh${id}a$i"; vb="irh${id}b$i"   # host-side names, at most 15 characters
  va=${va:0:15}; vb=${vb:0:15}
  ip link add "$va" type veth peer name "$vb"
  ip link set "$va" netns "$ns_a"
  ip link set "$vb" netns "$ns_b"
  ip -n "$ns_a" link set "$va" name "${names[$((i-1))]}"
  ip -n "$ns_b" link set "$vb" name "${names[$((i-1))]}"
  ip -n "$ns_a" addr add "10.78.$i.1/24" dev "${names[$((i-1))]}"
  ip -n "$ns_b" addr add "10.78.$i.2/24" dev "${names[$((i-1))]}"
  ip -n "$ns_a" link set "${names[$((i-1))]}" up
  ip -n "$ns_b" link set "${names[$((i-1))]}" up
  echo "path $i: ${names[$((i-1))]} 10.78.$i.1 ($ns_a) <-> 10.78.$i.2 ($ns_b)"
done

# Foreground only: a function run with & is a subshell, and its PID would not be the process's (SIGTERM would
# hit the subshell). Background processes are started with `ip netns exec` itself, which execs the command.
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
sidecar_env() {  # the pod's environment: the image's, the pod name as HOSTNAME, and the overrides
  local tls=$work/tls-$2
  echo PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/nonexistent HOSTNAME="$1" ${JAVA_HOME:+JAVA_HOME=$JAVA_HOME} \
    INVMUX_SECURITY_TLS_CERT_FILE="$tls/tls.crt" INVMUX_SECURITY_TLS_KEY_FILE="$tls/tls.key" \
    INVMUX_SECURITY_TLS_CA_FILE="$tls/ca.crt"
}

# ------------------------------------------------------------------------------------------------ apps and sidecars
step "site B: echo app on 127.0.0.1:9000 and the sidecar"
if [ -n "$echo_python" ]; then
  ip netns exec "$ns_b" "${as_user[@]}" "$echo_python" "$work/rehearsal-traffic.py" echo --listen 127.0.0.1:9000 \
    >"$work/app-b.log" 2>&1 &
else
  ip netns exec "$ns_b" "${as_user[@]}" socat TCP-LISTEN:9000,bind=127.0.0.1,reuseaddr,fork EXEC:cat >"$work/app-b.log" 2>&1 &
fi
pid_app=$!; pids+=("$pid_app")
# The app must be listening before the sidecar can deliver to it: a dead app would otherwise surface only as a
# transfer that never comes back, a minute later and under the wrong name.
deadline=$(( $(date +%s) + 10 ))
until in_ns "$ns_b" "$probe_python" -c 'import socket; socket.create_connection(("127.0.0.1", 9000), 1).close()' 2>/dev/null; do
  kill -0 "$pid_app" 2>/dev/null || { cat "$work/app-b.log" >&2; fail "site B's echo app ($echo_desc) exited at start (its output is above)"; }
  [ "$(date +%s)" -lt "$deadline" ] || { cat "$work/app-b.log" >&2; fail "site B's echo app ($echo_desc) is not listening on 127.0.0.1:9000 after 10 s"; }
  sleep 0.2
done
echo "site B's echo app ($echo_desc) listens on 127.0.0.1:9000"
# shellcheck disable=SC2046
ip netns exec "$ns_b" env -i $(sidecar_env demo-app-site-b-0 b) "${as_user[@]}" \
  bin/invmux sidecar --config "$cfg_b" >"$work/sidecar-b.log" 2>&1 &
pid_b=$!; pids+=("$pid_b")

step "site A: the sidecar (path 3 to B's eth0 address instead of the Service name)"
# shellcheck disable=SC2046
ip netns exec "$ns_a" env -i $(sidecar_env demo-app-site-a-0 a) INVMUX_PEERS_0_LINKS_2_ADDRESS=tls://10.78.3.2:7700 \
  "${as_user[@]}" bin/invmux sidecar --config "$cfg_a" >"$work/sidecar-a.log" 2>&1 &
pid_a=$!; pids+=("$pid_a")

metrics() { in_ns "$ns_a" curl -fsS --max-time 3 http://127.0.0.1:7702/metrics; }
links_healthy() { metrics 2>/dev/null | awk '/^invmux_link_healthy\{/ && $NF == 1 {n++} END {print n+0}'; }
link_bytes() {  # path and bytes sent per link, from site A's metrics
  awk -F'[{}]' '/^invmux_link_sent_bytes_total\{/ || /^invmux_link_sent_bytes\{/ {
      match($2, /link="[^"]*"/); r = substr($2, RSTART + 6, RLENGTH - 7); split($3, v, " ");
      printf "  %-28s %12.0f bytes\n", r, v[1] }' "$1"
}

step "wait: both ready (gRPC health, as the kubelet would ask), site A with 3 healthy links"
deadline=$(( $(date +%s) + 60 ))
while :; do
  kill -0 "$pid_a" 2>/dev/null || fail "site A's sidecar exited"
  kill -0 "$pid_b" 2>/dev/null || fail "site B's sidecar exited"
  if in_ns "$ns_b" bin/invmux health --api 10.78.3.2:7703 --service readiness >/dev/null 2>&1 \
      && in_ns "$ns_a" bin/invmux health --api 10.78.3.1:7703 --service readiness >/dev/null 2>&1 \
      && [ "$(links_healthy)" -ge 3 ]; then
    break
  fi
  [ "$(date +%s)" -lt "$deadline" ] || fail "not ready with 3 healthy links within 60 s (healthy links: $(links_healthy))"
  sleep 1
done
echo "site A and site B: readiness SERVING; site A's session to site-b has $(links_healthy) healthy links"

# ------------------------------------------------------------------------------------------------ the transfer
metric() {  # metric FILE NAME: the value of an unlabelled counter or gauge (0 when absent)
  awk -v n="$2" '$1 == n || $1 == n "_total" {v = $2} END {print v + 0}' "$1"
}
healthy_link_ids() {  # the ids of site A's schedulable links, sorted, one line
  awk '/^invmux_link_healthy\{/ && $NF == 1 { match($0, /link="[^"]*"/); print substr($0, RSTART + 6, RLENGTH - 7) }' \
    "$1" | sort | tr '\n' ' '
}
served_before=$(fingerprint -in "$work/tls-b/tls.crt")
step "transfer: $mib MiB through site A's forward 127.0.0.1:8080 to site B's echo; at $rotate_at MiB site B's certificate is rotated, at $cut_at MiB path 1 (net1) is cut"
# Each runs inside site A's namespace while the transfer goes on; site B's /metrics is on its eth0 address.
a_metrics="curl -fsS --max-time 3 http://127.0.0.1:7702/metrics"
b_metrics="curl -fsS --max-time 3 http://10.78.3.2:7702/metrics"
# The rotation: a new key and certificate for site B in one atomic swap, then a new TLS connection to B (which
# makes B load the files: it reads them for each new link) that checks B's certificate against the CA and site-b.
rotate_cmd="set -e
$a_metrics > $work/a-before-rotation.txt
$b_metrics > $work/b-before-rotation.txt
$repo/deploy/pki.sh secret $work/pki $work/tls-b DNS:site-b ${group_opt[*]}
openssl s_client -connect 10.78.3.2:7700 -tls1_3 -cert $work/tls-a/tls.crt -key $work/tls-a/tls.key \\
  -CAfile $work/tls-a/ca.crt -verify_return_error -verify_hostname site-b </dev/null > $work/s_client.txt 2>&1
$b_metrics > $work/b-after-rotation.txt"
cut_cmd="set -e
$a_metrics > $work/metrics-before-cut.txt
ip link set net1 down"
echo "$rotate_cmd" >"$work/rotate-site-b.sh"
echo "$cut_cmd" >"$work/cut-path-1.sh"
if ! in_ns "$ns_a" python3 deploy/rehearsal-traffic.py client --connect 127.0.0.1:8080 --mib "$mib" \
    --at "$rotate_at" "sh $work/rotate-site-b.sh" --at "$cut_at" "sh $work/cut-path-1.sh" --timeout 60 \
    >"$work/client.txt" 2>&1; then
  cat "$work/client.txt" >&2
  [ -f "$work/s_client.txt" ] && { echo "---- openssl s_client to site B after the rotation ----" >&2; tail -n 20 "$work/s_client.txt" >&2; }
  fail "the transfer did not come back intact, or a step during it failed (above)"
fi
cat "$work/client.txt"

echo "site B's certificate rotated at $rotate_at MiB:"
served_after=$(fingerprint -in "$work/tls-b/tls.crt")
served_new=$(fingerprint <"$work/s_client.txt" 2>/dev/null || true)
[ "$served_before" != "$served_after" ] || fail "the rotation did not change site B's certificate files"
[ "$served_new" = "$served_after" ] \
  || fail "after the rotation, a new TLS connection to site B was served ${served_new:-no certificate}, not the new certificate $served_after"
echo "  a new TLS connection to site B (openssl s_client, verifying site-b against the CA) got the new certificate"
reloads_before=$(metric "$work/b-before-rotation.txt" invmux_tls_reloads)
reloads_after=$(metric "$work/b-after-rotation.txt" invmux_tls_reloads)
[ "$reloads_after" -eq $(( reloads_before + 1 )) ] \
  || fail "site B's invmux_tls_reloads went from $reloads_before to $reloads_after across the rotation, not up by 1"
echo "  site B's invmux_tls_reloads: $reloads_before -> $reloads_after"
ids_rotation=$(healthy_link_ids "$work/a-before-rotation.txt")
ids_cut=$(healthy_link_ids "$work/metrics-before-cut.txt")
[ "$(echo "$ids_rotation" | wc -w)" -eq 3 ] || fail "site A had not 3 healthy links at the rotation: $ids_rotation"
[ "$ids_rotation" = "$ids_cut" ] \
  || fail "a link was dropped or replaced across the rotation: healthy links $ids_rotation then $ids_cut"
echo "  no link dropped: site A's healthy links [ $ids_rotation] at the rotation and just before the cut"

metrics >"$work/metrics-after.txt" || fail "site A's /metrics did not answer"
refused=$(awk '/^invmux_tls_refused_links(_total)?\{/ {n += $NF} END {print n + 0}' "$work/metrics-after.txt")
[ "$refused" -eq 0 ] || fail "site A counted $refused refused TLS links (invmux_tls_refused_links)"
echo "bytes sent per link by site A, just before the cut:"
link_bytes "$work/metrics-before-cut.txt"
echo "after the transfer (path 1 down):"
link_bytes "$work/metrics-after.txt"
bonded=$(link_bytes "$work/metrics-before-cut.txt" | awk '($1 ~ /^\/?10\.78\.[12]\.2[\/:]/) && $2 > 0 {n++} END {print n+0}')
[ "$bonded" -eq 2 ] || fail "before the cut, the two bonded paths did not both carry bytes (see above)"
echo "both bonded paths carried bytes before the cut; the stream survived losing path 1"

step "path 1 back up: the session redials it"
in_ns "$ns_a" ip link set net1 up
in_ns "$ns_b" ip link set net1 up
deadline=$(( $(date +%s) + 30 ))
until [ "$(links_healthy)" -ge 3 ]; do
  [ "$(date +%s)" -lt "$deadline" ] || fail "path 1 did not rejoin within 30 s (healthy links: $(links_healthy))"
  sleep 0.5
done
echo "3 healthy links again after $(( 30 - deadline + $(date +%s) ))s"
metrics >"$work/metrics-rejoined.txt" || fail "site A's /metrics did not answer"
# Links are labelled by path, not by id (ids are new on every redial), so a rejoined path 1 shows the same label:
# what proves it is a new link is path 1's downs counter, 0 before the cut and at least 1 now.
ids_rejoined=$(healthy_link_ids "$work/metrics-rejoined.txt")
[ "$ids_rejoined" = "$ids_cut" ] || fail "after the rejoin, site A's healthy links are [ $ids_rejoined], not [ $ids_cut]"
path1_downs() {  # path1_downs FILE: invmux_link_downs_total of path 1 (10.78.1.2) in site A's metrics
  awk '/^invmux_link_downs(_total)?\{/ && /link="\/?10\.78\.1\.2[\/:]/ {n += $NF} END {print n + 0}' "$1"
}
downs_cut=$(path1_downs "$work/metrics-before-cut.txt")
downs_rejoined=$(path1_downs "$work/metrics-rejoined.txt")
[ "$downs_cut" -eq 0 ] || fail "path 1 had gone down $downs_cut time(s) before the cut"
[ "$downs_rejoined" -ge 1 ] || fail "path 1 is healthy again but its invmux_link_downs_total is $downs_rejoined: the old link was never replaced"
echo "path 1 rejoined as a new link (its downs counter 0 -> $downs_rejoined), under site B's new certificate (healthy links [ $ids_rejoined])"

# ------------------------------------------------------------------------------------------------ graceful stop
step "SIGTERM both sidecars: drain, exit 0"
kill -TERM "$pid_a" "$pid_b"
for name in a b; do
  pid_var="pid_$name"
  set +e
  wait "${!pid_var}"
  rc=$?
  set -e
  [ $rc -eq 0 ] || fail "site $name's sidecar exited $rc after SIGTERM"
  grep -q "draining" "$work/sidecar-$name.log" || fail "site $name's sidecar did not drain"
  echo "site $name: drained, exit 0"
done

printf '\nrehearsal: OK in %ss (%s MiB echoed intact over tls:// links across a certificate rotation and a cut link)\n' \
  "$(( $(date +%s) - started ))" "$mib"
