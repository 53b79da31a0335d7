# shellcheck shell=bash
# Sourced by eng/images/build.sh; uses its settings (SUITE, KEYRING, ARCH, ...) and helpers (say, die, note, needs_build).

# ---------------------------------------------------------------------------------------------
# base: the runtime-deps stand-in (deploy/images.json, images.runtimeDeps), cloudapp/runtime-deps:bookworm
# Mirrors dotnet/dotnet-docker src/runtime-deps/10.0/*/Dockerfile: the native libraries .NET
# loads (ICU, OpenSSL, libstdc++, tz data, CA certificates), the non-root user `app` ($APP_UID) and
# the environment those images set. Self-contained .NET apps then need nothing else.
# ---------------------------------------------------------------------------------------------
build_base() {  # $1 the stand-in's reference (cloudapp/runtime-deps:<Debian release>)
  local ref=$1 started=$SECONDS
  needs_build "$ref" || return 0
  local old=$REPLACED
  # What Microsoft's images set and the stand-in copies: its record in deploy/images.json.
  local APP_UID HTTP_PORT
  APP_UID=$(fact images.runtimeDeps.user)
  HTTP_PORT=$(fact images.runtimeDeps.port)

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
  say "importing $ref"
  tar -C "$rootfs" --numeric-owner -c . | docker import \
    --change "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
    --change "ENV APP_UID=$APP_UID" \
    --change "ENV ASPNETCORE_HTTP_PORTS=$HTTP_PORT" \
    --change "ENV DOTNET_RUNNING_IN_CONTAINER=true" \
    --change "WORKDIR /app" \
    --change 'CMD ["bash"]' \
    --change "LABEL $(label_of runtime-deps)" \
    --change "LABEL org.opencontainers.image.title=runtime-deps" \
    --change "LABEL org.opencontainers.image.description=\".NET runtime dependencies on Debian $SUITE, built locally from Debian packages\"" \
    --change "LABEL org.opencontainers.image.base.name=debian:$SUITE" \
    --message "debootstrap $SUITE minbase from $ARCHIVE" \
    - "$ref" >/dev/null

  # Fail here, not in a later docker build, if the user or the dynamic libraries are broken.
  docker run --rm "$ref" sh -c "id app >/dev/null && ldconfig -p | grep -q libicuuc && ldconfig -p | grep -q libssl.so.3" \
    || die "$ref fails its smoke test"
  drop_replaced "$old" "$ref"
  note "$ref" built $((SECONDS - started))
}
