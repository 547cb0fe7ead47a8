# Inlined functions are frames of their own (innermost as leaf), from DWARF inline info;
# --no-inline folds them into the function they were inlined into.
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q -F 999 -g -- "$TOP/examples/inline" 1 >/dev/null || fail "record failed"
$PS fold > with.folded
$PS fold --no-inline > without.folded
with=$(share with.folded ';main;outer;middle;inner$')
without=$(share without.folded ';main;outer$')
echo "inline frames: $with% main;outer;middle;inner, without: $without% main;outer"
within "$with" 95 5 || { head -3 with.folded; fail "inlined frames missing"; }
within "$without" 95 5 || { head -3 without.folded; fail "--no-inline still shows inlined frames"; }
$PS fold --lines | grep -q 'inner \[inline.c:1[0-9]\]' || fail "--lines lacks inline.c:line"
# The same from the binary on disk, without the embedded names.
$PS record -q -F 999 -g --no-embed-symbols -o disk.data -- "$TOP/examples/inline" 0.5 >/dev/null
$PS fold -i disk.data > disk.folded
within "$(share disk.folded ';main;outer;middle;inner$')" 95 5 || fail "inline frames from disk missing"
