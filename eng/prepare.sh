#!/usr/bin/env bash
# Gets a machine ready to run the stack or the tests, and prints the environment they need.
#   eval "$(eng/prepare.sh)"
# 1. A Docker engine that Testcontainers 4 accepts (installed and started where none answers), and an OCI
#    registry on loopback (the ComputeApi image is pushed there and pulled back, as it would be for a cluster),
#    and the C toolchain Native AOT links the ComputeApi image with.
# 2. The images pinned in deploy/images.json: the official ones where they are present or can be pulled; where
#    no registry answers, local stand-ins built from Debian packages (eng/images/build.sh), selected through
#    the Images__* configuration the AppHost and the tests read. A stand-in is of the pinned version or refused
#    (the tests would run another version than the pin). The ComputeApi's base image likewise: the one its
#    project names, or a local stand-in pushed to the loopback registry (ContainerBaseImage).
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

# The Prometheus family: the images whose record in deploy/images.json names a Debian package to build a
# stand-in from. Decided first, so that a pin no stand-in can meet stops here, before anything is built.
# Each one's configuration key is its image key with a capital (nodeExporter: Images__NodeExporter).
mapfile -t family < <(eng/image-fact.sh --keys standIn.debianPackage)
missing=()
for key in "${family[@]}"; do
  ref=$(eng/image-fact.sh "images.$key.reference")
  if usable "$ref"; then
    say "${key^} image: $ref"
  else
    # The stand-in's reference, or the refusal of a pin of another version than Debian's package.
    local_ref=$(eng/image-fact.sh --stand-in "$key") || { say "no stand-in for $ref (see above)"; exit 1; }
    say "$ref cannot be had here; standing in $local_ref, built from Debian packages"
    missing+=("$key")
  fi
done

# The ComputeApi's base image, as its project names it (the .NET SDK pulls it from its registry, not from Docker).
# Its stand-in is the longest build (a Debian root file system), so it runs beside the others.
base=$(dotnet msbuild ComputeApi/ComputeApi.csproj -p:RuntimeIdentifier=linux-x64 -getProperty:ContainerBaseImage 2>/dev/null | tail -n1)
[ -n "$base" ] || { say "could not read ContainerBaseImage of ComputeApi"; exit 1; }
base_build=""
if usable "$base"; then
  say "ComputeApi base image: $base"
else
  offline=1
  base_stand_in=$(eng/image-fact.sh --stand-in runtimeDeps)
  local_base=$registry/$base_stand_in
  say "$base cannot be had here; using a runtime-deps stand-in built from Debian packages: $local_base"
  { eng/images/build.sh runtimeDeps && docker tag "$base_stand_in" "$local_base" &&
    docker push -q "$local_base" >/dev/null; } >&2 &
  base_build=$!
  exports+=("ContainerBaseImage=$local_base")
fi

if [ ${#missing[@]} -gt 0 ]; then
  offline=1
  eng/images/build.sh "${missing[@]}" >&2
  for key in "${missing[@]}"; do
    local_ref=$(eng/image-fact.sh --stand-in "$key")
    docker image inspect "$local_ref" >/dev/null 2>&1 || { say "no local $local_ref after building it"; exit 1; }
    exports+=("Images__${key^}=$local_ref")
    if [ "$key" = prometheus ]; then
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
