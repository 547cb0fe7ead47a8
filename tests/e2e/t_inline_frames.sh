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

# The exports place each frame: the binary's mapping with its build-id, one location per
# address whose lines are the inlined frames (innermost first), file:line, objects.
$PS export --format pprof -o inline.pb.gz || fail "export pprof"
$PS export --format callgrind -o inline.callgrind || fail "export callgrind"
$PS export --format speedscope -o inline.json || fail "export speedscope"
bin=$(readlink -f "$TOP/examples/inline")
if command -v go >/dev/null 2>&1; then
	export HOME="$TMP" GOCACHE="$TMP/gocache" GOFLAGS=
	go tool pprof -raw inline.pb.gz >raw.txt 2>/dev/null || fail "pprof -raw"
	id=$(readelf -n "$bin" 2>/dev/null | awk '/Build ID/ { print $3 }')
	grep -Eq "^1: 0x[0-9a-f]+/0x[0-9a-f]+/0x[0-9a-f]+ $bin $id \[FN\]\[FL\]\[LN\]\[IN\]$" raw.txt ||
		{ sed -n '/^Mappings/,$p' raw.txt; fail "pprof: the binary's mapping is not first, whole"; }
	python3 - <<'PY' || { sed -n '/^Locations/,/^Mappings/p' raw.txt | head -40; fail "pprof: inline frames are not lines of one location"; }
import re
locs = open("raw.txt").read().split("Locations\n")[1].split("Mappings\n")[0]
chains = re.findall(r"^ +\d+: 0x[0-9a-f]+ M=1 (inner) \S*inline\.c:1\d .*\n +(middle) \S*inline\.c:2\d .*\n +(outer) \S*inline\.c:2\d ", locs, re.M)
assert chains, "no location with inner, middle, outer as its lines"
PY
	go tool pprof -top -lines -sample_index=samples inline.pb.gz 2>/dev/null |
		grep -Eq ' inner .*inline\.c:1[0-9] \(inline\)$' || fail "pprof -top -lines lacks inner's file:line"
	go tool pprof -list '^outer$' -sample_index=samples -source_path "$TOP" inline.pb.gz 2>/dev/null |
		grep -Eq '^ +\. +[0-9]+ +[0-9]+:.*middle\(' || fail "pprof -list lacks outer's source"
	go tool pprof -tags inline.pb.gz >tags.txt 2>/dev/null
	for k in comm pid tid; do
		grep -q "^ *$k: Total" tags.txt || { cat tags.txt; fail "pprof -tags lacks $k"; }
	done
	echo "pprof: mapping, build-id, inline lines, file:line, source, comm/pid/tid labels"
fi
if command -v callgrind_annotate >/dev/null 2>&1; then
	mkdir -p elsewhere
	(cd elsewhere && callgrind_annotate --show=samples --inclusive=yes --auto=no ../inline.callgrind) >incl.txt ||
		fail "callgrind_annotate"
	grep -Eq "^ *[0-9,]+ \( *(9[0-9]|100)\.[0-9]+%\) +[^ ]*inline\.c:outer \[$bin\]$" incl.txt ||
		{ cat incl.txt; fail "callgrind: outer is not in inline.c and $bin with its samples"; }
	awk '/%\)/ { sub(/%.*/, ""); sub(/.*\( */, ""); if ($1 + 0 > 100) exit 1 }' incl.txt ||
		{ cat incl.txt; fail "callgrind: an inclusive cost above 100%"; }
	echo "callgrind_annotate: files, objects, inclusive costs"
fi
python3 - <<'PY' || fail "speedscope frames lack files and lines"
import json, re
d = json.load(open("inline.json"))
f = {x["name"]: x for x in d["shared"]["frames"]}
assert f["inner"]["file"].endswith("inline.c") and f["inner"]["line"] > 0, f["inner"]
(p,) = d["profiles"]
assert re.fullmatch(r"inline (\d+)/\1", p["name"]), p["name"]  # its one thread: comm pid/tid
PY
exit 0
