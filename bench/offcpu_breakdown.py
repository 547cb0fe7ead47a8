#!/usr/bin/env python3
"""Where the cost of `record --off-cpu -g` goes, per context switch of examples/pingpong:
each layer of the setup alone (bench/swcost: switch records, the context-switches event,
its call chain, the user stack copy; the rings drained without reading the records), then
perfsample itself and perf's sched:sched_switch -g, interleaved in rotating order, medians
over the rounds. Per switch = (per round under the mode - per round alone) / 2: wall time,
and CPU time of the workload plus the recorder (the recorder alone in its own column).

usage: python3 bench/offcpu_breakdown.py [--rounds N] [--secs S] [--ps-args '...']"""
import argparse
import os
import re
import shlex
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, "build")
SWCOST = os.path.join(BUILD, "swcost")
RUSAGE = os.path.join(BUILD, "rusage")
PINGPONG = os.path.join(ROOT, "examples", "pingpong")
WORK = os.path.join(BUILD, "bench")


def run(mode, argv, wfile):
    """Returns rounds, wall, workload CPU, recorder CPU of one run."""
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if os.waitstatus_to_exitcode(status):
        raise RuntimeError("%s failed" % mode)
    rounds = int(re.search(r"(\d+) rounds", out).group(1))
    total = ru.ru_utime + ru.ru_stime
    if mode.startswith("swcost"):
        m = re.search(r"wall (\S+) target_cpu (\S+) self_cpu (\S+)", out)
        return rounds, float(m.group(1)), float(m.group(2)), float(m.group(3))
    with open(wfile) as f:
        w = [float(x) for x in f.read().split()]
    wcpu, wrap = w[1] + w[2], w[5] + w[6]
    return rounds, w[0], wcpu, total - wcpu - wrap


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--secs", type=float, default=2)
    ap.add_argument("--ps-args", default="")
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    wfile = os.path.join(WORK, "breakdown.rusage")
    pp = [PINGPONG, str(args.secs)]
    ps = os.path.join(ROOT, "perfsample")
    modes = [
        ("(a) alone", [SWCOST, "none", "--"] + pp),
        ("(b) switch records", [SWCOST, "switch", "--"] + pp),
        ("(c) + context-switches", [SWCOST, "cs", "--"] + pp),
        ("(d) + call chain", [SWCOST, "cs-cc", "--"] + pp),
        ("(e) + 512 B stack", [SWCOST, "cs-stack", "512", "--"] + pp),
        ("(f) perfsample, every stack", [ps, "record", "-q", "--off-cpu", "-g",
                                          "--off-cpu-period", "1", "-o",
                                          os.path.join(WORK, "bd.data"), "--", RUSAGE, wfile,
                                          "--"] + pp),
        ("(g) perfsample --off-cpu -g " + args.ps_args, [ps, "record", "-q", "--off-cpu", "-g"] +
         shlex.split(args.ps_args) + ["-o", os.path.join(WORK, "bd.data"), "--", RUSAGE,
                                      wfile, "--"] + pp),
        ("perf sched_switch -g", ["perf", "record", "-q", "-B", "-e", "sched:sched_switch", "-g",
                                  "-o", os.path.join(WORK, "bd.perf.data"), "--", RUSAGE,
                                  wfile, "--"] + pp),
    ]
    if args.only:
        keep = args.only.split(",")
        modes = [m for m in modes if m[0][:3] in keep or m[0] in keep]
    for i, (name, argv) in enumerate(modes):
        if argv[0] == SWCOST:
            modes[i] = ("swcost" + name, argv)
    res = {name: [] for name, _ in modes}
    for r in range(args.rounds):
        k = r % len(modes)
        for name, argv in modes[k:] + modes[:k]:
            res[name].append(run(name, argv, wfile))
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    base = [x for n, xs in res.items() if "alone" in n for x in xs]
    a_wall = statistics.median(x[1] / x[0] for x in base) if base else None
    a_cpu = statistics.median((x[2] + x[3]) / x[0] for x in base) if base else None
    print("load average at the end: %s; %d rounds of %g s, medians" % (load, args.rounds,
                                                                       args.secs))
    print("| mode | µs/round wall | µs/round CPU (workload+recorder) | recorder CPU µs/switch "
          "| +wall µs/switch | +CPU µs/switch | slowdown wall |")
    print("|---|---|---|---|---|---|---|")
    for name, xs in res.items():
        wall = statistics.median(x[1] / x[0] for x in xs)
        cpu = statistics.median((x[2] + x[3]) / x[0] for x in xs)
        rec = statistics.median(x[3] / x[0] / 2 for x in xs)
        dw = (wall - a_wall) / 2 if a_wall else None
        dc = (cpu - a_cpu) / 2 if a_cpu else None
        f = lambda v, s=1e6: "–" if v is None else "%.2f" % (v * s)  # noqa: E731
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            name.replace("swcost", ""), f(wall), f(cpu), f(rec), f(dw), f(dc),
            "–" if not a_wall else "%+.0f%%" % (100 * (wall / a_wall - 1))))


if __name__ == "__main__":
    main()
