"""The agent's own CPU (bench/run.py's section 'Agent'): perfsample agent idle, scraped for
/metrics every second (a Prometheus at a 1 s interval), and scraped as Parca and Alloy do
(a 14 s profile every 15 s). CPU is the agent's, its reaped children's (the recorders it runs
per profile) and its live children's (the renderer), from /proc/PID/stat, scaled to CPU
seconds per hour.
Run alone: python3 bench/agent.py [--quick] [PERFSAMPLE]"""
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_of(pid):
    """utime + stime + cutime + cstime of pid and of its live descendants (the agent's
    renderer lives as long as the agent), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # it ended: its parent's cutime has it
    total = sum(int(x) for x in fields[11:15]) / TICK
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        tasks = []
    for t in tasks:
        try:
            with open("/proc/%d/task/%s/children" % (pid, t)) as f:
                kids = [int(k) for k in f.read().split()]
        except OSError:
            kids = []
        for k in kids:
            total += cpu_of(k)
    return total


def get(url, timeout):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return len(r.read())


def phase(pid, secs, work):
    """Runs work(stop_event) for secs; returns the agent's CPU seconds per hour."""
    c0, t0 = cpu_of(pid), time.monotonic()
    stop = threading.Event()
    th = threading.Thread(target=work, args=(stop,))
    th.start()
    time.sleep(secs)
    stop.set()
    th.join()
    c1, t1 = cpu_of(pid), time.monotonic()
    return (c1 - c0) / (t1 - t0) * 3600.0, t1 - t0


def agent_rows(ps, quick):
    port = free_port()
    base = "http://127.0.0.1:%d" % port
    proc = subprocess.Popen([ps, "agent", "--listen", "127.0.0.1:%d" % port],
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                get(base + "/metrics", 5)
                break
            except OSError:
                time.sleep(0.1)
        idle_s = 10 if quick else 60
        scrapes = 2 if quick else 4
        rows = []

        def idle(stop):
            stop.wait()

        def metrics(stop):
            while not stop.wait(1.0):
                get(base + "/metrics", 5)

        answers = []  # (status, seconds) of each scrape

        def parca(stop):
            while not stop.is_set():
                t = time.monotonic()
                try:
                    get(base + "/debug/pprof/profile?seconds=14", 60)
                    status = 200
                except urllib.error.HTTPError as e:
                    status = e.code
                except OSError:
                    status = "timeout"
                answers.append((status, time.monotonic() - t))
                stop.wait(max(0.0, 15 - (time.monotonic() - t)))

        for name, fn, secs in (("idle", idle, idle_s),
                               ("/metrics every 1 s", metrics, idle_s),
                               ("whole-host 14 s profile every 15 s (Parca's shape)", parca,
                                15 * scrapes)):
            per_hour, wall = phase(proc.pid, secs, fn)
            rows.append((name, per_hour, wall))
        return rows, answers
    finally:
        proc.terminate()
        proc.wait(30)


def section(ps, quick):
    rows, answers = agent_rows(ps, quick)
    L = ["## Agent: its own CPU", "",
         "`perfsample agent` on 127.0.0.1, CPU of the agent and the recorders it runs "
         "(utime+stime+cutime+cstime of /proc/PID/stat, and of its live renderer) over each "
         "phase, scaled to an hour. "
         "Budget: < 1% of one CPU (36 CPU s per hour) at a 1 s interval.", "",
         "| phase | measured for | CPU s per hour | % of one CPU |", "|---|---|---|---|"]
    for name, per_hour, wall in rows:
        L.append("| %s | %.0f s | %.1f | %.3f%% |" % (name, wall, per_hour, per_hour / 36.0))
    L.append("")
    if answers:
        L.append("The 14 s profiles answered in %s s (statuses %s; Parca's timeout is 15 s)." % (
            ", ".join("%.2f" % t for _, t in answers), ", ".join(str(c) for c, _ in answers)))
        L.append("")
    return "\n".join(L)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--quick"]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    print(section(args[0] if args else os.path.join(root, "perfsample"), "--quick" in sys.argv))
