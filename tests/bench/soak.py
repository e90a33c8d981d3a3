#!/usr/bin/env python3
"""Soak test: mixed traffic through zend for a long time; RSS and fds must not grow.

Run by `make soak` (SOAK_SECONDS, default 600). Traffic, from --workers
threads, each request picking a scenario at random:

  ok          200 JSON from a healthy provider
  failover    first provider answers 500, zend fails over to the second
  429         single provider answering 429: the client gets that 429
  429_fo      429 from the first provider, failover to the second
  stream      a complete SSE stream (30 events, 20 ms apart)
  cut         a stream the provider cuts after 3 events (zend ends it with an
              in-band error event)
  disconnect  the client hangs up after the first events of a slow stream

The providers are tests/mock/mock_provider.py instances, one per behaviour,
each with a `default` step (speed is not the point here). Cooldowns are set
short so failovers keep happening.

Every --interval seconds (10) the load pauses: the workers finish their
request and close their connections, we wait until zend has nothing in flight
and no client connection, then read the worker's VmRSS and open fds from /proc
(an "idle point"), and the load resumes. The first idle point after the
warm-up (--warmup, default min(60, SOAK_SECONDS/5), at least 20 s) is the
baseline (the warm-up also lasts until zend has served --warmup-requests,
3000, so that its in-memory log ring is full: filling it costs ~4 MB); the
run fails (exit 1) if any later idle point has RSS more than 5 %
above it, any more fds than it, or if the worker restarted.
"""
import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
import urllib.request

import benchlib as bl
from benchlib import log

MOCK = os.path.join(bl.SOURCE_DIR, "tests", "mock", "mock_provider.py")

BODY = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 256,
                   "messages": [{"role": "user", "content": "soak test, say hi"}]}).encode()
SBODY = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 256, "stream": True,
                    "messages": [{"role": "user", "content": "soak test, stream"}]}).encode()


def ev(name, data):
    return "event: %s\ndata: %s\n\n" % (name, json.dumps(data, separators=(",", ":")))


def sse_events(n_deltas, delay_ms):
    evs = [{"data": ev("message_start", {"type": "message_start", "message": {
        "id": "msg_soak", "type": "message", "role": "assistant", "content": [],
        "model": "mock", "usage": {"input_tokens": 5, "output_tokens": 1}}})},
        {"data": ev("content_block_start", {"type": "content_block_start", "index": 0,
                                            "content_block": {"type": "text", "text": ""}})}]
    for i in range(n_deltas):
        evs.append({"delay_ms": delay_ms, "data": ev("content_block_delta", {
            "type": "content_block_delta", "index": 0,
            "delta": {"type": "text_delta", "text": "word%d " % i}})})
    evs += [{"data": ev("content_block_stop", {"type": "content_block_stop", "index": 0})},
            {"data": ev("message_delta", {"type": "message_delta",
                                          "delta": {"stop_reason": "end_turn"},
                                          "usage": {"output_tokens": n_deltas}})},
            {"data": ev("message_stop", {"type": "message_stop"})}]
    return evs


# name -> the mock's default step
MOCK_STEPS = {
    "ok": {"status": 200, "json": {
        "id": "msg_soak", "type": "message", "role": "assistant",
        "content": [{"type": "text", "text": "hello from the soak mock " * 8}],
        "model": "mock", "stop_reason": "end_turn",
        "usage": {"input_tokens": 5, "output_tokens": 40}}},
    "fail": {"status": 500, "json": {"type": "error", "error": {
        "type": "api_error", "message": "Internal server error"}}},
    "rl": {"status": 429, "headers": {"retry-after": "1"}, "json": {"type": "error", "error": {
        "type": "rate_limit_error", "message": "Number of requests has exceeded your rate limit"}}},
    "stream": {"sse": sse_events(25, 20)},
    "cut": {"sse": sse_events(25, 10), "end": "close", "after_events": 3},
}

# scenario -> (weight, profile, streaming, hang up after N events or None)
SCENARIOS = {
    "ok": (35, "ok", False, None),
    "failover": (15, "fo", False, None),
    "429": (10, "rl", False, None),
    "429_fo": (10, "rlfo", False, None),
    "stream": (12, "stream", True, None),
    "cut": (9, "cut", True, None),
    "disconnect": (9, "stream", True, 3),
}


class Mock:
    def __init__(self, procs, workdir, name):
        self.name = name
        pf = os.path.join(workdir, "mock-%s.port" % name)
        self.proc = procs.start("mock-" + name, [sys.executable, MOCK, "--port-file", pf])
        bl.wait_until(lambda: os.path.exists(pf) or self.proc.poll() is not None, 20.0,
                      what="mock %s" % name)
        if self.proc.poll() is not None:
            raise RuntimeError("mock %s exited" % name)
        with open(pf) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port
        self.configure()

    def call(self, path, obj):
        req = urllib.request.Request(self.url + "/__mock/" + path,
                                     data=json.dumps(obj).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def configure(self):
        """Reset (drops the mock's growing request records) and set the default step."""
        self.call("reset", {})
        self.call("default", MOCK_STEPS[self.name])


class Load:
    """Worker threads sending the mix; pause() brings them all to rest."""

    def __init__(self, port, workers, seed):
        self.port = port
        self.n = workers
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.counts = {}           # (scenario, outcome) -> n
        self.run_flag = threading.Event()
        self.stop_flag = threading.Event()
        self.resting = 0
        self.rest_cv = threading.Condition(self.lock)
        names = list(SCENARIOS)
        self.names = names
        self.weights = [SCENARIOS[n][0] for n in names]
        self.threads = [threading.Thread(target=self.worker, args=(i,), daemon=True)
                        for i in range(workers)]

    def count(self, scenario, outcome):
        with self.lock:
            k = (scenario, outcome)
            self.counts[k] = self.counts.get(k, 0) + 1

    def one(self, conn, scenario):
        """Sends one request; returns (outcome, connection still usable)."""
        _, profile, streaming, hangup = SCENARIOS[scenario]
        path = "/%s/soak/v1/messages" % profile
        conn.request("POST", path, body=SBODY if streaming else BODY, headers={
            "content-type": "application/json", "anthropic-version": "2023-06-01",
            "x-api-key": "sk-soak"})
        r = conn.getresponse()
        if not streaming or r.status != 200:
            r.read()
            return str(r.status), not r.will_close
        events = 0
        buf = b""
        while True:
            line = r.readline()
            if not line:
                break
            buf += line
            if line in (b"\n", b"\r\n"):
                events += 1
                if hangup is not None and events >= hangup:
                    return "hung_up", False          # close with the body unread
        complete = b"message_stop" in buf and b"event: error" not in buf
        if not complete:
            return "interrupted", False    # zend closes a connection after a cut stream
        return "complete", not r.will_close

    def worker(self, i):
        rng = random.Random(self.rng.random())
        conn = None
        while not self.stop_flag.is_set():
            if not self.run_flag.is_set():
                if conn is not None:
                    conn.close()
                    conn = None
                with self.rest_cv:
                    self.resting += 1
                    self.rest_cv.notify_all()
                self.run_flag.wait(1.0)
                with self.rest_cv:
                    self.resting -= 1
                continue
            scenario = rng.choices(self.names, self.weights)[0]
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
                outcome, keep = self.one(conn, scenario)
            except (OSError, http.client.HTTPException) as e:
                outcome, keep = "exc_" + type(e).__name__, False
            self.count(scenario, outcome)
            if not keep:
                conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def start(self):
        self.run_flag.set()
        for t in self.threads:
            t.start()

    def pause(self, timeout=40.0):
        """Stops the load; returns once every worker rests with no connection."""
        self.run_flag.clear()
        end = time.monotonic() + timeout
        with self.rest_cv:
            while self.resting < self.n:
                left = end - time.monotonic()
                if left <= 0:
                    raise RuntimeError("load did not come to rest within %.0fs" % timeout)
                self.rest_cv.wait(left)

    def resume(self):
        self.run_flag.set()

    def stop(self):
        self.stop_flag.set()
        self.run_flag.set()
        for t in self.threads:
            t.join(40)


def idle_point(z, t0, upstream_ports):
    """Waits for zend to be idle, then reads RSS and fds of its worker."""
    def quiet():
        m = z.metrics()
        if not m:
            return None
        res = m.get("resources", {})
        return m if m.get("in_flight") == 0 and res.get("client_connections") == 0 else None
    m = bl.wait_until(quiet, 15.0, interval=0.1, what="zend to be idle")
    time.sleep(0.5)                       # let closes and frees settle
    pid = z.worker_pid()
    h = z.zenctl("-o", "json", "health")
    up = None
    if h.stdout.strip().startswith("{"):
        up = json.loads(h.stdout).get("resources", {}).get("upstream_connections")
    kinds = bl.fd_kinds(pid, upstream_ports) or {}
    fds = bl.fd_count(pid)
    return {"t": round(time.monotonic() - t0, 1), "pid": pid, "rss_kb": bl.rss_kb(pid),
            "fds": fds, "fd_kinds": kinds, "upstream_conns": up,
            # fds less idle keep-alive connections to the providers (see README)
            "fds_own": None if fds is None else fds - kinds.get("upstream", 0),
            "requests": m.get("requests_total"), "failovers": m.get("failovers_total"),
            "errors": {k: v for k, v in (m.get("errors_by_type") or {}).items() if v}}


def main():
    ap = argparse.ArgumentParser(description="zend soak test")
    ap.add_argument("--seconds", type=float, default=float(os.environ.get("SOAK_SECONDS", 600)))
    ap.add_argument("--warmup", type=float, default=float(os.environ.get("SOAK_WARMUP", 0)) or None)
    ap.add_argument("--warmup-requests", type=int,
                    default=int(os.environ.get("SOAK_WARMUP_REQUESTS", 3000)),
                    help="the warm-up also lasts until zend has served this many requests, "
                         "so its log ring (daemon.log_ring, 2000 records) is full")
    ap.add_argument("--interval", type=float, default=10.0)
    ap.add_argument("--workers", type=int, default=int(os.environ.get("SOAK_WORKERS", 8)))
    ap.add_argument("--rss-growth", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--daemon-json", default=os.environ.get("SOAK_DAEMON_JSON", "{}"),
                    help="extra zen.json daemon keys, e.g. '{\"log_ring\": 100}'")
    ap.add_argument("--out", default=os.path.join(bl.BUILD, "bench", "soak.json"))
    args = ap.parse_args()
    warmup = args.warmup or max(20.0, min(60.0, args.seconds / 5))
    if not os.path.exists(bl.ZEND):
        sys.exit("soak: %s not built" % bl.ZEND)

    workdir = os.path.join(bl.BUILD, "bench", "soak-run")
    import shutil
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    procs = bl.Procs(workdir)
    bl.install_signal_cleanup(procs)
    bl.raise_nofile(16384)
    samples = []
    failures = []
    load = None
    try:
        mocks = {n: Mock(procs, workdir, n) for n in MOCK_STEPS}

        def prov(n):
            return {"base_url": mocks[n].url}
        cfg = {
            "providers": {
                "ok": prov("ok"), "ok2": prov("ok"), "fail": prov("fail"), "rl": prov("rl"),
                "stream": prov("stream"), "cut": prov("cut")},
            "profiles": {"ok": ["ok"], "fo": ["fail", "ok2"], "rl": ["rl"],
                         "rlfo": ["rl", "ok2"], "stream": ["stream"], "cut": ["cut"],
                         "default": ["ok"]},
            "daemon": {"listen": "127.0.0.1:0", "max_concurrent": 200,
                       # short cooldowns: failovers keep happening all along
                       "cooldown_initial_ms": 200, "cooldown_max_ms": 400,
                       "probe_interval_ms": 200, "retry_same_provider": 0,
                       "idle_timeout_ms": 5000},
        }
        cfg["daemon"].update(json.loads(args.daemon_json))
        z = bl.Zend(procs, os.path.join(workdir, "zend-home"), cfg)
        ports = {m.port for m in mocks.values()}
        log("soak: %ds, warm-up %ds, %d workers, sample every %ds; zend worker pid %d on :%d"
            % (args.seconds, warmup, args.workers, args.interval, z.pid, z.port))
        t0 = time.monotonic()
        first = idle_point(z, t0, ports)
        first["phase"] = "start"
        samples.append(first)
        log("  t=%6.1fs  rss %6d KB  fds %3d  (start, before any load; fds by kind %s)" % (
            first["t"], first["rss_kb"], first["fds"], first["fd_kinds"]))
        load = Load(z.port, args.workers, args.seed)
        load.start()
        baseline = None
        end = t0 + args.seconds
        next_sample = t0 + args.interval
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(max(0.0, min(next_sample, end) - now))
            if time.monotonic() < next_sample and time.monotonic() < end:
                continue
            load.pause()
            s = idle_point(z, t0, ports)
            for m in mocks.values():
                m.configure()
            load.resume()
            next_sample = time.monotonic() + args.interval
            warm = s["t"] < warmup or (s["requests"] or 0) < args.warmup_requests
            s["phase"] = "warmup" if warm and baseline is None else "measure"
            if s["phase"] == "measure" and baseline is None:
                baseline = s
                s["phase"] = "baseline"
            elif baseline is not None:
                if s["pid"] != baseline["pid"]:
                    failures.append("t=%.0fs: the worker restarted (pid %d -> %d)"
                                    % (s["t"], baseline["pid"], s["pid"]))
                if s["rss_kb"] > baseline["rss_kb"] * (1 + args.rss_growth):
                    failures.append("t=%.0fs: RSS %d KB > baseline %d KB + %.0f%%" % (
                        s["t"], s["rss_kb"], baseline["rss_kb"], args.rss_growth * 100))
                if s["fds_own"] > baseline["fds_own"]:
                    failures.append("t=%.0fs: %d open fds (less pooled upstream) > baseline %d"
                                    % (s["t"], s["fds_own"], baseline["fds_own"]))
            samples.append(s)
            log("  t=%6.1fs  rss %6d KB  fds %3d (%d + %d pooled upstream)  requests %d  "
                "failovers %d  %s" % (s["t"], s["rss_kb"], s["fds"], s["fds_own"],
                                      s["fd_kinds"].get("upstream", 0), s["requests"] or 0,
                                      s["failovers"] or 0, s["phase"]))
        load.stop()
        final = idle_point(z, t0, ports)
        final["phase"] = "end"
        samples.append(final)
        if baseline is not None:
            if final["rss_kb"] > baseline["rss_kb"] * (1 + args.rss_growth):
                failures.append("end: RSS %d KB > baseline %d KB + %.0f%%" % (
                    final["rss_kb"], baseline["rss_kb"], args.rss_growth * 100))
            if final["fds_own"] > baseline["fds_own"]:
                failures.append("end: %d open fds (less pooled upstream) > baseline %d"
                                % (final["fds_own"], baseline["fds_own"]))
        else:
            failures.append("no idle point after the warm-up (%.0f s and %d requests): "
                            "run longer" % (warmup, args.warmup_requests))
        counts = {}
        for (sc, outcome), n in sorted(load.counts.items()):
            counts.setdefault(sc, {})[outcome] = n
        z.stop()
        zend_exit = z.proc.returncode
    finally:
        if load is not None:
            load.stop_flag.set()
            load.run_flag.set()
        procs.stop_all()

    print()
    print("soak: %.0f s, %d workers, warm-up %.0f s" % (args.seconds, args.workers, warmup))
    for sc, oc in counts.items():
        print("  %-10s %s" % (sc, " ".join("%s=%d" % kv for kv in sorted(oc.items()))))
    print("  zend errors_by_type at end: %s" % final.get("errors"))
    print("  %-9s %8s %8s %5s %9s %7s" % ("", "t (s)", "RSS KB", "fds", "own fds", "pooled"))
    for label, s in (("start", samples[0]), ("baseline", baseline), ("end", final)):
        if s:
            print("  %-9s %8.1f %8d %5d %9d %7d" % (label, s["t"], s["rss_kb"], s["fds"],
                                                   s["fds_own"], s["fd_kinds"].get("upstream", 0)))
    if baseline:
        print("  RSS growth after warm-up: %+.1f %% (limit %.0f %%); max %d KB over %d idle points"
              % (100.0 * (final["rss_kb"] - baseline["rss_kb"]) / baseline["rss_kb"],
                 args.rss_growth * 100, max(s["rss_kb"] for s in samples if s["phase"] in
                                            ("baseline", "measure", "end")),
                 sum(1 for s in samples if s["phase"] in ("baseline", "measure", "end"))))
    print("  zend exit code: %s" % zend_exit)
    doc = {"seconds": args.seconds, "warmup": warmup, "workers": args.workers,
           "samples": samples, "counts": counts, "failures": failures, "zend_exit": zend_exit}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
    if zend_exit != 0:
        failures.append("zend exited %s on SIGTERM" % zend_exit)
    if failures:
        print("SOAK FAILED:")
        for f_ in failures:
            print("  " + f_)
        sys.exit(1)
    print("soak ok (%s)" % args.out)


if __name__ == "__main__":
    main()
