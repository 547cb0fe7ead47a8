# Helpers for end-to-end tests: sourced by tests/e2e/t_*.sh, which run in a fresh temp dir
# with $PS (./perfsample) and $TOP (the repo root) set by tests/e2e/run.sh.
set -u
fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "$*"; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip "needs root for perf_event_open on other processes"; }
# Fails unless the command exits non-zero with exactly one line on stderr matching a regex.
expect_error() {
	pattern=$1
	shift
	if "$@" >out.txt 2>err.txt; then fail "expected failure: $*"; fi
	lines=$(wc -l <err.txt)
	[ "$lines" -eq 1 ] || { cat err.txt; fail "expected one error line from: $* (got $lines)"; }
	grep -Eq "$pattern" err.txt || { cat err.txt; fail "error of '$*' does not match /$pattern/"; }
}
# share FOLDED REGEX: percent of samples whose stack matches REGEX (awk ERE).
share() {
	awk -v re="$2" '{ n = $NF; t += n; s = $0; sub(/ [0-9]+$/, "", s); if (s ~ re) m += n }
		END { if (t == 0) print 0; else printf "%.1f\n", 100 * m / t }' "$1"
}
# within A B TOL: |A - B| <= TOL
within() { awk -v a="$1" -v b="$2" -v t="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= t) }'; }
info_field() { $PS info -i "$1" | awk -v k="$2:" '$1 == k { print $2; exit }'; }
# free_port: a TCP port on 127.0.0.1 that nothing holds now, picked by the kernel (bind to
# port 0), so a server test does not collide with a peer's test or a client's ephemeral port.
free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# need_wrk: wrk on PATH (installed from Debian's archive when root), else the test skips.
need_wrk() {
	command -v wrk >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk >/dev/null 2>&1
	command -v wrk >/dev/null 2>&1 || skip "wrk missing (apt-get install wrk)"
}
# py_http_server [threaded]: Python's http.server serving ./www (made here, 2 KiB of text)
# on a free 127.0.0.1 port, up and answering on return. Default: HTTPServer, one thread;
# "threaded": `python3 -m http.server`, a thread per connection. Sets PY, PORT and SERVER
# (the server's pid, killed at exit).
py_http_server() {
	PY=/usr/bin/python3
	[ -x $PY ] || PY=$(command -v python3) || skip "python3 missing"
	[ -d www ] || { mkdir www && head -c 2048 /dev/urandom | od -x >www/index.html; }
	PORT=$(free_port) || fail "no free port"
	if [ "${1:-}" = threaded ]; then
		$PY -m http.server "$PORT" --bind 127.0.0.1 --directory www >>server.log 2>&1 &
	else
		(cd www && exec $PY -c "import http.server as h
h.HTTPServer(('127.0.0.1', $PORT), h.SimpleHTTPRequestHandler).serve_forever()" "$PORT") >>server.log 2>&1 &
	fi
	SERVER=$!
	trap 'kill $SERVER 2>/dev/null' EXIT
	timeout 20 $PY -c "
import time, urllib.request
while True:
    try:
        urllib.request.urlopen('http://127.0.0.1:$PORT/', timeout=1).read(); break
    except Exception:
        time.sleep(0.1)" || fail "http.server did not come up on port $PORT"
}
