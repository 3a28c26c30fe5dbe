#!/bin/sh
# Runs WinHvEmulation.dll under Wine: builds tests/windows/wine_client.c with
# mingw-w64 against mingw-w64's own <winhvemulation.h>, puts it beside the
# DLL that the windows_dll test cross-built, and runs it in a Wine prefix of
# its own. The client loads the DLL by name (LoadLibrary + GetProcAddress)
# and checks a set of MMIO, string, port I/O and fault emulations.
#
# Whatever keeps it from running (no mingw-w64, no DLL, no Wine, a prefix
# Wine cannot create) is a failure with the reason, never a skip.
#
# The prefix lives in WORK_DIR/prefix and is created once (Wine takes about
# 10-60 s for that); later runs reuse it. A prefix whose creation did not
# finish is made again.
#
# usage: wine_test.sh SOURCE_DIR DLL_DIR WORK_DIR
set -u
if [ $# -ne 3 ]; then
    echo "usage: $0 SOURCE_DIR DLL_DIR WORK_DIR" >&2
    exit 2
fi
src=$1
dll_dir=$2
work=$3

die() {
    echo "FAIL: $*"
    echo "0 passed, 1 failed"
    exit 1
}

cc=x86_64-w64-mingw32-gcc
command -v "$cc" >/dev/null 2>&1 ||
    die "$cc not found; run scripts/setup-deps.sh (package gcc-mingw-w64-x86-64)"
[ -f "$dll_dir/WinHvEmulation.dll" ] ||
    die "no $dll_dir/WinHvEmulation.dll: the windows_dll test builds it and did not"

# Wine: Debian 12 installs the 64-bit loader as /usr/lib/wine/wine64 (package
# wine64) and the wine/wineserver wrappers in /usr/bin (package wine); other
# systems have wine64 or wine on PATH. WHVEMU_WINE names another loader.
wine=""
if [ -n "${WHVEMU_WINE:-}" ]; then
    command -v "$WHVEMU_WINE" >/dev/null 2>&1 ||
        die "WHVEMU_WINE=$WHVEMU_WINE is not an executable program"
    wine=$(command -v "$WHVEMU_WINE")
else
    for w in "$(command -v wine64 2>/dev/null)" /usr/lib/wine/wine64 \
             "$(command -v wine 2>/dev/null)"; do
        if [ -n "$w" ] && [ -x "$w" ]; then
            wine=$w
            break
        fi
    done
fi
[ -n "$wine" ] ||
    die "Wine is not installed (no wine64 or wine); run scripts/setup-deps.sh (packages wine, wine64)"
wineserver=""
wdir=$(dirname "$wine")
for s in "$wdir/wineserver64" "$wdir/wineserver" "$(command -v wineserver 2>/dev/null)"; do
    if [ -n "$s" ] && [ -x "$s" ]; then
        wineserver=$s
        break
    fi
done
command -v timeout >/dev/null 2>&1 || die "timeout (coreutils) not found"

mkdir -p "$work/bin" || die "cannot create $work/bin"
work=$(cd "$work" && pwd) || die "cannot enter $work" # Wine wants an absolute prefix
cp "$dll_dir/WinHvEmulation.dll" "$work/bin/" || die "cannot copy the DLL to $work/bin"
if ! "$cc" -std=c11 -O2 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -o "$work/bin/wine_client.exe" "$src/tests/windows/wine_client.c" \
        >"$work/client-build.log" 2>&1; then
    cat "$work/client-build.log"
    die "the client does not build against mingw-w64's headers"
fi
# It must not import the DLL: it loads it by name at run time.
if x86_64-w64-mingw32-objdump -p "$work/bin/wine_client.exe" 2>/dev/null |
        grep -qi "DLL Name: WinHvEmulation.dll"; then
    die "the client imports WinHvEmulation.dll instead of loading it at run time"
fi

# A private, headless, quiet Wine: no dialogs, no Mono/Gecko installers.
WINEPREFIX="$work/prefix"
WINEARCH=win64
WINEDEBUG=-all
WINEDLLOVERRIDES="mscoree,mshtml="
export WINEPREFIX WINEARCH WINEDEBUG WINEDLLOVERRIDES
unset DISPLAY WAYLAND_DISPLAY
[ -n "${HOME:-}" ] || { HOME=$work; export HOME; }

stop_server() {
    [ -n "$wineserver" ] && "$wineserver" -k >/dev/null 2>&1
    return 0
}

ready="$WINEPREFIX/.whvemu-prefix-ready"
if [ ! -f "$ready" ]; then
    rm -rf "$WINEPREFIX"
    echo "creating the Wine prefix $WINEPREFIX (once; this takes a while)"
    start=$(date +%s)
    timeout 300 "$wine" wineboot --init >"$work/prefix.log" 2>&1
    rc=$?
    # wineboot returns before its helper processes end; wait for them.
    [ -n "$wineserver" ] && timeout 120 "$wineserver" -w >/dev/null 2>&1
    if [ $rc -ne 0 ] || [ ! -f "$WINEPREFIX/system.reg" ]; then
        tail -n 20 "$work/prefix.log"
        stop_server
        [ $rc -eq 124 ] && die "Wine did not create its prefix within 300 s ($wine)"
        die "Wine could not create its prefix (wineboot exit status $rc, $wine)"
    fi
    touch "$ready"
    echo "prefix ready in $(( $(date +%s) - start )) s"
fi

timeout 180 "$wine" "$work/bin/wine_client.exe" >"$work/client.out" 2>"$work/client.err"
rc=$?
stop_server
tr -d '\r' <"$work/client.out"
if [ $rc -eq 124 ]; then
    die "the client did not finish within 180 s under Wine"
fi
summary=$(tr -d '\r' <"$work/client.out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -z "$summary" ]; then
    cat "$work/client.err"
    die "the client printed no summary (exit status $rc): Wine could not run it"
fi
passed=${summary%% passed*}
failed=${summary#*, }
failed=${failed%% failed}
# The client has 22 cases; fewer means some were lost.
if [ $rc -ne 0 ] || [ "$failed" -ne 0 ] || [ "$passed" -lt 22 ]; then
    echo "FAIL: the client under Wine: exit status $rc, $summary"
    exit 1
fi
exit 0
