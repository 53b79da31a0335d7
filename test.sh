#!/usr/bin/env bash
# Runs every test project. Prepares the machine first (container engine, promtool and images, see
# eng/prepare.sh); results (TRX) go to artifacts/test-results/.
set -euo pipefail
cd "$(dirname "$0")"

eval "$(eng/prepare.sh)"

results=artifacts/test-results
rm -rf "$results"
dotnet build CloudApp.sln -c Release
# One test project at a time: several measure response times under load, which a neighbour
# saturating the same two cores would distort.
dotnet test CloudApp.sln -c Release --no-build -m:1 --results-directory "$results" "$@"
