# A trace renders its names after the binary is gone: record embeds them. Without
# embedding the same deletion leaves the frames unresolved (module+offset with --addrs),
# which shows the names really came from the trace.
. "$TOP/tests/e2e/lib.sh"
need_root
# No copy of the binary in perf's build-id cache either (perf record, here or in another
# test, fills ~/.debug): gone means gone.
export PERF_BUILDID_DIR="$TMP/no-buildid-cache"
mkdir bin && cp "$TOP/examples/split" bin/split || fail "copy failed"
$PS record -q -F 499 -g -o emb.data -- bin/split 1 >/dev/null || fail "record failed"
$PS record -q -F 499 -g --no-embed-symbols -o raw.data -- bin/split 1 >/dev/null || fail "record --no-embed-symbols failed"
rm -rf bin
$PS fold -i emb.data > emb.folded || fail "fold failed"
grep -q '^split;.*main;work;heavy;spin [0-9]' emb.folded || { head emb.folded; fail "embedded names lost"; }
heavy=$(share emb.folded ';heavy;')
within "$heavy" 60 8 || fail "heavy $heavy% is not about 60%"
$PS flamegraph -i emb.data > out.svg || fail "flamegraph failed"
grep -q '<title>heavy (' out.svg || fail "flame graph lacks heavy"
$PS fold -i raw.data --addrs > raw.folded || fail "fold --addrs failed"
! grep -q ';heavy;' raw.folded || fail "names resolved without the binary or embedding?"
grep -q 'split+0x[0-9a-f]*;split+0x' raw.folded || { head -3 raw.folded; fail "unresolved frames are not module+offset"; }
