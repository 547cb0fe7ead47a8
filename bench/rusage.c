/* rusage: runs a command and writes what it cost to a file, so a recorder that starts the
 * command can be charged only for its own CPU time: the recorder's total (wait4 on the
 * recorder, which includes the children it reaped) minus what this file says.
 *
 * usage: rusage OUT -- COMMAND [ARGS...]
 * OUT gets one line: "wall_s user_s sys_s maxrss_kb status" of COMMAND (with its reaped
 * children), plus this wrapper's own user and system time. The exit status is COMMAND's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double tv(struct timeval t) { return (double)t.tv_sec + (double)t.tv_usec / 1e6; }

int main(int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[2], "--")) {
		fprintf(stderr, "usage: rusage OUT -- COMMAND [ARGS...]\n");
		return 2;
	}
	double t0 = now();
	pid_t pid = fork();
	if (pid < 0) {
		perror("rusage: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "rusage: cannot run '%s': %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	int st;
	struct rusage ru;
	while (wait4(pid, &st, 0, &ru) < 0)
		if (errno != EINTR) {
			perror("rusage: wait4");
			return 2;
		}
	double wall = now() - t0;
	struct rusage self;
	getrusage(RUSAGE_SELF, &self);
	FILE *f = fopen(argv[1], "w");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fprintf(f, "%.6f %.6f %.6f %ld %d %.6f %.6f\n", wall, tv(ru.ru_utime), tv(ru.ru_stime),
		ru.ru_maxrss, st, tv(self.ru_utime), tv(self.ru_stime));
	fclose(f);
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + WTERMSIG(st);
}
