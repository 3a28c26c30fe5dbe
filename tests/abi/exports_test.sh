#!/bin/sh
# exports_test.sh - the shared library must export exactly the four
# WHvEmulator* functions, plus our own whvemu_* extensions, and nothing else.
#
# usage: exports_test.sh NM LIBRARY
set -u
if [ $# -ne 2 ]; then
    echo "usage: $0 NM LIBRARY" >&2
    exit 2
fi
nm=$1 lib=$2
[ -n "$nm" ] || nm=nm

symbols=$("$nm" -D --defined-only "$lib" | awk 'NF >= 3 { sub(/@.*/, "", $3); print $3 }' | sort -u) || {
    echo "FAIL: $nm -D --defined-only $lib failed" >&2
    exit 1
}

status=0
for s in WHvEmulatorCreateEmulator WHvEmulatorDestroyEmulator WHvEmulatorTryIoEmulation \
         WHvEmulatorTryMmioEmulation whvemu_version whvemu_last_failure whvemu_set_xstate_callback \
         whvemu_set_rep_limit whvemu_set_guest_ram; do
    if ! printf '%s\n' "$symbols" | grep -qx "$s"; then
        echo "FAIL: $s is not exported" >&2
        status=1
    fi
done
unexpected=$(printf '%s\n' "$symbols" | grep -v -x -e WHvEmulatorCreateEmulator \
    -e WHvEmulatorDestroyEmulator -e WHvEmulatorTryIoEmulation -e WHvEmulatorTryMmioEmulation \
    -e 'whvemu_[A-Za-z0-9_]*')
if [ -n "$unexpected" ]; then
    echo "FAIL: unexpected exported symbols:" >&2
    printf '  %s\n' $unexpected >&2
    status=1
fi
if [ $status -eq 0 ]; then
    echo "ok: exports are" $symbols
fi
exit $status
