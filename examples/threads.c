/* threads: N threads (default 4) spinning for SECONDS (default 5), thread i in
 * thread_spin_a or thread_spin_b (even/odd), so a profile shows both, about half each.
 * Usage: threads [N] [SECONDS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double secs = 5;
static volatile double sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static double thread_spin_a(double end)
{
	double x = 1.0;
	while (now() < end)
		for (int i = 0; i < 20000; i++)
			x = x * 1.0000001 + 1e-9;
	return x;
}

__attribute__((noinline)) static double thread_spin_b(double end)
{
	double x = 2.0;
	while (now() < end)
		for (int i = 0; i < 20000; i++)
			x = x * 1.0000002 + 1e-9;
	return x;
}

static void *run(void *arg)
{
	double end = now() + secs;
	sink = ((size_t)arg % 2) ? thread_spin_b(end) : thread_spin_a(end);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 4;
	if (argc > 2)
		secs = atof(argv[2]);
	pthread_t *t = calloc((size_t)(n > 0 ? n : 1), sizeof(*t));
	for (int i = 0; i < n; i++)
		pthread_create(&t[i], NULL, run, (void *)(size_t)i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}
