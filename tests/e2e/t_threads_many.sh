# A process with 1,000 threads (examples/many_threads: 2 busy, the rest asleep): attaching
# with -p opens one event per thread and CPU (the recorder raises RLIMIT_NOFILE itself);
# setup must not hang, the busy threads are sampled, and the recorder's memory stays bounded.
. "$TOP/tests/e2e/lib.sh"
need_root
"$TOP/examples/many_threads" 1000 2 25 >mt.out &
pid=$!
timeout 20 sh -c 'until grep -q ready mt.out; do sleep 0.1; done' || fail "many_threads did not start"
n=$(ls /proc/$pid/task | wc -l)
[ "$n" -ge 1000 ] || fail "workload has only $n threads"
t0=$(date +%s.%N)
# No -q: the summary line comes out when recording ends; the trace's own start time
# (first sample) tells when setup ended.
$PS record -q -F 99 -g -p $pid -d 3 -o mt.data 2>rec.err &
rec=$!
# Setup ends when the rings are open: the recorder has at least 1000 x ncpus fds.
ncpu=$(getconf _NPROCESSORS_ONLN)
setup=""
for i in $(seq 1 300); do
	f=$(ls /proc/$rec/fd 2>/dev/null | wc -l)
	if [ "$f" -ge $((1000 * ncpu)) ]; then
		setup=$(echo "$(date +%s.%N) $t0" | awk '{ printf "%.2f", $1 - $2 }')
		break
	fi
	kill -0 $rec 2>/dev/null || break
	sleep 0.1
done
[ -n "$setup" ] || { cat rec.err; fail "recorder never opened 1000 x $ncpu events"; }
echo "setup: $setup s for $n threads x $ncpu CPUs ($f fds)"
within "$setup" 0 30 || fail "setup took $setup s"
# A zombie's status has no VmHWM: only a reading with a value replaces the last one.
timeout 60 sh -c "while kill -0 $rec 2>/dev/null; do
	grep VmHWM /proc/$rec/status 2>/dev/null | awk '{ print \$2 }' > hwm.txt.new
	[ -s hwm.txt.new ] && mv hwm.txt.new hwm.txt
	sleep 0.2; done" || fail "recorder did not end"
wait $rec || { cat rec.err; fail "record -p of 1000 threads failed"; }
kill $pid
wait $pid 2>/dev/null
hwm=$(cat hwm.txt)
echo "recorder VmHWM: $hwm kB"
[ "$hwm" -lt 204800 ] || fail "recorder peak memory $hwm kB"
[ "$(info_field mt.data complete)" = yes ] || fail "trace not complete"
$PS fold -i mt.data >mt.folded
s=$(share mt.folded ';busy_thread_spin$')
echo "busy_thread_spin: $s% of $(info_field mt.data samples) samples"
awk -v s="$s" 'BEGIN { exit !(s > 80) }' || fail "busy_thread_spin only $s%"
exit 0
