/* cmd/agent: what the agent's parts share — one profile made by child perfsample processes
 * (cmd/agent.c), and the push to Pyroscope (cmd/agent_push.c). */
#ifndef PS_CMD_AGENT_H
#define PS_CMD_AGENT_H

#include <stddef.h>
#include <stdio.h>

struct agent_job {
	int seconds, pid, frequency; /* pid 0: the whole host */
	int mode;		     /* 0 cpu, 1 off-cpu, 2 wall (cmd/agent.c's mode_names) */
	int svg;		     /* a flame graph, else gzipped pprof */
};

/* Records and renders one profile; returns an open file descriptor of the result (its
 * directory entry already gone), or -1 with a one-line reason in err. */
int agent_profile(const struct agent_job *j, char *err, size_t errlen);
/* Whether SIGTERM has come. */
int agent_stopping(void);

struct agent_push;
/* Starts pushing a CPU profile every interval seconds to url's /ingest (token: a Bearer,
 * or NULL). NULL with a one-line reason when url is not usable. */
struct agent_push *agent_push_start(const char *url, const char *token, const char *name,
				    unsigned interval, char *err, size_t errlen);
/* Stops both threads (what is queued is dropped, counted). NULL-safe. */
void agent_push_stop(struct agent_push *p);
/* Its counters in Prometheus text; nothing when p is NULL. */
void agent_push_metrics(struct agent_push *p, FILE *f);

#endif
