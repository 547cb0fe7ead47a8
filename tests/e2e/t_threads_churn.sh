# Threads come and go: examples/churn starts ~400 short-lived named threads a second.
# Attached with -p after it started, the recorder follows threads created later (the
# kernel's inherited events), attributes them to the right process, and does not grow
# its fds with the number of threads created.
. "$TOP/tests/e2e/lib.sh"
need_root
"$TOP/examples/churn" 10 400 2000 >churn.out &
pid=$!
sleep 0.5
$PS record -q -F 499 -g -p $pid -d 8 -o churn.data 2>rec.err &
rec=$!
sleep 1.5
fds_early=$(ls /proc/$rec/fd | wc -l)
sleep 5.5
fds_late=$(ls /proc/$rec/fd | wc -l)
timeout 30 sh -c "while kill -0 $rec 2>/dev/null; do sleep 0.2; done" || fail "recorder did not stop after -d 8"
wait $rec || { cat rec.err; fail "record -p failed"; }
wait $pid
started=$(awk '{ print $1 }' churn.out)
echo "recorder fds: $fds_early after 1.5 s, $fds_late after 7 s; churn started $started threads"
[ "$fds_late" -le $((fds_early + 2)) ] || fail "recorder fds grew from $fds_early to $fds_late while threads churned"

[ "$(info_field churn.data complete)" = yes ] || fail "trace not complete"
$PS fold --pid -i churn.data >pid.folded
$PS fold --tid -i churn.data >tid.folded
$PS fold -i churn.data >plain.folded
# Every stack belongs to the workload: COMM-PID, whatever name the thread gave itself.
others=$(awk '{ split($0, f, ";"); if (f[1] !~ /-'$pid'$/) n++ } END { print n + 0 }' pid.folded)
[ "$others" = 0 ] || { head pid.folded; fail "$others stacks not attributed to pid $pid"; }
# Threads created after the attach are sampled: many distinct tids, all of the process.
tids=$(sed 's/;.*//' tid.folded | sed 's/.*-//' | awk -F/ '$1 == '$pid' { print $2 }' | sort -u | wc -l)
echo "distinct sampled tids: $tids"
[ "$tids" -gt 300 ] || fail "only $tids distinct threads sampled"
named=$(grep -cE '^churn-[0-9]+;' plain.folded)
[ "$named" -gt 100 ] || fail "thread names from pthread_setname_np missing ($named stacks)"
w=$(share plain.folded ';churn_worker_work$')
echo "churn_worker_work: $w% of samples"
awk -v w="$w" 'BEGIN { exit !(w > 60) }' || fail "churn_worker_work only $w% of samples"
exit 0
