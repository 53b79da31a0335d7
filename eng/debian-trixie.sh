# Sourced by the set-up scripts: lets apt take single packages from Debian 13 (trixie) on Debian 12,
# where bookworm's is too old (its docker.io speaks Docker API 1.41; Testcontainers needs 1.44).
# The trixie suite is pinned to priority 100, so nothing else ever moves to it: only what is asked
# for with `apt-get install -t trixie` comes from there.

# True on Debian 12 or 13 (on 13 the packages come from its own suite).
is_debian() {
  [ -r /etc/os-release ] || return 1
  (
    # shellcheck disable=SC1091
    . /etc/os-release
    [ "${ID:-}" = debian ] && { [ "${VERSION_CODENAME:-}" = bookworm ] || [ "${VERSION_CODENAME:-}" = trixie ]; }
  )
}

# Makes the trixie suite known to apt (same archive host as the existing Debian sources) unless it already is.
enable_trixie_packages() {
  local archive
  if ! apt-cache policy 2>/dev/null | grep -q 'n=trixie'; then
    archive=$(sed -nE 's/^URIs:[[:space:]]*(\S*debian)\/?$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
    [ -n "$archive" ] || archive=$(sed -nE 's/^deb[[:space:]]+(\S*debian)\/?[[:space:]]+bookworm[[:space:]].*/\1/p' /etc/apt/sources.list 2>/dev/null | head -n1)
    [ -n "$archive" ] || archive=http://deb.debian.org/debian
    cat >/etc/apt/sources.list.d/cloudapp-trixie.sources <<SRC
Types: deb
URIs: $archive
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
    cat >/etc/apt/preferences.d/cloudapp-trixie <<PIN
Package: *
Pin: release n=trixie
Pin-Priority: 100
PIN
  fi
  apt-get update -qq
}

# Installs the named packages from trixie. Only they come from there ("name/trixie"): their dependencies
# keep their Debian 12 versions wherever those satisfy them ("-t trixie" would move libc6 and more).
install_from_trixie() {
  local names=()
  for p in "$@"; do names+=("$p/trixie"); done
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${names[@]}" >/dev/null
}
