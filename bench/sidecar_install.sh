#!/usr/bin/env bash
# Install the load generator and the reverse-proxy peer the sidecar bench needs (Debian/Ubuntu).
set -euo pipefail
if command -v wrk >/dev/null && command -v nginx >/dev/null; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq wrk nginx-light >/dev/null
