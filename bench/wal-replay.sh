#!/usr/bin/env bash
# How long Prometheus (the pinned image, deploy/images.json) takes to replay its write-ahead log after a restart:
# the time a Kubernetes startupProbe must allow before liveness may kill the container. It fills a TSDB with
# SERIES series scraped every second for MINUTES minutes (values change on every scrape, like real counters),
# stops Prometheus without a clean shutdown (as an OOM kill or a node loss does), starts it on the same data and
# reports the replay as Prometheus logs it, with samples and series replayed per second.
#   bench/wal-replay.sh                      200000 series for 5 minutes
#   SERIES=50000 MINUTES=2 bench/wal-replay.sh
# The result scales to a cluster's Prometheus as replay time = series x samples per series in the WAL / rate.
set -euo pipefail
cd "$(dirname "$0")/.."

series=${SERIES:-200000}
minutes=${MINUTES:-5}
image=${Images__Prometheus:-$(eng/image-fact.sh images.prometheus.reference)}
say() { printf '[wal-replay] %s\n' "$*" >&2; }

work=$(mktemp -d)
name=cloudapp-wal-replay-$$
exporter_port=19101
prometheus_port=19091
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  [ -n "${exporter:-}" ] && kill "$exporter" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# A target with $series gauges whose values change on every scrape.
cat >"$work/exporter.py" <<'PY'
import http.server, random, sys
series, port = int(sys.argv[1]), int(sys.argv[2])
names = [f'wal_replay_gauge{{shard="{i % 100}",id="{i}"}}' for i in range(series)]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        r = random.random()
        body = "".join(f"{n} {r + i}\n" for i, n in enumerate(names)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
python3 "$work/exporter.py" "$series" "$exporter_port" &
exporter=$!

cat >"$work/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: wal-replay
    static_configs:
      - targets: [127.0.0.1:$exporter_port]
  - job_name: prometheus
    static_configs:
      - targets: [127.0.0.1:$prometheus_port]
YML
mkdir -p "$work/data"
chmod 0777 "$work/data"

start() {
  docker run -d --name "$name" --network host -v "$work/prometheus.yml:/etc/prometheus/prometheus.yml:ro" -v "$work/data:/prometheus" \
    "$image" --config.file=/etc/prometheus/prometheus.yml --storage.tsdb.path=/prometheus \
    --web.listen-address=127.0.0.1:$prometheus_port >/dev/null
}
ready() {
  for _ in $(seq 1 "$1"); do
    curl -fsS "http://127.0.0.1:$prometheus_port/-/ready" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  return 1
}
query() {
  curl -fsS "http://127.0.0.1:$prometheus_port/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)'
}

say "$image: $series series, scraped every second for $minutes minutes"
start
ready 120 || { docker logs "$name" >&2; exit 1; }
sleep $((minutes * 60))
samples=$(query 'prometheus_tsdb_head_samples_appended_total')
head_series=$(query 'prometheus_tsdb_head_series')
wal_bytes=$(du -sb "$work/data/wal" | cut -f1)
say "appended $samples samples in $head_series series; WAL $((wal_bytes / 1048576)) MiB"

# SIGKILL: no clean shutdown, as after an OOM kill or a lost node.
docker kill "$name" >/dev/null
docker rm "$name" >/dev/null
kill "$exporter"; wait "$exporter" 2>/dev/null || true; exporter=

began=$(date +%s.%N)
start
ready 7200 || { docker logs "$name" >&2; exit 1; }
ended=$(date +%s.%N)
replay=$(docker logs "$name" 2>&1 | sed -n 's/.*WAL replay completed.*total_replay_duration=\([0-9.a-zµ]*\).*/\1/p' | tail -1)

python3 - "$samples" "$head_series" "$began" "$ended" "$replay" "$wal_bytes" <<'PY'
import re, sys
samples, series, began, ended, replay, wal = float(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5], int(sys.argv[6])
ready = ended - began
def seconds(text):
    total = 0.0
    for value, unit in re.findall(r"([0-9.]+)(ms|µs|us|h|m|s)", text):
        total += float(value) * {"h": 3600, "m": 60, "s": 1, "ms": 1e-3, "µs": 1e-6, "us": 1e-6}[unit]
    return total
logged = seconds(replay) if replay else ready
print(f"WAL: {wal / 2**20:.0f} MiB, {samples:.0f} samples in {series:.0f} series")
print(f"replay (Prometheus' log): {logged:.1f} s; start to ready: {ready:.1f} s")
print(f"rate: {samples / logged / 1e6:.2f} M samples/s, {series / logged / 1e3:.0f} k series/s")
PY
