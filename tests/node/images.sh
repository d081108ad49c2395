#!/usr/bin/env bash
# Builds (or reuses) the container images a real node runs, as OCI archives:
#   pause.tar    the Pod sandbox image: catatonit -P in an image from scratch
#   python.tar   a Python base image from Debian packages (mmdebstrap), in place of the
#                official python image, which no registry here can serve
#   kubedrift.tar  the project's Dockerfile built on that base with buildah
#   demo.tar     dev/Dockerfile on top of the project image: the demo's model server and
#                retraining Job (the project image plus kubedrift_dev)
# Each archive goes to a cache outside the repository, keyed by the hash of its inputs (for the
# project image: the Dockerfile, pyproject.toml, README.md and every file under operator/, plus
# the base image's key; for the demo image: dev/Dockerfile, dev/ and the project's key), so a
# second run rebuilds nothing; a change under dev/ rebuilds the demo image only. The three newest
# sets of archives are kept.
# Prints the directory holding the archives and their image names (images.env) on its
# last line. Needs root, buildah, mmdebstrap and catatonit (make node-packages).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache_root=${KUBEDRIFT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubedrift}
suite=bookworm
base_packages=python3,python3-venv,python3-pip,python-is-python3,ca-certificates

hash() { sha256sum | cut -c1-16; }
base_key=$(printf '%s\n' "$suite" "$base_packages" "$(sed -n '/^build_base()/,/^}/p' "$0")" | hash)
pause_key=$( { cat /usr/bin/catatonit; sed -n '/^build_pause()/,/^}/p' "$0"; } | hash)
project_key=$( { echo "$base_key"; cd "$repo" && git ls-files -co --exclude-standard -- Dockerfile pyproject.toml README.md operator \
  | grep -v -e '__pycache__' -e '\.pyc$' | sort | while read -r f; do echo "$f"; cat "$f"; done; } | hash)
demo_key=$( { echo "$project_key"; cd "$repo" && git ls-files -co --exclude-standard -- dev \
  | grep -v -e '__pycache__' -e '\.pyc$' | sort | while read -r f; do echo "$f"; cat "$f"; done; } | hash)
out="$cache_root/images/$project_key-$base_key-$pause_key-$demo_key"
if [ -s "$out/images.env" ]; then
  echo "$out"
  exit 0
fi

base_name=localhost/kubedrift-python-base:$base_key
pause_name=localhost/kubedrift-pause:$pause_key
project_name=localhost/kubedrift:$project_key
demo_name=localhost/kubedrift-demo:$demo_key
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$cache_root/images/parts"

build_base() {
  # minbase plus Python: Python lives in /usr/bin here, and Debian's EXTERNALLY-MANAGED marker
  # would stop `pip install` into the system, as the official image allows.
  mmdebstrap --quiet --variant=minbase --include="$base_packages" \
    --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*' \
    "$suite" "$work/rootfs.tar"
  local c
  c=$(buildah from scratch)
  buildah add --quiet "$c" "$work/rootfs.tar" / >/dev/null
  buildah config --cmd python3 --env LANG=C.UTF-8 "$c"
  buildah commit --quiet --rm "$c" "$base_name" >/dev/null
}

build_pause() {
  local c
  c=$(buildah from scratch)
  buildah copy --quiet "$c" /usr/bin/catatonit /catatonit >/dev/null
  buildah config --entrypoint '["/catatonit", "-P"]' --user 65535:65535 "$c"
  buildah commit --quiet --rm "$c" "$pause_name" >/dev/null
}

# An image is rebuilt only when its OCI archive is missing; a present archive is loaded back
# into buildah's store when a later build needs it (the base, for the project image).
image() {  # name archive builder
  local name=$1 archive=$2 builder=$3 start
  if [ -s "$archive" ]; then
    buildah inspect --type image "$name" >/dev/null 2>&1 || buildah pull --quiet "oci-archive:$archive" >/dev/null
    return
  fi
  start=$(date +%s)
  echo "building $name ..." >&2
  "$builder"
  buildah push --quiet "$name" "oci-archive:$archive.partial:$name"
  mv "$archive.partial" "$archive"
  echo "built $name in $(( $(date +%s) - start ))s" >&2
}

build_project() {
  cd "$repo"
  # pip's cache outside the repository and the image, kept between builds: a source change
  # rebuilds the wheels of kubedrift, not the downloads of every dependency.
  mkdir -p "$cache_root/images/pip-cache"
  buildah bud --quiet --isolation chroot --pull-never --layers=false \
    --build-arg "BASE_IMAGE=$base_name" \
    -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro \
    -v /etc/pip.conf:/etc/pip.conf:ro \
    -v "$cache_root/images/pip-cache:/root/.cache/pip" \
    -t "$project_name" -f Dockerfile . >/dev/null
}

build_demo() {
  cd "$repo"
  buildah bud --quiet --isolation chroot --pull-never --layers=false \
    --build-arg "PROJECT_IMAGE=$project_name" -t "$demo_name" -f dev/Dockerfile . >/dev/null
}

image "$pause_name" "$cache_root/images/parts/pause-$pause_key.tar" build_pause
image "$base_name" "$cache_root/images/parts/python-$base_key.tar" build_base
mkdir -p "$out.partial"
# The project archive of an earlier run with the same project key (only dev/ changed) is reused.
for earlier in "$cache_root/images/$project_key-$base_key-$pause_key"*/kubedrift.tar; do
  [ -s "$earlier" ] && [ ! -s "$out.partial/kubedrift.tar" ] && ln -f "$earlier" "$out.partial/kubedrift.tar" || true
done
image "$project_name" "$out.partial/kubedrift.tar" build_project
image "$demo_name" "$out.partial/demo.tar" build_demo
ln -f "$cache_root/images/parts/pause-$pause_key.tar" "$out.partial/pause.tar"
printf 'PAUSE_IMAGE=%s\nPROJECT_IMAGE=%s\nDEMO_IMAGE=%s\nBASE_IMAGE=%s\n' "$pause_name" "$project_name" "$demo_name" "$base_name" > "$out.partial/images.env"
rm -rf "$out"; mv "$out.partial" "$out"
# The archives are what nodes import: drop the project and demo images from buildah's store, and
# keep the archives of the three newest builds (worktrees with different sources share this
# cache).
buildah rmi "$demo_name" "$project_name" >/dev/null 2>&1 || true
ls -dt "$cache_root"/images/*-*-*/ | tail -n +4 | xargs -r rm -rf
echo "$out"
