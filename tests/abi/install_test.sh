#!/bin/sh
# install_test.sh - installs the built tree into a temporary prefix, checks
# the installed files, then builds and runs install_client.c using only the
# flags pkg-config gives for whvemu.
#
# usage: install_test.sh CMAKE BUILD_DIR LIBDIR INCLUDEDIR CC CLIENT_C WORK_DIR [CFLAGS...]
#   LIBDIR and INCLUDEDIR are GNUInstallDirs' CMAKE_INSTALL_LIBDIR and
#   CMAKE_INSTALL_INCLUDEDIR (relative to the prefix).
set -u

if [ $# -lt 7 ]; then
    echo "usage: $0 CMAKE BUILD_DIR LIBDIR INCLUDEDIR CC CLIENT_C WORK_DIR [CFLAGS...]" >&2
    exit 2
fi
cmake=$1 build=$2 libdir=$3 includedir=$4 cc=$5 client=$6 work=$7
shift 7

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

case "$libdir$includedir" in
    /*) fail "CMAKE_INSTALL_LIBDIR/INCLUDEDIR are absolute; this test needs them relative to the prefix" ;;
esac

pkgconfig=$(command -v pkg-config 2>/dev/null || command -v pkgconf 2>/dev/null) ||
    fail "pkg-config not found; run scripts/setup-deps.sh"

mkdir -p "$work" || exit 1
prefix=$(mktemp -d "$work/prefix.XXXXXX") || exit 1
trap 'rm -rf "$prefix"' EXIT

"$cmake" --install "$build" --prefix "$prefix" > "$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    fail "cmake --install failed"
}

for f in WinHvEmulation.h WinHvPlatformDefs.h whvemu.h; do
    [ -f "$prefix/$includedir/whvemu/$f" ] || fail "$includedir/whvemu/$f was not installed"
done
for f in libwhvemu.a libwhvemu.so pkgconfig/whvemu.pc; do
    [ -f "$prefix/$libdir/$f" ] || fail "$libdir/$f was not installed"
done

# whvemu.pc records the configured prefix; redefine it so the paths point
# into the temporary prefix (every other path in the file derives from it).
pc() {
    PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" "$pkgconfig" --define-variable=prefix="$prefix" "$@" whvemu
}
flags=$(pc --cflags --libs) || fail "pkg-config does not know whvemu"
version=$(pc --modversion) || fail "pkg-config --modversion whvemu failed"
case "$flags" in
    *"$prefix/$includedir/whvemu"*) ;;
    *) fail "pkg-config --cflags does not point at the installed headers: $flags" ;;
esac

# shellcheck disable=SC2086
"$cc" -std=c11 -Wall -Wextra -Werror "$@" "$client" $flags -o "$work/install_client" ||
    fail "the client did not build with: $cc $* $client $flags"

export LD_LIBRARY_PATH="$prefix/$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if command -v ldd >/dev/null 2>&1; then
    ldd "$work/install_client" | grep -q "libwhvemu\.so.*$prefix/$libdir" ||
        fail "the client does not load the installed libwhvemu.so: $(ldd "$work/install_client")"
fi
"$work/install_client" "$version" || fail "the installed library did not work"
