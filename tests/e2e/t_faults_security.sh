# Security: perfsample refuses to run setuid; the .partial is created O_EXCL|O_NOFOLLOW,
# so a symlink planted at OUT.partial is not followed (its target stays unchanged).
. "$TOP/tests/e2e/lib.sh"
need_root
# A setuid-root copy run by nobody: real uid 65534, effective uid 0.
cp "$PS" ./ps-suid
chmod 4755 ps-suid
chmod 755 "$TMP"
command -v setpriv >/dev/null 2>&1 || skip "setpriv missing (util-linux)"
if setpriv --reuid=65534 --regid=65534 --clear-groups ./ps-suid --version >out.txt 2>err.txt; then
	cat out.txt
	fail "a setuid perfsample ran"
fi
cat err.txt
[ "$(wc -l <err.txt)" = 1 ] || fail "expected one error line"
grep -q "refusing to run setuid" err.txt || fail "unexpected error"
# Sanity: the same binary runs when it is not setuid for the caller (root).
./ps-suid --version >/dev/null || fail "the copy does not run at all"

# A symlink at OUT.partial pointing at a file the attacker wants overwritten.
echo "precious" >victim
ln -s "$TMP/victim" out.data.partial
$PS record -q -F 99 -o out.data -- sleep 0.3 2>rec.err || { cat rec.err; fail "record failed"; }
[ "$(cat victim)" = precious ] || fail "record followed the symlink at out.data.partial and wrote the victim"
[ -L out.data.partial ] && fail "the symlink is still there: was anything written?"
[ "$(info_field out.data complete)" = yes ] || fail "out.data not complete"
[ -L out.data ] && fail "out.data is a symlink"
# A symlink to a directory the attacker controls is not followed either.
mkdir elsewhere
ln -s "$TMP/elsewhere/x" out2.data.partial
$PS record -q -F 99 -o out2.data -- sleep 0.2 2>rec.err || { cat rec.err; fail "record failed"; }
[ -z "$(ls elsewhere)" ] || fail "record wrote through the symlink into elsewhere/"
# A fifo planted at OUT.partial must not block the recorder (open would wait for a writer).
mkfifo out3.data.partial
timeout 20 $PS record -q -F 99 -o out3.data -- sleep 0.2 2>rec.err
rc=$?
[ $rc = 124 ] && fail "a fifo at out3.data.partial hangs the recorder"
[ $rc = 0 ] || { cat rec.err; fail "record with a fifo at out3.data.partial failed ($rc)"; }
[ "$(info_field out3.data complete)" = yes ] || fail "out3.data not complete"
# The trace is private.
[ "$(stat -c %a out.data)" = 600 ] || fail "trace mode $(stat -c %a out.data)"
exit 0
