#!/usr/bin/env bash
# Installs the Debian packages whvemu needs to build, test and run its demo.
# Safe to run again: apt-get skips what is already installed.
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config   # the library, the demo and the tests
  libzydis-dev                       # decoder oracle (tests only)
  gcc-mingw-w64-x86-64 mingw-w64-x86-64-dev  # ABI probe against the SDK-style headers (tests only)
  valgrind                           # memcheck runs and the instruction-count benchmark
  clang clang-14 libclang-rt-14-dev llvm-14  # libFuzzer, ThreadSanitizer, coverage (tests only)
  libc6-dbg                          # names of the C library's string implementations (demo tests)
  wine wine64                        # runs the Windows DLL and its test client (tests only)
)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-deps: all packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup-deps: installed ${missing[*]}"
