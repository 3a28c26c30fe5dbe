#!/bin/sh
# compare_probe.sh - compares the binary interface of our headers with
# mingw-w64's WinHvEmulation headers, without running any Windows program.
#
# probe.c is compiled to assembly three times:
#   sdk      x86_64-w64-mingw32-gcc, mingw-w64's <windows.h> + <winhvemulation.h>
#   native   the native C compiler, our include/ directory
#   win64    x86_64-w64-mingw32-gcc, our include/ directory (its _WIN32 branch)
# asmvalues turns each into a sorted list of "key = value" lines, and the
# native and win64 lists must equal the sdk list, line for line.
#
# usage: compare_probe.sh [--expect-skew] ASMVALUES MINGW_CC NATIVE_CC PROBE_C INCLUDE_DIR WORK_DIR
#   --expect-skew  self-test: the native build gets -DWHVABI_SELFTEST_SKEW,
#                  which changes exactly one value; succeed only if the
#                  comparison reports exactly that difference.
set -u

expect_skew=0
if [ "${1:-}" = "--expect-skew" ]; then
    expect_skew=1
    shift
fi
if [ $# -ne 6 ]; then
    echo "usage: $0 [--expect-skew] ASMVALUES MINGW_CC NATIVE_CC PROBE_C INCLUDE_DIR WORK_DIR" >&2
    exit 2
fi
asmvalues=$1 mingw_cc=$2 native_cc=$3 probe=$4 incdir=$5 work=$6

# The smallest list accepted; the probe currently defines about 940 entries.
min_entries=150

case "$mingw_cc" in
    ""|*-NOTFOUND) mingw_cc=$(command -v x86_64-w64-mingw32-gcc 2>/dev/null || true) ;;
esac
if [ -z "$mingw_cc" ] || ! command -v "$mingw_cc" >/dev/null 2>&1; then
    echo "FAIL: x86_64-w64-mingw32-gcc was not found, so our headers cannot be compared" >&2
    echo "      with mingw-w64's. Run scripts/setup-deps.sh (it installs the Debian" >&2
    echo "      packages gcc-mingw-w64-x86-64 and mingw-w64-x86-64-dev), then reconfigure." >&2
    exit 1
fi

mkdir -p "$work" || exit 1
flags="-std=c11 -O2 -S -Wall -Wextra -Werror"
native_extra=""
[ $expect_skew -eq 1 ] && native_extra="-DWHVABI_SELFTEST_SKEW"

run() {
    # run NAME COMPILER ARGS... : compile probe.c to $work/NAME.s, parse it
    # into $work/NAME.txt (sorted).
    name=$1
    shift
    # shellcheck disable=SC2086
    if ! "$@" $flags "$probe" -o "$work/$name.s"; then
        echo "FAIL: the $name probe did not compile: $*" >&2
        exit 1
    fi
    if ! "$asmvalues" "$work/$name.s" > "$work/$name.unsorted"; then
        echo "FAIL: could not read the values of the $name probe from $work/$name.s" >&2
        exit 1
    fi
    LC_ALL=C sort "$work/$name.unsorted" > "$work/$name.txt" || exit 1
    count=$(wc -l < "$work/$name.txt")
    if [ "$count" -lt "$min_entries" ]; then
        echo "FAIL: only $count values in the $name probe (at least $min_entries expected)" >&2
        exit 1
    fi
}

run sdk "$mingw_cc" -DWHVABI_SDK_HEADERS
# shellcheck disable=SC2086
run native "$native_cc" -I"$incdir" $native_extra
run win64 "$mingw_cc" -I"$incdir"

status=0
if [ $expect_skew -eq 1 ]; then
    diff "$work/sdk.txt" "$work/native.txt" > "$work/skew.diff"
    changed=$(grep -c '^[<>]' "$work/skew.diff")
    if [ "$changed" -eq 2 ] && grep -q '^> meta skew = 0x0000000000000001 ' "$work/skew.diff"; then
        echo "ok: the comparison reports the one value that was changed on purpose"
        exit 0
    fi
    echo "FAIL: expected exactly one difference (meta skew), got:" >&2
    cat "$work/skew.diff" >&2
    exit 1
fi

for side in native win64; do
    if ! diff -u "$work/sdk.txt" "$work/$side.txt" > "$work/$side.diff"; then
        echo "FAIL: our headers ($side build) differ from mingw-w64's (- mingw, + ours):" >&2
        cat "$work/$side.diff" >&2
        status=1
    fi
done
if [ $status -eq 0 ]; then
    echo "ok: $(wc -l < "$work/sdk.txt") values identical (mingw-w64 headers vs ours, native and win64)"
fi
exit $status
