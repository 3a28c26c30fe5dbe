#!/usr/bin/env bash
# Executed instructions per emulation, library entry to exit (callgrind counts
# instructions inside WHvEmulatorTryMmioEmulation, callbacks included; the
# bench's callbacks are a few dozen instructions each).
# usage: bench/callgrind.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
exe="$build/bench/bench_emulate"
iters=2000
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for s in mov_load mov_store alu_rmw rep_movsb64; do
  valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$s" \
    --toggle-collect=WHvEmulatorTryMmioEmulation "$exe" "$s" "$iters" >/dev/null 2>"$tmp/log.$s"
  total=$(grep -E '^(summary|totals):' "$tmp/cg.$s" | head -1 | awk '{print $2}')
  printf '%-12s %8d instructions per emulation\n' "$s" $(( total / iters ))
done
