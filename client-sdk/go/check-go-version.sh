#!/usr/bin/env bash
# Fails when the Go module uses more than its go.mod's `go` line promises (a newer standard library API or
# language feature, in the code or its tests, or a dependency that needs a newer Go): builds and vets the module
# with exactly that Go release. The go command fetches that toolchain from the module proxy
# (golang.org/toolchain, GOTOOLCHAIN=go1.X.Y) into the module cache, once.
set -euo pipefail
cd "$(dirname "$0")"
version=$(go list -m -f '{{.GoVersion}}')
case $version in
  *.*.*) ;;
  *) version=$version.0 ;; # "go 1.23" promises the language of 1.23, whose first release is go1.23.0
esac
export GOTOOLCHAIN=go$version
got=$(go env GOVERSION)
if [ "$got" != "go$version" ]; then
  echo "check-go-version.sh: asked for go$version, the go command runs $got" >&2
  exit 1
fi
go build ./...
go vet ./...
echo "built and vetted with $got, the release go.mod's go line names"
