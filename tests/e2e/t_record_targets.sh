# -a, -p and -t attach and sample; -p ends by itself when the target exits.
. "$TOP/tests/e2e/lib.sh"
need_root
# The workload outlives the three recordings even on a loaded machine (-a symbolizes every
# process it saw, which takes seconds there); it is killed at the end.
"$TOP/examples/split" 60 >/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
sleep 0.2
$PS record -q -F 499 -g -a -d 1 -o all.data || fail "record -a failed"
n=$(info_field all.data samples)
[ "$n" -gt 100 ] || fail "record -a: only $n samples"
$PS fold -i all.data | grep -q '^split;.*;heavy;spin' || fail "record -a lacks the split workload"

$PS record -q -F 499 -g -p $pid -d 1 -o pid.data || fail "record -p failed"
$PS fold -i pid.data > pid.folded
[ "$(share pid.folded ';heavy;')" != 0 ] || fail "record -p lacks heavy"
other=$(grep -vc '^split;' pid.folded)
[ "$other" = 0 ] || fail "record -p caught $other stacks of other processes"

$PS record -q -F 499 -g -t $pid -d 0.5 -o tid.data || fail "record -t failed"
[ "$(info_field tid.data samples)" -gt 50 ] || fail "record -t: too few samples"

# Without -d, recording ends when the target exits.
"$TOP/examples/split" 1 >/dev/null &
short=$!
start=$(date +%s)
timeout 20 $PS record -q -F 99 -g -p $short -o short.data || fail "record -p of a short process failed"
[ $(($(date +%s) - start)) -le 5 ] || fail "record -p did not end when the target exited"
[ "$(info_field short.data samples)" -gt 10 ] || fail "record -p short: too few samples"
kill $pid 2>/dev/null
wait
exit 0
