#!/bin/sh
# tool_test.sh - the whvemu tool's interface: --help and --version on
# stdout with status 0, usage errors with status 2 on stderr, registers,
# translate flags, result codes and status bits by name in `run`, the
# diagnostics of a refused instruction, and `decode`.
#
# usage: tool_test.sh WHVEMU EXPECTED_VERSION WORK_DIR
set -u
tool=$1 version=$2 work=$3
mkdir -p "$work" || exit 1
fails=0
fail() {
    echo "FAIL: $*"
    fails=$((fails + 1))
}
# expect NAME STATUS PATTERN... : the last run's status and stdout.
run() {
    "$tool" "$@" >"$work/out" 2>"$work/err"
    status=$?
}
has() {
    grep -q -e "$1" "$work/out" || { fail "$label: stdout lacks '$1'"; sed 's/^/  | /' "$work/out"; }
}

label="--help"; run --help
[ $status -eq 0 ] || fail "$label exits $status"
has "whvemu decode"; has "whvemu run"; has "whvemu coverage"; has "whvemu --version"
[ -s "$work/err" ] && fail "$label writes to stderr"

label="--version"; run --version
[ $status -eq 0 ] || fail "$label exits $status"
[ "$(cat "$work/out")" = "whvemu $version" ] || fail "$label prints '$(cat "$work/out")'"

label="no arguments"; run
[ $status -eq 2 ] || fail "$label exits $status"
grep -q "usage:" "$work/err" || fail "$label prints no usage on stderr"

label="unknown command"; run frobnicate
[ $status -eq 2 ] || fail "$label exits $status"

label="unknown register"; run run 48 8b 03 rbq=1
[ $status -eq 2 ] || fail "$label exits $status"

label="run mov rax, [rbx]"; run run 48 8b 03 Rbx=0x7f0000001000
[ $status -eq 0 ] || fail "$label exits $status"
has "get_regs .* n=1: Rbx$"
has "set_regs .* Rax=0 Rip=401003$"
has "status=0x001 EmulationSuccessful$"
has "round trip: ok"

label="run rep movsb, bytes fetched"
run run f3 a4 rcx=2 rsi=0x500000 rdi=0x7f0000001000 --no-bytes
[ $status -eq 0 ] || fail "$label exits $status"
has "flags=WHvTranslateGvaFlagValidateExecute|WHvTranslateGvaFlagSetPageTableBits result=WHvTranslateGvaResultSuccess"
has "flags=WHvTranslateGvaFlagValidateWrite|WHvTranslateGvaFlagSetPageTableBits"
has "Rcx=0 Rsi=500002 Rdi=7f0000001002 Rip=401002"

label="run cpuid (refused)"; run run 0f a2
[ $status -eq 1 ] || fail "$label exits $status"
has "status=0x002 InternalEmulationFailure$"
has "diagnostics: WHVEMU_DIAG_NOT_EMULATED, mode long64, bytes 0f a2: instruction not emulated"

label="run a #GP"; run run 8b 03 rbx=0x8000000000000000
[ $status -eq 0 ] || fail "$label exits $status"
has "PendingInterruption="
has "diagnostics: WHVEMU_DIAG_FAULT_INJECTED, mode long64, mov, bytes 8b 03, vector 13 error code 0x0"

label="decode"; run decode 48 8b 44 24 08
[ $status -eq 0 ] || fail "$label exits $status"
has "mnemonic:   mov"
has "registers:  rsp"

if [ $fails -ne 0 ]; then
    echo "$fails check(s) failed"
    exit 1
fi
echo "ok: whvemu tool interface"
