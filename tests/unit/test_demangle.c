/* Demangling through libiberty (symbolize/ps_demangle.c). Expected strings are what the
 * references print: c++filt for C++; for Rust, rustc-demangle's {:#} form (rustfilt: no
 * crate hashes), from its test-suite and RFC 2603's examples, and names rustc 1.95 emits.
 * Where libiberty's output differs from rustc-demangle's, the test says so. */
#include <criterion/criterion.h>
#include <string.h>

#include "symbolize/ps_elf.h"

static void dm(const char *in, const char *want)
{
	char buf[4096];
	const char *got = ps_demangle(in, buf, sizeof(buf));
	cr_expect_str_eq(got, want, "%s", in);
}

Test(demangle, cxx)
{
	dm("_ZN6MatrixIdE3mulERKS0_", "Matrix<double>::mul(Matrix<double> const&)");
	dm("_ZNK3geo6Square4areaEi", "geo::Square::area(int) const");
	dm("_ZN3geo5ShapeD2Ev", "geo::Shape::~Shape()");
	dm("main", "main");
	dm("_Z", "_Z");
	dm("_ZNotvalid", "_ZNotvalid");
}

Test(demangle, rust_legacy)
{
	dm("_ZN4core3ptr13drop_in_place17h1234567890abcdefE", "core::ptr::drop_in_place");
	dm("_ZN71_$LT$Test$u20$$u2b$$u20$$u27$static$u20$as$u20$foo..Bar$LT$Test$GT$$GT$"
	   "3bar17h930b740aa94f1d3aE",
	   "<Test + 'static as foo::Bar<Test>>::bar");
	/* Not a hash: kept. */
	dm("_ZN3foo3barE", "foo::bar");
}

/* ThinLTO renames locals it promotes to "NAME.llvm.NNNN" (decimal or hex); __cxa_demangle
 * rejected these and perfsample printed them raw (78% of one Rust program's samples). */
Test(demangle, rust_legacy_llvm_suffix)
{
	dm("_ZN3std2rt10lang_start28_$u7b$$u7b$closure$u7d$$u7d$17h612b7d111904d179E.llvm."
	   "18146420874761721863",
	   "std::rt::lang_start::{{closure}}");
	dm("_ZN4core3ptr30drop_in_place$LT$prog2..Ev$GT$17h979d59551519fca0E.llvm."
	   "10923080325131558005",
	   "core::ptr::drop_in_place<prog2::Ev>");
	dm("_ZN4core3fmt5Write9write_fmt17hf7d884d96ce70779E.llvm.9D1C9369AB",
	   "core::fmt::Write::write_fmt");
}

/* C++ clone suffixes as c++filt prints them, and PLT stubs named after the function they
 * jump to (symbolize/ps_elf.c): demangled, then "@plt". */
Test(demangle, cxx_suffixes)
{
	dm("_ZN3geo5Shape4drawEv.cold", "geo::Shape::draw() [clone .cold]");
	dm("_ZL3fooi.constprop.0", "foo(int) [clone .constprop.0]");
	dm("_Znwm@plt", "operator new(unsigned long)@plt");
	dm("_ZN4core3ptr13drop_in_place17h1234567890abcdefE@plt", "core::ptr::drop_in_place@plt");
	dm("memcmp@plt", "memcmp@plt");
	dm("_Z@plt", "_Z@plt");
}

/* A name longer than the buffer is cut on a character boundary, not dropped. */
Test(demangle, cut)
{
	char buf[16];
	cr_expect_str_eq(ps_demangle("_ZN6MatrixIdE3mulERKS0_", buf, sizeof(buf)),
			 "Matrix<double>:");
}

Test(demangle, rust_v0_paths)
{
	dm("_RNvC6_123foo3bar", "123foo::bar");
	dm("_RNvNtCs1234_7mycrate3foo3bar", "mycrate::foo::bar");
	dm("_RNCNCNgCs6DXkGYLi8lr_2cc5spawn00B5_", "cc::spawn::{closure#0}::{closure#0}");
	dm("_RNCINkXs25_NgCsbmNqQUJIY6D_4core5sliceINyB9_4IterhENuNgNoBb_4iter8iterator8Iterator9"
	   "rpositionNCNgNpB9_6memchr7memrchrs_0E0Bb_",
	   "<core::slice::Iter<u8> as core::iter::iterator::Iterator>::rposition::<core::slice::"
	   "memchr::memrchr::{closure#1}>::{closure#0}");
	dm("_RINbNbCskIICzLVDPPb_5alloc5alloc8box_freeDINbNiB4_5boxed5FnBoxuEp6OutputuEL_"
	   "ECs1iopQbuBiw2_3std",
	   "alloc::alloc::box_free::<dyn alloc::boxed::FnBox<(), Output = ()>>");
}

Test(demangle, rust_v0_punycode)
{
	dm("_RNqCs4fqI2P2rA04_11utf8_identsu30____7hkackfecea1cbdathfdh9hlq6y",
	   "utf8_idents::საჭმელად_გემრიელი_სადილი");
}

Test(demangle, rust_v0_consts)
{
	dm("_RMC0INtC8arrayvec8ArrayVechKj7b_E", "<arrayvec::ArrayVec<u8, 123>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_8UnsignedKhb_E", "<const_generic::Unsigned<11>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKs98_E", "<const_generic::Signed<152>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_6SignedKanb_E", "<const_generic::Signed<-11>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_4BoolKb0_E", "<const_generic::Bool<false>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_4BoolKb1_E", "<const_generic::Bool<true>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKc76_E", "<const_generic::Char<'v'>>");
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKca_E", "<const_generic::Char<'\\n'>>");
	/* rustc-demangle prints '∂': libiberty escapes every non-ASCII char constant. */
	dm("_RMCs4fqI2P2rA04_13const_genericINtB0_4CharKc2202_E",
	   "<const_generic::Char<'\\u{2202}'>>");
	dm("_RNvNvMCs4fqI2P2rA04_13const_genericINtB4_3FooKpE3foo3FOO",
	   "<const_generic::Foo<_>>::foo::FOO");
}

Test(demangle, rust_v0_types)
{
	/* RFC 2603 type grammar, each inside "<...>" of an inherent impl on the crate "". */
	dm("_RMC0RL_e", "<&str>");
	dm("_RMC0QSh", "<&mut [u8]>");
	dm("_RMC0PAmj4_", "<*const [u32; 4]>");
	dm("_RMC0OTlE", "<*mut (i32,)>");
	dm("_RMC0TbcE", "<(bool, char)>");
	dm("_RMC0FKCmEu", "<extern \"C\" fn(u32)>");
	dm("_RMC0FUK9rust_callEz", "<unsafe extern \"rust-call\" fn() -> !>");
	dm("_RMC0FG_RL0_hEu", "<for<'a> fn(&'a u8)>");
	dm("_RMC0DNtC3std5DebugEL_", "<dyn std::Debug>");
	dm("_RMC0TTTTTTpB8_EB7_EB6_EB5_EB4_EB3_E",
	   "<((((((_, _), (_, _)), ((_, _), (_, _))), (((_, _), (_, _)), ((_, _), (_, _)))), "
	   "((((_, _), (_, _)), ((_, _), (_, _))), (((_, _), (_, _)), ((_, _), (_, _))))), "
	   "(((((_, _), (_, _)), ((_, _), (_, _))), (((_, _), (_, _)), ((_, _), (_, _)))), "
	   "((((_, _), (_, _)), ((_, _), (_, _))), (((_, _), (_, _)), ((_, _), (_, _))))))>");
}

Test(demangle, rust_v0_suffixes)
{
	dm("_RC3foo.llvm.9D1C9369", "foo");
	dm("_RNvC9backtrace3foo.llvm.A5310EB9", "backtrace::foo");
	/* libiberty drops every suffix of a v0 name; ps_demangle puts back all but LLVM's, as
	 * rustc-demangle does. */
	dm("_RNvNtNtNtNtCs92dm3009vxr_4rand4rngs7adapter9reseeding4fork23FORK_HANDLER_REGISTERED.0."
	   "0",
	   "rand::rngs::adapter::reseeding::fork::FORK_HANDLER_REGISTERED.0.0");
	dm("_RNvNtNtCsjrHSEGnQ3l9_3std2io5stdio19OUTPUT_CAPTURE_USED.0.llvm.1234",
	   "std::io::stdio::OUTPUT_CAPTURE_USED.0");
	dm("_RNvC9backtrace3foo.llvm.A5310EB9@plt", "backtrace::foo@plt");
}

Test(demangle, rust_v0_invalid)
{
	/* Kept as they are: a bad name is better than a made-up one. */
	const char *bad[] = {
	    "_R",	 "_RX",	   "_RC",	    "_RC5ab",	"_RNvC3foo",
	    "_RB_",	 "_RB0_",  "_RC3fooB",	    "_R0C3foo", "_RNvC3foo3barE",
	    "_RIC1aB_E", "_RMC0D", "_RC3fooC3barX", "_RMC0Kj_", "_RC99999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		dm(bad[i], bad[i]);
	/* Self-referencing backref: must not loop. */
	char out[64];
	cr_expect_neq(ps_demangle_rust_v0("_RMC0B2_", out, sizeof(out)), 0);
	/* Does not fit: refused, not truncated. */
	cr_expect_neq(ps_demangle_rust_v0("_RNvNtCs1234_7mycrate3foo3bar", out, 8), 0);
}
