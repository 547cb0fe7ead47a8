/* cmd/agent_http: the agent's HTTP server on libmicrohttpd (see agent_http.h). */
#include "cmd/agent_http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct http_server {
	struct MHD_Daemon *d;
	struct http_conf c;
	pthread_mutex_t mu;
	uint64_t counts[6];
};

struct http_req {
	struct MHD_Connection *conn;
	int head;
};

const char *http_req_arg(struct http_req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

int http_req_head(struct http_req *r)
{
	return r->head;
}

/* The body of a reply of unknown length: never read (HEAD). */
static ssize_t no_body(void *cls, uint64_t pos, char *buf, size_t max)
{
	return MHD_CONTENT_READER_END_OF_STREAM;
}

void http_reply_text(struct http_reply *rep, int status, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	free(rep->body);
	rep->body = malloc(n);
	rep->len = rep->body ? (size_t)n : 0;
	if (rep->body)
		memcpy(rep->body, buf, n);
	rep->status = status;
	rep->type = "text/plain; charset=utf-8";
}

void http_log_escape(char *out, size_t outlen, const char *s)
{
	size_t o = 0;
	if (!outlen)
		return;
	for (; s && *s && o + 5 < outlen; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			o += snprintf(out + o, outlen - o, "\\x%02x", ch);
		else
			out[o++] = (char)ch;
	}
	if (s && *s && o + 4 < outlen)
		o += snprintf(out + o, outlen - o, "...");
	out[o] = 0;
}

/* Equal strings, in time that depends only on the length of the one we hold. */
static int token_equal(const char *have, const char *got)
{
	size_t hl = strlen(have), gl = strnlen(got, 4096);
	unsigned char d = hl != gl;
	for (size_t i = 0; i < hl; i++)
		d |= (unsigned char)have[i] ^ (unsigned char)(i < gl ? got[i] : 0);
	return d == 0;
}

static int authorized(struct http_server *s, struct MHD_Connection *conn)
{
	if (s->c.tls_client_ca_pem) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(conn, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (ci && ci->tls_session) {
			gnutls_session_t tls = (gnutls_session_t)ci->tls_session;
			unsigned st = 0, n = 0;
			if (gnutls_certificate_get_peers(tls, &n) && n > 0 &&
			    gnutls_certificate_verify_peers2(tls, &st) == 0 && st == 0)
				return 1;
		}
	}
	if (!s->c.token)
		return !s->c.tls_client_ca_pem;
	const char *h = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Authorization");
	if (!h || strncasecmp(h, "Bearer ", 7))
		return 0;
	h += 7;
	while (*h == ' ')
		h++;
	return token_equal(s->c.token, h);
}

static void peer_name(struct MHD_Connection *conn, char *out, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	snprintf(out, len, "?");
	if (!ci || !ci->client_addr)
		return;
	const struct sockaddr *sa = ci->client_addr;
	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, len);
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, out, len);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **con_cls)
{
	struct http_server *s = cls;
	/* Answered on the first call, when the headers are in: no endpoint takes a body, so
	 * one is never read (the connection closes after the answer). */
	if (*con_cls) {
		*upload_size = 0;
		return MHD_YES;
	}
	*con_cls = s;
	double t0 = now_s();
	struct http_reply rep = {.status = 500, .fd = -1};
	int head = !strcmp(method, "HEAD");
	if (strcmp(method, "GET") && !head)
		http_reply_text(&rep, 405, "method %s not allowed: GET or HEAD",
				strlen(method) < 16 ? method : "?");
	else if (!authorized(s, conn))
		http_reply_text(&rep, 401, "unauthorized: send Authorization: Bearer TOKEN");
	else {
		struct http_req r = {conn, head};
		s->c.handler(s->c.ctx, url, &r, &rep);
	}
	struct MHD_Response *resp;
	uint64_t bytes;
	if (rep.unknown_length) {
		/* As an HTTP/1.0 server answers: neither Content-Length nor chunked coding,
		 * which the GET would not use (RFC 9110 9.3.2: a HEAD may leave out what is
		 * known only once the content is made). */
		resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, no_body, NULL, NULL);
		if (resp)
			MHD_set_response_options(resp, MHD_RF_HTTP_1_0_SERVER, MHD_RO_END);
		bytes = 0;
		free(rep.body);
	} else if (rep.fd >= 0) {
		resp = MHD_create_response_from_fd64(rep.fd_len, rep.fd);
		bytes = rep.fd_len;
		if (!resp)
			close(rep.fd);
		free(rep.body);
	} else {
		resp = MHD_create_response_from_buffer(rep.len, rep.body ? rep.body : "",
						       rep.body ? MHD_RESPMEM_MUST_FREE
								: MHD_RESPMEM_PERSISTENT);
		bytes = rep.len;
		if (!resp)
			free(rep.body);
	}
	if (!resp)
		return MHD_NO;
	if (rep.type)
		MHD_add_response_header(resp, "Content-Type", rep.type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (rep.retry_after[0])
		MHD_add_response_header(resp, "Retry-After", rep.retry_after);
	if (rep.disposition[0]) {
		char cd[128];
		snprintf(cd, sizeof(cd), "attachment; filename=\"%s\"", rep.disposition);
		MHD_add_response_header(resp, "Content-Disposition", cd);
	}
	if (rep.status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	enum MHD_Result ret = MHD_queue_response(conn, (unsigned)rep.status, resp);
	MHD_destroy_response(resp);

	char peer[64], path[256];
	peer_name(conn, peer, sizeof(peer));
	http_log_escape(path, sizeof(path), url);
	fprintf(stderr, "perfsample agent: %s %s \"%s\" %d %llu bytes %.2f s\n", peer,
		head ? "HEAD" : strcmp(method, "GET") ? "OTHER" : "GET", path, rep.status,
		(unsigned long long)bytes, now_s() - t0);
	pthread_mutex_lock(&s->mu);
	if (rep.status >= 100 && rep.status < 600)
		s->counts[rep.status / 100]++;
	pthread_mutex_unlock(&s->mu);
	return ret;
}

void http_counts(struct http_server *s, uint64_t out[6])
{
	/* A request can come before http_start has returned the server to its caller. */
	if (!s) {
		memset(out, 0, 6 * sizeof(out[0]));
		return;
	}
	pthread_mutex_lock(&s->mu);
	memcpy(out, s->counts, sizeof(s->counts));
	pthread_mutex_unlock(&s->mu);
}

int http_parse_listen(const char *s, struct sockaddr_storage *ss, unsigned *len, int *loopback,
		      char *err, size_t errlen)
{
	char host[128];
	const char *colon = strrchr(s, ':');
	memset(ss, 0, sizeof(*ss));
	if (!colon || colon == s || (size_t)(colon - s) >= sizeof(host)) {
		snprintf(err, errlen, "--listen wants ADDR:PORT, not '%.64s'", s);
		return -1;
	}
	memcpy(host, s, colon - s);
	host[colon - s] = 0;
	char *end;
	errno = 0;
	unsigned long port = strtoul(colon + 1, &end, 10);
	if (!colon[1] || *end || errno || port > 65535 || colon[1] == '-' || colon[1] == '+') {
		snprintf(err, errlen, "--listen: bad port '%.16s'", colon + 1);
		return -1;
	}
	char *h = host;
	size_t hl = strlen(h);
	if (h[0] == '[' && hl > 2 && h[hl - 1] == ']') {
		h[hl - 1] = 0;
		h++;
	}
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, h, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof(*a4);
		*loopback = (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
		return 0;
	}
	if (inet_pton(AF_INET6, h, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*a6);
		*loopback = IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr);
		return 0;
	}
	snprintf(err, errlen, "--listen: '%.64s' is not a numeric IPv4 or IPv6 address", host);
	return -1;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	size_t n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	fprintf(stderr, "perfsample agent: http: %s\n", buf);
}

struct http_server *http_start(const struct http_conf *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	unsigned sslen;
	int lo;
	if (http_parse_listen(c->listen, &ss, &sslen, &lo, err, errlen))
		return NULL;
	struct http_server *s = calloc(1, sizeof(*s));
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->c = *c;
	pthread_mutex_init(&s->mu, NULL);
	/* One thread per connection: a profile blocks its request for seconds, and the
	 * connection limit bounds the threads. Idle connections (a client that connects and
	 * sends nothing, or stops reading) are closed after the timeout. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (c->tls_cert_pem)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem opts[16];
	int n = 0;
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)mhd_log, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &ss};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, c->max_conns, NULL};
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, c->timeout_s, NULL};
	/* Request line and headers are bounded by this buffer: longer ones get 431/414. */
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_MEMORY_LIMIT, 16384, NULL};
	if (c->tls_cert_pem) {
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0,
						    (void *)c->tls_cert_pem};
		opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0,
						    (void *)c->tls_key_pem};
		if (c->tls_client_ca_pem)
			opts[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0,
							    (void *)c->tls_client_ca_pem};
	}
	opts[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
	s->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, s, MHD_OPTION_ARRAY, opts,
				MHD_OPTION_END);
	if (!s->d) {
		snprintf(err, errlen, "cannot listen on %.64s (in use, or TLS files not valid)",
			 c->listen);
		pthread_mutex_destroy(&s->mu);
		free(s);
		return NULL;
	}
	return s;
}

void http_stop(struct http_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->d);
	pthread_mutex_destroy(&s->mu);
	free(s);
}
