#!/bin/sh
# perfsample agent over TLS (GnuTLS through libmicrohttpd): HTTPS with --tls-cert/--tls-key,
# and on 0.0.0.0 with client certificates as the only credential (--tls-client-ca): a client
# whose certificate the CA signed gets 200, one without a certificate or with a certificate
# of another CA gets 401 (or no TLS session at all), and none of them stops the agent.
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
command -v openssl >/dev/null || fail "openssl is missing (make test-deps)"
command -v curl >/dev/null || fail "curl is missing (make test-deps)"

q() { "$@" >/dev/null 2>&1 || fail "openssl: $*"; }
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=test-ca -keyout ca.key -out ca.pem
q openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout srv.key -out srv.csr
printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext
q openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile srv.ext -out srv.pem
q openssl req -newkey rsa:2048 -nodes -subj /CN=scraper -keyout cli.key -out cli.csr
q openssl x509 -req -in cli.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out cli.pem
q openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=stranger -keyout bad.key -out bad.pem
chmod 0600 srv.key

# HTTPS on loopback.
PORT=$(free_port)
"$PS" agent --listen "127.0.0.1:$PORT" --tls-cert srv.pem --tls-key srv.key 2>>agent.log &
AP=$!
trap 'kill $AP 2>/dev/null || true' EXIT
n=0
until curl -s -o /dev/null --cacert ca.pem "https://127.0.0.1:$PORT/metrics" || [ $n -ge 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ "$(status "https://127.0.0.1:$PORT/metrics" --cacert ca.pem)" = 200 ] || { cat agent.log; fail "HTTPS /metrics"; }
grep -q perfsample_agent_samples_total body.txt || fail "HTTPS /metrics body"
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics" || true)
[ "$code" != 200 ] || fail "plain HTTP got 200 from the TLS agent"
stop_agent

# 0.0.0.0 with client certificates and no token.
expect_error "tls-client-ca needs --tls-cert" "$PS" agent --listen "0.0.0.0:$(free_port)" --tls-client-ca ca.pem
PORT=$(free_port)
"$PS" agent --listen "0.0.0.0:$PORT" --tls-cert srv.pem --tls-key srv.key --tls-client-ca ca.pem 2>>agent.log &
AP=$!
n=0
until curl -s -o /dev/null --cacert ca.pem --cert cli.pem --key cli.key "https://127.0.0.1:$PORT/" || [ $n -ge 100 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ "$(status "https://127.0.0.1:$PORT/metrics" --cacert ca.pem --cert cli.pem --key cli.key)" = 200 ] ||
	{ cat agent.log; fail "a client certificate of the CA: want 200"; }
code=$(status "https://127.0.0.1:$PORT/metrics" --cacert ca.pem || true)
case $code in 401 | 000) ;; *) fail "no client certificate: got $code, want 401 or no session" ;; esac
code=$(status "https://127.0.0.1:$PORT/metrics" --cacert ca.pem --cert bad.pem --key bad.key || true)
case $code in 401 | 000) ;; *) fail "a stranger's certificate: got $code, want 401 or no session" ;; esac
[ "$(status "https://127.0.0.1:$PORT/metrics" --cacert ca.pem --cert cli.pem --key cli.key)" = 200 ] ||
	fail "the agent stopped serving"
stop_agent
trap - EXIT
echo ok
