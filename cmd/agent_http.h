/* cmd/agent_http: the agent's HTTP server, on libmicrohttpd (GnuTLS for TLS): listening,
 * authentication (a Bearer token compared in constant time, or a TLS client certificate),
 * GET/HEAD only, bounded requests, timeouts for slow or silent clients, one log line per
 * request. What a path answers is the agent's (cmd/agent.c): a handler fills a reply. */
#ifndef PS_CMD_AGENT_HTTP_H
#define PS_CMD_AGENT_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http_req; /* one request, valid during the handler */

/* The value of query parameter name, or NULL. */
const char *http_req_arg(struct http_req *r, const char *name);
/* Whether the request is a HEAD: its body is never sent. */
int http_req_head(struct http_req *r);

struct http_reply {
	int status;
	const char *type;	/* Content-Type */
	char *body;		/* malloc'd, freed by the server; or */
	size_t len;
	int fd;			/* >= 0: the body is this file (the server closes it) */
	uint64_t fd_len;
	char retry_after[24];	/* 429: seconds */
	char disposition[64];	/* Content-Disposition filename, or "" */
	int unknown_length;	/* a HEAD answered without making the body: no Content-Length */
};

/* An error reply: a one-line text body "REASON\n". */
void http_reply_text(struct http_reply *rep, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

typedef void (*http_handler)(void *ctx, const char *path, struct http_req *r,
			     struct http_reply *rep);

struct http_conf {
	const char *listen;	  /* ADDR:PORT, [V6]:PORT */
	const char *token;	  /* NULL: no token */
	const char *tls_cert_pem, *tls_key_pem; /* NULL: plain HTTP */
	const char *tls_client_ca_pem;		/* NULL: no client certificates */
	unsigned timeout_s;	  /* idle connection timeout */
	unsigned max_conns;
	http_handler handler;
	void *ctx;
};

struct http_server;

/* Starts serving on its own threads; on error returns NULL with a one-line reason in err. */
struct http_server *http_start(const struct http_conf *c, char *err, size_t errlen);
/* Stops accepting, waits for the requests in flight, frees. NULL-safe. */
void http_stop(struct http_server *s);
/* Requests answered, by status class (for /metrics): index status/100 (1..5); zeros for
 * NULL. */
void http_counts(struct http_server *s, uint64_t out[6]);

/* Parses ADDR:PORT into a socket address; returns 0, or -1 with err set. loopback says
 * whether the address is 127.0.0.0/8 or ::1. */
struct sockaddr_storage;
int http_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned *len, int *loopback,
		      char *err, size_t errlen);

/* Writes s into out (outlen bytes), bounded and with bytes outside printable ASCII and
 * quotes as \xNN: hostile paths and agents in one log line. */
void http_log_escape(char *out, size_t outlen, const char *s);

#endif
