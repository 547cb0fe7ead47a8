#!/bin/sh
# Installs what `make bench` runs besides the build's own packages, when missing:
# perf (linux-perf), python3 (the driver), perl (FlameGraph's scripts), time, and the heap
# profile's peers heaptrack and valgrind (massif).
set -e
missing=""
command -v perf >/dev/null 2>&1 || missing="$missing linux-perf"
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
command -v perl >/dev/null 2>&1 || missing="$missing perl"
[ -x /usr/bin/time ] || missing="$missing time"
command -v heaptrack >/dev/null 2>&1 || missing="$missing heaptrack"   # heap rows
command -v valgrind >/dev/null 2>&1 || missing="$missing valgrind"     # massif
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "bench: missing:$missing; run as root or: apt-get install$missing" >&2
	exit 1
fi
echo "bench: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null || apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing >/dev/null
