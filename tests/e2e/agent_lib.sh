# Helpers of the agent tests (t_agent*.sh), sourced after lib.sh.
# need_go [curl]: go (for go tool pprof) and, with "curl", curl; go's caches in the
# test's directory.
need_go() {
	[ "${1:-}" = curl ] && { command -v curl >/dev/null || fail "curl is missing (make test-deps)"; }
	command -v go >/dev/null || fail "go is missing (make test-deps)"
	export HOME="$TMP" PPROF_TMPDIR="$TMP" GOCACHE="$TMP/gocache" GOFLAGS=
}
# start_agent ARGS..: starts `perfsample agent --listen 127.0.0.1:PORT ARGS` on a free port;
# sets PORT, AP (its pid) and URL; its stderr goes to agent.log. Fails unless it answers.
start_agent() {
	PORT=$(free_port)
	URL=http://127.0.0.1:$PORT
	"$PS" agent --listen "127.0.0.1:$PORT" "$@" 2>>agent.log &
	AP=$!
	i=0
	until curl -s -o /dev/null "$URL/metrics" -H "Authorization: Bearer ${TOKEN:-}" ||
		[ $i -ge 100 ]; do
		kill -0 $AP 2>/dev/null || { cat agent.log; fail "the agent exited at start"; }
		sleep 0.1
		i=$((i + 1))
	done
	[ $i -lt 100 ] || { cat agent.log; fail "the agent does not answer on $URL"; }
}
stop_agent() {
	kill -TERM $AP 2>/dev/null
	wait $AP
	rc=$?
	[ $rc = 0 ] || { cat agent.log; fail "the agent exited $rc on SIGTERM"; }
}
# status URL [curl args..]: the HTTP status code only.
status() {
	u=$1
	shift
	curl -s -o body.txt -w '%{http_code}' "$@" "$u"
}
