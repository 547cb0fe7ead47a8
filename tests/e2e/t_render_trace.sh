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

$PS export --format speedscope -i a.data -o a.json || fail "export speedscope"
python3 -c 'import json,sys; d=json.load(open("a.json")); assert d["profiles"]' || fail "speedscope JSON"
$PS export --format callgrind -o a.callgrind -i a.data || fail "export callgrind"
if command -v callgrind_annotate >/dev/null; then
	callgrind_annotate a.callgrind | grep -q spin || fail "callgrind_annotate lacks spin"
fi
$PS export --format pprof -i a.data -o a.pb.gz || fail "export pprof"
if command -v go >/dev/null; then
	HOME=$TMP GOCACHE=$TMP/go go tool pprof -top a.pb.gz 2>/dev/null | grep -q ' spin$' || fail "pprof -top lacks spin"
fi
expect_error "unknown export format 'xml'" $PS export --format xml -i a.data -o x
expect_error "cannot write '/nonexistent/x.pb'" $PS export --format pprof -i a.data -o /nonexistent/x.pb
ls /nonexistent 2>/dev/null && fail "export left a file"
exit 0
