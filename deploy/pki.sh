#!/usr/bin/env bash
# A throwaway PKI for tls:// links, made with openssl, shaped like what cert-manager writes into a Certificate's
# Secret (k8s/overlays/multipath): ECDSA P-256 keys in PKCS#8 (BEGIN PRIVATE KEY), leaf certificates usable as TLS
# server and client, the CA's certificate beside each leaf as ca.crt. For tests and rehearsals only: the CA key is
# left in the directory.
#
#   deploy/pki.sh ca DIR [DAYS]                     DIR/ca.crt, DIR/ca.key (a new CA; DAYS default 2)
#   deploy/pki.sh leaf DIR OUT SAN [SAN ...] [--days N]
#       OUT/tls.crt, OUT/tls.key, OUT/ca.crt, signed by DIR's CA; each SAN as openssl writes it: DNS:site-a,
#       URI:spiffe://example.org/ns/x/site-a, IP:10.0.0.1. Each file is complete when it appears (made aside, then
#       renamed), but the three are renamed one after another.
#   deploy/pki.sh secret DIR VOLUME SAN [SAN ...] [--days N] [--group GID]
#       VOLUME laid out as the kubelet lays out a Secret volume, holding a new leaf: tls.crt -> ..data/tls.crt (and
#       tls.key, ca.crt), ..data -> ..<version>/. Run again, it writes a new version (new key, new certificate) and
#       swaps ..data to it in one rename(2), as the kubelet's atomic writer does, so a reader sees all three files
#       change at once, then removes the old version. Files mode 0440 (a Secret's defaultMode 288), group GID.
set -euo pipefail

fail() { echo "pki.sh: $*" >&2; exit 1; }
command -v openssl >/dev/null || fail "openssl is needed (apt-get install openssl)"
cmd=${1:-}
case "$cmd" in
  ca)
    [ $# -ge 2 ] || fail "usage: pki.sh ca DIR [DAYS]"
    dir=$2; days=${3:-2}
    mkdir -p "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" -subj "/CN=invmux-test-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null || fail "openssl could not make the CA in $dir"
    ;;
  leaf)
    [ $# -ge 4 ] || fail "usage: pki.sh leaf DIR OUT SAN [SAN ...] [--days N]"
    dir=$2; out=$3; shift 3
    days=2; sans=()
    while [ $# -gt 0 ]; do
      case "$1" in
        --days) days=$2; shift 2 ;;
        *) sans+=("$1"); shift ;;
      esac
    done
    [ -f "$dir/ca.crt" ] && [ -f "$dir/ca.key" ] || fail "no CA in $dir (pki.sh ca $dir)"
    mkdir -p "$out"
    tmp=$(mktemp -d "$out/.pki.XXXXXX")
    san=$(IFS=,; echo "${sans[*]}")
    printf 'subjectAltName=%s\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature\n' \
      "$san" >"$tmp/ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=${sans[0]#*:}" \
      -keyout "$tmp/tls.key" -out "$tmp/tls.csr" 2>/dev/null || fail "openssl could not make a key and CSR"
    openssl x509 -req -in "$tmp/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
      -days "$days" -extfile "$tmp/ext" -out "$tmp/tls.crt" 2>/dev/null || fail "openssl could not sign $san"
    cp "$dir/ca.crt" "$tmp/ca.crt"
    for f in tls.crt tls.key ca.crt; do mv -f "$tmp/$f" "$out/$f"; done
    rm -rf "$tmp"
    ;;
  secret)
    [ $# -ge 4 ] || fail "usage: pki.sh secret DIR VOLUME SAN [SAN ...] [--days N] [--group GID]"
    dir=$2; volume=$3; shift 3
    args=(); group=""
    while [ $# -gt 0 ]; do
      case "$1" in
        --group) group=$2; shift 2 ;;
        *) args+=("$1"); shift ;;
      esac
    done
    mkdir -p "$volume"
    old=$(readlink "$volume/..data" 2>/dev/null || true)
    version="..$(date -u +%Y_%m_%d_%H_%M_%S).$$.$RANDOM"
    "$0" leaf "$dir" "$volume/$version" "${args[@]}"
    chmod 0440 "$volume/$version"/*
    if [ -n "$group" ]; then chgrp "$group" "$volume/$version"/*; fi
    ln -sfn "$version" "$volume/..data_tmp"
    mv -Tf "$volume/..data_tmp" "$volume/..data"
    for f in tls.crt tls.key ca.crt; do [ -L "$volume/$f" ] || ln -s "..data/$f" "$volume/$f"; done
    if [ -n "$old" ]; then rm -rf "${volume:?}/$old"; fi
    ;;
  *) fail "usage: pki.sh ca DIR [DAYS] | pki.sh leaf DIR OUT SAN [SAN ...] [--days N] | pki.sh secret DIR VOLUME SAN [SAN ...] [--days N] [--group GID]" ;;
esac
