/* cmd/agent_push: CPU profiles pushed to Pyroscope's /ingest (format=pprof), with libcurl.
 * One thread records back to back, another sends: a slow or absent server never holds up
 * the recording. The queue is short; what cannot wait in it, or cannot be sent after the
 * retries, is dropped and counted. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cmd/agent.h"

#define QUEUE 4
#define TRIES 4
#define MAX_PROFILE (64u << 20)

struct item {
	char *buf;
	size_t len;
	time_t from, until;
};

struct agent_push {
	char *url; /* .../ingest */
	char *token, *name;
	unsigned interval;
	pthread_t rec, send;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int stop;
	struct item q[QUEUE];
	int qn;
	unsigned long long sent, retries, failed_profiles;
	/* Dropped profiles, by why: the queue was full (the oldest goes), the server did not
	 * take it after the retries, or the agent stopped with it unsent. */
	unsigned long long dropped_queue, dropped_send, dropped_stop;
};

static void *recorder(void *arg)
{
	struct agent_push *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		int stop = p->stop;
		pthread_mutex_unlock(&p->mu);
		if (stop || agent_stopping())
			break;
		struct agent_job j = {.seconds = (int)p->interval, .frequency = 99};
		char err[256];
		time_t from = time(NULL);
		int fd = agent_profile(&j, err, sizeof(err));
		time_t until = time(NULL);
		struct item it = {.from = from, .until = until};
		struct stat sb;
		if (fd >= 0 && !fstat(fd, &sb) && sb.st_size > 0 && sb.st_size <= MAX_PROFILE &&
		    (it.buf = malloc((size_t)sb.st_size))) {
			size_t got = 0;
			ssize_t n;
			while (got < (size_t)sb.st_size &&
			       (n = read(fd, it.buf + got, (size_t)sb.st_size - got)) > 0)
				got += (size_t)n;
			it.len = got;
		}
		if (fd >= 0)
			close(fd);
		pthread_mutex_lock(&p->mu);
		if ((!it.buf || !it.len) && (p->stop || agent_stopping())) {
			free(it.buf); /* a recording cut short by the stop is no failure */
			pthread_mutex_unlock(&p->mu);
			break;
		}
		if (!it.buf || !it.len) {
			free(it.buf);
			p->failed_profiles++;
			pthread_mutex_unlock(&p->mu);
			fprintf(stderr, "perfsample agent: push: no profile: %s\n",
				fd < 0 ? err : "empty");
			sleep(1); /* a failing recorder does not spin */
			continue;
		}
		if (p->qn == QUEUE) { /* the sender is behind: the oldest goes */
			free(p->q[0].buf);
			memmove(p->q, p->q + 1, sizeof(p->q[0]) * (QUEUE - 1));
			p->qn--;
			p->dropped_queue++;
			fprintf(stderr, "perfsample agent: push: queue full, dropped the oldest\n");
		}
		p->q[p->qn++] = it;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

static size_t discard(char *ptr, size_t size, size_t n, void *u)
{
	return size * n;
}

/* A send in progress ends when the agent stops: a hung server holds no one up. */
static int stop_check(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
		      curl_off_t ulnow)
{
	struct agent_push *p = arg;
	pthread_mutex_lock(&p->mu);
	int stop = p->stop;
	pthread_mutex_unlock(&p->mu);
	return stop;
}

/* One POST; 0 when the server took it (2xx). */
static int post(struct agent_push *p, const struct item *it, char *why, size_t whylen)
{
	CURL *c = curl_easy_init();
	if (!c) {
		snprintf(why, whylen, "curl_easy_init failed");
		return -1;
	}
	char *name = curl_easy_escape(c, p->name, 0);
	char url[4096];
	snprintf(url, sizeof(url),
		 "%s?name=%s&from=%lld&until=%lld&sampleRate=99&spyName=perfsample&format=pprof",
		 p->url, name ? name : "perfsample", (long long)it->from, (long long)it->until);
	curl_free(name);
	curl_mime *mime = curl_mime_init(c);
	curl_mimepart *part = curl_mime_addpart(mime);
	curl_mime_name(part, "profile");
	curl_mime_filename(part, "profile.pprof");
	curl_mime_type(part, "application/octet-stream");
	curl_mime_data(part, it->buf, it->len);
	struct curl_slist *h = NULL;
	char auth[4200];
	if (p->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", p->token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, stop_check);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, p);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "perfsample-agent");
	CURLcode rc = curl_easy_perform(c);
	long code = 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(c);
	curl_mime_free(mime);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		snprintf(why, whylen, "%s", curl_easy_strerror(rc));
		return -1;
	}
	if (code < 200 || code > 299) {
		snprintf(why, whylen, "HTTP %ld", code);
		return -1;
	}
	return 0;
}

static void *sender(void *arg)
{
	struct agent_push *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && !p->qn)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		struct item it = p->q[0];
		memmove(p->q, p->q + 1, sizeof(p->q[0]) * (QUEUE - 1));
		p->qn--;
		int ok = 0;
		unsigned backoff = 1;
		char why[256] = "";
		for (int t = 0; t < TRIES && !p->stop; t++) {
			if (t) {
				p->retries++;
				struct timespec ts;
				clock_gettime(CLOCK_REALTIME, &ts);
				ts.tv_sec += backoff;
				backoff *= 2;
				while (!p->stop &&
				       pthread_cond_timedwait(&p->cv, &p->mu, &ts) != ETIMEDOUT)
					;
				if (p->stop)
					break;
			}
			pthread_mutex_unlock(&p->mu);
			ok = post(p, &it, why, sizeof(why)) == 0;
			pthread_mutex_lock(&p->mu);
			if (ok)
				break;
		}
		free(it.buf);
		if (ok) {
			p->sent++;
			fprintf(stderr, "perfsample agent: push: sent %zu bytes (%lld-%lld)\n", it.len,
				(long long)it.from, (long long)it.until);
		} else {
			if (p->stop)
				p->dropped_stop++;
			else
				p->dropped_send++;
			fprintf(stderr, "perfsample agent: push: dropped a profile: %s\n",
				p->stop ? "stopping" : why);
		}
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct agent_push *agent_push_start(const char *url, const char *token, const char *name,
				    unsigned interval, char *err, size_t errlen)
{
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		snprintf(err, errlen, "--push: '%.64s' is not an http:// or https:// URL", url);
		return NULL;
	}
	if (strlen(url) > 2048 || strpbrk(url, " \t\r\n?#")) {
		snprintf(err, errlen, "--push: the URL is too long or has a query or blanks");
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(err, errlen, "--push: libcurl did not start");
		return NULL;
	}
	struct agent_push *p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	size_t ul = strlen(url);
	while (ul > 8 && url[ul - 1] == '/')
		ul--;
	int has = ul >= 7 && !strncmp(url + ul - 7, "/ingest", 7);
	p->url = malloc(ul + 8);
	if (p->url)
		snprintf(p->url, ul + 8, "%.*s%s", (int)ul, url, has ? "" : "/ingest");
	p->token = token ? strdup(token) : NULL;
	char host[256] = "localhost", def[400];
	gethostname(host, sizeof(host) - 1);
	host[sizeof(host) - 1] = 0;
	snprintf(def, sizeof(def), "perfsample.cpu{host=%s}", host);
	p->name = strdup(name ? name : def);
	p->interval = interval;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (!p->url || !p->name || pthread_create(&p->send, NULL, sender, p)) {
		snprintf(err, errlen, "--push: cannot start");
		free(p->url);
		free(p->token);
		free(p->name);
		free(p);
		return NULL;
	}
	if (pthread_create(&p->rec, NULL, recorder, p)) {
		pthread_mutex_lock(&p->mu);
		p->stop = 1;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		pthread_join(p->send, NULL);
		snprintf(err, errlen, "--push: cannot start");
		return NULL;
	}
	/* The log gets the URL without its user:password. */
	const char *h = strstr(p->url, "://") + 3, *slash = strchr(h, '/');
	const char *at = memchr(h, '@', slash ? (size_t)(slash - h) : strlen(h));
	fprintf(stderr, "perfsample agent: pushing %u s profiles to %.*s%s%s\n", interval,
		(int)(h - p->url), p->url, at ? "***@" : "", at ? at + 1 : h);
	return p;
}

void agent_push_stop(struct agent_push *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->rec, NULL);
	pthread_join(p->send, NULL);
	for (int i = 0; i < p->qn; i++)
		free(p->q[i].buf);
	p->dropped_stop += (unsigned long long)p->qn;
	free(p->url);
	free(p->token);
	free(p->name);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
	curl_global_cleanup();
}

void agent_push_metrics(struct agent_push *p, FILE *f)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	unsigned long long sent = p->sent, retries = p->retries, failed = p->failed_profiles;
	unsigned long long dq = p->dropped_queue, ds = p->dropped_send, dst = p->dropped_stop;
	int queued = p->qn;
	pthread_mutex_unlock(&p->mu);
	fprintf(f, "# HELP perfsample_agent_push_sent_total Profiles Pyroscope accepted.\n"
		   "# TYPE perfsample_agent_push_sent_total counter\n"
		   "perfsample_agent_push_sent_total %llu\n",
		sent);
	fprintf(f, "# HELP perfsample_agent_push_dropped_total Profiles not sent, by reason: "
		   "queue full (the oldest goes), send failed after the retries, agent stopping.\n"
		   "# TYPE perfsample_agent_push_dropped_total counter\n"
		   "perfsample_agent_push_dropped_total{reason=\"queue_full\"} %llu\n"
		   "perfsample_agent_push_dropped_total{reason=\"send_failed\"} %llu\n"
		   "perfsample_agent_push_dropped_total{reason=\"stopping\"} %llu\n",
		dq, ds, dst);
	fprintf(f, "# HELP perfsample_agent_push_retries_total Retried sends.\n"
		   "# TYPE perfsample_agent_push_retries_total counter\n"
		   "perfsample_agent_push_retries_total %llu\n",
		retries);
	fprintf(f, "# HELP perfsample_agent_push_failed_profiles_total Push profiles that could "
		   "not be recorded.\n"
		   "# TYPE perfsample_agent_push_failed_profiles_total counter\n"
		   "perfsample_agent_push_failed_profiles_total %llu\n",
		failed);
	fprintf(f, "# HELP perfsample_agent_push_queued Profiles waiting to be sent.\n"
		   "# TYPE perfsample_agent_push_queued gauge\n"
		   "perfsample_agent_push_queued %d\n",
		queued);
}
