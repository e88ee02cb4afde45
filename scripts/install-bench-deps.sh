#!/usr/bin/env bash
# Installs the Debian packages the benchmarks (not the tests) need: Janus (the `janus` package, 1.1.2 on Debian 12),
# the C SFU that `npm run bench -- compare` runs beside Atrium. Idempotent: does nothing when everything is already
# present. Needs root (or sudo) on Debian/Ubuntu. Not part of the test install (scripts/install-system-deps.sh).
set -euo pipefail

need=()
command -v janus >/dev/null 2>&1 || [ -x /usr/bin/janus ] || need+=(janus)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

SUDO=""
if [ "$(id -u)" != "0" ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-bench-deps: need root to install: ${need[*]}" >&2; exit 1
  fi
fi
echo "install-bench-deps: installing ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >&2
# --no-install-recommends: the bench needs the daemon and its plugins/transports, not the demo web pages.
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
# Debian's package enables and starts a janus.service; the bench starts its own Janus with its own config, so a
# system one (if systemd runs here at all) is stopped to keep its CPU out of the measurement.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet janus 2>/dev/null; then
  $SUDO systemctl stop janus >&2 || true
fi
