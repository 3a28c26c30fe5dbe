#!/usr/bin/env bash
# Executed instructions per emulation, library entry to exit, the bench's
# callbacks included. Measured as the difference between two callgrind runs
# of N and 2N iterations, so start-up and set-up costs cancel out.
# usage: bench/callgrind.sh [BUILD_DIR] [--ram] [--harness] [SCENARIO...]
# --harness: the bench's loop and callbacks alone (bench_emulate --harness).
set -euo pipefail
build=${1:-build}
shift || true
ram=
if [ "${1:-}" = --ram ]; then ram=--ram; shift; fi
harness=
if [ "${1:-}" = --harness ]; then harness=--harness; shift; fi
exe="$build/bench/bench_emulate"
n=1000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
count() {
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg" "$exe" $ram $harness "$1" "$2" >/dev/null 2>&1
  grep -E '^(summary|totals):' "$tmp/cg" | head -1 | awk '{print $2}'
}
if [ $# -eq 0 ]; then
  set -- $("$exe" --list | cut -f1)
fi
for s in "$@"; do
  a=$(count "$s" "$n")
  b=$(count "$s" $((2 * n)))
  printf '%-18s %-4s %8d instructions per emulation\n' "$s" "${ram:2:3}" $(( (b - a) / n ))
done
