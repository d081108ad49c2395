#!/usr/bin/env bash
# Builds (or reuses) the binaries of a real node: kubelet and kube-proxy (Kubernetes v1.37.2, the
# control plane's version, from this directory's Go module) and CoreDNS (from coredns/, a main of
# our own with the plugins cluster DNS needs).
#
# Binaries go to a cache outside the repository, keyed by the hash of both modules' go.mod,
# go.sum and mains, so that a second run (and CI on the same machine) reuses them.
# Prints the directory that holds the binaries on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${KUBEDRIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubedrift}
key=$(cat "$here/go.mod" "$here/go.sum" "$here"/cmd/*/main.go \
  "$here/coredns/go.mod" "$here/coredns/go.sum" "$here/coredns/main.go" | sha256sum | cut -c1-16)
out="$cache_root/node/$key"
components=(kubelet kube-proxy coredns)

missing=()
for c in "${components[@]}"; do
  [ -x "$out/$c" ] || missing+=("$c")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is required to build the node" >&2; exit 1; }
mkdir -p "$out"
start=$(date +%s)
for c in "${missing[@]}"; do
  echo "building $c ..." >&2
  if [ "$c" = coredns ]; then
    (cd "$here/coredns" && go build -trimpath -ldflags='-s -w' -o "$out/$c.partial" .)
  else
    (cd "$here" && go build -trimpath -ldflags='-s -w' -o "$out/$c.partial" "./cmd/$c")
  fi
  mv "$out/$c.partial" "$out/$c"
done
echo "built ${missing[*]} in $(( $(date +%s) - start ))s" >&2
echo "$out"
