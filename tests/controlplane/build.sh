#!/usr/bin/env bash
# Builds (or reuses) the control-plane binaries that kubedrift's tests run:
# etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kubectl.
#
# Binaries go to a cache outside the repository, keyed by the hash of go.mod
# and go.sum, so that a second run (and CI on the same machine) reuses them.
# Prints the directory that holds the binaries on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${KUBEDRIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubedrift}
key=$(cat "$here/go.mod" "$here/go.sum" "$here"/cmd/*/main.go | sha256sum | cut -c1-16)
out="$cache_root/controlplane/$key"
components=(etcd kube-apiserver kube-controller-manager kube-scheduler kubectl)

missing=()
for c in "${components[@]}"; do
  [ -x "$out/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is required to build the control plane" >&2; exit 1; }
mkdir -p "$out.partial"
start=$(date +%s)
cd "$here"
for c in "${missing[@]}"; do
  echo "building $c ..." >&2
  go build -trimpath -ldflags='-s -w' -o "$out.partial/$c" "./cmd/$c"
done
for c in "${missing[@]}"; do mv "$out.partial/$c" "$out/$c" 2>/dev/null || { mkdir -p "$out"; mv "$out.partial/$c" "$out/$c"; }; done
rmdir "$out.partial" 2>/dev/null || true
echo "built ${missing[*]} in $(( $(date +%s) - start ))s" >&2
echo "$out"
