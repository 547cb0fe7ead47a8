# record --off-cpu-period N on a switch-heavy workload (examples/pingpong: two threads
# bouncing a byte over pipes, main waiting in wait_long() for a third of the answers, which
# take 40 us more): about one switch-out in N keeps its stack, the rest are counted, not
# written; the sampled stacks share out each thread's exact blocked time (OFFCPU_STATS,
# printed by info), keep their user and kernel frames, and split it between the waits as
# main measured them. No timing bound: each estimate is checked against the same run.
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q --off-cpu -g -F 999 --off-cpu-period 17 -o pp.data -- "$TOP/examples/pingpong" 2 200 50 >pp.out ||
	fail "record --off-cpu-period failed"
cat pp.out
$PS info -i pp.data >info.txt || fail "info failed"
grep -E "off-cpu:|exact" info.txt
written=$(awk '$1 == "off-cpu:" { print $2 }' info.txt)
skipped=$(awk '/more intervals without a sampled stack/ { print $1 }' info.txt)
est=$(awk '$1 == "off-cpu:" { print $4 }' info.txt)
exact=$(sed -n 's/.*exact blocked time \([0-9.]*\) s.*/\1/p' info.txt)
[ -n "$written" ] && [ -n "$skipped" ] && [ -n "$exact" ] || fail "info lacks the sampled counts"
# One in 17 per thread and CPU, a little more with the switches of threads' first
# moments: between 1 in 30 and 1 in 10 of all intervals.
awk -v w="$written" -v s="$skipped" 'BEGIN { f = w / (w + s); exit !(f > 1/30 && f < 1/10) }' ||
	fail "$written of $((written + skipped)) intervals have a stack, not about 1 in 17"
# The estimate is the exact total but for the intervals a thread closed after its last
# sampled one (a few in thousands). Weighting each sampled interval by its own duration
# times N came out 10-35% short: taking the stack delays the switch record.
awk -v e="$est" -v x="$exact" 'BEGIN { exit !(e > x * 0.97 && e <= x * 1.001) }' ||
	fail "estimated blocked time ${est}s is not the exact ${exact}s"
# The split between main's waits against its own clock around each read (wall view: the
# read's CPU time comes from the CPU samples, its blocked time from the sampled stacks).
# Measured 1.9-3.4 points under the truth: a sampled wait is perturbed by taking its stack,
# which weighs more on a 14 us wait than on a 55 us one.
$PS fold --wall -i pp.data >wall.folded || fail "fold --wall failed"
truth=$(awk -F'[= ]' '/^short=/ { printf "%.1f", 100 * $4 / ($2 + $4) }' pp.out)
got=$(awk '/;wait_long;/ { l += $NF } /;wait_short;/ { s += $NF }
	END { if (l + s) printf "%.1f", 100 * l / (l + s) }' wall.folded)
echo "wait_long: ${got}% of main's waits (measured by main: ${truth}%)"
[ -n "$got" ] && [ -n "$truth" ] || fail "no wait_long/wait_short stacks or no truth"
within "$got" "$truth" 6 || fail "wait_long ${got}% is not ${truth}%"
$PS fold --off-cpu -i pp.data >off.folded || fail "fold --off-cpu failed"
grep -Eq ';(echo|main);(read|__GI___libc_read);.*pipe_read;.*schedule ' off.folded ||
	{ head -5 off.folded; fail "no sampled stack with echo/main;read;...pipe_read;...schedule"; }
