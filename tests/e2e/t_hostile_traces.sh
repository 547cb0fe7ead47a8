# Readers of traces open regular files only, check the header before loading anything and
# read chunk by chunk: a FIFO, a device or a huge sparse file named as a trace gets one
# error line at once (issue: a FIFO hung every reading command; a 4 GB sparse file was
# loaded whole, 4.2 GB and 14 s).
. "$TOP/tests/e2e/lib.sh"
mkfifo fifo
start=$(date +%s)
expect_error "cannot read 'fifo': not a regular file" timeout 10 $PS fold -i fifo
expect_error "not a regular file" timeout 10 $PS flamegraph -i /dev/zero
truncate -s 4G sparse.data
expect_error "cannot read 'sparse.data': not a perfsample trace" timeout 10 $PS report -i sparse.data
# ... at once, without loading the file: its peak memory (KB) stays far below its 4 GB.
peak=$(python3 -c 'import resource, subprocess, sys
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)' $PS report -i sparse.data)
[ "$peak" -lt 500000 ] || fail "reading a 4 GB sparse file took $peak KB"
[ $(($(date +%s) - start)) -le 5 ] || fail "hostile inputs took $(($(date +%s) - start)) s"

# A real trace cut short: every whole chunk is read, the loss said in one warning.
$PS record -q -F 999 -o whole.data -- "$TOP/examples/split" 1 >/dev/null || fail "record failed"
size=$(stat -c %s whole.data)
head -c $((size - 100)) whole.data > cut.data
$PS fold -i cut.data > cut.folded 2>cut.err || fail "a truncated trace does not read"
grep -q "is truncated: read [0-9]* whole chunks, dropped the last" cut.err || fail "no truncation warning: $(cat cut.err)"
[ -s cut.folded ] || fail "no stacks from the whole chunks"

# One damaged chunk in the middle is skipped, said once, and the rest is read (it used to
# make the whole trace unreadable).
$PS record -q -F 499 -o long.data -- "$TOP/examples/split" 3.5 >/dev/null || fail "record failed"
python3 - long.data bad.data <<'PY' || fail "cannot damage the trace"
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
pos, offs = 28 + struct.unpack_from("<I", d, 24)[0], []
while pos + 16 <= len(d):
    offs.append(pos)
    pos += 16 + struct.unpack_from("<I", d, pos + 4)[0]
assert len(offs) >= 3, offs
d[offs[1] + 40] ^= 0xff  # inside the second chunk's zstd frame
open(sys.argv[2], "wb").write(d)
print(offs[1], offs[2] - offs[1], file=open("bad.where", "w"))
PY
read -r at len <bad.where
$PS fold -i bad.data > bad.folded 2>bad.err || fail "a trace with a corrupt chunk does not read: $(cat bad.err)"
[ "$(wc -l <bad.err)" = 1 ] || fail "expected one warning: $(cat bad.err)"
grep -qx "perfsample: warning: skipped 1 corrupt chunk ($len bytes) at offset $at of 'bad.data'" bad.err ||
	fail "wrong warning: $(cat bad.err)"
whole=$(info_field long.data samples)
left=$(info_field bad.data samples 2>/dev/null)
[ "$left" -gt 0 ] && [ "$left" -lt "$whole" ] || fail "read $left of $whole samples"
[ "$(info_field bad.data complete 2>/dev/null)" = yes ] || fail "the chunks after the damage were not read"

# A trace without samples (a SIGKILL in the first second leaves one) goes through every
# command that reads stacks (under make check-asan too: empty arrays reached qsort/memcpy).
$PS record -q -F 99 -o zero.data -- true || fail "record of 'true' failed"
[ "$(info_field zero.data samples)" = 0 ] || fail "expected a trace without samples"
for c in fold flamegraph "flamegraph --flamechart" report callgraph script info \
	"export --format pprof -o -" "export --format speedscope -o -" "export --format callgrind -o -"; do
	# shellcheck disable=SC2086
	$PS $c -i zero.data >/dev/null 2>zero.err || fail "$c on a trace without samples: $(cat zero.err)"
done
$PS diff zero.data zero.data >/dev/null || fail "diff of traces without samples"

# A process that names itself with a terminal escape sequence does not reach the terminal
# through info (names in folded output lose control bytes: t_render_trace, golden files).
$PS record -q -F 999 -o esc.data -- python3 -c '
import ctypes, time
ctypes.CDLL(None).prctl(15, b"\x1b]0;pwned\x07\x1b[31mevil", 0, 0, 0)
t = time.time()
while time.time() - t < 0.5: pass' || fail "record of a self-named process failed"
$PS info -i esc.data > esc.info || fail "info failed"
grep -q "$(printf '\033')" esc.info && fail "info printed an escape sequence: $(cat -v esc.info)"
grep -q 'x1b\]0;pwned' esc.info || fail "the escaped name is missing: $(cat -v esc.info)"
exit 0
