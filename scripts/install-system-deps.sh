#!/usr/bin/env bash
# Installs the Debian packages the test suite needs: Chromium for the browser compatibility tests; iproute2 (tc),
# iptables, gcc and libnetfilter-queue-dev for the impaired-network tests (e2e/helpers/netns*.ts); coturn (an outside
# TURN server) and libnss3-tools (certutil, to make Chromium trust a test CA for TURN/TLS) for e2e/turn.test.ts;
# ffmpeg (with ffprobe) for egress, which muxes recordings with it (docs/egress.md).
# Idempotent: does nothing when everything is already present. Needs root (or sudo) on Debian/Ubuntu.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v unshare >/dev/null 2>&1 || need+=(util-linux)
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || need+=(iptables)
command -v gcc >/dev/null 2>&1 || need+=(gcc libc6-dev)
[ -f /usr/include/libnetfilter_queue/libnetfilter_queue.h ] || need+=(libnetfilter-queue-dev)
command -v turnserver >/dev/null 2>&1 || [ -x /usr/bin/turnserver ] || need+=(coturn)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)

if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi

. "$(dirname "${BASH_SOURCE[0]}")/apt-install.sh"
apt_install install-system-deps "${need[@]}"
