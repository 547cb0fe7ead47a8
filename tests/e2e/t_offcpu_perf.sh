# Off-CPU against perf, the peer: the same workload (examples/offcpu) recorded with
# `perf record -e sched:sched_switch -g -a` and post-processed (tests/e2e/offcpu_perf.py)
# into blocked time per stack, as perf-based off-CPU scripts do, against perfsample
# --off-cpu -g. The blocked times agree; the stacks differ where perf's frame-pointer walk
# loses the caller of a libc wrapper without a frame pointer (perf: worker;read, for the
# pipe; perfsample, which unwinds those frames by their CFI: worker;wait_pipe;read).
. "$TOP/tests/e2e/lib.sh"
need_root
command -v perf >/dev/null 2>&1 || skip "perf missing (apt-get install linux-perf)"
if ! [ -e /sys/kernel/tracing/events/sched/sched_switch ]; then
	mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
	[ -e /sys/kernel/tracing/events/sched/sched_switch ] || skip "no tracefs for perf's sched:sched_switch"
fi
perf record -q -e sched:sched_switch -g -a -o perf.data -- "$TOP/examples/offcpu" 2 >truth1.txt 2>perf.err ||
	{ cat perf.err; fail "perf record failed"; }
tid1=$(sed -n 's/.*tid=\([0-9]*\).*/\1/p' truth1.txt)
perf script -i perf.data -F comm,tid,cpu,time,event,trace,ip,sym >perf.txt 2>/dev/null || fail "perf script failed"
python3 "$TOP/tests/e2e/offcpu_perf.py" "$tid1" voluntary <perf.txt >perf.folded || fail "post-processing failed"
$PS record -q --off-cpu -g -- "$TOP/examples/offcpu" 2 >truth2.txt || fail "record failed"
tid2=$(sed -n 's/.*tid=\([0-9]*\).*/\1/p' truth2.txt)
$PS fold --off-cpu=voluntary --select-tid "$tid2" >ps.folded || fail "fold failed"

p_pipe=$(share perf.folded ';(read|__GI___libc_read);')
p_sleep=$(share perf.folded 'nanosleep')
s_pipe=$(share ps.folded ';(read|__GI___libc_read);')
s_sleep=$(share ps.folded 'nanosleep')
echo "blocked in read: perf $p_pipe%, perfsample $s_pipe%; in nanosleep: perf $p_sleep%, perfsample $s_sleep%"
within "$p_pipe" "$s_pipe" 5 || fail "read: perf $p_pipe% against perfsample $s_pipe%"
within "$p_sleep" "$s_sleep" 5 || fail "nanosleep: perf $p_sleep% against perfsample $s_sleep%"
# The difference: the caller of read.
p_wp=$(share perf.folded ';wait_pipe;')
s_wp=$(share ps.folded ';wait_pipe;')
echo "wait_pipe in the stacks: perf $p_wp%, perfsample $s_wp% (read's caller, lost by a frame-pointer walk from libc's wrapper)"
echo "perf's pipe stack:       $(grep -E ';(read|__GI___libc_read);' perf.folded | sort -t' ' -k2 -n | tail -n 1 | cut -c1-160)"
echo "perfsample's pipe stack: $(grep -E ';(read|__GI___libc_read);' ps.folded | sort -t' ' -k2 -n | tail -n 1 | cut -c1-160)"
awk -v s="$s_wp" -v p="$s_pipe" 'BEGIN { exit !(s > p - 3) }' || fail "perfsample's read stacks lack wait_pipe"
