/* perfsample report: the top functions by self and total samples, as text. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"
#include "render/ps_report.h"

static void cb_sort(const struct opt *o, const char *arg)
{
	ps_report_opts *ro = o->value;
	if (!strcmp(arg, "total"))
		ro->sort_total = 1;
	else if (!strcmp(arg, "self"))
		ro->sort_total = 0;
	else
		die_usage("invalid --sort '%s' (self or total)", arg);
}

static const char report_usage[] =
	"usage: perfsample report [-i TRACE | --folded FILE|- | --input FORMAT FILE|-] [options]\n"
	"\n"
	"The top functions by self samples (where the CPU was) and total samples (on the\n"
	"stack), as text. With --pid or --tid, processes or threads are rows too.\n";

int cmd_report(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	ps_report_opts ro = {.limit = 30};
	uint64_t limit = ro.limit;
	const struct opt options[] = {
		SOURCE_OPTIONS(&s),
		OPT_GROUP("frames:"),
		SOURCE_LABEL_OPTIONS(&s),
		OPT_GROUP("report:"),
		OPT_CALLBACK('s', "sort", &ro, "self|total", "the order of the rows (default self)",
			     cb_sort),
		OPT_U64('n', "limit", &limit, "N", "at most N rows, 0 for all (default 30)", 0,
			SIZE_MAX),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, report_usage, 0);
	source_operands(&s, "report", argc, argv);
	ro.limit = (size_t)limit;
	/* The process root is no function, unless --pid or --tid asked for processes or
	 * threads as rows. */
	ro.keep_process = s.pid_root || s.tid_root;
	ps_profile *p = load_profile(&s, 0, NULL);
	stdout_done(ps_report_render(p, &ro, stdout));
	ps_profile_free(p);
	return 0;
}
