#!/bin/sh
# Runs a libFuzzer build of fuzz_emulate from the seed corpus.
#   run_libfuzzer.sh BINARY SECONDS WORKDIR [libFuzzer options...]
# New inputs go to WORKDIR/corpus (the seeds in the source tree are only
# read), findings to WORKDIR/. SECONDS 0 runs until stopped. Exits non-zero
# on a finding. Inputs that run faster get more mutations
# (-entropic_scale_per_exec_time): long REP loops add little coverage.
set -eu
bin=$1 secs=$2 work=$3
shift 3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work/corpus"
exec "$bin" -max_total_time="$secs" -dict="$here/fuzz.dict" -max_len=512 \
  -entropic_scale_per_exec_time=1 \
  -artifact_prefix="$work/" -print_final_stats=1 "$@" "$work/corpus" "$here/corpus"
