#!/usr/bin/env bash
# Sets up everything and runs the whole test suite twice: a -Werror build
# and an AddressSanitizer + UndefinedBehaviorSanitizer build.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-deps.sh

jobs=$(nproc 2>/dev/null || echo 2)
run_suite() {
  local dir=$1; shift
  echo "== building $dir ($*)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHVEMU_WERROR=ON "$@" >/dev/null
  cmake --build "$dir" -j "$jobs"
  echo "== testing $dir"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs"
}

run_suite build-werror
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
  run_suite build-asan -DWHVEMU_SANITIZE=ON
echo "== all test suites passed"
