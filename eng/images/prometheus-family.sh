# shellcheck shell=bash
# Sourced by eng/images/build.sh; uses its settings (SUITE, KEYRING, ARCH, ...) and helpers (say, die, note).

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
