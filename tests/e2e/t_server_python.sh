# A real server under real load: Python's http.server on 127.0.0.1 driven by wrk
# (bounded: 2 threads, 8 connections, a few seconds). perfsample attaches to the server
# with -g -p and must see both the interpreter (libpython's _PyEval_EvalFrameDefault) and
# the kernel's network path, and lose under 0.1% of its samples.
#
# The server is http.server's HTTPServer serving in one thread. `python3 -m http.server`
# starts a thread per connection; each runs well under one 2 ms sampling period of CPU,
# and the kernel starts every inherited per-thread cpu-clock event with a full period, so
# -p sees ~5% of its CPU time (perf record -p too: 250 samples for 2.6 s of CPU at 499 Hz).
# -a sees it all: the second half checks that, filtering the server by pid.
. "$TOP/tests/e2e/lib.sh"
need_root
need_wrk
py_http_server
timeout 30 wrk -t 2 -c 8 -d 7s "http://127.0.0.1:$PORT/index.html" >wrk.out 2>&1 &
load=$!
sleep 1
pids=$(pgrep -d, -f "serve_forever.*$PORT")
[ -n "$pids" ] || fail "no server process"
timeout 30 $PS record -q -F 499 -g -p "$pids" -d 5 -o server.data 2>rec.err || { cat rec.err; fail "record -p $pids failed"; }
wait $load
grep -E "requests in|Requests/sec" wrk.out
reqs=$(awk '/requests in/ { print $1 }' wrk.out)
[ "${reqs:-0}" -gt 100 ] || { cat wrk.out; fail "wrk made only ${reqs:-0} requests"; }

samples=$(info_field server.data samples)
lost=$(info_field server.data lost)
echo "samples: $samples, lost: $lost"
[ "$samples" -gt 500 ] || fail "only $samples samples of a loaded server"
awk -v l="$lost" -v s="$samples" 'BEGIN { exit !(l * 1000 < s) }' || fail "lost $lost of $samples samples (>= 0.1%)"
$PS fold -i server.data >server.folded
others=$(grep -vc "^python3" server.folded)
[ "$others" = 0 ] || fail "$others stacks of other processes"
py_share=$(share server.folded '_PyEval_EvalFrameDefault')
net_share=$(share server.folded '(tcp_sendmsg|sock_recvmsg|tcp_recvmsg|__sys_accept4|sock_sendmsg|__sys_sendto|__sys_recvfrom)')
accept=$(share server.folded '__sys_accept4')
echo "_PyEval_EvalFrameDefault: $py_share%, kernel network frames: $net_share%, accept4: $accept%"
awk -v s="$py_share" 'BEGIN { exit !(s > 5) }' || fail "interpreter frames in only $py_share%"
awk -v s="$net_share" 'BEGIN { exit !(s > 2) }' || fail "kernel network frames in only $net_share%"
grep -Eq ';(tcp_sendmsg|sock_sendmsg)(;|$)' server.folded || fail "no tcp_sendmsg/sock_sendmsg frames"
grep -Eq ';(sock_recvmsg|tcp_recvmsg)(;|$)' server.folded || fail "no sock_recvmsg/tcp_recvmsg frames"
kill $SERVER
wait $SERVER 2>/dev/null

# A thread per connection: record the whole machine, keep the server's pid.
py_http_server threaded
server=$SERVER
timeout 30 wrk -t 2 -c 8 -d 5s "http://127.0.0.1:$PORT/index.html" >wrk2.out 2>&1 &
load=$!
sleep 0.5
cpu0=$(awk '{ print $14 + $15 }' /proc/$server/stat)
timeout 30 $PS record -q -F 499 -g -a -d 3 -o all.data 2>rec2.err || { cat rec2.err; fail "record -a failed"; }
cpu1=$(awk '{ print $14 + $15 }' /proc/$server/stat)
wait $load
$PS fold --pid -i all.data | grep "^python3-$server;" >threaded.folded
got=$(awk '{ n += $NF } END { print n + 0 }' threaded.folded)
ticks=$((cpu1 - cpu0))
want=$(awk -v t=$ticks -v hz=$(getconf CLK_TCK) 'BEGIN { printf "%d", t / hz * 499 }')
echo "thread-per-connection server: $got samples for $ticks ticks of CPU (about $want at 499 Hz)"
[ "$want" -gt 100 ] || fail "the threaded server used little CPU ($ticks ticks)"
# Statistical, and -a samples the recorder and wrk too: within a factor of two.
[ "$got" -gt $((want / 2)) ] || fail "record -a saw $got samples of the server, expected about $want"
grep -q '_PyEval_EvalFrameDefault' threaded.folded || fail "no interpreter frames from the threaded server"
exit 0
