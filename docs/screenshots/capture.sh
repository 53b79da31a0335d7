#!/usr/bin/env bash
# Regenerates the screenshots in docs/images/ from a live run: starts the stack (the AppHost, as run.sh
# does), sends some load, and captures the Aspire dashboard, the Prometheus targets and a graph, the
# ComputeApi's /metrics and, where Grafana runs, its dashboard, with headless Chromium.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD

say() { printf '[screenshots] %s\n' "$*" >&2; }

eval "$(eng/prepare.sh)"
if ! command -v chromium >/dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || { say "Chromium is needed (Debian: apt-get install chromium)"; exit 1; }
  say "installing Debian's chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
fi

dotnet build AppHost -c Release -nologo -v quiet
dotnet build docs/screenshots -c Release -nologo -v quiet

work=$(mktemp -d)
log=$work/apphost.log
# A session of its own, so the whole process tree (dotnet run, the AppHost, DCP) stops together.
setsid dotnet run --project AppHost -c Release --no-build >"$log" 2>&1 &
apphost=$!
stop() {
  kill -TERM -- "-$apphost" 2>/dev/null || true
  for _ in $(seq 1 30); do kill -0 "$apphost" 2>/dev/null || break; sleep 1; done
  rm -rf "$work"
}
trap stop EXIT INT TERM

wait_for() {  # $1 what, $2 seconds, then the command that must succeed
  local what=$1 seconds=$2; shift 2
  for _ in $(seq 1 "$seconds"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
  say "timed out waiting for $what"; tail -n 40 "$log" >&2; exit 1
}

wait_for "the dashboard's login link" 180 grep -q 'login?t=' "$log"
login=$(grep -o 'http://localhost:[0-9]*/login?t=[0-9a-f]*' "$log" | head -n1)
prometheus=http://localhost:9090
computeapi=http://localhost:5080
targets_up() {
  [ "$(curl -fsS "$prometheus/api/v1/targets?state=active" | python3 -c 'import json,sys; t=json.load(sys.stdin)["data"]["activeTargets"]; print(sum(1 for x in t if x["labels"]["job"]=="computeapi" and x["health"]=="up"))')" -ge 2 ]
}
wait_for "two ComputeApi targets up in Prometheus" 180 targets_up

say "sending load for about a minute"
end=$((SECONDS + 60))
while [ $SECONDS -lt $end ]; do
  for path in 'primes?size=50000000' 'matmul?size=256' 'sha256?size=64' 'primes?size=0' 'fibonacci'; do
    curl -s -o /dev/null --max-time 30 "$computeapi/api/compute/$path" || true
  done
done
# A burst beyond the slots and the queue: some wait, some get 429.
burst=()
for _ in $(seq 1 14); do
  curl -s -o /dev/null --max-time 60 "$computeapi/api/compute/primes?size=2000000000" &
  burst+=($!)
done
wait "${burst[@]}" || true
sleep 20

grafana=""
if curl -fsS http://localhost:3000/api/health >/dev/null 2>&1; then grafana=http://localhost:3000; fi

SCREENSHOTS_DIR=$root/docs/images ASPIRE_LOGIN_URL=$login PROMETHEUS_URL=$prometheus \
PROMETHEUS_TARGETS_PATH=${Prometheus__TargetsPath:-/targets} COMPUTEAPI_URL=$computeapi GRAFANA_URL=$grafana \
  dotnet run --project docs/screenshots -c Release --no-build
say "screenshots written to docs/images/"
