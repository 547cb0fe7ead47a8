/* heapwork: a heap workload with known byte totals on known call paths, for the heap
 * profile's tests against truth (tests/e2e/t_heap.sh) and the peers' comparison.
 *
 *   churn_tiny   2,000,000 blocks of 16..48 bytes, each freed at once
 *   churn_large  64 blocks of about 1 MiB, each freed at once
 *   leak_small   200,000 blocks of 64..128 bytes, never freed
 *   leak_large   8 blocks of 2 MiB (calloc), never freed
 *   list_grow    the list of leak_small's blocks, grown by realloc (2 MiB at the end)
 *   hold_peak    512 blocks of 64 KiB (posix_memalign, then realloc to 64 KiB + 1 KiB
 *                for half of them), all live at once — the peak — then freed
 *
 * The phases run in that order, so the live heap peaks at the end of hold_peak, holding
 * both leaks and hold_peak's blocks. Sizes are drawn from SEED (default 1); the exact
 * totals per path are printed on stdout as "truth PATH BYTES" lines, "truth peak_hold
 * BYTES" (hold_peak's live bytes at the peak) and "truth peak BYTES" (every live byte of
 * this program's own blocks at the peak).
 * ROUNDS (default 1) repeats churn_tiny, for benchmarks of allocation-heavy code.
 * Usage: heapwork [SEED [ROUNDS]] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng;
static unsigned next(unsigned n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned)((rng >> 33) % n);
}

static void *volatile sink;
static void **leaked; /* reachable, never freed: valgrind calls them "still reachable" */

__attribute__((noinline)) static uint64_t churn_tiny(void)
{
	uint64_t total = 0;
	for (int i = 0; i < 2000000; i++) {
		size_t n = 16 + 8 * next(5);
		char *p = malloc(n);
		p[0] = (char)i;
		sink = p;
		free(p);
		total += n;
	}
	return total;
}

__attribute__((noinline)) static uint64_t churn_large(void)
{
	uint64_t total = 0;
	for (int i = 0; i < 64; i++) {
		size_t n = (1u << 20) + next(4096);
		char *p = malloc(n);
		memset(p, i, 4096);
		sink = p;
		free(p);
		total += n;
	}
	return total;
}

static size_t list_bytes; /* the leaked list's own block */

/* Grows leak_small's list: its own path, so leak_small's bytes are the blocks alone. */
__attribute__((noinline)) static void **list_grow(void **list, size_t cap)
{
	list_bytes = cap * sizeof(*list);
	return realloc(list, list_bytes);
}

__attribute__((noinline)) static uint64_t leak_small(void)
{
	uint64_t total = 0;
	size_t cap = 0, n = 0;
	void **list = NULL;
	for (int i = 0; i < 200000; i++) {
		size_t sz = 64 + 16 * next(5);
		void *p = malloc(sz);
		memset(p, 1, 8);
		if (n == cap) {
			cap = cap ? cap * 2 : 1024;
			list = list_grow(list, cap);
		}
		list[n++] = p;
		total += sz;
	}
	leaked = list;
	return total;
}

__attribute__((noinline)) static uint64_t leak_large(void)
{
	uint64_t total = 0;
	static void *keep[8];
	for (int i = 0; i < 8; i++) {
		keep[i] = calloc(2, 1u << 20);
		total += 2u << 20;
	}
	sink = keep;
	return total;
}

__attribute__((noinline)) static uint64_t hold_peak(uint64_t *held)
{
	static void *blocks[512];
	uint64_t total = 0;
	*held = 0;
	for (int i = 0; i < 512; i++) {
		void *p = NULL;
		if (posix_memalign(&p, 64, 65536))
			abort();
		memset(p, 2, 64);
		total += 65536;
		*held += 65536;
		if (i % 2) {
			/* realloc: the old block is freed, a new one allocated here */
			p = realloc(p, 65536 + 1024);
			total += 65536 + 1024;
			*held += 1024;
		}
		blocks[i] = p;
	}
	for (int i = 0; i < 512; i++)
		free(blocks[i]);
	return total;
}

int main(int argc, char **argv)
{
	rng = argc > 1 ? strtoull(argv[1], NULL, 10) : 1;
	int rounds = argc > 2 ? atoi(argv[2]) : 1;
	uint64_t tiny = 0;
	for (int i = 0; i < (rounds > 0 ? rounds : 1); i++)
		tiny += churn_tiny();
	uint64_t large = churn_large();
	uint64_t small = leak_small();
	uint64_t big = leak_large();
	uint64_t held;
	uint64_t hold = hold_peak(&held);
	printf("truth churn_tiny %llu\n", (unsigned long long)tiny);
	printf("truth churn_large %llu\n", (unsigned long long)large);
	printf("truth leak_small %llu\n", (unsigned long long)small);
	printf("truth leak_large %llu\n", (unsigned long long)big);
	printf("truth hold_peak %llu\n", (unsigned long long)hold);
	printf("truth peak_hold %llu\n", (unsigned long long)held);
	printf("truth peak %llu\n", (unsigned long long)(small + big + held + list_bytes));
	return 0;
}
