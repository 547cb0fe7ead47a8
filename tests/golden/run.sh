#!/bin/sh
# tests/golden/run.sh [PATTERN]: runs every case of tests/golden/cases (only those whose
# name contains PATTERN, if given) and compares perfsample's output with
# tests/golden/expected/NAME byte for byte, printing `diff -u expected actual` for each
# difference. PERFSAMPLE_BLESS=1 rewrites the expected files instead (and, without a
# PATTERN, deletes expected files that no case writes any more). The binary is
# $PS_BIN (default ./perfsample). Exit 0 when every case matches (or was blessed), 1 otherwise.
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
PS=${PS_BIN:-$top/perfsample}
dir=tests/golden
# Names the table's inputs and command lines may use (paths relative to the checkout, so
# no absolute path reaches an output).
G=$dir/inputs
CORPUS=tests/data/corpus/perf-script
case ${PERFSAMPLE_BLESS:-0} in '' | 0) bless= ;; *) bless=1 ;; esac
only=${1:-}

[ -x "$PS" ] || { echo "golden: no perfsample binary at $PS (run make)"; exit 1; }
command -v python3 >/dev/null || { echo "golden: python3 is needed to decode pprof output"; exit 1; }
tmp=$(mktemp -d /tmp/ps-golden.XXXXXX) || exit 1
mkdir -p "$dir/expected"

pass=0 fail=0 blessed=0 failed="" names=" "
# fd 3 is the table, so nothing a case runs can read it.
while read -r name input cmd <&3; do
	case $name in '' | '#'*) continue ;; esac
	names="$names$name "
	[ -n "$only" ] && case "$name" in *"$only"*) ;; *) continue ;; esac
	IN=$(eval "printf '%s' \"$input\"")
	exp=$dir/expected/$name
	act=$tmp/$name
	if [ ! -e "$IN" ]; then
		fail=$((fail + 1)) failed="$failed $name"
		echo "FAIL $name: no input $IN"
		continue
	fi
	# The command line is perfsample's arguments, split and expanded as the shell does.
	eval "set -- $cmd"
	"$PS" "$@" </dev/null >"$act.raw" 2>"$act.err"
	rc=$?
	if [ $rc = 0 ]; then
		case $name in
		# pprof is gzipped protobuf: compare the decoded message, not gzip's bytes.
		*.pprof.txt) python3 "$dir/pprof-text.py" <"$act.raw" >"$act" 2>>"$act.err" || rc=$? ;;
		*) mv "$act.raw" "$act" ;;
		esac
	fi
	if [ $rc != 0 ]; then
		fail=$((fail + 1)) failed="$failed $name"
		echo "FAIL $name: exit $rc: perfsample $*"
		sed 's/^/    | /' "$act.err"
		continue
	fi
	if [ -n "$bless" ]; then
		if ! cmp -s "$exp" "$act"; then
			cp "$act" "$exp" && blessed=$((blessed + 1)) && echo "BLESS $name"
		fi
	elif [ ! -e "$exp" ]; then
		fail=$((fail + 1)) failed="$failed $name"
		echo "FAIL $name: no $exp (PERFSAMPLE_BLESS=1 $dir/run.sh $name writes it)"
	elif cmp -s "$exp" "$act"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1)) failed="$failed $name"
		echo "FAIL $name: perfsample $*"
		diff -u "$exp" "$act"
	fi
done 3<"$dir/cases"

# An expected file no case writes is a case someone removed or renamed.
if [ -z "$only" ]; then
	for f in "$dir"/expected/*; do
		[ -e "$f" ] || continue
		case "$names" in *" ${f##*/} "*) continue ;; esac
		if [ -n "$bless" ]; then
			rm -f "$f" && echo "BLESS ${f##*/}: removed, no case writes it"
		else
			fail=$((fail + 1)) failed="$failed ${f##*/}"
			echo "FAIL ${f##*/}: no case in $dir/cases writes it"
		fi
	done
fi

if [ -n "$bless" ]; then
	rm -rf "$tmp"
	[ "$fail" = 0 ] || echo "failed:$failed"
	echo "golden: blessed, $blessed expected files rewritten, $fail failed (git diff $dir/expected)"
elif [ "$fail" = 0 ]; then
	rm -rf "$tmp"
	echo "golden: $pass passed"
else
	echo "failed:$failed"
	echo "golden: $pass passed, $fail failed; actual outputs in $tmp; one case: $dir/run.sh NAME;"
	echo "        if the change is intended: PERFSAMPLE_BLESS=1 $dir/run.sh [NAME], and commit the diff"
fi
[ "$fail" = 0 ]
