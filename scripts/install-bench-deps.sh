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

. "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
# The bench needs the daemon and its plugins/transports, not the demo web pages (no recommended packages).
apt_install install-bench-deps "${need[@]}"
# Debian's package enables and starts a janus.service; the bench starts its own Janus with its own config, so a
# system one (if systemd runs here at all) is stopped to keep its CPU out of the measurement.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet janus 2>/dev/null; then
  as_root install-bench-deps systemctl stop janus >&2 || true
fi
