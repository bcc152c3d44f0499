#!/usr/bin/env bash
# Puts Prometheus's promtool at .tools/bin/promtool (the drift-monitor's alert rules are checked and
# unit-tested with it), taken from Debian's prometheus package without installing the package: no
# root, and no Prometheus server registered as a system service. Nothing to do when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh # now, since, as_root
target=.tools/bin/promtool
[[ -x $target ]] && exit 0

started=$(now)
echo "installing promtool from Debian's prometheus package (first run only)..."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# apt-get download needs the package lists; a machine that never ran apt-get update has none.
if ! (cd "$work" && apt-get download prometheus >/dev/null 2>&1); then
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
  (cd "$work" && apt-get download prometheus >/dev/null) ||
    { echo "promtool.sh: apt-get download prometheus failed" >&2; exit 1; }
fi
dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
mkdir -p .tools/bin
install -m 755 "$work/root/usr/bin/promtool" "$target"
"$target" --version | head -1
echo "installed in $(since "$started")"
