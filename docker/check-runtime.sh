#!/usr/bin/env bash
# What CI can prove about the container image without Docker:
#
#   1. builds the shaded jar (the Dockerfile's build stage command);
#   2. checks the Dockerfile's wiring (entrypoint, paths, user, the build context it copies);
#   3. builds the SAME jlink runtime as the image (docker/jlink-runtime.sh with docker/jlink-modules.txt);
#   4. lays out the image's /opt/invmux and /etc/invmux in a temp folder, with the base ConfigMap's sidecar config
#      (k8s/base/invmux.yaml, the file its configMapGenerator is made from) and the base Secret's join key;
#   5. runs the image's exact ENTRYPOINT + CMD (read from the Dockerfile) on that runtime, with an environment as
#      bare as the image's (env -i), as uid 65532 when run as root, on loopback ports picked here;
#   6. checks: gRPC health SERVING on the health port (invmux health, on the jlink runtime too), /live, /ready and
#      /metrics on the admin port, a stream through the TCP forwarding proxy (the sidecar dials itself), no
#      missing class in the log; then SIGTERM and exit code 0.
#
# Usage: docker/check-runtime.sh [--skip-build]      (exit 0: all good; non-zero with a message otherwise)
# Needs: a JDK 17 (jlink, jdeps; JAVA_HOME or PATH), python3, curl. Takes well under 2 minutes.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
skip_build=0
[ "${1:-}" = "--skip-build" ] && skip_build=1

step() { printf '\n== %s\n' "$*"; }
fail() { printf '\ncheck-runtime: FAILED: %s\n' "$*" >&2; exit 1; }
started=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/invmux-check-runtime.XXXXXX")
sidecar_pid=""
echo_pid=""
cleanup() {
  local rc=$?
  if [ -n "$sidecar_pid" ] && kill -0 "$sidecar_pid" 2>/dev/null; then
    kill -KILL "$sidecar_pid" 2>/dev/null || true
  fi
  if [ -n "$echo_pid" ] && kill -0 "$echo_pid" 2>/dev/null; then
    kill "$echo_pid" 2>/dev/null || true
  fi
  if [ $rc -ne 0 ] && [ -f "$work/sidecar.log" ]; then
    echo "---- sidecar log (last 40 lines) ----" >&2
    tail -n 40 "$work/sidecar.log" >&2 || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

for tool in python3 curl; do
  command -v "$tool" >/dev/null || fail "$tool is needed"
done
jdk_bin=""
[ -n "${JAVA_HOME:-}" ] && jdk_bin="$JAVA_HOME/bin/"
"${jdk_bin}jlink" --version >/dev/null 2>&1 || fail "no jlink: install a JDK 17 (not a JRE), or set JAVA_HOME"

# ------------------------------------------------------------------------------------------------ 1. the jar
if [ $skip_build -eq 0 ]; then
  step "build the shaded jar: ./mvnw -B -q -pl server -am package -DskipTests"
  ./mvnw -B -q -pl server -am package -DskipTests || fail "the Maven build failed"
fi
jar=$(find server/target -maxdepth 1 -name "invmux-server-*-all.jar" 2>/dev/null | head -n 1 || true)
{ [ -n "$jar" ] && [ -f "$jar" ]; } || fail "no server/target/invmux-server-*-all.jar (run without --skip-build)"
echo "jar: $jar"

# ------------------------------------------------------------------------------------------------ 2. the Dockerfile
step "check docker/Dockerfile's wiring"
# Prints the exec-form ENTRYPOINT and CMD, one argument a line, then checks the rest of the wiring.
python3 - "$repo" >"$work/entrypoint.txt" <<'EOF' || fail "docker/Dockerfile is not wired as expected (above)"
import json, os, re, sys
repo = sys.argv[1]
text = open(os.path.join(repo, "docker/Dockerfile")).read().replace("\\\n", " ")
lines = [l.strip() for l in text.splitlines() if l.strip() and not l.strip().startswith("#")]
problems = []
stages = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
final = lines[stages[-1]:]
def instr(name, where=final):
    return [l[len(name):].strip() for l in where if l.upper().startswith(name + " ")]
def exec_form(name):
    found = instr(name)
    if len(found) != 1:
        problems.append(f"the final stage needs exactly one {name} (found {len(found)})")
        return []
    try:
        value = json.loads(found[0])
    except ValueError:
        problems.append(f"{name} must be in exec (JSON array) form, so the JVM gets SIGTERM: {found[0]}")
        return []
    return value
entrypoint, cmd = exec_form("ENTRYPOINT"), exec_form("CMD")
if entrypoint != ["/opt/invmux/bin/invmux", "sidecar"]:
    problems.append(f"ENTRYPOINT is {entrypoint}, expected ['/opt/invmux/bin/invmux', 'sidecar']")
if instr("USER") != ["65532:65532"] and instr("USER") != ["65532"]:
    problems.append(f"the final stage must run as USER 65532 (found {instr('USER')})")
if not any("jlink-runtime.sh" in l and "/opt/invmux/jre" in l for l in lines):
    problems.append("the jlink stage must build /opt/invmux/jre with docker/jlink-runtime.sh")
if not any(l.startswith("COPY") and "/opt/invmux/lib/invmux.jar" in l for l in final):
    problems.append("the final stage must copy the jar to /opt/invmux/lib/invmux.jar")
if not any(l.startswith("COPY") and "bin/invmux /opt/invmux/bin/invmux" in l for l in final):
    problems.append("the final stage must copy bin/invmux to /opt/invmux/bin/invmux")
if not any("JAVA_HOME=/opt/invmux/jre" in l for l in instr("ENV")):
    problems.append("the final stage must set JAVA_HOME=/opt/invmux/jre (the launcher runs $JAVA_HOME/bin/java)")
# The build stage copies every module's POM and the modules it builds; .dockerignore must not hide them.
pom = open(os.path.join(repo, "pom.xml")).read()
modules = re.findall(r"<module>([^<]+)</module>", pom)
build = lines[stages[0]:stages[1]]
copied = " ".join(instr("COPY", build))
for m in modules:
    if f"{m}/pom.xml" not in copied and f"{m}/ " not in copied + " ":
        problems.append(f"the build stage does not copy module {m} (its pom.xml at least): Maven needs every module")
ignored = [l.strip().rstrip("/") for l in open(os.path.join(repo, ".dockerignore")) if l.strip() and not l.startswith("#")]
for needed in ["mvnw", "pom.xml", ".mvn", "bin", "docker", "proto", "core", "server"]:
    if needed in ignored:
        problems.append(f".dockerignore excludes {needed}, which the build needs")
if problems:
    sys.stderr.write("\n".join("docker/Dockerfile: " + p for p in problems) + "\n")
    sys.exit(1)
for arg in entrypoint + cmd:
    print(arg)
EOF
mapfile -t image_args <"$work/entrypoint.txt"
echo "image runs: ${image_args[*]}"

# ------------------------------------------------------------------------------------------------ 3. the runtime
root="$work/root"   # plays the image's /
mkdir -p "$root/opt/invmux/bin" "$root/opt/invmux/lib" "$root/etc/invmux" "$root/var/run/secrets/invmux"
step "jlink the runtime: docker/jlink-runtime.sh (modules from docker/jlink-modules.txt)"
sh docker/jlink-runtime.sh "$jar" "$root/opt/invmux/jre" || fail "jlink-runtime.sh failed"
"$root/opt/invmux/jre/bin/java" -version 2>&1 | head -n 1
echo "modules: $("$root/opt/invmux/jre/bin/java" --list-modules | sed 's/@.*//' | paste -sd' ' -)"
echo "size: $(du -sh "$root/opt/invmux/jre" | cut -f1)"

# ------------------------------------------------------------------------------------------------ 4. the layout
step "lay out /opt/invmux and /etc/invmux as in the image"
cp "$jar" "$root/opt/invmux/lib/invmux.jar"
cp bin/invmux "$root/opt/invmux/bin/invmux"
chmod 0755 "$root/opt/invmux/bin/invmux"
# The ConfigMap's invmux.yaml: k8s/base's configMapGenerator makes the ConfigMap from exactly this file.
cp k8s/base/invmux.yaml "$root/etc/invmux/invmux.yaml"
# The Secret's join key, as Kubernetes mounts it (file psk, mode 0440, group = fsGroup 65532).
sed -n 's/^[[:space:]]*psk:[[:space:]]*//p' k8s/base/secret.yaml | head -n 1 >"$root/var/run/secrets/invmux/psk"
[ -s "$root/var/run/secrets/invmux/psk" ] || fail "k8s/base/secret.yaml holds no psk"
chmod 0755 "$work" "$root" "$root/opt" "$root/opt/invmux" "$root/etc" "$root/etc/invmux" "$root/var" \
  "$root/var/run" "$root/var/run/secrets" "$root/var/run/secrets/invmux"
chmod -R a+rX "$root/opt/invmux" "$root/etc/invmux"
chmod 0440 "$root/var/run/secrets/invmux/psk"
# Rewrite the image's absolute paths into the temp root.
args=()
for a in "${image_args[@]}"; do
  case "$a" in
    /opt/*|/etc/*|/var/*) args+=("$root$a") ;;
    *) args+=("$a") ;;
  esac
done

# ------------------------------------------------------------------------------------------------ 5. run it
read -r peer_port api_port admin_port health_port fwd_port echo_port < <(python3 - <<'EOF'
import socket
socks = []
for _ in range(6):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
)
# A plain TCP echo server for the forwarding check.
python3 - "$echo_port" >"$work/echo.log" 2>&1 <<'EOF' &
import socket, sys, threading
srv = socket.create_server(("127.0.0.1", int(sys.argv[1])))
def serve(c):
    with c:
        while True:
            b = c.recv(65536)
            if not b:
                break
            c.sendall(b)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
EOF
echo_pid=$!

as_user=()
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  chgrp 65532 "$root/var/run/secrets/invmux/psk"
  as_user=(setpriv --reuid 65532 --regid 65532 --clear-groups --)
  echo "running as uid 65532 (the image's USER)"
fi
# The image's environment (JAVA_HOME, PATH, HOME of uid 65532) and nothing else of ours, plus the overrides:
# loopback ports picked above; the base config names no peer (INVMUX_PEERS=[] would empty it), so the sidecar is
# given itself as a peer, a service and a forward, to push bytes through the data plane on this runtime.
step "start: ${args[*]}"
env -i \
  PATH="$root/opt/invmux/bin:$root/opt/invmux/jre/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  HOME=/nonexistent HOSTNAME=check-runtime JAVA_HOME="$root/opt/invmux/jre" \
  INVMUX_API_ADDRESS="127.0.0.1:$api_port" \
  INVMUX_HEALTH_ADDRESS="127.0.0.1:$health_port" \
  INVMUX_ADMIN_ADDRESS="127.0.0.1:$admin_port" \
  INVMUX_LISTENERS_0="tcp://127.0.0.1:$peer_port" \
  INVMUX_PEERS="[{name: self, links: [{address: \"tcp://127.0.0.1:$peer_port\"}]}]" \
  INVMUX_SERVICES="[{name: echo, target: \"127.0.0.1:$echo_port\"}]" \
  INVMUX_FORWARDS="[{listen: \"127.0.0.1:$fwd_port\", peer: self, service: echo}]" \
  INVMUX_SECURITY_PRE_SHARED_KEY_FILE="$root/var/run/secrets/invmux/psk" \
  "${as_user[@]}" "${args[@]}" >"$work/sidecar.log" 2>&1 &
sidecar_pid=$!

# ------------------------------------------------------------------------------------------------ 6. checks
health() {  # the operator CLI on the jlink runtime too
  env -i PATH=/usr/bin:/bin HOME=/nonexistent JAVA_HOME="$root/opt/invmux/jre" \
    "$root/opt/invmux/bin/invmux" health --api "127.0.0.1:$health_port" --timeout 5s "$@"
}
step "wait for readiness on the health port 127.0.0.1:$health_port"
deadline=$(( $(date +%s) + 90 ))
until health --service readiness >"$work/health.out" 2>&1; do
  kill -0 "$sidecar_pid" 2>/dev/null || fail "the sidecar exited before it was ready"
  [ "$(date +%s)" -lt "$deadline" ] || fail "readiness not SERVING within 90 s: $(cat "$work/health.out")"
  sleep 1
done
cat "$work/health.out"
health --service liveness || fail "liveness is not SERVING"
health || fail "overall health is not SERVING"

step "admin HTTP on 127.0.0.1:$admin_port"
live=$(curl -fsS --max-time 5 "http://127.0.0.1:$admin_port/live") || fail "/live did not answer 200"
[ "$live" = live ] || fail "/live answered '$live'"
curl -fsS --max-time 5 "http://127.0.0.1:$admin_port/ready" >/dev/null || fail "/ready did not answer 200"
curl -fsS --max-time 5 "http://127.0.0.1:$admin_port/metrics" >"$work/metrics.txt" || fail "/metrics did not answer 200"
grep -q '^invmux_sessions ' "$work/metrics.txt" || fail "/metrics has no invmux_sessions"
# The JVM's own series need jdk.management in the runtime: without it they are silently missing.
for series in jvm_memory_used_bytes jvm_gc_collection_seconds_count process_open_fds jvm_threads_current; do
  grep -q "^$series" "$work/metrics.txt" || fail "/metrics has no $series (a module missing from the jlink runtime?)"
done
echo "/live, /ready: 200; /metrics: $(grep -c '^invmux_' "$work/metrics.txt") invmux_ samples," \
  "$(grep -c '^jvm_\|^process_' "$work/metrics.txt") jvm_/process_ samples"

step "4 MiB through the forward 127.0.0.1:$fwd_port -> peer self -> service echo, checked by sha256"
python3 - "$fwd_port" <<'EOF' || fail "the data path on the jlink runtime is broken"
import hashlib, os, socket, sys, threading
data = os.urandom(4 << 20)
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
threading.Thread(target=send, daemon=True).start()
h, n = hashlib.sha256(), 0
while True:
    b = s.recv(1 << 16)
    if not b:
        break
    h.update(b)
    n += len(b)
ok = n == len(data) and h.hexdigest() == hashlib.sha256(data).hexdigest()
print(f"{n} bytes back, sha256 {'matches' if ok else 'DIFFERS'}")
sys.exit(0 if ok else 1)
EOF

step "SIGTERM: drain and exit 0"
kill -TERM "$sidecar_pid"
for _ in $(seq 1 60); do kill -0 "$sidecar_pid" 2>/dev/null || break; sleep 0.5; done
if kill -0 "$sidecar_pid" 2>/dev/null; then fail "the sidecar did not exit within 30 s of SIGTERM"; fi
set +e
wait "$sidecar_pid"
rc=$?
set -e
sidecar_pid=""
[ $rc -eq 0 ] || fail "the sidecar exited $rc after SIGTERM, expected 0"
grep -q "draining" "$work/sidecar.log" || fail "no drain in the sidecar log"
if grep -E "NoClassDefFoundError|ClassNotFoundException|UnsatisfiedLinkError|module .* not found" "$work/sidecar.log"; then
  fail "the jlink runtime lacks something the sidecar loads (above): add the module to docker/jlink-modules.txt"
fi
echo "exit code 0; log clean"

printf '\ncheck-runtime: OK in %ss (jlink runtime %s, entrypoint %s)\n' "$(( $(date +%s) - started ))" \
  "$(du -sh "$root/opt/invmux/jre" | cut -f1)" "${image_args[*]}"
