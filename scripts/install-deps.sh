#!/bin/sh
# Installs the Debian packages perfsample builds and tests with, when they are missing.
# Called by the Makefile before the first build (build) and by make test / check-asan
# (test); safe to run again (it checks first and installs only what is missing).
# Usage: scripts/install-deps.sh [build|test|bench]
#
# A fresh machine must run every test: every tool an e2e test drives is listed here, so a
# test skips only for a missing kernel permission, never for a missing program.
set -e
want=${1:-build}

# pkg-config name -> Debian package
pcs="zlib:zlib1g-dev libelf:libelf-dev libdw:libdw-dev libunwind:libunwind-dev libzstd:libzstd-dev criterion:libcriterion-dev libmicrohttpd:libmicrohttpd-dev gnutls:libgnutls28-dev libcurl:libcurl4-gnutls-dev"
missing=""
# need COMMAND PACKAGE: PACKAGE is missing when COMMAND is not found (also in /usr/sbin,
# which is not on every root PATH).
need() {
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || missing="$missing $2"
}
need pkg-config pkg-config
need cc gcc
need make make
# The build compiles examples/shapes.cc (the C++ naming workload).
need g++ g++
for pair in $pcs; do
	pc=${pair%%:*}
	deb=${pair#*:}
	if ! command -v pkg-config >/dev/null 2>&1 || ! pkg-config --exists "$pc"; then
		missing="$missing $deb"
	fi
done
# liblzma (MiniDebugInfo) ships with libelf's dependencies but its headers may not.
[ -f /usr/include/lzma.h ] || missing="$missing liblzma-dev"
# libiberty (the demangler; a static library without a .pc file).
[ -f /usr/include/libiberty/demangle.h ] || missing="$missing libiberty-dev"
what="the build"

if [ "$want" = test ] || [ "$want" = bench ]; then
	what="the build and the tests"
	# Real consumers of what perfsample writes, and the tools the tests drive.
	need xmllint libxml2-utils           # SVG well-formedness
	need dot graphviz                    # callgraph DOT
	need perf linux-perf                 # perf.data input, perf's own DWARF stacks
	need python3 python3                 # export checks, a Python workload
	need objcopy binutils                # debug files (t_sym_debug)
	need xz xz-utils                     # MiniDebugInfo (t_sym_debug)
	need go golang-go                    # go tool pprof reads the pprof export
	need callgrind_annotate valgrind     # reads the callgrind export; massif (t_heap_peers)
	need heaptrack heaptrack             # the heap profile's peer (t_heap_peers, bench)
	need setpriv util-linux              # unprivileged and setuid runs
	need pgrep procps                    # t_faults_kill9
	need node nodejs                     # JIT frames (t_sym_node)
	need chromium chromium               # a headless browser runs the flame graph's script
	need chromedriver chromium-driver    # WebDriver: t_viewers_speedscope drives the speedscope app
	need npm npm                         # installs the speedscope app (see npm_deps below)
	need update-ca-certificates ca-certificates   # npm reaches its registry over HTTPS
	need Xvfb xvfb                       # an X server for kcachegrind (t_viewers_kcachegrind)
	need kcachegrind kcachegrind         # reads the callgrind export
	need dbus-run-session "dbus-daemon dbus-session-bus-common" # a session bus for kcachegrind (KDE)
	need import imagemagick              # screenshots of the X screen
	# AT-SPI: t_viewers_kcachegrind reads what kcachegrind shows through Qt's accessibility
	[ -x /usr/libexec/at-spi-bus-launcher ] || missing="$missing at-spi2-core"
	dpkg -s python3-pyatspi >/dev/null 2>&1 || missing="$missing python3-pyatspi"
	need nginx nginx-light               # a web server under load (t_server_nginx)
	need wrk wrk                         # the load generator (t_server_*)
	need groff groff-base                # renders the man page (t_man)
	need promtool prometheus             # the agent's /metrics: promtool and a real Prometheus (t_agent_prometheus)
	need curl curl                       # HTTP client of the agent tests
	need openssl openssl                 # certificates for t_agent_tls
	need script bsdutils                 # a terminal for the status line (t_record_habits)
	need mpstat sysstat                  # use and stat agree with mpstat/iostat/pidstat (t_sysview)
	need strace strace                   # which files a command opens (t_perfdata)
	# glibc's .symtab (versioned aliases such as __libc_start_main@@GLIBC_2.34): t_sym_plt
	dpkg -s libc6-dbg >/dev/null 2>&1 || missing="$missing libc6-dbg"
	# make check-asan and make fuzz: clang with its sanitizer and libFuzzer runtimes
	need clang clang
	dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || missing="$missing libclang-rt-14-dev"
fi
if [ "$want" = bench ]; then
	[ -x /usr/bin/time ] || missing="$missing time"
fi

# npm packages the tests load (the speedscope web app): installed by `npm ci` from the
# pinned package.json and package-lock.json in tests/e2e/npm/ into build/npm/, never
# globally, so every machine gets the same files and a version bump is a reviewed change of
# the lock file. Runs again only when the lock file changed.
npm_deps() {
	[ "$want" = test ] || [ "$want" = bench ] || return 0
	top=$(cd "$(dirname "$0")/.." && pwd)
	dir=$top/build/npm
	if cmp -s "$top/tests/e2e/npm/package-lock.json" "$dir/package-lock.json" &&
		[ -f "$dir/node_modules/speedscope/dist/release/index.html" ]; then
		return 0
	fi
	echo "install-deps: npm ci in $dir (speedscope, pinned by tests/e2e/npm/package-lock.json)" >&2
	mkdir -p "$dir"
	cp "$top/tests/e2e/npm/package.json" "$top/tests/e2e/npm/package-lock.json" "$dir/"
	# --ignore-scripts: nothing of these packages runs at install time.
	(cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) >&2
}

if [ -z "$missing" ]; then
	npm_deps
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing; run as root or: apt-get install$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt (a peer's make test, unattended-upgrades) may hold the lock: wait for it.
apt="apt-get -q -o DPkg::Lock::Timeout=600"
echo "install-deps: packages for $what are missing:$missing" >&2
echo "install-deps: apt-get update" >&2
tries=0
until $apt update >/dev/null; do
	tries=$((tries + 1))
	[ $tries -lt 5 ] || { $apt update; exit 1; }
	echo "install-deps: apt-get update failed; again in 10 s" >&2
	sleep 10
done
echo "install-deps: apt-get install$missing (apt's progress follows)" >&2
# shellcheck disable=SC2086
$apt install -y --no-install-recommends $missing
echo "install-deps: installed$missing" >&2
npm_deps
