/* A workload whose hot code is inlined: main -> outer, where outer inlines middle, which
 * inlines inner (the loop). With DWARF inline info the stack reads
 * main;outer;middle;inner; without it, main;outer. Usage: inline [SECONDS]. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile double sink;

static inline __attribute__((always_inline)) void inner(long n)
{
	double x = 0;
	for (long i = 0; i < n; i++)
		x += (double)i * 0.25;
	sink = x;
}

static inline __attribute__((always_inline)) void middle(long n)
{
	inner(n);
	sink += 1;
}

/* The volatile local gives outer a stack frame, so frame pointers still name main. */
__attribute__((noinline)) void outer(void)
{
	volatile int frame = 0;
	middle(100000 + frame);
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	long rounds = 0;
	do {
		for (int i = 0; i < 50; i++)
			outer();
		rounds++;
		clock_gettime(CLOCK_MONOTONIC, &b);
	} while ((double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9 < secs);
	printf("inline: %ld rounds\n", rounds);
	return 0;
}
