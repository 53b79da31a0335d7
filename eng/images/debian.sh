# shellcheck shell=bash
# Sourced by eng/images/build.sh; uses its settings (SUITE, PROMETHEUS_SUITE, KEYRING) and helpers (say, die).
# The Debian side of the image builds: where packages come from, and a package index private to each run.

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
