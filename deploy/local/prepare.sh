#!/usr/bin/env bash
# Gets a machine ready to run the stack or the tests, and prints the environment they need.
#   eval "$(deploy/local/prepare.sh)"
# 1. A Docker engine that Testcontainers 4 accepts (installed and started where none answers), and
#    promtool 2.53+ (Prometheus configuration and rule checks).
# 2. The images: the official ones where they are present or can be pulled; where no registry
#    answers, local equivalents built from Debian packages (deploy/images/build.sh), selected
#    through the Images__* configuration the AppHost and the tests read.
# Where Docker runs and registries answer, it changes nothing and prints nothing to evaluate.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { printf '[prepare] %s\n' "$*" >&2; }

deploy/local/ensure-docker.sh
deploy/local/ensure-promtool.sh

# The image defaults live once, as constants of the AppHost; read them from there.
image_default() {
  sed -n "s/.*const string $1 = \"\\(.*\\)\";.*/\\1/p" AppHost/ContainerImages.cs
}

usable() {  # present locally, or pullable now
  docker image inspect "$1" >/dev/null 2>&1 && return 0
  timeout 600 docker pull -q "$1" >/dev/null 2>&1
}

prometheus=$(image_default PrometheusDefault)
runtime_deps=$(image_default RuntimeDepsDefault)
[ -n "$prometheus" ] && [ -n "$runtime_deps" ] || { say "could not read the image defaults from AppHost/ContainerImages.cs"; exit 1; }

exports=()
offline=0
if usable "$prometheus"; then
  say "Prometheus image: $prometheus"
else
  offline=1
  say "$prometheus cannot be had here; building the local Prometheus image from Debian packages"
  deploy/images/build.sh prometheus >&2
  local_prometheus=$(docker image ls --filter label=cloudapp.image=prometheus --format '{{.Repository}}:{{.Tag}}' | head -n1)
  exports+=("Images__Prometheus=$local_prometheus")
  # Debian builds Prometheus without the React UI; its pages live under /classic.
  exports+=("Prometheus__TargetsPath=/classic/targets")
fi

if usable "$runtime_deps"; then
  say "runtime-deps base image: $runtime_deps"
else
  offline=1
  say "$runtime_deps cannot be had here; building the local runtime-deps base from Debian packages"
  deploy/images/build.sh base >&2
  exports+=("Images__RuntimeDeps=cloudapp/runtime-deps:bookworm")
fi

if [ "$offline" -eq 1 ]; then
  # Testcontainers' reaper image cannot be pulled either; the tests remove their containers themselves.
  exports+=("TESTCONTAINERS_RYUK_DISABLED=true")
fi

for e in "${exports[@]}"; do
  printf 'export %q\n' "$e"
done
