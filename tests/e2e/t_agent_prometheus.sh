#!/bin/sh
# The agent's /metrics with its real consumers: promtool check metrics accepts it, and a
# real Prometheus (started here on 127.0.0.1, its own storage) scrapes it with a Bearer token
# and reports up == 1 and the agent's counters. A token-protected agent answers 401 without
# the token and 200 with it; starting on 0.0.0.0 without a token fails with one line; a
# token file readable by others is refused.
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
command -v curl >/dev/null || fail "curl is missing (make test-deps)"
command -v promtool >/dev/null || fail "promtool is missing (make test-deps: prometheus)"
command -v prometheus >/dev/null || fail "prometheus is missing (make test-deps)"

# Refusals at start.
expect_error "refusing to listen on 0.0.0.0:[0-9]+ without --token-file" \
	"$PS" agent --listen "0.0.0.0:$(free_port)"
printf 'sekret-token\n' >open.token
chmod 0644 open.token
expect_error "token file 'open.token' is readable by others" \
	"$PS" agent --listen 127.0.0.1:1 --token-file open.token
expect_error "listen wants ADDR:PORT" "$PS" agent --listen nonsense

TOKEN=t0k3n-$$-$(date +%s)
printf '%s\n' "$TOKEN" >agent.token
chmod 0600 agent.token
start_agent --token-file agent.token
trap 'kill $AP ${PP:-} 2>/dev/null || true' EXIT

[ "$(status "$URL/metrics")" = 401 ] || fail "no token: want 401"
[ "$(status "$URL/metrics" -H "Authorization: Bearer wrong")" = 401 ] || fail "a wrong token: want 401"
[ "$(status "$URL/debug/pprof/profile?seconds=1")" = 401 ] || fail "a profile without the token: want 401"
[ "$(status "$URL/metrics" -H "Authorization: Bearer $TOKEN")" = 200 ] || fail "the token: want 200"
cp body.txt metrics.txt
promtool check metrics <metrics.txt || fail "promtool check metrics rejects /metrics"
grep -q '^perfsample_agent_cpu_seconds_total{part="agent"} [0-9.]*$' metrics.txt ||
	fail "no perfsample_agent_cpu_seconds_total"

# A profile, so samples count up.
[ "$(status "$URL/debug/pprof/profile?seconds=1" -H "Authorization: Bearer $TOKEN")" = 200 ] ||
	fail "a profile with the token: want 200"
curl -s -H "Authorization: Bearer $TOKEN" "$URL/metrics" >m2.txt
samples=$(awk '$1 == "perfsample_agent_samples_total" { print $2 }' m2.txt)
[ "${samples:-0}" -gt 0 ] || fail "samples_total did not count the profile"
grep -q 'perfsample_agent_profiles_total{mode="cpu",result="ok"} 1$' m2.txt || fail "profiles_total"

# A real Prometheus scrapes the agent with the token.
PPORT=$(free_port)
cat >prom.yml <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: perfsample
    authorization:
      credentials_file: $TMP/agent.token
    static_configs:
      - targets: ['127.0.0.1:$PORT']
EOF
promtool check config prom.yml >/dev/null || fail "promtool rejects the test's config"
prometheus --config.file=prom.yml --storage.tsdb.path="$TMP/tsdb" \
	--web.listen-address="127.0.0.1:$PPORT" >prom.log 2>&1 &
PP=$!
up="" n=0
while [ $n -lt 120 ]; do
	up=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query?query=up" |
		python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")' 2>/dev/null || true)
	[ "$up" = 1 ] && break
	sleep 0.5
	n=$((n + 1))
done
[ "$up" = 1 ] || { tail -5 prom.log; fail "Prometheus: up is '$up', want 1"; }
got=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query?query=perfsample_agent_samples_total" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
[ "$got" = "$samples" ] || fail "Prometheus has samples_total '$got', the agent said $samples"
echo "prometheus: up 1, perfsample_agent_samples_total $got"
kill $PP
wait $PP 2>/dev/null || true
PP=""
stop_agent
trap - EXIT
echo ok
