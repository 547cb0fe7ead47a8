#!/bin/sh
# Runs each libFuzzer target for SECONDS (default 60) on a corpus seeded from real traces,
# folded stacks and perf-script text, plus tests/data/fuzz-regressions. Crashes (and the
# grown corpora) land in fuzz/out/. Exits non-zero when a target crashed.
# Usage: fuzz/run.sh SECONDS build-fuzz/fuzz_NAME...
cd "$(dirname "$0")/.." || exit 1
secs=${1:-60}
shift
out=fuzz/out
mkdir -p "$out"
seeds=$out/seeds
rm -rf "$seeds"
mkdir -p "$seeds/trace" "$seeds/folded" "$seeds/perfscript" "$seeds/perfdata" "$seeds/pmcstat" \
	"$seeds/dtrace" "$seeds/pprof" "$seeds/procfs"
# Traces: a real recording (when perf_event_open is allowed), its cut-short copy, and
# every regression input.
# (--stat and --off-cpu: with METRICS and OFFCPU records too)
if ./perfsample record -q -F 999 -g --stat --off-cpu -o "$seeds/t.data" -- examples/offcpu 1.2 >/dev/null 2>&1; then
	head -c $(($(wc -c <"$seeds/t.data") / 2)) "$seeds/t.data" >"$seeds/trace/cut"
	cp "$seeds/t.data" "$seeds/trace/whole"
	# Sampled off-CPU stacks: OFFCPU records with weights above 1.
	./perfsample record -q --off-cpu -g --off-cpu-period 3 -o "$seeds/trace/sampled" \
		-- examples/pingpong 0.2 >/dev/null 2>&1
	# Raw chunks for fuzz_trace's wrapping mode: 1, a record count, the records.
	command -v zstd >/dev/null 2>&1 && python3 - "$seeds/t.data" "$seeds/trace" <<'PY'
import struct, subprocess, sys
d = open(sys.argv[1], "rb").read()
pos = 28 + struct.unpack_from("<I", d, 24)[0]
i = 0
while pos + 16 <= len(d):
    magic, csize, rsize, nrec = struct.unpack_from("<IIII", d, pos)
    raw = subprocess.run(["zstd", "-d", "-c"], input=d[pos + 16:pos + 16 + csize],
                         capture_output=True).stdout
    open("%s/raw%d" % (sys.argv[2], i), "wb").write(bytes([1, min(nrec, 255)]) + raw[:60000])
    pos += 16 + csize
    i += 1
PY
	./perfsample fold -i "$seeds/t.data" >"$seeds/t.folded" 2>/dev/null
	./perfsample script -i "$seeds/t.data" >"$seeds/t.perf" 2>/dev/null
	{ printf '\0'; head -c 8000 "$seeds/t.folded"; } >"$seeds/folded/fold"
	{ printf '\0'; head -c 8000 "$seeds/t.perf"; } >"$seeds/perfscript/script"
fi
# A heap trace (record --heap): HEAP_ALLOC and HEAP_FREE records for fuzz_trace.
if ./perfsample record -q --heap --heap-rate 262144 -o "$seeds/h.data" -- examples/heapwork 1 >/dev/null 2>&1; then
	cp "$seeds/h.data" "$seeds/trace/heap"
fi
# perf.data in each of perf's layouts (byte 0: even, the file as it is).
if command -v perf >/dev/null 2>&1; then
	for mode in fp z pipe dwarf; do
		case $mode in
		fp | pipe) opts=-g ;;
		z) opts="-g -z" ;;
		dwarf) opts="--call-graph dwarf,4096" ;;
		esac
		o=$seeds/pd.$mode
		if [ $mode = pipe ]; then
			perf record -q -F 999 $opts -o - -- examples/split 0.1 >"$o" 2>/dev/null
		else
			perf record -q -F 999 $opts -o "$o" -- examples/split 0.1 >/dev/null 2>&1
		fi
		[ -s "$o" ] && { printf '\0'; head -c 60000 "$o"; } >"$seeds/perfdata/$mode"
	done
fi
i=0
for f in tests/data/corpus/perf-script/*.txt; do
	i=$((i + 1))
	{ printf '\0'; head -c 8000 "$f"; } >"$seeds/perfscript/corpus$i"
	{ printf '\3'; head -c 8000 "$f"; } >"$seeds/perfscript/corpus$i-pid-kernel"
done
printf '\0a;b;c 10\nmain;x 5 7\nbad line\n' >"$seeds/folded/small"
# Other tools' stacks: the inputs the e2e tests compare with FlameGraph's scripts.
for f in tests/data/stacks/pmcstat-*.txt; do cp "$f" "$seeds/pmcstat/"; done
for f in tests/data/stacks/dtrace-*.txt; do head -c 20000 "$f" >"$seeds/dtrace/$(basename "$f")"; done
# pprof: byte 0 picks the options; each profile gzipped and raw (what mutates well).
for f in tests/data/stacks/*.pb.gz; do
	b=$(basename "$f" .pb.gz)
	{ printf '\0'; cat "$f"; } >"$seeds/pprof/$b-gz"
	{ printf '\5'; gzip -dc "$f"; } >"$seeds/pprof/$b-raw"
done
# /proc and /sys text: byte 0 picks the parser (fuzz/fuzz_procfs.c), from this machine.
i=0
for f in /proc/stat /proc/loadavg /proc/pressure/cpu /proc/meminfo /proc/vmstat /proc/diskstats \
	/proc/net/dev /proc/net/softnet_stat /proc/self/stat /proc/self/status /proc/self/io; do
	{ printf "\\$(printf %o $i)"; head -c 20000 "$f" 2>/dev/null; } >"$seeds/procfs/$i"
	i=$((i + 1))
done
for f in tests/data/fuzz-regressions/*; do
	[ -f "$f" ] || continue
	case $(basename "$f") in
	trace-*) cp "$f" "$seeds/trace/" ;;
	folded-*) cp "$f" "$seeds/folded/" ;;
	perfscript-*) cp "$f" "$seeds/perfscript/" ;;
	perfdata-*) cp "$f" "$seeds/perfdata/" ;;
	pmcstat-*) cp "$f" "$seeds/pmcstat/" ;;
	dtrace-*) cp "$f" "$seeds/dtrace/" ;;
	pprof-*) cp "$f" "$seeds/pprof/" ;;
	procfs-*) cp "$f" "$seeds/procfs/" ;;
	esac
done
status=0
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^fuzz_//')
	corpus=$out/corpus-$name
	mkdir -p "$corpus" "$out/crashes-$name"
	echo "fuzz: $name for ${secs}s"
	"$bin" -max_total_time="$secs" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix="$out/crashes-$name/" \
		"$corpus" "$seeds/$name" >"$out/$name.log" 2>&1
	rc=$?
	grep -E '^stat::number_of_executed_units|^#[0-9]+.*DONE' "$out/$name.log" | tail -2
	if [ $rc != 0 ]; then
		status=1
		echo "fuzz: $name FAILED (exit $rc); see $out/$name.log and $out/crashes-$name/"
		grep -E 'ERROR|SUMMARY|runtime error' "$out/$name.log" | head -5
	fi
done
exit $status
