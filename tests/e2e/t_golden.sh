# Golden outputs: every case of tests/golden/cases gives exactly its expected file
# (tests/golden/README.md). Under PERFSAMPLE_BLESS=1 the expected files are rewritten
# instead, and this test reports a skip: nothing was checked.
. "$TOP/tests/e2e/lib.sh"
PS_BIN=$PS sh "$TOP/tests/golden/run.sh" >golden.log 2>&1
rc=$?
cat golden.log
[ $rc = 0 ] || fail "golden outputs differ (the diffs are above)"
case ${PERFSAMPLE_BLESS:-0} in '' | 0) ;; *) skip "$(tail -n 1 golden.log)" ;; esac
exit 0
