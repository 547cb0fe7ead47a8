# SIGKILL of the recorder: the .partial it leaves reads back (info, fold, script), and at
# most about the last second is missing — chunks are flushed at least once a second.
# Measured: the last sample time in the partial against the CLOCK_MONOTONIC time of the kill.
. "$TOP/tests/e2e/lib.sh"
need_root
py=/usr/bin/python3
[ -x $py ] || py=python3
mono() { $py -c 'import time; print("%.3f" % time.monotonic())'; }
$PS record -q -F 499 -g -o k.data -- "$TOP/examples/threads" 1 15 &
rec=$!
t0=$(mono)
sleep 3.3
work=$(pgrep -P $rec)
tk=$(mono)
kill -9 $rec
wait $rec
[ -n "$work" ] && kill $work
[ ! -e k.data ] || fail "a killed recorder left a final k.data"
[ -e k.data.partial ] || fail "no k.data.partial after SIGKILL"
$PS info -i k.data.partial >info.txt 2>info.err || { cat info.err; fail "info cannot read the partial"; }
cat info.err
grep -Eq '^complete: +no' info.txt || fail "partial claims to be complete"
samples=$(awk '$1 == "samples:" { print $2 }' info.txt)
$PS fold -i k.data.partial >k.folded 2>/dev/null || fail "fold cannot read the partial"
$PS script -i k.data.partial 2>/dev/null | awk '/cpu-clock:/ { sub(":", "", $4); print $4 }' | sort -n >times.txt
first=$(head -n 1 times.txt)
last=$(tail -n 1 times.txt)
[ -n "$last" ] || fail "no samples in the partial"
missing=$(awk -v k="$tk" -v l="$last" 'BEGIN { printf "%.2f", k - l }')
span=$(awk -v f="$first" -v l="$last" 'BEGIN { printf "%.2f", l - f }')
expect=$(awk -v k="$tk" -v s="$t0" 'BEGIN { printf "%d", (k - s) * 499 }')
echo "killed $(awk -v k="$tk" -v s="$t0" 'BEGIN { printf "%.2f", k - s }') s after start: partial holds $samples samples over $span s (one busy thread at 499 Hz: at most $expect); last sample $missing s before the kill"
[ "$samples" -gt 300 ] || fail "partial holds only $samples samples"
within "$missing" 0 1.6 || fail "partial misses the last $missing s (more than a second's chunk)"
[ "$(share k.folded ';thread_spin_a$')" != 0 ] || fail "partial lacks the workload's frames"
exit 0
