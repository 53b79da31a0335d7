#!/usr/bin/env bash
# Builds, from Debian packages only, the local container images CloudApp needs on machines where no
# container registry can be reached (so `docker pull` of the official images is impossible) but a
# Debian package mirror can.
#
#   build.sh [--force] [base|prometheus|alertmanager|node-exporter|all]...   (default: all)
#
#   base           cloudapp/runtime-deps:bookworm      stands in for mcr.microsoft.com/dotnet/runtime-deps:10.0
#   prometheus     cloudapp/prometheus:<version>       stands in for the official Prometheus image (Debian unstable's package)
#   alertmanager   cloudapp/alertmanager:<version>     stands in for the official Alertmanager image (Debian unstable's package)
#   node-exporter  cloudapp/node-exporter:<version>    stands in for the official node-exporter image (Debian unstable's package)
#
# The Prometheus family comes from Debian unstable ("sid"), read through a package index private to this
# run (the host's apt sources never change): it carries the 3.x line the project pins, and its binaries need
# only libc, taken from bookworm. Each stand-in keeps the official image's paths, entrypoint, command, user
# and port, so the AppHost and the tests pass the same arguments and mounts to either.
#
# Every target is skipped when its image already exists, so the script is cheap to call before every
# run; --force rebuilds (e.g. to pick up Debian updates).
set -euo pipefail

readonly SUITE=bookworm                    # the base image and libc: the tags below promise bookworm content
readonly PROMETHEUS_SUITE=sid              # the Prometheus family: Debian's newest packages
readonly BASE_REF=cloudapp/runtime-deps:$SUITE
readonly NOBODY=65534                      # uid/gid of "nobody", the user of the official Prometheus-family images
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
  exit "${1:-0}"
}

force=0
targets=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    base|prometheus|alertmanager|node-exporter) targets+=("$arg") ;;
    all) targets+=(base prometheus alertmanager node-exporter) ;;
    -h|--help) usage 0 ;;
    *) say "unknown argument: $arg"; usage 2 ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(base prometheus alertmanager node-exporter)

# debootstrap creates device nodes and chroots, and the staged trees must carry uid 0/65534/$APP_UID
# ownership into the image tarball; none of that works unprivileged.
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and the ownership of image files need it); try: sudo $0 $*"
command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
docker info >/dev/null 2>&1 || die "'docker info' fails: no Docker engine answers (see eng/ensure-docker.sh)"
for tool in apt-get apt-cache dpkg-deb ldd tar awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing; this script expects a Debian-like host"
done
[ -r "$KEYRING" ] || die "$KEYRING is missing (apt-get install debian-archive-keyring); it is needed to verify the mirror"

# What Microsoft's .NET base images set, which the runtime-deps stand-in copies (deploy/images.json).
APP_UID=$("$(dirname "$0")/../image-fact.sh" images.runtimeDeps.user)
HTTP_PORT=$("$(dirname "$0")/../image-fact.sh" images.runtimeDeps.port)
readonly APP_UID HTTP_PORT

# shellcheck source=eng/images/debian.sh
. "$(dirname "$0")/debian.sh"
# shellcheck source=eng/images/runtime-deps.sh
. "$(dirname "$0")/runtime-deps.sh"
# shellcheck source=eng/images/prometheus-family.sh
. "$(dirname "$0")/prometheus-family.sh"

# Images this script made carry this label, so skipping and --force can find them without
# knowing the tag in advance (the Prometheus tag is the packaged version).
label_of() { printf 'cloudapp.image=%s' "$1"; }

# Prints the existing references with the given label, if any.
existing_refs() {  # $1 image kind, $2 repository
  docker image ls --filter "label=$(label_of "$1")" --filter "reference=$2" \
    --format '{{.Repository}}:{{.Tag}}' | grep -v ':<none>$' || true
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
for target in "${targets[@]}"; do
  case "$target" in
    base) build_base ;;
    prometheus) build_prometheus ;;
    alertmanager) build_alertmanager ;;
    node-exporter) build_node_exporter ;;
  esac
done

printf '\n%-36s %-18s %8s %10s\n' IMAGE RESULT SECONDS SIZE
for row in "${BUILT[@]}"; do
  IFS=$'\t' read -r ref what secs <<<"$row"
  size=$(docker image ls --format '{{.Size}}' "$ref" | head -n1)
  printf '%-36s %-18s %8s %10s\n' "$ref" "$what" "$secs" "$size"
done
