#!/usr/bin/env bash
# Runs every benchmark on this machine and prints a table of ratios measured side by side in the same run;
# writes the same numbers as JSON (with the machine's description) and Markdown to bench/results/.
#   bench/run.sh            the full suite (about 10 minutes)
#   bench/run.sh --smoke    tiny sizes, one repetition: checks that it runs end to end
# Other options go to the benchmark program (e.g. --only kernels http).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bench] %s\n' "$*" >&2; }

# The references and the load generator, from Debian's packages (numpy needs OpenBLAS' threaded build,
# or it falls back to the slow reference BLAS).
need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v primesieve >/dev/null 2>&1 || need+=(primesieve)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
/usr/bin/python3 -c 'import numpy' >/dev/null 2>&1 || need+=(python3-numpy)
dpkg -s libopenblas0-pthread >/dev/null 2>&1 || need+=(libopenblas0-pthread)
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" -eq 0 ] || { say "needs ${need[*]} (apt-get install as root)"; exit 1; }
  say "installing ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

dotnet build bench/CloudApp.Bench -c Release -nologo -v quiet
# The service as its image ships it, published for this machine's platform (linux-x64: Native AOT, an x86-64-v3
# and an x86-64-v4 build; the first starts the second where the processor has AVX-512). Where the run already built
# the image (./test.sh pushes it once: CLOUDAPP_COMPUTEAPI_IMAGE) and it is of this platform, its /app is taken as is.
published=artifacts/bench/computeapi
rid=linux-$(uname -m | sed 's/x86_64/x64/; s/aarch64/arm64/')
arch=$(uname -m | sed 's/x86_64/amd64/; s/aarch64/arm64/')
rm -rf "$published"
if [ -n "${CLOUDAPP_COMPUTEAPI_IMAGE:-}" ] &&
   [ "$(docker image inspect -f '{{.Architecture}}' "$CLOUDAPP_COMPUTEAPI_IMAGE" 2>/dev/null)" = "$arch" ]; then
  say "the service from $CLOUDAPP_COMPUTEAPI_IMAGE"
  mkdir -p "$published"
  container=$(docker create "$CLOUDAPP_COMPUTEAPI_IMAGE")
  docker cp -q "$container:/app/." "$published"
  docker rm "$container" >/dev/null
else
  dotnet publish ComputeApi -c Release -r "$rid" -o "$published" -nologo -v quiet
fi
# ...and with the environment its image sets (ContainerEnvironmentVariable items of ComputeApi.csproj).
while IFS= read -r setting; do
  export "${setting?}"
done < <(dotnet msbuild ComputeApi -getItem:ContainerEnvironmentVariable |
  /usr/bin/python3 -c 'import json, sys; [print("%s=%s" % (i["Identity"], i["Value"])) for i in json.load(sys.stdin)["Items"]["ContainerEnvironmentVariable"]]')
exec dotnet bench/CloudApp.Bench/bin/Release/net10.0/CloudApp.Bench.dll \
  --computeapi "$published/ComputeApi" \
  --bareapi bench/BareApi/bin/Release/net10.0/BareApi.dll "$@"
