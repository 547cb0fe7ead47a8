# Locked-memory limits: without CAP_IPC_LOCK, ring buffers count against
# kernel.perf_event_mlock_kb (per CPU) and RLIMIT_MEMLOCK, and the kernel refuses a ring
# mmap past them with EPERM. That was reported as a perf_event_paranoid problem (wrong
# advice) and the recording failed; now the recorder halves its rings until they fit, as
# perf does, and says which limits to raise; only when even the smallest ring does not fit
# is it an error, naming the same limits. Root is exempt, so this runs as nobody, with
# perf_event_paranoid and perf_event_mlock_kb lowered for the test and restored by a trap.
. "$TOP/tests/e2e/lib.sh"
need_root
command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
paranoid=/proc/sys/kernel/perf_event_paranoid
mlock=/proc/sys/kernel/perf_event_mlock_kb
old_paranoid=$(cat $paranoid)
old_mlock=$(cat $mlock)
restore() { echo "$old_paranoid" >$paranoid; echo "$old_mlock" >$mlock; }
trap restore EXIT
trap 'exit 1' INT TERM
# 2: users may profile their own commands in user space, and the mlock limits apply (at
# -1 they do not).
echo 2 >$paranoid 2>/dev/null || skip "cannot set kernel.perf_event_paranoid here"
# nobody may not enter the checkout (a clone under /root is 0700): copies, opened up.
mkdir -p nobody && chmod 777 nobody && chmod 755 "$TMP"
cp "$PS" nobody/perfsample && cp "$TOP/examples/split" nobody/split || fail "cannot copy for nobody"
chmod 755 nobody/perfsample nobody/split
asnobody() { (cd nobody && setpriv --reuid=65534 --regid=65534 --clear-groups sh -c "$1"); }

# Room for rings of 128 KB on each CPU but not 512 KB: 8 KB per CPU from the sysctl and
# 160 KB per CPU from 'ulimit -l' (the kernel adds both; a ring also takes a page). The
# sysctl's share is per user, and other tests run as nobody too: the margin is in the
# per-process 'ulimit -l'.
ncpu=$(nproc)
echo 8 >$mlock
asnobody "ulimit -l $((160 * ncpu + 16)) && ./perfsample record -F 499 -g -o small.data -- ./split 1" \
	>/dev/null 2>small.err || fail "record under a low locked-memory limit failed: $(cat small.err)"
cat small.err
grep -Eq 'ring buffers are [0-9]+ KB per CPU instead of 512 KB, as the locked-memory limit allows \(kernel.perf_event_mlock_kb is 8 KB per CPU and .ulimit -l. is [0-9]+ KB' small.err ||
	fail "no notice of smaller rings and the limits: $(cat small.err)"
grep 'ring buffers' small.err | grep -q paranoid && fail "the mlock notice talks about perf_event_paranoid: $(cat small.err)"
# The rings were smaller, not useless: the recording has the workload's samples.
[ "$(info_field nobody/small.data samples)" -gt 50 ] || fail "few samples with small rings: $(info_field nobody/small.data samples)"
$PS fold -i nobody/small.data | grep -q ';heavy;spin ' || fail "no stacks of the workload"

# Nothing fits: one line naming the locked-memory limits, not perf_event_paranoid.
echo 0 >$mlock
asnobody "ulimit -l 0 && exec ./perfsample record -F 99 -o none.data -- ./split 0.2" >/dev/null 2>none.err &&
	fail "record without any locked memory succeeded"
[ "$(wc -l <none.err)" = 1 ] || fail "expected one error line: $(cat none.err)"
grep -Eq "^perfsample: cannot map a [0-9]+ KB ring buffer: locked-memory limit reached \(kernel.perf_event_mlock_kb is 0 KB per CPU and 'ulimit -l' is 0 KB" none.err ||
	fail "wrong error: $(cat none.err)"
grep -q paranoid none.err && fail "the error blames perf_event_paranoid: $(cat none.err)"
[ ! -e nobody/none.data ] && [ ! -e nobody/none.data.partial ] || fail "a failed recording left a file"
exit 0
