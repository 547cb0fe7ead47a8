# perf.data from `perf record` is read natively by every command that reads stacks: file
# and pipe mode, zstd-compressed (-z), several events. Its stacks are perf's own: perf
# script's text of the same file folds (stackcollapse-perf.pl's way) to the same stacks in
# the same proportions.
. "$TOP/tests/e2e/lib.sh"
need_root
command -v perf >/dev/null || fail "perf is missing (scripts/install-deps.sh installs linux-perf)"
split="$TOP/examples/split"
# perf record copies every binary it samples into the build-id cache under $HOME/.debug,
# where readers look for binaries that are gone: a HOME of this test's own, so that other
# tests' "the binary is gone" (t_sym_portable) really is.
export HOME="$TMP/home"
mkdir -p "$HOME"
prec() { out=$1; shift; perf record -q -F 499 "$@" -o "$out" -- "$split" 1 >/dev/null 2>perf.err ||
	{ cat perf.err; fail "perf record $* failed"; }; }

# The stacks of main holding at least 2% of the samples (rare ones, a page fault in a
# glibc alias, may be named differently: perf prints clock_gettime@@GLIBC_2.17 where
# perfsample prints the plain name at that address).
main_shares() {
	awk '{ t += $NF; c[NR] = $NF; l[NR] = $0 }
		END { for (i = 1; i <= NR; i++) if (c[i] * 50 >= t && l[i] ~ /;main;/) {
			s = l[i]; sub(/ [0-9]+$/, "", s); print s } }' "$1" | sort -u
}
compare() {
	f=$1
	$PS fold -i "$f" > ps.folded || fail "fold -i $f failed"
	perf script -i "$f" 2>/dev/null | $PS fold --input perf-script --event-filter cpu-clock - > perf.folded ||
		fail "perf script of $f does not fold"
	for fn in heavy medium light; do
		a=$(share ps.folded ";$fn;")
		b=$(share perf.folded ";$fn;")
		within "$a" "$b" 2 || fail "$f: $fn is $a% from perf.data but $b% in perf script"
	done
	main_shares ps.folded > a.txt
	main_shares perf.folded > b.txt
	cmp -s a.txt b.txt || { diff a.txt b.txt | head; fail "$f: stacks differ from perf script's"; }
	heavy=$(share ps.folded ';heavy;')
	within "$heavy" 60 8 || fail "$f: heavy is $heavy%, the workload does 60%"
}

prec fp.data -g -e cpu-clock
compare fp.data
$PS info -i fp.data > info.txt || fail "info failed"
grep -q '^format *perf.data$' info.txt || { cat info.txt; fail "info does not say perf.data"; }
grep -q '^event *cpu-clock$' info.txt || fail "info lacks the event"
grep -q '^complete: *yes' info.txt || fail "a finished perf.data is not complete"
grep -q '^callgraph *fp$' info.txt || fail "info lacks the call-graph mode"

prec z.data -g -z -e cpu-clock
compare z.data
perf record -q -F 499 -g -e cpu-clock -o - -- "$split" 1 2>/dev/null > pipe.data ||
	fail "perf record -o - failed"
compare pipe.data
grep -q 'pipe' <<EOF || fail "info does not say pipe mode"
$($PS info -i pipe.data)
EOF

# Two events: the first is read by default, --event-filter picks another.
prec multi.data -g -e cpu-clock -e page-faults
compare multi.data
$PS fold -i multi.data --event-filter page-faults > pf.folded || fail "--event-filter failed"
grep -q 'page-faults' <<EOF || fail "events not listed"
$($PS info -i multi.data)
EOF
[ -s pf.folded ] || fail "no page-fault samples"
! cmp -s pf.folded ps.folded || fail "--event-filter changed nothing"
expect_error "no event 'nosuch'" $PS fold -i multi.data --event-filter nosuch

# Every renderer reads it.
$PS flamegraph -i fp.data > fp.svg && grep -q '<svg' fp.svg || fail "flamegraph -i perf.data"
$PS report -i fp.data | grep -q heavy || fail "report -i perf.data"
$PS callgraph -i fp.data | grep -q heavy || fail "callgraph -i perf.data"
$PS export -i fp.data --format pprof -o fp.pb.gz || fail "export -i perf.data"
$PS script -i fp.data | grep -q 'cpu-clock' || fail "script -i perf.data"

# A perf.data cut short (perf killed) is read up to the cut, with a warning.
$PS fold -i fp.data > ps.folded || fail "fold fp.data"
size=$(stat -c %s fp.data)
head -c $((size * 2 / 3)) fp.data > cut.data
$PS fold -i cut.data > cut.folded 2> cut.err || { cat cut.err; fail "a cut perf.data is unreadable"; }
whole=$(awk '{ s += $NF } END { print s + 0 }' ps.folded)
got=$(awk '{ s += $NF } END { print s + 0 }' cut.folded)
[ "$got" -gt $((whole / 3)) ] && grep -q ';heavy;' cut.folded ||
	{ cat cut.err; head -3 cut.folded; $PS info -i cut.data; fail "a cut perf.data lost its samples ($got of $whole)"; }

# Not perf.data after all: a clear error.
printf 'PERFILE2garbage' > bad.data
expect_error "bad.data" $PS fold -i bad.data
# perf-script text expected, perf.data given: refused, not an empty graph.
expect_error "perf.data" $PS fold --input perf-script fp.data

# --call-graph dwarf: registers and stack copies, unwound offline with the recorder's
# libdw unwinder; the chains match perf's own unwinding of the same file.
prec dw.data --call-graph dwarf -e cpu-clock
$PS info -i dw.data | grep -q '^callgraph *dwarf$' || fail "dwarf mode not recognised"
compare dw.data
grep -q '^split;_start;__libc_start_main_impl;__libc_start_call_main;main;work;heavy;spin ' ps.folded ||
	{ head -3 ps.folded; fail "dwarf perf.data not unwound to _start"; }

# Binaries by build-id: a file rebuilt since the recording is refused, and perf's cache
# (~/.debug, filled by perf record and perf buildid-cache) gives the recorded one.
mkdir -p bc && cp "$split" bc/app
(cd bc && perf record -q -F 499 -g -e cpu-clock -o p.data -- ./app 1 >/dev/null 2>&1) ||
	fail "perf record ./app failed"
HOME=$PWD/home perf buildid-cache -a bc/app 2>/dev/null || fail "perf buildid-cache failed"
printf 'int main(void) { return 0; }\n' > other.c && cc -o bc/app other.c || fail "rebuild"
HOME=$PWD/nohome $PS fold -i bc/p.data > stale.folded 2>stale.err || fail "fold of a stale binary"
! grep -q ';heavy;' stale.folded || fail "names taken from a rebuilt binary"
HOME=$PWD/home $PS fold -i bc/p.data > cache.folded 2>cache.err || fail "fold with perf's cache"
grep -q 'main;work;heavy;spin' cache.folded ||
	{ cat cache.err; head -3 cache.folded; fail "perf's build-id cache (~/.debug) not used"; }

# A perf.data file's pids are another machine's or a past run's: reading it never looks
# at this machine's /proc/PID (map_files, root, a JIT map's owner).
pid=$($PS script -i fp.data -F pid 2>/dev/null | awk 'NF { print $1; exit }')
[ -n "$pid" ] || fail "no pid in perfsample script -F pid"
# (LeakSanitizer's exit check cannot ptrace a process strace already traces: off here.)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	strace -f -e trace=%file -o fold.strace $PS fold -i fp.data > /dev/null 2>&1 || fail "strace fold"
grep -q "examples/split" fold.strace || fail "strace saw no file the fold opens"
! grep "\"/proc/$pid/" fold.strace || fail "read /proc/$pid of a perf.data pid"

# DWARF mode reads binaries by build-id too: the offline unwinder takes the file when its
# build-id is the recorded one, else perf's cache, never a rebuilt file at that path.
mkdir -p dc && cp "$TOP/examples/deep_nofp" dc/app
(cd dc && perf record -q -F 499 --call-graph dwarf -e cpu-clock -o p.data -- ./app 1 >/dev/null 2>&1) ||
	fail "perf record --call-graph dwarf ./app failed"
HOME=$PWD/dhome perf buildid-cache -a dc/app 2>/dev/null || fail "perf buildid-cache failed"
deep='app;_start;__libc_start_main_impl;__libc_start_call_main;main;work_a;work_b;work_leaf '
HOME=$PWD/nohome $PS fold -i dc/p.data > dhere.folded 2>&1 || fail "fold of a dwarf perf.data"
grep -q "^$deep" dhere.folded || { head -3 dhere.folded; fail "dwarf perf.data not unwound"; }
mv dc/app dc/app.moved && cp other.c dc/ && cc -o dc/app dc/other.c || fail "rebuild"
HOME=$PWD/nohome $PS fold -i dc/p.data > dstale.folded 2>&1 || fail "fold, binary rebuilt"
! grep -q ';work_a;work_b' dstale.folded || fail "unwound through a rebuilt binary"
HOME=$PWD/dhome $PS fold -i dc/p.data > dcache.folded 2>dcache.err || fail "fold, perf's cache"
grep -q "^$deep" dcache.folded ||
	{ cat dcache.err; head -3 dcache.folded; fail "the unwinder did not use perf's build-id cache"; }
