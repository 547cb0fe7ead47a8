#!/bin/sh
# perfsample use against truth: two CPU-bound loops on this machine make the CPU the
# bottleneck with a hint at a CPU profile; a writer with O_DIRECT shows its disk's
# utilization (and, when it saturates it, a hint naming the writer's pid); the numbers agree
# with sysstat's mpstat and iostat measuring the same interval; an idle CPU is ok.
. "$TOP/tests/e2e/lib.sh"
command -v mpstat >/dev/null || fail "mpstat missing (make test-deps installs sysstat)"
ncpu=$(getconf _NPROCESSORS_ONLN)

# jfield JSON RESOURCE FIELD: a field of one row of `use --json` (one row per line).
jfield() {
	python3 -c 'import json, sys
rows = json.load(open(sys.argv[1]))
for r in rows:
    if r["resource"] == sys.argv[2]:
        v = r[sys.argv[3]]
        print("null" if v is None else v)
        break
else:
    sys.exit("no row " + sys.argv[2])' "$@"
}
# mpstat's busy percent of all CPUs over its interval (100 - idle - iowait).
mp_busy() { awk '$1 == "Average:" && $2 == "all" { print 100 - $NF - $6 }' "$1"; }

# Two CPU loops per two CPUs: the CPU is the bottleneck.
pids=""
i=0
while [ $i -lt "$ncpu" ]; do
	sh -c 'while :; do :; done' &
	pids="$pids $!"
	i=$((i + 1))
done
trap 'kill $pids 2>/dev/null' EXIT
sleep 0.5
mpstat 2 1 >mp.txt &
mp=$!
$PS use -d 2 --json >busy.json || fail "use --json"
wait $mp
kill $pids
trap - EXIT
python3 -c 'import json, sys; json.load(open("busy.json"))' || fail "use --json is not JSON"
for f in resource utilization saturation errors verdict hint; do
	grep -q "\"$f\": " busy.json || fail "no field $f in use --json"
done
util=$(jfield busy.json cpu utilization)
verdict=$(jfield busy.json cpu verdict)
hint=$(jfield busy.json cpu hint)
busy=$(mp_busy mp.txt)
echo "loops: use cpu $util% $verdict; mpstat $busy%; hint: $hint"
[ "$verdict" = bottleneck ] || fail "cpu verdict with $ncpu loops: $verdict"
case $hint in *"perfsample record -a -g"*) ;; *) fail "cpu hint: $hint" ;; esac
within "$util" "$busy" 10 || fail "cpu utilization $util% vs mpstat $busy%"
# the loops are among the busiest processes the hint names (other work may outrank one)
named=0
for p in $pids; do
	case $hint in *"[$p]"*) named=$((named + 1)) ;; esac
done
[ "$named" -ge 1 ] || fail "hint names none of the loops ($pids): $hint"

# Idle (as far as this machine is: other work may run): agreement with mpstat, and ok when
# mpstat saw the CPUs mostly idle.
mpstat 2 1 >mp2.txt &
mp=$!
$PS use -d 2 --json >idle.json || fail "use --json (idle)"
wait $mp
util=$(jfield idle.json cpu utilization)
verdict=$(jfield idle.json cpu verdict)
busy=$(mp_busy mp2.txt)
echo "idle: use cpu $util% $verdict; mpstat $busy%"
within "$util" "$busy" 10 || fail "idle cpu utilization $util% vs mpstat $busy%"
if awk -v b="$busy" 'BEGIN { exit !(b < 50) }'; then
	[ "$verdict" = ok ] || fail "cpu verdict at $busy% busy: $verdict"
	[ "$(jfield idle.json cpu hint)" = "" ] || fail "a hint for an ok row"
fi
[ "$(jfield idle.json memory verdict)" != "" ] || fail "no memory row"

# A writer with O_DIRECT to a file: its disk is busy, as iostat sees it.
# Its disk by the device number of the working directory (inside a chroot, such as make
# check-fresh's, df cannot match the directory to the host's mount table); a partition's disk
# is its parent in sysfs. df's device name where the number leads nowhere.
d=$(stat -c %d .)
sys=$(readlink -f "/sys/dev/block/$(((d >> 8) & 0xfff)):$(((d & 0xff) | ((d >> 12) & 0xfff00)))" 2>/dev/null)
if [ -n "$sys" ] && [ -e "$sys/stat" ]; then
	[ -e "$sys/partition" ] && sys=$(dirname "$sys")
	dev=$(basename "$sys")
else
	dev=$(df --output=source . | tail -n 1)
	dev=${dev#/dev/}
	[ -e "/sys/block/$dev" ] || dev=$(basename "$(dirname "$(readlink -f "/sys/class/block/$dev")")")
fi
[ -e "/sys/block/$dev" ] || skip "cannot tell which disk holds $(pwd) ($dev)"
# dd rewrites 64 MiB with O_DIRECT (the page cache bypassed) until it is stopped
sh -c 'while :; do dd if=/dev/zero of=direct.bin bs=4M count=16 oflag=direct conv=notrunc,fsync status=none || exit 1; done' &
writer=$!
trap 'pkill -P $writer 2>/dev/null; kill $writer 2>/dev/null' EXIT
sleep 0.5
iostat -dx "$dev" 2 2 >io.txt &
io=$!
$PS use -d 2 --json >disk.json || fail "use --json (disk)"
wait $io
pkill -P $writer 2>/dev/null; kill $writer
wait $writer 2>/dev/null
trap - EXIT
rm -f direct.bin
dutil=$(jfield disk.json "disk $dev" utilization)
dverdict=$(jfield disk.json "disk $dev" verdict)
dhint=$(jfield disk.json "disk $dev" hint)
# iostat's second report is the interval; %util is its last column
iutil=$(awk -v d="$dev" '$1 == d { u = $NF } END { print u }' io.txt)
echo "O_DIRECT writer: use disk $dev $dutil% $dverdict; iostat $iutil%; hint: $dhint"
# How busy depends on how much CPU the writer gets on a shared machine; iostat is the truth.
awk -v u="$dutil" 'BEGIN { exit !(u >= 2) }' || fail "disk $dev utilization $dutil% under an O_DIRECT writer"
within "$dutil" "$iutil" 15 || fail "disk $dev utilization $dutil% vs iostat $iutil%"
if [ "$dverdict" != ok ]; then
	# the writer: a dd, or the loop that reaped the dd's before (their I/O is counted there)
	case $dhint in *"--off-cpu"*"-p "*"dd["* | *"--off-cpu"*"-p "*"[$writer]"*) ;;
	*) fail "disk hint does not name the writer (dd or $writer): $dhint" ;; esac
fi

# The table for people, and a usage error.
$PS use -d 0.2 >table.txt || fail "use"
head -n 1 table.txt | grep -q "RESOURCE.*UTIL%.*SATURATION.*ERRORS.*VERDICT" || fail "table header: $(head -n 1 table.txt)"
grep -q "^cpu " table.txt || fail "no cpu row"
expect_error "unexpected argument" $PS use extra
echo ok
