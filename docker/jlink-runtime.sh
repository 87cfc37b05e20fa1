#!/bin/sh
# Builds the sidecar's minimal Java runtime with jlink: used by docker/Dockerfile (jlink stage) and by
# docker/check-runtime.sh, so the image and CI build the very same runtime from docker/jlink-modules.txt.
#
#   docker/jlink-runtime.sh JAR OUTPUT_DIR
#
# Uses jdeps/jlink from $JAVA_HOME/bin when JAVA_HOME is set, else from PATH. Before linking it checks that every
# module jdeps finds the jar needs is in the list (a new dependency must be added there, not discovered in
# production). POSIX sh: the build image has no bash guarantee.
set -eu
if [ $# -ne 2 ]; then
  echo "usage: $0 JAR OUTPUT_DIR" >&2
  exit 64
fi
jar=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
list="$here/jlink-modules.txt"
bin=""
if [ -n "${JAVA_HOME:-}" ]; then bin="$JAVA_HOME/bin/"; fi
[ -f "$jar" ] || { echo "jlink-runtime: no jar at $jar" >&2; exit 1; }
[ -f "$list" ] || { echo "jlink-runtime: no module list at $list" >&2; exit 1; }

modules=$(sed -e 's/#.*//' "$list" | tr -s ' \t\r\n' '\n' | grep -v '^$' | paste -sd, -)
[ -n "$modules" ] || { echo "jlink-runtime: $list names no module" >&2; exit 1; }

needed=$("${bin}jdeps" --ignore-missing-deps --multi-release 17 --print-module-deps "$jar" | tail -n 1)
missing=""
for m in $(echo "$needed" | tr ',' ' '); do
  case ",$modules," in
    *",$m,"*) ;;
    *) missing="$missing $m" ;;
  esac
done
if [ -n "$missing" ]; then
  echo "jlink-runtime: jdeps says the jar needs module(s)$missing, missing from $list (jdeps: $needed)" >&2
  exit 1
fi

rm -rf "$out"
# --compress=2 (zip) is what JDK 17 spells; --generate-cds-archive gives the default CDS archive (faster start).
"${bin}jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages --compress=2 \
  --generate-cds-archive --output "$out" >/dev/null
echo "jlink-runtime: $out with $modules (jdeps: $needed)"
