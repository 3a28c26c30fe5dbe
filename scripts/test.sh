#!/usr/bin/env bash
# Sets up everything and runs the whole test suite: a -Werror build (with
# Valgrind memcheck over the unit, threads, fuzz and differential tests), an
# AddressSanitizer + UndefinedBehaviorSanitizer build, and a clang build for
# a short libFuzzer run of the library (UBSan, and ASan + UBSan) and the
# ThreadSanitizer threads test.
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

run_suite build-werror -DWHVEMU_MEMCHECK=ON
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ASAN_OPTIONS=detect_leaks=1 \
  run_suite build-asan -DWHVEMU_SANITIZE=ON

# libFuzzer and ThreadSanitizer need clang and its runtimes (setup-deps
# installs them); only the tests labelled clang are built and run.
if command -v clang >/dev/null 2>&1 &&
   echo 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' |
     clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
  echo "== building build-clang (libFuzzer, ThreadSanitizer)"
  CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWHVEMU_WERROR=ON \
    -DWHVEMU_LIBFUZZER=ON -DWHVEMU_TSAN=ON -DWHVEMU_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build build-clang -j "$jobs" --target fuzz_emulate_libfuzzer \
    fuzz_emulate_libfuzzer_asan test_threads_tsan test_walk_tsan test_ram_threads_tsan
  echo "== testing build-clang"
  ctest --test-dir build-clang --output-on-failure -j "$jobs" -L clang
else
  echo "== FAIL: clang with libFuzzer is not available, so the libFuzzer and ThreadSanitizer"
  echo "   tests cannot run. Install it: sudo apt-get install -y clang clang-14 libclang-rt-14-dev llvm-14"
  exit 1
fi
echo "== all test suites passed"
