"""Blocked time per stack from `perf script` of `perf record -e sched:sched_switch -g -a`,
the way the perf-based off-CPU scripts compute it: a thread's interval starts at a
sched_switch whose prev_pid is the thread (its stack is that event's callchain) and ends
at the next sched_switch whose next_pid is it. Prints folded stacks (microseconds) of
one thread, root first, as perfsample fold prints them.

usage: offcpu_perf.py TID [voluntary] < perf-script-output"""
import re
import sys

tid = int(sys.argv[1])
voluntary = len(sys.argv) > 2 and sys.argv[2] == "voluntary"
head = re.compile(r"^\s*\S.*?\s(\d+\.\d+): sched:sched_switch: .*prev_pid=(\d+) .*prev_state=(\S+) "
                  r"==> .*next_pid=(\d+)")
events = []  # (time, prev, state, next, frames leaf first)
cur = None
for line in sys.stdin:
    m = head.match(line)
    if m:
        cur = (float(m.group(1)), int(m.group(2)), m.group(3), int(m.group(4)), [])
        events.append(cur)
    elif cur is not None and line.startswith("\t"):
        parts = line.split()
        if len(parts) >= 2:
            cur[4].append(parts[1])
    elif not line.strip():
        cur = None
events.sort(key=lambda e: e[0])
out = {}
start = None
for t, prev, state, nxt, frames in events:
    if prev == tid:
        start = (t, frames, state)
    elif nxt == tid and start is not None:
        t0, frames0, st = start
        start = None
        if voluntary and st.startswith("R"):
            continue  # preempted: runnable, waiting for a CPU
        # Root first; perf's walk stops at garbage ([unknown]) and __schedule is the
        # tracepoint's own frame (perfsample's switch sample starts at schedule).
        fr = [f for f in frames0 if f != "[unknown]" and f != "__schedule"]
        key = ";".join(reversed(fr))
        out[key] = out.get(key, 0) + (t - t0) * 1e6
for k in sorted(out):
    print("%s %d" % (k, round(out[k])))
