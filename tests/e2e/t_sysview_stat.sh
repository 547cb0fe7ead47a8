#!/bin/sh
# perfsample stat, record --stat and plot against truth: a one-thread CPU loop watched with
# -p uses about one CPU, as pidstat measures it over the same time; examples/rss_steps
# grows its RSS by 32 MiB steps and the CSV shows those steps; a trace of statistics (stat
# -a, record --stat) draws as panels with a legend per input and the samples strip.
. "$TOP/tests/e2e/lib.sh"
command -v pidstat >/dev/null || fail "pidstat missing (make test-deps installs sysstat)"

# The CSV's columns.
$PS stat -q --csv -I 100 -- true >true.csv || fail "stat -- true"
want="time,pid,comm,cpu_percent,rss_bytes,threads,voluntary_ctxt_switches,nonvoluntary_ctxt_switches,minor_faults,major_faults,read_bytes,write_bytes"
[ "$(head -n 1 true.csv)" = "$want" ] || fail "csv header: $(head -n 1 true.csv)"

# A one-thread loop: about 100% of one CPU, as pidstat says. Other work on this machine
# may keep it waiting for a CPU: then what it ran plus what it waited (the scheduler's
# /proc/PID/schedstat) is the 100%.
sh -c 'while :; do :; done' &
loop=$!
trap 'kill $loop 2>/dev/null' EXIT
sleep 0.2
pidstat -p $loop 1 3 >pid.txt &
ps_=$!
read -r run0 wait0 _ </proc/$loop/schedstat
t0=$(date +%s.%N)
$PS stat -q --csv -p $loop -I 1000 -d 3.2 >loop.csv || fail "stat -p"
read -r run1 wait1 _ </proc/$loop/schedstat
t1=$(date +%s.%N)
wait $ps_
kill $loop
trap - EXIT
ours=$(awk -F, -v p=$loop 'NR > 1 && $2 == p { s += $4; n++ } END { if (n) printf "%.1f", s / n }' loop.csv)
theirs=$(awk -v p=$loop '$1 == "Average:" && $3 == p { for (i = 1; i <= NF; i++) if (h[i] == "%CPU") print $i }
	/%CPU/ { for (i = 1; i <= NF; i++) h[i] = $i }' pid.txt)
rows=$(awk -F, -v p=$loop 'NR > 1 && $2 == p' loop.csv | wc -l)
waited=$(awk -v a="$wait0" -v b="$wait1" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e7 / (t1 - t0) }')
echo "one-thread loop: stat $ours% over $rows intervals, pidstat $theirs%, waited for a CPU $waited%"
[ "$rows" -ge 3 ] || fail "$rows intervals of the loop in 3.2 s at 1 s"
awk -v c="$ours" -v w="$waited" 'BEGIN { exit !(c <= 105 && c + w >= 88 && c + w <= 110) }' ||
	fail "a one-thread loop at $ours% CPU (and $waited% waiting)"
within "$ours" "$theirs" 10 || fail "stat says $ours%, pidstat $theirs%"
awk -F, -v p=$loop 'NR > 1 && $2 == p && $6 != 1 { exit 1 }' loop.csv || fail "the loop has 1 thread"

# RSS steps: plateaus at the start size plus k * 32 MiB.
$PS stat -q --csv -I 100 -- "$TOP/examples/rss_steps" 4 32 >rss.csv || fail "stat rss_steps"
plateaus=$(awk -F, 'NR > 1 && $3 == "rss_steps" { if ($5 == last) run++; else { run = 1; last = $5 }
	if (run == 3) print $5 }' rss.csv | tr '\n' ' ')
echo "rss plateaus: $plateaus"
set -- $plateaus
[ $# -ge 5 ] || fail "expected 5 plateaus (start + 4 steps), got $#: $plateaus"
base=$1
k=0
for v in "$@"; do
	awk -v v="$v" -v b="$base" -v k="$k" 'BEGIN { d = v - b - k * 33554432; if (d < 0) d = -d; exit !(d < 3145728) }' ||
		fail "plateau $k is $v, want $base + $k * 32 MiB"
	k=$((k + 1))
done

# A trace of statistics and its plot; a profile with statistics and its samples strip.
$PS stat -q -a -I 250 -d 1.5 -o sys.data || fail "stat -a"
$PS stat -q -I 100 -o rss.data -- "$TOP/examples/rss_steps" 2 16 || fail "stat -o"
# info counts the snapshots: 1.5 s at 250 ms is about 6 of the system.
snaps=$($PS info -i sys.data | awk '$1 == "statistics:" { print $2 }')
[ "${snaps:-0}" -ge 4 ] && [ "$snaps" -le 8 ] || { $PS info -i sys.data; fail "info counts ${snaps:-no} snapshots of the system"; }
$PS plot -i sys.data,rss.data >plot.svg || fail "plot"
xmllint --noout plot.svg || fail "plot.svg is not XML"
for m in "cpu busy" node_load1 process_resident_memory_bytes; do
	grep -q "data-metric=\"$m\"" plot.svg || fail "no panel $m"
done
grep -q ">sys.data<" plot.svg && grep -q ">rss.data<" plot.svg || fail "legend lacks the inputs"
[ "$(grep -c '<polyline' plot.svg)" -ge 6 ] || fail "too few lines in the plot"
need_root
$PS record -q -g --stat -o prof.data -- "$TOP/examples/burst" 3 || fail "record --stat"
$PS plot -i prof.data --metric cpu,process_cpu_seconds_total >prof.svg || fail "plot of record --stat"
grep -q 'data-metric="CPU samples per second"' prof.svg || fail "no samples strip"
grep -q 'data-metric="process_cpu_seconds_total"' prof.svg || fail "no process cpu panel"
# the recording is still a profile
$PS fold -i prof.data | grep -q ';burn ' || fail "record --stat lost the samples"

# Mistakes are one line.
expect_error "no such process" $PS stat -p 999999999 --csv
expect_error "unknown metric 'nope'" $PS plot -i sys.data --metric nope
$PS record -q -o plain.data -- true || fail "record"
expect_error "no statistics in plain.data" $PS plot -i plain.data
expect_error "nothing to watch" $PS stat
echo ok
