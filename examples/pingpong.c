/* pingpong: two threads bounce a byte over a pair of pipes for SECONDS (default 1): every
 * round is two context switches, so the cost a recorder adds per switch shows as fewer
 * rounds. Prints "pingpong: N rounds". Used by make bench (off-CPU overhead).
 *
 * pingpong SECONDS LONG_US [SHORT_US]: a known off-CPU split for sampled stacks. In a
 * pseudo-random third of the rounds the echo thread computes LONG_US microseconds before
 * it answers, in the others SHORT_US (default 0); main waits for the long answers in
 * wait_long(), for the others in wait_short(), measures its time in each read and prints
 * "short=S long=L" (seconds). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int ping[2], pong[2];
static double spin_s, spin_short_s;

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *echo(void *arg)
{
	(void)arg;
	char c;
	while (read(ping[0], &c, 1) == 1 && c) {
		if (c == 'l' || c == 's')
			for (double end = now() + (c == 'l' ? spin_s : spin_short_s); now() < end;)
				;
		if (write(pong[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

static double waited[2]; /* short, long */

__attribute__((noinline)) static int wait_for(int kind, char *c)
{
	double t0 = now();
	int ok = read(pong[0], c, 1) == 1;
	waited[kind] += now() - t0;
	return ok;
}

__attribute__((noinline)) static int wait_short(char *c) { return wait_for(0, c); }
__attribute__((noinline)) static int wait_long(char *c) { return wait_for(1, c); }

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0, end = now() + secs;
	spin_s = argc > 2 ? atof(argv[2]) / 1e6 : 0;
	spin_short_s = argc > 3 ? atof(argv[3]) / 1e6 : 0;
	if (pipe(ping) || pipe(pong))
		return 1;
	pthread_t t;
	pthread_create(&t, NULL, echo, NULL);
	long rounds = 0;
	unsigned seed = 12345;
	char c = 'x';
	while ((rounds & 255) || now() < end) {
		if (spin_s > 0) {
			seed = seed * 1103515245u + 12345u;
			c = (seed >> 16) % 3 == 0 ? 'l' : 's';
			if (write(ping[1], &c, 1) != 1 || !(c == 'l' ? wait_long(&c) : wait_short(&c)))
				return 1;
		} else if (write(ping[1], &c, 1) != 1 || read(pong[0], &c, 1) != 1) {
			return 1;
		}
		rounds++;
	}
	c = 0;
	if (write(ping[1], &c, 1) != 1)
		return 1;
	pthread_join(t, NULL);
	printf("pingpong: %ld rounds\n", rounds);
	if (spin_s > 0)
		printf("short=%.6f long=%.6f\n", waited[0], waited[1]);
	return 0;
}
