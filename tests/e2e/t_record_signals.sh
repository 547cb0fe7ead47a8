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

# SIGUSR1/SIGUSR2 do not end a recording without --switch-output, and the command still
# gets their default action (a caught signal is reset by exec, an ignored one is not).
$PS record -q -F 99 -o usr.data -- "$TOP/examples/split" 3 >/dev/null &
rec=$!
sleep 1
kill -USR1 $rec
kill -USR2 $rec
sleep 0.3
kill -0 $rec 2>/dev/null || fail "SIGUSR1/SIGUSR2 killed the recorder"
kill -INT $rec
wait $rec
[ "$(info_field usr.data complete)" = yes ] || fail "trace after SIGUSR1/2 not complete"
$PS record -q -F 99 -o usr2.data -- sh -c 'kill -USR1 $$; exit 0' 2>/dev/null
[ $? = 138 ] || fail "the command did not die of its own SIGUSR1 (exit 128+10 expected)"
exit 0
