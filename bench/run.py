#!/usr/bin/env python3
"""perfsample side by side with perf and FlameGraph: recording overhead, trace size, time
to picture, memory and symbolization, interleaved runs (A B A B ...), medians and the
perfsample/peer ratio per pair. Writes bench/results.md and bench/ratios.svg.

usage: python3 bench/run.py [--quick] [--out bench/results.md]
FLAMEGRAPH_DIR: where stackcollapse-perf.pl and flamegraph.pl are (rows using them are
skipped, with a message, when it is unset). Run from the repository root (make bench)."""
import argparse
import datetime
import filecmp
import os
import platform
import signal
import re
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PS = os.path.join(ROOT, "perfsample")
BUILD = os.path.join(ROOT, "build")
WORK = os.path.join(BUILD, "bench")
GEN = os.path.join(BUILD, "gen_trace")
RUSAGE = os.path.join(BUILD, "rusage")
SPLIT = os.path.join(ROOT, "examples", "split")
DEEP = os.path.join(ROOT, "examples", "deep_nofp")
PYLOOP = os.path.join(ROOT, "bench", "pyloop.py")
HEAPWORK = os.path.join(ROOT, "examples", "heapwork")
HEAPLIB = os.path.join(ROOT, "libperfsample-heap.so")
FG = os.environ.get("FLAMEGRAPH_DIR", "")
PERF = shutil.which("perf")
LOG = None


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- running things ----

_nrss = [0]


def small(argv):
    """Runs argv under bench/rusage: ru_maxrss survives fork and exec (Linux keeps the old
    mm's high-water mark), so a child of this Python process never reports less than
    Python's own RSS; a grandchild forked by the small C wrapper reports its own. Returns
    the wrapped argv and the file the wrapper writes."""
    _nrss[0] += 1
    f = os.path.join(WORK, "rss.%d" % _nrss[0])
    return [RUSAGE, f, "--"] + argv, f


def rss_of(f):
    with open(f) as fh:
        v = fh.read().split()
    os.unlink(f)
    return int(v[3]) / 1024.0


def measure(argv, stdout=None, stdin=None, wrap=True):
    """Runs argv; wall time and CPU time from wait4 (the same numbers /usr/bin/time -v
    prints: the process and the children it reaped), peak RSS through bench/rusage."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    inp = open(stdin, "rb") if stdin else subprocess.DEVNULL
    rf = None
    if wrap:
        argv, rf = small(argv)
    t0 = time.monotonic()
    p = subprocess.Popen(argv, stdout=out, stdin=inp, stderr=LOG)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if stdout:
        out.close()
    if stdin:
        inp.close()
    if p.returncode != 0:
        raise RuntimeError("%s: exit %d" % (" ".join(argv), p.returncode))
    return {"wall": wall, "cpu": ru.ru_utime + ru.ru_stime,
            "rss": rss_of(rf) if rf else ru.ru_maxrss / 1024.0}


def pipeline(stages, stdout=None, stdin=None):
    """stage1 | stage2 | ... as the shell runs it: wall time to the last exit, CPU summed,
    peak RSS the largest of the stages."""
    out = open(stdout, "wb") if stdout else subprocess.DEVNULL
    prev = open(stdin, "rb") if stdin else subprocess.DEVNULL
    t0 = time.monotonic()
    procs, files = [], []
    for i, argv in enumerate(stages):
        argv, rf = small(argv)
        files.append(rf)
        last = i == len(stages) - 1
        p = subprocess.Popen(argv, stdin=prev, stdout=out if last else subprocess.PIPE,
                             stderr=LOG)
        if i:
            prev.close()
        prev = p.stdout
        procs.append(p)
    cpu, rss = 0.0, 0.0
    for p in procs:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        cpu += ru.ru_utime + ru.ru_stime
        if p.returncode != 0:
            raise RuntimeError("%s: exit %d" % (" ".join(p.args), p.returncode))
    for f in files:
        rss = max(rss, rss_of(f))
    wall = time.monotonic() - t0
    if stdout:
        out.close()
    return {"wall": wall, "cpu": cpu, "rss": rss}


def capture(argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def drop_caches():
    subprocess.run(["sync"], check=False)
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3\n")
        return True
    except OSError:
        return False


def div(a, b):
    return a / b if a is not None and b else None


def lt(a, b):
    return None if a is None or b is None else a <= b


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(x, unit="", digits=3):
    if x is None:
        return "–"
    if isinstance(x, str):
        return x
    if abs(x) >= 1000:
        return "%.0f%s" % (x, unit)
    return ("%%.%dg%%s" % digits) % (x, unit)


def pct(x):
    return "–" if x is None else "%+.2f%%" % (100 * x)


def ps_samples(path):
    m = re.search(r"^samples:\s+(\d+)", capture([PS, "info", "-i", path]), re.M)
    return int(m.group(1)) if m else None


def perf_samples(path):
    out = subprocess.run([PERF, "report", "--stats", "-i", path], capture_output=True,
                         text=True).stdout
    m = re.search(r"SAMPLE events:\s+(\d+)", out)
    return int(m.group(1)) if m else None


def rounds_of(text):
    m = re.search(r"(\d+) rounds", text)
    return int(m.group(1)) if m else None


# ---- 1, 2: recording overhead and trace size ----

def overhead_case(name, workload, ps_args, perf_args, pairs):
    log("== overhead: %s (%d rounds of alone / perfsample / perf / perf -z)" % (name, pairs))
    variants = ["alone", "perfsample", "perf", "perf -z"]
    res = {v: [] for v in variants}
    failed = {v: 0 for v in variants}
    wfile = os.path.join(WORK, "workload.rusage")
    for i in range(pairs):
        order = variants[i % 4:] + variants[:i % 4]
        for v in order:
            trace = os.path.join(WORK, "ovh.%s.data" % v.replace(" ", ""))
            for f in (trace, trace + ".old"):
                if os.path.exists(f):
                    os.unlink(f)
            wrapped = [RUSAGE, wfile, "--"] + workload
            if v == "alone":
                argv = wrapped
            elif v == "perfsample":
                argv = [PS, "record", "-q"] + ps_args + ["-o", trace, "--"] + wrapped
            else:
                z = ["-z"] if v == "perf -z" else []
                argv = [PERF, "record", "-q"] + z + perf_args + ["-o", trace, "--"] + wrapped
            stdout = os.path.join(WORK, "workload.out")
            m = None
            for attempt in range(2):
                try:
                    m = measure(argv, stdout=stdout, wrap=v != "alone")
                    break
                except RuntimeError as e:
                    log("bench: %s failed (%s)%s" % (v, e, "; again" if not attempt else ""))
            if m is None:
                failed[v] += 1
                continue
            with open(stdout) as f:
                rounds = rounds_of(f.read())
            with open(wfile) as f:
                w = [float(x) for x in f.read().split()]
            wall, wcpu, wrap_cpu = w[0], w[1] + w[2], w[5] + w[6]
            r = {"rounds": rounds, "wall": wall, "wcpu": wcpu,
                 "wall_per": wall / rounds, "cpu_per": wcpu / rounds}
            if v != "alone":
                # The outer rusage wrapper is charged too; it only waits.
                r["rec_cpu"] = m["cpu"] - wcpu - wrap_cpu
                r["rec_rss"] = m["rss"]
                r["finish"] = m["wall"] - wall  # after the workload: embedding, build-ids
                r["bytes"] = os.path.getsize(trace)
                r["samples"] = ps_samples(trace) if v == "perfsample" else perf_samples(trace)
            res[v].append((i, r))
    # Pair runs by iteration; a failed run drops only the pairs it is in.
    idx = {v: dict(res[v]) for v in variants}
    res = {v: [idx[v][i] for i in range(pairs)] if all(i in idx[v] for i in range(pairs))
           else [idx[v].get(i) for i in range(pairs)] for v in variants}
    base = res["alone"]
    out = {"name": name, "pairs": pairs, "rows": {}, "failed": failed}

    def both(xs, ys):
        return [(x, y) for x, y in zip(xs, ys) if x and y]
    for v in variants:
        rows = [r for r in res[v] if r]
        o = {"wall_per": med([r["wall_per"] for r in rows]),
             "cpu_per": med([r["cpu_per"] for r in rows]), "failed": failed[v]}
        if v != "alone":
            pr = both(res[v], base)
            o["slow_wall"] = med([r["wall_per"] / b["wall_per"] - 1 for r, b in pr])
            o["slow_cpu"] = med([r["cpu_per"] / b["cpu_per"] - 1 for r, b in pr])
            for k in ("rec_cpu", "rec_rss", "finish", "bytes", "samples"):
                o[k] = med([r[k] for r in rows])
            o["rec_cpu_per_s"] = med([r["rec_cpu"] / r["wall"] for r in rows])
            o["bps"] = med([r["bytes"] / r["samples"] for r in rows if r["samples"]])
        out["rows"][v] = o
    pr = both(res["perfsample"], res["perf"])
    out["ratio_cost"] = med([a["wall_per"] / b["wall_per"] for a, b in pr])
    out["ratio_cpu"] = med([a["cpu_per"] / b["cpu_per"] for a, b in pr])
    out["ratio_rec_cpu"] = med([a["rec_cpu"] / b["rec_cpu"] for a, b in pr if b["rec_cpu"] > 0])
    return out


# ---- 6: heap profiles ----

def heap_case(rounds, pairs):
    """examples/heapwork with ROUNDS rounds of 2M small malloc/free pairs, alone and under
    perfsample --heap (default rate), heaptrack and valgrind --tool=massif, interleaved.
    The workload's own wall and CPU come from /usr/bin/time inside each tool where the tool
    follows exec (perfsample, heaptrack: both preload into it); massif runs the workload
    itself, so its row is the whole valgrind process. End-to-end is what the user waits
    for: start, run, and the tool's finish (perfsample: names embedded; heaptrack: its
    interpreter)."""
    log("== heap: heapwork 1 %d (%d rounds of alone / perfsample --heap / heaptrack / massif)"
        % (rounds, pairs))
    W = [HEAPWORK, "1", str(rounds)]
    tfile = os.path.join(WORK, "heap.time")
    timed = ["/usr/bin/time", "-o", tfile, "-f", "%e %U %S"] + W
    trace = os.path.join(WORK, "heap.data")
    ht = os.path.join(WORK, "heap.ht")
    ms = os.path.join(WORK, "heap.massif")
    variants = {
        "alone": timed,
        "perfsample --heap": [PS, "record", "-q", "--heap", "-o", trace, "--"] + timed,
        "heaptrack": ["heaptrack", "-o", ht] + W,  # its preload does not follow exec
        "massif": ["valgrind", "--tool=massif", "--massif-out-file=" + ms] + W,
    }
    have = {v: a for v, a in variants.items() if shutil.which(a[0]) or os.path.exists(a[0])}
    for v in variants:
        if v not in have:
            log("bench: %s is missing: no heap row for it" % variants[v][0])
    env = dict(os.environ, PERFSAMPLE_HEAP_LIB=HEAPLIB)
    res = {v: [] for v in have}
    names = list(have)
    for i in range(pairs):
        order = names[i % len(names):] + names[:i % len(names)]
        for v in order:
            for f in os.listdir(WORK):
                if f.startswith("heap.ht") or f.startswith("heap.massif"):
                    os.unlink(os.path.join(WORK, f))
            if os.path.exists(tfile):
                os.unlink(tfile)
            t0 = time.monotonic()
            p = subprocess.Popen(have[v], stdout=subprocess.DEVNULL, stderr=LOG, env=env)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
            if os.waitstatus_to_exitcode(status) != 0:
                log("bench: %s failed (exit %d)" % (v, os.waitstatus_to_exitcode(status)))
                continue
            r = {"e2e": wall, "cpu_all": ru.ru_utime + ru.ru_stime}
            if v in ("alone", "perfsample --heap") and os.path.exists(tfile):
                w = open(tfile).read().split()
                r["wall"], r["cpu"] = float(w[0]), float(w[1]) + float(w[2])
            else:
                r["wall"], r["cpu"] = wall, None
            if v == "perfsample --heap":
                r["bytes"] = os.path.getsize(trace)
            elif v == "heaptrack":
                r["bytes"] = sum(os.path.getsize(os.path.join(WORK, f)) for f in os.listdir(WORK)
                                 if f.startswith("heap.ht"))
            elif v == "massif":
                r["bytes"] = os.path.getsize(ms) if os.path.exists(ms) else None
            res[v].append((i, r))
    out = {"rounds": rounds, "pairs": pairs, "rows": {}}
    base = dict(res.get("alone", []))
    for v in names:
        rows = dict(res[v])
        o = {"wall": med([r["wall"] for r in rows.values()]),
             "e2e": med([r["e2e"] for r in rows.values()]),
             "cpu": med([r["cpu"] for r in rows.values() if r["cpu"] is not None]),
             "cpu_all": med([r["cpu_all"] for r in rows.values()]),
             "runs": len(rows)}
        if v != "alone":
            prs = [(rows[i], base[i]) for i in rows if i in base]
            o["slow_wall"] = med([a["wall"] / b["wall"] for a, b in prs])
            o["slow_e2e"] = med([a["e2e"] / b["e2e"] for a, b in prs])
            o["slow_cpu"] = med([a["cpu"] / b["cpu"] for a, b in prs
                                 if a["cpu"] is not None and b["cpu"]])
            o["slow_cpu_all"] = med([a["cpu_all"] / b["cpu_all"] for a, b in prs if b["cpu_all"]])
            o["bytes"] = med([r["bytes"] for r in rows.values() if r.get("bytes")])
            o["bytes_per_s"] = med([r["bytes"] / r["wall"] for r in rows.values()
                                    if r.get("bytes") and r["wall"]])
        out["rows"][v] = o
    return out


def heap_section(A, heap):
    A("## 6. Heap profiles")
    A("")
    A("`examples/heapwork 1 %d`: %d million small malloc/free pairs plus the leaks and the "
      "peak of the heap tests. *workload* times are the workload's own, from /usr/bin/time "
      "inside perfsample (its preload follows exec); heaptrack's preload does not follow "
      "exec and massif runs the workload on its own CPU, so for them the workload columns are "
      "the whole run. *end to end* includes the tool's start and finish, *all CPU* every "
      "process of the run (recorder, heaptrack's interpreter, valgrind). Slowdowns are medians of per-pair ratios to the "
      "workload alone; trace bytes per second are per second of the workload's run under the "
      "tool. perfsample samples at the default rate (a sample per 512 KiB on average); "
      "heaptrack and massif record every allocation." % (heap["rounds"], 2 * heap["rounds"]))
    A("")
    A("| tool | runs | workload wall s | workload CPU s | end to end s | all CPU s | "
      "slowdown wall | slowdown CPU | slowdown end to end | slowdown all CPU | trace bytes | "
      "trace bytes/s |")
    A("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for v, o in heap["rows"].items():
        A("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            v, o["runs"], fmt(o["wall"]), fmt(o["cpu"]), fmt(o["e2e"]), fmt(o["cpu_all"]),
            fmt(o.get("slow_wall"), "×"), fmt(o.get("slow_cpu"), "×"),
            fmt(o.get("slow_e2e"), "×"), fmt(o.get("slow_cpu_all"), "×"), fmt(o.get("bytes")),
            fmt(o.get("bytes_per_s"))))
    A("")


# ---- 3, 4: time to picture and memory ----

def alternate(i, a, b):
    """A B on even pairs, B A on odd ones, so drift hits both sides alike."""
    if i % 2 == 0:
        return a(), b()
    rb = b()
    return a(), rb


def ttp_synthetic(n, pairs, perf_script_us):
    log("== time to picture: synthetic trace of %d samples, %d pairs" % (n, pairs))
    trace = os.path.join(WORK, "synth.%d.data" % n)
    text = trace + ".perfscript"
    for f in (trace,):
        if os.path.exists(f):
            os.unlink(f)
    gen = measure([GEN, trace, str(n)])
    script = measure([PS, "script", "-i", trace], stdout=text)
    svg_a, svg_b = trace + ".ps.svg", trace + ".fg.svg"
    fold_a, fold_b, fold_c = trace + ".ps.folded", trace + ".sc.folded", trace + ".pst.folded"
    rows = {"flame": [], "fold": [], "text": []}
    for i in range(pairs):
        def ours():
            return (measure([PS, "flamegraph", "-i", trace], stdout=svg_a),
                    measure([PS, "fold", "-i", trace], stdout=fold_a),
                    measure([PS, "fold", "--input", "perf-script", text], stdout=fold_c))

        def theirs():
            if not FG:
                return None
            sc = measure(["perl", os.path.join(FG, "stackcollapse-perf.pl"), text],
                         stdout=fold_b)
            fg = measure(["perl", os.path.join(FG, "flamegraph.pl"), fold_b], stdout=svg_b)
            return sc, fg
        a, b = alternate(i, ours, theirs)
        if b:
            sc, fg = b
            peer_flame = {"wall": sc["wall"] + fg["wall"], "rss": max(sc["rss"], fg["rss"])}
        else:
            sc = peer_flame = None
        rows["flame"].append((a[0], peer_flame))
        rows["fold"].append((a[1], sc))
        rows["text"].append((a[2], sc))
    same = filecmp.cmp(fold_b, fold_c, shallow=False) if FG else None
    est = perf_script_us * n / 1e6 if perf_script_us else None
    out = {"n": n, "pairs": pairs, "bytes": os.path.getsize(trace),
           "text_bytes": os.path.getsize(text), "gen": gen, "script": script,
           "same_fold": same, "perf_script_est": est}
    for k, v in rows.items():
        o = {"ps": med([a["wall"] for a, _ in v]), "ps_rss": max(a["rss"] for a, _ in v)}
        if FG:
            o["peer"] = med([b["wall"] for _, b in v])
            o["peer_rss"] = max(b["rss"] for _, b in v)
            o["ratio"] = med([a["wall"] / b["wall"] for a, b in v])
            if k != "text" and est is not None:
                o["peer_est"] = o["peer"] + est
                o["speedup_est"] = o["peer_est"] / o["ps"]
        out[k] = o
    for f in (text, fold_b, fold_c, fold_a):
        if os.path.exists(f) and n >= 1000000:
            os.unlink(f)
    return out


def ttp_big(n, runs):
    """perfsample alone on a trace too big for the Perl pipeline: time and peak memory of
    trace -> SVG and trace -> folded (the design's 10M-sample budget)."""
    log("== time to picture: synthetic trace of %d samples, perfsample only, %d runs" % (n, runs))
    trace = os.path.join(WORK, "synth.%d.data" % n)
    gen = measure([GEN, trace, str(n)])
    flame = [measure([PS, "flamegraph", "-i", trace], stdout=trace + ".svg") for _ in range(runs)]
    fold = [measure([PS, "fold", "-i", trace], stdout=trace + ".folded") for _ in range(runs)]
    out = {"n": n, "runs": runs, "bytes": os.path.getsize(trace), "gen": gen,
           "flame": {"ps": med([r["wall"] for r in flame]), "ps_rss": max(r["rss"] for r in flame)},
           "fold": {"ps": med([r["wall"] for r in fold]), "ps_rss": max(r["rss"] for r in fold)}}
    for f in (trace, trace + ".svg", trace + ".folded"):
        if os.path.exists(f):
            os.unlink(f)
    return out


def record_real(secs):
    """The same two-process workload (C with frame pointers + Python) recorded by each tool
    at 4 kHz per thread, to get real traces of ~10k and ~100k samples."""
    wl = ["sh", "-c", "%s %s & python3 %s %s; wait" % (SPLIT, secs, PYLOOP, secs)]
    ps_t = os.path.join(WORK, "real.%s.ps.data" % secs)
    pf_t = os.path.join(WORK, "real.%s.perf.data" % secs)
    measure([PS, "record", "-q", "-g", "-c", "250000", "-o", ps_t, "--"] + wl)
    measure([PERF, "record", "-q", "-g", "-c", "250000", "-o", pf_t, "--"] + wl)
    return ps_t, pf_t


def ttp_real(secs, pairs):
    ps_t, pf_t = record_real(secs)
    nps, npf = ps_samples(ps_t), perf_samples(pf_t)
    log("== time to picture: real traces (perfsample %d, perf %d samples), %d pairs"
        % (nps, npf, pairs))
    sc = os.path.join(FG, "stackcollapse-perf.pl")
    fg = os.path.join(FG, "flamegraph.pl")
    res = {"flame": [], "fold": [], "script": []}
    for i in range(pairs):
        def ours():
            return (measure([PS, "flamegraph", "-i", ps_t], stdout=ps_t + ".svg"),
                    measure([PS, "fold", "-i", ps_t], stdout=ps_t + ".folded"))

        def theirs():
            s = measure([PERF, "script", "-i", pf_t])
            if not FG:
                return None, None, s
            return (pipeline([[PERF, "script", "-i", pf_t], ["perl", sc], ["perl", fg]],
                             stdout=pf_t + ".svg"),
                    pipeline([[PERF, "script", "-i", pf_t], ["perl", sc]],
                             stdout=pf_t + ".folded"), s)
        a, b = alternate(i, ours, theirs)
        res["flame"].append((a[0], b[0]))
        res["fold"].append((a[1], b[1]))
        res["script"].append(b[2])
    out = {"secs": secs, "n_ps": nps, "n_perf": npf, "pairs": pairs,
           "bytes_ps": os.path.getsize(ps_t), "bytes_perf": os.path.getsize(pf_t),
           "perf_script": med([s["wall"] for s in res["script"]]),
           "perf_script_rss": max(s["rss"] for s in res["script"])}
    out["perf_script_us"] = out["perf_script"] / npf * 1e6
    for k in ("flame", "fold"):
        v = res[k]
        o = {"ps": med([a["wall"] for a, _ in v]), "ps_rss": max(a["rss"] for a, _ in v)}
        o["ps_us"] = o["ps"] / nps * 1e6
        if FG:
            o["peer"] = med([b["wall"] for _, b in v])
            o["peer_rss"] = max(b["rss"] for _, b in v)
            o["peer_us"] = o["peer"] / npf * 1e6
            # Different recordings: compare per sample.
            o["speedup"] = med([(b["wall"] / npf) / (a["wall"] / nps) for a, b in v])
        out[k] = o
    return out


# ---- 5: symbolization ----

def symbolization(secs, pairs):
    log("== symbolization: python3 trace without embedded symbols, %d pairs" % pairs)
    ps_t = os.path.join(WORK, "py.noembed.data")
    ps_e = os.path.join(WORK, "py.embed.data")
    pf_t = os.path.join(WORK, "py.perf.data")
    wl = ["python3", PYLOOP, str(secs)]
    measure([PS, "record", "-q", "-F", "999", "-g", "--no-embed-symbols", "-o", ps_t, "--"] + wl)
    measure([PS, "record", "-q", "-F", "999", "-g", "-o", ps_e, "--"] + wl)
    measure([PERF, "record", "-q", "-F", "999", "-g", "-o", pf_t, "--"] + wl)
    can_drop = drop_caches()
    res = {"ps_cold": [], "ps_warm": [], "perf_cold": [], "perf_warm": [], "ps_embed": []}
    for i in range(pairs):
        def ours():
            drop_caches()
            res["ps_cold"].append(measure([PS, "fold", "-i", ps_t]))
            res["ps_warm"].append(measure([PS, "fold", "-i", ps_t]))
            res["ps_embed"].append(measure([PS, "fold", "-i", ps_e]))

        def theirs():
            drop_caches()
            res["perf_cold"].append(measure([PERF, "script", "-i", pf_t]))
            res["perf_warm"].append(measure([PERF, "script", "-i", pf_t]))
        alternate(i, ours, theirs)
    out = {"pairs": pairs, "can_drop": can_drop, "n_ps": ps_samples(ps_t),
           "n_perf": perf_samples(pf_t)}
    for k, v in res.items():
        out[k] = med([m["wall"] for m in v])
        out[k + "_rss"] = max(m["rss"] for m in v)
    for t in ("cold", "warm"):
        out["ratio_" + t] = med([a["wall"] / b["wall"] for a, b in
                                 zip(res["ps_" + t], res["perf_" + t])])
    return out


# ---- self profile ----

def self_profile(trace, text, noembed):
    """perfsample profiling itself on the largest inputs: where the time goes."""
    log("== self profile")
    out = {}
    jobs = [("flamegraph", [PS, "flamegraph", "-i", trace], "self-flamegraph.svg")]
    if text and os.path.exists(text):
        jobs.append(("fold --input perf-script",
                     [PS, "fold", "--input", "perf-script", text], "self-fold-perfscript.svg"))
    if noembed and os.path.exists(noembed):
        jobs.append(("fold (symbolizing from ELF)", [PS, "fold", "-i", noembed],
                     "self-symbolize.svg"))
    for name, argv, svg in jobs:
        data = os.path.join(WORK, "self.data")
        measure([PS, "record", "-q", "-F", "999", "-g", "-o", data, "--", "sh", "-c",
                 " ".join(argv) + " > /dev/null"])
        measure([PS, "flamegraph", "-i", data, "--title",
                 "perfsample %s on %s" % (name, os.path.basename(argv[-1]))],
                stdout=os.path.join(ROOT, "bench", svg))
        rep = capture([PS, "report", "-i", data, "--sort", "self", "-n", "12"])
        tot = capture([PS, "report", "-i", data, "--sort", "total", "-n", "25"])
        out[name] = (svg, " ".join(os.path.basename(a) for a in argv), rep, tot)
    return out


# ---- output ----

def sampler_cost(secs, nproc=500):
    """The statistics sampler's own CPU at a 1 s interval with nproc more processes on the
    machine (idle children of a helper), side by side with sysstat's pidstat doing the same
    job (every process's CPU, memory, context switches and I/O every second)."""
    holder = subprocess.Popen(["python3", "-c",
                               "import os, signal, sys, time\n"
                               "n = int(sys.argv[1])\n"
                               "for i in range(n):\n"
                               "    if os.fork() == 0:\n"
                               "        signal.pause()\n"
                               "        os._exit(0)\n"
                               "print('ready', flush=True)\n"
                               "signal.pause()\n", str(nproc)],
                              stdout=subprocess.PIPE, start_new_session=True)
    holder.stdout.readline()
    nprocs = len([d for d in os.listdir("/proc") if d.isdigit()])
    res = {"nprocs": nprocs, "secs": secs}
    try:
        out = os.path.join(WORK, "stat.data")
        err = os.path.join(WORK, "stat.err")
        with open(err, "wb") as ef:
            t0 = time.monotonic()
            p = subprocess.Popen([PS, "stat", "-a", "-I", "1000", "-d", str(secs), "-o", out],
                                 stdout=subprocess.DEVNULL, stderr=ef)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.monotonic() - t0
        res["ps"] = (ru.ru_utime + ru.ru_stime) / wall * 100
        res["ps_bytes"] = os.path.getsize(out)
        # the sampling itself, as stat reports it (thread CPU inside each sample)
        m = re.search(r"\(([0-9.]+)%\)", open(err).read())
        res["ps_sampling"] = float(m.group(1)) if m else None
        if shutil.which("pidstat"):
            pd = measure(["pidstat", "-h", "-u", "-r", "-w", "-d", "1", str(int(secs))], wrap=False)
            res["pidstat"] = pd["cpu"] / pd["wall"] * 100
    finally:
        os.killpg(holder.pid, signal.SIGTERM)
        holder.wait()
    return res


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            cpu = m.group(1) if m else cpu
    except OSError:
        pass
    perfv = capture([PERF, "--version"]).strip() if PERF else "absent"
    return {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "nproc": os.cpu_count(), "cpu": cpu, "kernel": platform.release(),
            "perf": perfv, "load": "%.2f %.2f %.2f" % os.getloadavg(),
            "python": platform.python_version(),
            "commit": subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                                     capture_output=True, text=True).stdout.strip()}


def svg_plot(bars, path):
    """Horizontal bars of 'times better than the peer' on a log scale, 1x in the middle."""
    import math
    W, left, right, bh, top = 900, 330, 60, 22, 40
    H = top + bh * len(bars) + 40
    span = 3.0  # decades each side: 1/1000x .. 1000x
    mid = left + (W - left - right) / 2
    scale = (W - left - right) / 2 / span
    s = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" '
         'font-family="sans-serif" font-size="12">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="20" font-size="14" font-weight="bold">perfsample vs peer: times '
         'better (log scale; right of 1x = perfsample better)</text>' % 10]
    for d in range(-int(span), int(span) + 1):
        x = mid + d * scale
        s.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s"/>'
                 % (x, top - 5, x, H - 30, "#333" if d == 0 else "#ddd"))
        s.append('<text x="%.1f" y="%d" text-anchor="middle">%gx</text>' % (x, H - 15, 10.0 ** d))
    for i, (label, v) in enumerate(bars):
        y = top + i * bh
        s.append('<text x="%d" y="%d" text-anchor="end">%s</text>'
                 % (left - 8, y + 15, label.replace("&", "&amp;").replace("<", "&lt;")))
        if v is None or v <= 0:
            s.append('<text x="%.1f" y="%d" fill="#999">n/a</text>' % (mid + 4, y + 15))
            continue
        lv = max(-span, min(span, math.log10(v)))
        x0, x1 = sorted((mid, mid + lv * scale))
        color = "#3a7" if v >= 1 else "#d54"
        s.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                 % (x0, y + 3, max(x1 - x0, 1), bh - 6, color))
        s.append('<text x="%.1f" y="%d">%.3gx</text>' % (x1 + 4 if v >= 1 else x1 - 40, y + 15, v))
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


def main():
    global LOG
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results.md"))
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    # One binary for the whole run: others may rebuild ./perfsample meanwhile.
    global PS
    shutil.copy2(PS, os.path.join(WORK, "perfsample"))
    PS = os.path.join(WORK, "perfsample")
    LOG = open(os.path.join(WORK, "stderr.log"), "ab")
    if not PERF:
        sys.exit("bench: perf is missing (apt-get install linux-perf)")
    global FG
    if FG and not os.path.exists(os.path.join(FG, "flamegraph.pl")):
        log("bench: FLAMEGRAPH_DIR=%s has no flamegraph.pl; skipping FlameGraph rows" % FG)
        FG = ""
    if not FG:
        log("bench: FLAMEGRAPH_DIR is unset: skipping the rows that run FlameGraph's Perl "
            "scripts (stackcollapse-perf.pl, flamegraph.pl)")
    q = args.quick
    mach = machine()
    t_start = time.monotonic()
    pairs = 3 if q else 5
    secs = 1 if q else 3

    cases = [("split, fp, 99 Hz", [SPLIT, str(secs)], ["-F", "99", "-g"], ["-F", "99", "-g"])]
    if not q:
        cases.append(("split, fp, 999 Hz", [SPLIT, str(secs)], ["-F", "999", "-g"],
                      ["-F", "999", "-g"]))
        cases.append(("python3 loop, fp, 99 Hz", ["python3", PYLOOP, str(secs)],
                      ["-F", "99", "-g"], ["-F", "99", "-g"]))
    if os.path.exists(DEEP):
        cases.append(("deep_nofp, dwarf, 99 Hz", [DEEP, str(secs)],
                      ["-F", "99", "--call-graph", "dwarf"], ["-F", "99", "--call-graph", "dwarf"]))
        if not q:
            cases.append(("deep_nofp, dwarf, 999 Hz", [DEEP, str(secs)],
                          ["-F", "999", "--call-graph", "dwarf"],
                          ["-F", "999", "--call-graph", "dwarf"]))
    else:
        log("bench: examples/deep_nofp is missing: no DWARF rows")
    ovh = [overhead_case(c[0], c[1], c[2], c[3], pairs) for c in cases]

    real = [ttp_real(1.5, pairs)]
    if not q:
        real.append(ttp_real(13, pairs))
    us = real[-1]["perf_script_us"]
    # QUICK is the one-minute version: the Perl pipeline on 100k samples alone takes longer.
    sizes = [10000] if q else [10000, 100000, 1000000]
    synth = [ttp_synthetic(n, pairs if n < 1000000 else 3, us) for n in sizes]
    big = [] if q else [ttp_big(10000000, 3)]
    sym = symbolization(1 if q else 3, pairs)
    biggest = os.path.join(WORK, "synth.%d.data" % sizes[-1])
    text100k = os.path.join(WORK, "synth.%d.data.perfscript" % min(sizes[-1], 100000))
    prof = self_profile(biggest, text100k, os.path.join(WORK, "py.noembed.data"))
    heap = heap_case(3 if q else 10, 3 if q else pairs)
    stat = sampler_cost(5 if q else 30)
    elapsed = time.monotonic() - t_start
    md = write_results(args, mach, ovh, real, synth, big, sym, prof, elapsed, q, heap, stat)
    # The agent's own CPU (bench/agent.py), a section of its own after the others.
    import agent as agent_bench
    extra = "\n" + agent_bench.section(PS, q)
    with open(args.out, "a") as f:
        f.write(extra)
    print(md + extra)


def write_results(args, mach, ovh, real, synth, bigs, sym, prof, elapsed, quick, heap=None,
                  stat=None):
    L = []
    A = L.append
    A("# perfsample benchmarks%s" % (" (QUICK run)" if quick else ""))
    A("")
    A("Written by `make bench%s` (bench/run.py); do not edit by hand." %
      (" QUICK=1" if quick else ""))
    A("")
    A("| | |\n|---|---|")
    A("| date | %s |" % mach["date"])
    A("| machine | %s CPUs, %s |" % (mach["nproc"], mach["cpu"]))
    A("| kernel | %s |" % mach["kernel"])
    A("| perfsample | %s (the binary copied at the start of the run) |" % mach["commit"])
    A("| perf | %s |" % mach["perf"])
    A("| FlameGraph | %s |" % (FG or "unset: Perl rows skipped"))
    A("| load average at start | %s (other work on the machine adds noise to every row) |"
      % mach["load"])
    A("| run time | %.0f s |" % elapsed)
    A("")
    A("Every case runs perfsample and the peer on the same input, interleaved (A B, B A, "
      "...); numbers are medians over the pairs, ratios are medians of the per-pair ratios. "
      "Wall, CPU and peak RSS come from wait4(2) on the process (what /usr/bin/time -v "
      "reports: the process and the children it reaped); peak RSS is the largest of the process "
      "and the children it reaped, measured through bench/rusage, since a process forked by "
      "the Python driver would report at least the driver's own RSS.")
    A("")

    # targets first: the summary
    tg = []
    by = {o["name"]: o for o in ovh}
    fp99 = by.get("split, fp, 99 Hz")
    dw99 = by.get("deep_nofp, dwarf, 99 Hz")
    big = synth[-1]

    def status(ok):
        return "–" if ok is None else ("met" if ok else "**not met**")
    if fp99:
        r = fp99["rows"]
        s, p = r["perfsample"]["slow_cpu"], r["perf"]["slow_cpu"]
        tg.append(("overhead at 99 Hz, -g < 1% (CPU per round)", pct(s), status(lt(s, 0.0099999))))
        tg.append(("overhead at 99 Hz, -g ≤ perf's (CPU per round)",
                   "%s vs perf %s" % (pct(s), pct(p)), status(lt(s, p))))
        tg.append(("trace fp ≤ perf.data -z (bytes/sample)", "%s vs %s" % (
            fmt(r["perfsample"]["bps"]), fmt(r["perf -z"]["bps"])),
            status(lt(r["perfsample"]["bps"], r["perf -z"]["bps"]))))
    if dw99:
        r = dw99["rows"]
        s, p = r["perfsample"]["slow_cpu"], r["perf"]["slow_cpu"]
        tg.append(("overhead at 99 Hz, dwarf < 3% (CPU per round)", pct(s), status(lt(s, 0.0299999))))
        tg.append(("overhead at 99 Hz, dwarf ≤ perf's (CPU per round)",
                   "%s vs perf %s" % (pct(s), pct(p)), status(lt(s, p))))
        q = div(r["perfsample"]["bps"], r["perf"]["bps"])
        tg.append(("trace dwarf ≤ 1/20 of perf.data dwarf", "1/%.0f" % (1 / q) if q else "–",
                   status(lt(q, 0.05))))
    tg.append(("%d samples to SVG < 1 s" % big["n"], fmt(big["flame"]["ps"], " s"),
               status(big["flame"]["ps"] < 1)))
    if "speedup_est" in big["flame"]:
        tg.append(("≥ 20× faster than perf script + Perl at %d" % big["n"],
                   "%.1f×" % big["flame"]["speedup_est"],
                   status(big["flame"]["speedup_est"] >= 20)))
    tg.append(("peak memory < 200 MB at %d samples" % big["n"],
               fmt(big["flame"]["ps_rss"], " MB"), status(big["flame"]["ps_rss"] < 200)))
    hp = heap["rows"].get("perfsample --heap") if heap else None
    if hp:
        tg.append(("heap: ≤ 2× slowdown at the default rate (workload CPU)",
                   "%s (heaptrack %s, massif %s)" % (
                       fmt(hp["slow_cpu"], "×"),
                       fmt(heap["rows"].get("heaptrack", {}).get("slow_cpu_all"), "×"),
                       fmt(heap["rows"].get("massif", {}).get("slow_cpu_all"), "×")),
                   status(lt(hp["slow_cpu"], 2.0))))
    A("## Targets (shown, never asserted)")
    A("")
    A("| target | measured | |\n|---|---|---|")
    for t in tg:
        A("| %s | %s | %s |" % t)
    A("")

    A("## 1. Recording overhead")
    A("")
    A("The workload runs under bench/rusage (fork, exec, wait4), which writes the workload's "
      "own wall and CPU time; the recorder starts rusage, so *recorder CPU* is the recorder's "
      "wait4 total minus the workload's and rusage's own. Workloads run for a fixed time and "
      "print how many rounds of work they did: *slowdown* is the median over pairs of "
      "(wall time per round under the recorder) / (per round alone, same pair) − 1, the same "
      "for CPU per round. The machine is shared (see the load average): wall per round also "
      "measures how much CPU the workload got from the scheduler, so the targets use CPU per "
      "round, which is the cost sampling adds to the work itself (interrupts, unwinding in "
      "the kernel, cache pollution); the recorder's own CPU is its own column. *finish* is the time the recorder runs after the workload exits "
      "(perfsample: symbol embedding; perf: build-id collection). perf.data sizes are with and "
      "without `-z`. ratio: perfsample's wall per round / perf's, per pair.")
    A("")
    A("| case | recorder | slowdown wall | slowdown CPU | recorder CPU s (per s of workload) "
      "| recorder peak RSS MB | finish s | samples | bytes/sample |")
    A("|---|---|---|---|---|---|---|---|---|")
    for o in ovh:
        for v in ("perfsample", "perf", "perf -z"):
            r = o["rows"][v]
            A("| %s | %s%s | %s | %s | %s (%s) | %s | %s | %s | %s |" % (
                o["name"], v, " (%d runs failed)" % r["failed"] if r["failed"] else "", pct(r["slow_wall"]), pct(r["slow_cpu"]), fmt(r["rec_cpu"]),
                fmt(r["rec_cpu_per_s"]), fmt(r["rec_rss"]), fmt(r["finish"]),
                fmt(r["samples"]), fmt(r["bps"])))
        A("| %s | ratio perfsample/perf | wall/round %s | CPU/round %s | recorder CPU %s | | | | |"
          % (o["name"], fmt(o["ratio_cost"], "", 4), fmt(o["ratio_cpu"], "", 4),
             fmt(o["ratio_rec_cpu"])))
    A("")
    A("Pairs per case: %d. Workload alone, median wall per round: %s." % (
        ovh[0]["pairs"], ", ".join("%s %s ms" % (o["name"], fmt(o["rows"]["alone"]["wall_per"] * 1e3))
                                   for o in ovh)))
    A("")

    A("## 2. Trace size")
    A("")
    A("Bytes per sample of the whole file (header, mappings, embedded symbols included), "
      "from the recordings above and the long recordings of section 3.")
    A("")
    A("| trace | samples | perfsample | perf.data | perf.data -z | perfsample / perf -z | perfsample / perf |")
    A("|---|---|---|---|---|---|---|")
    for o in ovh:
        r = o["rows"]
        a, b, c = r["perfsample"]["bps"], r["perf"]["bps"], r["perf -z"]["bps"]
        A("| %s | %s | %s | %s | %s | %s | %s |" % (o["name"], fmt(r["perfsample"]["samples"]),
                                               fmt(a), fmt(b), fmt(c), fmt(div(a, c)), fmt(div(a, b))))
    for rr in real:
        a, b = rr["bytes_ps"] / rr["n_ps"], rr["bytes_perf"] / rr["n_perf"]
        A("| split + python3, fp, 4 kHz, %s s | %d / %d | %s | %s | – | – | %s |" % (
            rr["secs"], rr["n_ps"], rr["n_perf"], fmt(a), fmt(b), fmt(a / b)))
    A("")

    A("## 3, 4. Time to picture and peak memory")
    A("")
    A("**Real traces**: split and python3 run together, recorded by each tool at 4 kHz per "
      "thread (`-g -c 250000`): each tool's own recording of the same workload, so the sample "
      "counts differ a little and *speedup* compares time per sample. perfsample: "
      "`perfsample flamegraph -i T` (or `fold`). Peer: `perf script -i perf.data | "
      "stackcollapse-perf.pl | flamegraph.pl` as a real pipeline (or without flamegraph.pl).")
    A("")
    A("| step | samples (ps / perf) | perfsample s | peer s | perfsample µs/sample | peer µs/sample | speedup | perfsample RSS MB | peer RSS MB |")
    A("|---|---|---|---|---|---|---|---|---|")
    for rr in real:
        for k, lab in (("flame", "trace → SVG"), ("fold", "trace → folded")):
            o = rr[k]
            A("| %s | %d / %d | %s | %s | %s | %s | %s | %s | %s |" % (
                lab, rr["n_ps"], rr["n_perf"], fmt(o["ps"]), fmt(o.get("peer")), fmt(o["ps_us"]),
                fmt(o.get("peer_us")), fmt(o.get("speedup")) + ("×" if "speedup" in o else ""),
                fmt(o["ps_rss"]), fmt(o.get("peer_rss"))))
        A("| `perf script` alone | – / %d | | %s | | %s | | | %s |" % (
            rr["n_perf"], fmt(rr["perf_script"]), fmt(rr["perf_script_us"]),
            fmt(rr["perf_script_rss"])))
    A("")
    A("**Synthetic traces** (bench/gen_trace.c: the real format from the real writer, MMAP "
      "records of real files on this machine, kernel addresses from kallsyms, 3000 distinct "
      "stacks of depth 10-40 drawn with Zipf weights, 4 processes, symbols embedded by "
      "ps_sym_embed as `record` does). The peer reads the same samples as perf-script text "
      "written by `perfsample script` (perf cannot read our trace, and we cannot write "
      "perf.data): its rows time stackcollapse-perf.pl then flamegraph.pl on that text "
      "(sequential steps: stackcollapse prints only at its end, so this equals the pipeline). "
      "*+ perf script (est.)* adds what `perf script` would take for that many samples at "
      "the µs/sample measured on the largest real perf.data above; the speedup in the "
      "targets uses it. *from perf-script text* compares `perfsample fold --input "
      "perf-script` with stackcollapse-perf.pl on the same text (*same output*: byte for byte).")
    A("")
    A("| samples | step | perfsample s | peer s (Perl only) | ratio ps/peer | peer + perf script (est.) s | speedup (est.) | perfsample RSS MB | peer RSS MB |")
    A("|---|---|---|---|---|---|---|---|---|")
    for s in synth:
        for k, lab in (("flame", "trace → SVG"), ("fold", "trace → folded"),
                       ("text", "perf-script text → folded")):
            o = s[k]
            A("| %d | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                s["n"], lab, fmt(o["ps"]), fmt(o.get("peer")), fmt(o.get("ratio")),
                fmt(o.get("peer_est")), fmt(o.get("speedup_est")) + ("×" if "speedup_est" in o else ""),
                fmt(o["ps_rss"]), fmt(o.get("peer_rss"))))
    A("")
    A("| samples | pairs | trace bytes | perf-script text bytes | gen_trace s | `perfsample script` s | same output |")
    A("|---|---|---|---|---|---|---|")
    for s in synth:
        A("| %d | %d | %d | %d | %s | %s | %s |" % (s["n"], s["pairs"], s["bytes"], s["text_bytes"],
                                               fmt(s["gen"]["wall"]), fmt(s["script"]["wall"]),
                                               {None: "–", True: "yes", False: "**no**"}[s["same_fold"]]))
    A("")
    if bigs:
        A("Beyond the Perl pipeline's reach (its text alone would be gigabytes): perfsample "
          "only, median of the runs; the budget is 10M samples to SVG in < 5 s (issue: < 3 s, "
          "< 300 MB).")
        A("")
        A("| samples | trace bytes | trace → SVG s | peak RSS MB | trace → folded s | peak RSS MB |")
        A("|---|---|---|---|---|---|")
        for b in bigs:
            A("| %d | %d | %s | %s | %s | %s |" % (b["n"], b["bytes"], fmt(b["flame"]["ps"]),
                                                fmt(b["flame"]["ps_rss"]), fmt(b["fold"]["ps"]),
                                                fmt(b["fold"]["ps_rss"])))
        A("")

    A("## 5. Symbolization")
    A("")
    A("python3 bench/pyloop.py recorded at 999 Hz with -g. perfsample: `perfsample fold -i T` "
      "on a trace recorded with `--no-embed-symbols` (every address resolved from the ELF "
      "files: python3.11's symbol table, libc, the kernel); peer: `perf script -i perf.data` "
      "(which also resolves everything). Cold = after `echo 3 > /proc/sys/vm/drop_caches`%s; "
      "warm = the run right after." % ("" if sym["can_drop"] else " (**could not drop caches: not root**)"))
    A("")
    A("| | samples | cold s | warm s | peak RSS MB |")
    A("|---|---|---|---|---|")
    A("| perfsample fold (no embedded symbols) | %s | %s | %s | %s |" % (
        fmt(sym["n_ps"]), fmt(sym["ps_cold"]), fmt(sym["ps_warm"]), fmt(sym["ps_warm_rss"])))
    A("| perf script | %s | %s | %s | %s |" % (fmt(sym["n_perf"]), fmt(sym["perf_cold"]),
                                           fmt(sym["perf_warm"]), fmt(sym["perf_warm_rss"])))
    A("| ratio perfsample/perf (per pair) | | %s | %s | |" % (fmt(sym["ratio_cold"]), fmt(sym["ratio_warm"])))
    A("| perfsample fold, symbols embedded (reference) | | | %s | %s |" % (
        fmt(sym["ps_embed"]), fmt(sym["ps_embed_rss"])))
    A("")

    if heap:
        heap_section(A, heap)
    if stat:
        A("## 6. System statistics sampler")
        A("")
        A("`perfsample stat -a -I 1000` for %d s with %d processes on the machine, against "
          "sysstat's `pidstat -h -u -r -w -d 1` (every process's CPU, memory, context switches "
          "and I/O each second). CPU is the sampler's own, as a percent of one CPU; the "
          "budget is < 1%%." % (stat["secs"], stat["nprocs"]))
        A("")
        A("| | CPU %% of one CPU | trace bytes |")
        A("|---|---|---|")
        A("| perfsample stat -a, the whole process (start, first full read, trace) | %s | %d |"
          % (fmt(stat["ps"]), stat["ps_bytes"]))
        A("| perfsample stat -a, sampling only (what stat reports) | %s | |"
          % fmt(stat["ps_sampling"]))
        if "pidstat" in stat:
            A("| pidstat | %s | |" % fmt(stat["pidstat"]))
            A("| ratio perfsample/pidstat | %s | |" % fmt(div(stat["ps"], stat["pidstat"])))
        A("")

    A("## Where perfsample's time goes (it profiles itself)")
    A("")
    for name, (svg, cmd, rep, tot) in prof.items():
        A("`perfsample record -F 999 -g -- %s`: flame graph [bench/%s](%s)." % (cmd, svg, svg))
        A("")
        A("```\n%s```" % rep)
        A("")
        A("<details><summary>by total</summary>\n\n```\n%s```\n</details>" % tot)
        A("")
    md = "\n".join(L) + "\n"
    with open(args.out, "w") as f:
        f.write(md)

    bars = []
    for o in ovh:
        r = o["rows"]
        if o["ratio_rec_cpu"]:
            bars.append(("recorder CPU: %s" % o["name"], 1 / o["ratio_rec_cpu"]))
        bars.append(("size vs perf -z: %s" % o["name"], div(r["perf -z"]["bps"], r["perfsample"]["bps"])))
    for rr in real:
        if "speedup" in rr["flame"]:
            bars.append(("to SVG, real %dk samples" % (rr["n_ps"] // 1000), rr["flame"]["speedup"]))
    for s in synth:
        if "speedup_est" in s["flame"]:
            bars.append(("to SVG, synthetic %dk (est.)" % (s["n"] // 1000), s["flame"]["speedup_est"]))
        if "ratio" in s["text"]:
            bars.append(("perf-script text → folded, %dk" % (s["n"] // 1000), 1 / s["text"]["ratio"]))
    bars.append(("symbolization cold", 1 / sym["ratio_cold"] if sym["ratio_cold"] else None))
    bars.append(("symbolization warm", 1 / sym["ratio_warm"] if sym["ratio_warm"] else None))
    svg_plot(bars, os.path.join(os.path.dirname(args.out), "ratios.svg"))
    return md


if __name__ == "__main__":
    main()
