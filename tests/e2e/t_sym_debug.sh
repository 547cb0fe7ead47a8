# Stripped binaries get their names from separate debug files, found the ways users
# expect: .gnu_debuglink next to the binary, the build-id tree (a test-only root via
# PERFSAMPLE_DEBUG_DIR, so /usr/lib/debug is left alone), and MiniDebugInfo
# (.gnu_debugdata). A debug file of another build is refused: the frames stay unresolved.
. "$TOP/tests/e2e/lib.sh"
need_root
command -v objcopy >/dev/null && command -v strip >/dev/null && command -v xz >/dev/null ||
	skip "needs binutils (objcopy, strip) and xz"
src="$TOP/examples/split"
cp "$src" split && objcopy --only-keep-debug split split.debug || fail "objcopy --only-keep-debug"
# Each binary is recorded without embedding, so fold resolves from the files on disk.
rec() { $PS record -q -F 499 -g --no-embed-symbols -o "$1.data" -- "./$1" 1 >/dev/null || fail "record $1 failed"; }
names_ok() { grep -q "^$1;.*main;work;heavy;spin [0-9]" "$2" || { head -3 "$2"; fail "$3"; }; }

# .gnu_debuglink, the debug file next to the binary.
strip -s -o linked split && objcopy --add-gnu-debuglink=split.debug linked || fail "debuglink"
rec linked
$PS fold -i linked.data > linked.folded || fail "fold failed"
names_ok linked linked.folded "debuglink file not used"

# The build-id tree under a debug directory.
strip -s -o byid split || fail "strip"
id=$(readelf -n byid | awk '/Build ID:/ { print $3 }')
[ -n "$id" ] || skip "examples/split has no build-id"
dir=$(echo "$id" | cut -c1-2)
rest=$(echo "$id" | cut -c3-)
mkdir -p "dbg/.build-id/$dir" && cp split.debug "dbg/.build-id/$dir/$rest.debug"
rec byid
$PS fold -i byid.data --addrs > none.folded || fail "fold failed"
! grep -q ';heavy;' none.folded || fail "stripped binary resolved without its debug file"
PERFSAMPLE_DEBUG_DIR=$PWD/dbg $PS fold -i byid.data > byid.folded || fail "fold failed"
names_ok byid byid.folded "build-id debug file not used"
heavy=$(share byid.folded ';heavy;')
within "$heavy" 60 8 || fail "heavy $heavy% is not about 60% with build-id symbols"

# A debug file of another build under the same build-id: refused.
printf 'int main(void) { return 0; }\n' > other.c && cc -g -o other other.c &&
	objcopy --only-keep-debug other "dbg/.build-id/$dir/$rest.debug" || fail "other build"
PERFSAMPLE_DEBUG_DIR=$PWD/dbg $PS fold -i byid.data > wrong.folded || fail "fold failed"
! grep -q ';main;' wrong.folded || { head -3 wrong.folded; fail "mismatched debug file used"; }

# MiniDebugInfo: the .symtab functions .dynsym lacks, xz-compressed inside the binary.
nm -D --defined-only split | awk '{ print $3 }' | sort > dynsyms
nm --defined-only split | awk '$2 ~ /[Tt]/ { print $3 }' | sort > funcsyms
comm -13 dynsyms funcsyms > keep
objcopy --only-keep-debug split mini && objcopy -S --remove-section .gdb_index \
	--remove-section .comment --keep-symbols=keep mini && xz -f mini &&
	strip -s -o minibin split && objcopy --add-section .gnu_debugdata=mini.xz minibin ||
	fail "building MiniDebugInfo"
rec minibin
$PS fold -i minibin.data > mini.folded || fail "fold failed"
names_ok minibin mini.folded "MiniDebugInfo not used"
