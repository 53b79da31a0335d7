#!/usr/bin/env bash
# Runs the whole local stack: the Aspire AppHost with the ComputeApi replicas, Prometheus and (where its
# image can be had) Grafana. Prepares the machine first: a container engine and the images.
set -euo pipefail
cd "$(dirname "$0")"

eval "$(deploy/local/prepare.sh)"
exec dotnet run --project AppHost "$@"
