# The recorder cannot be hung by what a profiled process leaves behind: a FIFO where a
# library it mapped was (deleted, then replaced) or at /tmp/perf-PID.map. The end of a
# root recording opens those files to embed names; a blocking open of a FIFO waited for
# a writer forever. Regular files only, opened non-blocking.
. "$TOP/tests/e2e/lib.sh"
need_root
cat >libv.c <<'C'
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void victim_spin(double secs)
{
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		for (int i = 0; i < 100000; i++)
			sink += (unsigned long)i * 7;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
}
C
cat >prog.c <<'C'
#include <stdlib.h>
void victim_spin(double secs);
int main(int argc, char **argv) { victim_spin(argc > 1 ? atof(argv[1]) : 1); return 0; }
C
cflags="-O1 -g -fno-omit-frame-pointer"
cc $cflags -shared -fPIC -o libv.so libv.c && cc $cflags -o prog prog.c -L. -lv -Wl,-rpath,"$PWD" ||
	fail "cannot build the workload"
trap '[ -s jit.pid ] && rm -f "/tmp/perf-$(cat jit.pid).map"' EXIT
for mode in "-g" "--call-graph dwarf"; do
	cc $cflags -shared -fPIC -o libv.so libv.c || fail "cannot build the library"
	# The workload, as any user could: a FIFO at its JIT map path, then, once it has run,
	# one in place of its library.
	# shellcheck disable=SC2086,SC2016
	timeout 30 $PS record -q -F 499 $mode -o fifo.data -- sh -c '
		echo $$ >jit.pid && mkfifo /tmp/perf-$$.map && exec ./prog 1' >/dev/null 2>rec.err
	rc=$?
	rm -f "/tmp/perf-$(cat jit.pid).map"
	[ $rc != 124 ] || fail "record $mode hung on a FIFO"
	[ $rc = 0 ] || fail "record $mode failed ($rc): $(cat rec.err)"
	$PS fold -i fifo.data >fifo.folded 2>fold.err || fail "fold failed: $(cat fold.err)"
	grep -q '^prog;.*main;victim_spin [0-9]' fifo.folded ||
		{ head fifo.folded; fail "$mode: library names not embedded while it was there"; }

	# The library deleted and replaced by a FIFO before the recording ends.
	# shellcheck disable=SC2086
	timeout 30 $PS record -q -F 499 $mode -o gone.data -- sh -c './prog 1; rm -f libv.so; mkfifo libv.so' \
		>/dev/null 2>rec.err
	rc=$?
	[ $rc != 124 ] || fail "record $mode hung on a FIFO in place of a library"
	[ $rc = 0 ] || fail "record $mode failed ($rc): $(cat rec.err)"
	[ -p libv.so ] || fail "the FIFO is gone"
	# Readers too: the trace names the FIFO.
	timeout 30 $PS fold -i gone.data >gone.folded 2>fold.err
	[ $? != 124 ] || fail "fold hung on a FIFO in place of a library"
	grep -q '^prog;.*main;' gone.folded || { head gone.folded; fail "$mode: no stacks of prog"; }
	rm -f libv.so
done

# A regular file can cost time too: a debug file grown to 2 TB of holes where a binary's
# .gnu_debuglink points is read whole to check its CRC (minutes). Each candidate gets a
# few seconds, then it is refused and the binary's own symbols serve.
cc $cflags -shared -fPIC -o libv.so libv.c || fail "cannot build the library"
cc $cflags -Wl,--build-id=none -o dl prog.c -L. -lv -Wl,-rpath,"$PWD" || fail "cannot build dl"
objcopy --only-keep-debug dl dl.debug && strip --strip-debug dl && objcopy --add-gnu-debuglink=dl.debug dl ||
	fail "cannot split dl's debug info"
$PS record -q -F 499 -g --no-embed-symbols -o dl.data -- ./dl 0.5 >/dev/null 2>rec.err || fail "record failed: $(cat rec.err)"
truncate -s 2T dl.debug || fail "cannot make a sparse file" # still an ELF file
timeout 60 $PS fold -i dl.data >dl.folded 2>dl.err
rc=$?
rm -f dl.debug
[ $rc != 124 ] || fail "fold spent a minute on a 2 TB debuglink candidate"
[ $rc = 0 ] || fail "fold failed ($rc): $(cat dl.err)"
grep -q '^dl;.*main;victim_spin [0-9]' dl.folded || { head dl.folded; fail "no stacks of dl"; }
exit 0
