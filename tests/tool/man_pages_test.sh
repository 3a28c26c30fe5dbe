#!/bin/sh
# man_pages_test.sh - every exported function (the four WHvEmulator* entry
# points and each whvemu_* function include/whvemu.h declares) has its page
# docs/man/NAME.3, the tool has whvemu.1, and each page's .TH line names its
# file and section.
#
# usage: man_pages_test.sh SOURCE_DIR
set -u
src=$1
fails=0
funcs=$(printf '%s\n' WHvEmulatorCreateEmulator WHvEmulatorDestroyEmulator \
    WHvEmulatorTryIoEmulation WHvEmulatorTryMmioEmulation
    grep -o 'whvemu_[a-z0-9_]*(' "$src/include/whvemu.h" | tr -d '(' | sort -u)
for f in $funcs; do
    [ -f "$src/docs/man/$f.3" ] || { echo "FAIL: no man page docs/man/$f.3"; fails=$((fails + 1)); }
done
[ -f "$src/docs/man/whvemu.1" ] || { echo "FAIL: no docs/man/whvemu.1"; fails=$((fails + 1)); }
for page in "$src"/docs/man/*.[13]; do
    base=$(basename "$page")
    name=${base%.*} section=${base##*.}
    head -n 1 "$page" | grep -q "^\.TH $name $section " ||
        { echo "FAIL: $base does not start with .TH $name $section"; fails=$((fails + 1)); }
done
[ $fails -eq 0 ] || exit 1
echo "ok: man pages for" $funcs
