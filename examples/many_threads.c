/* many_threads: a process with N threads (default 1000), all but BUSY (default 2) asleep
 * on a condition variable, the busy ones spinning in busy_thread_spin. Writes "ready" to
 * stdout once every thread runs, then lives SECONDS (default 20).
 * Usage: many_threads [N] [BUSY] [SECONDS] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int running, quit;
static volatile double sink;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

__attribute__((noinline)) static void busy_thread_spin(void)
{
	double x = 1.0;
	while (!__atomic_load_n(&quit, __ATOMIC_RELAXED))
		for (int i = 0; i < 100000; i++)
			x = x * 1.0000001 + 1e-9;
	sink = x;
}

static void *busy_thread(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	running++;
	pthread_mutex_unlock(&mu);
	busy_thread_spin();
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	running++;
	while (!quit)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	return NULL;
}

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 1000;
	int busy = argc > 2 ? atoi(argv[2]) : 2;
	double secs = argc > 3 ? atof(argv[3]) : 20;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	pthread_t *t = calloc((size_t)n, sizeof(*t));
	int made = 0;
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[made], &attr, i < busy ? busy_thread : sleeper, NULL) == 0)
			made++;
	for (;;) {
		pthread_mutex_lock(&mu);
		int r = running;
		pthread_mutex_unlock(&mu);
		if (r == made)
			break;
		usleep(1000);
	}
	printf("ready %d\n", made);
	fflush(stdout);
	double end = now() + secs;
	while (now() < end)
		usleep(20000);
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < made; i++)
		pthread_join(t[i], NULL);
	free(t);
	return 0;
}
