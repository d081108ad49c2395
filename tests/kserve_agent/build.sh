#!/usr/bin/env bash
# Builds (or reuses) KServe's payload logger agent (the `agent` main of the KServe Go module,
# github.com/kserve/kserve/cmd/agent) and copies KServe's InferenceService CRD
# (config/crd/full/serving.kserve.io_inferenceservices.yaml) out of the same module, so the
# integration tests run the real logger and install the real CRD. Both come from the Go module
# proxy: `go get` of the agent's package in a throw-away module, then `go build`.
#
# The output goes to a cache outside the repository, keyed by the KServe version, the Go version
# and this script, so a second run (and CI on the same machine) reuses it. KSERVE_VERSION
# overrides the version (v0.16.0 builds from `go get` alone; v0.17.0 also needs the `replace`
# lines of KServe's own go.mod, which this script does not add).
# Prints the directory that holds `agent` and `inferenceservices.yaml` on its last line.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${KSERVE_VERSION:-v0.16.0}
module=github.com/kserve/kserve
cache_root=${KUBEDRIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubedrift}
command -v go >/dev/null || { echo "build.sh: Go is required to build KServe's agent" >&2; exit 1; }
key=$( (echo "$version"; go env GOVERSION; cat "$here/build.sh") | sha256sum | cut -c1-16)
out="$cache_root/kserve/$key"
if [ -x "$out/agent" ] && [ -s "$out/inferenceservices.yaml" ]; then
  echo "$out"
  exit 0
fi

mkdir -p "$out"
work=$(mktemp -d "$out/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
start=$(date +%s)
echo "building $module/cmd/agent@$version ..." >&2
(
  cd "$work"
  go mod init kubedrift.test/kserve-agent >/dev/null 2>&1
  go get "$module/cmd/agent@$version" >&2
  go build -trimpath -ldflags='-s -w' -o "$out/agent.partial" "$module/cmd/agent"
)
dir=$(cd "$work" && go list -m -f '{{.Dir}}' "$module")
cp "$dir/config/crd/full/serving.kserve.io_inferenceservices.yaml" "$out/inferenceservices.yaml.partial"
mv "$out/inferenceservices.yaml.partial" "$out/inferenceservices.yaml"
mv "$out/agent.partial" "$out/agent"
echo "$version" >"$out/version"
echo "built KServe agent $version in $(( $(date +%s) - start ))s" >&2
echo "$out"
