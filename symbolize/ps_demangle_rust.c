/* Rust v0 symbol demangling ("_R..."), after RFC 2603 and rustc-demangle's output in its
 * alternate form ({:#}): crate disambiguator hashes and integer-constant type suffixes are
 * left out, because a profile wants the readable path. No C library does this on Debian
 * (libiberty's copy is in c++filt, not in a library we can link), hence this file. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "symbolize/ps_elf.h"

#define MAX_DEPTH 300

struct v0 {
	const char *sym; /* the mangled text after "_R" */
	size_t len, pos;
	char *out;
	size_t size, n;
	int err;
	int depth;
	int skip;	    /* parse without printing (impl paths) */
	uint64_t bound_lts; /* lifetimes bound by enclosing for<...> */
};

static int peek(struct v0 *d) { return d->pos < d->len ? (unsigned char)d->sym[d->pos] : 0; }

static int eat(struct v0 *d, int c)
{
	if (peek(d) == c && c) {
		d->pos++;
		return 1;
	}
	return 0;
}

static int next(struct v0 *d)
{
	if (d->pos >= d->len) {
		d->err = 1;
		return 0;
	}
	return (unsigned char)d->sym[d->pos++];
}

static void put(struct v0 *d, const char *s, size_t n)
{
	if (d->skip || d->err)
		return;
	if (d->n + n >= d->size) {
		d->err = 1;
		return;
	}
	memcpy(d->out + d->n, s, n);
	d->n += n;
	d->out[d->n] = '\0';
}

static void puts_(struct v0 *d, const char *s) { put(d, s, strlen(s)); }

static void putu(struct v0 *d, uint64_t v)
{
	char b[24];
	snprintf(b, sizeof(b), "%llu", (unsigned long long)v);
	puts_(d, b);
}

/* <base-62-number> = {0-9a-zA-Z} "_": "_" is 0, digits are value + 1. */
static uint64_t base62(struct v0 *d)
{
	if (eat(d, '_'))
		return 0;
	uint64_t x = 0;
	for (;;) {
		int c = next(d);
		if (d->err)
			return 0;
		if (c == '_')
			break;
		int v;
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 10;
		else if (c >= 'A' && c <= 'Z')
			v = c - 'A' + 36;
		else {
			d->err = 1;
			return 0;
		}
		if (x > (UINT64_MAX - (uint64_t)v) / 62) {
			d->err = 1;
			return 0;
		}
		x = x * 62 + (uint64_t)v;
	}
	if (x == UINT64_MAX) {
		d->err = 1;
		return 0;
	}
	return x + 1;
}

static uint64_t opt_base62(struct v0 *d, int tag)
{
	if (!eat(d, tag))
		return 0;
	uint64_t x = base62(d);
	if (x == UINT64_MAX) {
		d->err = 1;
		return 0;
	}
	return x + 1;
}

static uint64_t decimal(struct v0 *d)
{
	int c = peek(d);
	if (c < '0' || c > '9') {
		d->err = 1;
		return 0;
	}
	d->pos++;
	if (c == '0')
		return 0;
	uint64_t x = (uint64_t)(c - '0');
	while ((c = peek(d)) >= '0' && c <= '9') {
		if (x > (UINT64_MAX - 9) / 10) {
			d->err = 1;
			return 0;
		}
		x = x * 10 + (uint64_t)(c - '0');
		d->pos++;
	}
	return x;
}

struct ident {
	const char *ascii, *puny;
	size_t alen, plen;
};

/* <undisambiguated-identifier> = ["u"] <decimal-number> ["_"] <bytes> */
static struct ident ident(struct v0 *d)
{
	struct ident id = {0};
	int puny = eat(d, 'u');
	uint64_t len = decimal(d);
	eat(d, '_');
	if (d->err || len > d->len - d->pos) {
		d->err = 1;
		return id;
	}
	const char *s = d->sym + d->pos;
	d->pos += len;
	if (!puny) {
		id.ascii = s;
		id.alen = len;
		return id;
	}
	/* Punycode: the basic code points, then "_", then the encoded deltas. */
	const char *us = NULL;
	for (size_t i = len; i-- > 0;)
		if (s[i] == '_') {
			us = s + i;
			break;
		}
	if (us) {
		id.ascii = s;
		id.alen = (size_t)(us - s);
		id.puny = us + 1;
		id.plen = len - id.alen - 1;
	} else {
		id.puny = s;
		id.plen = len;
	}
	if (!id.plen)
		d->err = 1;
	return id;
}

static void put_utf8(struct v0 *d, uint32_t c)
{
	char b[4];
	size_t n;
	if (c < 0x80) {
		b[0] = (char)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (char)(0xc0 | (c >> 6));
		b[1] = (char)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (char)(0xe0 | (c >> 12));
		b[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (char)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | (c >> 18));
		b[1] = (char)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (char)(0x80 | (c & 0x3f));
		n = 4;
	}
	put(d, b, n);
}

/* RFC 3492 decoding, with Rust's digits: a-z are 0-25 and 0-9 are 26-35. */
static void print_ident(struct v0 *d, struct ident id)
{
	if (!id.puny) {
		put(d, id.ascii, id.alen);
		return;
	}
	enum { MAXC = 128 };
	uint32_t cp[MAXC];
	size_t n = 0;
	if (id.alen > MAXC) {
		d->err = 1;
		return;
	}
	for (size_t i = 0; i < id.alen; i++)
		cp[n++] = (unsigned char)id.ascii[i];
	uint64_t base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700, bias = 72, i = 0, c = 0x80;
	size_t p = 0;
	while (p < id.plen) {
		uint64_t old = i, w = 1;
		for (uint64_t k = base;; k += base) {
			if (p >= id.plen) {
				d->err = 1;
				return;
			}
			int ch = (unsigned char)id.puny[p++];
			uint64_t dg;
			if (ch >= 'a' && ch <= 'z')
				dg = (uint64_t)(ch - 'a');
			else if (ch >= '0' && ch <= '9')
				dg = (uint64_t)(26 + ch - '0');
			else {
				d->err = 1;
				return;
			}
			if (dg > (UINT32_MAX - i) / w) {
				d->err = 1;
				return;
			}
			i += dg * w;
			uint64_t t = k <= bias ? tmin : k >= bias + tmax ? tmax : k - bias;
			if (dg < t)
				break;
			if (w > UINT32_MAX / (base - t)) {
				d->err = 1;
				return;
			}
			w *= base - t;
		}
		if (n >= MAXC) {
			d->err = 1;
			return;
		}
		/* Adapt the bias (RFC 3492 section 6.1). */
		uint64_t delta = (i - old) / (old == 0 ? damp : 2);
		delta += delta / (n + 1);
		uint64_t k = 0;
		while (delta > ((base - tmin) * tmax) / 2) {
			delta /= base - tmin;
			k += base;
		}
		bias = k + ((base - tmin + 1) * delta) / (delta + skew);
		c += i / (n + 1);
		i %= n + 1;
		if (c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
			d->err = 1;
			return;
		}
		memmove(cp + i + 1, cp + i, (n - i) * sizeof(*cp));
		cp[i++] = (uint32_t)c;
		n++;
	}
	for (size_t j = 0; j < n; j++)
		put_utf8(d, cp[j]);
}

static void path(struct v0 *d, int in_value);
static void type(struct v0 *d);
static void konst(struct v0 *d);

/* Runs f at the position a backref names, then comes back. Backrefs point strictly
 * backwards, so this terminates; the depth limit bounds the work of nested ones. */
static void backref(struct v0 *d, void (*f)(struct v0 *, int), int arg)
{
	size_t at = d->pos - 1;
	uint64_t target = base62(d);
	if (d->err || target >= at) {
		d->err = 1;
		return;
	}
	size_t save = d->pos;
	d->pos = (size_t)target;
	f(d, arg);
	d->pos = save;
}

static void print_lifetime(struct v0 *d, uint64_t lt)
{
	if (lt == 0) {
		puts_(d, "'_");
		return;
	}
	if (lt > d->bound_lts) {
		d->err = 1;
		return;
	}
	uint64_t depth = d->bound_lts - lt;
	if (depth < 26) {
		char b[3] = {'\'', (char)('a' + depth), 0};
		puts_(d, b);
	} else {
		puts_(d, "'_");
		putu(d, depth);
	}
}

/* <binder> = "G" <base-62-number>: for<'a, 'b, ...> with that many + 1 lifetimes. */
static uint64_t binder(struct v0 *d)
{
	uint64_t n = opt_base62(d, 'G');
	if (d->err || n == 0)
		return 0;
	if (n > 1000) {
		d->err = 1;
		return 0;
	}
	puts_(d, "for<");
	for (uint64_t i = 0; i < n; i++) {
		if (i)
			puts_(d, ", ");
		d->bound_lts++;
		print_lifetime(d, 1);
	}
	puts_(d, "> ");
	return n;
}

static const char *basic_type(int c)
{
	switch (c) {
	case 'a':
		return "i8";
	case 'b':
		return "bool";
	case 'c':
		return "char";
	case 'd':
		return "f64";
	case 'e':
		return "str";
	case 'f':
		return "f32";
	case 'h':
		return "u8";
	case 'i':
		return "isize";
	case 'j':
		return "usize";
	case 'l':
		return "i32";
	case 'm':
		return "u32";
	case 'n':
		return "i128";
	case 'o':
		return "u128";
	case 'p':
		return "_";
	case 's':
		return "i16";
	case 't':
		return "u16";
	case 'u':
		return "()";
	case 'v':
		return "...";
	case 'x':
		return "i64";
	case 'y':
		return "u64";
	case 'z':
		return "!";
	default:
		return NULL;
	}
}

static void generic_arg(struct v0 *d)
{
	if (eat(d, 'L'))
		print_lifetime(d, base62(d));
	else if (eat(d, 'K'))
		konst(d);
	else
		type(d);
}

/* Prints a path; when it ends in generic args, leaves "<" open and returns 1 so the
 * caller (dyn Trait<Assoc = T>) can add bindings before closing it. */
static int path_open_generics(struct v0 *d)
{
	if (eat(d, 'B')) {
		size_t at = d->pos - 1;
		uint64_t target = base62(d);
		if (d->err || target >= at) {
			d->err = 1;
			return 0;
		}
		size_t save = d->pos;
		d->pos = (size_t)target;
		int open = path_open_generics(d);
		d->pos = save;
		return open;
	}
	if (eat(d, 'I')) {
		path(d, 0);
		puts_(d, "<");
		for (int i = 0; !d->err && !eat(d, 'E'); i++) {
			if (i)
				puts_(d, ", ");
			generic_arg(d);
		}
		return 1;
	}
	path(d, 0);
	return 0;
}

static void dyn_trait(struct v0 *d)
{
	int open = path_open_generics(d);
	while (!d->err && eat(d, 'p')) {
		puts_(d, open ? ", " : "<");
		open = 1;
		struct ident id = ident(d);
		print_ident(d, id);
		puts_(d, " = ");
		type(d);
	}
	if (open)
		puts_(d, ">");
}

static void fn_sig(struct v0 *d)
{
	uint64_t saved = d->bound_lts;
	binder(d);
	if (eat(d, 'U'))
		puts_(d, "unsafe ");
	if (eat(d, 'K')) {
		puts_(d, "extern \"");
		if (eat(d, 'C')) {
			puts_(d, "C");
		} else {
			struct ident id = ident(d);
			if (id.puny) {
				d->err = 1;
				return;
			}
			for (size_t i = 0; i < id.alen; i++)
				put(d, id.ascii[i] == '_' ? "-" : id.ascii + i, 1);
		}
		puts_(d, "\" ");
	}
	puts_(d, "fn(");
	for (int i = 0; !d->err && !eat(d, 'E'); i++) {
		if (i)
			puts_(d, ", ");
		type(d);
	}
	puts_(d, ")");
	if (eat(d, 'u')) {
		/* returns (): nothing to print */
	} else {
		puts_(d, " -> ");
		type(d);
	}
	d->bound_lts = saved;
}

static void type_at(struct v0 *d, int unused) { type(d); }

static void type(struct v0 *d)
{
	if (d->err || ++d->depth > MAX_DEPTH) {
		d->err = 1;
		return;
	}
	int c = next(d);
	const char *basic = basic_type(c);
	if (basic) {
		puts_(d, basic);
		d->depth--;
		return;
	}
	switch (c) {
	case 'R':
	case 'Q':
		puts_(d, "&");
		if (eat(d, 'L')) {
			uint64_t lt = base62(d);
			if (lt) {
				print_lifetime(d, lt);
				puts_(d, " ");
			}
		}
		if (c == 'Q')
			puts_(d, "mut ");
		type(d);
		break;
	case 'P':
		puts_(d, "*const ");
		type(d);
		break;
	case 'O':
		puts_(d, "*mut ");
		type(d);
		break;
	case 'A':
	case 'S':
		puts_(d, "[");
		type(d);
		if (c == 'A') {
			puts_(d, "; ");
			konst(d);
		}
		puts_(d, "]");
		break;
	case 'T': {
		puts_(d, "(");
		int i = 0;
		for (; !d->err && !eat(d, 'E'); i++) {
			if (i)
				puts_(d, ", ");
			type(d);
		}
		if (i == 1)
			puts_(d, ",");
		puts_(d, ")");
		break;
	}
	case 'F':
		fn_sig(d);
		break;
	case 'D': {
		puts_(d, "dyn ");
		uint64_t saved = d->bound_lts;
		binder(d);
		for (int i = 0; !d->err && !eat(d, 'E'); i++) {
			if (i)
				puts_(d, " + ");
			dyn_trait(d);
		}
		d->bound_lts = saved;
		if (!eat(d, 'L')) {
			d->err = 1;
			break;
		}
		uint64_t lt = base62(d);
		if (lt) {
			puts_(d, " + ");
			print_lifetime(d, lt);
		}
		break;
	}
	case 'B':
		backref(d, type_at, 0);
		break;
	default:
		/* Any other tag starts a path in type position. */
		d->pos--;
		path(d, 0);
		break;
	}
	d->depth--;
}

static void konst_at(struct v0 *d, int unused) { konst(d); }

static void konst(struct v0 *d)
{
	if (d->err || ++d->depth > MAX_DEPTH) {
		d->err = 1;
		return;
	}
	int c = next(d);
	if (c == 'B') {
		backref(d, konst_at, 0);
		d->depth--;
		return;
	}
	if (c == 'p') {
		puts_(d, "_");
		d->depth--;
		return;
	}
	int neg = 0;
	switch (c) {
	case 'a':
	case 's':
	case 'l':
	case 'x':
	case 'n':
	case 'i':
		neg = eat(d, 'n');
		/* fall through */
	case 'h':
	case 't':
	case 'm':
	case 'y':
	case 'o':
	case 'j':
	case 'b':
	case 'c': {
		uint64_t v = 0;
		size_t digits = 0;
		int wide = 0;
		for (;;) {
			int h = next(d);
			if (d->err)
				break;
			if (h == '_')
				break;
			int x = h >= '0' && h <= '9'   ? h - '0'
				: h >= 'a' && h <= 'f' ? h - 'a' + 10
						       : -1;
			if (x < 0) {
				d->err = 1;
				break;
			}
			if (v >> 60)
				wide = 1;
			v = v << 4 | (uint64_t)x;
			digits++;
		}
		if (d->err)
			break;
		if (c == 'b') {
			if (v > 1 || wide)
				d->err = 1;
			else
				puts_(d, v ? "true" : "false");
		} else if (c == 'c') {
			if (wide || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) {
				d->err = 1;
				break;
			}
			/* As Rust's {:?} prints a char. */
			puts_(d, "'");
			if (v == '\'' || v == '\\')
				puts_(d, "\\");
			if (v == '\n')
				puts_(d, "\\n");
			else if (v == '\t')
				puts_(d, "\\t");
			else if (v == '\r')
				puts_(d, "\\r");
			else if (v == 0)
				puts_(d, "\\0");
			else if (v >= 0x20 && v != 0x7f)
				put_utf8(d, (uint32_t)v);
			else {
				char b[16];
				snprintf(b, sizeof(b), "\\u{%llx}", (unsigned long long)v);
				puts_(d, b);
			}
			puts_(d, "'");
		} else if (wide) {
			/* More than 64 bits (i128/u128): print the hex digits as given. */
			size_t end = d->pos - 1, start = end - digits;
			puts_(d, neg ? "-0x" : "0x");
			put(d, d->sym + start, digits);
		} else {
			if (neg)
				puts_(d, "-");
			putu(d, v);
		}
		break;
	}
	default:
		/* str and structural constants (newer rustc) are not decoded. */
		d->err = 1;
		break;
	}
	d->depth--;
}

static void path_at(struct v0 *d, int in_value) { path(d, in_value); }

static void path(struct v0 *d, int in_value)
{
	if (d->err || ++d->depth > MAX_DEPTH) {
		d->err = 1;
		return;
	}
	int c = next(d);
	switch (c) {
	case 'C': {
		opt_base62(d, 's');
		print_ident(d, ident(d));
		break;
	}
	case 'N': {
		int ns = next(d);
		if (!((ns >= 'a' && ns <= 'z') || (ns >= 'A' && ns <= 'Z'))) {
			d->err = 1;
			break;
		}
		path(d, in_value);
		uint64_t dis = opt_base62(d, 's');
		struct ident id = ident(d);
		if (ns >= 'A' && ns <= 'Z') {
			puts_(d, "::{");
			if (ns == 'C')
				puts_(d, "closure");
			else if (ns == 'S')
				puts_(d, "shim");
			else
				put(d, (char[]){(char)ns}, 1);
			if (id.alen || id.plen) {
				puts_(d, ":");
				print_ident(d, id);
			}
			puts_(d, "#");
			putu(d, dis);
			puts_(d, "}");
		} else {
			puts_(d, "::");
			print_ident(d, id);
		}
		break;
	}
	case 'M':
	case 'X':
	case 'Y': {
		if (c != 'Y') {
			/* The impl's own path (where it was written) is not part of the name. */
			int skip = d->skip;
			d->skip = 1;
			opt_base62(d, 's');
			path(d, 0);
			d->skip = skip;
		}
		puts_(d, "<");
		type(d);
		if (c != 'M') {
			puts_(d, " as ");
			path(d, 0);
		}
		puts_(d, ">");
		break;
	}
	case 'I': {
		path(d, in_value);
		if (in_value)
			puts_(d, "::");
		puts_(d, "<");
		for (int i = 0; !d->err && !eat(d, 'E'); i++) {
			if (i)
				puts_(d, ", ");
			generic_arg(d);
		}
		puts_(d, ">");
		break;
	}
	case 'B':
		backref(d, path_at, in_value);
		break;
	default:
		d->err = 1;
		break;
	}
	d->depth--;
}

int ps_demangle_rust_v0(const char *name, char *out, size_t size)
{
	if (strncmp(name, "_R", 2) || size < 2)
		return -1;
	const char *s = name + 2;
	/* An encoding version number may follow "_R"; only 0 (written as none) exists. */
	if (*s >= '0' && *s <= '9')
		return -1;
	if (!(*s >= 'A' && *s <= 'Z'))
		return -1;
	size_t len = strlen(s);
	/* A vendor suffix (".llvm.123", "$..") follows the path; LLVM's is noise. */
	size_t plen = strcspn(s, ".$");
	struct v0 d = {.sym = s, .len = plen, .out = out, .size = size};
	out[0] = '\0';
	path(&d, 1);
	/* The instantiating crate, when present, is a path that is not printed. */
	if (!d.err && d.pos < d.len) {
		d.skip = 1;
		path(&d, 0);
		d.skip = 0;
	}
	if (d.err || d.pos != d.len)
		return -1;
	const char *suffix = s + plen;
	if (*suffix && strncmp(suffix, ".llvm.", 6))
		put(&d, suffix, len - plen);
	return d.err ? -1 : 0;
}
