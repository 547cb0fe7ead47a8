# -D MS and --control with a command: the command exec's (and maps its code) while the
# events are off, which the kernel does not report; samples afterwards still need its name
# and symbols.
#
# -D MS: sampling starts MS milliseconds after launch. The command runs phase A
# (examples/threads: thread_spin_a) for 1 s, then phase B (examples/split); with -D 1500
# no phase A sample may appear. Without -D, the same command shows phase A (so the check
# can fail).
. "$TOP/tests/e2e/lib.sh"
need_root
cmd="\"$TOP/examples/threads\" 1 1; exec \"$TOP/examples/split\" 2"
$PS record -q -F 499 -g -o nodelay.data -- sh -c "$cmd" >/dev/null || fail "record failed"
$PS fold -i nodelay.data >nodelay.folded
a=$(share nodelay.folded 'thread_spin_a')
echo "without -D: thread_spin_a $a%"
awk -v a="$a" 'BEGIN { exit !(a > 10) }' || fail "phase A not seen without -D ($a%)"

$PS record -q -F 499 -g -D 1500 -o delay.data -- sh -c "$cmd" >/dev/null || fail "record -D failed"
$PS fold -i delay.data >delay.folded
a=$(share delay.folded 'thread_spin_a')
b=$(share delay.folded ';heavy;')
echo "with -D 1500: thread_spin_a $a%, heavy $b%, $(info_field delay.data samples) samples"
awk -v a="$a" 'BEGIN { exit !(a == 0) }' || fail "-D 1500 sampled phase A ($a%)"
awk -v b="$b" 'BEGIN { exit !(b > 30) }' || fail "phase B missing after the delay ($b%)"
# Samples after the delay carry the exec'd command's name and symbols, although its exec
# and mmaps happened while the events were off.
named=$(share delay.folded '^split;')
[ "$named" = 100.0 ] || { head -3 delay.folded; fail "only $named% of samples after the delay are named split"; }

# --control with a command: enabled once the command has exec'd.
$PS record -q -F 499 -g --control fifo:ctl -o ctl.data -- sh -c "exec \"$TOP/examples/split\" 3" >/dev/null &
rec=$!
timeout 10 sh -c 'until [ -p ctl ]; do sleep 0.05; done' || fail "no fifo created"
sleep 1
echo enable >ctl
sleep 1
echo stop >ctl
timeout 20 sh -c "while kill -0 $rec 2>/dev/null; do sleep 0.1; done" || fail "'stop' did not end the recording"
wait $rec
$PS fold -i ctl.data >ctl.folded
named=$(share ctl.folded '^split;')
b=$(share ctl.folded ';heavy;')
echo "--control with a command: $(info_field ctl.data samples) samples, $named% named split, heavy $b%"
[ "$named" = 100.0 ] || { head -3 ctl.folded; fail "only $named% of samples after 'enable' are named split"; }
awk -v b="$b" 'BEGIN { exit !(b > 30) }' || fail "heavy missing after 'enable' ($b%)"
exit 0
