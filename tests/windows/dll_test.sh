#!/bin/sh
# Cross-builds WinHvEmulation.dll with mingw-w64 and checks that it is a
# drop-in: the exact export list, no runtime DLL beyond KERNEL32 and msvcrt,
# and a client built against mingw-w64's own SDK headers links against it.
# usage: dll_test.sh SOURCE_DIR WORK_DIR
set -eu
src=$1
work=$2
cc=x86_64-w64-mingw32-gcc
objdump=x86_64-w64-mingw32-objdump
if ! command -v "$cc" >/dev/null 2>&1; then
  echo "FAIL: $cc not found; run scripts/setup-deps.sh"
  exit 1
fi
rm -rf "$work"
cmake -S "$src" -B "$work" -DCMAKE_TOOLCHAIN_FILE="$src/cmake/mingw-w64-x86_64.cmake" \
  -DWHVEMU_WERROR=ON >"$work.log" 2>&1 || { cat "$work.log"; exit 1; }
cmake --build "$work" -j2 >>"$work.log" 2>&1 || { cat "$work.log"; exit 1; }
dll="$work/WinHvEmulation.dll"
[ -f "$dll" ] || { echo "FAIL: no WinHvEmulation.dll"; exit 1; }

fail=0
exports=$($objdump -p "$dll" | awk '/\[Ordinal\/Name Pointer\] Table/{t=1;next} t&&/^\t\[/{print $NF} t&&!/^\t\[/{t=0}' | sort)
# The four entry points and every whvemu_* function whvemu.h declares.
ext=$(grep -o 'whvemu_[a-z0-9_]*(' "$src/include/whvemu.h" | tr -d '(' | sort -u)
expected=$(printf '%s\n' WHvEmulatorCreateEmulator WHvEmulatorDestroyEmulator \
  WHvEmulatorTryIoEmulation WHvEmulatorTryMmioEmulation $ext | sort)
if [ "$exports" != "$expected" ]; then
  echo "FAIL: exports differ"; echo "got:"; echo "$exports"; fail=1
else
  echo "ok: exports are exactly the four WHvEmulator* functions and whvemu_*"
fi
imports=$($objdump -p "$dll" | awk '/DLL Name:/{print $3}' | sort -u)
for d in $imports; do
  case "$d" in
    KERNEL32.dll|msvcrt.dll) ;;
    *) echo "FAIL: depends on $d"; fail=1 ;;
  esac
done
[ $fail -eq 0 ] && echo "ok: imports only: $(echo $imports)"

if $cc -std=c11 -Wall -Wextra -Werror -o "$work/client_sdk.exe" "$src/tests/windows/client_sdk.c" \
    -L"$work" -lWinHvEmulation; then
  if $objdump -p "$work/client_sdk.exe" | grep -q "DLL Name: WinHvEmulation.dll"; then
    echo "ok: a client built against the SDK headers links to WinHvEmulation.dll"
  else
    echo "FAIL: the client does not import WinHvEmulation.dll"; fail=1
  fi
else
  echo "FAIL: the SDK-header client does not build"; fail=1
fi
if [ $fail -eq 0 ]; then echo "3 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
