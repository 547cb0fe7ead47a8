# --call-graph dwarf against truth: examples/deep_nofp (no frame pointers) spends 70% of
# its CPU in main;work_a;work_b;work_leaf and 30% at the bottom of main;recurse x 25;
# recurse_leaf, so nearly every sample must unwind to exactly one of those two stacks, in
# that split; a Python interpreter's samples must reach the program's first frame; and the
# trace must stay far smaller than perf's for the same recording.
set -u
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
# share FOLDED REGEX: percent of samples whose stack matches REGEX (awk ERE).
share() {
	awk -v re="$2" '{ n = $NF; t += n; s = $0; sub(/ [0-9]+$/, "", s); if (s ~ re) m += n }
		END { if (t == 0) print 0; else printf "%.1f\n", 100 * m / t }' "$1"
}
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
info_field() { $PS info -i "$1" | awk -v k="$2:" '$1 == k { print $2; exit }'; }

[ "$(id -u)" = 0 ] || skip "needs root for perf_event_open on the recorded command"
$PS record --help 2>&1 | grep -q -- '--call-graph' || skip "perfsample record has no --call-graph"
prog="$TOP/examples/deep_nofp"
[ -x "$prog" ] || make -C "$TOP" examples/deep_nofp >/dev/null 2>&1 || fail "cannot build $prog"

$PS record -q --no-kernel --call-graph dwarf -F 999 -o deep.data -- "$prog" 3 >/dev/null ||
	fail "record failed"
$PS fold -i deep.data >deep.folded || fail "fold failed"
samples=$(info_field deep.data samples)
truncated=$(info_field deep.data truncated)
[ "$samples" -gt 300 ] || fail "only $samples samples"

# The frames between _start and main are libc's (__libc_start_main, then
# __libc_start_call_main, which stripped libc names by its file); the rest is exact.
start='^deep_nofp;_start;__libc_start_main[^;]*;[^;]+;main'
rec=$(printf ';recurse%.0s' $(seq 25))
leaf=$(share deep.folded "$start;work_a;work_b;work_leaf\$")
deep=$(share deep.folded "$start$rec;recurse_leaf\$")
echo "deep_nofp: $samples samples, $truncated truncated; work_leaf $leaf%, recurse_leaf $deep%"
exact=$(awk -v a="$leaf" -v b="$deep" 'BEGIN { print a + b }')
awk -v e="$exact" 'BEGIN { exit !(e >= 95) }' ||
	{ sort -t' ' -k2 -n deep.folded | tail -n 5; fail "only $exact% of stacks are exact"; }
within "$leaf" 70 3 || fail "work_leaf has $leaf% of samples, not 70%"
within "$deep" 30 3 || fail "recurse_leaf has $deep% of samples, not 30%"
awk -v t="$truncated" -v n="$samples" 'BEGIN { exit !(t * 20 <= n) }' ||
	fail "$truncated of $samples stacks truncated"

# Python: libpython (or a static interpreter) and libc without frame pointers, the vdso
# under time.time(). The real interpreter, not a version manager's shell shim.
py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) || py=
[ -n "$py" ] || py=$(command -v python3.11 || command -v python3 || true)
if [ -n "$py" ]; then
	$PS record -q --call-graph dwarf -F 999 -o py.data -- "$py" -c '
import time
end = time.time() + 2
n = 0
while time.time() < end:
    n += 1' >/dev/null || fail "record of $py failed"
	$PS fold -i py.data >py.folded || fail "fold of the python trace failed"
	whole=$(share py.folded ';(_start|__libc_start_main[^;]*);')
	echo "python ($py): $whole% of samples reach _start or __libc_start_main"
	awk -v w="$whole" 'BEGIN { exit !(w >= 90) }' || { head -n 5 py.folded; fail "python: only $whole%"; }
else
	echo "python3 not found: python part not run"
fi

# Size against perf's own DWARF recording of the same workload, when perf works here.
ours=$(stat -c %s deep.data)
echo "perfsample: $ours bytes, $(awk -v b="$ours" -v n="$samples" 'BEGIN { printf "%.1f", b / n }') bytes/sample"
if command -v perf >/dev/null 2>&1 &&
	perf record -q --call-graph dwarf -F 999 -o perf.data -- "$prog" 3 >/dev/null 2>&1; then
	theirs=$(stat -c %s perf.data)
	psamples=$(perf report -i perf.data --stats 2>/dev/null | awk '/SAMPLE events:/ { print $3; exit }')
	[ -n "$psamples" ] && [ "$psamples" -gt 0 ] || fail "cannot count perf's samples"
	echo "perf: $theirs bytes, $psamples samples, $(awk -v b="$theirs" -v n="$psamples" 'BEGIN { printf "%.1f", b / n }') bytes/sample"
	# DESIGN.md's budget: at most 1/20 of perf's bytes per sample.
	awk -v a="$ours" -v n="$samples" -v b="$theirs" -v m="$psamples" \
		'BEGIN { exit !(a / n * 20 <= b / m) }' || fail "trace is not 20x smaller than perf's per sample"
	# The same stacks as perf's own DWARF unwinding of the same binary (from main on: the
	# libc frames below it are named differently by the two symbolizers).
	perf script -i perf.data 2>/dev/null | $PS fold --input perf-script - > perf.folded ||
		fail "cannot fold perf's script output"
	pleaf=$(share perf.folded ";main;work_a;work_b;work_leaf\$")
	pdeep=$(share perf.folded ";main$rec;recurse_leaf\$")
	echo "perf --call-graph dwarf: work_leaf $pleaf%, recurse_leaf $pdeep%"
	within "$leaf" "$pleaf" 5 || fail "work_leaf: $leaf% here, $pleaf% by perf"
	within "$deep" "$pdeep" 5 || fail "recurse_leaf: $deep% here, $pdeep% by perf"
else
	echo "perf record --call-graph dwarf does not work here: size not compared"
fi
exit 0
