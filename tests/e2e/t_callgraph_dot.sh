# perfsample callgraph: gprof2dot-style DOT from perf-script and folded input, read by
# graphviz. The figures themselves are checked against gprof2dot in tests/unit/test_callgraph.c.
corpus="$TOP/tests/data/corpus/perf-script"
if ! "$PS" callgraph --help >/dev/null 2>&1; then
	echo "perfsample has no callgraph command"
	exit 77
fi
if ! command -v dot >/dev/null 2>&1; then
	echo "graphviz dot is missing"
	exit 77
fi
set -e
fail() {
	echo "FAIL: $*"
	exit 1
}
# dot must read it without a word on stderr
accepts() {
	dot -Tsvg "$1" >"$1.svg" 2>"$1.err" || fail "dot rejects $1: $(cat "$1.err")"
	[ ! -s "$1.err" ] || fail "dot warns on $1: $(cat "$1.err")"
}

"$PS" callgraph --input perf-script "$corpus/perf-funcab-cmd-01.txt" >funcab.dot
grep -qF 'label="func_ab\nfunc_a\n47.93%\n(47.93%)"' funcab.dot || fail "func_a node"
grep -qF '"main:/root/lang/func_ab" -> "func_b:/root/lang/func_ab" [' funcab.dot || fail "edge"
grep -qF 'label="52.07%"' funcab.dot || fail "edge label"
head -n 2 funcab.dot | tail -n 1 | grep -qF 'tooltip=" "' || fail "header"
accepts funcab.dot
grep -q 'func_b' funcab.dot.svg || fail "svg lacks func_b"

# thresholds: func_a (47.93%) goes below -n 50
"$PS" callgraph -n 50 --input perf-script "$corpus/perf-funcab-cmd-01.txt" >n50.dot
! grep -qF '\nfunc_a\n' n50.dot || fail "-n 50 kept func_a"
grep -qF '\nfunc_b\n' n50.dot || fail "-n 50 lost func_b"

# --pid keeps the process as the root node
"$PS" callgraph --pid --input perf-script "$corpus/perf-iperf-stacks-pidtid-01.txt" >pid.dot
grep -qF '	"iperf-27409" -> ' pid.dot || fail "--pid root"
accepts pid.dot
# perf printed no pid here: "comm-?/TID" as stackcollapse-perf.pl writes it
"$PS" callgraph --tid --input perf-script "$corpus/perf-funcab-pid-01.txt" >tid.dot
grep -qF '	"func_ab-?/15294" -> ' tid.dot || fail "--tid root"

# folded stacks on stdin: folded text has no process column to know of, so its first frame
# is a function, as gprof2dot draws it (issue #10)
printf 'app;main;a 3\napp;main;b 1\n' | "$PS" callgraph --folded - >folded.dot
grep -qF 'label="a\n75.00%\n(75.00%)"' folded.dot || fail "folded a"
grep -qF '	app -> main [' folded.dot || fail "first frame of folded text not drawn"
# perf-script input has one: its comm is no node
! grep -q '"func_ab"' funcab.dot || fail "process frame drawn"
printf 'app;main;a 3\napp;main;b 1\n' | "$PS" report --folded - >report.txt
grep -q '^    0.00% 100.00%          0  app$' report.txt || fail "report lost the first frame: $(cat report.txt)"
"$PS" report --input perf-script "$corpus/perf-funcab-cmd-01.txt" >report.txt
grep -q '  main$' report.txt || fail "report lacks main"
! grep -q '  func_ab$' report.txt || fail "report shows the process as a function"
printf 'app;main;lock;spin 1\n' | "$PS" callgraph --folded - --hide lock --root main >hide.dot
grep -qF '	main -> spin [' hide.dot || fail "--hide"

# nothing to draw is still a graph
: | "$PS" callgraph --folded - >empty.dot
grep -qF 'label="no samples"' empty.dot || fail "empty"
accepts empty.dot
: | "$PS" report --folded - >empty.txt || fail "report of nothing"
grep -q '^# 0 samples in 0 stacks$' empty.txt || fail "empty report: $(cat empty.txt)"

# a root that matches nothing is one error line and a failure
if "$PS" callgraph --root nosuch --input perf-script "$corpus/perf-funcab-cmd-01.txt" \
	>/dev/null 2>err.txt; then
	fail "--root nosuch succeeded"
fi
[ "$(wc -l <err.txt)" = 1 ] && grep -q '^perfsample: ' err.txt || fail "error: $(cat err.txt)"
echo ok
