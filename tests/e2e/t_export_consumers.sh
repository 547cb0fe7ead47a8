#!/bin/sh
# The exports read by their real consumers: go tool pprof -top shows each function's self
# (flat) and total (cum) samples as the folded stacks say, callgrind_annotate the same self
# costs, and speedscope's JSON parses and holds the same stacks and weights.
# Uses `perfsample export --folded` when the CLI has it, else a small driver linked against
# build/libperfsample.a.
set -eu
: "${TOP:?}" "${PS:=$TOP/perfsample}"
TMP=${TMP:-$(pwd)}
cd "$TMP"

skip() { echo "$*"; exit 77; }
command -v python3 >/dev/null 2>&1 || skip "python3 is needed to check the exports"

# A profile with several processes, recursion, names with spaces, C++ scopes, UTF-8, and
# counts above 1000 (callgrind_annotate prints those with thousands separators).
python3 - <<'EOF' >in.folded
stacks = {}
fns = ["parse", "ns::Klass::method", "with space", "caf\u00e9", "[unknown]", "memcpy_[k]"]
for i in range(120):
    comm = ["server", "worker-1", "gc thread"][i % 3]
    depth = 1 + (i * 7) % 5
    frames = ["main"] + [fns[(i + d) % len(fns)] for d in range(depth)]
    if i % 11 == 0:
        frames += ["rec", "rec", "rec", fns[i % len(fns)]]
    key = ";".join([comm] + frames)
    stacks[key] = stacks.get(key, 0) + (i * 37) % 1500 + 1
stacks["server;main;hot"] = 4321
for k in sorted(stacks):
    print(k, stacks[k])
EOF

if "$PS" export --help 2>&1 | grep -q -- '--folded'; then
	export_to() { "$PS" export --format "$1" --folded in.folded -o "$2"; }
	via="perfsample export"
else
	lib="$TOP/build/libperfsample.a"
	[ -f "$lib" ] || make -C "$TOP" build/libperfsample.a >/dev/null 2>&1 ||
		skip "no perfsample export and build/libperfsample.a does not build"
	libs=$(sed -n 's/^DEP_LIBS := //p' "$TOP/build/config.mk" 2>/dev/null || true)
	cat >drv.c <<'EOF'
#include <stdio.h>
#include "formats/ps_error.h"
#include "render/ps_export.h"
int main(int argc, char **argv)
{
	ps_profile *p = ps_profile_new(0);
	FILE *in = argc == 4 ? fopen(argv[2], "r") : NULL, *out = in ? fopen(argv[3], "wb") : NULL;
	ps_export_fn fn = argc == 4 ? ps_export_by_name(argv[1]) : NULL;
	if (!p || !in || !out || !fn)
		return 2;
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.period_ns = 10101010; /* 99 Hz */
	int err = ps_profile_read_folded(p, in, PS_FOLDED_STRICT, NULL, NULL);
	if (!err)
		err = fn(p, &m, out);
	if (fclose(out) && !err)
		err = -1;
	if (err)
		fprintf(stderr, "drv: %s\n", ps_strerror(err));
	ps_profile_free(p);
	return err != 0;
}
EOF
	# shellcheck disable=SC2086
	cc -std=gnu11 -I"$TOP" -o drv drv.c "$lib" ${libs:--lzstd -lz} -lm
	export_to() { ./drv "$1" in.folded "$2"; }
	via="libperfsample driver"
fi
echo "exporting with $via"

# Expected per-function self and total samples: the comm (first frame) is not a function;
# total counts a function once per stack, as pprof's cum does.
python3 - <<'EOF' >expect.tsv
import collections
flat, cum = collections.Counter(), collections.Counter()
for line in open("in.folded", encoding="utf-8"):
    stack, n = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")[1:]
    flat[frames[-1]] += int(n)
    for f in set(frames):
        cum[f] += int(n)
for f in sorted(cum):
    print(f"{f}\t{flat[f]}\t{cum[f]}")
EOF

# ---- speedscope ----
export_to speedscope out.speedscope.json
python3 - <<'EOF'
import json, collections
d = json.load(open("out.speedscope.json", encoding="utf-8"))
assert d["$schema"] == "https://www.speedscope.app/file-format-schema.json", d["$schema"]
frames = d["shared"]["frames"]
expect = collections.Counter()
for line in open("in.folded", encoding="utf-8"):
    stack, n = line.rstrip("\n").rsplit(" ", 1)
    expect[stack] += int(n)
got = collections.Counter()
for p in d["profiles"]:
    assert p["type"] == "sampled" and p["startValue"] == 0
    assert len(p["samples"]) == len(p["weights"])
    assert p["endValue"] == sum(p["weights"])
    for s, w in zip(p["samples"], p["weights"]):
        got[";".join([p["name"]] + [frames[i]["name"] for i in s])] += w
# Weights are counts (unit none) or counts times one period (nanoseconds).
period = 1 if d["profiles"][0]["unit"] == "none" else sum(got.values()) // sum(expect.values())
assert got == {k: v * period for k, v in expect.items()}, "speedscope stacks differ"
assert [p["name"] for p in d["profiles"]][0] == "server", "heaviest process first"
print("speedscope: %d profiles, %d frames, stacks and weights match" % (len(d["profiles"]), len(frames)))
EOF

# ---- callgrind ----
if ! command -v callgrind_annotate >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends valgrind \
		>/dev/null 2>&1 || true
fi
command -v callgrind_annotate >/dev/null 2>&1 ||
	skip "callgrind_annotate not available (apt-get install valgrind); speedscope passed"
export_to callgrind out.callgrind
callgrind_annotate --auto=no --threshold=100 out.callgrind >annotate.txt ||
	{ cat annotate.txt; echo "callgrind_annotate failed"; exit 1; }
python3 - <<'EOF'
import re
want = {}
for line in open("expect.tsv", encoding="utf-8"):
    f, flat, cum = line.rstrip("\n").split("\t")
    if int(flat):
        want[f] = int(flat)
got = {}
for line in open("annotate.txt", encoding="utf-8"):
    m = re.match(r"^\s*([\d,]+) \(\s*[\d.]+%\)\s+(.*?):(.*)$", line.rstrip("\n"))
    if m and m.group(2) != "PROGRAM TOTALS":
        got[m.group(3)] = int(m.group(1).replace(",", ""))
assert got == want, "callgrind_annotate self costs differ:\n%s\n%s" % (sorted(got.items()), sorted(want.items()))
print("callgrind_annotate: %d functions, self costs match" % len(got))
EOF
# Inclusive costs: a function's is the samples whose stack holds it (pprof's cum), so
# recursion (rec;rec;rec) never lifts one past 100%, as it does in callgrind's own files.
callgrind_annotate --auto=no --threshold=100 --inclusive=yes out.callgrind >inclusive.txt ||
	{ cat inclusive.txt; echo "callgrind_annotate --inclusive=yes failed"; exit 1; }
python3 - <<'EOF'
import re
want = {}
for line in open("expect.tsv", encoding="utf-8"):
    f, flat, cum = line.rstrip("\n").split("\t")
    want[f] = int(cum)
got, total = {}, None
for line in open("inclusive.txt", encoding="utf-8"):
    m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+PROGRAM TOTALS$", line)
    if m:
        total = int(m.group(1).replace(",", ""))
        continue
    m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*?):(.*)$", line.rstrip("\n"))
    if not m:
        continue
    n = int(m.group(1).replace(",", ""))
    assert float(m.group(2)) <= 100.0, "inclusive cost over 100%%: %s" % line
    if m.group(3) != "[comm]":
        got[m.group(4)] = n
assert total, "no PROGRAM TOTALS"
assert all(v <= total for v in got.values())
assert got == want, "callgrind_annotate inclusive costs differ from pprof's cum:\n%s\n%s" % (sorted(got.items()), sorted(want.items()))
print("callgrind_annotate --inclusive=yes: %d functions, none above 100%%, equal to cum" % len(got))
EOF

# gprof2dot is not packaged by Debian; when one is installed, it must read the file too.
if command -v gprof2dot >/dev/null 2>&1; then
	gprof2dot -f callgrind out.callgrind >g.dot || { echo "gprof2dot failed"; exit 1; }
	grep -q 'label="main' g.dot || { echo "gprof2dot graph has no main"; exit 1; }
	echo "gprof2dot: read the callgrind file"
fi

# ---- pprof ----
if ! command -v go >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
			golang-go >/dev/null 2>&1 || true
	fi
	command -v go >/dev/null 2>&1 ||
		skip "go tool pprof not available (apt-get install golang-go); speedscope and callgrind passed"
fi
export_to pprof out.pb.gz
export HOME="$TMP" PPROF_TMPDIR="$TMP" GOCACHE="$TMP/gocache" GOFLAGS=
go tool pprof -top -nodecount=100000 -sample_index=samples out.pb.gz >top.txt 2>top.err ||
	{ cat top.err top.txt; echo "go tool pprof failed"; exit 1; }
python3 - <<'EOF'
import re
want = {}
for line in open("expect.tsv", encoding="utf-8"):
    f, flat, cum = line.rstrip("\n").split("\t")
    want[f] = (int(flat), int(cum))
got, rows = {}, False
for line in open("top.txt", encoding="utf-8"):
    line = line.rstrip("\n")
    if re.match(r"^\s+flat\s+flat%", line):
        rows = True
        continue
    if rows:
        m = re.match(r"^\s*(\d+)\s+[\d.]+%\s+[\d.]+%\s+(\d+)\s+[\d.]+%\s+(.*)$", line)
        assert m, "unexpected pprof -top line: %r" % line
        got[m.group(3)] = (int(m.group(1)), int(m.group(2)))
assert rows, "no table in pprof -top output"
assert got == want, "pprof flat/cum differ:\n%s\n%s" % (sorted(got.items()), sorted(want.items()))
print("go tool pprof -top: %d functions, flat and cum match" % len(got))
EOF
# The default sample type is CPU time when the period is known, and comm is a label.
go tool pprof -tags out.pb.gz >tags.txt 2>/dev/null
grep -q 'comm:' tags.txt || { cat tags.txt; echo "no comm label in pprof -tags"; exit 1; }
for c in server worker-1 "gc thread"; do
	grep -q "$c" tags.txt || { cat tags.txt; echo "comm $c missing from pprof -tags"; exit 1; }
done
echo "all consumers agree"
