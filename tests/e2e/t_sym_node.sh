# JIT frames: node --perf-basic-prof writes /tmp/perf-PID.map; the hot JS function is
# named in the folded stacks, inside node's own frames.
. "$TOP/tests/e2e/lib.sh"
need_root
command -v node >/dev/null || skip "node is not installed (apt-get install nodejs)"
cat > hot.js <<'JS'
function hotLoop(n) {
	let s = 0;
	for (let i = 0; i < n; i++) s = (s + i * i) % 1000003;
	return s;
}
const end = Date.now() + 1500;
let t = 0;
while (Date.now() < end) t += hotLoop(200000);
console.log(t > 0 ? "ok" : "zero");
JS
$PS record -q -F 499 -g -- node --perf-basic-prof hot.js >/dev/null || fail "record failed"
$PS fold > out.folded || fail "fold failed"
grep -q 'hotLoop' out.folded || { sort -t' ' -k2 -nr out.folded | head -5; fail "hotLoop not named"; }
hot=$(share out.folded 'hotLoop')
echo "node: hotLoop in $hot% of samples"
awk -v h="$hot" 'BEGIN { exit !(h >= 40) }' || fail "hotLoop only in $hot% of samples"
$PS fold --jit > jit.folded || fail "fold --jit failed"
grep -q 'hotLoop[^;]*_\[j\]' jit.folded || fail "JIT frames not annotated with --jit"
# The stack reaches node's own (ELF, demangled C++) frames below the JS ones.
grep 'hotLoop' out.folded | grep -qF ';node::Start(int, char**);' || { grep -m2 hotLoop out.folded; fail "JS frames not under node::Start"; }
