/* churn: threads come and go. Starts short-lived threads all the time (RATE a second,
 * default 400), each named churn-N with pthread_setname_np and spending about WORK_US
 * microseconds of CPU in churn_worker_work before it ends. Runs SECONDS (default 10).
 * Prints the number of threads it started at the end.
 * Usage: churn [SECONDS] [RATE] [WORK_US] */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long work_us = 2000;
static volatile double sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double thread_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The one function the churning threads burn CPU in: its name is what the test looks for. */
__attribute__((noinline)) static void churn_worker_work(void)
{
	double until = thread_cpu() + (double)work_us / 1e6;
	double x = 1.0;
	while (thread_cpu() < until)
		for (int i = 0; i < 2000; i++)
			x = x * 1.0000001 + 1e-9;
	sink = x;
}

static void *churn_worker(void *arg)
{
	char name[16];
	snprintf(name, sizeof(name), "churn-%lu", (unsigned long)(size_t)arg % 100000);
	pthread_setname_np(pthread_self(), name);
	churn_worker_work();
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 10;
	long rate = argc > 2 ? atol(argv[2]) : 400;
	if (argc > 3)
		work_us = atol(argv[3]);
	if (rate < 1)
		rate = 1;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	double start = now(), next = start;
	unsigned long started = 0;
	while (now() - start < secs) {
		pthread_t t;
		if (pthread_create(&t, &attr, churn_worker, (void *)(size_t)started) == 0)
			started++;
		next += 1.0 / (double)rate;
		double wait = next - now();
		if (wait > 0) {
			struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
			nanosleep(&ts, NULL);
		}
	}
	/* Let the last threads finish before exiting. */
	usleep((useconds_t)(work_us * 4 + 50000));
	printf("%lu threads started\n", started);
	return 0;
}
