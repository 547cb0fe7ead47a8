/* cmd/record_heap: record --heap's set-up (see record_heap.h). */
#include "cmd/record_heap.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/util.h"
#include "profiler/heap/ps_heap_wire.h"

/* The library: $PERFSAMPLE_HEAP_LIB, else next to the binary (a build tree), else in
 * the install directory beside it (PREFIX/bin/perfsample, PREFIX/lib/perfsample/). */
static void find_lib(char *out, size_t len)
{
	const char *env = getenv("PERFSAMPLE_HEAP_LIB");
	if (env && *env) {
		if (access(env, R_OK) < 0)
			die("cannot use PERFSAMPLE_HEAP_LIB '%s': %s", env, strerror(errno));
		if (!realpath(env, out))
			die("cannot use PERFSAMPLE_HEAP_LIB '%s': %s", env, strerror(errno));
		return;
	}
	char exe[PATH_MAX - 64]; /* room for the library's name after it */
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		die("cannot find %s: /proc/self/exe: %s", PS_HEAP_LIB, strerror(errno));
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	*slash = '\0';
	snprintf(out, len, "%s/%s", exe, PS_HEAP_LIB);
	if (access(out, R_OK) == 0)
		return;
	snprintf(out, len, "%s/../lib/perfsample/%s", exe, PS_HEAP_LIB);
	if (access(out, R_OK) == 0)
		return;
	die("cannot find %s next to the perfsample binary (%s) or in %s/../lib/perfsample "
	    "(make builds it, make install installs it; PERFSAMPLE_HEAP_LIB names another)",
	    PS_HEAP_LIB, exe, exe);
}

/* The command's file as execvp would find it. */
static int find_command(const char *cmd, char *out, size_t len)
{
	if (strchr(cmd, '/')) {
		snprintf(out, len, "%s", cmd);
		return access(out, X_OK) == 0;
	}
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/local/bin:/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, len, "%.*s/%s", (int)n, n ? path : ".", cmd);
		if (access(out, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

/* LD_PRELOAD cannot work in a static binary (no dynamic loader) nor a setuid one (the
 * loader ignores it there). Scripts (#!) are left to their interpreter. */
static void check_command(const char *cmd)
{
	char path[PATH_MAX];
	if (!find_command(cmd, path, sizeof(path)))
		return; /* exec reports it */
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (st.st_mode & (S_ISUID | S_ISGID)) {
		close(fd);
		die("cannot profile the heap of '%s': it is setuid or setgid, and the dynamic "
		    "loader ignores LD_PRELOAD there",
		    cmd);
	}
	Elf64_Ehdr eh;
	if (pread(fd, &eh, sizeof(eh), 0) != (ssize_t)sizeof(eh) ||
	    memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 4096) {
		close(fd);
		return;
	}
	int dynamic = 0;
	for (unsigned i = 0; i < eh.e_phnum && !dynamic; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) !=
		    (ssize_t)sizeof(ph))
			break;
		dynamic = ph.p_type == PT_INTERP;
	}
	close(fd);
	if (!dynamic)
		die("cannot profile the heap of '%s': it is statically linked, and LD_PRELOAD "
		    "needs the dynamic loader",
		    cmd);
}

int heap_setup(char *const *argv, uint64_t rate, int *child_end)
{
	if (!argv || !argv[0])
		die_usage("--heap profiles a command it starts: record --heap -- COMMAND");
	check_command(argv[0]);
	char lib[PATH_MAX];
	find_lib(lib, sizeof(lib));
	if (strchr(lib, ' ') || strchr(lib, ':'))
		die("cannot preload '%s': LD_PRELOAD cannot name a path with spaces or colons",
		    lib);
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
		die("cannot create the heap socket: %s", strerror(errno));
	/* The command's end stays open across exec (the library follows into new images);
	 * ours does not. A large send buffer lets bursts through without blocking the target. */
	fcntl(sv[0], F_SETFD, FD_CLOEXEC);
	int big = 4 << 20;
	if (setsockopt(sv[1], SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big)) < 0)
		setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	char buf[PATH_MAX + 4096];
	const char *old = getenv("LD_PRELOAD");
	if (old && *old)
		snprintf(buf, sizeof(buf), "%s:%s", lib, old);
	else
		snprintf(buf, sizeof(buf), "%s", lib);
	char fd[16], r[32];
	snprintf(fd, sizeof(fd), "%d", sv[1]);
	snprintf(r, sizeof(r), "%llu", (unsigned long long)rate);
	if (setenv("LD_PRELOAD", buf, 1) || setenv(PS_HEAP_ENV_FD, fd, 1) ||
	    setenv(PS_HEAP_ENV_RATE, r, 1))
		die("out of memory");
	*child_end = sv[1];
	return sv[0];
}
