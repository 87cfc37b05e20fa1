#!/usr/bin/env bash
# Runs the InvMux benchmark suite on loopback. Every figure is a ratio against a baseline measured in the same
# run (raw sockets, reps interleaved), because this machine is small and shared. See docs/BENCHMARKS.md.
#
#   bench/run.sh [--quick] [--no-build] [CASE...]
#
#   CASE     throughput-1x1 | throughput-4x4 | idle-streams | pingpong | failover | sidecar | tls | tls-pipeline
#            | compression | jmh | soak
#            default: every case but jmh, tls-pipeline, compression and soak (about 6-8 minutes; sidecar alone
#            about 2.5);
#            tls-pipeline (CPU per GiB of the TLS layer alone, one thread, no sockets; ~20 s) runs only when named;
#            jmh (the FrameCodecBenchmark, ~1 minute) and compression (per-codec ratio and CPU per GiB, loopback
#            goodput with adaptive compression vs without; ~10 minutes) run only when named, as does soak
#            (stream churn, link flaps and attacks on one session pair for SOAK_SECONDS, default 1800; it
#            reports the slope per hour of heap, direct memory, descriptors and threads, and bytes lost)
#   --quick  short smoke run of each case (seconds, figures not meaningful)
#   --no-build  skip `./mvnw install` (use what bench/target holds)
#
# Extra JVM options can be given in BENCH_JAVA_OPTS (e.g. a JFR recording); extra bench arguments in BENCH_ARGS.
# Output goes to the terminal and to bench/target/bench-results-<time>.txt; the last lines are the
# machine-readable summaries (`bench: case=... k=v ...`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

quick=""
build=1
cases=()
for a in "$@"; do
  case "$a" in
    --quick) quick="--quick" ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    throughput-1x1|throughput-4x4|idle-streams|pingpong|failover|sidecar|tls|tls-pipeline|compression|jmh|soak) cases+=("$a") ;;
    *) echo "unknown argument: $a (see $0 --help)" >&2; exit 2 ;;
  esac
done
if [ ${#cases[@]} -eq 0 ]; then
  cases=(throughput-1x1 throughput-4x4 idle-streams pingpong failover sidecar tls)
fi

if [ "$build" = 1 ]; then
  echo "building (./mvnw -B -q -DskipTests install) ..."
  (cd "$root" && ./mvnw -B -q -DskipTests install)
fi
cpfile="$here/target/classpath.txt"
if [ ! -s "$cpfile" ] || [ ! -d "$here/target/classes/io/invmux/bench" ]; then
  echo "missing $cpfile or bench classes: run without --no-build" >&2
  exit 1
fi
cp="$here/target/classes:$(cat "$cpfile")"

# -Xmx2g as asked; Netty leak detection off (its default SIMPLE level samples 1% of buffers; paranoid is for tests).
java_opts=(-Xmx2g -Dio.netty.leakDetection.level=disabled -Dio.grpc.netty.shaded.io.netty.leakDetection.level=disabled -Dorg.slf4j.simpleLogger.defaultLogLevel=warn)
# shellcheck disable=SC2206
java_opts+=(${BENCH_JAVA_OPTS:-})
# shellcheck disable=SC2206
extra=(${BENCH_ARGS:-})

out="$here/target/bench-results-$(date +%Y%m%d-%H%M%S).txt"
{
  echo "# InvMux benchmarks $(date -u +%Y-%m-%dT%H:%M:%SZ) ${quick:+(quick)}"
  echo "# nproc=$(nproc) kernel=$(uname -r) load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
  echo "# $(java -version 2>&1 | head -1)"
} | tee "$out"

run_main() {
  java "${java_opts[@]}" -cp "$cp" "$@" ${quick} "${extra[@]}" 2>&1 | tee -a "$out"
}

start=$(date +%s)
for c in "${cases[@]}"; do
  # Load average before each case: other processes on this small machine skew the figures (see BENCHMARKS.md).
  echo "# $c: load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?') at $(date -u +%H:%M:%S)" \
    | tee -a "$out"
  case "$c" in
    throughput-1x1) run_main io.invmux.bench.ThroughputBench --pairs 1 ;;
    throughput-4x4) run_main io.invmux.bench.ThroughputBench --pairs 4 ;;
    idle-streams)   run_main io.invmux.bench.IdleStreamsBench --streams 10000 ;;
    pingpong)       run_main io.invmux.bench.PingPongBench --size 64 ;;
    failover)       java "${java_opts[@]}" -cp "$cp" io.invmux.bench.FailoverBench 5 2>&1 | tee -a "$out" ;;
    sidecar)        run_main io.invmux.bench.SidecarBench ;;
    tls)            run_main io.invmux.bench.TlsBench ;;
    tls-pipeline)   run_main io.invmux.bench.TlsPipelineBench --wrap-sizes 16k ;;
    compression)    run_main io.invmux.bench.CompressionBench ;;
    soak)
      # The soak lives with core's tests (it drives scripted attackers); paranoid leak detection as in every test.
      # SOAK_SECONDS (default 1800) and a sample every 10 s; --quick: 60 s.
      soak_seconds=${SOAK_SECONDS:-1800}
      [ -n "$quick" ] && soak_seconds=60
      (cd "$root" && ./mvnw -B -q -o -pl core test -Dtest=SoakTest -Dsurefire.failIfNoSpecifiedTests=false \
        -Dinvmux.soak.seconds="$soak_seconds" -Dinvmux.soak.sampleSeconds=10) 2>&1 | grep -E '^soak: ' | tee -a "$out"
      ;;
    jmh)
      if [ -n "$quick" ]; then
        jmh_args=(-f 1 -wi 1 -i 1 -w 1s -r 1s)
      else
        jmh_args=()  # @Fork/@Warmup/@Measurement of the class
      fi
      java -cp "$cp" org.openjdk.jmh.Main "${jmh_args[@]}" io.invmux.bench.jmh.FrameCodecBenchmark 2>&1 \
        | tee -a "$out"
      ;;
  esac
done

echo "" | tee -a "$out"
echo "== summary ($(( $(date +%s) - start )) s; full log: $out)" | tee -a "$out"
grep -E '^(bench|failover|soak: seconds)' "$out" || true
