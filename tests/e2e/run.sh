#!/bin/sh
# Runs every tests/e2e/t_*.sh against ./perfsample. Each test exits 0 (pass), 77 (skip, with
# its reason on stdout) or anything else (fail). Prints "e2e: N passed, N failed, N skipped".
cd "$(dirname "$0")/../.." || exit 1
top=$(pwd)
export PS="${PS_BIN:-$top/perfsample}" TOP="$top"
pass=0 fail=0 skip=0 failed=""
only=${1:-}
for t in tests/e2e/t_*.sh; do
	name=$(basename "$t" .sh)
	[ -n "$only" ] && case "$name" in *"$only"*) ;; *) continue ;; esac
	tmp=$(mktemp -d /tmp/ps-e2e.XXXXXX)
	start=$(date +%s)
	(cd "$tmp" && TMP="$tmp" timeout 300 sh "$top/$t") >"$tmp/.log" 2>&1
	rc=$?
	secs=$(($(date +%s) - start))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s)" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$tmp/.log")" ;;
	*) fail=$((fail + 1)); failed="$failed $name"; echo "FAIL $name (exit $rc, ${secs}s)"; sed 's/^/    | /' "$tmp/.log" | tail -n 40 ;;
	esac
	rm -rf "$tmp"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "e2e: $pass passed, $fail failed, $skip skipped"
[ "$fail" = 0 ]
