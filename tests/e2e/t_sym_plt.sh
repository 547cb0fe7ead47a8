# Names as perf gives them: a call into libc that is sampled in its PLT stub reads
# labs@plt (it had no name, or _init's), and no glibc name carries a symbol version
# (pthread_mutexattr_gettype@@GLIBC_2.34 with glibc's debug symbols installed).
. "$TOP/tests/e2e/lib.sh"
need_root
command -v cc >/dev/null || skip "needs cc"
cat > plt.c <<'EOF'
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1;
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	struct timespec t0, t;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	long s = 0;
	int k;
	do {
		for (int i = 0; i < 100000; i++) {
			s += labs(i - s);
			s += pthread_mutexattr_gettype(&a, &k);
		}
		clock_gettime(CLOCK_MONOTONIC, &t);
	} while (t.tv_sec - t0.tv_sec + (t.tv_nsec - t0.tv_nsec) / 1e9 < secs);
	return s == 42;
}
EOF
cc -O1 -g -fno-builtin -fno-omit-frame-pointer -o plt plt.c -lpthread || fail "cannot build plt.c"
# Under a hypervisor, cpu-clock samples of some runs pile up on one instruction of main
# and miss the stubs (about one run in seven here): a run without stub samples is
# retried, twice at most.
for try in 1 2 3; do
	$PS record -q -F 999 -g -- ./plt 1.5 >/dev/null || fail "record failed"
	$PS fold > out.folded || fail "fold failed"
	stub=$(share out.folded '@plt$')
	echo "try $try: $stub% of samples in PLT stubs"
	awk -v s="$stub" 'BEGIN { exit !(s >= 1) }' && break
done
grep -Eq ';(labs|pthread_mutexattr_gettype)@plt ' out.folded ||
	{ sort -k2 -n -r out.folded | head -5; fail "no samples in labs@plt or pthread_mutexattr_gettype@plt"; }
grep -q 'pthread_mutexattr_gettype ' out.folded || fail "no pthread_mutexattr_gettype frames"
! grep -Eq '(^|;)_init( |;)' out.folded || fail "_init named a PLT stub"
if grep -Eo '@[^; ]*' out.folded | grep -v '^@plt$' | grep -q .; then
	grep -E '@' out.folded | head -5
	fail "a name carries a symbol version"
fi
