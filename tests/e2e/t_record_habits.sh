# perf record's idioms: with -a, -p or -t a command bounds the recording (`-a -- sleep 1`),
# -F max samples at the kernel's highest rate, and the live status line never lands in
# the profiled program's output (it is drawn only when it owns the terminal line).
. "$TOP/tests/e2e/lib.sh"
need_root
dur() { info_field "$1" duration | sed 's/s$//'; }
meta() { $PS info -i "$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }

# -a -- sleep: the whole system, for as long as the command runs; its exit status.
$PS record -q -a -g -o a.data -- sh -c 'sleep 1; exit 3'
[ $? = 3 ] || fail "-a -- cmd does not exit with the command's status"
d=$(dur a.data)
within "$d" 1.0 0.5 || fail "-a -- sleep 1 recorded ${d}s"
[ "$(meta a.data target)" = all-cpus ] || fail "-a -- cmd is not system-wide"

# -p PID -- sleep: that process, for as long as the command runs.
"$TOP/examples/split" 5 >/dev/null &
victim=$!
sleep 0.2
$PS record -q -g -p "$victim" -o p.data -- sleep 1 || fail "-p PID -- sleep failed"
kill "$victim" 2>/dev/null
wait "$victim" 2>/dev/null
d=$(dur p.data)
within "$d" 1.0 0.5 || fail "-p PID -- sleep 1 recorded ${d}s"
$PS fold -i p.data > p.folded
grep -q ';heavy;' p.folded || fail "-p PID -- sleep did not profile PID"
! grep -q '^sleep' p.folded || fail "-p PID -- sleep profiled the sleep"

# -F max: kernel.perf_event_max_sample_rate.
# The kernel lowers the limit by itself when sampling interrupts run long (a loaded
# machine), so the rate read at start may be above the one read after.
before=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
$PS record -q -F max -o m.data -- sleep 0.1 || fail "-F max failed"
after=$(cat /proc/sys/kernel/perf_event_max_sample_rate)
got=$(meta m.data freq)
[ -n "$got" ] && [ "$got" -le "$before" ] && [ "$got" -ge "$after" ] ||
	fail "-F max is $got Hz, not the kernel's limit ($before before, $after after)"
$PS record -F often -- true >/dev/null 2>&1
[ $? = 2 ] || fail "-F often is not a usage error"

# On a terminal (script(1) gives one), the program's lines stay whole.
command -v script >/dev/null || fail "script(1) is missing (bsdutils)"
script -qc "$PS record -o t.data -- sh -c 'echo line 1; sleep 1.3; echo line 3'" /dev/null \
	| tr -d '\r' > tty.txt
grep -qx 'line 3' tty.txt || { cat -A tty.txt; fail "the status line landed in the program's output"; }
grep -q 'samples in' tty.txt || { cat tty.txt; fail "no summary at the end"; }
# Attached to others, the status line is drawn live.
script -qc "$PS record -o t2.data -a -d 1.3" /dev/null > tty2.txt
grep -q 'perfsample record: 1s' tty2.txt || { cat -A tty2.txt; fail "no live status line with -a"; }
