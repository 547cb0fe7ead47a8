/* burst: burns CPU for the first 200 ms of every second and sleeps the other 800 ms, for
 * SECONDS seconds (default 4). The heat map's truth: one 200 ms band per second, and the
 * band's flame graph holds burn() only. */
#include <stdlib.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile unsigned long sink;

__attribute__((noinline)) static void burn(double until)
{
	while (now() < until)
		for (int i = 0; i < 10000; i++)
			sink += (unsigned long)i * 7;
}

__attribute__((noinline)) static void rest(double until)
{
	double d = until - now();
	if (d <= 0)
		return;
	struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int secs = argc > 1 ? atoi(argv[1]) : 4;
	double t0 = now();
	for (int i = 0; i < secs; i++) {
		burn(t0 + i + 0.2);
		rest(t0 + i + 1.0);
	}
	return 0;
}
