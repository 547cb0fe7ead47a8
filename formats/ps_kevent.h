/* ps_kevent: the kernel's perf_event records, decoded once for everyone who reads them —
 * the recorder draining its rings and the perf.data reader. The layout of a record
 * depends on the attr of the event that wrote it (sample_type, read_format, register
 * masks, sample_id_all); ps_kattr holds exactly those facts.
 *
 * Records are hostile input when they come from a file: every field is bounds-checked,
 * a record too short for what its attr promises is malformed (PS_EFORMAT), and pointers
 * in a decoded record point into the record itself (valid while it is). */
#ifndef PS_KEVENT_H
#define PS_KEVENT_H

#include <linux/perf_event.h>
#include <stddef.h>
#include <stdint.h>

/* What an event's attr says about the layout of its records. */
typedef struct ps_kattr {
	uint64_t sample_type;
	uint64_t read_format;
	uint64_t regs_user_mask;
	uint64_t regs_intr_mask;
	uint64_t branch_sample_type;
	int sample_id_all;
	/* attr.build_id: MMAP2 records carry build-ids. Only then is their MMAP_BUILD_ID misc
	 * bit believed: the kernel leaks it into other sessions' MMAP2 records (it sets it on
	 * the shared event for one listener and does not clear it for the next), whose bodies
	 * still hold device and inode. */
	int build_id;
} ps_kattr;

/* a: a whole perf_event_attr (a reader of an older, shorter attr copies it into a zeroed
 * one first: fields past the size are zero). */
void ps_kattr_from(ps_kattr *k, const struct perf_event_attr *a);

/* The sample_id fields: of a SAMPLE, or the trailer of other records (sample_id_all).
 * Fields the attr does not ask for are zero. */
typedef struct ps_kid {
	uint64_t time, id, stream_id;
	uint32_t pid, tid, cpu;
} ps_kid;

typedef struct ps_ksample {
	uint64_t ip, addr, period;
	uint64_t nr;          /* callchain entries (PERF_SAMPLE_CALLCHAIN), 0 if none */
	const uint64_t *ips;  /* nr entries, with the kernel's PERF_CONTEXT_* markers */
	const unsigned char *raw;
	uint32_t raw_size;
	uint64_t abi;          /* PERF_SAMPLE_REGS_USER: 0 when the task had no user regs */
	const uint64_t *regs;  /* nregs registers, in the mask's bit order, or NULL */
	uint32_t nregs;
	const unsigned char *stack; /* PERF_SAMPLE_STACK_USER: a copy of the user stack */
	uint64_t stack_size;        /* bytes reserved in the record */
	uint64_t dyn_size;          /* bytes of stack actually copied (<= stack_size) */
} ps_ksample;

typedef struct ps_kmmap {
	uint32_t pid, tid;
	uint64_t start, len, pgoff;
	uint32_t maj, min;
	uint64_t ino;
	uint32_t prot, flags;  /* MMAP (not MMAP2): PROT_EXEC unless misc says data */
	uint8_t build_id_size; /* MMAP2 with PERF_RECORD_MISC_MMAP_BUILD_ID */
	uint8_t build_id[20];
	const char *filename; /* NUL-terminated within the record */
} ps_kmmap;

typedef struct ps_kevent {
	uint32_t type; /* PERF_RECORD_* */
	uint16_t misc;
	ps_kid id; /* the sample's own fields, or the trailer's */
	union {
		ps_ksample sample;
		ps_kmmap mmap; /* MMAP and MMAP2 */
		struct {
			uint32_t pid, tid;
			const char *comm;
			int exec; /* PERF_RECORD_MISC_COMM_EXEC */
		} comm;
		struct {
			uint32_t pid, ppid, tid, ptid;
			uint64_t time;
		} task; /* FORK and EXIT */
		struct {
			uint64_t id, lost;
		} lost; /* LOST; LOST_SAMPLES sets lost only */
		struct {
			uint64_t time, id, stream_id;
		} throttle; /* THROTTLE and UNTHROTTLE */
		struct {
			uint32_t pid, tid; /* SWITCH_CPU_WIDE: the thread switched to/from */
			int out;           /* PERF_RECORD_MISC_SWITCH_OUT */
			int preempt;       /* PERF_RECORD_MISC_SWITCH_OUT_PREEMPT: still runnable */
		} sw; /* SWITCH and SWITCH_CPU_WIDE */
	};
} ps_kevent;

/* Decodes one record of size bytes (header included) written by an event with attr a.
 * rec must be 8-byte aligned. Returns 1 when decoded, 0 for a record type this does not
 * decode (skip it by its size), PS_EFORMAT when the record is shorter than its fields. */
int ps_kevent_decode(const ps_kattr *a, const void *rec, size_t size, ps_kevent *ev);

/* The event id of a record, to find its attr when a file holds several events: found by
 * PERF_SAMPLE_IDENTIFIER, else by PERF_SAMPLE_ID at the position the (shared) layout of
 * a gives it. Returns 1 and *id, or 0 when the record carries no id. */
int ps_kevent_id(const ps_kattr *a, const void *rec, size_t size, uint64_t *id);
/* A record's time (PERF_SAMPLE_TIME of a SAMPLE, or of the sample_id trailer), without
 * decoding the rest: for ordering records. Returns 1 and *time, or 0 when it has none. */
int ps_kevent_time(const ps_kattr *a, const void *rec, size_t size, uint64_t *time);

#endif
