# A binary deleted after its process started still resolves while the process lives:
# record -p reads it through /proc/PID/map_files.
. "$TOP/tests/e2e/lib.sh"
need_root
cp "$TOP/examples/split" ./victim || fail "copy failed"
./victim 6 >/dev/null &
pid=$!
sleep 0.3
rm -f victim
[ ! -e victim ] || fail "binary not deleted"
$PS record -q -F 499 -g -p "$pid" -d 2 -o del.data || { kill $pid; fail "record -p failed"; }
kill $pid 2>/dev/null; wait $pid 2>/dev/null
$PS fold -i del.data > del.folded || fail "fold failed"
grep -q '^victim;.*main;work;heavy;spin [0-9]' del.folded || { head del.folded; fail "deleted binary's names not resolved"; }
heavy=$(share del.folded ';heavy;')
echo "deleted binary: heavy $heavy%"
within "$heavy" 60 8 || fail "heavy $heavy% is not about 60%"
