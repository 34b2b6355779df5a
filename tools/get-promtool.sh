#!/usr/bin/env bash
# Install promtool (the Prometheus linter used by the /metrics test) into .tools/bin/promtool.
#
# It comes from the Debian `prometheus` package, unpacked into a temporary directory instead of being
# installed: nothing outside the repository changes except apt's package lists (refreshed only when empty).
# Idempotent: when .tools/bin/promtool exists and runs, it exits at once.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.tools/bin/promtool"

if [[ -x "$dest" ]] && "$dest" --version >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null || ! command -v dpkg-deb >/dev/null; then
    echo "get-promtool: needs apt-get and dpkg-deb (Debian/Ubuntu); else put promtool on PATH" >&2
    exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# `apt-get download` needs package lists; refresh them only when the package is unknown.
if ! apt-cache show prometheus >/dev/null 2>&1; then
    apt-get update -qq
fi
# apt's sandbox user must be able to write the download directory.
chmod 0777 "$tmp"
(cd "$tmp" && apt-get download -qq prometheus)
dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/root"

mkdir -p "$(dirname "$dest")"
install -m 0755 "$tmp/root/usr/bin/promtool" "$dest.partial"
mv "$dest.partial" "$dest"
"$dest" --version | head -n 1
