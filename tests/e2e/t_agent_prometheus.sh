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
# promtool's lint: only what it says of node_exporter's own names too (node_memory_MemTotal_bytes
# keeps /proc/meminfo's spelling there), nothing else, and no parse error.
promtool check metrics <metrics.txt >lint.txt 2>&1 || true
grep -v "^node_memory_[A-Za-z0-9_()]* metric names should be written in 'snake_case' not 'camelCase'$" lint.txt >lint.other || true
[ -s lint.other ] && { cat lint.other; fail "promtool check metrics rejects /metrics"; }
grep -q "camelCase" lint.txt || echo "promtool check metrics: no complaints"
grep -q '^perfsample_agent_cpu_seconds_total{part="agent"} [0-9.]*$' metrics.txt ||
	fail "no perfsample_agent_cpu_seconds_total"

# The system view's statistics, node_exporter's names: MemTotal as /proc/meminfo says, and
# memory used % as `perfsample use --json` computes it from the same series.
memtotal=$(awk '$1 == "node_memory_MemTotal_bytes" { printf "%.0f", $2 }' metrics.txt)
[ "$memtotal" = "$(awk '$1 == "MemTotal:" { printf "%.0f", $2 * 1024 }' /proc/meminfo)" ] ||
	fail "node_memory_MemTotal_bytes '$memtotal' is not /proc/meminfo's"
grep -q '^# TYPE node_cpu_seconds_total counter$' metrics.txt || fail "no node_cpu_seconds_total"
grep -q '^node_cpu_seconds_total{cpu="0",mode="idle"} ' metrics.txt || fail "no cpu 0 idle"
grep -q '^process_cpu_seconds_total ' metrics.txt || fail "no process_cpu_seconds_total of the agent"
"$PS" use --json -d 0.2 >use.json
curl -s -H "Authorization: Bearer $TOKEN" "$URL/metrics" >m1.txt
python3 - <<'EOF' || fail "memory used % of /metrics differs from use --json's"
import json, sys
m = {}
for line in open("m1.txt"):
    if not line.startswith("#"):
        k, v = line.rsplit(" ", 1)
        m[k] = float(v)
ours = 100 * (1 - m["node_memory_MemAvailable_bytes"] / m["node_memory_MemTotal_bytes"])
use = [r for r in json.load(open("use.json")) if r["resource"] == "memory"][0]["utilization"]
print("memory used %%: /metrics %.2f, use --json %.2f" % (ours, use))
sys.exit(0 if abs(ours - use) < 2 else 1)
EOF

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
got=$(curl -s "http://127.0.0.1:$PPORT/api/v1/query?query=node_memory_MemTotal_bytes" |
	python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else "")')
[ "$got" = "$memtotal" ] || fail "Prometheus has node_memory_MemTotal_bytes '$got', want $memtotal"
kill $PP
wait $PP 2>/dev/null || true
PP=""
stop_agent
trap - EXIT
echo ok
