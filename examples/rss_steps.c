/* rss_steps: grows its resident set by STEP_MB (default 32) every half second, STEPS times
 * (default 4), then holds it for a second and exits: the truth for stat's rss_bytes. The
 * pages are written, so they are resident at once. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void pause_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int main(int argc, char **argv)
{
	int steps = argc > 1 ? atoi(argv[1]) : 4;
	size_t step = (size_t)(argc > 2 ? atoi(argv[2]) : 32) << 20;
	pause_ms(500);
	for (int i = 0; i < steps; i++) {
		char *p = malloc(step);
		if (!p)
			return 1;
		memset(p, 1 + i, step);
		pause_ms(500);
	}
	pause_ms(1000);
	return 0;
}
