# --control fifo:PATH: sampling starts disabled; "enable" starts it, "disable" pauses it,
# "stop" ends the recording with a whole trace. Checked on sample times (CLOCK_MONOTONIC,
# as `perfsample script` prints them) against the times the words were written.
. "$TOP/tests/e2e/lib.sh"
need_root
py=/usr/bin/python3
[ -x $py ] || py=python3
mono() { $py -c 'import time; print("%.3f" % time.monotonic())'; }
"$TOP/examples/threads" 1 20 >/dev/null &
work=$!
trap 'kill $work 2>/dev/null' EXIT
sleep 0.2
$PS record -q -F 499 -g -p $work --control fifo:ctl -o ctl.data 2>rec.err &
rec=$!
timeout 10 sh -c 'until [ -p ctl ]; do sleep 0.05; done' || fail "no fifo created"
sleep 1.5
t_en=$(mono)
echo enable >ctl
sleep 1.5
t_dis=$(mono)
echo disable >ctl
sleep 1.5
t_en2=$(mono)
echo enable >ctl
sleep 1
t_stop=$(mono)
echo stop >ctl
timeout 20 sh -c "while kill -0 $rec 2>/dev/null; do sleep 0.1; done" || fail "'stop' did not end the recording"
wait $rec || { cat rec.err; fail "record --control failed"; }
[ "$(info_field ctl.data complete)" = yes ] || fail "trace not complete after 'stop'"
$PS script -i ctl.data | awk '/cpu-clock:/ { sub(":", "", $4); print $4 }' | sort -n >times.txt
n=$(wc -l <times.txt)
# Sampled while enabled (1.5 s + 1 s of one busy thread at 499 Hz), nothing otherwise.
# The words take effect when the recorder reads the fifo: allow 0.3 s after each.
awk -v a="$t_en" -v b="$t_dis" -v c="$t_en2" -v d="$t_stop" '
	$1 < a { pre++ } $1 >= a && $1 <= b + 0.3 { on1++ }
	$1 > b + 0.3 && $1 < c { off++ } $1 >= c && $1 <= d + 0.3 { on2++ } $1 > d + 0.3 { post++ }
	END { printf "%d %d %d %d %d\n", pre, on1, off, on2, post }' times.txt >phases.txt
read pre on1 off on2 post <phases.txt
echo "samples: $n; before enable $pre, enabled $on1, disabled $off, enabled again $on2, after stop $post"
[ "$pre" = 0 ] || fail "$pre samples before 'enable'"
[ "$off" = 0 ] || fail "$off samples while disabled"
[ "$post" = 0 ] || fail "$post samples after 'stop'"
[ "$on1" -gt 100 ] || fail "only $on1 samples after 'enable'"
[ "$on2" -gt 50 ] || fail "only $on2 samples after the second 'enable'"
# A fifo planted beforehand must be the recording user's and not writable by others.
mkfifo open.fifo && chmod 0666 open.fifo
expect_error "writable by others" $PS record -q --control fifo:open.fifo -o x.data -- true
mkfifo theirs.fifo && chown nobody theirs.fifo
expect_error "owned by uid [0-9]+, not by the recording user" \
	$PS record -q --control fifo:theirs.fifo -o x.data -- true
[ ! -e x.data ] || fail "a refused --control fifo still recorded"
exit 0
