#!/bin/sh
# perfsample agent --push: CPU profiles go to Pyroscope's /ingest as Pyroscope's clients
# send them (POST, query name, from, until, sampleRate, spyName=perfsample, format=pprof; the
# pprof in a multipart field "profile"; the token as Bearer). The stand-in for Pyroscope is
# a small python3 server that answers the first push with 503 (the agent retries) and keeps
# what it gets; go tool pprof then reads a pushed profile and finds the workload in it.
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
need_root
need_go

PYPORT=$(free_port)
cat >ingest.py <<'EOF'
import email.parser, http.server, json, sys, urllib.parse
n = 0
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_POST(self):
        global n
        n += 1
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if n == 1:
            self.send_response(503); self.end_headers(); return
        u = urllib.parse.urlsplit(self.path)
        msg = email.parser.BytesParser().parsebytes(
            b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + body)
        parts = {p.get_param("name", header="content-disposition"): p.get_payload(decode=True)
                 for p in msg.get_payload()} if msg.is_multipart() else {}
        if "profile" in parts:
            open("pushed-%d.pb.gz" % n, "wb").write(parts["profile"])
        with open("ingest.log", "a") as f:
            f.write(json.dumps({"path": u.path, "query": dict(urllib.parse.parse_qsl(u.query)),
                                "auth": self.headers.get("Authorization", ""),
                                "fields": sorted(k for k in parts if k)}) + "\n")
        self.send_response(200); self.end_headers()
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
python3 ingest.py "$PYPORT" &
PY=$!
"$TOP/examples/split" 60 >/dev/null &
W=$!
trap 'kill $PY $W ${AP:-} 2>/dev/null || true' EXIT
TOKEN=push-$$
printf '%s\n' "$TOKEN" >agent.token
chmod 0600 agent.token
start_agent --token-file agent.token --push "http://127.0.0.1:$PYPORT/" --push-interval 2s \
	--push-name 'app.cpu{env=test}'
n=0
until [ -s ingest.log ] || [ $n -ge 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -s ingest.log ] || { cat agent.log; fail "nothing reached the ingest endpoint"; }
python3 - "$TOKEN" <<'EOF' || fail "the push does not look like Pyroscope's /ingest"
import json, sys
r = json.loads(open("ingest.log").readline())
q = r["query"]
assert r["path"] == "/ingest", r
assert q["name"] == "app.cpu{env=test}", q
assert q["spyName"] == "perfsample" and q["format"] == "pprof" and q["sampleRate"] == "99", q
assert int(q["from"]) <= int(q["until"]) and int(q["until"]) - int(q["from"]) <= 30, q
assert r["auth"] == "Bearer " + sys.argv[1], r
assert r["fields"] == ["profile"], r
print("ingest:", q)
EOF
f=$(ls pushed-*.pb.gz | head -1)
go tool pprof -raw "$f" >raw.txt 2>/dev/null || fail "go tool pprof cannot read the pushed profile"
grep -Eq " heavy( |$)" raw.txt || fail "the pushed profile lacks the workload's heavy"
curl -s -H "Authorization: Bearer $TOKEN" "$URL/metrics" >m.txt
awk '$1 == "perfsample_agent_push_sent_total" { ok = $2 >= 1 } END { exit !ok }' m.txt ||
	{ grep push m.txt; fail "push_sent_total"; }
awk '$1 == "perfsample_agent_push_retries_total" { ok = $2 >= 1 } END { exit !ok }' m.txt ||
	{ grep push m.txt; fail "the 503 was not retried"; }
grep -q 'push: sent' agent.log || fail "no log line of a push"
stop_agent

# Basic auth from the URL's user:password (no token), which the log does not show.
rm -f ingest.log
TOKEN=
start_agent --push "http://alice:s3cretpw@127.0.0.1:$PYPORT" --push-interval 1s
n=0
until [ -s ingest.log ] || [ $n -ge 300 ]; do
	sleep 0.1
	n=$((n + 1))
done
[ -s ingest.log ] || { cat agent.log; fail "nothing reached the ingest endpoint with basic auth"; }
python3 -c 'import json, base64; r = json.loads(open("ingest.log").readline()); assert r["auth"] == "Basic " + base64.b64encode(b"alice:s3cretpw").decode(), r' ||
	fail "the push did not send basic auth"
grep -q 's3cretpw' agent.log && fail "the log shows the push password"
grep -q 'pushing 1 s profiles to http://\*\*\*@127.0.0.1' agent.log || fail "no redacted push URL in the log"
stop_agent
trap 'kill $PY $W 2>/dev/null || true' EXIT
echo ok
