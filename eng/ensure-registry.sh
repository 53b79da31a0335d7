#!/usr/bin/env bash
# Makes sure an OCI registry answers on 127.0.0.1:${CLOUDAPP_REGISTRY_PORT:-5000}: the ComputeApi image is
# pushed there by the .NET SDK (or `aspire do push`) and pulled back by the tests, the path an image takes
# to a cluster. Where none answers, Debian's docker-registry (the CNCF distribution registry) is installed
# if needed and started on loopback only, storing its blobs under the state directory. Docker allows plain
# HTTP to registries on loopback, so no TLS set-up is needed.
set -euo pipefail

port=${CLOUDAPP_REGISTRY_PORT:-5000}
state=${CLOUDAPP_STATE_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/cloudapp}
say() { printf '[ensure-registry] %s\n' "$*" >&2; }
answers() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$port/v2/" 2>/dev/null; }

answers && exit 0

if ! command -v docker-registry >/dev/null 2>&1; then
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    say "no registry answers on 127.0.0.1:$port; start one (e.g. 'docker run -d -p 127.0.0.1:$port:5000 registry:3') or run this as root on Debian."
    exit 1
  fi
  say "installing docker-registry (Debian's distribution registry)"
  # Debian's package would start a service on every interface where an init system runs; this one is started
  # below, on loopback only.
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry >/dev/null
fi

mkdir -p "$state/registry"
cat >"$state/registry.yml" <<YAML
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $state/registry
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
say "starting docker-registry on 127.0.0.1:$port (log: $state/registry.log)"
nohup docker-registry serve "$state/registry.yml" >"$state/registry.log" 2>&1 &
for _ in $(seq 1 30); do
  answers && exit 0
  sleep 1
done
say "the registry did not answer within 30 s; see $state/registry.log"
exit 1
