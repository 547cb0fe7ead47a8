#!/bin/sh
# perfsample agent's off-CPU and wall-clock modes (record --off-cpu underneath): on
# examples/offcpu (a thread that computes, blocks in read() on a pipe, and sleeps), the
# mode=off-cpu profile read by go tool pprof holds the blocking functions (wait_pipe,
# take_nap) and the wall profile the computing one too; the flame graph endpoint takes the
# same modes; a CPU profile and an off-CPU profile run at the same time (one per mode).
set -eu
. "$TOP/tests/e2e/lib.sh"
. "$TOP/tests/e2e/agent_lib.sh"
need_root
need_go

"$TOP/examples/offcpu" 120 >/dev/null &
W=$!
start_agent
trap 'kill $W $AP 2>/dev/null || true' EXIT
sleep 0.3

curl -sf -o off.pb.gz "$URL/debug/pprof/profile?seconds=2&pid=$W&mode=off-cpu" &
C1=$!
curl -sf -o cpu.pb.gz "$URL/debug/pprof/profile?seconds=2&pid=$W&mode=cpu" ||
	fail "a CPU profile beside an off-CPU profile failed"
wait $C1 || fail "the off-CPU profile failed"
go tool pprof -raw off.pb.gz >off.txt 2>/dev/null || fail "go tool pprof cannot read the off-CPU profile"
for f in wait_pipe take_nap; do
	grep -Eq " $f( |$)" off.txt || { head -40 off.txt; fail "the off-CPU profile lacks $f"; }
done
go tool pprof -raw cpu.pb.gz >cpu.txt 2>/dev/null
grep -Eq " compute( |$)" cpu.txt || fail "the CPU profile lacks compute"

curl -sf -o wall.pb.gz "$URL/debug/pprof/profile?seconds=2&pid=$W&mode=wall" || fail "the wall profile failed"
go tool pprof -raw wall.pb.gz >wall.txt 2>/dev/null
for f in compute wait_pipe take_nap; do
	grep -Eq " $f( |$)" wall.txt || fail "the wall profile lacks $f"
done

curl -sf -o off.svg "$URL/debug/flamegraph.svg?seconds=1&pid=$W&mode=off-cpu" || fail "off-CPU flame graph"
xmllint --noout off.svg || fail "the off-CPU flame graph is not well-formed"
grep -q wait_pipe off.svg || fail "the off-CPU flame graph lacks wait_pipe"
[ "$(status "$URL/debug/pprof/profile?seconds=1&mode=offcpu")" = 400 ] || fail "mode=offcpu: want 400"
grep -q "known: cpu, off-cpu, wall" body.txt || fail "the 400 does not list the modes"
stop_agent
trap 'kill $W 2>/dev/null || true' EXIT
echo ok
