#!/usr/bin/env bash
# Builds (or reuses) the helm binary that kubedrift's delivery tests run.
#
# helm comes from helm.sh/helm/v3 on the Go module proxy, pinned by the `tool` directive in
# go.mod. The binary goes to a cache outside the repository, keyed by the hash of go.mod and
# go.sum, so a second run (and CI on the same machine) reuses it.
# Prints the directory that holds the binary on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache_root=${KUBEDRIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubedrift}
key=$(cat "$here/go.mod" "$here/go.sum" | sha256sum | cut -c1-16)
out="$cache_root/tools/$key"

if [ -x "$out/helm" ]; then
  echo "$out"
  exit 0
fi

command -v go >/dev/null || { echo "build.sh: Go is required to build helm" >&2; exit 1; }
mkdir -p "$out"
start=$(date +%s)
cd "$here"
echo "building helm ..." >&2
go build -trimpath -ldflags='-s -w' -o "$out/helm.partial" helm.sh/helm/v3/cmd/helm
mv "$out/helm.partial" "$out/helm"
echo "built helm in $(( $(date +%s) - start ))s" >&2
echo "$out"
