#include "formats/ps_error.h"

#include <string.h>

const char *ps_strerror(int err)
{
	switch (err) {
	case PS_EFORMAT: return "not in the expected format";
	case PS_ETRUNC: return "truncated";
	case PS_ECORRUPT: return "corrupt";
	case PS_EVERSION: return "written by a newer format version";
	case PS_EZSTD: return "zstd error";
	case PS_EEMPTY: return "empty";
	case PS_ELIMIT: return "too large";
	case PS_ENOTREG: return "not a regular file";
	}
	if (err < 0 && err > -4096)
		return strerror(-err);
	return "unknown error";
}
