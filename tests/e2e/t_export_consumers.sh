#!/bin/sh
# The exports read by their real consumers: go tool pprof -top shows each function's self
# (flat) and total (cum) samples as the folded stacks say, callgrind_annotate the same self
# costs and, with --inclusive=yes, pprof's cum (recursion counted once), and speedscope's JSON
# parses and holds the same stacks and weights. Then a profile built through the model's API
# (mappings, build-ids, addresses, inline frames, file:line, threads) checks that those facts
# reach go tool pprof (-raw, -traces, -top -lines, -list), callgrind_annotate and speedscope.
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

# ---- what the model knows about frames ----
# Traces get mappings, addresses, build-ids and file:line once the symbolizer gives them to
# the model; until then a driver builds such a profile through the model's API, as a
# symbolizer would: /usr/bin/app and libc with build-ids, work() with helper() and inner()
# inlined at one address, rec() recursing, source lines in a real file here, threads.
lib="$TOP/build/libperfsample.a"
[ -f "$lib" ] || make -C "$TOP" build/libperfsample.a >/dev/null 2>&1 ||
	{ echo "build/libperfsample.a does not build"; exit 1; }
libs=$(sed -n 's/^DEP_LIBS := //p' "$TOP/build/config.mk" 2>/dev/null || true)
python3 -c 'print("\n".join("/* app.c line %d */" % i for i in range(1, 61)))' >app.c
cat >model.c <<'EOF'
#include <stdio.h>
#include <string.h>
#include "formats/ps_error.h"
#include "render/ps_export.h"
static ps_profile *p;
static const char *src;
static int demangle(void *ctx, const char *name, ps_buf *out)
{
	return strncmp(name, "_Z", 2) ? 0 : ps_buf_printf(out, "%s()", name + 2) ? -1 : 1;
}
static ps_frame_id frame(const char *name, int file, uint64_t addr, uint32_t line, uint32_t map,
			 int kind)
{
	ps_frame f = {name, file ? src : NULL, addr, line, map, (uint8_t)kind, 0};
	ps_frame_id id;
	return ps_profile_frame(p, &f, &id) ? 0 : id;
}
static void sample(uint64_t t, uint32_t tid, const ps_frame_id *f, size_t n)
{
	ps_node_id node;
	ps_profile_sample s = {t, 100, tid, 0};
	if (!ps_profile_stack(p, f, n, &node)) {
		s.node = node;
		ps_profile_add_sample(p, &s, (uint64_t[]){1});
	}
}
#define S(t, tid, ...) sample(t, tid, (ps_frame_id[]){__VA_ARGS__}, \
			      sizeof((ps_frame_id[]){__VA_ARGS__}) / sizeof(ps_frame_id))
int main(int argc, char **argv)
{
	if (argc != 4 || !(p = ps_profile_new(PS_PROFILE_SAMPLES)))
		return 2;
	src = argv[3];
	ps_profile_add_type(p, "samples", "count");
	ps_label_opts lo = {0, demangle, NULL};
	ps_profile_set_labels(p, &lo);
	uint32_t app, libc;
	ps_profile_mapping(p, &(ps_mapping){"/usr/bin/app", "0123456789abcdef", 0x400000, 0x500000, 0}, &app);
	ps_profile_mapping(p, &(ps_mapping){"/lib/x86_64-linux-gnu/libc.so.6", "feedface", 0x7f0000000000, 0x7f0000200000, 0x28000}, &libc);
	ps_frame_id comm = frame("app", 0, 0, 0, 0, PS_FRAME_PROCESS);
	ps_frame_id main_ = frame("_Zmain", 1, 0x401000, 10, app, PS_FRAME_USER);
	ps_frame_id work = frame("_Zwork", 1, 0x401100, 20, app, PS_FRAME_USER);
	ps_frame_id helper = frame("_Zhelper", 1, 0x401100, 30, app, PS_FRAME_INLINE);
	ps_frame_id inner = frame("_Zinner", 1, 0x401100, 35, app, PS_FRAME_INLINE);
	ps_frame_id mc = frame("memcpy", 0, 0x7f0000001234, 0, libc, PS_FRAME_USER);
	ps_frame_id rec = frame("_Zrec", 1, 0x401200, 40, app, PS_FRAME_USER);
	ps_frame_id hot = frame("_Zhot", 1, 0x401300, 50, app, PS_FRAME_USER);
	uint64_t t = 1000000000;
	for (int i = 0; i < 10; i++, t += 10000000) {
		uint32_t tid = 100 + i % 2;
		if (i < 4)
			S(t, tid, comm, main_, work, helper, inner);
		else if (i < 6)
			S(t, tid, comm, main_, work, helper, inner, mc);
		else
			S(t, tid, comm, main_, rec, rec, rec, rec, hot);
	}
	ps_export_meta m;
	ps_export_meta_init(&m);
	m.period_ns = 10000000;
	m.start_ns = 1700000000000000000ull;
	m.duration_ns = 100000000;
	FILE *out = fopen(argv[2], "wb");
	ps_export_fn fn = ps_export_by_name(argv[1]);
	int err = out && fn ? fn(p, &m, out) : -1;
	if (out && fclose(out))
		err = -1;
	if (err)
		fprintf(stderr, "model: %s\n", ps_strerror(err));
	ps_profile_free(p);
	return err != 0;
}
EOF
# shellcheck disable=SC2086
cc -std=gnu11 -I"$TOP" -o model model.c "$lib" ${libs:--lzstd -lz} -lm ||
	{ echo "the model driver does not build"; exit 1; }
./model pprof model.pb.gz "$TMP/app.c" || { echo "model pprof export failed"; exit 1; }
./model callgrind model.callgrind "$TMP/app.c" || { echo "model callgrind export failed"; exit 1; }
./model speedscope model.json "$TMP/app.c" || { echo "model speedscope export failed"; exit 1; }

go tool pprof -raw model.pb.gz >raw.txt 2>raw.err || { cat raw.err; echo "pprof -raw failed"; exit 1; }
# Mappings with ranges, offsets, build-ids and what their locations have: libc has names
# but no files; the app has files, lines and inline frames.
grep -q '^1: 0x400000/0x500000/0x0 /usr/bin/app 0123456789abcdef \[FN\]\[FL\]\[LN\]\[IN\]$' raw.txt ||
	{ cat raw.txt; echo "pprof -raw: app mapping"; exit 1; }
grep -q '^2: 0x7f0000000000/0x7f0000200000/0x28000 /lib/x86_64-linux-gnu/libc.so.6 feedface \[FN\]$' raw.txt ||
	{ cat raw.txt; echo "pprof -raw: libc mapping"; exit 1; }
grep -q "Time: 2023-11-14 22:13:20 +0000 UTC" raw.txt || { cat raw.txt; echo "pprof -raw: time"; exit 1; }
# One location at 0x401100 whose lines are inner (innermost), helper, work; functions with
# demangled names and the names as spelled (s=...).
python3 - <<'EOF' || { cat raw.txt; exit 1; }
import re
text = open("raw.txt").read()
locs = text.split("Locations\n")[1].split("Mappings\n")[0]
m = re.search(r"^\s+\d+: 0x401100 M=1 (.*)\n\s+(.*)\n\s+(.*)\n", locs, re.M)
assert m, "no location at 0x401100 with three lines"
want = [("inner()", ":35", "_Zinner"), ("helper()", ":30", "_Zhelper"), ("work()", ":20", "_Zwork")]
for got, (name, line, sysname) in zip(m.groups(), want):
    assert got.startswith(name + " ") and (line + " ") in got and ("(" + sysname + ")") in got, got
assert re.search(r"^\s+\d+: 0x7f0000001234 M=2 memcpy :0 ", locs, re.M), "memcpy location"
assert len(re.findall(r"^\s+\d+: 0x", locs, re.M)) == 5, "one location per address"
print("go tool pprof -raw: mappings, build-ids, addresses, inline lines, names")
EOF
go tool pprof -traces model.pb.gz >traces.txt 2>/dev/null
grep -q 'inner() (inline)' traces.txt && grep -q 'helper() (inline)' traces.txt ||
	{ cat traces.txt; echo "pprof -traces: no inline frames"; exit 1; }
grep -q 'pid:  *100' traces.txt && grep -q 'tid:  *101' traces.txt && grep -q 'comm:  *app' traces.txt ||
	{ cat traces.txt; echo "pprof -traces: no pid/tid/comm labels"; exit 1; }
go tool pprof -top -lines -sample_index=samples model.pb.gz >lines.txt 2>/dev/null
for l in "inner() $TMP/app.c:35 (inline)" "hot() $TMP/app.c:50" "rec() $TMP/app.c:40" "memcpy$"; do
	grep -q " $l" lines.txt || { cat lines.txt; echo "pprof -top -lines lacks '$l'"; exit 1; }
done
grep -Eq '^ +4 +40\.00% +[0-9.]+% +4 +40\.00%  hot\(\)' lines.txt &&
	grep -Eq '^ +0 +0% +[0-9.]+% +4 +40\.00%  rec\(\)' lines.txt ||
	{ cat lines.txt; echo "pprof -top -lines: recursion counted once"; exit 1; }
# The source is here: -list shows its lines with the samples on them.
go tool pprof -list 'work' -sample_index=samples model.pb.gz >list.txt 2>/dev/null
grep -Eq '^ +\. +6 +20:/\* app.c line 20 \*/' list.txt ||
	{ cat list.txt; echo "pprof -list: no source line 20 with its samples"; exit 1; }
echo "go tool pprof: -traces inline and labels, -top -lines file:line, -list source"

# callgrind_annotate shortens fl= paths under its working directory but not cfl= ones, so
# a function with its source under it would show twice (as for callgrind's own files): run
# it elsewhere.
mkdir -p elsewhere
(cd elsewhere && callgrind_annotate --auto=no --threshold=100 --inclusive=yes ../model.callgrind) \
	>model-incl.txt || { cat model-incl.txt; echo "callgrind_annotate of the model failed"; exit 1; }
python3 - <<'EOF' || { cat model-incl.txt; exit 1; }
import os, re
src = os.environ["TMP"] + "/app.c"
got = {}
for line in open("model-incl.txt"):
    m = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)$", line.rstrip("\n"))
    if m:
        assert float(m.group(2)) <= 100.0, "over 100%: " + line
        got[m.group(3)] = int(m.group(1).replace(",", ""))
want = {
    "PROGRAM TOTALS": 10,
    "[comm]:app [???]": 10,
    src + ":main() [/usr/bin/app]": 10,
    src + ":work() [/usr/bin/app]": 6,
    src + ":helper() [/usr/bin/app]": 6,
    src + ":inner() [/usr/bin/app]": 6,
    "???:memcpy [/lib/x86_64-linux-gnu/libc.so.6]": 2,
    src + ":rec() [/usr/bin/app]": 4,
    src + ":hot() [/usr/bin/app]": 4,
}
assert got == want, "callgrind_annotate --inclusive=yes:\n%s\n%s" % (sorted(got.items()), sorted(want.items()))
print("callgrind_annotate: files, objects, inclusive costs of inlined and recursive functions")
EOF

python3 - <<'EOF'
import json, os
d = json.load(open("model.json"))
src = os.environ["TMP"] + "/app.c"
frames = {f["name"]: f for f in d["shared"]["frames"]}
assert frames["work()"] == {"name": "work()", "file": src, "line": 20}, frames["work()"]
assert frames["memcpy"] == {"name": "memcpy"}, frames["memcpy"]
assert "app" not in frames, "the process is a profile, not a frame"
# Threads 100 and 101 take turns every 10 ms: each is a timeline of its own on one clock,
# its samples in time order with the other thread's turns as empty samples.
profiles = {p["name"]: p for p in d["profiles"]}
assert sorted(profiles) == ["app 100/100", "app 100/101"], sorted(profiles)
for name, start in ("app 100/100", 0), ("app 100/101", 10000000):
    p = profiles[name]
    assert p["unit"] == "nanoseconds", p["unit"]
    assert (p["startValue"], p["endValue"]) == (start, start + 90000000), (p["startValue"], p["endValue"])
    assert p["weights"] == [10000000] * 9, p["weights"]
    names = [[d["shared"]["frames"][i]["name"] for i in s] for s in p["samples"]]
    assert names[1::2] == [[]] * 4, names
    assert names[0] == names[2] == ["main()", "work()", "helper()", "inner()"], names
    assert names[4][-1] == "memcpy" and names[6][-1] == names[8][-1] == "hot()", names
print("speedscope: frames with file and line, one profile per thread, samples in time order")
EOF
echo "all consumers agree"
