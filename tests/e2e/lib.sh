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
