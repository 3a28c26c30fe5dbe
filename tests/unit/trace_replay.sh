#!/bin/sh
# trace_replay.sh - `whvemu replay` on a recording of known exits
# (test_trace --sample): the untouched recording replays exactly (exit 0);
# each tampered copy is reported at the line where the emulator's behaviour
# first departs from it (exit 1), or as unreadable at the bad line (exit 2).
#
# The complete example in docs/trace-format.md must be that recording.
#
# usage: trace_replay.sh WHVEMU TEST_TRACE WORKDIR FORMAT_DOC
set -u
whvemu=$1 sample=$2 dir=$3 doc=$4
mkdir -p "$dir" || exit 2
rec=$dir/sample.trace
"$sample" --sample "$rec" || { echo "FAIL: cannot write the sample recording"; exit 1; }
pass=0 fail=0

# expect NAME FILE STATUS TEXT: replay FILE, want exit STATUS and TEXT in
# the output.
expect() {
    name=$1 file=$2 want=$3 text=$4
    out=$("$whvemu" replay "$file" 2>&1)
    got=$?
    if [ "$got" -eq "$want" ] && printf '%s\n' "$out" | grep -qF -- "$text"; then
        echo "ok   $name"
        pass=$((pass + 1))
    else
        echo "FAIL $name: exit $got (want $want), output lacks '$text':"
        printf '%s\n' "$out" | tail -n 6 | sed 's/^/    /'
        fail=$((fail + 1))
    fi
}

# Line number of the nth line matching a regular expression.
nth_line() {
    grep -n -- "$1" "$rec" | sed -n "${2}p" | cut -d: -f1
}

expect replay_of_the_untouched_recording_matches "$rec" 0 "behaved exactly as recorded"

# A memory read answered differently: the emulator writes another RAX.
m=$(nth_line '^memory .*dir=0x0 size=0x4 data=44332211' 1)
s=$((m + 1))
sed "${m}s/data=44332211/data=44332299/" "$rec" >"$dir/memory.trace"
expect changed_memory_answer_diverges_at_the_register_write "$dir/memory.trace" 1 \
    "DIVERGENCE at line $s: the value written to Rax differs"

# A register read answered differently: the emulator reads another address.
g=$(nth_line '^get .*Rbx=0xf0010' 1)
sed "${g}s/Rbx=0xf0010/Rbx=0xf0018/" "$rec" >"$dir/register.trace"
expect changed_register_answer_diverges_at_the_memory_access "$dir/register.trace" 1 \
    "DIVERGENCE at line $((g + 1)): gpa differs: recorded 0xf0010, emulator 0xf0018"

# A recorded register write that the emulator does not make.
w=$(nth_line '^set .*Xmm1=' 1)
sed "${w}s/Xmm1=0xaf/Xmm1=0xbf/" "$rec" >"$dir/set.trace"
expect changed_128_bit_register_write_diverges_there "$dir/set.trace" 1 \
    "DIVERGENCE at line $w: the value written to Xmm1 differs"

# A port read answered differently: the emulator writes another AL.
i=$(nth_line '^io .*dir=0x0' 1)
sed "${i}s/data=0xb2/data=0xb3/" "$rec" >"$dir/port.trace"
expect changed_port_answer_diverges_at_the_register_write "$dir/port.trace" 1 \
    "DIVERGENCE at line $((i + 1)): the value written to Rax differs"

# The last record cut off: the emulator returns where the file has ended.
n=$(wc -l <"$rec")
head -n $((n - 1)) "$rec" >"$dir/truncated.trace"
expect truncated_recording_diverges_at_its_end "$dir/truncated.trace" 1 \
    "DIVERGENCE at line $n (end of recording): the recording ends before the call's result"

# Cut in the middle of a line: that line is unreadable.
head -c $(($(head -n 4 "$rec" | wc -c) + 20)) "$rec" >"$dir/cut.trace"
expect recording_cut_mid_line_is_unreadable_at_that_line "$dir/cut.trace" 2 \
    "cut.trace:5: "

# Another format version.
sed '1s/.*/whvemu-trace 2/' "$rec" >"$dir/version.trace"
expect other_format_version_is_refused_at_line_1 "$dir/version.trace" 2 \
    "version.trace:1: recording format 'whvemu-trace 2'"

# Not a recording at all.
printf 'hello\n' >"$dir/other.trace"
expect file_without_header_is_refused_at_line_1 "$dir/other.trace" 2 \
    "other.trace:1: not a whvemu recording"

# An extra callback recorded that the emulator does not make.
e=$(nth_line '^result ' 1)
sed "${e}i translate gva=0x401000 flags=0x1 hr=0x0 result=0x0 gpa=0x401000" "$rec" \
    >"$dir/extra.trace"
expect missing_callback_diverges_at_the_recorded_one "$dir/extra.trace" 1 \
    "DIVERGENCE at line $e: the recording has a translate record, the emulator made no further call"

# Unknown field: refused, not ignored.
sed "${g}s/\$/ bogus=0x1/" "$rec" >"$dir/field.trace"
expect unknown_field_is_refused "$dir/field.trace" 2 "field.trace:$g: unknown field 'bogus'"

# The format document's complete example is the sample, and replays.
awk '/^## A complete example/ { on = 1; next }
     on && /^```/ { if (inside) exit; inside = 1; next }
     inside { print }' "$doc" >"$dir/doc.trace"
if cmp -s "$dir/doc.trace" "$rec"; then
    echo "ok   format_document_example_is_the_sample_recording"
    pass=$((pass + 1))
else
    echo "FAIL format_document_example_is_the_sample_recording:"
    diff "$dir/doc.trace" "$rec" | head -n 10 | sed 's/^/    /'
    fail=$((fail + 1))
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
