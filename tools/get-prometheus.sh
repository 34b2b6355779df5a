#!/usr/bin/env bash
# Install the Prometheus server (for the local run's monitoring, deploy/monitoring/prometheus-local.yml) into
# .tools/bin/prometheus, and promtool beside it when it is missing.
#
# Like tools/get-promtool.sh: both come from the Debian `prometheus` package, unpacked into a temporary
# directory instead of being installed, so nothing outside the repository changes except apt's package lists
# (refreshed only when the package is unknown). No service is started. Idempotent: when
# .tools/bin/prometheus exists and runs, it exits at once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="$root/.tools/bin"
dest="$bin/prometheus"

if [[ -x "$dest" ]] && "$dest" --version >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    echo "get-prometheus: needs apt-get and dpkg-deb (Debian/Ubuntu); else put prometheus on PATH" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

if ! apt-cache show prometheus >/dev/null 2>&1; then
    apt-get update -qq
fi
# apt's sandbox user must be able to write the download directory.
chmod 0777 "$tmp"
(cd "$tmp" && apt-get download -qq prometheus)
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"

mkdir -p "$bin"
install -m 0755 "$tmp/root/usr/bin/prometheus" "$dest.partial"
mv "$dest.partial" "$dest"
if [[ ! -x "$bin/promtool" ]]; then
    install -m 0755 "$tmp/root/usr/bin/promtool" "$bin/promtool.partial"
    mv "$bin/promtool.partial" "$bin/promtool"
fi
"$dest" --version | head -n 1
