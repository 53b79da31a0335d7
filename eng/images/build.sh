#!/usr/bin/env bash
# Builds, from Debian packages only, the local container images CloudApp needs on machines where no
# container registry can be reached (so `docker pull` of the official images is impossible) but a
# Debian package mirror can.
#
#   build.sh [--force] [IMAGE|all]...   (default: all)
#
# IMAGE is the key of an image whose record in deploy/images.json has a stand-in: prometheus, alertmanager,
# nodeExporter, runtimeDeps (the ComputeApi's base).
# Each stand-in is built as the record names it. For the Prometheus family the record also names the Debian
# package and version it is built from, and the build refuses a pin of another version (the stand-in would
# silently run another version than the pin).
#
# The Prometheus family comes from Debian unstable ("sid"), read through a package index private to this
# run (the host's apt sources never change): it carries the 3.x line the project pins, and its binaries need
# only libc, taken from the runtime-deps stand-in's Debian release. Each stand-in keeps the official image's
# paths, entrypoint, command, user and port (those of its record), so the AppHost and the tests pass the same
# arguments and mounts to either.
#
# Every target is skipped when its image already exists, so the script is cheap to call before every
# run; --force rebuilds (e.g. to pick up Debian updates).
set -euo pipefail

say() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }
fact() { "$(dirname "$0")/../image-fact.sh" "$@"; }

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
  printf 'Images with a stand-in: %s\n' "$(fact --keys standIn | tr '\n' ' ')" >&2
  exit "${1:-0}"
}

mapfile -t STAND_INS < <(fact --keys standIn)
[ ${#STAND_INS[@]} -gt 0 ] || die "no image record has a stand-in"

force=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    all) targets+=("${STAND_INS[@]}") ;;
    -h|--help) usage 0 ;;
    -*) say "unknown argument: $arg"; usage 2 ;;
    *) [[ " ${STAND_INS[*]} " == *" $arg "* ]] || { say "no image with a stand-in is called $arg"; usage 2; }
       targets+=("$arg") ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${STAND_INS[@]}")

# Each stand-in's reference, or the refusal of a pin it cannot be built in: before anything is downloaded.
declare -A REF=()
for key in "${targets[@]}"; do
  REF[$key]=$(fact --stand-in "$key") || die "the stand-in of '$key' is not built (see above)"
done

SUITE=$(fact images.runtimeDeps.standIn.debianRelease)   # the base image and libc: its tag promises this content
readonly SUITE
readonly PROMETHEUS_SUITE=sid              # the Prometheus family: Debian's newest packages
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

# debootstrap creates device nodes and chroots, and the staged trees must carry the ownership of the images'
# users into the image tarball; none of that works unprivileged.
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and the ownership of image files need it); try: sudo $0 $*"
command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
docker info >/dev/null 2>&1 || die "'docker info' fails: no Docker engine answers (see eng/ensure-docker.sh)"
for tool in apt-get apt-cache dpkg-deb ldd tar awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing; this script expects a Debian-like host"
done
[ -r "$KEYRING" ] || die "$KEYRING is missing (apt-get install debian-archive-keyring); it is needed to verify the mirror"

# shellcheck source=eng/images/debian.sh
. "$(dirname "$0")/debian.sh"
# shellcheck source=eng/images/runtime-deps.sh
. "$(dirname "$0")/runtime-deps.sh"
# shellcheck source=eng/images/prometheus-family.sh
. "$(dirname "$0")/prometheus-family.sh"

# Images this script made carry this label, which tells them from images of the same name made elsewhere.
label_of() { printf 'cloudapp.image=%s' "$1"; }

# False (and noted as skipped) when the stand-in's reference exists and --force is not given; otherwise true,
# with REPLACED set to the id of the image a rebuild replaces (empty when there is none). Only the exact
# reference counts: a stand-in of another version is not the one the pin asks for.
REPLACED=""
needs_build() {  # $1 the stand-in's reference
  REPLACED=""
  docker image inspect "$1" >/dev/null 2>&1 || return 0
  if [ "$force" -eq 0 ]; then
    say "$1 exists; skipped (use --force to rebuild)"
    note "$1" "skipped (exists)" 0
    return 1
  fi
  REPLACED=$(docker image inspect -f '{{.Id}}' "$1")
}

# Drops the image a --force rebuild replaced, unless something still uses it.
drop_replaced() {  # $1 old image id, $2 new ref
  local new
  new=$(docker image inspect -f '{{.Id}}' "$2")
  if [ -n "$1" ] && [ "$1" != "$new" ]; then
    docker image rm "$1" >/dev/null 2>&1 || say "the replaced image $1 is still in use; left in place"
  fi
}

BUILT=()    # "ref<TAB>what happened<TAB>seconds"
note() { BUILT+=("$(printf '%s\t%s\t%s' "$1" "$2" "$3")"); }

# In one run the targets share the package indexes read for them.
for key in "${targets[@]}"; do
  case "$key" in
    runtimeDeps) build_base "${REF[$key]}" ;;
    prometheus) build_prometheus "$key" "${REF[$key]}" ;;
    alertmanager) build_alertmanager "$key" "${REF[$key]}" ;;
    nodeExporter) build_node_exporter "$key" "${REF[$key]}" ;;
    *) die "deploy/images.json gives '$key' a stand-in, but this script has no build for it" ;;
  esac
done

printf '\n%-36s %-18s %8s %10s\n' IMAGE RESULT SECONDS SIZE
for row in "${BUILT[@]}"; do
  IFS=$'\t' read -r ref what secs <<<"$row"
  size=$(docker image ls --format '{{.Size}}' "$ref" | head -n1)
  printf '%-36s %-18s %8s %10s\n' "$ref" "$what" "$secs" "$size"
done
