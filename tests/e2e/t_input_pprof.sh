# pprof in: a Go program profiles a known workload with runtime/pprof (spinA does twice
# the work of spinB) and writes a CPU and a heap profile; perfsample folds, draws, reports
# and graphs them, and `export --format pprof` of them gives `go tool pprof` the same
# totals per sample type and the same top functions as the original.
. "$TOP/tests/e2e/lib.sh"
command -v go >/dev/null 2>&1 || skip "no go (scripts/install-deps.sh installs golang-go)"
export GOCACHE="$TMP/go-cache" GOPATH="$TMP/go" GO111MODULE=off HOME="$TMP"
cp "$TOP/tests/e2e/pprof_workload.go" prof.go
go build -o prof prof.go >build.txt 2>&1 || { cat build.txt; fail "go build failed"; }
./prof cpu.pb.gz heap.pb.gz || fail "the Go workload failed"

# The totals go tool pprof -raw prints, one "type/unit=total" per sample type.
totals() {
	go tool pprof -raw "$1" 2>/dev/null | awk '
		/^Samples:/ { s = 1; getline; n = split($0, types, " "); next }
		/^Locations/ { s = 0 }
		s && $1 ~ /^[0-9-]+$/ { for (i = 1; i <= n; i++) { v = $i; sub(/:$/, "", v); t[i] += v } }
		END { for (i = 1; i <= n; i++) printf "%s=%d\n", types[i], t[i] }'
}
# go tool pprof -top of one sample type, from the table's header on.
top() { go tool pprof -sample_index="$2" -top "$1" 2>/dev/null | sed -n '/flat%/,$p'; }

# fold: the samples column, and where the time went.
$PS fold --input pprof cpu.pb.gz >cpu.folded || fail "fold --input pprof failed"
samples=$(totals cpu.pb.gz | sed -n 's,^samples/count=,,p')
[ -n "$samples" ] && [ "$samples" -gt 30 ] || fail "the workload got only '$samples' samples"
[ "$(awk '{ s += $NF } END { print s }' cpu.folded)" = "$samples" ] || fail "fold's total is not $samples"
a=$(share cpu.folded 'main\.spinA')
b=$(share cpu.folded 'main\.spinB')
echo "spinA $a%, spinB $b% of $samples samples"
awk -v a="$a" -v b="$b" 'BEGIN { r = a / (a + b); exit !(a + b > 80 && r > 0.5 && r < 0.85) }' ||
	fail "spinA/spinB shares $a/$b, expected about 2:1 of most samples"
grep -q '^runtime\.main;main\.main;main\.work;main\.spinA ' cpu.folded || fail "no runtime.main;main.main;main.work;main.spinA stack"

# every renderer
$PS flamegraph --input pprof cpu.pb.gz >cpu.svg || fail "flamegraph"
grep -q '<title>main.work (' cpu.svg || fail "flame graph lacks main.work"
$PS report --input pprof cpu.pb.gz >report.txt || fail "report"
grep -Eq ' prof +main\.spinA$' report.txt || { cat report.txt; fail "report lacks main.spinA in prof"; }
$PS callgraph --input pprof cpu.pb.gz >cpu.dot || fail "callgraph"
grep -q 'main.spinA' cpu.dot || fail "call graph lacks main.spinA"
# heap: four sample types, column 0 (alloc_objects) folded
$PS fold --input pprof heap.pb.gz >heap.folded || fail "fold of the heap profile"
objects=$(totals heap.pb.gz | sed -n 's,^alloc_objects/count=,,p')
[ "$(awk '{ s += $NF } END { print s }' heap.folded)" = "$objects" ] || fail "heap fold's total is not $objects"
grep -q ';main\.allocate ' heap.folded || fail "heap profile lacks main.allocate"
# --sample-type shows another type's values
inuse=$(totals heap.pb.gz | sed -n 's,^inuse_space/bytes=,,p')
$PS fold --input pprof --sample-type inuse_space heap.pb.gz >inuse.folded || fail "--sample-type"
[ "$(awk '{ s += $NF } END { print s }' inuse.folded)" = "$inuse" ] || fail "inuse_space total is not $inuse"
expect_error "has no sample type 'nope' \(it has alloc_objects, alloc_space, inuse_objects, inuse_space\)" \
	$PS fold --input pprof --sample-type nope heap.pb.gz

# pprof -> pprof keeps every value: the same totals per sample type and the same top
# functions of each.
for p in cpu heap; do
	$PS export --format pprof --input pprof $p.pb.gz -o $p-rt.pb.gz || fail "export of $p"
	totals $p.pb.gz >want.txt
	totals $p-rt.pb.gz >got.txt
	[ -s want.txt ] && cmp -s want.txt got.txt || { diff want.txt got.txt; fail "$p: totals differ"; }
	ntypes=$(wc -l <want.txt)
	i=0
	while [ $i -lt "$ntypes" ]; do
		top $p.pb.gz $i >want.txt
		top $p-rt.pb.gz $i >got.txt
		[ -s want.txt ] && cmp -s want.txt got.txt || { diff want.txt got.txt | head; fail "$p: top of sample type $i differs"; }
		i=$((i + 1))
	done
done
cat got.txt | head -3
# ... and everything else go tool pprof -raw shows: period type and period (space/bytes of
# the heap profile), time, duration, every sample with its labels (the CPU profile's
# phase=spin, the heap profile's bytes), locations and functions. Only the mappings'
# capability flags may say more (the export sets the ones its locations bear out).
raw() { go tool pprof -raw "$1" 2>&1 | sed 's/ *\[[A-Z][][A-Z]*\]$//'; }
for p in cpu heap; do
	raw $p.pb.gz >want.txt
	raw $p-rt.pb.gz >got.txt
	cmp -s want.txt got.txt || { diff want.txt got.txt | head; fail "$p: pprof -raw differs after the round trip"; }
done
go tool pprof -raw cpu-rt.pb.gz 2>&1 | grep -q 'phase:\[spin\]' || fail "the CPU profile's label phase=spin was lost"
go tool pprof -raw heap-rt.pb.gz 2>&1 | grep -q '^PeriodType: space bytes' || fail "the heap profile's period type was lost"
go tool pprof -raw heap-rt.pb.gz 2>&1 | grep -q 'bytes:\[' || fail "the heap profile's bytes labels were lost"

# perfsample's own export reads back whole: the trace's stacks (inlined frames, the comm
# label as the root), and exported again, what go tool pprof -raw shows is unchanged.
if [ "$(id -u)" = 0 ]; then
	$PS record -q -F 999 -g -o inl.data -- "$TOP/examples/inline" 0.5 >/dev/null || fail "record"
	$PS export --format pprof -i inl.data -o inl.pb.gz || fail "export of the trace"
	$PS fold -i inl.data >trace.folded
	$PS fold --input pprof inl.pb.gz >pprof.folded || fail "fold of perfsample's pprof"
	cmp -s trace.folded pprof.folded || { diff trace.folded pprof.folded | head; fail "stacks differ from the trace's"; }
	grep -q '^inline;.*;main;outer;middle;inner ' pprof.folded || fail "inlined frames lost"
	$PS export --format pprof --input pprof inl.pb.gz -o inl2.pb.gz || fail "export of the pprof"
	go tool pprof -raw inl.pb.gz >want.txt 2>&1
	go tool pprof -raw inl2.pb.gz >got.txt 2>&1
	cmp -s want.txt got.txt || { diff want.txt got.txt | head; fail "pprof -raw differs after the round trip"; }
fi

# Mistakes: one line each.
printf 'stack;frames 12\n' >text.txt
expect_error "cannot read 'text.txt' as a pprof profile: " $PS fold --input pprof text.txt
head -c 300 cpu.pb.gz >cut.pb.gz
expect_error "cannot read 'cut.pb.gz': the gzip stream is cut short" $PS fold --input pprof cut.pb.gz
expect_error "[-]-tid sets the root frame" $PS fold --input pprof --tid cpu.pb.gz
echo "ok"
