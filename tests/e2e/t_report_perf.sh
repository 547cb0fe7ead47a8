# The perf report habits people type work on perfsample report: --stdio, -g caller|callee
# (perf's call-graph text under each row), --sort comm,dso,sym in any order,
# --children/--no-children, --percent-limit; a wrong one is a usage error (exit 2).
. "$TOP/tests/e2e/lib.sh"
need_root
$PS record -q -F 999 -g -o s.data -- "$TOP/examples/split" 1 >/dev/null || fail "record failed"

$PS report -i s.data --stdio --no-children -g callee -n 1 > callee.txt || fail "-g callee failed"
head -3 callee.txt | grep -q '^ *[0-9.]*% *[0-9]* *split *spin$' ||
	{ head -3 callee.txt; fail "--no-children row"; }
! head -2 callee.txt | grep -q 'total%' || fail "--no-children kept the total column"
grep -q '^            ---spin$' callee.txt || { cat callee.txt; fail "callee graph root"; }
pct=$(sed -n 's/^ *|--\([0-9.]*\)%--heavy$/\1/p' callee.txt)
[ -n "$pct" ] && within "$pct" 60 8 || { cat callee.txt; fail "heavy's branch is '$pct'%"; }

$PS report -i s.data -g caller -n 1 > caller.txt || fail "-g caller failed"
grep -q -- '---__libc_start_call_main$' caller.txt || { cat caller.txt; fail "caller graph root"; }
grep -q '|--[0-9.]*%--work$' caller.txt || { cat caller.txt; fail "caller graph branches"; }

$PS report -i s.data --sort comm,dso,sym -n 3 > keys.txt || fail "--sort comm,dso,sym failed"
sed -n 2p keys.txt | grep -q 'command *module *function$' || { cat keys.txt; fail "key columns"; }
sed -n 3p keys.txt | grep -q ' split *split *spin$' || { cat keys.txt; fail "key row"; }
$PS report -i s.data --sort sym,comm -n 2 | sed -n 2p | grep -q 'function *command$' ||
	fail "keys keep their order"

$PS report -i s.data --children --percent-limit 50 > ch.txt || fail "--children failed"
rows=$(grep -vc '^#' ch.txt)
[ "$rows" -ge 3 ] || { cat ch.txt; fail "--children rows"; }
awk '!/^#/ { sub("%", "", $2); if ($2 + 0 < 50) bad = 1 } END { exit bad }' ch.txt ||
	{ cat ch.txt; fail "--percent-limit kept a row below 50% total"; }

$PS report -i s.data --sort comm,bogus >/dev/null 2>&1
[ $? = 2 ] || fail "a bad --sort key is not a usage error"
$PS report -i s.data -g sideways >/dev/null 2>&1
[ $? = 2 ] || fail "a bad -g is not a usage error"
