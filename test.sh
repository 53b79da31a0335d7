#!/usr/bin/env bash
# Runs every test project. Prepares the machine first (container engine, promtool and images, see
# eng/prepare.sh); results (TRX) go to artifacts/test-results/.
set -euo pipefail
cd "$(dirname "$0")"
say() { printf '[test] %s after %d s\n' "$*" "$SECONDS" >&2; }

results=artifacts/test-results
rm -rf "$results"
mkdir -p artifacts
# The machine's set-up (mostly downloads and image imports) runs beside the build and the ComputeApi's publish
# for this platform (mostly processor: on linux-x64 two Native AOT builds), whose output the image push reuses.
eng/ensure-native-toolchain.sh
eng/prepare.sh >artifacts/prepare.env &
prepare=$!
dotnet build CloudApp.sln -c Release
dotnet publish ComputeApi -c Release -r "linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')" -nologo -v quiet
wait "$prepare"
eval "$(cat artifacts/prepare.env)"
say "machine prepared, solution built, service published"

# The ComputeApi image, built once and pushed to the loopback registry: the container and benchmark tests pull it.
CLOUDAPP_COMPUTEAPI_IMAGE=$(eng/push-computeapi.sh test)
export CLOUDAPP_COMPUTEAPI_IMAGE
say "pushed $CLOUDAPP_COMPUTEAPI_IMAGE"
# One test project at a time: several measure response times under load, which a neighbour
# saturating the same two cores would distort.
dotnet test CloudApp.sln -c Release --no-build -m:1 --results-directory "$results" "$@"
# The kernels once more with AVX-512 off (the runtime's own switch): on a processor that has it, their AVX2 paths
# would otherwise never run.
DOTNET_EnableAVX512=0 dotnet test tests/ComputeApi.Tests -c Release --no-build --results-directory "$results/avx2" \
  --filter "FullyQualifiedName~KernelTests|FullyQualifiedName~NativeBuildsTests|FullyQualifiedName~ScratchMemoryTests"
