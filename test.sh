#!/usr/bin/env bash
# Runs every test project. Prepares the machine first (container engine and images, see
# deploy/local/prepare.sh); results (TRX) go to artifacts/test-results/.
set -euo pipefail
cd "$(dirname "$0")"

eval "$(deploy/local/prepare.sh)"

results=artifacts/test-results
rm -rf "$results"
dotnet test CloudApp.sln -c Release --results-directory "$results" "$@"
