# Off-CPU of the whole machine (-a): threads that never run during the recording are
# still accounted (the kernel reports nothing of a thread that does not switch): every
# user thread that exists at the end and was never seen is blocked for the whole
# recording. A process with four threads parked on an Event must show 4 × the duration.
. "$TOP/tests/e2e/lib.sh"
need_root
py=/usr/bin/python3
[ -x $py ] || py=$(command -v python3) || skip "python3 missing"
$py -c '
import sys, threading
ev = threading.Event()
ts = [threading.Thread(target=ev.wait) for _ in range(3)]
for t in ts: t.start()
print("ready", flush=True)
ev.wait(30)' >parked.out &
parked=$!
trap 'kill $parked 2>/dev/null' EXIT
i=0
until grep -q ready parked.out || [ $i -ge 100 ]; do sleep 0.1; i=$((i + 1)); done
sleep 0.3 # past the start-up: the threads are parked now
$PS record -q --off-cpu -g -a -d 1.5 -o all.data || fail "record --off-cpu -a failed"
dur=$($PS info -i all.data | awk '$1 == "duration:" { print $2 }')
$PS fold --wall --tid -i all.data | grep "^python3-$parked/" >parked.folded
cat parked.folded
n=$(wc -l <parked.folded)
[ "$n" -ge 4 ] || fail "wall view of -a shows $n threads of the parked process, 4 expected"
sum=$(awk '{ t += $NF } END { print t / 1e6 }' parked.folded)
echo "parked: $n threads, wall ${sum}s for a ${dur}s recording"
awk -v a="$sum" -v d="$dur" 'BEGIN { exit !(a > 4 * d * 0.95 && a < 4 * d * 1.05) }' ||
	fail "wall ${sum}s is not 4 x ${dur}s"
exit 0
