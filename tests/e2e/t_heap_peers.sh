#!/bin/sh
# The heap profile beside its peers on the same workload (examples/heapwork): heaptrack
# (every allocation traced) and valgrind's massif (every allocation, snapshots). perfsample
# samples (here a 32 KiB mean), so its bytes are estimates: the same leading paths, and
# per-path bytes within 15% of heaptrack's exact leaked and peak bytes and of massif's peak.
# Where the tools differ by design: heaptrack and massif name call sites (file:line), so one
# function with two allocating lines (hold_peak: posix_memalign and realloc) is two entries
# there and one frame here; they are summed per function before comparing.
. "$TOP/tests/e2e/lib.sh"
need_root
W=$TOP/examples/heapwork
export PERFSAMPLE_HEAP_LIB="$TOP/libperfsample-heap.so"
command -v heaptrack >/dev/null 2>&1 || fail "heaptrack is needed (scripts/install-deps.sh test)"
command -v valgrind >/dev/null 2>&1 || fail "valgrind is needed (scripts/install-deps.sh test)"

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.2f\n", 100 * a / b }'; }
# bytes FOLDED LEAF: the bytes of stacks whose last frame is LEAF (heaptrack writes
# "name (file.c)" frames and a trailing ';')
bytes() {
	awk -v l="$2" '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s); sub(/;$/, "", s); k = split(s, f, ";");
		g = f[k]; sub(/ \(.*$/, "", g); if (g == l) t += n } END { printf "%d\n", t }' "$1"
}

$PS record -q --heap --heap-rate 32768 -o h.data -- "$W" 1 >/dev/null || fail "record --heap"
$PS fold -i h.data --heap inuse >ps_leaked.folded
$PS fold -i h.data --heap peak >ps_peak.folded

heaptrack -o ht "$W" 1 >/dev/null 2>ht.err || { cat ht.err; fail "heaptrack failed"; }
ht=$(ls ht.* | grep -v '\.err$' | head -n 1)
heaptrack_print -f "$ht" --flamegraph-cost-type leaked -F ht_leaked.folded >ht_print.txt 2>&1 ||
	fail "heaptrack_print failed"
heaptrack_print -f "$ht" --flamegraph-cost-type peak -F ht_peak.folded >/dev/null 2>&1 ||
	fail "heaptrack_print failed"

for p in leak_small leak_large list_grow; do
	a=$(bytes ps_leaked.folded $p)
	b=$(bytes ht_leaked.folded $p)
	echo "leaked $p: perfsample $a, heaptrack $b ($(pct "$a" "$b")%)"
	within "$(pct "$a" "$b")" 100 15 || fail "leaked bytes of $p differ from heaptrack's by more than 15%"
done
for p in hold_peak leak_small leak_large; do
	a=$(bytes ps_peak.folded $p)
	b=$(bytes ht_peak.folded $p)
	echo "peak $p: perfsample $a, heaptrack $b ($(pct "$a" "$b")%)"
	within "$(pct "$a" "$b")" 100 15 || fail "peak bytes of $p differ from heaptrack's by more than 15%"
done
# The leading path at the peak is the same: hold_peak.
top_ps=$(sort -k2 -n -r ps_peak.folded | head -n 1 | sed 's/ [0-9]*$//; s/.*;//')
[ "$top_ps" = hold_peak ] || fail "perfsample's largest path at the peak is $top_ps, not hold_peak"

valgrind --tool=massif --massif-out-file=m.out "$W" 1 >/dev/null 2>m.err || { cat m.err; fail "massif failed"; }
mpeak=$(sed -n 's/^mem_heap_B=//p' m.out | sort -n | tail -n 1)
ours=$(awk '{ t += $NF } END { printf "%d\n", t }' ps_peak.folded)
echo "peak total: perfsample $ours, massif $mpeak ($(pct "$ours" "$mpeak")%)"
within "$(pct "$ours" "$mpeak")" 100 15 || fail "the peak differs from massif's by more than 15%"
# massif's peak tree, per function (its entries are call sites): hold_peak leads.
awk '/^heap_tree=peak/ { on = 1; next } /^snapshot=/ { on = 0 }
	on && /^ n[0-9]+: [0-9]+ 0x[0-9A-F]+: / { split($0, f, " "); fn = f[4]; b[fn] += f[2] }
	END { for (k in b) print b[k], k }' m.out | sort -n -r >massif_peak.txt
cat massif_peak.txt
[ "$(head -n 1 massif_peak.txt | cut -d' ' -f2)" = hold_peak ] || fail "massif's peak is not led by hold_peak"
m=$(awk '$2 == "hold_peak" { print $1 }' massif_peak.txt)
a=$(bytes ps_peak.folded hold_peak)
echo "peak hold_peak: perfsample $a, massif $m ($(pct "$a" "$m")%)"
within "$(pct "$a" "$m")" 100 15 || fail "hold_peak's peak bytes differ from massif's by more than 15%"
echo "perfsample's heap profile agrees with heaptrack and massif"
