/* deep_nofp: a workload for the DWARF unwinder, built without frame pointers.
 *
 * Every round spends 7 units of work in main -> work_a -> work_b -> work_leaf and 3 units at
 * the bottom of a 24-deep recursion, main -> recurse x 25 -> recurse_leaf: a 70/30 split of
 * CPU time between two known stacks. No call is a tail call (each caller uses the result
 * afterwards), so every frame stays on the stack.
 *
 * usage: deep_nofp [SECONDS]   (default 2) */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define UNIT 200000 /* iterations of the spin loop per unit, ~0.1 ms */
#define DEPTH 24

static volatile uint64_t sink;

static uint64_t spin(uint64_t units, uint64_t seed)
{
	uint64_t x = seed | 1;
	for (uint64_t i = 0; i < units * UNIT; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline)) uint64_t work_leaf(uint64_t units)
{
	uint64_t x = units | 1;
	/* The loop is in the leaf itself so that the samples land here, not in a helper. */
	for (uint64_t i = 0; i < units * UNIT; i++)
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	return x;
}

__attribute__((noinline)) uint64_t work_b(uint64_t units)
{
	uint64_t r = work_leaf(units);
	sink += r;
	return r ^ 2;
}

__attribute__((noinline)) uint64_t work_a(uint64_t units)
{
	uint64_t r = work_b(units);
	sink += r;
	return r ^ 1;
}

__attribute__((noinline)) uint64_t recurse_leaf(uint64_t units)
{
	uint64_t x = units | 1;
	for (uint64_t i = 0; i < units * UNIT; i++)
		x = x * 2862933555777941757ull + 3037000493ull;
	return x;
}

__attribute__((noinline)) uint64_t recurse(int depth, uint64_t units)
{
	if (depth == 0)
		return recurse_leaf(units);
	uint64_t r = recurse(depth - 1, units);
	sink += r;
	return r + (uint64_t)depth;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	double end = now() + seconds;
	uint64_t rounds = 0;
	sink = spin(1, 7); /* warm up outside the measured stacks' shapes */
	/* Each round's length is scaled by a pseudo-random factor (the 70/30 split holds per
	 * round), so a sampler at a fixed rate cannot lock onto the round's phase. */
	uint64_t seed = 12345;
	while (now() < end) {
		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		uint64_t k = 1 + (seed >> 33) % 4;
		sink += work_a(7 * k);
		sink += recurse(DEPTH, 3 * k);
		rounds++;
	}
	printf("deep_nofp: %llu rounds\n", (unsigned long long)rounds);
	return 0;
}
