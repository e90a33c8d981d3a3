#!/usr/bin/env python3
"""What the usage ledger costs per request, by the size of usage.db.

For each database size N (--sizes; "off" is a row with the ledger off, the
baseline): a fresh ZEN_HOME; zend (--no-supervisor,
the worker is the process) starts once against the fastsse.py mock (--gap-ms
0) to create usage.db in its own schema, serves one request and stops; the
file is then filled to N rows with sqlite3 (copies of that row, request ids
and timestamps varied, ts rising with id over the last week: what a ledger
that served N requests looks like) and checkpointed. zend starts again on it,
gets --warmup seconds of load, then two measured phases of --seconds each,
sent by wrk over --conns keep-alive connections (the bench's small JSON
request):

  clean   no tracer: CPU seconds of the process and of the ledger's writer
          thread (/proc/PID/task/TID/stat), and /proc/.../io: read and write
          system calls (syscr, syscw), bytes through them (rchar, wchar) and
          bytes that reached the disk (read_bytes, write_bytes)
  strace  strace -f, one line per call, counted by thread: system calls of
          the writer and of the whole process, and the writer's pread64 /
          pwrite64 split by file (usage.db, usage.db-wal)

Every figure is per request (the delta of `zenctl metrics`'s requests_total,
read once nothing is in flight and the ledger's queue is empty, so the rows
of those requests are written). The writer thread is the one that wrote the
most. A WAL checkpoint (SQLite's automatic one, every 1000 pages, ~20k rows)
copies the WAL into usage.db: it is where the writer's reads come from, and
a short window either holds one or not; --seconds long enough for several
gives the average. Figures, not assertions:

  python3 tests/bench/ledgercost.py [--sizes off,0,200000,1000000] [--seconds 10]
"""
import argparse
import collections
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
from bench import MODEL, REQUEST, write_lua  # noqa: E402

PATH = "/default/bench/v1/messages"


def config(mport):
    return {"providers": {"mock": {"base_url": "http://127.0.0.1:%d" % mport}},
            "profiles": {"default": ["mock"]},
            "daemon": {"listen": "127.0.0.1:0", "max_concurrent": 4000}}


def one_request(port):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, PATH),
                                 data=json.dumps(REQUEST).encode(), method="POST")
    for k, v in (("content-type", "application/json"), ("anthropic-version", "2023-06-01"),
                 ("x-api-key", "sk-bench-not-a-real-key")):
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=30) as r:
        r.read()


def usage_status(z):
    st = z._status()
    return st["usage"] if st else None


def wait_written(z, at_least):
    """Waits until the ledger wrote at_least rows and has none queued; returns
    usage.written."""
    def done():
        u = usage_status(z)
        return u["written"] if u and u["written"] >= at_least and u["queued"] == 0 else None
    return bl.wait_until(done, 60.0, interval=0.02, what="the ledger to write its rows")


def fill(db_path, n):
    """Copies the file's one row n times (ids and ts rising), then checkpoints."""
    db = sqlite3.connect(db_path, isolation_level=None)
    cols = [r[1] for r in db.execute("PRAGMA table_info(usage)") if r[1] != "id"]
    row = list(db.execute("SELECT %s FROM usage ORDER BY id LIMIT 1" % ",".join(cols)).fetchone())
    its, irid = cols.index("ts"), cols.index("request_id")
    now = int(time.time() * 1000)
    start = now - 7 * 86400 * 1000
    step = (now - 3600 * 1000 - start) / max(n, 1)
    db.execute("DELETE FROM usage")

    def rows():
        for i in range(n):
            row[its] = start + int(i * step)
            row[irid] = "req_%020d" % i
            yield tuple(row)
    db.execute("BEGIN")
    db.executemany("INSERT INTO usage (%s) VALUES (%s)" % (",".join(cols),
                                                         ",".join("?" * len(cols))), rows())
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()


def tasks(pid):
    try:
        return [int(t) for t in os.listdir("/proc/%d/task" % pid)]
    except OSError:
        return []


def task_stat(pid, tid=None):
    """(cpu seconds, io counters) of a process, or of one of its threads."""
    base = "/proc/%d" % pid + ("/task/%d" % tid if tid else "")
    with open(base + "/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / bl.CLK_TCK
    io = {}
    with open(base + "/io") as f:
        for line in f:
            k, _, v = line.partition(":")
            io[k.strip()] = int(v)
    return cpu, io


def find_writer(pid):
    """The ledger's writer: of the threads that are not the loop's, the one
    that wrote the most (rows into usage.db-wal)."""
    best, most = None, -1
    for tid in tasks(pid):
        if tid == pid:
            continue
        _, io = task_stat(pid, tid)
        if io["wchar"] > most:
            best, most = tid, io["wchar"]
    return best


def run_wrk(lua, port, conns, seconds):
    out = subprocess.run(["wrk", "-t1", "-c%d" % conns, "-d%ds" % seconds, "--timeout", "10s",
                          "-s", lua, "http://127.0.0.1:%d%s" % (port, PATH)],
                         capture_output=True, text=True, timeout=seconds + 60).stdout
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        raise RuntimeError("wrk: %s non-2xx answers" % m.group(1))
    return out


def strace_phase(z, lua, a, work, fdpaths, ledger):
    out = os.path.join(work, "strace.txt")
    p = subprocess.Popen(["strace", "-f", "-qq", "-s", "0", "-p", str(z.pid), "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def attached():
        if p.poll() is not None:
            raise RuntimeError("strace exited (%s)" % p.returncode)
        for tid in tasks(z.pid):
            try:
                with open("/proc/%d/task/%d/status" % (z.pid, tid)) as f:
                    if "TracerPid:\t0\n" in f.read():
                        return False
            except OSError:
                pass
        return True
    bl.wait_until(attached, 10.0, interval=0.01, what="strace to attach")
    try:
        r0 = settle(z, ledger)
        run_wrk(lua, z.port, a.conns, a.seconds)
        r1 = settle(z, ledger)
    finally:
        p.send_signal(2)
        p.wait(timeout=30)
    calls = collections.Counter()           # (tid, name)
    byfile = collections.Counter()          # (tid, name, file)
    line_re = re.compile(r"^(\d+)\s+(?:<\.\.\. )?(\w+)(\(| resumed>)(\d+)?")
    with open(out) as f:
        for line in f:
            m = line_re.match(line)
            if not m or m.group(3) != "(":
                continue
            tid, name = int(m.group(1)), m.group(2)
            calls[(tid, name)] += 1
            if name in ("pread64", "pwrite64") and m.group(4):
                byfile[(tid, name, fdpaths.get(int(m.group(4)), "fd " + m.group(4)))] += 1
    return r1 - r0, calls, byfile


def fd_paths(pid, home):
    res = {}
    d = "/proc/%d/fd" % pid
    for fd in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, fd))
        except OSError:
            continue
        if t.startswith(home):
            res[int(fd)] = os.path.basename(t)
    return res


def settle(z, ledger):
    """Waits until nothing is in flight and (ledger on) no row is queued;
    returns requests_total."""
    def done():
        st = z._status()
        if not st or st["in_flight"] or (ledger and st["usage"]["queued"]):
            return None
        return (z.metrics() or {}).get("requests_total")
    return bl.wait_until(done, 60.0, interval=0.02, what="zend to settle")


def measure(a, n, work):
    """One row of the table: usage.db with n rows, or (n None) the ledger off."""
    ledger = n is not None
    home = os.path.join(work, "home-%s" % (n if ledger else "off"))
    procs = bl.Procs(work)
    try:
        mport = bl.free_port()
        mock = procs.start("mock", [sys.executable, os.path.join(HERE, "fastsse.py"),
                                    "--port", str(mport), "--gap-ms", "0"])
        bl.wait_port(mport, proc=mock)
        cfg = config(mport)
        res = {"rows": n if ledger else "off"}
        if ledger:
            z = bl.Zend(procs, home, cfg, supervisor=False)
            one_request(z.port)
            wait_written(z, 1)
            z.stop()
            t0 = time.monotonic()
            fill(os.path.join(home, "usage.db"), n)
            res["fill_s"] = round(time.monotonic() - t0, 1)
            res["db_mb"] = round(os.path.getsize(os.path.join(home, "usage.db")) / 1e6, 1)
        else:
            cfg["daemon"]["usage"] = {"enabled": False}

        env = {"LD_PRELOAD": a.preload} if a.preload else None
        z = bl.Zend(procs, home, cfg, supervisor=False, env_extra=env)
        lua = os.path.join(work, "wrk.lua")
        write_lua(lua, MODEL, ())
        run_wrk(lua, z.port, a.conns, a.warmup)
        settle(z, ledger)
        writer = find_writer(z.pid) if ledger else None

        # clean phase
        p0 = task_stat(z.pid)
        w0 = task_stat(z.pid, writer) if writer else None
        r0 = settle(z, ledger)
        t0 = time.monotonic()
        run_wrk(lua, z.port, a.conns, a.seconds)
        r1 = settle(z, ledger)
        wall = time.monotonic() - t0
        p1 = task_stat(z.pid)
        k = r1 - r0
        res.update(requests=k, rps=round(k / wall), cpu_us=round((p1[0] - p0[0]) * 1e6 / k, 1))
        for key in ("syscr", "syscw", "rchar", "wchar", "read_bytes", "write_bytes"):
            res["proc_" + key] = round((p1[1][key] - p0[1][key]) / k, 2)
        if writer:
            w1 = task_stat(z.pid, writer)
            res["writer_cpu_us"] = round((w1[0] - w0[0]) * 1e6 / k, 1)
            for key in ("syscr", "syscw", "rchar", "wchar"):
                res["writer_" + key] = round((w1[1][key] - w0[1][key]) / k, 2)
        # strace phase
        if shutil.which("strace") and not a.no_strace:
            fdp = fd_paths(z.pid, home)
            k2, calls, byfile = strace_phase(z, lua, a, work, fdp, ledger)
            res["proc_calls"] = round(sum(calls.values()) / k2, 2)
            if writer:
                res["writer_calls"] = round(sum(v for (t, _), v in calls.items()
                                                if t == writer) / k2, 2)
                res["writer_by_name"] = {nm: round(v / k2, 3)
                                         for (t, nm), v in calls.most_common() if t == writer}
                res["writer_by_file"] = {"%s %s" % (nm, fl): round(v / k2, 3)
                                         for (t, nm, fl), v in byfile.most_common()
                                         if t == writer}
        wal = os.path.join(home, "usage.db-wal")
        if os.path.exists(wal):
            res["wal_mb_end"] = round(os.path.getsize(wal) / 1e6, 2)
        z.stop()
        return res
    finally:
        procs.stop_all()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="off,0,200000,1000000", help="rows in usage.db, comma-separated; \"off\": the ledger off")
    ap.add_argument("--seconds", type=int, default=10, help="of load per measured phase")
    ap.add_argument("--warmup", type=int, default=2, help="seconds of load before them")
    ap.add_argument("--conns", type=int, default=32)
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--preload", help="LD_PRELOAD for the measured zend (an experiment's shim)")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, files)")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ledgercost-")
    results = []
    try:
        for n in [None if x == "off" else int(x) for x in a.sizes.split(",")]:
            bl.log("usage.db with %s rows ..." % ("no (ledger off)" if n is None else n))
            r = measure(a, n, work)
            results.append(r)
            bl.log(json.dumps(r))
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            bl.log("kept %s" % work)
    cols = [("rows", "rows"), ("db MB", "db_mb"), ("requests", "requests"), ("req/s", "rps"),
            ("cpu us", "cpu_us"),
            ("wr cpu us", "writer_cpu_us"), ("wr syscr", "writer_syscr"),
            ("wr syscw", "writer_syscw"), ("wr rchar", "writer_rchar"),
            ("wr wchar", "writer_wchar"), ("disk rd B", "proc_read_bytes"),
            ("disk wr B", "proc_write_bytes"), ("wr calls", "writer_calls"),
            ("all calls", "proc_calls"), ("wal MB", "wal_mb_end")]
    print("per request (row written), %d s of wrk per phase at %d connections (build %s)"
          % (a.seconds, a.conns, bl.BUILD))
    print("  ".join("%10s" % c for c, _ in cols))
    for r in results:
        print("  ".join("%10s" % r.get(k, "-") for _, k in cols))
    for r in results:
        if r.get("writer_by_name"):
            print("%s rows: writer calls/request %s" % (r["rows"], json.dumps(r["writer_by_name"])))
            print("%s rows: writer pread/pwrite by file %s"
                  % (r["rows"], json.dumps(r["writer_by_file"])))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
