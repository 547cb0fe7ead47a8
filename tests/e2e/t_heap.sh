#!/bin/sh
# Heap profiles against truth: examples/heapwork allocates known bytes on known paths
# (tiny and large blocks freed at once, blocks kept until a peak, leaks) and prints the
# totals. Over several seeds, record --heap's alloc view reproduces the split within a few
# points, the inuse view finds the leaks and their bytes, the peak view the blocks live at
# the peak; go tool pprof reads the export's heap sample types; the preload follows fork
# and exec, leaves the target's output and exit status alone, runs beside CPU sampling
# (-g), and refuses static and setuid targets with one line.
. "$TOP/tests/e2e/lib.sh"
need_root
W=$TOP/examples/heapwork
export PERFSAMPLE_HEAP_LIB="$TOP/libperfsample-heap.so"

# pct A B: 100 * A / B
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print 0; else printf "%.2f\n", 100 * a / b }'; }
# bytes FOLDED LEAF: the bytes of stacks ending in ";LEAF"
bytes() { awk -v l="$2" '{ n = $NF; s = $0; sub(/ [0-9]+$/, "", s); k = split(s, f, ";"); if (f[k] == l) t += n } END { printf "%d\n", t }' "$1"; }
truth() { awk -v k="$2" '$1 == "truth" && $2 == k { print $3 }' "$1"; }

paths="churn_tiny churn_large leak_small leak_large hold_peak"
for seed in 1 2 3; do
	$PS record -q --heap --heap-rate 32768 -o h$seed.data -- "$W" $seed >truth$seed.txt ||
		fail "record --heap failed (seed $seed)"
	"$W" $seed >plain$seed.txt
	cmp -s truth$seed.txt plain$seed.txt || fail "the target's output changed under --heap"
	$PS fold -i h$seed.data --heap alloc >alloc$seed.folded || fail "fold --heap alloc"
	$PS fold -i h$seed.data --heap inuse >inuse$seed.folded || fail "fold --heap inuse"
	$PS fold -i h$seed.data --heap peak >peak$seed.folded || fail "fold --heap peak"
	# alloc: each path's share of the five paths' bytes, within 3 points of the truth
	tt=0
	tm=0
	for p in $paths; do
		tt=$((tt + $(truth truth$seed.txt $p)))
		tm=$((tm + $(bytes alloc$seed.folded $p)))
	done
	for p in $paths; do
		want=$(pct "$(truth truth$seed.txt $p)" $tt)
		got=$(pct "$(bytes alloc$seed.folded $p)" $tm)
		echo "seed $seed alloc $p: $got% (truth $want%)"
		within "$got" "$want" 3 || fail "alloc share of $p is $got%, truth $want% (seed $seed)"
	done
	# inuse: the leaks, within 15% (leak_large's 2 MiB blocks are always sampled: exact)
	for p in leak_small leak_large; do
		want=$(truth truth$seed.txt $p)
		got=$(bytes inuse$seed.folded $p)
		r=$(pct "$got" "$want")
		echo "seed $seed inuse $p: $got bytes (truth $want, $r%)"
		within "$r" 100 15 || fail "inuse bytes of $p are $r% of the truth (seed $seed)"
	done
	for p in churn_tiny churn_large hold_peak; do
		[ "$(bytes inuse$seed.folded $p)" = 0 ] || fail "inuse shows $p, which freed everything"
	done
	# peak: hold_peak's blocks and the leaks were live at once
	want=$(truth truth$seed.txt peak_hold)
	got=$(bytes peak$seed.folded hold_peak)
	r=$(pct "$got" "$want")
	echo "seed $seed peak hold_peak: $got bytes (truth $want, $r%)"
	within "$r" 100 15 || fail "peak bytes of hold_peak are $r% of the truth (seed $seed)"
	want=$(truth truth$seed.txt peak)
	got=$(awk '{ t += $NF } END { printf "%d\n", t }' peak$seed.folded)
	r=$(pct "$got" "$want")
	echo "seed $seed peak total: $got bytes (truth $want, $r%)"
	within "$r" 100 15 || fail "the peak is $r% of the truth (seed $seed)"
done

# heap-timeline: an SVG whose marked peak is the truth's
$PS heap-timeline -i h1.data >heap.svg || fail "heap-timeline failed"
xmllint --noout heap.svg || fail "heap-timeline's SVG is not well-formed"
grep -q '<g id="peak">' heap.svg || fail "heap-timeline marks no peak"
got=$(sed -n 's/.*peak_bytes \([0-9]*\) .*/\1/p' heap.svg)
r=$(pct "$got" "$(truth truth1.txt peak)")
echo "heap-timeline peak: $got bytes ($r% of the truth)"
within "$r" 100 15 || fail "heap-timeline's peak is $r% of the truth"
$PS flamegraph -i h1.data --heap inuse >live.svg || fail "flamegraph --heap inuse"
xmllint --noout live.svg || fail "the memory flame graph is not well-formed"
grep -q 'leak_large (16,777,216 bytes' live.svg || fail "the memory flame graph lacks leak_large's bytes"

# report --heap: bytes and objects per function; churn_tiny made 2,000,000 blocks
$PS report -i h1.data --heap alloc >report.txt || fail "report --heap alloc"
head -n 3 report.txt
grep -q '^#  self%.*self  *alloc_objects' report.txt || fail "report --heap has no objects column"
objs=$(awk '$NF == "churn_tiny" { print $4 }' report.txt)
r=$(pct "$objs" 2000000)
echo "report: churn_tiny $objs objects ($r% of the truth)"
within "$r" 100 10 || fail "report's churn_tiny objects are $r% of the truth"

# The default view of a heap-only trace is inuse; the default rate samples too.
$PS fold -i h1.data >default.folded
cmp -s default.folded inuse1.folded || fail "a heap-only trace's default view is not inuse"
$PS record -q --heap -o hd.data -- "$W" 1 >/dev/null || fail "record --heap at the default rate"
$PS fold -i hd.data --heap inuse >hd.folded
# 2 MiB blocks at a 512 KiB mean: each is sampled with p = 1 - e^-4 and weighted by 1/p,
# so all 8 seen read 102%, one missed 89%, two (about 1 run in 100) 76%
r=$(pct "$(bytes hd.folded leak_large)" 16777216)
within "$r" 100 30 || fail "the default rate sees $r% of leak_large's 16 MiB"
$PS info -i hd.data | grep -Eq '^heap_rate +524288$' || fail "info does not show heap_rate 524288"

# The exit status is the target's; fork and exec keep profiling into the same trace.
$PS record -q --heap -o hx.data -- sh -c 'exit 7'
[ $? = 7 ] || fail "the exit status of the target was not kept"
$PS record -q --heap --heap-rate 32768 -o hf.data -- sh -c "$W 1 >/dev/null; $W 2 >/dev/null" ||
	fail "record --heap of a shell that forks"
$PS fold -i hf.data --heap alloc --pid >hf.folded
n=$(grep ';leak_large ' hf.folded | sed 's/^\([^;]*\);.*/\1/' | sort -u | wc -l)
[ "$n" = 2 ] || { cat hf.folded; fail "expected leak_large in 2 processes after fork+exec, got $n"; }
[ "$(bytes hf.folded leak_large)" = 33554432 ] || fail "two runs' leak_large is not 32 MiB"

# C++ new[] from four threads: 4 x 2000 x 4 KiB leaked through operator new[], and as
# many freed at once through delete[].
cat >thr.cc <<'EOF2'
#include <pthread.h>
#include <cstdio>
static char *volatile keep;
__attribute__((noinline)) static void thread_leak() { for (int i = 0; i < 2000; i++) { keep = new char[4096]; keep[0] = 1; } }
__attribute__((noinline)) static void thread_churn() { for (int i = 0; i < 2000; i++) { char *p = new char[4096]; p[0] = 1; keep = p; delete[] p; } }
static void *run(void *) { thread_leak(); thread_churn(); return nullptr; }
int main() { pthread_t t[4]; for (auto &x : t) pthread_create(&x, nullptr, run, nullptr); for (auto &x : t) pthread_join(x, nullptr); std::puts("done"); }
EOF2
g++ -O1 -g -fno-omit-frame-pointer -pthread -o thr thr.cc || fail "cannot build the C++ thread workload"
$PS record -q --heap --heap-rate 32768 -o thr.data -- ./thr >thr.out || fail "record --heap of threads"
[ "$(cat thr.out)" = done ] || fail "the C++ workload's output changed"
$PS fold -i thr.data --heap inuse --tid >thr_inuse.folded
$PS fold -i thr.data --heap alloc >thr_alloc.folded
leak=$(awk '/;thread_leak\(\);/ { t += $NF } END { printf "%d\n", t }' thr_inuse.folded)
r=$(pct "$leak" $((4 * 2000 * 4096)))
echo "threads: thread_leak live $leak bytes ($r% of the truth)"
within "$r" 100 15 || fail "thread_leak's live bytes are $r% of the truth"
grep -q ';thread_leak();operator new' thr_inuse.folded || { head thr_inuse.folded; fail "no operator new[] frame under thread_leak"; }
grep ';thread_churn();' thr_inuse.folded | grep -qv ' 0$' && fail "thread_churn freed everything, inuse shows it"
churn=$(awk '/;thread_churn\(\);/ { t += $NF } END { printf "%d\n", t }' thr_alloc.folded)
r=$(pct "$churn" $((4 * 2000 * 4096)))
within "$r" 100 15 || fail "thread_churn's allocated bytes are $r% of the truth"
n=$(grep ';thread_leak();' thr_inuse.folded | cut -d';' -f1 | sort -u | wc -l)
[ "$n" = 4 ] || fail "expected thread_leak in 4 threads, got $n"

# CPU samples and heap samples in one trace.
$PS record -q -g --heap -F 499 -o hg.data -- "$W" 1 >/dev/null || fail "record -g --heap"
$PS fold -i hg.data | grep -q 'churn_tiny' || fail "no CPU samples in churn_tiny with -g --heap"
$PS fold -i hg.data --heap alloc | grep -q ';leak_large ' || fail "no heap samples with -g --heap"

# pprof's heap sample types, read by go tool pprof.
if command -v go >/dev/null 2>&1; then
	export HOME="$TMP" PPROF_TMPDIR="$TMP" GOCACHE="$TMP/gocache" GOFLAGS=
	$PS export --format pprof --heap alloc -i h1.data -o h1.pb.gz || fail "export --heap alloc"
	for t in alloc_objects alloc_space inuse_objects inuse_space; do
		go tool pprof -raw h1.pb.gz 2>/dev/null | grep -q "$t" || fail "no sample type $t"
	done
	go tool pprof -sample_index=alloc_space -top -nodecount=100 h1.pb.gz >top_alloc.txt 2>&1 ||
		{ cat top_alloc.txt; fail "go tool pprof -sample_index=alloc_space failed"; }
	go tool pprof -sample_index=inuse_space -top -nodecount=100 h1.pb.gz >top_inuse.txt 2>&1 ||
		{ cat top_inuse.txt; fail "go tool pprof -sample_index=inuse_space failed"; }
	cat top_alloc.txt top_inuse.txt
	# pprof's flat bytes for leak_large: 16 MiB in both views
	grep -Eq '^ *16(\.00)?MB .* leak_large$' top_alloc.txt || fail "pprof alloc_space: leak_large is not 16MB"
	grep -Eq '^ *16(\.00)?MB .* leak_large$' top_inuse.txt || fail "pprof inuse_space: leak_large is not 16MB"
	grep -Eq ' churn_tiny$' top_inuse.txt && fail "pprof inuse_space shows churn_tiny"
else
	fail "go is needed (scripts/install-deps.sh test installs golang-go)"
fi

# realloc: a failed one leaves its (sampled) block live; a moving one frees the old block.
cat >rf.c <<'EOF2'
#include <stdint.h>
#include <stdlib.h>
int main(void)
{
	char *p = malloc(4 << 20);
	p[0] = 1;
	char *q = realloc(p, SIZE_MAX / 2);          /* fails: p stays live */
	char *r = realloc(malloc(1 << 20), 3 << 20); /* 1 MiB freed, 3 MiB live */
	return q != NULL || r == NULL;
}
EOF2
cc -O1 -g -o rf rf.c || fail "cannot build rf.c"
$PS record -q --heap --heap-rate 32768 -o rf.data -- ./rf || fail "record --heap of realloc"
[ "$($PS fold -i rf.data --heap inuse | awk '{ t += $NF } END { print t }')" = $((7 << 20)) ] ||
	fail "after a failed and a moving realloc, 7 MiB should be live"
[ "$($PS fold -i rf.data --heap alloc | awk '{ t += $NF } END { print t }')" = $((8 << 20)) ] ||
	fail "a failed and a moving realloc should have allocated 8 MiB"

# A target that writes garbage to the heap socket (it can: the socket is in its
# environment): the messages are dropped and counted, its real allocation still recorded.
cat >garb.c <<'EOF2'
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
int main(void)
{
	const char *e = getenv("PERFSAMPLE_HEAP_FD");
	int fd = e ? atoi(e) : -1;
	static char buf[5000];
	memset(buf, 0x41, sizeof(buf));
	for (int i = 1; i < 5000; i += 37)
		send(fd, buf, i, MSG_NOSIGNAL);
	unsigned m[12] = {0x50534850u, 1 | (200u << 16)}; /* the magic, a stack of 200 */
	send(fd, m, sizeof(m), MSG_NOSIGNAL);
	return malloc(1 << 22) == 0;
}
EOF2
cc -O1 -g -o garb garb.c || fail "cannot build garb.c"
$PS record --heap -o garb.data -- ./garb 2>garb.err || { cat garb.err; fail "record --heap of a target writing garbage"; }
grep -q 'dropped 137 malformed heap message' garb.err || { cat garb.err; fail "the garbage was not counted"; }
$PS fold -i garb.data --heap alloc | grep -q ';main 41' || fail "garb's 4 MiB allocation is missing"

# Targets LD_PRELOAD cannot enter: one line, exit 1.
cat >st.c <<'EOF2'
int main(void) { return 0; }
EOF2
if cc -static -o st st.c 2>/dev/null; then
	expect_error '^perfsample: cannot profile the heap of .*statically linked' $PS record --heap -o s.data -- ./st
else
	fail "cannot build a static binary (libc6-dev)"
fi
cp /bin/true ./suid && chmod u+s ./suid
expect_error '^perfsample: cannot profile the heap of .*setuid' $PS record --heap -o s.data -- ./suid
expect_error 'heap' $PS record --heap -a -o s.data
$PS record -q -o cpu.data -- true || fail "record without --heap"
expect_error 'has no heap samples' $PS heap-timeline -i cpu.data
expect_error 'unknown --heap view' $PS fold -i h1.data --heap leaks
echo "heap profiles match the truth"
