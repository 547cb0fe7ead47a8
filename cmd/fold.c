/* perfsample fold: folded stacks, as FlameGraph's stackcollapse-perf.pl prints them. */
#include <stdio.h>

#include "cmd/commands.h"
#include "cmd/options.h"
#include "cmd/source.h"
#include "cmd/util.h"

static const char fold_usage[] =
	"usage: perfsample fold [-i TRACE | --folded FILE|- | --input FORMAT FILE|-] [options]\n"
	"\n"
	"Prints folded stacks, as FlameGraph's stackcollapse-perf.pl does:\n"
	"'comm;root;...;leaf COUNT', one line per distinct stack, sorted. From perf-script\n"
	"text (--input perf-script) the output is byte for byte stackcollapse-perf.pl's, from\n"
	"pmcstat -G call graphs (--input pmcstat) stackcollapse-pmc.pl's (summed and sorted),\n"
	"from DTrace stack aggregations (--input dtrace) stackcollapse.pl's.\n";

int cmd_fold(int argc, char **argv)
{
	struct source s;
	source_init(&s);
	const struct opt options[] = {
		SOURCE_OPTIONS(&s),
		OPT_GROUP("frames:"),
		SOURCE_LABEL_OPTIONS(&s),
		OPT_END(),
	};
	argc = parse_options(argc, argv, options, fold_usage, 0);
	source_operands(&s, "fold", argc, argv);
	ps_profile *p = load_profile(&s, 0, NULL);
	stdout_done(ps_profile_write_folded(p, 0, stdout));
	ps_profile_free(p);
	return 0;
}
