#!/bin/sh
# perfsample agent with its real consumers: go tool pprof fetches a whole-host profile over
# HTTP while examples/split runs and shows its functions; curl -I (HEAD) on the profile
# endpoints gets the GET's status and headers without a profile being taken; Parca's shape of scrape (profiles
# back to back) works; the flame graph endpoint gives SVG; bad requests get the right status
# and one-line reason and the agent keeps serving (unknown path, seconds=abc, seconds=100000,
# a pid of no process, a second profile while one runs (429 + Retry-After), 50 concurrent
# scrapers, a client that connects and sends nothing, POST); SIGTERM stops it cleanly; it
# keeps only the capabilities a recording needs.
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
need_root
need_go curl

start_agent --timeout 3
"$TOP/examples/split" 200 >/dev/null &
W=$!
trap 'kill $W $AP 2>/dev/null || true' EXIT

# HEAD (curl -I) on a profile endpoint: the GET's status and headers, no body, and no
# profile taken (seconds=300 would hold a GET for 5 minutes).
for ep in "pprof/profile?seconds=300" "flamegraph.svg?seconds=300&mode=wall"; do
	code=$(curl -sI --max-time 20 -o head.txt -w '%{http_code}' "$URL/debug/$ep") ||
		fail "HEAD /debug/$ep did not answer"
	[ "$code" = 200 ] || { cat head.txt; fail "HEAD /debug/$ep: status $code, want 200"; }
	# Nothing after the headers, up to the close (curl -I would not read it).
	python3 - "$PORT" "/debug/$ep" <<'EOF2' || fail "HEAD /debug/$ep sent a body"
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
s.sendall(b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n" % sys.argv[2].encode())
got = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    got += b
head, sep, body = got.partition(b"\r\n\r\n")
sys.exit(0 if sep and head.split()[1] == b"200" and body == b"" else 1)
EOF2
	case $ep in
	pprof*) grep -iq '^Content-Type: application/octet-stream' head.txt &&
		grep -iq '^Content-Disposition: attachment; filename="profile.pb.gz"' head.txt ;;
	*) grep -iq '^Content-Type: image/svg+xml' head.txt ;;
	esac || { cat head.txt; fail "HEAD /debug/$ep: not the GET's headers"; }
done
[ "$(curl -sI -o /dev/null -w '%{http_code}' "$URL/debug/pprof/profile?seconds=abc")" = 400 ] ||
	fail "HEAD with seconds=abc: want 400"
curl -s "$URL/metrics" >m0.txt
grep -q '^perfsample_agent_profiles_total{mode="cpu",result="ok"} 0$' m0.txt &&
	grep -q '^perfsample_agent_profiles_total{mode="wall",result="ok"} 0$' m0.txt &&
	grep -q '^perfsample_agent_profiles_running{mode="cpu"} 0$' m0.txt ||
	{ grep profiles_ m0.txt; fail "a HEAD took a profile"; }
grep -q 'profile of' agent.log && fail "a HEAD started a recording"
echo "HEAD: 200 with the GET's headers, no body, no profile"

# go tool pprof, as a user runs it against a Go server's net/http/pprof.
# -timeout: pprof waits 1.5 x seconds + 5 s for the headers, short on a loaded 2-core machine.
go tool pprof -raw -timeout 60 "$URL/debug/pprof/profile?seconds=2" >raw.txt 2>pprof.err ||
	{ cat pprof.err agent.log; fail "go tool pprof could not fetch the profile"; }
for f in heavy medium light main; do
	grep -Eq " (M=[0-9]+ )?$f( |$)" raw.txt || { head -50 raw.txt; fail "go tool pprof -raw lacks $f"; }
done
echo "go tool pprof: the workload's heavy, medium, light and main"

# pid: a profile of the workload only.
curl -sf -o pid.pb.gz "$URL/debug/pprof/profile?seconds=1&pid=$W&frequency=199" ||
	fail "profile of pid $W failed"
go tool pprof -raw pid.pb.gz >pidraw.txt 2>/dev/null
grep -Eq " heavy( |$)" pidraw.txt || fail "the pid profile lacks heavy"

# The flame graph endpoint.
curl -sf -o fg.svg "$URL/debug/flamegraph.svg?seconds=1" || fail "flamegraph.svg failed"
xmllint --noout fg.svg || fail "flamegraph.svg is not well-formed"
grep -q heavy fg.svg || fail "the flame graph lacks heavy"

# Parca / Alloy: profiles back to back (14 s every 15 s there; 2 s here).
for i in 1 2 3; do
	curl -sf -o b$i.pb.gz "$URL/debug/pprof/profile?seconds=2" || fail "back-to-back profile $i"
	go tool pprof -raw b$i.pb.gz 2>/dev/null | grep -Eq " heavy( |$)" || fail "back-to-back $i lacks heavy"
done

# Bad requests: status and a one-line reason.
expect() {
	want=$1 url=$2 re=$3
	shift 3
	got=$(status "$URL$url" "$@")
	[ "$got" = "$want" ] || { cat body.txt; fail "$url: status $got, want $want"; }
	[ "$(wc -l <body.txt)" -le 1 ] || fail "$url: more than one line"
	grep -Eq "$re" body.txt || { cat body.txt; fail "$url: reason does not match /$re/"; }
}
expect 404 /nope "not found"
expect 404 "/debug/pprof/../../etc/passwd" "not found"
expect 400 "/debug/pprof/profile?seconds=abc" "seconds: 'abc' is not a whole number"
expect 400 "/debug/pprof/profile?seconds=100000" "seconds: 100000 is out of range 1-300"
expect 400 "/debug/pprof/profile?seconds=0" "out of range"
expect 400 "/debug/pprof/profile?seconds=1&pid=4194000" "pid: no process 4194000"
expect 400 "/debug/pprof/profile?seconds=1&mode=gpu" "unknown mode 'gpu'"
expect 400 "/debug/flamegraph.svg?frequency=-5" "frequency"
expect 405 "/metrics" "not allowed" -X POST -d x=1
[ "$(status "$URL/")" = 200 ] || fail "no index"
grep -q /debug/pprof/profile body.txt || fail "the index does not list the profile endpoint"

# One profile per mode at a time: a second one gets 429 with Retry-After.
curl -s -o /dev/null "$URL/debug/pprof/profile?seconds=3" &
C=$!
sleep 1
code=$(curl -s -D hdr.txt -o body.txt -w '%{http_code}' "$URL/debug/pprof/profile?seconds=1")
[ "$code" = 429 ] || fail "a concurrent profile got $code, want 429"
grep -iq '^Retry-After: [0-9]' hdr.txt || fail "429 without Retry-After"
code=$(curl -sI -o hdr.txt -w '%{http_code}' "$URL/debug/pprof/profile?seconds=1")
[ "$code" = 429 ] || fail "a HEAD beside a running profile got $code, want the GET's 429"
wait $C

# 50 concurrent scrapers: each gets 200 or 429, and the agent serves afterwards.
i=0
while [ $i -lt 50 ]; do
	curl -s -o /dev/null -w '%{http_code}\n' "$URL/debug/pprof/profile?seconds=1" >>codes.txt &
	i=$((i + 1))
done
wait_n=0
while [ "$(wc -l <codes.txt)" -lt 50 ] && [ $wait_n -lt 300 ]; do sleep 0.1; wait_n=$((wait_n + 1)); done
[ "$(grep -c . codes.txt)" = 50 ] || fail "not every concurrent scraper got an answer"
grep -vqE '^(200|429)$' codes.txt && { sort codes.txt | uniq -c; fail "unexpected statuses"; }
[ "$(grep -c '^200$' codes.txt)" -ge 1 ] || fail "no concurrent scraper got a profile"
echo "50 scrapers: $(grep -c '^200$' codes.txt) x 200, $(grep -c '^429$' codes.txt) x 429"

# A client that connects and sends nothing is closed (--timeout 3) and blocks no one.
python3 - "$PORT" <<'EOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(30)
t = time.time()
try:
    data = s.recv(100)
except socket.timeout:
    sys.exit("the agent kept a silent connection open for 30 s")
print("silent client closed after %.1f s" % (time.time() - t))
EOF
S=$!
[ "$(status "$URL/metrics")" = 200 ] || fail "no /metrics while a silent client is connected"
wait $S || fail "the silent client was not closed"

# Hostile path bytes are escaped in the log.
curl -s -o /dev/null --path-as-is "$URL/%1b%5b31m%0aevil" || true
grep -q 'evil' agent.log && ! grep -q "$(printf '\033')" agent.log ||
	fail "the log holds a raw escape byte"

# Capabilities: none beyond the recording's, and no new privileges.
grep -q '^NoNewPrivs:[[:space:]]*1' /proc/$AP/status || fail "NoNewPrivs not set"
capeff=$(awk '/^CapEff/ { print $2 }' /proc/$AP/status)
python3 -c "import sys; c = int('$capeff', 16); sys.exit(1 if c & (1 << 16 | 1 << 12 | 1 << 7) else 0)" ||
	fail "CapEff $capeff still holds CAP_SYS_MODULE, CAP_NET_ADMIN or CAP_SETUID"

# The agent still serves after all that, then stops cleanly on SIGTERM, ending a profile
# in flight with what it has.
curl -sf -o last.pb.gz "$URL/debug/pprof/profile?seconds=1" || fail "the agent stopped serving"
curl -s -o inflight.pb.gz -w '%{http_code}' "$URL/debug/pprof/profile?seconds=60" >inflight.code &
C=$!
sleep 1.5
t0=$(date +%s)
stop_agent
wait $C || true
[ $(($(date +%s) - t0)) -lt 20 ] || fail "SIGTERM took too long"
grep -q 'stopped' agent.log || fail "no 'stopped' line"
trap 'kill $W 2>/dev/null || true' EXIT
echo "ok"
