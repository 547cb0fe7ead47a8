/* ps_error: the one error convention. Functions return 0 (or a count) on success and a
 * negative errno or PS_E* code on failure; ps_strerror() names either. */
#ifndef PS_ERROR_H
#define PS_ERROR_H

enum {
	PS_EFORMAT = -10000, /* input is not in the expected format */
	PS_ETRUNC,           /* input ends part-way through a record or chunk */
	PS_ECORRUPT,         /* checksum or structure is inconsistent */
	PS_EVERSION,         /* a newer format version than this reader knows */
	PS_EZSTD,            /* zstd failed to compress or decompress */
	PS_EEMPTY,           /* no data where some was required */
	PS_ELIMIT,           /* input exceeds a size limit */
	PS_ENOTREG,          /* a path that must be a regular file is not */
};

/* Static string for a negative errno or PS_E* code. */
const char *ps_strerror(int err);

#endif
