#!/usr/bin/env bash
# Makes sure a promtool with Kubernetes service discovery (2.53 or later) is on PATH: the tests check the
# rules, the rule unit tests and both Prometheus configurations with it. Debian 12's promtool (2.42) is
# built without Kubernetes discovery, so on Debian 12 Debian 13's promtool package is installed.
set -euo pipefail

say() { printf '[ensure-promtool] %s\n' "$*" >&2; }

version_ok() {
  local v
  v=$(promtool --version 2>/dev/null | sed -nE 's/^promtool, version ([0-9]+\.[0-9]+).*/\1/p')
  [ -n "$v" ] && [ "$(printf '2.53\n%s\n' "$v" | sort -V | head -n1)" = 2.53 ]
}

version_ok && exit 0

# shellcheck source=deploy/local/debian-trixie.sh
. "$(dirname "$0")/debian-trixie.sh"
if [ "$(id -u)" -ne 0 ] || ! is_debian; then
  say "promtool 2.53 or later is needed on PATH (Prometheus' release archive or your distribution's promtool package)."
  exit 1
fi
say "installing promtool from Debian 13 (trixie)"
enable_trixie_packages
install_from_trixie promtool
version_ok || { say "promtool from trixie is not usable"; exit 1; }
say "$(promtool --version | head -n1)"
