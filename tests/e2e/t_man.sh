# The man page lists every option of every command: its option lists are generated from
# the commands' --help (scripts/gen-man-options.py, `make man`), and this fails when one
# is stale. groff renders it without warnings.
. "$TOP/tests/e2e/lib.sh"
command -v python3 >/dev/null || fail "python3 is missing"
python3 "$TOP/scripts/gen-man-options.py" "$PS" "$TOP/docs/perfsample.1" --check ||
	fail "docs/perfsample.1 is stale: run make man"
for c in record fold flamegraph diff callgraph report script export info use stat plot heatmap; do
	$PS $c --help | grep -o -- '--[a-z][a-z-]*' | sort -u | while read -r o; do
		grep -qF -- "$(printf '%s' "$o" | sed 's/-/\\-/g')" "$TOP/docs/perfsample.1" ||
			{ echo "FAIL: $c $o is not in the man page"; exit 1; }
	done || exit 1
done
command -v groff >/dev/null || fail "groff is missing (scripts/install-deps.sh installs groff-base)"
groff -man -ww -z "$TOP/docs/perfsample.1" 2>warn.txt
[ -s warn.txt ] && { cat warn.txt; fail "groff warns about the man page"; }
grep -q '^\.SH EXAMPLES' "$TOP/docs/perfsample.1" || fail "the man page has no examples"
exit 0
