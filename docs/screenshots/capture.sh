#!/usr/bin/env bash
# Regenerates the screenshots in docs/images/ from a live run: starts the stack (the AppHost, as run.sh
# does), sends some load, and captures with headless Chromium the Aspire dashboard (resources, a graph of the
# compute instruments, and the lab's console: a replica's commands and Prometheus' live state), the Prometheus targets and a graph where its image has a web UI, the
# ComputeApi's /metrics and, where Grafana runs, its dashboard. Then it kills one replica and records the
# targets and the alert as Prometheus and Alertmanager report them (docs/images/stack-after-a-replica-died.txt).
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
# The AppHost publishes Prometheus and Alertmanager on the host at their images' ports.
prometheus=http://localhost:$(eng/image-fact.sh images.prometheus.port)
alertmanager_url=http://localhost:$(eng/image-fact.sh images.alertmanager.port)
computeapi=http://localhost:5080
targets_up() {
  [ "$(curl -fsS "$prometheus/api/v1/targets?state=active" | python3 -c 'import json,sys; t=json.load(sys.stdin)["data"]["activeTargets"]; print(sum(1 for x in t if x["labels"]["job"]=="computeapi" and x["health"]=="up"))')" -ge 2 ]
}
wait_for "two ComputeApi targets up in Prometheus" 180 targets_up

say "sending load for about four minutes"
end=$((SECONDS + 240))
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

# The computeapi targets as "replica port", in replica order.
replicas() {
  curl -fsS "$prometheus/api/v1/targets?state=active" | python3 -c '
import json, sys, urllib.parse
for t in sorted(json.load(sys.stdin)["data"]["activeTargets"], key=lambda t: t["labels"].get("replica", "")):
    if t["labels"]["job"] == "computeapi":
        print(t["labels"]["replica"], urllib.parse.urlsplit(t["scrapeUrl"]).port)'
}
first_replica=$(replicas | awk 'NR==1 {print $1}')

SCREENSHOTS_DIR=$root/docs/images ASPIRE_LOGIN_URL=$login PROMETHEUS_URL=$prometheus \
PROMETHEUS_TARGETS_PATH=${Prometheus__TargetsPath:-/targets} COMPUTEAPI_URL=$computeapi GRAFANA_URL=$grafana \
COMPUTEAPI_REPLICA=$first_replica \
  dotnet run --project docs/screenshots -c Release --no-build
say "screenshots written to docs/images/"

# The dashboard as the lab's console: one replica's /metrics slowed from its Commands menu (here with the CLI), and
# Prometheus Degraded with its live target count; then the fault is cleared.
dotnet tool restore >/dev/null || dotnet tool restore >/dev/null
aspire_resource() { NO_COLOR=1 dotnet aspire resource "$@" --apphost AppHost/AppHost.csproj --nologo >/dev/null; }
aspire_resource "$first_replica" slow-metrics
SCREENSHOTS_DIR=$root/docs/images ASPIRE_LOGIN_URL=$login PROMETHEUS_URL=$prometheus COMPUTEAPI_URL=$computeapi \
COMPUTEAPI_REPLICA=$first_replica \
  dotnet run --project docs/screenshots -c Release --no-build -- console
aspire_resource "$first_replica" restore-metrics

# The lab's failure, on purpose: the last replica is killed; Prometheus keeps its target, shows it down with the
# error, and ComputeApiTargetDown reaches Alertmanager. Recorded as the tools print it (Prometheus' API, amtool).
read -r victim victim_port < <(replicas | tail -n1)
pid=$(ss -Hltnp "sport = :$victim_port" | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2)
say "killing replica $victim (pid $pid) and waiting for the alert"
kill -KILL "$pid"
alertmanager=$(docker ps --filter "ancestor=${Images__Alertmanager:-$(eng/image-fact.sh images.alertmanager.reference)}" --format '{{.ID}}' | head -n1)
amtool() { docker exec "$alertmanager" amtool --alertmanager.url="$alertmanager_url" "$@"; }
alert_active() { amtool alert query alertname=ComputeApiTargetDown | grep -q ComputeApiTargetDown; }
wait_for "ComputeApiTargetDown in Alertmanager" 240 alert_active
{
  printf '$ curl -s %s/api/v1/targets | (job, instance, replica, health, last scrape, error)\n' "$prometheus"
  curl -fsS "$prometheus/api/v1/targets?state=active" | python3 -c '
import json, sys
rows = [(t["labels"]["job"], t["labels"]["instance"], t["labels"].get("replica", ""), t["health"],
         "%.3fs" % t["lastScrapeDuration"], t["lastError"]) for t in json.load(sys.stdin)["data"]["activeTargets"]]
rows.sort()
widths = [max(len(r[i]) for r in rows) for i in range(5)]
for r in rows:
    print("  ".join(c.ljust(w) for c, w in zip(r, widths)) + ("  " + r[5] if r[5] else ""))'
  printf '\n$ curl -s %s/api/v1/status/buildinfo | .version\n' "$prometheus"
  curl -fsS "$prometheus/api/v1/status/buildinfo" | python3 -c 'import json,sys; print(json.load(sys.stdin)["data"]["version"])'
  printf '\n$ amtool alert query\n'
  amtool alert query
  printf '\n$ curl -s %s/api/v2/alerts | (alert, labels, receivers, state)\n' "${alertmanager_url#http://}"
  curl -fsS "$alertmanager_url/api/v2/alerts" | python3 -c '
import json, sys
for a in json.load(sys.stdin):
    labels = a["labels"]
    print(labels["alertname"], {k: v for k, v in labels.items() if k != "alertname"},
          "->", ",".join(r["name"] for r in a["receivers"]), a["status"]["state"])'
} >"$root/docs/images/stack-after-a-replica-died.txt"
say "targets and alerts written to docs/images/stack-after-a-replica-died.txt"
