/* Tests of cmd/agent_http's pure parts: --listen addresses (which count as loopback, what
 * is refused) and the log escaper that keeps hostile request paths to one bounded line. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cmd/agent_http.h"

static int parse(const char *s, int *lo)
{
	struct sockaddr_storage ss;
	unsigned len;
	char err[128];
	return http_parse_listen(s, &ss, &len, lo, err, sizeof(err));
}

Test(agent_http, listen_addresses)
{
	int lo = -1;
	cr_expect_eq(parse("127.0.0.1:6060", &lo), 0);
	cr_expect_eq(lo, 1);
	cr_expect_eq(parse("127.3.2.1:1", &lo), 0);
	cr_expect_eq(lo, 1);
	cr_expect_eq(parse("0.0.0.0:6060", &lo), 0);
	cr_expect_eq(lo, 0);
	cr_expect_eq(parse("10.1.2.3:0", &lo), 0);
	cr_expect_eq(lo, 0);
	cr_expect_eq(parse("[::1]:6060", &lo), 0);
	cr_expect_eq(lo, 1);
	cr_expect_eq(parse("[::]:6060", &lo), 0);
	cr_expect_eq(lo, 0);
	const char *bad[] = {"", "6060", ":6060", "127.0.0.1", "127.0.0.1:", "127.0.0.1:65536",
			     "127.0.0.1:-1", "127.0.0.1:+5", "127.0.0.1:6060x", "localhost:6060",
			     "1.2.3.4.5:1", "[::1:6060"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(parse(bad[i], &lo), -1, "'%s' was accepted", bad[i]);
}

Test(agent_http, log_escape)
{
	char out[32];
	http_log_escape(out, sizeof(out), "/ok/path");
	cr_expect_str_eq(out, "/ok/path");
	http_log_escape(out, sizeof(out), "/\x1b[31m\n\"x\\");
	cr_expect_str_eq(out, "/\\x1b[31m\\x0a\\x22x\\x5c");
	char big[200];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	http_log_escape(out, sizeof(out), big);
	cr_expect_lt(strlen(out), sizeof(out));
	cr_expect(strstr(out, "...") != NULL, "a cut path says so: '%s'", out);
	http_log_escape(out, 1, big);
	cr_expect_str_eq(out, "");
}
