#!/usr/bin/env bash
# Makes sure Native AOT can link the linux-x64 ComputeApi image: a C compiler driver (clang or gcc) and
# zlib's headers. Where both are present nothing is touched; on Debian, as root, they are installed.
set -euo pipefail

say() { printf '[ensure-native-toolchain] %s\n' "$*" >&2; }

if { command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1; } && [ -e /usr/include/zlib.h ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "Native AOT needs clang (or gcc) and zlib's headers (zlib1g-dev); install them and run again."
  exit 1
fi
say "installing clang and zlib1g-dev for Native AOT"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang zlib1g-dev >/dev/null
