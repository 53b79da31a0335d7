#!/usr/bin/env bash
# Builds, from Debian packages only, the local container images CloudApp needs on machines where no
# container registry can be reached (so `docker pull` of the official images is impossible) but a
# Debian package mirror can.
#
#   build.sh [--force] [base|prometheus|alertmanager|node-exporter|all]      (default: all)
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
readonly APP_UID=1654                      # fixed by Microsoft's .NET images (the `app` user)
readonly KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

say() { printf '[images] %s\n' "$*" >&2; }
die() { printf '[images] error: %s\n' "$*" >&2; exit 1; }

usage() {
  sed -n '2,12s/^# \{0,1\}//p' "$0" >&2
  exit "${1:-0}"
}

force=0
target=all
for arg in "$@"; do
  case "$arg" in
    --force|-f) force=1 ;;
    base|prometheus|alertmanager|node-exporter|all) target=$arg ;;
    -h|--help) usage 0 ;;
    *) say "unknown argument: $arg"; usage 2 ;;
  esac
done

# debootstrap creates device nodes and chroots, and the staged trees must carry uid 0/65534/1654
# ownership into the image tarball; none of that works unprivileged.
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap and the ownership of image files need it); try: sudo $0 $*"
command -v docker >/dev/null 2>&1 || die "the docker CLI is not installed"
docker info >/dev/null 2>&1 || die "'docker info' fails: no Docker engine answers (see deploy/local/ensure-docker.sh)"
for tool in apt-get apt-cache dpkg-deb ldd tar awk; do
  command -v "$tool" >/dev/null 2>&1 || die "'$tool' is missing; this script expects a Debian-like host"
done
[ -r "$KEYRING" ] || die "$KEYRING is missing (apt-get install debian-archive-keyring); it is needed to verify the mirror"

# ---------------------------------------------------------------------------------------------
# Where the packages come from: the machine's own Debian mirror, because that is the one thing
# known to be reachable here (it may be a local or snapshot mirror rather than deb.debian.org).
# ---------------------------------------------------------------------------------------------

# Prints the first URI of the first enabled deb822 "deb" stanza that lists suite $1.
uri_from_deb822() {
  local file=/etc/apt/sources.list.d/debian.sources
  [ -r "$file" ] || return 0
  awk -v want="$1" '
    BEGIN { RS = ""; FS = "\n" }
    {
      uris = ""; suites = ""; types = ""; enabled = "yes"
      for (i = 1; i <= NF; i++) {
        line = $i
        if (line ~ /^[ \t]*#/) continue
        if (match(line, /^URIs:[ \t]*/))          uris    = substr(line, RLENGTH + 1)
        else if (match(line, /^Suites:[ \t]*/))   suites  = substr(line, RLENGTH + 1)
        else if (match(line, /^Types:[ \t]*/))    types   = substr(line, RLENGTH + 1)
        else if (match(line, /^Enabled:[ \t]*/))  enabled = substr(line, RLENGTH + 1)
      }
      if (enabled == "no" || types !~ /(^|[ \t])deb([ \t]|$)/) next
      n = split(suites, s, /[ \t]+/)
      for (j = 1; j <= n; j++) if (s[j] == want) { split(uris, u, /[ \t]+/); print u[1]; exit }
    }' "$file"
}

# Same for the one-line format, which older or hand-made installations still use.
uri_from_list() {
  local file=/etc/apt/sources.list
  [ -r "$file" ] || return 0
  awk -v want="$1" '
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if ($(i + 1) == want) { print $i; exit }
    }' "$file"
}

find_uri() {  # $1 suite, $2 fallback
  local uri
  uri=$(uri_from_deb822 "$1")
  [ -n "$uri" ] || uri=$(uri_from_list "$1")
  [ -n "$uri" ] || uri=$2
  printf '%s\n' "${uri%/}"
}

ARCHIVE=$(find_uri "$SUITE" http://deb.debian.org/debian)
SECURITY=$(find_uri "$SUITE-security" http://deb.debian.org/debian-security)
ARCH=$(dpkg --print-architecture)
say "Debian archive:  $ARCHIVE  (suites $SUITE, $SUITE-updates; from the host's apt sources or the default)"
say "Debian security: $SECURITY  (suite $SUITE-security)"

# Writes a deb822 sources file for suite $2: a stable suite with its -updates and -security suites, so
# images get the patched package versions, not just those of the last point release; unstable alone.
write_sources() {  # $1 file, $2 suite
  if [ "$2" = "$PROMETHEUS_SUITE" ]; then
    cat >"$1" <<EOF
Types: deb
URIs: $ARCHIVE
Suites: $2
Components: main
Signed-By: $KEYRING
EOF
    return
  fi
  cat >"$1" <<EOF
Types: deb
URIs: $ARCHIVE
Suites: $2 $2-updates
Components: main
Signed-By: $KEYRING

Types: deb
URIs: $SECURITY
Suites: $2-security
Components: main
Signed-By: $KEYRING
EOF
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudapp-images.XXXXXX")
cleanup() {
  # If debootstrap or a chroot dies half-way, /proc, /sys or a bind-mounted /dev may still be
  # mounted inside the rootfs; removing the tree without unmounting first could delete host files.
  local m
  awk -v w="$WORK" 'index($2, w) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
  rm -rf --one-file-system "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Runs apt-get or apt-cache ($2) against a package index private to this run for suite $1 (own sources,
# lists, cache, empty dpkg status, no preferences), so that what lands in the images depends only on that
# suite of the Debian mirror: this host may pin other suites (e.g. trixie for docker.io) or have stale lists.
apt_in() {  # $1 suite, $2 apt-get|apt-cache, then its arguments
  local suite=$1 tool=$2 dir=$WORK/apt-$1
  shift 2
  local opts=(
    -o "Dir::Etc::SourceList=$dir/etc/sources.list"
    -o "Dir::Etc::SourceParts=$dir/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$dir/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$dir/etc/preferences.d"
    -o "Dir::State=$dir/state"
    -o "Dir::State::status=$dir/status"
    -o "Dir::Cache=$dir/cache"
    -o "Acquire::Languages=none"
    # The work dir is private to root (mktemp), so apt's unprivileged _apt download user could not
    # write into it; downloading as root is what apt falls back to anyway, minus the warning.
    -o "APT::Sandbox::User=root"
  )
  if [ ! -d "$dir" ]; then
    mkdir -p "$dir"/etc/sources.list.d "$dir"/etc/preferences.d "$dir"/state/lists/partial "$dir"/cache/archives/partial
    write_sources "$dir/etc/sources.list.d/debian.sources" "$suite"
    sed -i "s/^Types: deb$/&\nArchitectures: $ARCH/" "$dir/etc/sources.list.d/debian.sources"
    : >"$dir/etc/sources.list"
    : >"$dir/status"
    say "reading the $suite package index (private to this run)"
    apt-get "${opts[@]}" -qq update
  fi
  "$tool" "${opts[@]}" "$@"
}

# Downloads packages of suite $1 into $2 and unpacks them all into $3.
fetch_packages() {  # $1 suite, $2 download dir, $3 unpack dir, then package names
  local suite=$1 dl=$2 root=$3 deb
  shift 3
  mkdir -p "$dl" "$root"
  (cd "$dl" && apt_in "$suite" apt-get -qq download "$@")
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$root"; done
}

# The upstream version of a downloaded package: 3.5.3+ds1-6 -> 3.5.3, like the official image tag v3.5.3.
upstream_version() {  # $1 .deb file
  local v
  v=$(dpkg-deb -f "$1" Version)
  v=${v#*:}
  printf '%s\n' "${v%%[+~-]*}"
}

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

# ---------------------------------------------------------------------------------------------
# base: cloudapp/runtime-deps:bookworm
# Mirrors dotnet/dotnet-docker src/runtime-deps/10.0/*/Dockerfile: the native libraries .NET
# loads (ICU, OpenSSL, libstdc++, tz data, CA certificates), the non-root user `app` (1654) and
# the environment those images set. Self-contained .NET apps then need nothing else.
# ---------------------------------------------------------------------------------------------
build_base() {
  local started=$SECONDS old=""
  if docker image inspect "$BASE_REF" >/dev/null 2>&1; then
    if [ "$force" -eq 0 ]; then
      say "$BASE_REF exists; skipped (use --force to rebuild)"
      note "$BASE_REF" "skipped (exists)" 0
      return 0
    fi
    old=$(docker image inspect -f '{{.Id}}' "$BASE_REF")
  fi

  if ! command -v debootstrap >/dev/null 2>&1; then
    say "installing debootstrap (host package, needed once)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi

  local rootfs=$WORK/runtime-deps
  say "debootstrap $SUITE (minbase) into a temporary rootfs"
  # libgcc-s1/libstdc++6 are already pulled in by apt in minbase; named anyway because .NET needs them.
  if ! debootstrap --variant=minbase --arch="$ARCH" \
        --include=ca-certificates,libicu72,libssl3,libgcc-s1,libstdc++6,tzdata \
        "$SUITE" "$rootfs" "$ARCHIVE" >"$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (full log was $WORK/debootstrap.log)"
  fi

  # debootstrap installs the release as of its last point release; add -updates/-security and
  # upgrade so libssl3, tzdata etc. are current, as in the regularly rebuilt Microsoft images.
  rm -f "$rootfs/etc/apt/sources.list"
  write_sources "$rootfs/etc/apt/sources.list.d/debian.sources" "$SUITE"
  say "applying $SUITE updates and security fixes inside the rootfs"
  # No /dev/pts in the chroot, hence Use-Pty=0; the chatter of maintainer scripts goes to a log.
  if ! { chroot "$rootfs" apt-get -qq update &&
         DEBIAN_FRONTEND=noninteractive chroot "$rootfs" apt-get -y -qq -o Dpkg::Use-Pty=0 \
           -o Dpkg::Options::=--force-confold upgrade; } >"$WORK/upgrade.log" 2>&1; then
    tail -n 30 "$WORK/upgrade.log" >&2
    die "apt-get upgrade inside the rootfs failed"
  fi

  # Same user as Microsoft's images (groupadd/useradd with --create-home, hence /home/app), so
  # Dockerfiles written for mcr.microsoft.com/dotnet/runtime-deps work unchanged with `USER $APP_UID`.
  chroot "$rootfs" groupadd --gid "$APP_UID" app
  chroot "$rootfs" useradd -l --uid "$APP_UID" --gid "$APP_UID" --create-home app
  # The conventional app directory of .NET container images; root-owned like a Dockerfile WORKDIR.
  install -d -m 0755 "$rootfs/app"

  # Keep later `apt-get install` in derived images as lean as this one (same idea as debian:slim).
  cat >"$rootfs/etc/dpkg/dpkg.cfg.d/cloudapp-slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
EOF
  cat >"$rootfs/etc/apt/apt.conf.d/cloudapp-slim" <<'EOF'
Acquire::Languages "none";
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
EOF

  # Size: package caches, indexes, docs (licences kept), man pages, translations, logs.
  chroot "$rootfs" apt-get clean
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin \
         "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/* \
         "$rootfs"/usr/share/groff/* "$rootfs"/usr/share/lintian/* \
         "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old \
         "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  find "$rootfs/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$rootfs/var/log" -type f -exec truncate -s 0 {} +
  # debootstrap copies these from the build host; Docker provides its own per container.
  rm -f "$rootfs/etc/hostname" "$rootfs/etc/resolv.conf"

  # `docker import` rather than a Dockerfile: the rootfs is already complete, and a Dockerfile would
  # need a base image to FROM, which is exactly what cannot be pulled here.
  say "importing $BASE_REF"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV APP_UID=$APP_UID" \
    --change "ENV ASPNETCORE_HTTP_PORTS=8080" \
    --change "ENV DOTNET_RUNNING_IN_CONTAINER=true" \
    --change "WORKDIR /app" \
    --change 'CMD ["bash"]' \
    --change "LABEL $(label_of runtime-deps)" \
    --change "LABEL org.opencontainers.image.title=runtime-deps" \
    --change "LABEL org.opencontainers.image.description=\".NET runtime dependencies on Debian $SUITE, built locally from Debian packages\"" \
    --change "LABEL org.opencontainers.image.base.name=debian:$SUITE" \
    --message "debootstrap $SUITE minbase from $ARCHIVE" \
    - "$BASE_REF" >/dev/null

  # Fail here, not in a later docker build, if the user or the dynamic libraries are broken.
  docker run --rm "$BASE_REF" sh -c "id app >/dev/null && ldconfig -p | grep -q libicuuc && ldconfig -p | grep -q libssl.so.3" \
    || die "$BASE_REF fails its smoke test"
  drop_replaced "$old" "$BASE_REF"
  note "$BASE_REF" built $((SECONDS - started))
}

# ---------------------------------------------------------------------------------------------
# The Prometheus family: statically minded Go binaries that link only libc. Each image mirrors its
# official counterpart (built on quay.io/prometheus/busybox): the binaries under /bin, plus what that
# base provides besides busybox: libc and the loader, a CA bundle, nsswitch.conf, /etc/services, zone
# data, and the users root and nobody.
# ---------------------------------------------------------------------------------------------

# False (and noted as skipped) when an image of this kind exists and --force is not given; otherwise true,
# with REPLACED set to the id of the image a rebuild replaces (empty when there is none).
REPLACED=""
needs_build() {  # $1 image kind, $2 repository
  local existing
  existing=$(existing_refs "$1" "$2" | head -n1)
  REPLACED=""
  if [ -n "$existing" ] && [ "$force" -eq 0 ]; then
    say "$existing exists; skipped (use --force to rebuild)"
    note "$existing" "skipped (exists)" 0
    return 1
  fi
  [ -z "$existing" ] || REPLACED=$(docker image inspect -f '{{.Id}}' "$existing")
}

# Stages the busybox-base equivalents into $1: libc for the binaries already staged under $1/bin, from
# bookworm's libc6 (not the host's, which may be newer), the CA bundle, name service and zone files.
stage_runtime() {  # $1 stage dir
  local stage=$1 pkg=$WORK/runtime-pkgs
  [ -d "$pkg" ] || fetch_packages "$SUITE" "$WORK/runtime-debs" "$pkg" libc6 ca-certificates netbase tzdata

  local line name path src
  while read -r line; do
    case "$line" in
      *:) continue ;;  # "file:" headers, ldd lists several binaries
      *"not found"*) die "unresolved library in $stage: $line" ;;
      *" => "/*) name=${line%% =>*}; path=${line#*=> }; path=${path%% (*} ;;
      /*) path=${line%% (*}; name=${path##*/} ;;
      *) continue ;;   # linux-vdso and the like are provided by the kernel
    esac
    src=$(find "$pkg" -type f -name "$name" | head -n1)
    [ -n "$src" ] || die "$name is not in bookworm's libc6 package"
    install -D -m 0755 "$src" "$stage$path"
  done < <(ldd "$stage"/bin/* | sort -u)

  mkdir -p "$stage/etc/ssl/certs" "$stage/usr/share"
  cat "$pkg"/usr/share/ca-certificates/mozilla/*.crt >"$stage/etc/ssl/certs/ca-certificates.crt"
  install -m 0644 "$pkg/etc/services" "$stage/etc/services"
  cp -a "$pkg/usr/share/zoneinfo" "$stage/usr/share/zoneinfo"
  # With nsswitch.conf saying "files dns", Go uses its own resolver rather than glibc's NSS modules.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$stage/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:%s:%s:nobody:/home:/sbin/nologin\n' "$NOBODY" "$NOBODY" >"$stage/etc/passwd"
  printf 'root:x:0:\nnobody:x:%s:\n' "$NOBODY" >"$stage/etc/group"
  install -d -m 1777 "$stage/tmp"
  chown -R 0:0 "$stage"
}

# Imports the staged tree as cloudapp/<kind>:<upstream version of the package>, checks that the image runs
# (<smoke binary> --version) and notes it; the remaining arguments are `docker import --change` values.
# `docker import` rather than FROM scratch + COPY: it needs neither BuildKit nor a base image to pull.
import_image() {  # $1 stage, $2 kind, $3 title, $4 the package's .deb, $5 smoke binary, $6 start time, then changes
  local stage=$1 kind=$2 title=$3 deb=$4 smoke=$5 started=$6 change version ref package
  shift 6
  version=$(upstream_version "$deb")
  ref=cloudapp/$kind:$version
  package="$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"
  local changes=(
    --change "LABEL $(label_of "$kind")"
    --change "LABEL org.opencontainers.image.title=\"$title\""
    --change "LABEL org.opencontainers.image.version=$version"
    --change "LABEL cloudapp.debian.package=$package"
  )
  for change in "$@"; do changes+=(--change "$change"); done
  say "importing $ref (Debian package $package)"
  tar -C "$stage" --numeric-owner -c . | docker import "${changes[@]}" \
    --message "$package from $ARCHIVE ($PROMETHEUS_SUITE)" - "$ref" >/dev/null
  docker run --rm --entrypoint "$smoke" "$ref" --version >/dev/null 2>&1 || die "$ref fails its smoke test ($smoke --version)"
  drop_replaced "$REPLACED" "$ref"
  note "$ref" built $((SECONDS - started))
}

# prometheus: /bin/prometheus and /bin/promtool, /etc/prometheus/prometheus.yml, data in /prometheus.
build_prometheus() {
  local started=$SECONDS
  needs_build prometheus cloudapp/prometheus || return 0
  local dl=$WORK/prometheus-debs pkg=$WORK/prometheus-pkg stage=$WORK/prometheus

  say "downloading prometheus and promtool from $PROMETHEUS_SUITE"
  fetch_packages "$PROMETHEUS_SUITE" "$dl" "$pkg" prometheus promtool

  install -D -m 0755 "$pkg/usr/bin/prometheus" "$stage/bin/prometheus"
  install -D -m 0755 "$pkg/usr/bin/promtool" "$stage/bin/promtool"
  stage_runtime "$stage"

  # Debian builds Prometheus without its web UI (and 3.x without the classic one): every page is this notice,
  # which points to the UI a user can install; the HTTP API is complete.
  install -D -m 0644 "$pkg/usr/share/prometheus/web/no-ui/index.html" "$stage/usr/share/prometheus/web/no-ui/index.html"

  install -D -m 0644 "$pkg/etc/prometheus/prometheus.yml" "$stage/etc/prometheus/prometheus.yml"
  install -d -m 0755 "$stage/prometheus"
  # Debian's binary defaults to /var/lib/prometheus/metrics2 (upstream: data/ under WORKDIR /prometheus);
  # point that at the volume so a command without --storage.tsdb.path still writes there.
  mkdir -p "$stage/var/lib/prometheus"
  ln -s /prometheus "$stage/var/lib/prometheus/metrics2"
  chown -R -h "$NOBODY:$NOBODY" "$stage/etc/prometheus" "$stage/prometheus"

  import_image "$stage" prometheus Prometheus "$dl"/prometheus_*.deb /bin/promtool "$started" \
    "USER $NOBODY" "EXPOSE 9090" 'VOLUME ["/prometheus"]' "WORKDIR /prometheus" 'ENTRYPOINT ["/bin/prometheus"]' \
    'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]'
}

# alertmanager: /bin/alertmanager and /bin/amtool, /etc/alertmanager/alertmanager.yml, data in /alertmanager.
build_alertmanager() {
  local started=$SECONDS
  needs_build alertmanager cloudapp/alertmanager || return 0
  local dl=$WORK/alertmanager-debs pkg=$WORK/alertmanager-pkg stage=$WORK/alertmanager

  say "downloading prometheus-alertmanager from $PROMETHEUS_SUITE"
  fetch_packages "$PROMETHEUS_SUITE" "$dl" "$pkg" prometheus-alertmanager
  # Debian renames the server binary; the official image calls it alertmanager.
  install -D -m 0755 "$pkg/usr/bin/prometheus-alertmanager" "$stage/bin/alertmanager"
  install -D -m 0755 "$pkg/usr/bin/amtool" "$stage/bin/amtool"
  stage_runtime "$stage"
  # Debian's build reads its notification templates from here; upstream embeds them.
  mkdir -p "$stage/usr/share/prometheus"
  cp -r "$pkg/usr/share/prometheus/alertmanager" "$stage/usr/share/prometheus/alertmanager"
  install -D -m 0644 "$pkg/etc/prometheus/alertmanager.yml" "$stage/etc/alertmanager/alertmanager.yml"
  install -d -m 0755 "$stage/alertmanager"
  chown -R -h "$NOBODY:$NOBODY" "$stage/etc/alertmanager" "$stage/alertmanager"

  import_image "$stage" alertmanager Alertmanager "$dl"/prometheus-alertmanager_*.deb /bin/amtool "$started" \
    "USER $NOBODY" "EXPOSE 9093" 'VOLUME ["/alertmanager"]' "WORKDIR /alertmanager" 'ENTRYPOINT ["/bin/alertmanager"]' \
    'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]'
}

# node-exporter: /bin/node_exporter, run as nobody, port 9100.
build_node_exporter() {
  local started=$SECONDS
  needs_build node-exporter cloudapp/node-exporter || return 0
  local dl=$WORK/node-exporter-debs pkg=$WORK/node-exporter-pkg stage=$WORK/node-exporter

  say "downloading prometheus-node-exporter from $PROMETHEUS_SUITE"
  fetch_packages "$PROMETHEUS_SUITE" "$dl" "$pkg" prometheus-node-exporter
  install -D -m 0755 "$pkg/usr/bin/prometheus-node-exporter" "$stage/bin/node_exporter"
  stage_runtime "$stage"

  import_image "$stage" node-exporter "Node exporter" "$dl"/prometheus-node-exporter_*.deb /bin/node_exporter "$started" \
    "USER $NOBODY" "EXPOSE 9100" 'ENTRYPOINT ["/bin/node_exporter"]'
}

case "$target" in
  base) build_base ;;
  prometheus) build_prometheus ;;
  alertmanager) build_alertmanager ;;
  node-exporter) build_node_exporter ;;
  all) build_base; build_prometheus; build_alertmanager; build_node_exporter ;;
esac

printf '\n%-36s %-18s %8s %10s\n' IMAGE RESULT SECONDS SIZE
for row in "${BUILT[@]}"; do
  IFS=$'\t' read -r ref what secs <<<"$row"
  size=$(docker image ls --format '{{.Size}}' "$ref" | head -n1)
  printf '%-36s %-18s %8s %10s\n' "$ref" "$what" "$secs" "$size"
done
