#!/usr/bin/env bash
# Makes sure a Docker engine that Testcontainers 4 accepts (API >= 1.44) answers.
# Where one already answers, nothing is touched. On Debian 12 with no engine, the engine from
# Debian 13 (docker.io 26.x) is installed with only that package taken from trixie, then started.
set -euo pipefail

min_api=1.44
log_dir=${CLOUDAPP_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/cloudapp}

api_ok() {
  local v
  v=$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null) || return 1
  [ -n "$v" ] && [ "$(printf '%s\n%s\n' "$min_api" "$v" | sort -V | head -n1)" = "$min_api" ]
}

say() { printf '[ensure-docker] %s\n' "$*" >&2; }

if api_ok; then
  exit 0
fi

if docker version --format '{{.Server.APIVersion}}' >/dev/null 2>&1; then
  say "a Docker engine answers, but with API $(docker version --format '{{.Server.APIVersion}}') (< $min_api)."
  say "Testcontainers 4 needs a newer engine; upgrade it and run again."
  exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
  say "no Docker engine answers. Start one (Docker Engine >= 25), or run this script as root on Debian 12 to install one."
  exit 1
fi

installed_engine_ok() {
  command -v dockerd >/dev/null 2>&1 || return 1
  local v
  v=$(dockerd --version | sed -E 's/^Docker version ([0-9]+)\..*/\1/')
  [ "${v:-0}" -ge 25 ]
}

if ! installed_engine_ok; then
  # shellcheck source=eng/debian-trixie.sh
  . "$(dirname "$0")/debian-trixie.sh"
  if ! is_debian; then
    say "no Docker engine answers and this is not Debian 12 or 13; install Docker Engine >= 25 for your system."
    exit 1
  fi
  say "installing docker.io from Debian 13 (trixie)"
  enable_trixie_packages
  install_from_trixie docker.io
fi

mkdir -p "$log_dir"
if ! pgrep -x dockerd >/dev/null 2>&1; then
  say "starting dockerd (log: $log_dir/dockerd.log)"
  if ! pgrep -x containerd >/dev/null 2>&1 && command -v containerd >/dev/null 2>&1; then
    nohup containerd >"$log_dir/containerd.log" 2>&1 &
  fi
  nohup dockerd >"$log_dir/dockerd.log" 2>&1 &
fi

for _ in $(seq 1 60); do
  if api_ok; then
    say "engine ready: Docker $(docker version --format '{{.Server.Version}}') (API $(docker version --format '{{.Server.APIVersion}}'))"
    exit 0
  fi
  sleep 1
done
say "dockerd did not answer within 60 s; see $log_dir/dockerd.log"
exit 1
