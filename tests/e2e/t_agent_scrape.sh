#!/bin/sh
# The scrape shape of Parca and Grafana Alloy's pyroscope.scrape: a profile of S seconds
# asked every S+1 seconds, each request given at most S+1 seconds (the scrape timeout),
# three in a row, while examples/split runs. Every answer must be a 200 in time with a
# profile go tool pprof reads and that holds the workload's functions; none a 429 (the
# previous profile still being named) or a timeout. S is 4 here (make test); the
# scrapers' own 14 s every 15 s is `make test-scrape` (PS_SCRAPE_SECONDS=14).
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
need_root
need_go curl

S=${PS_SCRAPE_SECONDS:-4}
case $S in '' | *[!0-9]*) fail "PS_SCRAPE_SECONDS must be a whole number" ;; esac
INTERVAL=$((S + 1))
N=3

"$TOP/examples/split" $((N * INTERVAL + 30)) >/dev/null &
W=$!
start_agent
trap 'kill $W $AP 2>/dev/null || true' EXIT

# The scraper: a request every INTERVAL seconds from the first one's start, as a
# scrape loop does, whether or not the previous one has answered.
i=1
t0=$(date +%s.%N)
while [ $i -le $N ]; do
	curl -s --max-time "$INTERVAL" -o scrape$i.pb.gz -w '%{http_code} %{time_total}\n' \
		"$URL/debug/pprof/profile?seconds=$S" >code$i.txt 2>&1 &
	eval "C$i=\$!"
	[ $i -lt $N ] && python3 -c "import time; time.sleep(max(0, $t0 + $i * $INTERVAL - time.time()))"
	i=$((i + 1))
done
i=1
while [ $i -le $N ]; do
	eval "wait \$C$i" || true
	read -r code secs <code$i.txt || code=none
	echo "scrape $i: status $code in ${secs:-?} s (seconds=$S, every $INTERVAL s)"
	[ "$code" = 200 ] || { cat agent.log; fail "scrape $i: status $code, want 200 within $INTERVAL s"; }
	go tool pprof -raw scrape$i.pb.gz >raw$i.txt 2>pprof.err ||
		{ cat pprof.err; fail "go tool pprof cannot read scrape $i"; }
	for f in heavy medium light main; do
		grep -Eq " (M=[0-9]+ )?$f( |$)" raw$i.txt ||
			{ head -40 raw$i.txt; fail "scrape $i lacks the workload's $f"; }
	done
	i=$((i + 1))
done

# The agent's own count agrees: N profiles made, none refused or failed.
curl -s "$URL/metrics" >m.txt
grep -q "^perfsample_agent_profiles_total{mode=\"cpu\",result=\"ok\"} $N\$" m.txt &&
	grep -q '^perfsample_agent_profiles_total{mode="cpu",result="failed"} 0$' m.txt &&
	grep -q '^perfsample_agent_http_responses_total{code="4xx"} 0$' m.txt &&
	grep -q '^perfsample_agent_http_responses_total{code="5xx"} 0$' m.txt ||
	{ grep -E 'profiles_total|responses_total' m.txt; fail "/metrics does not show $N profiles and no 4xx or 5xx"; }
# The renderer's CPU is the agent's too.
awk '$1 == "perfsample_agent_cpu_seconds_total{part=\"renderer\"}" { ok = $2 > 0 } END { exit !ok }' m.txt ||
	{ grep cpu_seconds m.txt; fail "/metrics does not count the renderer's CPU"; }
stop_agent
trap 'kill $W 2>/dev/null || true' EXIT
echo ok
