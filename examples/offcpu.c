/* offcpu: a thread whose wall time splits in known proportions between computing, waiting
 * in read() on a pipe that another thread answers after a fixed delay, and nanosleep —
 * the truth for off-CPU and wall-clock profiles.
 *
 *   examples/offcpu [SECONDS]     (default 2)
 *
 * Each round of the thread "worker" spins 20 ms (by the clock, so a loaded machine
 * stretches nothing: time it waits for a CPU is still computing time), then asks the
 * thread "answerer" over a pipe and blocks in read() until the answer, 30 ms later, then
 * sleeps 50 ms: 20% compute, 30% pipe, 50% sleep of its wall time. At the end it prints
 * what it measured, the truth a profile is compared with:
 *   worker tid=T compute=S pipe=S sleep=S total=S      (seconds)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static int req[2], ans[2];
static volatile double sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void nap(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

__attribute__((noinline)) static void compute(double seconds)
{
	double end = now() + seconds, x = 1.0;
	while (now() < end)
		for (int i = 0; i < 2000; i++)
			x = x * 1.0000001 + 1e-9;
	sink = x;
}

__attribute__((noinline)) static void wait_pipe(void)
{
	char c = 'q';
	if (write(req[1], &c, 1) != 1 || read(ans[0], &c, 1) != 1)
		exit(1);
}

__attribute__((noinline)) static void take_nap(void) { nap(50); }

__attribute__((noinline)) static void *answerer(void *arg)
{
	(void)arg;
	pthread_setname_np(pthread_self(), "answerer");
	char c;
	while (read(req[0], &c, 1) == 1) {
		nap(30);
		if (write(ans[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

__attribute__((noinline)) static void *worker(void *arg)
{
	double seconds = *(double *)arg, t_compute = 0, t_pipe = 0, t_sleep = 0;
	pthread_setname_np(pthread_self(), "worker");
	double start = now();
	while (now() - start < seconds) {
		double a = now();
		compute(0.020);
		double b = now();
		wait_pipe();
		double c = now();
		take_nap();
		double d = now();
		t_compute += b - a;
		t_pipe += c - b;
		t_sleep += d - c;
	}
	printf("worker tid=%ld compute=%.4f pipe=%.4f sleep=%.4f total=%.4f\n",
	       (long)syscall(SYS_gettid), t_compute, t_pipe, t_sleep, now() - start);
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 2.0;
	if (pipe(req) || pipe(ans))
		return 1;
	pthread_t a, w;
	pthread_create(&a, NULL, answerer, NULL);
	pthread_create(&w, NULL, worker, &seconds);
	pthread_join(w, NULL);
	close(req[1]);
	pthread_join(a, NULL);
	return 0;
}
