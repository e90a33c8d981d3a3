#!/usr/bin/env python3
"""CPU per request by the number of client connections, zend against nginx.

The bench's throughput rows at 32 and 128 connections, on their own and
paired: every target runs side by side on one nginx JSON mock (the bench's
mock-json), pinned as bench.py pins (servers on the first cores, wrk on the
last). A round runs wrk against every target at every connection count,
the targets in reverse order every other round, so that the load of a
shared box falls on all of them alike; the median over the rounds is
printed. Targets: one or more zend builds (--zend NAME=PATH, default the
build's zend; supervisor + worker, the bench's daemon keys) and nginx
proxy_pass (the bench's, keepalive 256; --no-nginx leaves it out).

Per run, of the serving process (zend's worker, nginx's worker): requests/s,
CPU us per request split into user and system time (utime, stime of
/proc/PID/stat over the run, divided by the requests wrk counted), minor
page faults and involuntary context switches per request. A figure that
grows with the connections in user time while the instructions per request
do not (reqcost.py, or callgrind with wrk at both counts) is memory
stalls: more requests in flight, a working set past the core's caches.

  python3 tests/bench/concpu.py [--conns 32,128] [--rounds 6] [--seconds 3]
  python3 tests/bench/concpu.py --zend main=/tmp/zend-main --zend new=build/bin/zend --no-nginx
"""
import argparse
import os
import shutil
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
import bench  # noqa: E402
from fastsse import JSON_BODY  # noqa: E402


def proc_counters(pid):
    """utime and stime (seconds), minor faults, involuntary context switches
    (all threads) of pid."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    ivcs = 0
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                for line in f:
                    if line.startswith("nonvoluntary_ctxt_switches:"):
                        ivcs += int(line.split()[1])
        except OSError:
            pass            # a thread that ended meanwhile
    return (int(st[11]) / bl.CLK_TCK, int(st[12]) / bl.CLK_TCK, int(st[7]), ivcs)


def measure(ctx, url, lua, pid, conns, seconds):
    c0 = proc_counters(pid)
    r = bench.run_wrk(ctx, url, lua, conns, seconds)
    c1 = proc_counters(pid)
    n = max(1, r["requests"])
    return {"rps": r["rps"] or 0.0, "errors": r["errors"],
            "user": (c1[0] - c0[0]) * 1e6 / n, "sys": (c1[1] - c0[1]) * 1e6 / n,
            "minflt": (c1[2] - c0[2]) / n, "ivcs": (c1[3] - c0[3]) / n}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--zend", action="append", metavar="NAME=PATH",
                    help="a zend build to measure (repeatable; default zend=%s)" % bl.ZEND)
    ap.add_argument("--no-nginx", action="store_true")
    ap.add_argument("--conns", default="32,128")
    ap.add_argument("--rounds", type=int, default=6)
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--no-ledger", action="store_true", help="zend with the usage ledger off")
    a = ap.parse_args()
    conns = [int(x) for x in a.conns.split(",") if x]

    class Ctx:
        pass
    ctx = Ctx()
    ncpu = os.cpu_count() or 1
    ctx.load_cpus = str(ncpu - 1) if ncpu >= 2 else None
    ctx.server_cpus = ("0" if ncpu == 2 else "0-%d" % (ncpu - 2)) if ncpu >= 2 else None
    ctx.workdir = tempfile.mkdtemp(prefix="concpu-")
    ctx.procs = bl.Procs(ctx.workdir)
    bl.install_signal_cleanup(ctx.procs)
    bl.raise_nofile(16384)
    try:
        mock = bench.start_json_mock(ctx.procs, "mock-json", ctx.workdir, JSON_BODY,
                                     ctx.server_cpus)
        ctx.mock_json_port = ctx.mock_sse_port = mock.port   # nginx's config names both
        targets = []
        for spec in a.zend or ["zend=" + bl.ZEND]:
            name, _, path = spec.partition("=")
            cfg = {"providers": {"mockjson": {"base_url": "http://127.0.0.1:%d" % mock.port}},
                   "profiles": {"json": ["mockjson"], "default": ["mockjson"]},
                   "daemon": {"listen": "127.0.0.1:0", "max_concurrent": 4000}}
            if a.no_ledger:
                cfg["daemon"]["usage"] = {"enabled": False}
            bl.ZEND = os.path.abspath(path)
            z = bl.Zend(ctx.procs, os.path.join(ctx.workdir, name + "-home"), cfg,
                        cpus=ctx.server_cpus)
            targets.append((name, "http://127.0.0.1:%d/json/bench/v1/messages" % z.port,
                            z.worker_pid()))
        if not a.no_nginx:
            ng = bench.NginxProxy(ctx)
            ng.start()
            targets.append(("nginx", ng.json_url, ng.serving_pid()))
        lua = os.path.join(ctx.workdir, "wrk.lua")
        bench.write_lua(lua, bench.MODEL, ())
        for _, url, _ in targets:                # warm-up: connections, pools
            bench.run_wrk(ctx, url, lua, max(conns), 1)
        runs = {}
        for rnd in range(a.rounds):
            order = targets if rnd % 2 == 0 else targets[::-1]
            for c in conns:
                for name, url, pid in order:
                    m = measure(ctx, url, lua, pid, c, a.seconds)
                    runs.setdefault((name, c), []).append(m)
                    bl.log("round %d %-8s c=%-4d %7.0f req/s  user %5.1f sys %5.1f us/req  "
                           "minflt %.3f ivcs %.2f /req  errors %d" % (
                               rnd, name, c, m["rps"], m["user"], m["sys"], m["minflt"],
                               m["ivcs"], m["errors"]))
        print("median of %d rounds of %s s (load avg %.1f at the end)" % (
            a.rounds, a.seconds, os.getloadavg()[0]))
        print("%-8s %6s %9s %9s %9s %9s %9s %9s" % ("target", "conns", "req/s", "CPU us",
                                                    "user us", "sys us", "minflt", "ivcs"))
        for name, _, _ in targets:
            for c in conns:
                rs = runs[(name, c)]
                med = {k: statistics.median(r[k] for r in rs)
                       for k in ("rps", "user", "sys", "minflt", "ivcs")}
                cpu = statistics.median(r["user"] + r["sys"] for r in rs)
                print("%-8s %6d %9.0f %9.1f %9.1f %9.1f %9.3f %9.2f" % (
                    name, c, med["rps"], cpu, med["user"], med["sys"], med["minflt"],
                    med["ivcs"]))
    finally:
        ctx.procs.stop_all()
        shutil.rmtree(ctx.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
