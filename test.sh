#!/usr/bin/env bash
# Runs every test project. Results (TRX) go to artifacts/test-results/.
set -euo pipefail
cd "$(dirname "$0")"

results=artifacts/test-results
rm -rf "$results"
dotnet test CloudApp.sln -c Release --logger trx --results-directory "$results" "$@"
