# SIGINT/SIGTERM give a whole trace; the command's exit status is record's; a command
# killed by a signal is reported with 128+signal.
. "$TOP/tests/e2e/lib.sh"
need_root
for sig in INT TERM; do
	$PS record -q -F 499 -g -o $sig.data -- "$TOP/examples/split" 30 >/dev/null &
	rec=$!
	sleep 1.5
	kill -$sig $rec
	wait $rec
	rc=$?
	# The command gets the signal too (same process group in a shell); either way the
	# trace must be whole.
	[ -e $sig.data ] || fail "SIG$sig: no trace"
	[ "$(info_field $sig.data complete)" = yes ] || fail "SIG$sig: trace not complete"
	[ "$(info_field $sig.data samples)" -gt 100 ] || fail "SIG$sig: too few samples"
	echo "SIG$sig: exit $rc"
done
$PS record -q -F 99 -o st.data -- sh -c 'exit 3'
[ $? = 3 ] || fail "record does not pass on the command's exit status"
$PS record -q -F 99 -o kill.data -- sh -c 'kill -9 $$' 2>kill.err
[ $? = 137 ] || fail "record does not exit 128+9 for a killed command"
grep -q "killed by signal 9" kill.err || fail "no message for a killed command"
[ "$(info_field kill.data complete)" = yes ] || fail "trace of a killed command not complete"
exit 0
