# --switch-output: a new self-contained file per rotation (by time or SIGUSR2), none lost.
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q -F 499 -g --switch-output=1s -o rot.data -- "$TOP/examples/split" 3.5 >/dev/null ||
	fail "record with --switch-output=1s failed"
n=$(ls rot.data.* | wc -l)
[ "$n" -ge 3 ] && [ "$n" -le 5 ] || fail "expected about 4 files, got $n"
[ ! -e rot.data ] || fail "the unrotated name was written too"
total=0
for f in rot.data.*; do
	[ "$(info_field $f complete)" = yes ] || fail "$f not complete"
	s=$(info_field $f samples)
	total=$((total + s))
	# Every file stands alone: its stacks are named without the others.
	$PS fold -i $f > $f.folded || fail "fold $f failed"
	[ "$s" -lt 20 ] || grep -q ';heavy;spin ' $f.folded || fail "$f lacks named stacks"
done
[ "$total" -gt 300 ] || fail "only $total samples across the files"

# On SIGUSR2 (the default trigger).
$PS record -q -F 499 -g --switch-output -o sig.data -- "$TOP/examples/split" 3 >/dev/null &
rec=$!
sleep 1
kill -USR2 $rec
sleep 1
kill -USR2 $rec
wait $rec || fail "record --switch-output exited non-zero"
n=$(ls sig.data.* | wc -l)
[ "$n" = 3 ] || fail "expected 3 files after two SIGUSR2, got $n"
for f in sig.data.*; do
	[ "$(info_field $f complete)" = yes ] || fail "$f not complete"
done
echo "rotated into $(ls rot.data.* | wc -l) files by time, 3 by signal; $total samples"
