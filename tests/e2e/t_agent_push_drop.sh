#!/bin/sh
# perfsample agent --push when Pyroscope cannot take the profiles: a push URL where nothing
# listens (connection refused) and one whose server accepts and never answers. The agent
# retries, then drops and counts (perfsample_agent_push_dropped_total by reason, in
# /metrics), keeps recording push profiles and keeps serving scrapes, whose profiles hold
# the workload; SIGTERM ends a send that hangs rather than waiting for it.
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
need_root
need_go

"$TOP/examples/split" 120 >/dev/null &
W=$!
trap 'kill $W ${AP:-} ${HS:-} 2>/dev/null || true' EXIT

# metric NAME: its value in m.txt (the last /metrics), 0 when absent.
metric() { awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }' m.txt; }
# wait_metric NAME MIN: polls /metrics until NAME >= MIN (60 s at most).
wait_metric() {
	n=0
	while :; do
		curl -s "$URL/metrics" >m.txt
		[ "$(metric "$1")" -ge "$2" ] && return 0
		[ $n -ge 600 ] && { grep push m.txt; cat agent.log; fail "$1 did not reach $2"; }
		sleep 0.1
		n=$((n + 1))
	done
}
# A scrape beside the failing push: 200, and the workload is in it.
scrape_ok() {
	curl -sf -o s.pb.gz "$URL/debug/pprof/profile?seconds=1" || fail "a scrape failed ($1)"
	go tool pprof -raw s.pb.gz 2>/dev/null | grep -Eq " heavy( |$)" ||
		fail "the scrape lacks the workload's heavy ($1)"
}

# 1. Nothing listens on the push port: every send is refused, retried with backoff, dropped.
DEAD=$(free_port)
start_agent --push "http://127.0.0.1:$DEAD" --push-interval 1s
wait_metric 'perfsample_agent_push_dropped_total{reason="send_failed"}' 1
[ "$(metric perfsample_agent_push_retries_total)" -ge 3 ] ||
	{ grep push m.txt; fail "a refused send was not retried before it was dropped"; }
[ "$(metric perfsample_agent_push_sent_total)" = 0 ] || fail "sent_total counts refused sends"
grep -q 'push: dropped a profile: .*[Cc]ouldn.t connect' agent.log ||
	{ cat agent.log; fail "no log line of the refused push"; }
# The push recorder keeps recording (its profiles queue up and the oldest go)...
wait_metric 'perfsample_agent_push_dropped_total{reason="queue_full"}' 1
[ "$(metric perfsample_agent_push_failed_profiles_total)" = 0 ] || fail "push profiles failed"
# ...and scrapes are served as ever.
scrape_ok refused
echo "refused: dropped $(metric 'perfsample_agent_push_dropped_total{reason="send_failed"}') after" \
	"$(metric perfsample_agent_push_retries_total) retries," \
	"$(metric 'perfsample_agent_push_dropped_total{reason="queue_full"}') from the full queue"
stop_agent

# 2. A server that accepts and never answers: the send hangs, the queue fills, the oldest
# profiles are dropped and counted; scrapes and /metrics still answer.
HPORT=$(free_port)
python3 - "$HPORT" <<'EOF' &
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
while True:
    c, _ = s.accept()
    held.append(c)  # never read, never answered
EOF
HS=$!
: >agent.log
start_agent --push "http://127.0.0.1:$HPORT" --push-interval 1s
wait_metric 'perfsample_agent_push_dropped_total{reason="queue_full"}' 1
[ "$(metric perfsample_agent_push_sent_total)" = 0 ] || fail "sent_total counts a hung send"
[ "$(metric perfsample_agent_push_queued)" -ge 1 ] || fail "nothing queued behind the hung send"
scrape_ok hung
echo "hung: $(metric 'perfsample_agent_push_dropped_total{reason="queue_full"}') dropped from the full queue"
t0=$(date +%s)
stop_agent
[ $(($(date +%s) - t0)) -lt 20 ] || fail "SIGTERM waited for the hung send"
grep -q 'push: dropped a profile: stopping' agent.log ||
	{ cat agent.log; fail "the hung send was not ended on SIGTERM"; }
kill $HS
trap 'kill $W 2>/dev/null || true' EXIT
echo ok
