#!/usr/bin/env bash
# Executed instructions per emulation, library entry to exit, callbacks
# included (the bench's callbacks are a few dozen instructions each).
# Measured as the difference between two callgrind runs of N and 2N
# iterations, so start-up and set-up costs cancel out.
# usage: bench/callgrind.sh [BUILD_DIR]
set -euo pipefail
build=${1:-build}
exe="$build/bench/bench_emulate"
n=2000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$exe" "$1" "$2" >/dev/null 2>&1
  grep -E '^(summary|totals):' "$tmp/cg" | head -1 | awk '{print $2}'
}
for s in mov_load mov_store alu_rmw rep_movsb64; do
  a=$(count "$s" "$n")
  b=$(count "$s" $((2 * n)))
  printf '%-12s %8d instructions per emulation\n' "$s" $(( (b - a) / n ))
done
