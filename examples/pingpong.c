/* pingpong: two threads bounce a byte over a pair of pipes for SECONDS (default 1): every
 * round is two context switches, so the cost a recorder adds per switch shows as fewer
 * rounds. Prints "pingpong: N rounds". Used by make bench (off-CPU overhead). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];

static void *echo(void *arg)
{
	(void)arg;
	char c;
	while (read(ping[0], &c, 1) == 1 && c)
		if (write(pong[1], &c, 1) != 1)
			break;
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, end = now() + secs;
	if (pipe(ping) || pipe(pong))
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, echo, NULL);
	long rounds = 0;
	char c = 'x';
	while ((rounds & 255) || now() < end) {
		if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1)
			return 1;
		rounds++;
	}
	c = 0;
	if (write(ping[1], &c, 1) != 1)
		return 1;
	pthread_join(t, NULL);
	printf("pingpong: %ld rounds\n", rounds);
	return 0;
}
