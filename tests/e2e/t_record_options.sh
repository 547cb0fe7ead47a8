# record's options do what they say: -e with the PMU fallback, -c, -C, --no-kernel, -z,
# -o; and every command answers --help.
. "$TOP/tests/e2e/lib.sh"
need_root
for cmd in record fold flamegraph diff callgraph report info script export; do
	$PS $cmd --help > help.txt || fail "$cmd --help failed"
	grep -q "usage: perfsample $cmd" help.txt || fail "$cmd --help lacks a usage line"
done
$PS --help | grep -q flamegraph || fail "perfsample --help lacks the commands"

# cycles: sampled by the PMU where there is one, else cpu-clock with a notice.
$PS record -e cycles -o cyc.data -- "$TOP/examples/split" 0.3 >/dev/null 2>err.txt || fail "record -e cycles"
if ls /sys/bus/event_source/devices/cpu >/dev/null 2>&1; then
	$PS info -i cyc.data | grep -q '^event *cycles' || fail "-e cycles not recorded as cycles"
else
	grep -q 'no hardware PMU' err.txt || { cat err.txt; fail "no notice of the cpu-clock fallback"; }
	$PS info -i cyc.data | grep -q '^event *cpu-clock' || fail "fallback not recorded as cpu-clock"
fi
$PS record -q -e task-clock -F 199 -o task.data -- "$TOP/examples/split" 0.3 >/dev/null || fail "-e task-clock"
$PS info -i task.data | grep -q '^event *task-clock' || fail "task-clock not in the header"

# -c: a sample every 1,000,000 ns of cpu-clock: about 1000 per CPU second, at most 500 in
# 0.5 s of wall time (fewer when other work shares the CPUs), each weighing exactly 1 ms.
$PS record -q -c 1000000 -g -o period.data -- "$TOP/examples/split" 0.5 >/dev/null || fail "-c"
n=$(info_field period.data samples)
[ "$n" -gt 20 ] && [ "$n" -lt 700 ] || fail "-c 1000000 over 0.5 s gave $n samples"
$PS fold -i period.data --period | awk -v n="$n" '{ s += $NF } END { exit !(s == 1000000 * n) }' ||
	fail "--period does not weight each of the $n samples by the period 1000000"

# -C: only CPU 0 is sampled.
$PS record -q -a -C 0 -d 0.5 -o cpu0.data || fail "-C 0"
$PS script -i cpu0.data | awk '/^[^\t]/ && /\[[0-9]+\]/ { if ($0 !~ /\[000\]/) bad++ } END { exit bad > 0 }' ||
	fail "-C 0 recorded other CPUs"
expect_error "invalid CPU list" $PS record -a -C 0-x -d 1

# --no-kernel: no kernel frames.
$PS record -q -F 999 -g --no-kernel -o user.data -- "$TOP/examples/split" 0.5 >/dev/null || fail "--no-kernel"
$PS fold -i user.data --kernel | grep -q '_\[k\]' && fail "--no-kernel recorded kernel frames"
$PS record -q -F 999 -g -z 19 -o z.data -- "$TOP/examples/split" 0.3 >/dev/null || fail "-z 19"
[ "$(info_field z.data complete)" = yes ] || fail "-z trace incomplete"
# -F above kernel.perf_event_max_sample_rate: a notice and the highest allowed rate, not
# the kernel's bare "Invalid argument" (the limit is lowered for this test and restored).
max=/proc/sys/kernel/perf_event_max_sample_rate
old=$(cat $max)
trap 'echo $old > $max' EXIT
echo 2000 > $max
$PS record -q -F 5000 -o clamp.data -- "$TOP/examples/split" 0.3 >/dev/null 2>clamp.err ||
	fail "record -F above the kernel's limit failed: $(cat clamp.err)"
echo $old > $max
grep -q "above kernel.perf_event_max_sample_rate; sampling at 2000 Hz" clamp.err ||
	fail "no notice of the clamped rate: $(cat clamp.err)"
[ "$($PS info -i clamp.data | awk '$1 == "freq" { print $2 }')" = 2000 ] || fail "freq not 2000"
# -o - is refused clearly (it used to write a file named '-').
expect_error "give a file name"  $PS record -q -o - -- true
[ ! -e ./- ] || fail "a file named '-' was written"
exit 0
