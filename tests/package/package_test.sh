#!/bin/sh
# package_test.sh - installs the built tree into a temporary prefix, then
# configures, builds and runs tests/package (find_package(whvemu), one
# program per imported target) against it.
#
# usage: package_test.sh CMAKE BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CC [C_FLAGS]
set -u
if [ $# -lt 6 ]; then
    echo "usage: $0 CMAKE BUILD_DIR SOURCE_DIR WORK_DIR GENERATOR CC [C_FLAGS]" >&2
    exit 2
fi
cmake=$1 build=$2 src=$3 work=$4 generator=$5 cc=$6 cflags=${7:-}

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

rm -rf "$work"
mkdir -p "$work" || exit 1
prefix="$work/prefix"
"$cmake" --install "$build" --prefix "$prefix" >"$work/install.log" 2>&1 || {
    cat "$work/install.log" >&2
    fail "cmake --install failed"
}
config=$(find "$prefix" -name whvemuConfig.cmake | head -n 1)
[ -n "$config" ] || fail "no whvemuConfig.cmake was installed"
echo "installed: ${config#"$prefix"/}"
for f in bin/whvemu bin/whvemu-demo share/man/man1/whvemu.1 share/man/man3/whvemu_get_last_diagnostics.3 \
         share/man/man3/WHvEmulatorTryMmioEmulation.3; do
    [ -e "$prefix/$f" ] || fail "$f was not installed"
done

"$cmake" -S "$src" -B "$work/consumer" -G "$generator" -DCMAKE_C_COMPILER="$cc" \
    -DCMAKE_C_FLAGS="$cflags" -DCMAKE_PREFIX_PATH="$prefix" >"$work/configure.log" 2>&1 || {
    cat "$work/configure.log" >&2
    fail "the consumer project did not configure with find_package(whvemu)"
}
"$cmake" --build "$work/consumer" >"$work/build.log" 2>&1 || {
    cat "$work/build.log" >&2
    fail "the consumer project did not build"
}
version=$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$(dirname "$config")/whvemuConfigVersion.cmake")
[ -n "$version" ] || fail "no PACKAGE_VERSION in whvemuConfigVersion.cmake"
for kind in shared static; do
    "$work/consumer/consumer_$kind" "$version" || fail "consumer_$kind failed"
done
if command -v ldd >/dev/null 2>&1; then
    ldd "$work/consumer/consumer_shared" | grep -q "libwhvemu\.so.*$prefix" ||
        fail "consumer_shared does not load the installed libwhvemu.so"
    if ldd "$work/consumer/consumer_static" | grep -q "libwhvemu\.so"; then
        fail "consumer_static loads libwhvemu.so"
    fi
fi
echo "ok: find_package(whvemu) $version with whvemu::whvemu and whvemu::whvemu_static"
