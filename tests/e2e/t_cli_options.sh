# The options every command that reads stacks shares mean the same in each: the input (-i,
# --folded, --input), the root frame (--pid, --tid, as stackcollapse-perf.pl spells them),
# the filters (--select-pid, --select-tid, --comm, --time) and names (--no-inline,
# --no-demangle, --debug-dir). Usage errors are one line and exit 2; failures exit 1.
. "$TOP/tests/e2e/lib.sh"
need_root
total() { awk '{ s += $NF } END { print s + 0 }' "$@"; }
# usage_error CMD...: exit 2 and one line "perfsample: ..." on stderr.
usage_error() {
	"$@" >out.txt 2>err.txt
	rc=$?
	[ $rc = 2 ] || { cat err.txt; fail "'$*' exits $rc, not 2"; }
	[ "$(wc -l <err.txt)" = 1 ] && grep -q '^perfsample: ' err.txt ||
		{ cat err.txt; fail "'$*' does not give one error line"; }
}

# A second asleep, then a second of examples/split (exec'd: the same pid, renamed).
$PS record -q -F 999 -g -o t.data -- sh -c "sleep 1; exec $TOP/examples/split 1" >/dev/null ||
	fail "record"
pid=$($PS fold -i t.data --pid | sed -n 's/^split-\([0-9]*\);.*/\1/p' | head -1)
[ -n "$pid" ] || fail "no split-PID root in fold --pid"
all=$($PS fold -i t.data | total)

# --pid and --tid: the root frame in fold, flamegraph, callgraph and report.
$PS fold -i t.data --pid | grep -q "^split-$pid;.*;heavy;spin " || fail "fold --pid"
$PS fold -i t.data --tid | grep -q "^split-$pid/$pid;.*;heavy;spin " || fail "fold --tid"
$PS fold -i t.data --pid --tid | grep -q "^split-$pid/$pid;" || fail "--tid does not win over --pid"
$PS flamegraph -i t.data --pid > pid.svg || fail "flamegraph --pid"
grep -q "<title>split-$pid (" pid.svg || fail "flamegraph --pid root"
$PS flamegraph -i t.data --tid | grep -q "<title>split-$pid/$pid (" || fail "flamegraph --tid root"
$PS callgraph -i t.data --pid | grep -qF "	\"split-$pid\" -> " || fail "callgraph --pid root"
$PS callgraph -i t.data --tid | grep -qF "	\"split-$pid/$pid\" -> " || fail "callgraph --tid root"
$PS report -i t.data --pid -n 0 | grep -q " split-$pid\$" || fail "report --pid has no process row"
$PS report -i t.data -n 0 | grep -q " split\$" && fail "report lists the process without --pid"

# The filters.
# (sh forked sleep: a process of its own)
n_split=$($PS fold -i t.data --comm split | total)
n_pid=$($PS fold -i t.data --select-pid "$pid" | total)
n_tid=$($PS fold -i t.data --select-tid "$pid" | total)
[ "$n_pid" -ge "$n_split" ] && [ "$n_pid" -le "$all" ] || fail "--select-pid kept $n_pid (split: $n_split, all: $all)"
[ "$n_tid" = "$n_pid" ] || fail "--select-tid kept $n_tid, --select-pid $n_pid"
[ -z "$($PS fold -i t.data --select-pid 1)" ] || fail "--select-pid 1 kept samples"
[ -z "$($PS fold -i t.data --select-tid 1,2)" ] || fail "--select-tid 1,2 kept samples"
$PS fold -i t.data --comm sh | grep -q ';spin ' && fail "--comm sh kept split's samples"
$PS fold -i t.data --comm split | grep -q '^split;.*;heavy;spin ' || fail "--comm split"
$PS callgraph -i t.data --comm split > comm.dot || fail "callgraph --comm"
grep -q 'heavy' comm.dot || fail "callgraph --comm lost the samples"
$PS callgraph -i t.data --comm nosuch | grep -q 'no samples' || fail "callgraph --comm filters nothing"

# --time: seconds after the recording started, END excluded: the sleep has no split samples,
# a range and its complement add up, a half-second range holds half a second of samples.
$PS fold -i t.data --time ,0.9 | grep -q ';spin ' && fail "--time ,0.9 holds split's samples"
a=$($PS fold -i t.data --time ,1.5 | total)
b=$($PS fold -i t.data --time 1.5, | total)
[ $((a + b)) = "$all" ] || fail "--time ,1.5 ($a) and 1.5, ($b) do not add up to $all"
[ "$($PS fold -i t.data --time 0, | total)" = "$all" ] || fail "--time 0, lost samples"
mid=$($PS fold -i t.data --time 1.2,1.7 | total)
echo "samples: $all; before 1.5 s $a, after $b; 1.2-1.7 s: $mid"
[ "$mid" -gt 50 ] && [ "$mid" -lt "$all" ] || fail "--time 1.2,1.7 kept $mid of $all samples"
sample_times() { awk '/^[^\t]/ && NF > 3 { t = $4; sub(/:$/, "", t); print t }'; }
first=$($PS script -i t.data | sample_times | sort -n | head -1)
$PS script -i t.data --time 1.2,1.7 | sample_times | sort -n > win.txt
awk -v f="$first" 'NR == 1 { lo = $1 } { hi = $1 } END {
	if (lo - f < 1.0 || lo - f > 1.3 || hi - lo > 0.5) { print "window", lo - f, hi - f; exit 1 } }' win.txt ||
	fail "script --time 1.2,1.7 printed samples outside the range"
$PS report -i t.data --time 1.2,1.7 -n 0 | grep -q "^# $mid samples" || fail "report --time"
$PS flamegraph -i t.data --time ,0.9 | grep -q '<title>spin (' && fail "flamegraph --time"

# Every command that reads stacks takes all of them.
opts="--pid --tid --select-pid $pid --select-tid $pid --comm split --time 1, --no-inline --no-demangle --debug-dir $TMP"
for cmd in fold flamegraph callgraph report script; do
	$PS $cmd -i t.data $opts > $cmd.out || fail "$cmd does not take the shared options"
	grep -q spin $cmd.out || fail "$cmd $opts lost the samples"
	$PS $cmd $opts t.data > $cmd.2.out || fail "$cmd with the trace as an operand"
	cmp -s $cmd.out $cmd.2.out || fail "$cmd: -i TRACE and TRACE differ"
done
$PS diff $opts t.data t.data > diff.svg || fail "diff does not take the shared options"
grep -q '<title>spin (' diff.svg || fail "diff lost the samples"
$PS export --format speedscope -o x.json -i t.data $opts || fail "export does not take the shared options"
grep -q '"spin"' x.json || fail "export lost the samples"
$PS fold --input trace t.data | total | grep -qx "$all" || fail "--input trace FILE"
$PS fold -i t.data > t.folded
$PS flamegraph --folded t.folded | grep -q '<title>spin (' || fail "flamegraph --folded"
$PS report --input folded t.folded | grep -q ' spin$' || fail "report --input folded"
$PS script -i t.data > t.perf
$PS callgraph --input perf-script --pid t.perf | grep -qF "\"split-$pid\" -> " || fail "callgraph --input perf-script --pid"
$PS fold --input perf-script --pid t.perf | grep -q "^split-$pid;" || fail "fold --input perf-script --pid"

# Usage errors: exit 2, one line.
for cmd in record fold flamegraph diff callgraph report info script export; do
	usage_error $PS $cmd --no-such-option
	usage_error $PS $cmd -i
done
for cmd in fold flamegraph callgraph report script export; do
	usage_error $PS $cmd --select-pid x
	usage_error $PS $cmd --select-tid 1,,-2
	usage_error $PS $cmd --time 1
	usage_error $PS $cmd --time 2,1
	usage_error $PS $cmd --pid=3
	usage_error $PS $cmd -i t.data extra
done
usage_error $PS fold --folded t.folded --select-pid 1
usage_error $PS flamegraph --folded t.folded --time 1,
usage_error $PS fold --folded t.folded --pid
usage_error $PS fold --input perf-script t.perf --comm split
usage_error $PS fold --input xml
usage_error $PS fold -i t.data --folded t.folded
usage_error $PS flamegraph --width abc
usage_error $PS callgraph -n 200
usage_error $PS report --sort nosuch
usage_error $PS diff t.data
usage_error $PS diff t.data t.data t.data
usage_error $PS export -i t.data -o x.pb
usage_error $PS export -i t.data --format xml -o x.pb
usage_error $PS info t.data t.data
usage_error $PS record
usage_error $PS record -F 0 -- true
usage_error $PS record -F 99 -c 1000 -- true
usage_error $PS record --call-graph lbr -- true
usage_error $PS record --switch-output=soon -- true
usage_error $PS record -p 1 -a
usage_error $PS frobnicate
# Failures: exit 1.
$PS fold -i missing.data 2>err.txt
[ $? = 1 ] || fail "a missing trace does not exit 1"

# --help comes from the tables: options show their values, flamegraph.pl's are listed.
$PS record --help | grep -q -- '^  -F, --freq HZ|max ' || fail "record --help lacks '-F, --freq HZ|max'"
$PS record --help | grep -q -- '--switch-output\[=' || fail "record --help lacks --switch-output's optional value"
for cmd in fold flamegraph callgraph report export; do
	$PS $cmd --help > help.txt
	for o in '-i, --input-file TRACE' '--folded FILE' '--input FORMAT' '--pid ' '--tid ' \
		'--select-pid PID' '--select-tid TID' '--comm NAME' '--time START,END' '--no-inline' \
		'--no-demangle' '--debug-dir DIR' '-h, --help'; do
		grep -qF -- "$o" help.txt || fail "$cmd --help lacks '$o'"
	done
done
for cmd in flamegraph diff; do
	$PS $cmd --help > help.txt
	for o in title subtitle width height minwidth fonttype fontsize fontwidth countname nametype \
		colors bgcolors hash reverse inverted flamechart negate notes total factor; do
		grep -q -- "--$o\b" help.txt || fail "$cmd --help lacks flamegraph.pl's --$o"
	done
done
$PS flamegraph -i t.data --title T --subtitle S --width 900 --height 14 --minwidth 0.5% \
	--fonttype Arial --fontsize 11 --fontwidth 0.6 --countname ms --nametype F: --colors java \
	--bgcolors grey --hash --reverse --inverted --negate --notes n --total 10 --factor 2 \
	--searchcolor red --ignorecase > all.svg || fail "flamegraph.pl's options"
xmllint --noout all.svg || fail "flamegraph.pl's options give bad XML"
exit 0
