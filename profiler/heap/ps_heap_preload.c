/* ps_heap_preload: libperfsample-heap.so, loaded into a target by `record --heap`
 * (LD_PRELOAD). It samples allocations by bytes, as tcmalloc and jemalloc do: the gaps
 * between sampled bytes are exponentially distributed with mean $PERFSAMPLE_HEAP_RATE, so a
 * block of size s is sampled with probability 1 - exp(-s/rate), and each sample is
 * weighted by size / that probability, which makes sums of weights unbiased for blocks of
 * every size. It remembers the sampled blocks (and only those) so their frees are
 * reported, captures the allocating thread's stack with libunwind (or frame pointers,
 * $PERFSAMPLE_HEAP_UNWIND=fp), and sends one message per event to the recorder over the
 * socket $PERFSAMPLE_HEAP_FD (profiler/heap/ps_heap_wire.h). It never writes the trace.
 *
 * Safe inside any target: allocations made while resolving the real allocator (dlsym
 * allocates) come from a bootstrap arena; a per-thread guard keeps allocations made by the
 * unwinder or the sampling path itself from being sampled; a failed send (the recorder is
 * gone) turns sampling off, never a signal; the target's output and exit status are not
 * touched. A forked child keeps sampling into the same socket (its own blocks; the parent's
 * sampled blocks are forgotten in it); exec loads the library again from the environment. */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <link.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "profiler/heap/ps_heap_wire.h"

#define EXPORT __attribute__((visibility("default")))
#define TLS __thread __attribute__((tls_model("initial-exec")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static void *(*real_malloc)(size_t);
static void (*real_free)(void *);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void *(*real_reallocarray)(void *, size_t, size_t);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

enum { ST_NONE, ST_INIT, ST_READY };
static volatile int state;
static int sock = -1;	      /* the recorder's socket; -1: pass everything through */
static volatile int sampling; /* 0 after a failed send */
static double rate = 524288.0;
static int use_fp;
static uintptr_t self_lo, self_hi; /* this library's code: frames to leave out */

/* ---- the bootstrap arena: what dlsym allocates before the real malloc is known ---- */
static _Alignas(64) unsigned char boot[256 * 1024];
static size_t boot_used;

static int is_boot(const void *p)
{
	return (const unsigned char *)p >= boot && (const unsigned char *)p < boot + sizeof(boot);
}

static void *boot_alloc(size_t n, size_t align)
{
	if (align < 16)
		align = 16;
	size_t at = (__atomic_load_n(&boot_used, __ATOMIC_RELAXED) + align - 1) & ~(align - 1);
	if (n > sizeof(boot) || at > sizeof(boot) - n)
		return NULL;
	/* Only the initializing thread gets here (others wait in init): no race. */
	boot_used = at + n;
	return boot + at;
}

/* ---- per thread ---- */
static TLS int64_t tls_left; /* bytes to the next sample point */
static TLS uint64_t tls_rng;
static TLS int tls_busy; /* in the sampling path: do not sample again */

static uint64_t rng_next(void)
{
	/* xorshift64*: the gaps need to look random, not to be secure. */
	uint64_t x = tls_rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	tls_rng = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static int64_t next_gap(void)
{
	double u = ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
	double g = -log(u) * rate;
	if (g < 1)
		g = 1;
	if (g > 1e15)
		g = 1e15;
	return (int64_t)g;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the sampled blocks ----
 * free() must know cheaply whether a block was sampled. A counting filter (one byte per
 * hash bucket) answers "no" with one load for almost every free; "maybe" takes the lock and
 * looks in an open-addressed table. Both live in mmap'd memory (no malloc). */
#define FILTER_BITS 20
#define TABLE_BITS 20
#define TABLE_CAP (1u << TABLE_BITS)
#define TOMB ((uintptr_t)1)
static uint8_t *filter;		      /* 2^FILTER_BITS counters, 255 = saturated */
static uintptr_t *table;	      /* 0 empty, TOMB deleted, else a sampled block's address */
static uintptr_t *table2;	      /* scratch for rebuilding */
static size_t table_live, table_used; /* live entries; live + tombstones */
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t untracked; /* sampled blocks the full table could not hold */

static uint64_t hash_addr(uintptr_t a)
{
	uint64_t h = (uint64_t)a * 0x9E3779B97F4A7C15ull;
	return h ^ (h >> 29);
}

static void table_put(uintptr_t *t, uintptr_t a)
{
	for (size_t i = hash_addr(a) & (TABLE_CAP - 1);; i = (i + 1) & (TABLE_CAP - 1))
		if (t[i] <= TOMB) {
			t[i] = a;
			return;
		}
}

/* Under table_lock: drops the tombstones when they crowd the table. */
static void table_rebuild(void)
{
	memset(table2, 0, TABLE_CAP * sizeof(*table2));
	for (size_t i = 0; i < TABLE_CAP; i++)
		if (table[i] > TOMB)
			table_put(table2, table[i]);
	uintptr_t *t = table;
	table = table2;
	table2 = t;
	table_used = table_live;
}

static void track(uintptr_t a)
{
	pthread_mutex_lock(&table_lock);
	if (table_used >= TABLE_CAP / 4 * 3)
		table_rebuild();
	if (table_live >= TABLE_CAP / 2) {
		untracked++;
	} else {
		table_put(table, a);
		table_live++;
		table_used++;
		uint8_t *f = &filter[hash_addr(a) >> (64 - FILTER_BITS)];
		if (*f < 255)
			__atomic_store_n(f, (uint8_t)(*f + 1), __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&table_lock);
}

/* 1 when a was a sampled block (now forgotten). */
/* Under table_lock: slot i (the block whose filter count is *f) is no longer tracked. */
static void forget_slot(size_t i, uint8_t *f)
{
	table[i] = TOMB;
	table_live--;
	if (*f < 255)
		__atomic_store_n(f, (uint8_t)(*f - 1), __ATOMIC_RELEASE);
}

static int untrack(uintptr_t a)
{
	uint8_t *f = &filter[hash_addr(a) >> (64 - FILTER_BITS)];
	/* The block was tracked before it was handed out, so the thread freeing it sees its
	 * count (the handing-out itself synchronizes). */
	if (LIKELY(__atomic_load_n(f, __ATOMIC_ACQUIRE) == 0))
		return 0;
	int found = 0;
	pthread_mutex_lock(&table_lock);
	for (size_t i = hash_addr(a) & (TABLE_CAP - 1); table[i]; i = (i + 1) & (TABLE_CAP - 1))
		if (table[i] == a) {
			forget_slot(i, f);
			found = 1;
			break;
		}
	pthread_mutex_unlock(&table_lock);
	return found;
}

static void atfork_prepare(void) { pthread_mutex_lock(&table_lock); }
static void atfork_parent(void) { pthread_mutex_unlock(&table_lock); }
static void atfork_child(void)
{
	/* The parent's sampled blocks are the parent's to report: the child forgets them. */
	if (table_live || table_used) {
		memset(filter, 0, (size_t)1 << FILTER_BITS);
		memset(table, 0, TABLE_CAP * sizeof(*table));
		table_live = table_used = 0;
	}
	pthread_mutex_unlock(&table_lock);
}

/* ---- sending ---- */
static void send_msg(struct ps_heap_wire *m)
{
	size_t len = PS_HEAP_WIRE_HEAD + (size_t)m->nr * sizeof(m->ips[0]);
	for (;;) {
		ssize_t n = send(sock, m, len, MSG_NOSIGNAL);
		if (n == (ssize_t)len)
			return;
		if (n < 0 && errno == EINTR)
			continue;
		sampling = 0; /* the recorder is gone: the target runs on, unprofiled */
		return;
	}
}

static int in_self(uintptr_t ip) { return ip >= self_lo && ip < self_hi; }

/* Return addresses of the allocating thread, the allocation's caller first. */
static __attribute__((noinline)) unsigned capture(uint64_t *ips, unsigned max)
{
	void *buf[PS_HEAP_WIRE_MAX_STACK + 8];
	int n = 0;
	if (use_fp) {
		/* Frame pointers: bounded by the stack the walk started on (8 MiB up), and
		 * only upwards, so a frame without one ends the walk instead of faulting. */
		uintptr_t fp = (uintptr_t)__builtin_frame_address(0), lo = fp, hi = fp + (8u << 20);
		while (n < (int)(sizeof(buf) / sizeof(buf[0])) && fp >= lo && fp < hi - 16 &&
		       !(fp & 7)) {
			uintptr_t next = ((uintptr_t *)fp)[0], ret = ((uintptr_t *)fp)[1];
			if (!ret)
				break;
			buf[n++] = (void *)ret;
			if (next <= fp)
				break;
			fp = next;
		}
	} else {
		n = unw_backtrace(buf, (int)(sizeof(buf) / sizeof(buf[0])));
	}
	int i = 0;
	while (i < n && in_self((uintptr_t)buf[i]))
		i++;
	unsigned k = 0;
	for (; i < n && k < max; i++)
		ips[k++] = (uint64_t)(uintptr_t)buf[i];
	return k;
}

static __attribute__((noinline)) void sample_slow(void *p, size_t n)
{
	if (tls_rng == 0) {
		/* A thread's first allocation: seed its generator, place its first point. */
		tls_rng = (now_ns() ^ ((uint64_t)syscall(SYS_gettid) << 32)) | 1;
		tls_left += next_gap();
		if (tls_left > 0)
			return;
	}
	tls_left = next_gap();
	if (tls_busy || !sampling)
		return;
	tls_busy = 1;
	double prob = -expm1(-(double)n / rate);
	struct ps_heap_wire m;
	m.magic = PS_HEAP_WIRE_MAGIC;
	m.type = PS_HEAP_WIRE_ALLOC;
	m.time = now_ns();
	m.pid = (uint32_t)getpid();
	m.tid = (uint32_t)syscall(SYS_gettid);
	m.addr = (uint64_t)(uintptr_t)p;
	m.size = n;
	m.weight = prob > 0 ? (uint64_t)llround((double)n / prob) : (uint64_t)rate;
	if (m.weight < n)
		m.weight = n;
	m.nr = (uint16_t)capture(m.ips, PS_HEAP_WIRE_MAX_STACK);
	/* Tracked before it is handed out, so any free of it finds it. */
	track((uintptr_t)p);
	send_msg(&m);
	tls_busy = 0;
}

static inline void account(void *p, size_t n)
{
	if (LIKELY(!p))
		return;
	if (LIKELY((tls_left -= (int64_t)n) > 0))
		return;
	if (sampling)
		sample_slow(p, n);
}

/* The FREE message of a sampled block. */
static void send_free(uintptr_t a)
{
	struct ps_heap_wire m;
	m.magic = PS_HEAP_WIRE_MAGIC;
	m.type = PS_HEAP_WIRE_FREE;
	m.nr = 0;
	m.time = now_ns();
	m.pid = (uint32_t)getpid();
	m.tid = (uint32_t)syscall(SYS_gettid);
	m.addr = (uint64_t)a;
	m.size = m.weight = 0;
	send_msg(&m);
}

static void report_free(void *p)
{
	if (!sampling || !untrack((uintptr_t)p))
		return;
	/* Sent before the block goes back to the allocator: an allocation reusing the
	 * address is sampled (and sent) only after this free. */
	send_free((uintptr_t)p);
}

/* realloc of a sampled block: its FREE is sent only when realloc succeeded (a failed
 * realloc leaves the block live), and before any other thread can sample a block at the
 * address it gave back: the table lock, which every sample takes before it is sent, is held
 * from the lookup to the send. 1 when old was sampled (*out: realloc's result), else 0. */
static int realloc_sampled(void *old, size_t n, void **out)
{
	uintptr_t a = (uintptr_t)old;
	uint8_t *f = &filter[hash_addr(a) >> (64 - FILTER_BITS)];
	if (LIKELY(__atomic_load_n(f, __ATOMIC_ACQUIRE) == 0))
		return 0;
	pthread_mutex_lock(&table_lock);
	size_t i = hash_addr(a) & (TABLE_CAP - 1);
	for (; table[i] && table[i] != a; i = (i + 1) & (TABLE_CAP - 1))
		;
	if (table[i] != a) {
		pthread_mutex_unlock(&table_lock);
		return 0;
	}
	/* Nothing below may sample (it would take the lock again). */
	int busy = tls_busy;
	tls_busy = 1;
	void *p = real_realloc(old, n);
	if (p || !n) {
		forget_slot(i, f);
		send_free(a);
	}
	pthread_mutex_unlock(&table_lock);
	tls_busy = busy;
	/* The new block is sampled (or not) as any allocation, now that the lock is free. */
	if (p)
		account(p, n);
	*out = p;
	return 1;
}

/* ---- set-up ---- */
static int find_self(struct dl_phdr_info *info, size_t size, void *ctx)
{
	(void)size;
	uintptr_t base = (uintptr_t)ctx;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			self_lo = base + ph->p_vaddr;
			self_hi = self_lo + ph->p_memsz;
		}
	}
	return 1;
}

static void *map_zero(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

static void init(void)
{
	static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
	static pthread_t init_thread;
	static volatile int init_owner;
	if (init_owner && pthread_equal(init_thread, pthread_self()))
		return; /* dlsym allocating from inside init: the bootstrap arena serves it */
	pthread_mutex_lock(&init_lock);
	if (state == ST_READY) {
		pthread_mutex_unlock(&init_lock);
		return;
	}
	init_thread = pthread_self();
	init_owner = 1;
	state = ST_INIT;
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_reallocarray = dlsym(RTLD_NEXT, "reallocarray");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_valloc = dlsym(RTLD_NEXT, "valloc");
	real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");

	const char *fd = getenv(PS_HEAP_ENV_FD);
	const char *r = getenv(PS_HEAP_ENV_RATE);
	const char *uw = getenv(PS_HEAP_ENV_UNWIND);
	int s = -1;
	if (fd && *fd) {
		char *end;
		long v = strtol(fd, &end, 10);
		int type = 0;
		socklen_t tl = sizeof(type);
		struct stat sb;
		/* Only the recorder's socket: the target may have reused the number. */
		if (!*end && v >= 0 && v < 65536 && fstat((int)v, &sb) == 0 &&
		    S_ISSOCK(sb.st_mode) &&
		    getsockopt((int)v, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
		    type == SOCK_SEQPACKET)
			s = (int)v;
	}
	if (r && *r) {
		double v = strtod(r, NULL);
		if (v >= 1 && v <= 1e12)
			rate = v;
	}
	use_fp = uw && !strcmp(uw, "fp");
	if (s >= 0) {
		filter = map_zero((size_t)1 << FILTER_BITS);
		table = map_zero(TABLE_CAP * sizeof(*table));
		table2 = map_zero(TABLE_CAP * sizeof(*table2));
		if (!filter || !table || !table2)
			s = -1;
	}
	Dl_info di;
	if (dladdr((void *)init, &di) && di.dli_fbase)
		dl_iterate_phdr(find_self, di.dli_fbase);
	sock = s;
	if (real_malloc && real_free && real_calloc && real_realloc) {
		state = ST_READY;
		init_owner = 0;
		pthread_mutex_unlock(&init_lock);
		if (s >= 0) {
			tls_busy = 1; /* pthread_atfork may allocate */
			pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
			tls_busy = 0;
			sampling = 1;
		}
		return;
	}
	init_owner = 0;
	pthread_mutex_unlock(&init_lock);
}

#define ENSURE_READY(fallback)                                                                     \
	do {                                                                                       \
		if (UNLIKELY(state != ST_READY)) {                                                 \
			init();                                                                    \
			if (state != ST_READY)                                                     \
				return fallback;                                                   \
		}                                                                                  \
	} while (0)

/* ---- the interface ---- */
EXPORT void *malloc(size_t n)
{
	ENSURE_READY(boot_alloc(n, 16));
	void *p = real_malloc(n);
	account(p, n);
	return p;
}

EXPORT void free(void *p)
{
	if (!p || is_boot(p))
		return;
	if (UNLIKELY(state != ST_READY))
		init();
	if (UNLIKELY(!real_free))
		return;
	report_free(p);
	real_free(p);
}

EXPORT void *calloc(size_t k, size_t n)
{
	if (UNLIKELY(state != ST_READY)) {
		init();
		if (state != ST_READY) {
			if (n && k > (size_t)-1 / n)
				return NULL;
			return boot_alloc(k * n, 16); /* static memory is zeroed */
		}
	}
	void *p = real_calloc(k, n);
	account(p, k * n);
	return p;
}

EXPORT void *realloc(void *old, size_t n)
{
	if (UNLIKELY(is_boot(old))) {
		/* A bootstrap block moves to the real heap; its size is not known, but it
		 * cannot extend past the arena. */
		void *p = malloc(n);
		if (p) {
			size_t avail = (size_t)(boot + sizeof(boot) - (unsigned char *)old);
			memcpy(p, old, n < avail ? n : avail);
		}
		return p;
	}
	ENSURE_READY(old ? NULL : boot_alloc(n, 16));
	if (old && sampling && realloc_sampled(old, n, &old))
		return old; /* a sampled block: moved (or not) under the table lock */
	void *p = real_realloc(old, n);
	account(p, n);
	return p;
}

EXPORT void *reallocarray(void *old, size_t k, size_t n)
{
	if (n && k > (size_t)-1 / n) {
		errno = ENOMEM;
		return NULL;
	}
	return realloc(old, k * n);
}

EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
	ENSURE_READY((*out = boot_alloc(n, align)) ? 0 : ENOMEM);
	int rc = real_posix_memalign(out, align, n);
	if (!rc)
		account(*out, n);
	return rc;
}

EXPORT void *aligned_alloc(size_t align, size_t n)
{
	ENSURE_READY(boot_alloc(n, align));
	void *p = real_aligned_alloc(align, n);
	account(p, n);
	return p;
}

EXPORT void *memalign(size_t align, size_t n)
{
	ENSURE_READY(boot_alloc(n, align));
	void *p = real_memalign(align, n);
	account(p, n);
	return p;
}

EXPORT void *valloc(size_t n)
{
	ENSURE_READY(boot_alloc(n, 4096));
	void *p = real_valloc(n);
	account(p, n);
	return p;
}

EXPORT void *pvalloc(size_t n)
{
	ENSURE_READY(boot_alloc(n, 4096));
	void *p = real_pvalloc(n);
	account(p, n);
	return p;
}
