# Every renderer reads perfsample's own traces: flame chart, diff, call graph, exports.
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q -F 999 -g -o a.data -- "$TOP/examples/split" 1 >/dev/null || fail "record a"
$PS record -q -F 999 -g -o b.data -- "$TOP/examples/inline" 1 >/dev/null || fail "record b"

$PS flamegraph -i a.data --flamechart > chart.svg || fail "flame chart"
xmllint --noout chart.svg || fail "flame chart is not XML"
grep -q '<title>heavy (' chart.svg || fail "flame chart lacks heavy"

$PS diff a.data a.data > same.svg || fail "diff"
xmllint --noout same.svg || fail "diff is not XML"
$PS fold -i a.data > a.folded
$PS fold -i b.data > b.folded
$PS diff --folded a.folded b.folded > ab.svg || fail "diff --folded"
xmllint --noout ab.svg || fail "diff svg is not XML"
grep -q '<title>outer (' ab.svg || fail "diff lacks the after profile's frames"

$PS callgraph -i a.data > cg.dot || fail "callgraph"
dot -Tsvg cg.dot > cg.svg || fail "dot rejects the call graph"
# heavy is about 60% of samples: its node label says so.
pct=$(grep -o 'heavy\\n[0-9.]*%' cg.dot | head -1 | sed 's/.*\\n//; s/%//')
[ -n "$pct" ] || { grep heavy cg.dot; fail "no heavy node"; }
within "$pct" 60 8 || fail "heavy is $pct% in the call graph"
# The process name roots a trace's stacks: no function of the graph or the report.
grep -qE '^\s(split|"split") \[' cg.dot && fail "the call graph draws the process"
grep -qF 'label="split\nheavy\n' cg.dot || fail "heavy's module is not split"
$PS report -n 0 -i a.data > report.txt || fail "report"
grep -q ' spin$' report.txt || fail "report lacks spin"
grep -q '  split$' report.txt && fail "report shows the process as a function"

$PS export --format speedscope -i a.data -o a.json || fail "export speedscope"
# Every sample of the trace, one period each (neighbours of one stack merge), in time order
# with the pauses between them: the profile spans the recording.
n=$(info_field a.data samples)
python3 - "$n" <<'EOF' || fail "speedscope JSON"
import json, re, sys
d = json.load(open("a.json"))
(p,) = d["profiles"]
assert re.fullmatch(r"split (\d+)/\1", p["name"]), p["name"]  # one thread: "comm pid/tid"
period = 1000000000 // 999
got = sum(w for s, w in zip(p["samples"], p["weights"]) if s)
assert got == int(sys.argv[1]) * period, (got, sys.argv[1])
assert all(w % period == 0 for s, w in zip(p["samples"], p["weights"]) if s)
assert 0.5e9 < p["endValue"] - p["startValue"] < 2e9, (p["startValue"], p["endValue"])
EOF
$PS export --format callgrind -o a.callgrind -i a.data || fail "export callgrind"
if command -v callgrind_annotate >/dev/null; then
	callgrind_annotate a.callgrind | grep -q spin || fail "callgrind_annotate lacks spin"
fi
$PS export --format pprof -i a.data -o a.pb.gz || fail "export pprof"
if command -v go >/dev/null; then
	HOME=$TMP GOCACHE=$TMP/go go tool pprof -top a.pb.gz 2>/dev/null | grep -q ' spin$' || fail "pprof -top lacks spin"
	# time_nanos is the recording's wall-clock start (the header's start_time), not boot time.
	day=$($PS info -i a.data | awk '$1 == "start_time" { print substr($2, 1, 10) }')
	HOME=$TMP GOCACHE=$TMP/go go tool pprof -raw a.pb.gz 2>/dev/null | grep -q "^Time: $day " ||
		fail "pprof time is not the recording's start ($day)"
fi
# Malformed folded lines: reported with their line number and skipped, or fatal with --strict.
printf 'a;b 3\nno count here\na;c -2\n\na;d x1\na;b 1\n' > bad.folded
$PS flamegraph --folded bad.folded > bad.svg 2>bad.err || fail "flamegraph of a partly bad file failed"
grep -q 'bad.folded:2: sample count is not a number' bad.err || { cat bad.err; fail "line 2 not reported"; }
grep -q 'bad.folded:3: negative sample count' bad.err || fail "line 3 not reported"
grep -q 'bad.folded:5: ' bad.err || fail "line 5 not reported"
xmllint --noout bad.svg || fail "svg of a partly bad file is not XML"
grep -q '<title>b (4 samples' bad.svg || fail "good lines lost"
expect_error "malformed" $PS flamegraph --strict --folded bad.folded
: > empty.folded
$PS flamegraph --folded empty.folded > empty.svg || fail "empty profile"
xmllint --noout empty.svg && grep -qi 'no samples' empty.svg || fail "empty profile SVG"
printf 'a;\377\001x<&> 2\n' | $PS flamegraph --folded - > odd.svg || fail "odd bytes"
xmllint --noout odd.svg || fail "odd bytes break the XML"
# Nothing but bad lines is an error with exit 2 (flamegraph.pl: "No stack counts found").
printf 'junk\nmore junk\n' > junk.folded
$PS flamegraph --folded junk.folded > junk.svg 2>junk.err && fail "all-invalid input succeeded"
[ $? = 2 ] || fail "all-invalid input: exit $? (want 2)"
grep -q "'junk.folded' has no valid folded stacks" junk.err || fail "all-invalid: $(cat junk.err)"
# Counts never wrap: past 2^63-1, one count or their sum, is an error naming the line.
printf 'a;b 9223372036854775000\nc 1000\n' > big.folded
expect_error "big.folded:2: sample counts add up to more than 2\\^63-1" $PS flamegraph --folded big.folded
printf 'a 99999999999999999999\n' > huge.folded
expect_error "huge.folded:1: sample count too large" $PS report --folded huge.folded
# A stream without newlines is not read without bound.
expect_error "/dev/zero:1: line longer than 16 MiB" timeout 20 $PS fold --folded /dev/zero

# Per-process filters on a system-wide trace.
"$TOP/examples/split" 2 >/dev/null &
"$TOP/examples/inline" 2 >/dev/null &
sleep 0.3
$PS record -q -F 499 -g -a -d 1 -o sys.data || fail "record -a"
wait
$PS flamegraph -i sys.data --comm split > split.svg || fail "--comm"
grep -q '<title>heavy (' split.svg || fail "--comm split lacks heavy"
grep -q '<title>outer (' split.svg && fail "--comm split shows inline's frames"
pid=$($PS fold -i sys.data --pid | sed -n 's/^inline-\([0-9]*\);.*/\1/p' | head -1)
[ -n "$pid" ] || fail "no inline process in the system trace"
$PS flamegraph -i sys.data --select-pid "$pid" > one.svg || fail "--select-pid"
grep -q '<title>outer (' one.svg || fail "--select-pid lacks the process's frames"
grep -q '<title>heavy (' one.svg && fail "--select-pid shows another process"

expect_error "unknown export format 'xml'" $PS export --format xml -i a.data -o x
expect_error "cannot write '/nonexistent/x.pb'" $PS export --format pprof -i a.data -o /nonexistent/x.pb
ls /nonexistent 2>/dev/null && fail "export left a file"
exit 0
