# Prints call graphs as pmcstat -R LOG -G OUT lays them out (pmcpl_callgraph.c's
# pmcstat_cgnode_print): per PMC "@ NAME [N samples]", then per sampled function its
# callers, each line "DEPTH-SPACES PCT%  [COUNT] PAD DEPTH-SPACES NAME[ @ IMAGE]".
import sys
K = "/boot/kernel/kernel"
def node(name, image, count, children=()):
    return (name, image, count, list(children))
def pr(out, n, depth, total, state):
    name, image, count, kids = n
    s = " " * depth if depth > 0 else ""
    s += "100.0% " if count == total else "%05.2f%% " % (100.0 * count / total)
    c = " [%u] " % count
    s += c + (" " * (12 - len(c)) if len(c) < 12 else "")
    s += " " * depth if depth > 0 else ""
    s += name
    if state[0] != image:
        state[0] = image
        s += " @ %s" % image
    out.append(s)
    for k in sorted(kids, key=lambda k: -k[2]):
        pr(out, k, depth + 1, count, state)
def section(out, pmc, tops):
    total = sum(t[2] for t in tops)
    out.append("@ %s [%u samples]" % (pmc, total))
    out.append("")
    for t in sorted(tops, key=lambda t: -t[2]):
        state = [None]
        pr(out, t, 0, total, state)
        out.append("")
LIBC = "/lib/libc.so.7"
APP = "/usr/local/bin/postgres"
ZFS = "/boot/kernel/zfs.ko"
out = []
section(out, "CPU_CLK_UNHALTED_CORE", [
    node("witness_unlock", K, 17, [
        node("__mtx_unlock_flags", K, 12, [
            node("selfdfree", K, 2, [node("sys_poll", K, 2, [node("amd64_syscall", K, 2)])]),
            node("pmap_ts_referenced", K, 1, [node("vm_pageout", K, 1, [node("fork_exit", K, 1)])]),
            node("vdev_queue_io_done", ZFS, 9, [node("zio_vdev_io_done", ZFS, 9, [
                node("zio_execute", ZFS, 9, [node("taskqueue_run_locked", K, 9)])])]),
        ]),
        node("_sx_xunlock", K, 5, [node("vm_map_lookup_done", K, 5, [node("vm_fault", K, 5)])]),
    ]),
    node("memcpy", LIBC, 40, [
        node("CopyReadAttrs", APP, 30, [node("ExecScan", APP, 30, [node("ExecutorRun", APP, 30, [
            node("PortalRun", APP, 30, [node("PostgresMain", APP, 30, [node("main", APP, 30)])])])])]),
        node("0x4a2b10", APP, 10, [node("main", APP, 10)]),
    ]),
    node("_ZN7Storage4scanERKSt6vectorIiSaIiEE", APP, 8, [node("main", APP, 8, [node("_start", APP, 8)])]),
    node("0xffffffff80b3c5d0", K, 3),
])
section(out, "INSTR_RETIRED_ANY", [
    node("memcpy", LIBC, 25, [node("CopyReadAttrs", APP, 25, [node("ExecScan", APP, 25)])]),
    node("cpu_idle", K, 60, [node("sched_idletd", K, 60, [node("fork_exit", K, 60)])]),
])
print("\n".join(out))
