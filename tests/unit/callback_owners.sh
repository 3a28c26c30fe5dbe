#!/bin/sh
# Each callback has one owner in src/: the memory and translate callbacks
# mem.c, the register callbacks vcpu.c, the port callback io.c. trace.c is
# not an owner: its forwarders only pass on, while recording, the calls the
# owners make (they are what the owners call then).
# usage: callback_owners.sh SRC_DIR
set -u
src=$1
fail=0
check() {
  cb=$1 owner=$2
  users=$(grep -l "cb\.$cb" "$src"/*.c | grep -v '/trace\.c$' | xargs -n1 basename | sort -u | tr '\n' ' ')
  if [ "$users" != "$owner " ]; then
    echo "FAIL: $cb is called from: $users(only $owner may)"
    fail=$((fail + 1))
  else
    echo "ok: $cb only in $owner"
  fi
}
check WHvEmulatorMemoryCallback mem.c
check WHvEmulatorTranslateGvaPage mem.c
check WHvEmulatorGetVirtualProcessorRegisters vcpu.c
check WHvEmulatorSetVirtualProcessorRegisters vcpu.c
check WHvEmulatorIoPortCallback io.c
echo "$((5 - fail)) passed, $fail failed"
[ $fail -eq 0 ]
