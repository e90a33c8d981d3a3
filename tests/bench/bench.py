#!/usr/bin/env python3
"""zend against nginx and two Node gateways, on one fast mock, in one run.

Run by `make bench` (which installs wrk, nginx and the Node gateways first).
See tests/bench/README.md for what is measured and how to read the table.

Layout of a run (all on 127.0.0.1, every process stopped by pid at the end):

  mock-json   nginx, `return 200` with a ~1 KiB Anthropic Messages JSON
  mock-sse    fastsse.py, a 60-event Anthropic SSE answer, --gap-ms between events
  mock-json-openai, mock-sse-openai
              the same two in OpenAI Chat's format (chat.completion JSON; a
              chat.completion.chunk stream), the providers of the translated rows
  targets     direct (no proxy), zend, nginx proxy_pass (keepalive upstream),
              Portkey gateway, claude-code-router; each started, measured, stopped
  translated  an Anthropic client through zend and through claude-code-router to
              the OpenAI mocks (both translate A -> Chat -> A), and direct to them
  load        wrk (JSON) and sseclient.py (streams), pinned to the last core
              when the box has >= 2 cores (servers get the others)

Results: a table on stdout, the same as JSON in build/bench/results.json.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import benchlib as bl
from benchlib import log
from benchreport import build_table, check_targets, fmt, format_capacity, format_counts

NODE_MODULES = os.path.join(bl.BUILD, "bench", "node_modules")
PORTKEY_JS = os.path.join(NODE_MODULES, "@portkey-ai", "gateway", "build", "start-server.js")
CCR_JS = os.path.join(NODE_MODULES, "@musistudio", "claude-code-router", "dist", "cli.js")
MODEL = "claude-sonnet-4-5"
OA_MODEL = "gpt-4.1-mini"   # what ccr's translated requests name (its route "provider,model")

# A realistic, small Anthropic Messages request (~600 bytes), what wrk POSTs.
REQUEST = {
    "model": MODEL, "max_tokens": 1024,
    "system": "You are a helpful coding assistant. Answer briefly and show code when useful.",
    "messages": [
        {"role": "user", "content": "Here is a C function:\n\nint parse(const char *s) {\n"
         "  if (!s) return -1;\n  return atoi(s);\n}\n\nWhat happens on overflow?"},
        {"role": "assistant", "content": "atoi has undefined behaviour on overflow; use strtol."},
        {"role": "user", "content": "Show me the strtol version with error handling."},
    ],
}

MOCK_JSON_BODY = None   # filled from fastsse.JSON_BODY (one answer for both mocks)


# ---------------------------------------------------------------- the mocks

NGINX_COMMON = """
worker_processes 1;
daemon off;
master_process on;
user root;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile 65536;
events {{ worker_connections 16384; multi_accept on; }}
http {{
  access_log off;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  keepalive_requests 10000000;
  keepalive_timeout 300s;
  client_body_buffer_size 64k;
{body}
}}
"""

MOCK_SERVER = """
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    location / {{
      default_type application/json;
      add_header request-id req_bench;
      return 200 '{json}';
    }}
  }}
"""

PROXY_SERVER = """
  upstream mockjson {{ server 127.0.0.1:{json_port}; keepalive 256; }}
  upstream mocksse  {{ server 127.0.0.1:{sse_port};  keepalive 256; }}
  server {{
    listen 127.0.0.1:{port} backlog=4096;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    location /sse/ {{
      proxy_pass http://mocksse/;
      proxy_buffering off;
      proxy_read_timeout 300s;
    }}
    location / {{
      proxy_pass http://mockjson;
    }}
  }}
"""


def start_nginx(procs, name, workdir, body, cpus, env=None):
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_COMMON.format(dir=d, body=body))
    return procs.start(name, ["nginx", "-p", d, "-c", conf], cpus=cpus, env=env)


def start_fastsse(procs, name, workdir, gap_ms, cpus, fmt="anthropic"):
    port_file = os.path.join(workdir, name + ".port")
    if os.path.exists(port_file):
        os.unlink(port_file)
    p = procs.start(name, [sys.executable, os.path.join(bl.HERE, "fastsse.py"),
                           "--port-file", port_file, "--gap-ms", str(gap_ms),
                           "--format", fmt], cpus=cpus)
    # 30 s: on a loaded 2-core box a Python start pinned to a busy core has
    # overrun 10 s.
    bl.wait_until(lambda: os.path.exists(port_file) or p.poll() is not None, 30.0,
                  what=name + " port file")
    if p.poll() is not None:
        raise RuntimeError(name + " exited")
    with open(port_file) as f:
        p.port = int(f.read())
    return p


def start_json_mock(procs, name, workdir, body, cpus):
    """nginx answering every request with 200 and body (JSON)."""
    port = bl.free_port()
    conf = MOCK_SERVER.format(port=port,
                              json=body.decode().replace("\\", "\\\\").replace("'", "\\'"))
    p = start_nginx(procs, name, workdir, conf, cpus)
    bl.wait_port(port, proc=p)
    p.port = port
    return p


# ------------------------------------------------------------- the targets

class Target:
    """One thing under test: how to start it, where to send JSON and streams.
    A target that translates also sets tr_json_url and tr_sse_url: an Anthropic
    request there reaches the OpenAI Chat mocks."""
    name = "?"
    headers = ()          # extra request headers
    json_model = MODEL    # the "model" a request names
    sse_model = MODEL
    tr_json_model = MODEL
    tr_sse_model = MODEL
    tr_format = "anthropic"   # the format of the stream the client reads back
    tr_json_url = tr_sse_url = None

    def __init__(self, ctx):
        self.ctx = ctx
        self.proc = None

    def start(self):
        pass

    def pids(self):
        """Processes whose RSS counts for this target ([] = not measured)."""
        return []

    def cpu_pids(self):
        """Processes whose CPU time is this target's cost per request."""
        return self.pids()

    def tr_cpu_pids(self):
        """The same for the translated rows."""
        return self.cpu_pids()

    def info(self):
        """What the target says about itself after the load (None: nothing)."""
        return None

    def stop(self):
        if self.proc is not None:
            self.ctx.procs.stop(self.proc)
            self.proc = None


class Direct(Target):
    name = "direct"

    # The baseline of the translated rows: the OpenAI mocks themselves (wrk's
    # body does not matter to nginx; the stream is read as OpenAI Chat).
    tr_format = "openai"

    def start(self):
        c = self.ctx
        self.json_url = "http://127.0.0.1:%d/v1/messages" % c.mock_json_port
        self.sse_url = "http://127.0.0.1:%d/v1/messages" % c.mock_sse_port
        if c.translated:
            self.tr_json_url = "http://127.0.0.1:%d/v1/chat/completions" % c.mock_oa_json_port
            self.tr_sse_url = "http://127.0.0.1:%d/v1/chat/completions" % c.mock_oa_sse_port

    def cpu_pids(self):
        return self.ctx.mock_json_pids     # no proxy: the JSON mock's own cost

    def tr_cpu_pids(self):
        return self.ctx.mock_oa_json_pids


class ZendTarget(Target):
    name = "zend"
    # daemon keys beyond the bench's own (ZendNoLedger turns the ledger off)
    daemon_extra = {}

    def start(self, env=None):
        c = self.ctx
        cfg = {
            "providers": {
                "mockjson": {"base_url": "http://127.0.0.1:%d" % c.mock_json_port},
                "mocksse": {"base_url": "http://127.0.0.1:%d" % c.mock_sse_port},
            },
            "profiles": {"json": ["mockjson"], "sse": ["mocksse"], "default": ["mockjson"]},
            "daemon": {"listen": "127.0.0.1:0", "max_concurrent": 4000, **self.daemon_extra},
        }
        if c.translated:
            # OpenAI providers: an Anthropic client is translated to Chat and back
            # (docs/translate.md); "chat" pins the wire, as a known provider would.
            for name, port in (("oajson", c.mock_oa_json_port), ("oasse", c.mock_oa_sse_port)):
                cfg["providers"][name] = {"type": "openai", "openai_api": "chat",
                                          "base_url": "http://127.0.0.1:%d/v1" % port}
            cfg["profiles"].update({"trjson": ["oajson"], "trsse": ["oasse"]})
        self.zend = bl.Zend(c.procs, os.path.join(c.workdir, "zend-home"), cfg, cpus=c.server_cpus,
                            env_extra=env)
        self.proc = self.zend.proc
        base = "http://127.0.0.1:%d" % self.zend.port
        self.json_url = base + "/json/bench/v1/messages"
        self.sse_url = base + "/sse/bench/v1/messages"
        if c.translated:
            self.tr_json_url = base + "/trjson/bench/v1/messages"
            self.tr_sse_url = base + "/trsse/bench/v1/messages"

    def pids(self):
        self.first_worker = self.zend.worker_pid()
        return [self.first_worker]

    def serving_pid(self):
        return self.zend.worker_pid()

    def info(self):
        """zend's counters, and whether its worker was replaced (a crash) under load."""
        m = self.zend.metrics() or {}
        pid = self.zend.worker_pid()
        return {"worker_pid_start": self.first_worker, "worker_pid_end": pid,
                "worker_replaced": pid != self.first_worker,
                "metrics": {k: m.get(k) for k in ("requests_total", "success_count",
                                                   "error_count", "errors_by_type")}}


class ZendNoLedger(ZendTarget):
    """zend with its usage ledger off (daemon.usage.enabled false): beside the
    zend column it shows what writing a row per request costs (docs/usage.md)."""
    name = "zend-noledger"
    daemon_extra = {"usage": {"enabled": False}}


class NginxProxy(Target):
    name = "nginx"

    def start(self, env=None):
        c = self.ctx
        port = bl.free_port()
        body = PROXY_SERVER.format(port=port, json_port=c.mock_json_port, sse_port=c.mock_sse_port)
        self.proc = start_nginx(c.procs, "nginx-proxy", c.workdir, body, c.server_cpus,
                                dict(os.environ, **env) if env else None)
        bl.wait_port(port, proc=self.proc)
        self.json_url = "http://127.0.0.1:%d/v1/messages" % port
        self.sse_url = "http://127.0.0.1:%d/sse/v1/messages" % port

    def pids(self):
        return bl.children(self.proc.pid)      # the worker (the master only waits)

    def serving_pid(self):
        return bl.wait_until(lambda: bl.children(self.proc.pid), 10.0, what="nginx worker")[0]


class Portkey(Target):
    """Portkey gateway: provider and upstream are chosen per request by headers."""
    name = "portkey"

    def start(self):
        c = self.ctx
        port = bl.free_port()
        env = dict(os.environ, NODE_ENV="production")
        if c.portkey_fix:
            # without it every stream is an HTTP 500 (portkey_fetch_fix.mjs)
            env["NODE_OPTIONS"] = (env.get("NODE_OPTIONS", "") + " --import=" +
                                   os.path.join(bl.HERE, "portkey_fetch_fix.mjs")).strip()
        self.proc = c.procs.start("portkey", ["node", PORTKEY_JS, "--port=%d" % port, "--headless"],
                                  cpus=c.server_cpus, env=env, cwd=os.path.dirname(PORTKEY_JS))
        bl.wait_port(port, 60.0, proc=self.proc)
        self.json_url = self.sse_url = "http://127.0.0.1:%d/v1/messages" % port
        self.json_headers = ("x-portkey-provider: anthropic",
                             "x-portkey-custom-host: http://127.0.0.1:%d/v1" % c.mock_json_port)
        self.sse_headers = ("x-portkey-provider: anthropic",
                            "x-portkey-custom-host: http://127.0.0.1:%d/v1" % c.mock_sse_port)

    def pids(self):
        return [self.proc.pid]

    def info(self):
        return {"fetch_fix": self.ctx.portkey_fix}


class CCR(Target):
    """claude-code-router: providers in ~/.claude-code-router/config.json (HOME is
    a temp dir), chosen by the request's model "provider,model"; the Anthropic
    transformer keeps requests and answers in Anthropic's format.

    Translated: providers with the "OpenAI" transformer, ccr's default job. Its
    /v1/messages endpoint (the Anthropic transformer) turns the request into
    OpenAI Chat, the OpenAI transformer sends that as is to api_base_url (the
    full .../v1/chat/completions URL), and the answer, JSON or a chunk stream,
    is turned back into Anthropic's format on the way out. (The Anthropic
    transformer alone, as above, skips both conversions.)"""
    name = "ccr"
    json_model = "mockjson," + MODEL
    sse_model = "mocksse," + MODEL
    tr_json_model = "oajson," + OA_MODEL
    tr_sse_model = "oasse," + OA_MODEL

    def start(self):
        c = self.ctx
        port = bl.free_port()
        home = os.path.join(c.workdir, "ccr-home")
        os.makedirs(os.path.join(home, ".claude-code-router"), exist_ok=True)

        def prov(name, p):
            return {"name": name, "api_base_url": "http://127.0.0.1:%d/v1/messages" % p,
                    "api_key": "sk-bench", "models": [MODEL],
                    "transformer": {"use": ["Anthropic"]}}

        def oa_prov(name, p):
            return {"name": name, "api_base_url": "http://127.0.0.1:%d/v1/chat/completions" % p,
                    "api_key": "sk-bench", "models": [OA_MODEL],
                    "transformer": {"use": ["OpenAI"]}}
        providers = [prov("mockjson", c.mock_json_port), prov("mocksse", c.mock_sse_port)]
        if c.translated:
            providers += [oa_prov("oajson", c.mock_oa_json_port),
                          oa_prov("oasse", c.mock_oa_sse_port)]
        cfg = {"LOG": False, "PORT": port, "HOST": "127.0.0.1", "API_TIMEOUT_MS": 600000,
               "Providers": providers, "Router": {"default": "mockjson," + MODEL}}
        with open(os.path.join(home, ".claude-code-router", "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        env = dict(os.environ, HOME=home, NODE_ENV="production")
        self.proc = c.procs.start("ccr", ["node", CCR_JS, "start"], cpus=c.server_cpus,
                                  env=env, cwd=home)
        bl.wait_port(port, 60.0, proc=self.proc)
        self.json_url = "http://127.0.0.1:%d/v1/messages" % port
        self.sse_url = self.json_url
        if c.translated:
            self.tr_json_url = self.tr_sse_url = self.json_url

    def pids(self):
        return [self.proc.pid]


class CurlFloor(Target):
    """The curl floor: curlfloor.c, a bare libcurl multi client with zend's
    easy-handle options, straight at the JSON mock (no client side, no
    streams). Measured by measure_floor(), not by wrk."""
    name = "curl-floor"


TARGETS = {"direct": Direct, "zend": ZendTarget, "zend-noledger": ZendNoLedger, "nginx": NginxProxy,
           "curl-floor": CurlFloor, "portkey": Portkey, "ccr": CCR}


# ------------------------------------------------------------ measurements

class RssSampler(threading.Thread):
    """Samples the summed VmRSS of some pids every 0.2 s; keeps the peak."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = None
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            v = rss_sum(self.pids)
            if v is not None:
                self.peak = v if self.peak is None else max(self.peak, v)
            self.halt.wait(0.2)

    def stop(self):
        self.halt.set()
        self.join(5)
        return self.peak


def rss_sum(pids):
    vals = [bl.rss_kb(p) for p in pids if p]
    vals = [v for v in vals if v is not None]
    return sum(vals) if vals else None


UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    return float(m.group(1)) * UNIT[m.group(2)] if m else None


def write_lua(path, model, headers):
    body = dict(REQUEST, model=model)
    lines = ['wrk.method = "POST"',
             'wrk.body = %s' % json.dumps(json.dumps(body, separators=(",", ":"))),
             'wrk.headers["content-type"] = "application/json"',
             'wrk.headers["anthropic-version"] = "2023-06-01"',
             'wrk.headers["x-api-key"] = "sk-bench-not-a-real-key"']
    for h in headers:
        k, _, v = h.partition(":")
        lines.append('wrk.headers[%s] = %s' % (json.dumps(k.strip()), json.dumps(v.strip())))
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def check_answer(url, model, headers, fmt):
    """POSTs REQUEST once and checks the answer is the mock's text in the format
    the client expects ("anthropic": a Messages object, "openai": a
    chat.completion): wrk counts only statuses, so a proxy that answered 200 in
    the wrong format would otherwise pass. Returns None when right, else why not."""
    req = urllib.request.Request(url, data=json.dumps(dict(REQUEST, model=model)).encode(),
                                 method="POST")
    for h in ("content-type: application/json", "anthropic-version: 2023-06-01",
              "x-api-key: sk-bench-not-a-real-key") + tuple(headers):
        k, _, v = h.partition(":")
        req.add_header(k.strip(), v.strip())
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
    except (OSError, ValueError) as e:
        return "request failed: %s" % e
    from fastsse import ANSWER_TEXT
    try:
        doc = json.loads(body)
        if fmt == "openai":
            ok = doc["choices"][0]["message"]["content"] == ANSWER_TEXT
        else:
            # other blocks may come first (ccr adds an empty web search for
            # OpenAI's "annotations": []); the text must be there, whole
            ok = (doc["type"] == "message" and doc["role"] == "assistant"
                  and doc["stop_reason"] == "end_turn"
                  and [b["text"] for b in doc["content"] if b["type"] == "text"] == [ANSWER_TEXT])
    except (ValueError, KeyError, IndexError, TypeError):
        ok = False
    return None if ok else "not a %s answer with the mock's text: %r" % (fmt, body[:300])


def run_wrk(ctx, url, lua, conns, seconds, cpu_pids=()):
    """One wrk run; returns {rps, p50_ms, p99_ms, errors, requests}, and with
    cpu_pids the CPU seconds those processes used during the run (cpu_s) and
    per request served (cpu_us_per_req)."""
    # one thread per load core: with the load pinned to one core, more only contend
    threads = 1 if (ctx.load_cpus and "-" not in ctx.load_cpus) or conns < 4 else 2
    argv = ["wrk", "-t%d" % threads, "-c%d" % conns, "-d%ds" % max(1, int(round(seconds))),
            "--timeout", "10s", "--latency", "-s", lua, url]
    if ctx.load_cpus:
        argv = ["taskset", "-c", ctx.load_cpus] + argv
    cpu0 = bl.cpu_sum(cpu_pids)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    cpu1 = bl.cpu_sum(cpu_pids)
    out = r.stdout
    res = {"rps": None, "p50_ms": None, "p99_ms": None, "errors": 0, "requests": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        res["rps"] = float(m.group(1))
    m = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    if m:
        res["p50_ms"] = to_ms(m.group(1))
    m = re.search(r"^\s+99%\s+(\S+)", out, re.M)
    if m:
        res["p99_ms"] = to_ms(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        res["requests"] = int(m.group(1))
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if m:
        res["errors"] += int(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        res["errors"] += sum(int(x) for x in m.groups())
    if r.returncode != 0 or res["rps"] is None:
        res["wrk_output"] = (out + r.stderr)[-1000:]
    # A run where nothing succeeded has no meaningful rate.
    if res["requests"] and res["errors"] >= res["requests"]:
        res["rps"] = 0.0
    if cpu0 is not None and cpu1 is not None:
        res["cpu_s"] = round(cpu1 - cpu0, 3)
        if res["requests"]:
            res["cpu_us_per_req"] = round(res["cpu_s"] * 1e6 / res["requests"], 2)
    return res


def run_streams(ctx, url, model, headers, conc, seconds, ramp=0.0, extra_timeout=60,
                fmt="anthropic"):
    argv = [sys.executable, os.path.join(bl.HERE, "sseclient.py"), "--url", url,
            "--conc", str(conc), "--seconds", str(seconds), "--ramp", str(ramp), "--model", model,
            "--format", fmt]
    for h in headers:
        argv += ["--header", h]
    if ctx.load_cpus:
        argv = ["taskset", "-c", ctx.load_cpus] + argv
    p = ctx.procs.start("sseclient", argv)
    try:
        p.wait(timeout=seconds + extra_timeout)
    except subprocess.TimeoutExpired:
        pass
    ctx.procs.stop(p)
    with open(p.log_path) as f:
        text = f.read()
    for line in reversed(text.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("sseclient gave no result: " + text[-1000:])


def median(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def median_point(runs):
    return {"rps": median(r["rps"] for r in runs),
            "p50_ms": median(r["p50_ms"] for r in runs),
            "p99_ms": median(r["p99_ms"] for r in runs),
            "errors": sum(r["errors"] for r in runs),
            "cpu_us_per_req": median(r.get("cpu_us_per_req") for r in runs),
            "runs": runs}


def log_point(label, conns, point):
    log("  %-8s c=%-4d %9s req/s  p50 %s ms  p99 %s ms  errors %d  CPU %s us/req" % (
        label, conns, fmt(point["rps"], 0), fmt(point["p50_ms"], 3),
        fmt(point["p99_ms"], 3), point["errors"], fmt(point["cpu_us_per_req"], 1)))


def measure_points(ctx, label, json_url, lua, sse_url, sse_model, headers,
                   stream_format="anthropic", cpu_pids=()):
    """wrk at 1 and each connection count, then the streams; the median of the
    repetitions of each. Returns {"c1", "c32", ..., "stream"}."""
    res = {}
    for conns in [1] + ctx.conns:
        runs = [run_wrk(ctx, json_url, lua, conns, ctx.seconds, cpu_pids)
                for _ in range(ctx.reps)]
        point = median_point(runs)
        res["c%d" % conns] = point
        log_point(label, conns, point)
    # streams: time to first event, per-event delay
    sruns = [run_streams(ctx, sse_url, sse_model, headers, ctx.stream_conc, ctx.stream_seconds,
                         fmt=stream_format) for _ in range(ctx.reps)]
    st = {k: median(r[k] for r in sruns) for k in (
        "ttfe_p50_ms", "ttfe_p99_ms", "event_delay_p50_ms", "event_delay_p99_ms", "streams_per_s")}
    st["ok"] = sum(r["streams_ok"] for r in sruns)
    st["dropped"] = sum(r["streams_dropped"] for r in sruns)
    errs = {}
    for r in sruns:
        for k, v in r["errors"].items():
            errs[k] = errs.get(k, 0) + v
    st["errors"] = errs
    res["stream"] = st
    log("  %-8s streams ok %d dropped %d %s ttfe p50 %s ms  event delay p50 %s p99 %s ms" % (
        label, st["ok"], st["dropped"], errs or "", fmt(st["ttfe_p50_ms"], 2),
        fmt(st["event_delay_p50_ms"], 2), fmt(st["event_delay_p99_ms"], 2)))
    return res


def measure_target(ctx, t):
    """All the points for one target; returns its result dict."""
    if isinstance(t, CurlFloor):
        return measure_floor(ctx)
    res = {"name": t.name}
    t0 = time.monotonic()
    try:
        t.start()
    except Exception as e:          # a gateway that will not start is reported, not fatal
        log("  %s did not start: %s" % (t.name, e))
        res["error"] = "did not start: %s" % e
        if t.proc is not None:
            try:
                with open(t.proc.log_path) as f:
                    res["log_tail"] = f.read()[-1500:]
            except OSError:
                pass
        t.stop()
        return res
    res["start_s"] = round(time.monotonic() - t0, 2)
    jh = getattr(t, "json_headers", t.headers)
    sh = getattr(t, "sse_headers", t.headers)
    lua = os.path.join(ctx.workdir, "wrk-%s.lua" % t.name)
    write_lua(lua, t.json_model, jh)

    # Warm up (connections, JIT, pools), then the RSS "at rest".
    run_wrk(ctx, t.json_url, lua, 4, 1)
    run_streams(ctx, t.sse_url, t.sse_model, sh, 1, 1.0)
    time.sleep(1.0)
    pids = t.pids()
    res["rss_idle_kb"] = rss_sum(pids)

    sampler = RssSampler(pids) if pids else None
    if sampler:
        sampler.start()
    res.update(measure_points(ctx, t.name, t.json_url, lua, t.sse_url, t.sse_model, sh,
                              cpu_pids=t.cpu_pids()))
    if t.tr_json_url:
        # Translated: an Anthropic request to an OpenAI Chat provider (warmed up
        # too: the first translated requests open new upstream connections).
        tlua = os.path.join(ctx.workdir, "wrk-%s-tr.lua" % t.name)
        write_lua(tlua, t.tr_json_model, ())
        bad = check_answer(t.tr_json_url, t.tr_json_model, (), t.tr_format)
        if bad:
            log("  %s translated JSON answer: %s" % (t.name, bad))
        run_wrk(ctx, t.tr_json_url, tlua, 4, 1)
        run_streams(ctx, t.tr_sse_url, t.tr_sse_model, (), 1, 1.0, fmt=t.tr_format)
        res["tr"] = measure_points(ctx, t.name + "-tr", t.tr_json_url, tlua, t.tr_sse_url,
                                   t.tr_sse_model, (), t.tr_format, cpu_pids=t.tr_cpu_pids())
        res["tr"]["answer_error"] = bad
    if sampler:
        res["rss_load_kb"] = sampler.stop()
    try:
        info = t.info()
    except Exception as e:          # e.g. zend gone: that is worth reporting too
        info = {"error": str(e)}
    if info:
        res["info"] = info
        log("  %-8s %s" % (t.name, json.dumps(info)))
    t.stop()
    return res


# ------------------------------------------------- the curl floor, counters

# What zend sends the JSON mock for wrk's request (zend/forward/forward_headers.c,
# upstream_headers): the client's headers minus Host and Content-Length, then
# Accept-Encoding: identity, and the "remove" lines that keep curl from adding
# Expect and Accept. The floor sends the same.
FLOOR_HEADERS = ("content-type: application/json", "anthropic-version: 2023-06-01",
                 "x-api-key: sk-bench-not-a-real-key", "Accept-Encoding: identity",
                 "Expect:", "Accept:")
# What a client sends zend or nginx in the counting runs (wrk's headers).
CLIENT_HEADERS = ("content-type: application/json", "anthropic-version: 2023-06-01",
                  "x-api-key: sk-bench-not-a-real-key", "Expect:", "Accept:")


def build_tools(ctx):
    """Compiles curlfloor, malloc_count.so and udsecho into BUILD/bench
    (warnings are errors). Returns {"curlfloor": path or None, "malloc_count":
    path or None, "udsecho": path or None, "errors": [...]}."""
    d = os.path.join(bl.BUILD, "bench")
    os.makedirs(d, exist_ok=True)
    out = {"errors": []}
    flags = ["-O2", "-g", "-Wall", "-Wextra", "-Wshadow", "-Wformat=2", "-Werror"]
    try:
        curl = subprocess.run(["pkg-config", "--cflags", "--libs", "libcurl"], capture_output=True,
                              text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        curl = ["-lcurl"]
    jobs = {"curlfloor": (["curlfloor.c"], curl + ["-lev"], "curlfloor"),
            "malloc_count": (["-shared", "-fPIC", "malloc_count.c"], ["-ldl"], "malloc_count.so"),
            "udsecho": (["udsecho.c"], [], "udsecho")}
    for key, (srcs, libs, exe) in jobs.items():
        path = os.path.join(d, exe)
        src = os.path.join(bl.HERE, srcs[-1])
        if not (os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(src)):
            r = subprocess.run(["cc"] + flags + srcs[:-1] + [src, "-o", path] + libs,
                               capture_output=True, text=True)
            if r.returncode != 0:
                out["errors"].append("%s: %s" % (exe, r.stderr[-1500:]))
                log("  could not build %s:\n%s" % (exe, r.stderr[-1500:]))
                path = None
        out[key] = path
    return out


def request_body_file(ctx):
    """wrk's body (the same bytes), in a file for curlfloor."""
    path = os.path.join(ctx.workdir, "request.json")
    with open(path, "w") as f:
        f.write(json.dumps(dict(REQUEST, model=MODEL), separators=(",", ":")))
    return path


def floor_argv(ctx, url, headers, conns, seconds=None, requests=None, warmup=0,
               ready_file=None):
    argv = [ctx.tools["curlfloor"], "--url", url, "--body", request_body_file(ctx),
            "--conns", str(conns)]
    for h in headers:
        argv += ["-H", h]
    argv += ["--seconds", str(seconds)] if seconds else ["--requests", str(requests)]
    if warmup:
        argv += ["--warmup-requests", str(warmup)]
    if ready_file:
        argv += ["--ready-file", ready_file]
    return argv


def run_floor(ctx, url, headers, conns, cpus, seconds=None, requests=None, warmup=0,
              timeout=120):
    """One curlfloor run to completion; its JSON line (rps, p50_ms, p99_ms,
    errors, cpu_us_per_req, ...)."""
    argv = floor_argv(ctx, url, headers, conns, seconds, requests, warmup)
    if cpus:
        argv = ["taskset", "-c", cpus] + argv
    r = subprocess.run(argv, capture_output=True, text=True, timeout=(seconds or 0) + timeout)
    for line in reversed(r.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError("curlfloor gave no result (%d): %s" % (r.returncode, r.stderr[-800:]))


def measure_floor(ctx):
    """The curl-floor column: curlfloor at 1 and each connection count against
    the JSON mock, pinned like the proxies (it is the upstream half of one),
    BENCH_REPS x BENCH_SECONDS, medians."""
    res = {"name": "curl-floor"}
    if not ctx.tools.get("curlfloor"):
        res["error"] = "did not start: curlfloor not built (%s)" % "; ".join(ctx.tools["errors"])
        return res
    url = "http://127.0.0.1:%d/v1/messages" % ctx.mock_json_port
    try:
        run_floor(ctx, url, FLOOR_HEADERS, 4, ctx.server_cpus, seconds=1)    # warm-up
        for conns in [1] + ctx.conns:
            runs = []
            for _ in range(ctx.reps):
                r = run_floor(ctx, url, FLOOR_HEADERS, conns, ctx.server_cpus,
                              seconds=ctx.seconds, warmup=conns)
                r["requests"] = r["transfers"]
                runs.append(r)
            point = median_point(runs)
            res["c%d" % conns] = point
            log_point("curl-floor", conns, point)
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as e:
        log("  curl-floor failed: %s" % e)
        res["error"] = "failed: %s" % e
    return res


def mc_read(path):
    """malloc_count.so's counters (tests/bench/malloc_count.c), or None."""
    import struct
    try:
        with open(path, "rb") as f:
            v = struct.unpack("<6Q", f.read(48))
    except (OSError, struct.error):
        return None
    return dict(zip(("malloc", "calloc", "realloc", "free", "aligned", "bytes"), v))


def mc_per_req(a, b, n):
    if not a or not b or not n:
        return None
    d = {k: b[k] - a[k] for k in a}
    return {"allocs": round((d["malloc"] + d["calloc"] + d["realloc"] + d["aligned"]) / n, 2),
            "malloc": round(d["malloc"] / n, 2), "calloc": round(d["calloc"] / n, 2),
            "realloc": round(d["realloc"] / n, 2), "free": round(d["free"] / n, 2),
            "bytes": round(d["bytes"] / n, 1)}


def strace_start(pid, out):
    """strace -c -f attached to every thread of pid; returns once attached."""
    p = subprocess.Popen(["strace", "-c", "-f", "-p", str(pid), "-o", out],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def attached():
        if p.poll() is not None:
            raise RuntimeError("strace exited (%s)" % p.returncode)
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            return False
        for tid in tids:
            try:
                with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                    if "TracerPid:\t0\n" in f.read():
                        return False
            except OSError:
                pass
        return True
    try:
        bl.wait_until(attached, 10.0, interval=0.01, what="strace to attach")
    except RuntimeError:
        if p.poll() is None:
            p.kill()
            p.wait()
        raise
    return p


def strace_stop(p, out, n):
    """Detaches (SIGINT) or waits for the traced process's exit; the summary
    per request: {"total": calls/req, "by_name": {syscall: calls/req}, "errors": ...}."""
    if p.poll() is None:
        p.send_signal(signal.SIGINT)
    p.wait(timeout=30)
    calls, errors = {}, {}
    with open(out) as f:
        for line in f:
            parts = line.split()
            # "% time seconds usecs/call calls [errors] syscall"
            if len(parts) in (5, 6) and parts[0][0].isdigit() and parts[-1] != "total":
                calls[parts[-1]] = int(parts[3])
                if len(parts) == 6:
                    errors[parts[-1]] = int(parts[4])
    total = sum(calls.values())
    return {"requests": n, "total": round(total / n, 2),
            "by_name": {k: round(v / n, 3) for k, v in
                        sorted(calls.items(), key=lambda kv: -kv[1])},
            "errors_by_name": {k: round(v / n, 3) for k, v in errors.items()}}


def count_through(ctx, name, pid, url, mcdir, n, conns):
    """Allocations, then system calls, per request of process pid (and its
    threads) while curlfloor sends n requests to url over conns connections."""
    res = {}
    run_floor(ctx, url, CLIENT_HEADERS, conns, ctx.load_cpus, requests=max(500, n // 4))   # warm-up
    mcfile = os.path.join(mcdir, "malloc-count.%d" % pid) if mcdir else None
    a0 = mc_read(mcfile) if mcfile else None
    r = run_floor(ctx, url, CLIENT_HEADERS, conns, ctx.load_cpus, requests=n)
    a1 = mc_read(mcfile) if mcfile else None
    res["alloc"] = mc_per_req(a0, a1, n)
    res["client_errors"] = r["errors"]
    if shutil.which("strace"):
        out = os.path.join(ctx.workdir, "strace-%s.txt" % name)
        try:
            p = strace_start(pid, out)
        except RuntimeError as e:       # no ptrace here (a container's policy, say)
            res["error"] = "strace: %s (%s)" % (e, out)
            return res
        try:
            r = run_floor(ctx, url, CLIENT_HEADERS, conns, ctx.load_cpus, requests=n)
            res["client_errors"] += r["errors"]
        finally:
            res["syscalls"] = strace_stop(p, out, n)
    return res


def counts(ctx):
    """System calls and allocations per request: zend, nginx and the curl floor,
    over COUNT_REQUESTS requests at COUNT_CONNS connections after a warm-up."""
    n, conns = ctx.count_requests, ctx.count_conns
    res = {"requests": n, "conns": conns}
    if not ctx.tools.get("curlfloor"):
        res["error"] = "curlfloor not built"
        return res
    if not shutil.which("strace"):
        res["note"] = "strace not found: no system call counts"
    shim = ctx.tools.get("malloc_count")

    def preload(name):
        if not shim:
            return None, None
        d = os.path.join(ctx.workdir, "mc-" + name)
        os.makedirs(d, exist_ok=True)
        return {"LD_PRELOAD": shim, "MALLOC_COUNT_DIR": d}, d

    # zend (a zend of its own, started with the malloc counter), nginx proxy_pass
    for cls in (ZendTarget, NginxProxy):
        env, mcdir = preload(cls.name)
        t = cls(ctx)
        try:
            t.start(env=env)
            res[cls.name] = count_through(ctx, cls.name, t.serving_pid(), t.json_url, mcdir, n,
                                          conns)
        except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            res[cls.name] = {"error": str(e)}
        finally:
            t.stop()
    # the floor itself: warm, then waits for SIGUSR1 (so strace attaches to a warm process)
    env, mcdir = preload("floor")
    ready = os.path.join(ctx.workdir, "floor.ready")
    if os.path.exists(ready):
        os.unlink(ready)
    argv = floor_argv(ctx, "http://127.0.0.1:%d/v1/messages" % ctx.mock_json_port,
                      FLOOR_HEADERS, conns, requests=n, warmup=max(500, n // 4), ready_file=ready)
    p = ctx.procs.start("curlfloor-count", argv, cpus=ctx.server_cpus,
                        env=dict(os.environ, **env) if env else None)
    fl = {}
    try:
        bl.wait_until(lambda: os.path.exists(ready) or p.poll() is not None, 30.0,
                      what="curlfloor warm-up")
        mcfile = os.path.join(mcdir, "malloc-count.%d" % p.pid) if mcdir else None
        a0 = mc_read(mcfile) if mcfile else None
        out = os.path.join(ctx.workdir, "strace-floor.txt")
        sp = strace_start(p.pid, out) if shutil.which("strace") else None
        os.kill(p.pid, signal.SIGUSR1)
        p.wait(timeout=60)
        if sp:
            fl["syscalls"] = strace_stop(sp, out, n)
        fl["alloc"] = mc_per_req(a0, mc_read(mcfile) if mcfile else None, n)
    except (RuntimeError, OSError, ValueError, subprocess.TimeoutExpired) as e:
        fl["error"] = str(e)
    finally:
        ctx.procs.stop(p)
    res["curl-floor"] = fl
    return res


def start_udsecho(ctx):
    """The echo server under the health row (udsecho.c), on zend's CPUs:
    its process, with its socket's path in .sock, or None when it could not
    be built or started."""
    exe = (getattr(ctx, "tools", None) or {}).get("udsecho")
    if not exe:
        return None
    path = os.path.join(ctx.workdir, "udsecho.sock")
    ready = os.path.join(ctx.workdir, "udsecho.ready")
    if os.path.exists(ready):
        os.unlink(ready)
    p = ctx.procs.start("udsecho", [exe, "--socket", path, "--ready-file", ready],
                        cpus=ctx.server_cpus)
    try:
        bl.wait_until(lambda: os.path.exists(ready) or p.poll() is not None, 10.0,
                      what="udsecho")
    except RuntimeError:
        pass
    if p.poll() is not None or not os.path.exists(ready):
        ctx.procs.stop(p)
        return None
    p.sock = path
    return p


def health_under_streams(c, z, url, n, gap, ramp, echo=None):
    """health RPCs while n streams are open, in a phase of its own after the
    capacity run (a slow health stalls zend's loop and would inflate that
    run's event delays): the same streams for ramp + up to 15 s (each lasts 60
    gaps), health calls from 1 s after the ramp until 1 s before the end or
    until BENCH_HEALTH_RPCS calls; only calls answered while >= 90 % of the
    streams were in flight count. echo: udsecho's socket (health_latency)."""
    open_s = min(15.0, max(4.0, gap * 60 / 1000.0 - ramp - 1.0))
    out = {}

    def probe():
        time.sleep(ramp + 1.0)
        out.update(health_latency(z.sock, c.health_n, deadline=time.monotonic() + open_s - 2.0,
                                  min_in_flight=int(n * 0.9), echo=echo))
    t = threading.Thread(target=probe, daemon=True)
    log("capacity: health RPCs with %d streams open" % n)
    t.start()
    run_streams(c, url, MODEL, (), n, ramp + open_s, ramp=ramp, extra_timeout=120)
    t.join(30)
    return out


def percentiles(lat, prefix=""):
    lat = sorted(lat)
    return {prefix + "p50_ms": round(lat[len(lat) // 2], 3),
            prefix + "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))], 3),
            prefix + "max_ms": round(lat[-1], 3)}


def health_latency(sock, n, deadline=None, min_in_flight=0, echo=None):
    """n sequential health RPCs answered with resources.in_flight >=
    min_in_flight (until deadline, a monotonic time): p50, p99 and max ms.
    Calls answered with fewer in flight are left out ("other", "other_max_in_flight"):
    before the streams are all open they are 50 ms apart.
    echo: the path of udsecho's socket. Each counted call is then followed by
    a round trip of the same answer's bytes through it, decoded the same way
    (echo_p50_ms...): what the machine and this client charge for the round
    trip at the same moments, whatever the server."""
    lat, inflight, other, other_max, echo_lat = [], [], 0, 0, []
    try:
        c = bl.RpcClient(sock)
        e = bl.RawClient(echo) if echo else None
    except OSError as err:
        return {"error": str(err)}
    try:
        while len(lat) < n:
            if deadline and time.monotonic() >= deadline:
                break
            t0 = time.perf_counter()
            r = c.call("health")
            ms = (time.perf_counter() - t0) * 1000
            fl = ((r or {}).get("resources") or {}).get("in_flight") or 0
            if fl < min_in_flight:
                other += 1
                other_max = max(other_max, fl)
                if not lat:
                    time.sleep(0.05)
                continue
            lat.append(ms)
            inflight.append(fl)
            if e:
                answer = bl.mp_pack([1, c.msgid, None, r])
                t0 = time.perf_counter()
                e.send(answer)
                if e.read_message() is None:
                    raise RuntimeError("udsecho closed the connection")
                echo_lat.append((time.perf_counter() - t0) * 1000)
    except (OSError, RuntimeError, ValueError) as err:
        return {"error": str(err), "calls": len(lat)}
    finally:
        c.close()
        if e:
            e.close()
    if not lat:
        return {"error": "no health call answered with >= %d in flight (%d others, at most "
                "%d in flight)" % (min_in_flight, other, other_max)}
    res = {"calls": len(lat), "other": other, "other_max_in_flight": other_max,
           "in_flight_min": min(inflight), "in_flight_max": max(inflight)}
    res.update(percentiles(lat))
    if echo_lat:
        res.update(percentiles(echo_lat, "echo_"))
    return res


def idle_rss(c, mock, supervisor):
    """VmRSS of zend's serving process at rest, measured as capacity() does:
    2 warm-up streams through it, 1 s idle. supervisor=False: the single
    process of --no-supervisor (nothing was touched in a parent before a
    fork, so every library page it ever used counts). Then again after a
    reload and 2 more streams: the figure has to hold after real work."""
    cfg = {"providers": {"mocksse": {"base_url": "http://127.0.0.1:%d" % mock.port}},
           "profiles": {"default": ["mocksse"]},
           "daemon": {"listen": "127.0.0.1:0", "max_concurrent": max(4000, c.cap_streams + 100)}}
    name = "zend-idle-" + ("sup" if supervisor else "nosup")
    z = bl.Zend(c.procs, os.path.join(c.workdir, name + "-home"), cfg, cpus=c.server_cpus,
                supervisor=supervisor)
    res = {}
    try:
        url = "http://127.0.0.1:%d/default/idle/v1/messages" % z.port
        run_streams(c, url, MODEL, (), 2, 1.0)
        time.sleep(1.0)
        res["rss_idle_kb"] = bl.rss_kb(z.worker_pid())
        res["idle_parts_kb"] = bl.mem_parts_kb(z.worker_pid())
        r = z.zenctl("reload")
        res["reload_ok"] = r.returncode == 0
        run_streams(c, url, MODEL, (), 2, 1.0)
        time.sleep(1.0)
        res["rss_reload_kb"] = bl.rss_kb(z.worker_pid())
    finally:
        z.stop()
    return res


def capacity(ctx):
    """2,000 (configurable) concurrent SSE streams through zend."""
    c = ctx
    n = c.cap_streams
    gap = c.cap_gap_ms
    log("capacity: %d streams through zend for %ss, %s ms between events (stream = %.1f s)"
        % (n, c.cap_seconds, gap, gap * 60 / 1000.0))
    mock = start_fastsse(c.procs, "mock-sse-cap", c.workdir, gap, c.cap_mock_cpus or c.server_cpus)
    res = {"streams": n, "seconds": c.cap_seconds, "gap_ms": gap}
    ramp = min(5.0, c.cap_seconds / 4)
    if c.cap_baseline:
        # The same load straight at the mock: what the client and mock add alone.
        log("capacity: baseline, %d streams direct to the mock" % n)
        r = run_streams(c, "http://127.0.0.1:%d/v1/messages" % mock.port, MODEL, (), n,
                        c.cap_seconds, ramp=ramp, extra_timeout=120)
        res["direct"] = r
        time.sleep(2.0)
    res["idle"] = {"supervisor": idle_rss(c, mock, True), "no_supervisor": idle_rss(c, mock, False)}
    log("capacity: idle RSS %s" % json.dumps(res["idle"]))
    cfg = {"providers": {"mocksse": {"base_url": "http://127.0.0.1:%d" % mock.port}},
           "profiles": {"default": ["mocksse"]},
           "daemon": {"listen": "127.0.0.1:0", "max_concurrent": max(4000, n + 100)}}
    z = bl.Zend(c.procs, os.path.join(c.workdir, "zend-cap-home"), cfg, cpus=c.server_cpus)
    udsecho = None
    try:
        url = "http://127.0.0.1:%d/default/cap/v1/messages" % z.port
        run_streams(c, url, MODEL, (), 2, 1.0)       # warm-up
        time.sleep(1.0)
        wpid = z.worker_pid()
        res["rss_idle_kb"] = bl.rss_kb(wpid)
        res["fds_idle"] = bl.fd_count(wpid)
        cpu0 = {"zend": bl.cpu_seconds(wpid), "mock": bl.cpu_seconds(mock.pid)}
        sampler = RssSampler([wpid])
        sampler.start()
        fd_peak = [0]
        halt = threading.Event()

        def fds():
            while not halt.is_set():
                fd_peak[0] = max(fd_peak[0], bl.fd_count(wpid) or 0)
                halt.wait(0.5)
        ft = threading.Thread(target=fds, daemon=True)
        udsecho = start_udsecho(c) if c.health_n else None
        echo = udsecho.sock if udsecho else None
        if c.health_n:
            res["health_idle"] = health_latency(z.sock, c.health_n, echo=echo)
        ft.start()
        w0 = time.monotonic()
        log("capacity: %d streams through zend" % n)
        r = run_streams(c, url, MODEL, (), n, c.cap_seconds, ramp=ramp, extra_timeout=120)
        wall = time.monotonic() - w0
        halt.set()
        ft.join(5)
        res["rss_peak_kb"] = sampler.stop()
        res["fds_peak"] = fd_peak[0]
        res["zend_cpu_pct"] = round(100 * (bl.cpu_seconds(wpid) - cpu0["zend"]) / wall, 1)
        res["mock_cpu_pct"] = round(100 * (bl.cpu_seconds(mock.pid) - cpu0["mock"]) / wall, 1)
        res["client"] = r
        res["peak_active"] = r["peak_active"]
        res["dropped"] = r["streams_dropped"]
        res["completed"] = r["streams_ok"]
        res["event_delay_p50_ms"] = r["event_delay_p50_ms"]
        res["event_delay_p99_ms"] = r["event_delay_p99_ms"]
        res["ttfe_p99_ms"] = r["ttfe_p99_ms"]
        if res["rss_peak_kb"] and res["rss_idle_kb"] and r["peak_active"]:
            res["rss_per_stream_kb"] = round((res["rss_peak_kb"] - res["rss_idle_kb"])
                                             / r["peak_active"], 2)
        time.sleep(2.0)
        m = z.metrics() or {}
        res["zend_metrics"] = {k: m.get(k) for k in ("requests_total", "success_count",
                                                      "error_count", "errors_by_type")}
        res["zend_metrics"]["resources"] = m.get("resources")
        res["rss_after_kb"] = bl.rss_kb(wpid)
        res["fds_after"] = bl.fd_count(wpid)
        if c.health_n:
            res["health_load"] = health_under_streams(c, z, url, n, gap, ramp, echo=echo)
            log("capacity: health idle %s, with streams open %s" % (
                json.dumps(res.get("health_idle")), json.dumps(res["health_load"])))
    finally:
        z.stop()
        c.procs.stop(mock)
        if udsecho:
            c.procs.stop(udsecho)
    return res


def node_version():
    try:
        return subprocess.run(["node", "--version"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def set_added_ms(base, results):
    """added_ms_c1 of each result: its p50 at 1 connection minus base's."""
    d1 = (base.get("c1") or {}).get("p50_ms")
    for r in results:
        if r.get("name") == "curl-floor":
            continue    # a curl client's round trip against wrk's: nothing added
        p = (r.get("c1") or {}).get("p50_ms")
        r["added_ms_c1"] = None if p is None or d1 is None else round(p - d1, 4)


def main():
    ap = argparse.ArgumentParser(description="zend throughput/latency/RSS benchmark")
    env = os.environ.get
    ap.add_argument("--seconds", type=float, default=float(env("BENCH_SECONDS", 5)),
                    help="length of one wrk run (default 5)")
    ap.add_argument("--reps", type=int, default=int(env("BENCH_REPS", 3)),
                    help="repetitions per point; the median is reported (default 3)")
    ap.add_argument("--conns", default=env("BENCH_CONNS", "32,128"))
    ap.add_argument("--targets", default=env("BENCH_TARGETS", ",".join(TARGETS)))
    ap.add_argument("--stream-conc", type=int, default=int(env("BENCH_STREAM_CONC", 8)))
    ap.add_argument("--stream-seconds", type=float, default=float(env("BENCH_STREAM_SECONDS", 5)))
    ap.add_argument("--gap-ms", type=float, default=float(env("BENCH_GAP_MS", 5)),
                    help="delay between events of the streaming mock (default 5)")
    ap.add_argument("--cap-streams", type=int, default=int(env("CAP_STREAMS", 2000)))
    ap.add_argument("--cap-seconds", type=float, default=float(env("CAP_SECONDS", 60)))
    ap.add_argument("--cap-gap-ms", type=float, default=float(env("CAP_GAP_MS", 0)) or None,
                    help="event gap in the capacity run (default: streams last ~2/3 of the run, "
                         "at most 30 s)")
    ap.add_argument("--cap-mock-cpus", default=env("CAP_MOCK_CPUS"),
                    help="CPUs of the capacity run's mock (default: the servers' CPUs, beside "
                         "zend); e.g. the load's CPU, to see what sharing zend's core costs")
    ap.add_argument("--no-capacity", action="store_true", default=env("CAP_STREAMS") == "0")
    ap.add_argument("--no-cap-baseline", action="store_true", default=env("CAP_BASELINE") == "0",
                    help="skip the capacity run's direct-to-mock baseline")
    ap.add_argument("--capacity-only", action="store_true")
    ap.add_argument("--no-translated", action="store_true",
                    default=env("BENCH_TRANSLATED", "1") == "0",
                    help="skip the translated rows (Anthropic client -> OpenAI Chat provider)")
    ap.add_argument("--no-pin", action="store_true", default=env("BENCH_PIN", "1") == "0")
    ap.add_argument("--no-portkey-fix", action="store_true",
                    default=env("BENCH_PORTKEY_FIX", "1") == "0",
                    help="run Portkey without portkey_fetch_fix.mjs (its streams then fail)")
    ap.add_argument("--no-counts", action="store_true", default=env("BENCH_COUNTS", "1") == "0",
                    help="skip the system call and allocation counts per request")
    ap.add_argument("--count-requests", type=int, default=int(env("BENCH_COUNT_REQUESTS", 2000)))
    ap.add_argument("--count-conns", type=int, default=int(env("BENCH_COUNT_CONNS", 8)))
    ap.add_argument("--health-rpcs", type=int, default=int(env("BENCH_HEALTH_RPCS", 1000)),
                    help="health RPCs timed idle and with the capacity run's streams open "
                         "(0 = none)")
    ap.add_argument("--out", default=os.path.join(bl.BUILD, "bench", "results.json"))
    ap.add_argument("--report", metavar="RESULTS_JSON",
                    help="only print the table of an earlier run's results.json")
    args = ap.parse_args()
    if args.report:
        with open(args.report) as f:
            doc = json.load(f)
        conns = doc["meta"]["conns"]
        print(build_table(doc["targets"], conns, TARGETS))
        print()
        print("targets (reported, not asserted):")
        print(check_targets(doc["targets"], conns))
        if doc.get("counts"):
            print()
            print(format_counts(doc["counts"]))
        if doc.get("capacity"):
            print()
            print(format_capacity(doc["capacity"]))
        return

    for tool in ("wrk", "nginx", "taskset"):
        if not shutil.which(tool):
            sys.exit("bench: %s not found (make bench installs it)" % tool)
    if not os.path.exists(bl.ZEND):
        sys.exit("bench: %s not built (make bench builds it)" % bl.ZEND)

    class Ctx:
        pass
    ctx = Ctx()
    ctx.seconds, ctx.reps = args.seconds, args.reps
    ctx.conns = [int(x) for x in args.conns.split(",") if x]
    ctx.stream_conc, ctx.stream_seconds = args.stream_conc, args.stream_seconds
    ctx.translated = not args.no_translated and not args.capacity_only
    ctx.cap_streams, ctx.cap_seconds = args.cap_streams, args.cap_seconds
    ctx.cap_baseline = not args.no_cap_baseline
    ctx.count_requests, ctx.count_conns = args.count_requests, args.count_conns
    ctx.health_n = args.health_rpcs
    ctx.portkey_fix = not args.no_portkey_fix
    ctx.cap_mock_cpus = args.cap_mock_cpus
    ctx.cap_gap_ms = args.cap_gap_ms or round(min(500.0, args.cap_seconds * 1000 * 2 / 3 / 60), 1)
    ncpu = os.cpu_count() or 1
    if ncpu >= 2 and not args.no_pin:
        ctx.load_cpus = str(ncpu - 1)
        ctx.server_cpus = "0" if ncpu == 2 else "0-%d" % (ncpu - 2)
    else:
        ctx.load_cpus = ctx.server_cpus = None
    ctx.workdir = os.path.join(bl.BUILD, "bench", "run")
    shutil.rmtree(ctx.workdir, ignore_errors=True)
    os.makedirs(ctx.workdir)
    ctx.procs = bl.Procs(ctx.workdir)
    bl.install_signal_cleanup(ctx.procs)
    nofile = bl.raise_nofile(max(16384, args.cap_streams * 4 + 1024))

    from fastsse import JSON_BODY, OA_JSON_BODY
    meta = {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "cpus": ncpu,
            "load_cpus": ctx.load_cpus, "server_cpus": ctx.server_cpus, "nofile": nofile,
            "seconds_per_run": ctx.seconds, "reps": ctx.reps, "conns": ctx.conns,
            "stream_conc": ctx.stream_conc, "stream_seconds": ctx.stream_seconds,
            "stream_gap_ms": args.gap_ms, "events_per_stream": 60,
            "mock_json_bytes": len(JSON_BODY), "translated": ctx.translated,
            "mock_json_openai_bytes": len(OA_JSON_BODY), "openai_events_per_stream": 58,
            "portkey_fetch_fix": ctx.portkey_fix, "loadavg_start": os.getloadavg()}
    results = {}
    cap = cnt = None
    try:
        # the mocks, shared by every target
        ctx.tools = build_tools(ctx)
        mj = start_json_mock(ctx.procs, "mock-json", ctx.workdir, JSON_BODY, ctx.server_cpus)
        ctx.mock_json_port = mj.port
        ctx.mock_json_pids = bl.wait_until(lambda: bl.children(mj.pid), 10.0,
                                           what="the JSON mock's worker")
        ms = start_fastsse(ctx.procs, "mock-sse", ctx.workdir, args.gap_ms, ctx.server_cpus)
        ctx.mock_sse_port = ms.port
        log("mocks: json (nginx) :%d, sse (fastsse.py, %s ms gap) :%d; load on cpu %s, servers on %s"
            % (ctx.mock_json_port, args.gap_ms, ctx.mock_sse_port, ctx.load_cpus, ctx.server_cpus))
        if ctx.translated:
            mo = start_json_mock(ctx.procs, "mock-json-openai", ctx.workdir, OA_JSON_BODY,
                                 ctx.server_cpus)
            ctx.mock_oa_json_port = mo.port
            ctx.mock_oa_json_pids = bl.wait_until(lambda: bl.children(mo.pid), 10.0,
                                                  what="the OpenAI JSON mock's worker")
            ctx.mock_oa_sse_port = start_fastsse(ctx.procs, "mock-sse-openai", ctx.workdir,
                                                 args.gap_ms, ctx.server_cpus, "openai").port
            log("openai mocks: json (nginx) :%d, sse (fastsse.py --format openai) :%d"
                % (ctx.mock_oa_json_port, ctx.mock_oa_sse_port))
        if not args.capacity_only:
            for name in [n for n in args.targets.split(",") if n]:
                log("%s:" % name)
                results[name] = measure_target(ctx, TARGETS[name](ctx))
            set_added_ms(results.get("direct", {}), results.values())
            set_added_ms(results.get("direct", {}).get("tr") or {},
                         [r["tr"] for r in results.values() if r.get("tr")])
        if not args.no_counts and not args.capacity_only:
            log("counts: %d requests at %d connections (strace -c -f; malloc_count.so)"
                % (ctx.count_requests, ctx.count_conns))
            cnt = counts(ctx)
        if not args.no_capacity:
            cap = capacity(ctx)
    finally:
        ctx.procs.stop_all()
    meta["loadavg_end"] = os.getloadavg()

    doc = {"meta": meta, "targets": results, "capacity": cap, "counts": cnt}
    if results:
        table = build_table(results, ctx.conns, TARGETS)
        checks = check_targets(results, ctx.conns)
        doc["table"] = table.splitlines()
        doc["checks"] = checks.splitlines()
        print()
        print("zend bench  (%s; %d cpus, load avg %.1f; %s s x %d reps per point, median; "
              "streams: %d concurrent, 60 events, %s ms apart)" % (
                  meta["time"], ncpu, meta["loadavg_start"][0], ctx.seconds, ctx.reps,
                  ctx.stream_conc, args.gap_ms))
        print(table)
        if "portkey" in results and ctx.portkey_fix:
            print("portkey: run with tests/bench/portkey_fetch_fix.mjs (node %s; without it every "
                  "stream is an HTTP 500: README)" % node_version())
        print()
        print("targets (reported, not asserted):")
        print(checks)
    if cnt:
        text = format_counts(cnt)
        doc["counts_table"] = text.splitlines()
        print()
        print(text)
    if cap:
        text = format_capacity(cap)
        doc["capacity_table"] = text.splitlines()
        print()
        print(text)
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(doc, f, indent=2)
    print("\nwrote %s" % args.out)


if __name__ == "__main__":
    main()
