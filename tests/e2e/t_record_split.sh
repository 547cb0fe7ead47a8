# Records examples/split (60/30/10 by loop iterations) with frame pointers and checks the
# split in fold, the flame graph, report and info.
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q -F 999 -g -- "$TOP/examples/split" 2 >/dev/null || fail "record failed"
[ "$(stat -c %a perfsample.data)" = 600 ] || fail "trace mode is not 0600"
[ ! -e perfsample.data.partial ] || fail "partial file left behind"
$PS fold > out.folded || fail "fold failed"
grep -q '^split;.*main;work;heavy;spin ' out.folded || { head out.folded; fail "no main;work;heavy;spin stack"; }
heavy=$(share out.folded ';heavy;')
medium=$(share out.folded ';medium;')
light=$(share out.folded ';light;')
echo "split: heavy $heavy% medium $medium% light $light%"
within "$heavy" 60 6 || fail "heavy $heavy% is not about 60%"
within "$medium" 30 6 || fail "medium $medium% is not about 30%"
within "$light" 10 4 || fail "light $light% is not about 10%"
# Lines are sorted and unique, as stackcollapse-perf.pl prints them.
sed 's/ [0-9]*$//' out.folded | LC_ALL=C sort -c -u || fail "fold output not sorted/unique"

$PS flamegraph > out.svg || fail "flamegraph failed"
xmllint --noout out.svg || fail "flame graph is not well-formed XML"
for f in main work heavy medium light spin; do
	grep -q "<title>$f (" out.svg || fail "flame graph lacks frame $f"
done
$PS flamegraph --title "my title" --width 800 --colors blue --inverted > inv.svg || fail "flamegraph options"
grep -q 'my title' inv.svg || fail "title missing"

$PS report > report.txt || fail "report failed"
grep -q ' spin$' report.txt || { cat report.txt; fail "report lacks spin"; }
[ "$(info_field perfsample.data samples)" -gt 500 ] || fail "too few samples"
[ "$(info_field perfsample.data complete)" = yes ] || fail "trace not complete"
$PS info | grep -q '^event *cpu-clock' || fail "info lacks the event"
$PS info | grep -q 'split' || fail "info lacks the process"
