# Storage faults: a full filesystem mid-recording and before the header, and a device as
# the output. The recorder stops with one clear line, does not hang, and leaves no file
# that claims to be a whole trace. What it recorded before the disk filled stays readable
# in OUT.partial, named in the error (a full disk used to delete everything).
. "$TOP/tests/e2e/lib.sh"
need_root
mkdir full
mount -t tmpfs -o size=256k tmpfs full 2>mount.err || skip "cannot mount a tmpfs here: $(cat mount.err)"
trap 'umount full 2>/dev/null; [ -n "${work:-}" ] && kill $work 2>/dev/null' EXIT
"$TOP/examples/threads" 2 30 >/dev/null &
work=$!

# Fills up while recording: -a at 4999 Hz with stacks writes far more than 256 KiB.
start=$(date +%s)
expect_error "cannot write 'full/out.data': No space left on device; the [0-9.]+ KB recorded before are kept in 'full/out.data.partial'" \
	timeout 60 $PS record -q -F 4999 -g -a -d 25 -o full/out.data
secs=$(($(date +%s) - start))
echo "full filesystem: '$(cat err.txt)' after ${secs}s"
[ "$secs" -lt 20 ] || fail "recorder took ${secs}s to give up on a full filesystem"
[ ! -e full/out.data ] || fail "a trace claiming to be whole was left on the full filesystem"
[ "$(ls full)" = out.data.partial ] || fail "files left: $(ls full)"
# Whole chunks only (a chunk cut by the full disk is cut off): it reads without a warning
# about its chunks (that names from files without a build-id are unverified is true: the
# recorder did not get to note what those files were).
$PS fold -i full/out.data.partial >kept.folded 2>kept.err || fail "the kept trace does not read: $(cat kept.err)"
grep -v "could not be verified" kept.err >kept.other
[ ! -s kept.other ] || fail "the kept trace reads with a complaint: $(cat kept.err)"
[ -s kept.folded ] || fail "the kept trace has no stacks"
[ "$(info_field full/out.data.partial complete)" = no ] || fail "the kept trace claims to be complete"
kb=$(sed -n 's/.*the \([0-9.]*\) KB recorded.*/\1/p' err.txt)
[ "$(awk -v kb="$kb" -v b="$(stat -c %s full/out.data.partial)" 'BEGIN { print (b > kb * 1024 - 100 && b < kb * 1024 + 100) }')" = 1 ] ||
	fail "the error says $kb KB, the file holds $(stat -c %s full/out.data.partial) bytes"
rm full/out.data.partial

# Full before the header: nothing fits.
dd if=/dev/zero of=full/filler bs=4k 2>/dev/null
expect_error 'cannot write.*([Nn]o space left)' timeout 20 $PS record -q -F 99 -o full/out2.data -- sleep 0.2
[ "$(ls full)" = filler ] || fail "files left: $(ls full)"
rm full/filler
kill $work
work=""

# A character device as the output (a copy of /dev/full's node, so a bug cannot replace
# the real one): an error, and the node is still the device afterwards.
mknod devfull c 1 7
if timeout 20 $PS record -q -F 99 -o devfull -- sleep 0.2 2>dev.err; then
	[ -c devfull ] || fail "record replaced the device node 'devfull' with a regular file (-o /dev/full would destroy /dev/full)"
	fail "record -o a /dev/full node succeeded"
fi
cat dev.err
[ -c devfull ] || fail "record replaced the device node 'devfull' with a regular file"
[ "$(wc -l <dev.err)" = 1 ] || fail "expected one error line"
[ ! -e devfull.partial ] || fail "devfull.partial left behind"

# Renderers' -o: a device is written as it is, never replaced by a renamed file (as root,
# 'export -o /dev/null' made /dev/null a regular file).
mknod devnull c 1 3
$PS record -q -F 499 -o small.data -- "$TOP/examples/split" 0.2 >/dev/null || fail "record failed"
$PS export --format pprof -i small.data -o devnull || fail "export to a null device failed"
[ -c devnull ] || fail "export replaced the device node 'devnull' with a regular file"
if $PS export --format callgrind -i small.data -o devfull 2>exp.err; then
	fail "export to a full device succeeded"
fi
[ -c devfull ] || fail "export replaced the device node 'devfull'"
grep -q "No space left on device" exp.err || fail "export to devfull: $(cat exp.err)"
# Two recorders, one -o, a stale OUT.partial from a recorder killed with SIGKILL: the
# first replaces the stale file and records; the second fails at once with one line,
# instead of both "succeeding" and one trace being lost (the race itself is driven many
# times in the unit test trace/one_recorder_wins_a_stale_partial).
echo "left by a killed recorder" > two.data.partial
$PS record -q -F 499 -o two.data -- "$TOP/examples/split" 1.5 >/dev/null 2>first.err &
first=$!
i=0
while [ "$(head -c 8 two.data.partial 2>/dev/null)" != PERFSMPL ] && [ $i -lt 100 ]; do
	sleep 0.05
	i=$((i + 1))
done
expect_error "cannot write 'two.data.partial': another recording is writing it" \
	timeout 20 $PS record -q -F 99 -o two.data -- sleep 0.1
wait $first || fail "the first recorder failed: $(cat first.err)"
[ "$(info_field two.data complete)" = yes ] || fail "the first recorder's trace is not whole"
[ ! -e two.data.partial ] || fail "a .partial was left behind"
exit 0
