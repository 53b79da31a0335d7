# shellcheck shell=bash
# Sourced by eng/images/build.sh; uses its settings (SUITE, PROMETHEUS_SUITE, WORK, ...) and helpers (say, die, fact, note, needs_build).

# ---------------------------------------------------------------------------------------------
# The Prometheus family: statically minded Go binaries that link only libc. Each image mirrors its
# official counterpart (built on quay.io/prometheus/busybox): the binaries under /bin, plus what that
# base provides besides busybox: libc and the loader, a CA bundle, nsswitch.conf, /etc/services, zone
# data, and the users root and nobody.
# ---------------------------------------------------------------------------------------------

# Stages the busybox-base equivalents into $1: libc for the binaries already staged under $1/bin, from the
# base release's libc6 (not the host's, which may be newer), the CA bundle, name service and zone files, and the
# users root and nobody, whose uid/gid $2 is (the user of the official Prometheus-family images).
stage_runtime() {  # $1 stage dir, $2 uid of nobody
  local stage=$1 nobody=$2 pkg=$WORK/runtime-pkgs
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
    [ -n "$src" ] || die "$name is not in $SUITE's libc6 package"
    install -D -m 0755 "$src" "$stage$path"
  done < <(ldd "$stage"/bin/* | sort -u)

  mkdir -p "$stage/etc/ssl/certs" "$stage/usr/share"
  cat "$pkg"/usr/share/ca-certificates/mozilla/*.crt >"$stage/etc/ssl/certs/ca-certificates.crt"
  install -m 0644 "$pkg/etc/services" "$stage/etc/services"
  cp -a "$pkg/usr/share/zoneinfo" "$stage/usr/share/zoneinfo"
  # With nsswitch.conf saying "files dns", Go uses its own resolver rather than glibc's NSS modules.
  printf 'passwd: files\ngroup: files\nhosts: files dns\n' >"$stage/etc/nsswitch.conf"
  printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:%s:%s:nobody:/home:/sbin/nologin\n' "$nobody" "$nobody" >"$stage/etc/passwd"
  printf 'root:x:0:\nnobody:x:%s:\n' "$nobody" >"$stage/etc/group"
  install -d -m 1777 "$stage/tmp"
  chown -R 0:0 "$stage"
}

# The facts of image $1 the build uses, from its record in deploy/images.json: IMAGE_USER, IMAGE_PORT,
# CONFIG_DIR and DATA_DIR (empty where the record has no such path) and PACKAGE, the Debian package.
read_facts() {  # $1 image key
  IMAGE_USER=$(fact "images.$1.user")
  IMAGE_PORT=$(fact "images.$1.port")
  PACKAGE=$(fact "images.$1.standIn.debianPackage")
  CONFIG_DIR=$(fact "images.$1.paths.config" 2>/dev/null || true)
  DATA_DIR=$(fact "images.$1.paths.data" 2>/dev/null || true)
}

# Imports the staged tree as the stand-in's reference, cloudapp/<kind>:<upstream version of the package>, after
# checking that the package is of the version the reference (and so the pin) names; checks that the image runs
# (<smoke binary> --version) and notes it; the remaining arguments are `docker import --change` values.
# `docker import` rather than FROM scratch + COPY: it needs neither BuildKit nor a base image to pull.
import_image() {  # $1 stage, $2 image key, $3 reference, $4 title, $5 the package's .deb, $6 smoke binary, $7 start time, then changes
  local stage=$1 key=$2 ref=$3 title=$4 deb=$5 smoke=$6 started=$7 change version package kind
  shift 7
  kind=${ref%:*}
  kind=${kind##*/}
  version=$(upstream_version "$deb")
  package="$(dpkg-deb -f "$deb" Package)=$(dpkg-deb -f "$deb" Version)"
  [ "$version" = "${ref##*:}" ] || die "image '$key': its stand-in $ref is to be built from Debian's $(dpkg-deb -f "$deb" Package) ${ref##*:}, but $PROMETHEUS_SUITE now has $version ($package); refusing to stand in another version than the pin. Pin $version and set the record's standIn.version to it, or make the pinned image available."
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

# prometheus: /bin/prometheus and /bin/promtool, <config>/prometheus.yml, data in <data>.
build_prometheus() {  # $1 image key, $2 the stand-in's reference
  local key=$1 ref=$2 started=$SECONDS
  needs_build "$ref" || return 0
  local dl=$WORK/prometheus-debs pkg=$WORK/prometheus-pkg stage=$WORK/prometheus
  read_facts "$key"

  say "downloading $PACKAGE and promtool from $PROMETHEUS_SUITE"
  fetch_packages "$PROMETHEUS_SUITE" "$dl" "$pkg" "$PACKAGE" promtool

  install -D -m 0755 "$pkg/usr/bin/prometheus" "$stage/bin/prometheus"
  install -D -m 0755 "$pkg/usr/bin/promtool" "$stage/bin/promtool"
  stage_runtime "$stage" "$IMAGE_USER"

  # Debian builds Prometheus without its web UI (and 3.x without the classic one): every page is this notice,
  # which points to the UI a user can install; the HTTP API is complete.
  install -D -m 0644 "$pkg/usr/share/prometheus/web/no-ui/index.html" "$stage/usr/share/prometheus/web/no-ui/index.html"

  # Debian's package keeps the file under /etc/prometheus; the image keeps it where the record says.
  install -D -m 0644 "$pkg/etc/prometheus/prometheus.yml" "$stage$CONFIG_DIR/prometheus.yml"
  install -d -m 0755 "$stage$DATA_DIR"
  # Debian's binary defaults to /var/lib/prometheus/metrics2 (upstream: data/ under WORKDIR /prometheus);
  # point that at the volume so a command without --storage.tsdb.path still writes there.
  mkdir -p "$stage/var/lib/prometheus"
  ln -s "$DATA_DIR" "$stage/var/lib/prometheus/metrics2"
  chown -R -h "$IMAGE_USER:$IMAGE_USER" "$stage$CONFIG_DIR" "$stage$DATA_DIR"

  import_image "$stage" "$key" "$ref" Prometheus "$dl/${PACKAGE}_"*.deb /bin/promtool "$started" \
    "USER $IMAGE_USER" "EXPOSE $IMAGE_PORT" "VOLUME [\"$DATA_DIR\"]" "WORKDIR $DATA_DIR" 'ENTRYPOINT ["/bin/prometheus"]' \
    "CMD [\"--config.file=$CONFIG_DIR/prometheus.yml\", \"--storage.tsdb.path=$DATA_DIR\"]"
}

# alertmanager: /bin/alertmanager and /bin/amtool, <config>/alertmanager.yml, data in <data>.
build_alertmanager() {  # $1 image key, $2 the stand-in's reference
  local key=$1 ref=$2 started=$SECONDS
  needs_build "$ref" || return 0
  local dl=$WORK/alertmanager-debs pkg=$WORK/alertmanager-pkg stage=$WORK/alertmanager
  read_facts "$key"

  say "downloading $PACKAGE from $PROMETHEUS_SUITE"
  fetch_packages "$PROMETHEUS_SUITE" "$dl" "$pkg" "$PACKAGE"
  # Debian renames the server binary; the official image calls it alertmanager.
  install -D -m 0755 "$pkg/usr/bin/prometheus-alertmanager" "$stage/bin/alertmanager"
  install -D -m 0755 "$pkg/usr/bin/amtool" "$stage/bin/amtool"
  stage_runtime "$stage" "$IMAGE_USER"
  # Debian's build reads its notification templates from here; upstream embeds them.
  mkdir -p "$stage/usr/share/prometheus"
  cp -r "$pkg/usr/share/prometheus/alertmanager" "$stage/usr/share/prometheus/alertmanager"
  install -D -m 0644 "$pkg/etc/prometheus/alertmanager.yml" "$stage$CONFIG_DIR/alertmanager.yml"
  install -d -m 0755 "$stage$DATA_DIR"
  chown -R -h "$IMAGE_USER:$IMAGE_USER" "$stage$CONFIG_DIR" "$stage$DATA_DIR"

  import_image "$stage" "$key" "$ref" Alertmanager "$dl/${PACKAGE}_"*.deb /bin/amtool "$started" \
    "USER $IMAGE_USER" "EXPOSE $IMAGE_PORT" "VOLUME [\"$DATA_DIR\"]" "WORKDIR $DATA_DIR" 'ENTRYPOINT ["/bin/alertmanager"]' \
    "CMD [\"--config.file=$CONFIG_DIR/alertmanager.yml\", \"--storage.path=$DATA_DIR\"]"
}

# node-exporter: /bin/node_exporter, run as nobody, on the record's port.
build_node_exporter() {  # $1 image key, $2 the stand-in's reference
  local key=$1 ref=$2 started=$SECONDS
  needs_build "$ref" || return 0
  local dl=$WORK/node-exporter-debs pkg=$WORK/node-exporter-pkg stage=$WORK/node-exporter
  read_facts "$key"

  say "downloading $PACKAGE from $PROMETHEUS_SUITE"
  fetch_packages "$PROMETHEUS_SUITE" "$dl" "$pkg" "$PACKAGE"
  install -D -m 0755 "$pkg/usr/bin/prometheus-node-exporter" "$stage/bin/node_exporter"
  stage_runtime "$stage" "$IMAGE_USER"

  import_image "$stage" "$key" "$ref" "Node exporter" "$dl/${PACKAGE}_"*.deb /bin/node_exporter "$started" \
    "USER $IMAGE_USER" "EXPOSE $IMAGE_PORT" 'ENTRYPOINT ["/bin/node_exporter"]'
}
