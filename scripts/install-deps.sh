#!/bin/sh
# Installs the Debian packages perfsample builds and tests with, when they are missing.
# Called by the Makefile before the first build; safe to run again (it checks first).
# Usage: scripts/install-deps.sh [build|test|bench]
set -e
want=${1:-build}

# pkg-config name -> Debian package (libunwind-dev is installed, not linked: nothing uses it yet)
pcs="zlib:zlib1g-dev libelf:libelf-dev libdw:libdw-dev libunwind:libunwind-dev libzstd:libzstd-dev criterion:libcriterion-dev"
missing=""
command -v pkg-config >/dev/null 2>&1 || missing="$missing pkg-config"
command -v cc >/dev/null 2>&1 || missing="$missing gcc"
command -v make >/dev/null 2>&1 || missing="$missing make"
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

if [ "$want" = test ] || [ "$want" = bench ]; then
	# Real consumers of what perfsample writes, and the tools the tests drive.
	command -v xmllint >/dev/null 2>&1 || missing="$missing libxml2-utils"
	command -v dot >/dev/null 2>&1 || missing="$missing graphviz"
	command -v perf >/dev/null 2>&1 || missing="$missing linux-perf"
	command -v python3 >/dev/null 2>&1 || missing="$missing python3"
	command -v g++ >/dev/null 2>&1 || missing="$missing g++"
	command -v objcopy >/dev/null 2>&1 || missing="$missing binutils"
	command -v go >/dev/null 2>&1 || missing="$missing golang-go"
	command -v callgrind_annotate >/dev/null 2>&1 || missing="$missing valgrind"
	command -v setpriv >/dev/null 2>&1 || missing="$missing util-linux"
	# glibc's .symtab (versioned aliases such as __libc_start_main@@GLIBC_2.34): t_sym_plt
	dpkg -s libc6-dbg >/dev/null 2>&1 || missing="$missing libc6-dbg"
	# make check-asan and make fuzz: clang with its sanitizer and libFuzzer runtimes
	command -v clang >/dev/null 2>&1 || missing="$missing clang"
	dpkg -s libclang-rt-14-dev >/dev/null 2>&1 || missing="$missing libclang-rt-14-dev"
fi
if [ "$want" = bench ]; then
	[ -x /usr/bin/time ] || missing="$missing time"
fi

[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing:$missing; run as root or: apt-get install$missing" >&2
	exit 1
fi
echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
