#!/usr/bin/env bash
# Builds, from Debian 12 packages only, the local container images CloudApp needs on machines
# where no container registry can be reached (so `docker pull` of mcr.microsoft.com/... or
# prom/prometheus is impossible) but a Debian package mirror can.
#
#   build.sh [--force] [base|prometheus|computeapi|all]      (default: all)
#
#   base        cloudapp/runtime-deps:bookworm   stands in for mcr.microsoft.com/dotnet/runtime-deps:10.0
#   prometheus  cloudapp/prometheus:<version>    stands in for prom/prometheus (same paths, entrypoint, cmd, user)
#   computeapi  the ComputeApi image named in AppHost/ContainerImages.cs, from a self-contained publish
#               put on the base above by ComputeApi/Dockerfile (the Dockerfile users build on Microsoft's base)
#
# Every target is skipped when its image already exists, so the script is cheap to call from other
# scripts before every run; --force rebuilds (e.g. to pick up Debian security updates).
set -euo pipefail

readonly SUITE=bookworm                    # the tags below promise bookworm content
readonly BASE_REF=cloudapp/runtime-deps:$SUITE
readonly PROM_REPO=cloudapp/prometheus     # tag = upstream version of Debian's package, known only after download
readonly NOBODY=65534                      # uid/gid of "nobody" in the official Prometheus image (busybox)
readonly APP_UID=1654                      # fixed by Microsoft's .NET images; Dockerfiles do `USER $APP_UID`
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
    base|prometheus|computeapi|all) target=$arg ;;
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

# Writes a deb822 sources file for $SUITE, -updates and -security, so images and downloads get the
# patched package versions, not just those of the last point release.
write_sources() {
  cat >"$1" <<EOF
Types: deb
URIs: $ARCHIVE
Suites: $SUITE $SUITE-updates
Components: main
Signed-By: $KEYRING

Types: deb
URIs: $SECURITY
Suites: $SUITE-security
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

# A private apt configuration (own sources, lists, cache, empty dpkg status, no preferences) so
# that what lands in the images depends only on the Debian $SUITE mirror: this host may have other
# suites pinned in (e.g. trixie for docker.io, which also brought a newer libc6 that `apt-get
# download libc6` would otherwise pick) or stale package lists.
APT_DIR=$WORK/apt
APT_OPTS=()
apt_private_init() {
  [ ${#APT_OPTS[@]} -eq 0 ] || return 0
  mkdir -p "$APT_DIR"/etc/sources.list.d "$APT_DIR"/etc/preferences.d \
           "$APT_DIR"/state/lists/partial "$APT_DIR"/cache/archives/partial
  write_sources "$APT_DIR/etc/sources.list.d/debian.sources"
  sed -i "s/^Types: deb$/&\nArchitectures: $ARCH/" "$APT_DIR/etc/sources.list.d/debian.sources"
  : >"$APT_DIR/etc/sources.list"
  : >"$APT_DIR/status"
  APT_OPTS=(
    -o "Dir::Etc::SourceList=$APT_DIR/etc/sources.list"
    -o "Dir::Etc::SourceParts=$APT_DIR/etc/sources.list.d"
    -o "Dir::Etc::Preferences=$APT_DIR/etc/preferences"
    -o "Dir::Etc::PreferencesParts=$APT_DIR/etc/preferences.d"
    -o "Dir::State=$APT_DIR/state"
    -o "Dir::State::status=$APT_DIR/status"
    -o "Dir::Cache=$APT_DIR/cache"
    -o "Acquire::Languages=none"
    # The work dir is private to root (mktemp), so apt's unprivileged _apt download user could not
    # write into it; downloading as root is what apt falls back to anyway, minus the warning.
    -o "APT::Sandbox::User=root"
  )
  say "reading the $SUITE package index (private to this run)"
  apt-get "${APT_OPTS[@]}" -qq update
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
  write_sources "$rootfs/etc/apt/sources.list.d/debian.sources"
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
# prometheus: cloudapp/prometheus:<version>
# Mirrors the official image (prometheus/prometheus Dockerfile at v2.42.0, on
# quay.io/prometheus/busybox): /bin/prometheus + /bin/promtool, /etc/prometheus/prometheus.yml,
# console templates under /usr/share/prometheus linked from /etc/prometheus, data in /prometheus,
# user nobody, port 9090, same ENTRYPOINT/CMD, plus the CA bundle, nsswitch.conf, /etc/services
# and zoneinfo the busybox base adds. So the AppHost and tests can pass the same arguments and
# mount the same paths with either image.
# ---------------------------------------------------------------------------------------------
build_prometheus() {
  local started=$SECONDS old="" existing
  existing=$(existing_refs prometheus "$PROM_REPO")
  if [ -n "$existing" ]; then
    if [ "$force" -eq 0 ]; then
      say "$(echo "$existing" | head -n1) exists; skipped (use --force to rebuild)"
      note "$(echo "$existing" | head -n1)" "skipped (exists)" 0
      return 0
    fi
    old=$(docker image inspect -f '{{.Id}}' "$(echo "$existing" | head -n1)")
  fi

  apt_private_init
  local dl=$WORK/debs pkg=$WORK/pkgroot stage=$WORK/prometheus
  mkdir -p "$dl" "$pkg" "$stage"

  # Debian builds Prometheus without the embedded React UI; its classic UI is served from
  # /usr/share/prometheus/web, whose static/ entries are symlinks into other Debian packages
  # (libjs-jquery, libjs-bootstrap4, libjs-d3 via libjs-rickshaw, fonts-glyphicons-halflings, ...).
  # Those have to come along, transitively, or /graph loads without its scripts.
  local ui_pkgs
  ui_pkgs=$(apt-cache "${APT_OPTS[@]}" depends --recurse --no-recommends --no-suggests \
              --no-conflicts --no-breaks --no-replaces --no-enhances prometheus \
            | awk '/^(libjs-|fonts-|node-)/' | sort -u)
  # libc6: the binaries link only libc (checked with ldd below); ca-certificates, netbase and
  # tzdata provide the files the official busybox base ships.
  say "downloading prometheus, $(echo "$ui_pkgs" | wc -l) web UI packages, libc6, ca-certificates, netbase, tzdata"
  # shellcheck disable=SC2086 # word splitting of the package list is intended
  (cd "$dl" && apt-get "${APT_OPTS[@]}" -qq download prometheus libc6 ca-certificates netbase tzdata $ui_pkgs)
  local deb
  for deb in "$dl"/*.deb; do dpkg-deb -x "$deb" "$pkg"; done

  local debver version ref
  debver=$(dpkg-deb -f "$dl"/prometheus_*.deb Version)
  version=${debver#*:}; version=${version%%[+~-]*}      # 2.42.0+ds-5+deb12u1 -> 2.42.0, like prom/prometheus:v2.42.0
  ref=$PROM_REPO:$version

  # Binaries, at the official paths.
  install -D -m 0755 "$pkg/usr/bin/prometheus" "$stage/bin/prometheus"
  install -D -m 0755 "$pkg/usr/bin/promtool" "$stage/bin/promtool"

  # Exactly the shared objects the binaries need, taken from Debian's libc6 of this suite (not from
  # the host, whose libc may be newer), placed where the binaries' interpreter/ldd expects them.
  local line name path src
  while read -r line; do
    case "$line" in
      *:) continue ;;  # "file:" headers, ldd lists two binaries
      *"not found"*) die "unresolved library for Prometheus: $line" ;;
      *" => "/*) name=${line%% =>*}; path=${line#*=> }; path=${path%% (*} ;;
      /*) path=${line%% (*}; name=${path##*/} ;;
      *) continue ;;   # linux-vdso and the like are provided by the kernel
    esac
    src=$(find "$pkg" -type f -name "$name" | head -n1)
    [ -n "$src" ] || die "$name (needed by Prometheus) is not in the downloaded libc6 package"
    install -D -m 0755 "$src" "$stage$path"
  done < <(ldd "$stage/bin/prometheus" "$stage/bin/promtool" | sort -u)

  # Web UI, with the cross-package symlinks resolved; a dangling one means a missing package.
  local dangling
  dangling=$(cd "$pkg" && find usr/share/prometheus/web -xtype l)
  [ -z "$dangling" ] || die "web UI links point to files no downloaded package provides: $dangling"
  mkdir -p "$stage/usr/share/prometheus"
  cp -rL "$pkg/usr/share/prometheus/web" "$stage/usr/share/prometheus/web"
  # The UI loads moment-timezone-with-data.min.js only; data/ holds the 200+ MB of raw zone
  # sources that bundle was generated from. Source maps only serve browser developer tools.
  rm -rf "$stage/usr/share/prometheus/web/static/moment-timezone/data"
  find "$stage/usr/share/prometheus/web" -name '*.map' -delete

  # Console templates: Debian ships upstream's as examples only; the official image installs them
  # at /usr/share/prometheus/{consoles,console_libraries} and links them into /etc/prometheus.
  cp -r "$pkg/usr/share/doc/prometheus/examples/console_libraries" "$stage/usr/share/prometheus/console_libraries"
  cp -r "$pkg/usr/share/doc/prometheus/examples/consoles" "$stage/usr/share/prometheus/consoles"
  mkdir -p "$stage/etc/prometheus"
  # Upstream's documentation/examples/prometheus.yml (Debian's own /etc one also scrapes node-exporter).
  install -m 0644 "$pkg/usr/share/doc/prometheus/examples/prometheus.yml" "$stage/etc/prometheus/prometheus.yml"
  ln -s /usr/share/prometheus/console_libraries "$stage/etc/prometheus/console_libraries"
  ln -s /usr/share/prometheus/consoles "$stage/etc/prometheus/consoles"
  install -d -m 0755 "$stage/prometheus"
  # Debian's binary defaults to /var/lib/prometheus/metrics2 (upstream: data/ under WORKDIR
  # /prometheus); point that at the volume so overriding CMD without --storage.tsdb.path still works.
  mkdir -p "$stage/var/lib/prometheus"
  ln -s /prometheus "$stage/var/lib/prometheus/metrics2"

  # What the busybox base of the official image provides besides busybox itself.
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
  chown -R -h "$NOBODY:$NOBODY" "$stage/etc/prometheus" "$stage/prometheus"

  # `docker import` of the staged tree (ownership travels in the tar) instead of FROM scratch +
  # COPY: it needs neither BuildKit/buildx (absent here) nor COPY --chown juggling, and every
  # setting of the official Dockerfile is expressible with --change.
  say "importing $ref (Debian package $debver)"
  tar -C "$stage" --numeric-owner -c . | docker import \
    --change "USER $NOBODY" \
    --change "EXPOSE 9090" \
    --change 'VOLUME ["/prometheus"]' \
    --change "WORKDIR /prometheus" \
    --change 'ENTRYPOINT ["/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", "--web.console.libraries=/usr/share/prometheus/console_libraries", "--web.console.templates=/usr/share/prometheus/consoles"]' \
    --change "LABEL $(label_of prometheus)" \
    --change "LABEL org.opencontainers.image.title=Prometheus" \
    --change "LABEL org.opencontainers.image.version=$version" \
    --change "LABEL cloudapp.debian.package=prometheus=$debver" \
    --message "prometheus $debver from $ARCHIVE" \
    - "$ref" >/dev/null

  docker run --rm --entrypoint /bin/promtool "$ref" --version >/dev/null \
    || die "$ref fails its smoke test (promtool --version)"
  drop_replaced "$old" "$ref"
  note "$ref" built $((SECONDS - started))
}

# ---------------------------------------------------------------------------------------------
# computeapi: the service image, always rebuilt from this checkout (a stale image would test old code).
# ---------------------------------------------------------------------------------------------
build_computeapi() {
  local started=$SECONDS root ref publish
  root=$(cd "$(dirname "$0")/../.." && pwd)
  ref=$(sed -n 's/.*const string ComputeApiDefault = "\(.*\)";.*/\1/p' "$root/AppHost/ContainerImages.cs")
  [ -n "$ref" ] || die "could not read ComputeApiDefault from AppHost/ContainerImages.cs"
  command -v dotnet >/dev/null 2>&1 || die "the .NET SDK (dotnet) is needed to publish ComputeApi"
  docker image inspect "$BASE_REF" >/dev/null 2>&1 || build_base

  publish=$WORK/computeapi
  say "publishing ComputeApi (Release, linux-x64, self-contained)"
  dotnet publish "$root/ComputeApi/ComputeApi.csproj" -c Release -r linux-x64 --self-contained \
    -o "$publish" -nologo -v quiet >&2
  say "building $ref on $BASE_REF"
  docker build -q -f "$root/ComputeApi/Dockerfile" --build-arg "RUNTIME_DEPS_IMAGE=$BASE_REF" \
    --label "$(label_of computeapi)" -t "$ref" "$publish" >/dev/null
  # Smoke test: the service starts as the non-root user and answers its liveness probe.
  local cid port ok=0
  cid=$(docker run -d -p 127.0.0.1::8080 "$ref")
  port=$(docker port "$cid" 8080/tcp | head -n1 | sed 's/.*://')
  for _ in $(seq 1 30); do
    if curl -fsS "http://127.0.0.1:$port/alive" >/dev/null 2>&1; then ok=1; break; fi
    sleep 1
  done
  docker rm -f "$cid" >/dev/null
  [ "$ok" -eq 1 ] || die "$ref did not answer /alive within 30 s"
  note "$ref" built $((SECONDS - started))
}

case "$target" in
  base) build_base ;;
  prometheus) build_prometheus ;;
  computeapi) build_computeapi ;;
  all) build_base; build_prometheus; build_computeapi ;;
esac

printf '\n%-36s %-18s %8s %10s\n' IMAGE RESULT SECONDS SIZE
for row in "${BUILT[@]}"; do
  IFS=$'\t' read -r ref what secs <<<"$row"
  size=$(docker image ls --format '{{.Size}}' "$ref" | head -n1)
  printf '%-36s %-18s %8s %10s\n' "$ref" "$what" "$secs" "$size"
done
