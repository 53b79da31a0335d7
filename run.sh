#!/usr/bin/env bash
# Runs the whole local stack with the Aspire CLI (`aspire run`): the ComputeApi replicas, Prometheus, Alertmanager,
# node-exporter and (where its image can be had) Grafana, in the Aspire dashboard. Prepares the machine first: a
# container engine, a local registry and the images. Stop it with Ctrl+C (SIGTERM when it runs in the background).
set -euo pipefail
cd "$(dirname "$0")"

eval "$(eng/prepare.sh)"
dotnet tool restore >/dev/null
exec dotnet aspire run "$@"
