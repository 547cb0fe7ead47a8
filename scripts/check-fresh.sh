#!/bin/sh
# make check-fresh: the README's first-time experience on a freshly made Debian root.
#
# Makes a minbase Debian root with debootstrap from this machine's own apt mirror, installs
# make and git there, clones this checkout's committed HEAD into its /root, and runs
# `make demo` and `make test` inside it (chroot, as root). Fails on any failure and on any
# skipped test: on a fresh machine every test must run.
#
# The debootstrapped base is cached as a tarball in build/check-fresh/ (rebuilt when older
# than a week); each run extracts a pristine copy into a new directory under /var/tmp and
# removes it afterwards (unmounting everything first, whatever happens).
#
# Environment: FRESH_SUITE (default bookworm), FRESH_MIRROR (default: the first Debian
# mirror for that suite in /etc/apt/sources.list{,.d}), FRESH_TIMEOUT (seconds per step,
# default 3600), FRESH_KEEP=1 keeps the root directory (unmounted) for a post-mortem.
set -eu
cd "$(dirname "$0")/.."
top=$(pwd)
suite=${FRESH_SUITE:-bookworm}
cache=$top/build/check-fresh
base=$cache/$suite-minbase.tar
log=$cache/log
steptimeout=${FRESH_TIMEOUT:-3600}
start=$(date +%s)

say() { echo "check-fresh: $*"; }
die() { echo "check-fresh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot and mounts)"
head=$(git rev-parse HEAD) || die "not a git checkout: $top"
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
	say "note: uncommitted changes are not tested; this tests the committed HEAD $head"
mkdir -p "$cache"
: >"$log"

# The first deb mirror that serves $suite in apt's own sources (one-line and deb822 forms).
find_mirror() {
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) == s) { print $i; exit }
		}' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		awk -v s="$suite" '
		function flush() {
			if (!found && (" " types " ") ~ / deb / && (" " suites " ") ~ (" " s " ") &&
			    enabled != "no" && uris != "") { split(uris, u, " "); print u[1]; found = 1 }
			types = uris = suites = enabled = ""
		}
		/^#/ { next }
		/^[ \t]*$/ { flush(); next }
		/^[A-Za-z-]+:/ {
			key = tolower($1); sub(/:$/, "", key)
			val = $0; sub(/^[^:]*:[ \t]*/, "", val)
			if (key == "types") types = val
			else if (key == "uris") uris = val
			else if (key == "suites") suites = val
			else if (key == "enabled") enabled = tolower(val)
		}
		END { flush() }' "$f"
	done
}

root=""
# Processes still running inside the root (a daemon, a stuck test): ours, killed by pid.
kill_inside() {
	for sig in TERM KILL; do
		pids=""
		for p in /proc/[0-9]*; do
			[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && pids="$pids ${p#/proc/}"
		done
		[ -z "$pids" ] && return 0
		say "killing processes left in the root:$pids ($sig)"
		# shellcheck disable=SC2086
		kill -s $sig $pids 2>/dev/null || true
		sleep 2
	done
}
# Processes this script started that still run (a step cut short by a signal): their pids,
# from /proc (procps may be missing), children before parents' exit matters not.
descendants() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v top=$$ '
		{ pid = $1; line = $0; sub(/.*\) /, "", line); split(line, f, " "); parent[pid] = f[2] }
		END {
			want[top] = 1
			do { more = 0; for (p in parent) if (!(p in want) && (parent[p] in want)) { want[p] = 1; more = 1 } } while (more)
			for (p in want) if (p != top) print p
		}'
}
kill_descendants() {
	for sig in TERM KILL; do
		pids=$(descendants)
		[ -z "$pids" ] && return 0
		# shellcheck disable=SC2086
		kill -s $sig $pids 2>/dev/null || true
		sleep 1
	done
}
mounts_inside() {
	awk -v r="$root" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
# teardown: kill what is left inside, unmount everything, remove the root; 1 when a mount
# could not be undone (the root is then left in place: removing it would reach into /dev).
teardown() {
	kill_descendants
	[ -n "$root" ] && [ -d "$root" ] || return 0
	(
		set +e
		kill_inside
		for _ in 1 2 3; do
			m=$(mounts_inside)
			[ -z "$m" ] && break
			for mp in $m; do umount "$mp" 2>/dev/null || umount -l "$mp"; done
		done
		if [ -n "$(mounts_inside)" ]; then
			say "still mounted, $root left in place:" >&2
			mounts_inside >&2
			exit 1
		elif [ "${FRESH_KEEP:-}" = 1 ]; then
			say "kept $root (FRESH_KEEP=1)"
		else
			rm -rf --one-file-system "$root"
		fi
	) || return 1
	root=""
}
cleanup() {
	rc=$?
	trap - EXIT INT TERM HUP
	teardown || { [ $rc = 0 ] && rc=1; }
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# step NAME COMMAND..: runs one step, its output on stdout and in the log; stops on failure.
# The step runs in the background so that a signal ends the wait at once (sh runs traps only
# between commands) and the cleanup stops it.
step() {
	name=$1
	shift
	t0=$(date +%s)
	say "$name" | tee -a "$log"
	{ "$@" && echo 0 >"$cache/rc" || echo $? >"$cache/rc"; } 2>&1 | tee -a "$log" &
	wait $! || true
	rc=$(cat "$cache/rc")
	say "$name: exit $rc, $(($(date +%s) - t0)) s" | tee -a "$log"
	[ "$rc" = 0 ] || die "$name failed (exit $rc; log: $log)"
}
# in_root COMMAND..: runs in the root as a root login would, with a plain environment.
node_ca=
in_root() {
	# shellcheck disable=SC2086
	timeout -k 30 "$steptimeout" chroot "$root" /usr/bin/env -i HOME=/root USER=root LOGNAME=root \
		SHELL=/bin/sh TERM="${TERM:-dumb}" PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		${node_ca:-} "$@"
}

# ---- the base: debootstrap once, a pristine copy per run ----
root=$(mktemp -d "${TMPDIR:-/var/tmp}/perfsample-fresh.XXXXXX")
root=$(realpath "$root")
chmod 755 "$root"
if [ -s "$base" ] && [ -z "$(find "$base" -mtime +7)" ]; then
	step "extract the cached minbase $suite root ($base) into $root" \
		tar --numeric-owner --xattrs --xattrs-include='*' -xpf "$base" -C "$root"
else
	if ! command -v debootstrap >/dev/null 2>&1; then
		step "apt-get install debootstrap" env DEBIAN_FRONTEND=noninteractive \
			sh -c 'apt-get -q -o DPkg::Lock::Timeout=600 update >/dev/null &&
				apt-get -q -o DPkg::Lock::Timeout=600 install -y debootstrap'
	fi
	mirror=${FRESH_MIRROR:-$(find_mirror | head -n 1)}
	[ -n "$mirror" ] || die "no deb mirror for $suite in /etc/apt/sources.list{,.d}; set FRESH_MIRROR"
	step "debootstrap --variant=minbase $suite $root $mirror" \
		debootstrap --variant=minbase "$suite" "$root" "$mirror"
	[ -z "$(mounts_inside)" ] || die "debootstrap left mounts in $root"
	# shellcheck disable=SC2016
	step "cache the base as $base" \
		sh -c 'tar --numeric-owner --xattrs --xattrs-include="*" -cf "$1.tmp" -C "$2" . && mv "$1.tmp" "$1"' \
		sh "$base" "$root"
fi

# ---- what a fresh machine has besides: a network (DNS), and no services started ----
cp --remove-destination /etc/resolv.conf "$root/etc/resolv.conf"
# The network's TLS trust anchors: where HTTPS goes through an intercepting egress proxy
# (as npm's registry does here), a machine on that network trusts the proxy's CA. The
# locally added CAs are copied (ca-certificates, once apt installs it in the root, adds them
# to the system store) and Node, which has its own list, is pointed at that store too (as
# this machine's npm is, by its cafile setting).
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
	mkdir -p "$root/usr/local/share/ca-certificates"
	cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
	node_ca=NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi
# Packages do not start daemons in a chroot (nginx would bind port 80 and outlive the run).
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
# The root is thrown away: dpkg need not fsync every file it unpacks (as Docker's Debian
# images do). The packages installed are the same; the run is minutes shorter.
echo force-unsafe-io >"$root/etc/dpkg/dpkg.cfg.d/check-fresh-unsafe-io"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --make-slave "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount --make-slave "$root/dev/pts"
mount -t tmpfs -o mode=1777,nosuid,nodev shm "$root/dev/shm"

# ---- the README: make and git, a clone under /root, make demo, make test ----
step "apt-get install make git (in the root)" in_root sh -c \
	'export DEBIAN_FRONTEND=noninteractive; apt-get -q update && apt-get -q install -y make git'
step "git clone $top /root/perfsample (HEAD $head)" \
	git clone -q --no-hardlinks "$top" "$root/root/perfsample"
# The clone checks out the branch this checkout is on; a detached HEAD is checked out too.
if [ "$(git -C "$root/root/perfsample" rev-parse HEAD)" != "$head" ]; then
	git -C "$root/root/perfsample" checkout -q "$head" 2>/dev/null ||
		die "HEAD $head is on no branch, so git clone does not get it"
fi
step "make demo (in /root/perfsample)" in_root sh -c 'cd /root/perfsample && make demo'
[ -s "$root/root/perfsample/demo.svg" ] || die "make demo wrote no demo.svg"
step "make test (in /root/perfsample)" in_root sh -c 'cd /root/perfsample && make test'

# ---- zero skips: e2e SKIP lines, and unit tests (Criterion only names skips when verbose) ----
grep -q '^e2e: [0-9]* passed, 0 failed, 0 skipped$' "$log" || die "e2e tests did not all run and pass (log: $log)"
unit_verbose() {
	in_root sh -c 'cd /root/perfsample && build/unit-tests --jobs 2 --verbose' >"$cache/unit-verbose" 2>&1
}
step "unit tests again, verbose, to see skips (output in $cache/unit-verbose)" unit_verbose
skips=$(grep -E '^SKIP |\[SKIP\]' "$log" "$cache/unit-verbose" || true)
[ -z "$skips" ] || { echo "$skips"; die "tests were skipped on a fresh root"; }

t0=$(date +%s)
teardown || die "could not unmount everything in $root"
say "removed the root in $(($(date +%s) - t0)) s"
secs=$(($(date +%s) - start))
say "passed: make demo and make test on a fresh minbase $suite root, no skips, in $((secs / 60)) min $((secs % 60)) s"
