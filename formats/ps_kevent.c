/* Decoding perf_event records: the field order is the one include/uapi/linux/perf_event.h
 * documents for each record type; every field is taken only if the record still has it. */
#include "ps_kevent.h"

#include <string.h>
#include <sys/mman.h>

#include "ps_error.h"

#ifndef PERF_SAMPLE_BRANCH_COUNTERS
#define PERF_SAMPLE_BRANCH_COUNTERS (1U << 19) /* Linux 6.8 */
#endif

void ps_kattr_from(ps_kattr *k, const struct perf_event_attr *a)
{
	*k = (ps_kattr){
		.sample_type = a->sample_type,
		.read_format = a->read_format,
		.regs_user_mask = a->sample_regs_user,
		.regs_intr_mask = a->sample_regs_intr,
		.branch_sample_type = a->branch_sample_type,
		.sample_id_all = a->sample_id_all,
		.build_id = a->build_id,
	};
}

/* A cursor over a record's bytes; a read past the end marks it bad and yields zeros. */
struct cur {
	const unsigned char *p, *end;
	int bad;
};

static int take(struct cur *c, void *dst, size_t n)
{
	if (c->bad || (size_t)(c->end - c->p) < n) {
		c->bad = 1;
		memset(dst, 0, n);
		return 0;
	}
	memcpy(dst, c->p, n);
	c->p += n;
	return 1;
}

static uint64_t u64(struct cur *c)
{
	uint64_t v;
	take(c, &v, 8);
	return v;
}

/* Skips n items of size bytes; returns where they start, or NULL when they do not fit. */
static const unsigned char *skip(struct cur *c, uint64_t n, size_t size)
{
	if (c->bad || (uint64_t)(c->end - c->p) / size < n) {
		c->bad = 1;
		return NULL;
	}
	const unsigned char *at = c->p;
	c->p += n * size;
	return at;
}

/* struct read_format, whose size read_format decides. */
static void skip_read(struct cur *c, uint64_t rf)
{
	size_t per = 1 + !!(rf & PERF_FORMAT_ID) + !!(rf & PERF_FORMAT_LOST);
	size_t times = !!(rf & PERF_FORMAT_TOTAL_TIME_ENABLED) + !!(rf & PERF_FORMAT_TOTAL_TIME_RUNNING);
	if (rf & PERF_FORMAT_GROUP) {
		uint64_t nr = u64(c);
		skip(c, times, 8);
		if (nr > (1u << 16)) /* the kernel caps a group far below this */
			c->bad = 1;
		skip(c, nr * per, 8);
	} else {
		skip(c, times + per, 8);
	}
}

/* The sample_id trailer of a non-sample record: its fields in their order, at the end. */
static int parse_trailer(const ps_kattr *a, const unsigned char *body, const unsigned char *end,
			 ps_kid *id)
{
	uint64_t t = a->sample_type;
	memset(id, 0, sizeof(*id));
	if (!a->sample_id_all)
		return 0;
	size_t need = 8 * (!!(t & PERF_SAMPLE_TID) + !!(t & PERF_SAMPLE_TIME) +
			   !!(t & PERF_SAMPLE_ID) + !!(t & PERF_SAMPLE_STREAM_ID) +
			   !!(t & PERF_SAMPLE_CPU) + !!(t & PERF_SAMPLE_IDENTIFIER));
	if ((size_t)(end - body) < need)
		return PS_EFORMAT;
	struct cur c = {end - need, end, 0};
	if (t & PERF_SAMPLE_TID) {
		take(&c, &id->pid, 4);
		take(&c, &id->tid, 4);
	}
	if (t & PERF_SAMPLE_TIME)
		id->time = u64(&c);
	if (t & PERF_SAMPLE_ID)
		id->id = u64(&c);
	if (t & PERF_SAMPLE_STREAM_ID)
		id->stream_id = u64(&c);
	if (t & PERF_SAMPLE_CPU) {
		take(&c, &id->cpu, 4);
		skip(&c, 1, 4);
	}
	if (t & PERF_SAMPLE_IDENTIFIER)
		id->id = u64(&c);
	return 0;
}

static int parse_sample(const ps_kattr *a, struct cur *c, ps_kevent *ev)
{
	uint64_t t = a->sample_type;
	ps_ksample *s = &ev->sample;
	if (t & PERF_SAMPLE_IDENTIFIER)
		ev->id.id = u64(c);
	if (t & PERF_SAMPLE_IP)
		s->ip = u64(c);
	if (t & PERF_SAMPLE_TID) {
		take(c, &ev->id.pid, 4);
		take(c, &ev->id.tid, 4);
	}
	if (t & PERF_SAMPLE_TIME)
		ev->id.time = u64(c);
	if (t & PERF_SAMPLE_ADDR)
		s->addr = u64(c);
	if (t & PERF_SAMPLE_ID)
		ev->id.id = u64(c);
	if (t & PERF_SAMPLE_STREAM_ID)
		ev->id.stream_id = u64(c);
	if (t & PERF_SAMPLE_CPU) {
		take(c, &ev->id.cpu, 4);
		skip(c, 1, 4);
	}
	if (t & PERF_SAMPLE_PERIOD)
		s->period = u64(c);
	if (t & PERF_SAMPLE_READ)
		skip_read(c, a->read_format);
	if (t & PERF_SAMPLE_CALLCHAIN) {
		s->nr = u64(c);
		s->ips = (const uint64_t *)skip(c, s->nr, 8);
	}
	if (t & PERF_SAMPLE_RAW) {
		take(c, &s->raw_size, 4);
		s->raw = skip(c, s->raw_size, 1);
		/* The u32 size and the data are padded together to 8 bytes. */
		size_t pad = (8 - (4 + (size_t)s->raw_size) % 8) % 8;
		skip(c, pad, 1);
	}
	if (t & PERF_SAMPLE_BRANCH_STACK) {
		uint64_t nr = u64(c);
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_HW_INDEX)
			skip(c, 1, 8);
		skip(c, nr, 24);
		if (a->branch_sample_type & PERF_SAMPLE_BRANCH_COUNTERS)
			skip(c, nr, 8);
	}
	if (t & PERF_SAMPLE_REGS_USER) {
		s->abi = u64(c);
		if (s->abi) {
			s->nregs = (uint32_t)__builtin_popcountll(a->regs_user_mask);
			s->regs = (const uint64_t *)skip(c, s->nregs, 8);
		}
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		s->stack_size = u64(c);
		if (s->stack_size) {
			s->stack = skip(c, s->stack_size, 1);
			s->dyn_size = u64(c);
			if (s->dyn_size > s->stack_size)
				s->dyn_size = s->stack_size;
		}
	}
	/* Later fields (weight, data_src, regs_intr, ...) carry nothing perfsample uses. */
	return c->bad ? PS_EFORMAT : 1;
}

static const char *string_at(const unsigned char *p, const unsigned char *end)
{
	if (p >= end || !memchr(p, 0, (size_t)(end - p)))
		return NULL;
	return (const char *)p;
}

/* Where a record's sample_id trailer may start: after its string, 8-byte aligned. */
static const unsigned char *after_string(const unsigned char *s)
{
	return s + ((strlen((const char *)s) + 8) & ~(size_t)7);
}

int ps_kevent_decode(const ps_kattr *a, const void *rec, size_t size, ps_kevent *ev)
{
	const struct perf_event_header *h = rec;
	memset(ev, 0, sizeof(*ev));
	if (size < sizeof(*h) || h->size != size)
		return PS_EFORMAT;
	ev->type = h->type;
	ev->misc = h->misc;
	const unsigned char *p = (const unsigned char *)(h + 1);
	const unsigned char *end = (const unsigned char *)rec + size;
	struct cur c = {p, end, 0};
	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		return parse_sample(a, &c, ev);
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2: {
		ps_kmmap *m = &ev->mmap;
		take(&c, &m->pid, 4);
		take(&c, &m->tid, 4);
		m->start = u64(&c);
		m->len = u64(&c);
		m->pgoff = u64(&c);
		if (h->type == PERF_RECORD_MMAP2) {
			if ((h->misc & PERF_RECORD_MISC_MMAP_BUILD_ID) && a->build_id) {
				uint8_t bid[24];
				take(&c, bid, 24);
				m->build_id_size = bid[0] > 20 ? 20 : bid[0];
				memcpy(m->build_id, bid + 4, 20);
			} else {
				take(&c, &m->maj, 4);
				take(&c, &m->min, 4);
				m->ino = u64(&c);
				skip(&c, 1, 8); /* ino_generation */
			}
			take(&c, &m->prot, 4);
			take(&c, &m->flags, 4);
		} else {
			m->prot = (h->misc & PERF_RECORD_MISC_MMAP_DATA) ? PROT_READ
									 : PROT_READ | PROT_EXEC;
		}
		if (c.bad || !(m->filename = string_at(c.p, end)))
			return PS_EFORMAT;
		parse_trailer(a, after_string(c.p), end, &ev->id);
		return 1;
	}
	case PERF_RECORD_COMM:
		take(&c, &ev->comm.pid, 4);
		take(&c, &ev->comm.tid, 4);
		if (c.bad || !(ev->comm.comm = string_at(c.p, end)))
			return PS_EFORMAT;
		ev->comm.exec = (h->misc & PERF_RECORD_MISC_COMM_EXEC) != 0;
		parse_trailer(a, after_string(c.p), end, &ev->id);
		return 1;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		take(&c, &ev->task.pid, 4);
		take(&c, &ev->task.ppid, 4);
		take(&c, &ev->task.tid, 4);
		take(&c, &ev->task.ptid, 4);
		ev->task.time = u64(&c);
		if (c.bad)
			return PS_EFORMAT;
		parse_trailer(a, c.p, end, &ev->id);
		return 1;
	case PERF_RECORD_LOST:
		ev->lost.id = u64(&c);
		ev->lost.lost = u64(&c);
		if (c.bad)
			return PS_EFORMAT;
		parse_trailer(a, c.p, end, &ev->id);
		return 1;
	case PERF_RECORD_LOST_SAMPLES:
		ev->lost.lost = u64(&c);
		if (c.bad)
			return PS_EFORMAT;
		parse_trailer(a, c.p, end, &ev->id);
		return 1;
	case PERF_RECORD_THROTTLE:
	case PERF_RECORD_UNTHROTTLE:
		ev->throttle.time = u64(&c);
		ev->throttle.id = u64(&c);
		ev->throttle.stream_id = u64(&c);
		if (c.bad)
			return PS_EFORMAT;
		parse_trailer(a, c.p, end, &ev->id);
		return 1;
	case PERF_RECORD_SWITCH:
	case PERF_RECORD_SWITCH_CPU_WIDE:
		if (h->type == PERF_RECORD_SWITCH_CPU_WIDE) {
			take(&c, &ev->sw.pid, 4);
			take(&c, &ev->sw.tid, 4);
			if (c.bad)
				return PS_EFORMAT;
		}
		ev->sw.out = (h->misc & PERF_RECORD_MISC_SWITCH_OUT) != 0;
		ev->sw.preempt = (h->misc & PERF_RECORD_MISC_SWITCH_OUT_PREEMPT) != 0;
		parse_trailer(a, c.p, end, &ev->id);
		return 1;
	default:
		return 0;
	}
}

/* Counts the u64 words before PERF_SAMPLE_ID in a sample (perf's "id_pos"). */
static size_t id_pos(uint64_t t)
{
	return !!(t & PERF_SAMPLE_IDENTIFIER) + !!(t & PERF_SAMPLE_IP) + !!(t & PERF_SAMPLE_TID) +
	       !!(t & PERF_SAMPLE_TIME) + !!(t & PERF_SAMPLE_ADDR);
}

/* Counts the u64 words from PERF_SAMPLE_ID to the end of a trailer (perf's "is_pos"). */
static size_t is_pos(uint64_t t)
{
	return 1 + !!(t & PERF_SAMPLE_STREAM_ID) + !!(t & PERF_SAMPLE_CPU) +
	       !!(t & PERF_SAMPLE_IDENTIFIER);
}

int ps_kevent_id(const ps_kattr *a, const void *rec, size_t size, uint64_t *id)
{
	const struct perf_event_header *h = rec;
	const unsigned char *p = (const unsigned char *)rec + sizeof(*h);
	size_t words = size < sizeof(*h) ? 0 : (size - sizeof(*h)) / 8;
	uint64_t t = a->sample_type;
	if (h->type == PERF_RECORD_SAMPLE) {
		size_t at;
		if (t & PERF_SAMPLE_IDENTIFIER)
			at = 0;
		else if (t & PERF_SAMPLE_ID)
			at = id_pos(t);
		else
			return 0;
		if (at >= words)
			return 0;
		memcpy(id, p + 8 * at, 8);
		return 1;
	}
	if (h->type >= PERF_RECORD_MAX || !a->sample_id_all)
		return 0; /* perf's own records (attrs, features, rounds) carry no id */
	size_t back;
	if (t & PERF_SAMPLE_IDENTIFIER)
		back = 1;
	else if (t & PERF_SAMPLE_ID)
		back = is_pos(t);
	else
		return 0;
	if (back > words)
		return 0;
	memcpy(id, (const unsigned char *)rec + size - 8 * back, 8);
	return 1;
}

int ps_kevent_time(const ps_kattr *a, const void *rec, size_t size, uint64_t *time)
{
	const struct perf_event_header *h = rec;
	const unsigned char *p = (const unsigned char *)rec + sizeof(*h);
	size_t words = size < sizeof(*h) ? 0 : (size - sizeof(*h)) / 8;
	uint64_t t = a->sample_type;
	if (!(t & PERF_SAMPLE_TIME))
		return 0;
	if (h->type == PERF_RECORD_SAMPLE) {
		size_t at = !!(t & PERF_SAMPLE_IDENTIFIER) + !!(t & PERF_SAMPLE_IP) +
			    !!(t & PERF_SAMPLE_TID);
		if (at >= words)
			return 0;
		memcpy(time, p + 8 * at, 8);
		return 1;
	}
	if (h->type >= PERF_RECORD_MAX || !a->sample_id_all)
		return 0;
	/* The trailer ends TIME, ID, STREAM_ID, CPU, IDENTIFIER (those present). */
	size_t back = 1 + !!(t & PERF_SAMPLE_ID) + !!(t & PERF_SAMPLE_STREAM_ID) +
		      !!(t & PERF_SAMPLE_CPU) + !!(t & PERF_SAMPLE_IDENTIFIER);
	if (back > words)
		return 0;
	memcpy(time, (const unsigned char *)rec + size - 8 * back, 8);
	return 1;
}
