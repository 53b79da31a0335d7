#!/usr/bin/env bash
# Gets a machine ready to run the stack or the tests, and prints the environment they need.
#   eval "$(eng/prepare.sh)"
# 1. A Docker engine that Testcontainers 4 accepts (installed and started where none answers), and an OCI
#    registry on loopback (the ComputeApi image is pushed there and pulled back, as it would be for a cluster),
#    and the C toolchain Native AOT links the ComputeApi image with.
# 2. The images pinned in deploy/images.json: the official ones where they are present or can be pulled; where
#    no registry answers, local stand-ins built from Debian packages (eng/images/build.sh), selected through
#    the Images__* configuration the AppHost and the tests read. The ComputeApi's base image likewise: the one
#    its project names, or a local stand-in pushed to the loopback registry (ContainerBaseImage).
# Where Docker runs and registries answer, it prints only the registry's address.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[prepare] %s\n' "$*" >&2; }

eng/ensure-docker.sh
eng/ensure-registry.sh
eng/ensure-native-toolchain.sh
registry=localhost:${CLOUDAPP_REGISTRY_PORT:-5000}


usable() {  # present locally, or pullable now
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  timeout 600 docker pull -q "$1" >/dev/null 2>&1
}

exports=("CLOUDAPP_REGISTRY=$registry")
offline=0

# The ComputeApi's base image, as its project names it (the .NET SDK pulls it from its registry, not from Docker).
# Its stand-in is the longest build (a Debian root file system), so it runs beside the others.
base=$(dotnet msbuild ComputeApi/ComputeApi.csproj -p:RuntimeIdentifier=linux-x64 -getProperty:ContainerBaseImage 2>/dev/null | tail -n1)
[ -n "$base" ] || { say "could not read ContainerBaseImage of ComputeApi"; exit 1; }
base_build=""
if usable "$base"; then
  say "ComputeApi base image: $base"
else
  offline=1
  local_base=$registry/cloudapp/runtime-deps:bookworm
  say "$base cannot be had here; using a runtime-deps stand-in built from Debian packages: $local_base"
  { eng/images/build.sh base && docker tag cloudapp/runtime-deps:bookworm "$local_base" &&
    docker push -q "$local_base" >/dev/null; } >&2 &
  base_build=$!
  exports+=("ContainerBaseImage=$local_base")
fi

# The Prometheus family: key in deploy/images.json, build.sh target, configuration key.
family=(prometheus:prometheus:Prometheus alertmanager:alertmanager:Alertmanager nodeExporter:node-exporter:NodeExporter)
missing=()
for image in "${family[@]}"; do
  IFS=: read -r key target setting <<<"$image"
  ref=$(eng/image-fact.sh "images.$key.reference")
  if usable "$ref"; then
    say "$setting image: $ref"
  else
    say "$ref cannot be had here; building a local stand-in from Debian packages"
    missing+=("$target")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  offline=1
  eng/images/build.sh "${missing[@]}" >&2
  for image in "${family[@]}"; do
    IFS=: read -r key target setting <<<"$image"
    [[ " ${missing[*]} " == *" $target "* ]] || continue
    local_ref=$(docker image ls --filter "label=cloudapp.image=$target" --format '{{.Repository}}:{{.Tag}}' | head -n1)
    [ -n "$local_ref" ] || { say "no local $target image after building it"; exit 1; }
    exports+=("Images__$setting=$local_ref")
    if [ "$target" = prometheus ]; then
      # Debian builds Prometheus without its web UI: the pages are a notice; the HTTP API is complete.
      exports+=("Prometheus__TargetsPath=/api/v1/targets?state=active")
    fi
  done
fi
if [ -n "$base_build" ] && ! wait "$base_build"; then
  say "building the runtime-deps stand-in failed"
  exit 1
fi

if [ "$offline" -eq 1 ]; then
  # Testcontainers' reaper image cannot be pulled either; the tests remove their containers themselves.
  exports+=("TESTCONTAINERS_RYUK_DISABLED=true")
fi

for e in "${exports[@]}"; do
  printf 'export %q\n' "$e"
done
