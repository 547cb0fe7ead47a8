# C++ names come out demangled (templates, namespaces, const methods, virtual calls), in
# the right stacks, and raw with --no-demangle, from the trace's embedded symbols.
. "$TOP/tests/e2e/lib.sh"
need_root
[ -x "$TOP/examples/shapes" ] || skip "examples/shapes not built (needs g++)"
$PS record -q -F 999 -g -- "$TOP/examples/shapes" 1.5 >/dev/null || fail "record failed"
$PS fold > out.folded || fail "fold failed"
grep -q ';main;Matrix<double>::mul(Matrix<double> const&) const' out.folded ||
	{ head out.folded; fail "no main;Matrix<double>::mul(Matrix<double> const&) const"; }
grep -q ';main;geo::Square::area(int) const ' out.folded || fail "no geo::Square::area(int) const leaf"
grep -q ';main;geo::Circle::area(int) const ' out.folded || fail "no geo::Circle::area(int) const leaf"
# Square and Circle do the same work per call: about equal shares.
sq=$(share out.folded 'geo::Square::area')
ci=$(share out.folded 'geo::Circle::area')
echo "shapes: Square $sq% Circle $ci%"
within "$sq" "$ci" 12 || fail "Square $sq% and Circle $ci% should be about equal"
! grep -q '_ZN' out.folded || fail "mangled names left in demangled output"
$PS fold --no-demangle > raw.folded || fail "fold --no-demangle failed"
grep -q ';main;_ZNK3geo6Square4areaEi ' raw.folded || { grep -m3 Square raw.folded; fail "--no-demangle did not keep _ZNK3geo6Square4areaEi"; }
grep -q ';main;_ZNK6MatrixIdE3mulERKS0_' raw.folded || fail "--no-demangle did not keep _ZNK6MatrixIdE3mulERKS0_"
