#!/usr/bin/env bash
# Runs the whole local stack with the Aspire CLI (`aspire run`): the ComputeApi replicas, Prometheus, Alertmanager,
# node-exporter and (where its image can be had) Grafana, in the Aspire dashboard. Prepares the machine first: a
# container engine, a local registry and the images. Stop it with Ctrl+C (SIGTERM when it runs in the background).
set -euo pipefail
cd "$(dirname "$0")"

eval "$(eng/prepare.sh)"
# With an empty NuGet cache the first restore of this manifest can fail, naming the wrong package for a command
# ("... is not contained in the package with Package Id dotnet-trace. The commands contained in the package are
# aspire."); the second succeeds.
dotnet tool restore >/dev/null || dotnet tool restore >/dev/null
exec dotnet aspire run "$@"
