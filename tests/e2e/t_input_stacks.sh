# Other tools' stacks: `fold --input pmcstat` prints what FlameGraph's stackcollapse-pmc.pl
# prints (merged and sorted, as flamegraph.pl reads it) and `fold --input dtrace` what
# stackcollapse.pl prints, byte for byte, for the inputs in tests/data/stacks (see its
# README for how the expected files were made); every renderer takes the same input.
. "$TOP/tests/e2e/lib.sh"
data="$TOP/tests/data/stacks"
n=0
for fmt in pmcstat dtrace; do
	for input in "$data"/$fmt-*.txt; do
		expect="${input%.txt}.collapsed"
		$PS fold --input $fmt "$input" >got.txt || fail "fold --input $fmt $input failed"
		cmp -s "$expect" got.txt || { diff "$expect" got.txt | head -5; fail "$(basename "$input") differs"; }
		n=$((n + 1))
	done
done
[ "$n" -ge 4 ] || fail "only $n inputs found"
# stdin is the default file
$PS fold --input dtrace <"$data/dtrace-edge.txt" >stdin.txt || fail "stdin"
cmp -s "$data/dtrace-edge.collapsed" stdin.txt || fail "dtrace from stdin differs"

# --kernel marks pmcstat's kernel frames (the kernel image and its modules).
$PS fold --input pmcstat --kernel "$data/pmcstat-graph.txt" >k.txt || fail "fold --kernel"
grep -qx 'fork_exit_\[k\];sched_idletd_\[k\];cpu_idle_\[k\] 60' k.txt || { cat k.txt; fail "kernel frames not marked"; }
grep -qx 'main;0x4a2b10;memcpy 10' k.txt || fail "user frames marked as kernel"

# The renderers: a flame graph, a call graph with modules, a report, an export.
$PS flamegraph --input pmcstat "$data/pmcstat-graph.txt" >p.svg || fail "flamegraph"
grep -q '<title>fork_exit (61 samples' p.svg || fail "flame graph lacks fork_exit's 61 samples"
$PS callgraph --input dtrace "$data/dtrace-example.txt" >d.dot || fail "callgraph"
grep -q 'genunix`fop_lookup' d.dot || fail "call graph lacks genunix\`fop_lookup"
$PS report --input pmcstat "$data/pmcstat-graph.txt" >r.txt || fail "report"
grep -Eq '^ +42\.48% +42\.48% +65 +libc\.so\.7 +memcpy$' r.txt || { cat r.txt; fail "report: memcpy"; }
$PS export --format pprof --input dtrace "$data/dtrace-example.txt" -o d.pb.gz || fail "export"
if command -v go >/dev/null 2>&1; then
	total=$(awk '{ s += $NF } END { print s }' "$data/dtrace-example.collapsed")
	go tool pprof -top d.pb.gz >top.txt 2>&1 || { cat top.txt; fail "pprof cannot read the export"; }
	grep -q "of $total total" top.txt || { cat top.txt; fail "pprof total is not $total"; }
fi

# Mistakes: one line, the right exit code.
printf 'nothing here\n' >empty.txt
expect_error "no pmcstat call graph" $PS fold --input pmcstat empty.txt
$PS fold --input pmcstat empty.txt 2>/dev/null; [ $? = 1 ] || fail "exit code of a bad input is not 1"
expect_error "no DTrace stack with a count" $PS fold --input dtrace empty.txt
expect_error "[-]-pid sets the root frame" $PS fold --input dtrace --pid "$data/dtrace-edge.txt"
$PS fold --input dtrace --pid "$data/dtrace-edge.txt" 2>/dev/null; [ $? = 2 ] || fail "exit code of a usage error is not 2"
expect_error "[-]-select-pid filters the samples of a trace, not pmcstat input" $PS fold --input pmcstat --select-pid 1 "$data/pmcstat-graph.txt"
head -c 2000000 /dev/zero | tr '\0' 'x' >long.txt
expect_error "long.txt:1: line longer than 1 MiB" $PS fold --input pmcstat long.txt
echo "checked $n inputs"
