# Off-CPU as an unprivileged user (kernel.perf_event_paranoid 2, user `nobody`): the kernel
# drops every context-switch sample of a user-only event, so record must say what is
# missing and still account every blocked interval: exact times, attributed to the
# thread's last sampled user stack (approximate), no kernel frames — never nothing.
. "$TOP/tests/e2e/lib.sh"
need_root
id nobody >/dev/null 2>&1 || skip "no user nobody"
command -v setpriv >/dev/null 2>&1 || skip "setpriv missing (util-linux)"
old=$(cat /proc/sys/kernel/perf_event_paranoid)
trap 'echo "$old" >/proc/sys/kernel/perf_event_paranoid' EXIT
echo 2 >/proc/sys/kernel/perf_event_paranoid || skip "cannot set kernel.perf_event_paranoid"
# The checkout may sit where nobody cannot reach (/root): run copies from here.
chmod 1777 .
cp "$PS" ./perfsample && cp "$TOP/examples/offcpu" ./offcpu || fail "copy"
nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
nobody ./perfsample record --off-cpu -g -F 999 -o u.data -- ./offcpu 1.5 >truth.txt 2>rec.err ||
	{ cat rec.err; fail "record --off-cpu as nobody failed"; }
cat truth.txt rec.err
grep -q 'without kernel access' rec.err || fail "record did not say what is missing without kernel access"
tid=$(sed -n 's/.*tid=\([0-9]*\).*/\1/p' truth.txt)
val() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" truth.txt; }

# Every blocked interval is there, and info says none has a stack of its own.
line=$(./perfsample info -i u.data | grep '^off-cpu:') || fail "info shows no off-cpu line"
echo "$line"
n=$(echo "$line" | awk '{ print $2 }')
nostack=$(echo "$line" | sed -n 's/.* \([0-9]*\) without a stack.*/\1/p')
[ "${n:-0}" -gt 20 ] || fail "only ${n:-0} blocked intervals recorded (about 45 expected)"
[ "$nostack" = "$n" ] || fail "$nostack of $n intervals without a stack; all expected"

# The views warn, and blocked time is the worker's real waits (pipe + sleep; preemption
# while computing is left out: the switch records flag it without kernel access too).
nobody ./perfsample fold --off-cpu=voluntary --select-tid "$tid" -i u.data >off.folded 2>fold.err ||
	{ cat fold.err; fail "fold --off-cpu failed"; }
grep -q 'approximation' fold.err || { cat fold.err; fail "fold --off-cpu does not flag the approximation"; }
[ -s off.folded ] || fail "the off-CPU view is empty"
blocked=$(awk '{ t += $NF } END { print t / 1e6 }' off.folded)
truth=$(awk -v p="$(val pipe)" -v s="$(val sleep)" 'BEGIN { print p + s }')
echo "blocked ${blocked}s, truth ${truth}s"
awk -v a="$blocked" -v b="$truth" 'BEGIN { exit !(a > b * 0.95 && a < b * 1.05) }' ||
	fail "blocked ${blocked}s is not the worker's ${truth}s"
grep -q ';worker' off.folded || fail "blocked time not under the worker's user stack"
grep -Eq 'schedule|_\[k\]' off.folded && fail "kernel frames in a user-only recording"
# Wall time is the thread's lifetime.
./perfsample fold --wall --select-tid "$tid" -i u.data 2>/dev/null >wall.folded || fail "fold --wall failed"
sum=$(awk '{ t += $NF } END { print t / 1e6 }' wall.folded)
echo "wall ${sum}s, lifetime $(val total)s"
awk -v a="$sum" -v b="$(val total)" 'BEGIN { exit !(a > b * 0.95 && a < b * 1.03) }' ||
	fail "wall ${sum}s is not the worker's lifetime $(val total)s"
exit 0
