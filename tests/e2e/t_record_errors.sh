# Every bad input gets one clear line on stderr and a non-zero exit, never a crash or a
# file that claims to be whole.
. "$TOP/tests/e2e/lib.sh"
need_root
expect_error 'cannot attach to pid 999999: no such process' $PS record -p 999999 -d 1
expect_error "cannot execute '/nonexistent/prog': No such file" $PS record -- /nonexistent/prog
[ ! -e perfsample.data ] && [ ! -e perfsample.data.partial ] || fail "failed record left a file"
expect_error "cannot write '/nonexistent/dir/x.data'" $PS record -o /nonexistent/dir/x.data -- true
expect_error 'nothing to record' $PS record
expect_error 'unknown event' $PS record -e bogus -- true
expect_error 'invalid --freq' $PS record -F abc -- true
expect_error 'unknown command' $PS frobnicate
expect_error "cannot open 'missing.data': no such file" $PS fold -i missing.data
: > empty.data
expect_error "cannot read 'empty.data': the file is empty" $PS fold -i empty.data
echo "hello world, not a trace" > text.data
expect_error "not a perfsample trace" $PS info -i text.data
expect_error "is a directory|not a perfsample trace|Is a directory" $PS fold -i .
# perf_event_open refused: an unprivileged user with perf_event_paranoid >= 1 may not
# sample every CPU; with 2 they may sample their own commands in user space only.
# nobody may not enter the checkout (a clone under /root is 0700 on Debian): it runs copies
# of the binary and the workload from this test's directory, opened up for it.
if command -v setpriv >/dev/null && [ "$(cat /proc/sys/kernel/perf_event_paranoid)" -ge 1 ]; then
	mkdir -p nobody && chmod 777 nobody && chmod 755 "$TMP"
	cp "$PS" nobody/perfsample && cp "$TOP/examples/split" nobody/split || fail "cannot copy for nobody"
	chmod 755 nobody/perfsample nobody/split
	asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
	(cd nobody && expect_error 'cannot sample all CPUs: .*perf_event_paranoid' asnobody ./perfsample record -a -d 1) || exit 1
	(cd nobody && asnobody ./perfsample record -F 999 -g -- ./split 0.5 >/dev/null 2>err.txt) ||
		{ cat nobody/err.txt; fail "unprivileged record of an own command failed"; }
	[ "$(cat /proc/sys/kernel/perf_event_paranoid)" -lt 2 ] || grep -q 'user space only' nobody/err.txt ||
		fail "no notice that kernel samples were left out"
	$PS fold -i nobody/perfsample.data | grep -q ';heavy;spin ' || fail "unprivileged trace lacks stacks"
fi
# A trace cut short still reads, with a warning; so does a damaged one, without the
# damaged chunk (t_hostile_traces checks the warning byte for byte).
$PS record -q -F 999 -g -o good.data -- "$TOP/examples/split" 1 >/dev/null || fail "record failed"
size=$(stat -c %s good.data)
head -c $((size - 100)) good.data > cut.data
$PS fold -i cut.data > cut.folded 2>cut.err || fail "truncated trace does not read"
grep -q "truncated" cut.err || fail "no warning for a truncated trace"
[ -s cut.folded ] || fail "truncated trace gave no stacks"
$PS info -i cut.data 2>/dev/null | grep -q '^complete: *no' || fail "info does not say incomplete"
cp good.data bad.data
printf 'XXXXXXXXXXXXXXXX' | dd of=bad.data bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
$PS fold -i bad.data >bad.folded 2>bad.err || fail "a damaged trace does not read: $(cat bad.err)"
grep -q "warning: skipped 1 corrupt chunk" bad.err || fail "no warning for a damaged trace: $(cat bad.err)"
exit 0
