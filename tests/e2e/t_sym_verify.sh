# Names come only from the file that was recorded. A binary without a build-id (linked
# with --build-id=none), recorded without embedded names, then rebuilt at the same path
# with other functions: its frames used to be named from the new file without a word
# (pad0 for hot_function_v1). The recorder now stores the file's identity (size, mtime,
# inode) in the trace, and readers leave frames of a changed file unnamed and say so.
. "$TOP/tests/e2e/lib.sh"
cat >v1.c <<'C'
#include <stdlib.h>
#include <time.h>
volatile unsigned long sink;
__attribute__((noinline)) void hot_function_v1(void)
{
	for (int i = 0; i < 1000; i++)
		sink += (unsigned long)i * 3;
}
int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	do {
		hot_function_v1();
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
	return 0;
}
C
# Version 2 puts other functions where v1 had its hot one.
sed -e 's/hot_function_v1/pad0/g' -e 's/^volatile unsigned long sink;/&\n__attribute__((noinline)) void pad1(void) { sink++; }/' v1.c >v2.c
build() { cc -O1 -g -fno-omit-frame-pointer -Wl,--build-id=none -o prog "$1" || fail "cannot build $1"; }
build v1.c
readelf -n prog 2>/dev/null | grep -q 'Build ID' && fail "prog has a build-id"
$PS record -q -F 499 -g --no-embed-symbols -o v.data -- ./prog 1 >/dev/null 2>rec.err || fail "record failed: $(cat rec.err)"
# While the file is the one recorded, its names are used, without a warning.
$PS fold -i v.data >same.folded 2>same.err || fail "fold failed: $(cat same.err)"
grep -q '^prog;.*main;hot_function_v1 [0-9]' same.folded || { head same.folded; fail "v1's names not resolved"; }
[ ! -s same.err ] || fail "warnings for the recorded file: $(cat same.err)"

sleep 1.1 # a later mtime even on coarse clocks
build v2.c
$PS fold -i v.data >v2.folded 2>v2.err || fail "fold failed: $(cat v2.err)"
grep -q 'pad0\|pad1' v2.folded && { cat v2.folded; fail "names taken from the rebuilt file"; }
grep -q '^prog;\[prog\] [0-9]' v2.folded || grep -q '^prog;.*\[prog\]' v2.folded || { cat v2.folded; fail "frames of the changed file are not left unnamed"; }
[ "$(wc -l <v2.err)" = 1 ] || fail "expected one warning: $(cat v2.err)"
grep -q "warning: '.*prog' changed since it was recorded: its frames are left unnamed" v2.err || fail "wrong warning: $(cat v2.err)"
exit 0
