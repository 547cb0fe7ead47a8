/* A workload with a known split of CPU work between three call paths:
 * main -> work -> heavy (60%), main -> work -> medium (30%), main -> light (10%),
 * by loop iterations. Usage: split [SECONDS] (default 1).
 *
 * Each round scales all three by the same pseudo-random factor (0.5 to 1.5), so the split
 * holds in every round while the round length varies: with a fixed round length, a sampling
 * period close to a simple fraction of it (2 ms against a 3 ms round) lands on the same few
 * phases again and again, and the measured split drifts far from the real one. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

/* The volatile local keeps a stack frame (and so a frame pointer) in this leaf, where gcc
 * would otherwise leave it out even with -mno-omit-leaf-frame-pointer. */
__attribute__((noinline)) static void spin(long n)
{
	volatile double x = 0;
	for (long i = 0; i < n; i++)
		x += (double)i * 0.5;
	sink = x;
}

/* The empty asm after each call keeps the compiler from turning it into a tail call,
 * which would drop the caller's frame from the stack. */
#define CALL(f) \
	do {                              \
		f;                        \
		__asm__ volatile("" ::: "memory"); \
	} while (0)

static long scale = 1000; /* iterations per unit of work, set each round */

__attribute__((noinline)) void heavy(void) { CALL(spin(600 * scale)); }
__attribute__((noinline)) void medium(void) { CALL(spin(300 * scale)); }
__attribute__((noinline)) void light(void) { CALL(spin(100 * scale)); }

__attribute__((noinline)) void work(void)
{
	CALL(heavy());
	CALL(medium());
}

/* 500..1499, from a fixed-seed LCG: the runs are repeatable, the round lengths irregular. */
static long next_scale(void)
{
	static unsigned long long state = 0x9e3779b97f4a7c15ULL;
	state = state * 6364136223846793005ULL + 1442695040888963407ULL;
	return 500 + (long)((state >> 33) % 1000);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	double end = now() + secs;
	long rounds = 0;
	while (now() < end) {
		scale = next_scale();
		for (int i = 0; i < 2; i++) {
			CALL(work());
			CALL(light());
		}
		rounds++;
	}
	printf("split: %ld rounds\n", rounds);
	return 0;
}
