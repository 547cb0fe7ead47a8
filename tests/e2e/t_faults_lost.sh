# Lost data is visible: a recorder that stops draining (SIGSTOP for 2 s while -a samples
# busy threads at 20 kHz with stacks) overflows its 512 KiB per-CPU rings. The kernel's
# LOST records must reach the trace: info shows lost > 0 and the flame graph's subtitle
# warns about it.
. "$TOP/tests/e2e/lib.sh"
need_root
"$TOP/examples/threads" 4 10 >/dev/null &
work=$!
trap 'kill $work 2>/dev/null' EXIT
$PS record -q -F 20000 -g -a -d 5 -o lost.data 2>rec.err &
rec=$!
sleep 1
kill -STOP $rec
sleep 2
kill -CONT $rec
timeout 30 sh -c "while kill -0 $rec 2>/dev/null; do sleep 0.2; done" || fail "recorder hung after SIGCONT"
wait $rec || { cat rec.err; fail "record failed"; }
samples=$(info_field lost.data samples)
lost=$(info_field lost.data lost)
throttled=$(info_field lost.data throttled)
echo "samples: $samples, lost: $lost, throttled: $throttled"
[ "$(info_field lost.data complete)" = yes ] || fail "trace not complete"
[ "$lost" -gt 0 ] || fail "a stopped recorder lost nothing: LOST records are not counted"
$PS flamegraph -i lost.data >lost.svg || fail "flamegraph failed"
grep -Eq "warning: $lost samples lost" lost.svg || { grep -o 'warning:[^<]*' lost.svg; fail "flame graph subtitle does not say $lost samples were lost"; }
# An explicit --subtitle wins.
$PS flamegraph -i lost.data --subtitle mine >mine.svg
grep -q "samples lost" mine.svg && fail "--subtitle did not replace the warning"
grep -q ">mine<" mine.svg || fail "--subtitle text missing"
exit 0
