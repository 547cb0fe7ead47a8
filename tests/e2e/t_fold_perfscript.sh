# `fold --input perf-script` prints what stackcollapse-perf.pl prints, byte for byte, for
# every input and option of FlameGraph's conformance corpus; and perfsample's own
# perf-script output reads back into the same stacks as its trace.
. "$TOP/tests/e2e/lib.sh"
corpus="$TOP/tests/data/corpus/perf-script"
n=0
for input in "$corpus"/*.txt; do
	name=$(basename "$input" .txt)
	for opt in pid tid kernel jit all addrs; do
		expect="$corpus/results/$name-collapsed-$opt.txt"
		[ -f "$expect" ] || continue
		$PS fold --input perf-script --$opt "$input" > got.txt || fail "fold --$opt $name failed"
		cmp -s "$expect" got.txt || { diff "$expect" got.txt | head -5; fail "$name --$opt differs"; }
		n=$((n + 1))
	done
done
[ "$n" -ge 50 ] || fail "only $n corpus cases found"
# stdin works too
$PS fold --input perf-script --all - < "$corpus/perf-funcab-cmd-01.txt" > stdin.txt || fail "stdin"
cmp -s "$corpus/results/perf-funcab-cmd-01-collapsed-all.txt" stdin.txt || fail "stdin differs"

# --event-filter keeps another event's samples (the default keeps the first seen).
mixed="$corpus/perf-cycles-instructions-01.txt"
n_first=$($PS fold --input perf-script "$mixed" | awk '{ s += $NF } END { print s }')
n_cycles=$($PS fold --input perf-script --event-filter cycles "$mixed" | awk '{ s += $NF } END { print s }')
[ "$n_first" = 333 ] && [ "$n_cycles" = 111 ] || fail "event filter: $n_first/$n_cycles samples, expected 333/111"

[ "$(id -u)" = 0 ] || { echo "checked $n corpus cases"; exit 0; }
$PS record -q -F 999 -g -- "$TOP/examples/split" 1 >/dev/null || fail "record failed"
$PS fold --no-inline > direct.txt
$PS script > out.perf || fail "script failed"
grep -q 'cpu-clock:' out.perf || fail "script output lacks the event"
$PS fold --input perf-script out.perf > roundtrip.txt || fail "fold of script output failed"
# stackcollapse-perf.pl counts periods; compare the stacks and their shares instead.
sed 's/ [0-9]*$//' direct.txt > a.txt
sed 's/ [0-9]*$//' roundtrip.txt > b.txt
cmp -s a.txt b.txt || { diff a.txt b.txt | head; fail "script output does not fold to the trace's stacks"; }
echo "checked $n corpus cases and the script round trip"
