# `perfsample script` prints what perf script prints for the same samples: time order
# across CPUs and threads, sym+0xOFF with perf's offsets, (dso), inline frames with
# --inline, perf's -F fields. Checked against perf script on the same perf.data.
. "$TOP/tests/e2e/lib.sh"
need_root
command -v perf >/dev/null || fail "perf is missing (scripts/install-deps.sh installs linux-perf)"

# Samples of several threads on both CPUs: their rings interleave in the trace.
$PS record -q -F 999 -g -o t.data -- "$TOP/examples/threads" 1 >/dev/null || fail "record failed"
$PS script -i t.data > t.txt || fail "script failed"
awk '/^[^\t]/ && NF > 3 { t = $4; sub(":", "", t); if (t + 0 < prev) bad++; prev = t + 0; n++ }
	END { if (bad || n < 100) { print bad + 0, "of", n, "out of order"; exit 1 } }' t.txt ||
	fail "samples are not in time order"
grep -q '^	 *[0-9a-f]* thread_spin_a+0x[0-9a-f]* (.*examples/threads)$' t.txt ||
	{ head -20 t.txt; fail "no sym+0xOFF (dso) frame lines"; }

# Offsets and names equal perf's own, frame by frame, on one perf.data.
perf record -q -F 499 -g -e cpu-clock -o p.data -- "$TOP/examples/split" 1 >/dev/null 2>&1 ||
	fail "perf record failed"
frames() { grep '	' "$1" | grep 'examples/split)' | awk '{ print $2 }' | sort | uniq -c; }
$PS script -i p.data > ours.txt || fail "script -i perf.data failed"
perf script -i p.data 2>/dev/null > perfs.txt || fail "perf script failed"
frames ours.txt > a.txt
frames perfs.txt > b.txt
[ -s a.txt ] || fail "no frames of examples/split"
cmp -s a.txt b.txt || { diff a.txt b.txt | head; fail "sym+0xOFF differ from perf script's"; }

# A trace recorded here has offsets in its embedded symbols (a return address is never
# a function's first byte).
n=$(grep -c '	.*+0x[0-9a-f]* (.*examples/threads)' t.txt)
z=$(grep -c '	.*+0x0 (.*examples/threads)' t.txt)
[ "$n" -gt 0 ] && [ "$z" -lt $((n / 10)) ] || fail "offsets missing ($z of $n are +0x0)"

# Inline frames with --inline, as perf prints them: "name (inlined)", no dso.
$PS record -q -F 999 -g -o i.data -- "$TOP/examples/inline" 1 >/dev/null || fail "record inline"
$PS script -i i.data > noinl.txt || fail "script failed"
$PS script -i i.data --inline > inl.txt || fail "script --inline failed"
! grep -q '(inlined)' noinl.txt || fail "inline frames printed without --inline"
grep -q '^	 *[0-9a-f]* [a-z_]*+0x[0-9a-f]* (inlined)$' inl.txt ||
	{ grep inlined inl.txt | head -3; fail "no inline frames with --inline"; }

# -F: perf's field names; +/- change the default; an unknown field is a usage error.
$PS script -i t.data -F comm,tid,time,ip,sym > f.txt || fail "-F failed"
head -1 f.txt | grep -Eq '^threads [0-9]+ [0-9]+\.[0-9]{6}: $' || { head -2 f.txt; fail "-F header"; }
sed -n 2p f.txt | grep -Eq '^	 *[0-9a-f]+ [^ ]+$' || { head -2 f.txt; fail "-F frame line"; }
$PS script -i t.data -F -dso,-period > g.txt || fail "-F -dso failed"
! grep -q '(.*examples/threads)' g.txt || fail "-F -dso kept the dso"
expect_error "unknown field 'bogus'" $PS script -i t.data -F comm,bogus
$PS script -i t.data -F comm,bogus >/dev/null 2>&1
[ $? = 2 ] || fail "an unknown -F field is not a usage error (exit 2)"

# Folded the stackcollapse-perf.pl way, the text gives the trace's stacks.
$PS fold -i t.data --no-inline | sed 's/ [0-9]*$//' > direct.txt
$PS fold --input perf-script t.txt | sed 's/ [0-9]*$//' > via.txt
cmp -s direct.txt via.txt || { diff direct.txt via.txt | head; fail "script does not fold back"; }
