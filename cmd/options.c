/* cmd/options: the declarative option tables, their parser and their --help. */
#include "cmd/options.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/util.h"

#define HELP_COL 29   /* where an option's help starts */
#define HELP_WIDTH 80 /* --help wraps before this column */
#define LONG_ONLY 256 /* getopt value of the table's option i without a short name: 256 + i */

static int takes_option(const struct opt *o) { return o->type >= OPT_T_SET_INT; }

static size_t count_options(const struct opt *o)
{
	size_t n = 0;
	for (; o->type != OPT_T_END; o++)
		n += o->type == OPT_T_INCLUDE ? count_options(o->value) : (size_t)takes_option(o);
	return n;
}

static void flatten(const struct opt *o, const struct opt **list, size_t *n)
{
	for (; o->type != OPT_T_END; o++) {
		if (o->type == OPT_T_INCLUDE)
			flatten(o->value, list, n);
		else if (takes_option(o))
			list[(*n)++] = o;
	}
}

const char *opt_name(const struct opt *o)
{
	if (o->long_name) {
		char *s = arg_alloc(strlen(o->long_name) + 3, 1);
		sprintf(s, "--%s", o->long_name);
		return s;
	}
	char *s = arg_alloc(3, 1);
	sprintf(s, "-%c", o->short_name);
	return s;
}

void usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	die_usage("%s (see 'perfsample %s --help')", msg, cmd);
}

/* A table that names one option twice would silently lose one of them to getopt. */
static void check_table(const struct opt **list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct opt *a = list[i];
		if (!a->short_name && !a->long_name)
			bug("an option has neither a short nor a long name");
		if (a->short_name == 'h' || (a->long_name && !strcmp(a->long_name, "help")))
			bug("option %s: -h and --help are every command's help", opt_name(a));
		if ((a->flags & OPT_OPTARG) && !a->argh)
			bug("option %s: an optional value needs a name", opt_name(a));
		if (a->type != OPT_T_SET_INT && a->type != OPT_T_CALLBACK && !a->argh)
			bug("option %s takes a value but does not name it", opt_name(a));
		for (size_t j = 0; j < i; j++) {
			const struct opt *b = list[j];
			if ((a->short_name && a->short_name == b->short_name) ||
			    (a->long_name && b->long_name && !strcmp(a->long_name, b->long_name)))
				bug("option %s is declared twice", opt_name(a));
		}
	}
}

/* ---- --help ---- */

/* Prints text from column *col, wrapped before HELP_WIDTH with continuation lines indented
 * to indent; '\n' in text breaks the line. */
static void print_wrapped(const char *text, int indent, int *col)
{
	const char *p = text;
	while (*p) {
		if (*p == '\n') {
			printf("\n%*s", indent, "");
			*col = indent;
			p++;
			continue;
		}
		if (*p == ' ') {
			p++;
			continue;
		}
		size_t w = strcspn(p, " \n");
		int first = *col == indent;
		if (!first && *col + 1 + (int)w >= HELP_WIDTH) {
			printf("\n%*s", indent, "");
			*col = indent;
			first = 1;
		}
		if (!first) {
			putchar(' ');
			(*col)++;
		}
		printf("%.*s", (int)w, p);
		*col += (int)w;
		p += w;
	}
}

static void print_option(const struct opt *o)
{
	/* "  -F, --freq HZ", "      --call-graph MODE", "  -g", "  -z LEVEL" */
	char left[256];
	int n;
	if (o->short_name && o->long_name)
		n = snprintf(left, sizeof(left), "  -%c, --%s", o->short_name, o->long_name);
	else if (o->short_name)
		n = snprintf(left, sizeof(left), "  -%c", o->short_name);
	else
		n = snprintf(left, sizeof(left), "      --%s", o->long_name);
	if (o->argh && n >= 0 && n < (int)sizeof(left)) {
		int opt = (o->flags & OPT_OPTARG) != 0;
		n += snprintf(left + n, sizeof(left) - (size_t)n, "%s%s%s",
			      opt ? (o->long_name ? "[=" : "[") : " ", o->argh, opt ? "]" : "");
	}
	if (n < 0 || n >= (int)sizeof(left))
		n = (int)strlen(left);
	fputs(left, stdout);
	int col = n;
	if (col > HELP_COL - 2) {
		putchar('\n');
		col = 0;
	}
	printf("%*s", HELP_COL - col, "");
	col = HELP_COL;
	print_wrapped(o->help ? o->help : "", HELP_COL, &col);
	putchar('\n');
}

static const struct opt help_option[] = {
	{.type = OPT_T_SET_INT, .short_name = 'h', .long_name = "help", .help = "this help"},
	OPT_END(),
};

struct help_state {
	int blank;	 /* a blank line is due before the next option */
	int options;	 /* options were printed */
	int help_listed; /* -h, --help was */
};

/* -h and --help are listed after the options, before the text that closes the help. */
static void list_help_option(struct help_state *st)
{
	if (st->help_listed)
		return;
	putchar('\n');
	print_option(help_option);
	st->help_listed = 1;
	st->blank = 0;
}

static void print_entries(const struct opt *o, struct help_state *st)
{
	for (; o->type != OPT_T_END; o++) {
		switch (o->type) {
		case OPT_T_INCLUDE:
			print_entries(o->value, st);
			break;
		case OPT_T_GROUP:
			printf("\n%s\n", o->help);
			st->blank = 0;
			break;
		case OPT_T_TEXT: {
			if (st->options)
				list_help_option(st);
			int col = 0;
			putchar('\n');
			print_wrapped(o->help, 0, &col);
			putchar('\n');
			st->blank = 1;
			break;
		}
		default:
			if (st->blank)
				putchar('\n');
			st->blank = 0;
			st->options = 1;
			print_option(o);
		}
	}
}

void print_help(const struct opt *opts, const char *usage)
{
	fputs(usage, stdout);
	struct help_state st = {1, 0, 0};
	print_entries(opts, &st);
	list_help_option(&st);
	if (fflush(stdout) || ferror(stdout))
		die("cannot write the output");
}

/* ---- parsing ---- */

/* "--name=value" or "--name" as typed: the name, its length. */
static const char *typed_long(const char *word, size_t *len)
{
	const char *name = word + 2;
	*len = strcspn(name, "=");
	return name;
}

static void bad_option(const char *cmd, char **argv, const struct opt **list, size_t n, int c)
{
	const char *word = optind > 0 ? argv[optind - 1] : "";
	int is_long = !strncmp(word, "--", 2);
	if (c == ':') {
		/* A value is missing: optopt is the option's getopt value. */
		const struct opt *o = NULL;
		for (size_t i = 0; i < n && !o; i++)
			if (optopt == (list[i]->short_name ? list[i]->short_name : LONG_ONLY + (int)i))
				o = list[i];
		if (!o)
			usage_error(cmd, "an option needs a value");
		const char *name = o->long_name && (is_long || !o->short_name) ? opt_name(o) : NULL;
		if (!name) {
			char *s = arg_alloc(3, 1);
			sprintf(s, "-%c", o->short_name);
			name = s;
		}
		usage_error(cmd, "option '%s' needs a value: %s", name, o->argh);
	}
	if (optopt >= LONG_ONLY && optopt - LONG_ONLY < (int)n)
		usage_error(cmd, "option '%s' takes no value", opt_name(list[optopt - LONG_ONLY]));
	if (optopt) {
		for (size_t i = 0; i < n; i++)
			if (list[i]->short_name == optopt)
				usage_error(cmd, "option '%s' takes no value", opt_name(list[i]));
		usage_error(cmd, "unknown option '-%c'", optopt);
	}
	if (!is_long)
		usage_error(cmd, "unknown option '%s'", word);
	size_t len;
	const char *name = typed_long(word, &len);
	size_t matches = 0;
	const char *first = NULL, *second = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *l = list[i]->long_name;
		if (l && !strncmp(l, name, len)) {
			matches++;
			if (!first)
				first = l;
			else if (!second)
				second = l;
		}
	}
	if (matches > 1)
		usage_error(cmd, "ambiguous option '--%.*s' (--%s, --%s%s)", (int)len, name, first,
			    second, matches > 2 ? ", ..." : "");
	usage_error(cmd, "unknown option '--%.*s'", (int)len, name);
}

static void apply(const struct opt *o, const char *arg)
{
	switch (o->type) {
	case OPT_T_SET_INT:
		*(int *)o->value = (int)o->defval;
		break;
	case OPT_T_STRING:
		*(const char **)o->value = arg;
		break;
	case OPT_T_U64:
		*(uint64_t *)o->value = parse_u64(opt_name(o), arg, o->min, o->max);
		break;
	case OPT_T_INT:
		*(int *)o->value = (int)parse_u64(opt_name(o), arg, o->min, o->max);
		break;
	case OPT_T_DOUBLE:
		*(double *)o->value = parse_double(opt_name(o), arg, o->dmin, o->dmax);
		break;
	case OPT_T_CALLBACK:
		o->cb(o, arg);
		break;
	default:
		bug("option %s has no type", opt_name(o));
	}
}

int parse_options(int argc, char **argv, const struct opt *opts, const char *usage,
		  unsigned flags)
{
	const char *cmd = argv[0];
	size_t n = count_options(opts), k = 0;
	const struct opt **list = arg_alloc(n, sizeof(*list));
	flatten(opts, list, &k);
	check_table(list, n);

	struct option *longopts = arg_alloc(n + 2, sizeof(*longopts));
	char *shortopts = arg_alloc(3 * n + 8, 1);
	size_t nl = 0, ns = 0;
	if (flags & PARSE_STOP_AT_NON_OPTION)
		shortopts[ns++] = '+';
	shortopts[ns++] = ':'; /* a missing value is ':', not '?' */
	shortopts[ns++] = 'h';
	for (size_t i = 0; i < n; i++) {
		const struct opt *o = list[i];
		int has = !o->argh ? no_argument
			  : (o->flags & OPT_OPTARG) ? optional_argument : required_argument;
		int val = o->short_name ? o->short_name : LONG_ONLY + (int)i;
		if (o->long_name)
			longopts[nl++] = (struct option){o->long_name, has, NULL, val};
		if (o->short_name) {
			shortopts[ns++] = (char)o->short_name;
			if (has != no_argument)
				shortopts[ns++] = ':';
			if (has == optional_argument)
				shortopts[ns++] = ':';
		}
	}
	longopts[nl++] = (struct option){"help", no_argument, NULL, 'h'};

	opterr = 0;
	optind = 0; /* 0, not 1: glibc then starts afresh */
	int c;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h') {
			print_help(opts, usage);
			exit(0);
		}
		if (c == '?' || c == ':')
			bad_option(cmd, argv, list, n, c);
		const struct opt *o = NULL;
		if (c >= LONG_ONLY)
			o = list[c - LONG_ONLY];
		for (size_t i = 0; i < n && !o; i++)
			if (list[i]->short_name == c)
				o = list[i];
		if (!o)
			bug("getopt returned %d, which no option declares", c);
		apply(o, optarg);
	}
	int nargs = argc - optind;
	memmove(argv, argv + optind, (size_t)nargs * sizeof(*argv));
	argv[nargs] = NULL;
	return nargs;
}
