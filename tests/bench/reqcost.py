#!/usr/bin/env python3
"""Instructions and allocations per request of one zend, on one request shape.

Numbers that noise does not move (tests/bench/README.md, "Per-request cost"):
zend (--no-supervisor, the worker is the process) runs against the
fastsse.py mock (--gap-ms 0) and gets WARMUP requests, then N measured ones
over one keep-alive connection:

  --tool callgrind  under valgrind --tool=callgrind --instr-atstart=no;
                    instrumentation is switched on for the N requests only
                    (callgrind_control -z, -i on, -i off, -d); prints
                    instructions per request of the whole process (all
                    threads), and keeps the profile for callgrind_annotate
  --tool malloc     with build/bench/malloc_count.so preloaded; prints
                    malloc+calloc+realloc calls per request over the N

Request shapes (--body): "small", the bench's ~600-byte Anthropic request;
"cc", a ~100 KB Claude-Code-like one (system blocks, 17 tool definitions,
~120 messages with tool_use / tool_result turns; built here, deterministic);
or a path to a JSON file. --stream asks for the 60-event stream. --translated
sends it to an OpenAI Chat provider (the translated path).

  python3 tests/bench/reqcost.py --tool callgrind --body cc [-n 300]
"""
import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import benchlib as bl  # noqa: E402
from bench import MODEL, REQUEST as SMALL  # noqa: E402  (the bench's own request)


def cc_body():
    """A Claude-Code-like request of about 100 KB."""
    code = "".join("static int f%d(const char *s, size_t n)\n{\n    if (!s || n == 0)\n"
                   "        return -1; /* \"empty\" \\ path */\n    return (int)n * %d;\n}\n\n"
                   % (i, i) for i in range(14))
    tools = []
    for i, name in enumerate(["Task", "Bash", "Glob", "Grep", "LS", "ExitPlanMode", "Read",
                              "Edit", "MultiEdit", "Write", "NotebookEdit", "WebFetch",
                              "TodoWrite", "WebSearch", "BashOutput", "KillBash", "SlashCommand"]):
        tools.append({
            "name": name,
            "description": ("Use this tool to %s. " % name.lower()) * 12 +
                           "\n\nUsage notes:\n- Always use absolute paths.\n- Ünïcode ✓ ok.",
            "input_schema": {
                "type": "object", "additionalProperties": False,
                "$schema": "http://json-schema.org/draft-07/schema#",
                "properties": {
                    "path": {"type": "string", "description": "The absolute path %d" % i},
                    "limit": {"type": "number", "description": "How many lines", "minimum": 1},
                    "flags": {"type": "array", "items": {"type": "string",
                                                         "enum": ["a", "b", "c"]}},
                },
                "required": ["path"],
            },
        })
    messages = [{"role": "user", "content": [
        {"type": "text", "text": "<system-reminder>\nAs you answer the user's questions, "
                                 "you can use the following context.\n</system-reminder>"},
        {"type": "text", "text": "Fix the overflow in parse.c and add a test."}]}]
    for i in range(72):
        messages.append({"role": "assistant", "content": [
            {"type": "text", "text": "Let me look at file %d." % i},
            {"type": "tool_use", "id": "toolu_%04d" % i, "name": "Read",
             "input": {"file_path": "/home/u/src/p/parse%d.c" % i, "limit": 2000}}]})
        messages.append({"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "toolu_%04d" % i,
             "content": code[: 400 + (i * 97) % 900] if i % 3 else
             [{"type": "text", "text": code[:700]}]}]})
    messages.append({"role": "user", "content": [{"type": "text", "text": "Now run the tests.",
                                                  "cache_control": {"type": "ephemeral"}}]})
    return {
        "model": MODEL, "max_tokens": 32000, "temperature": 1,
        "system": [{"type": "text", "text": "You are Claude Code, Anthropic's official CLI.",
                    "cache_control": {"type": "ephemeral"}},
                   {"type": "text", "text": "You are an interactive CLI tool. " * 200}],
        "tools": tools, "messages": messages,
        "metadata": {"user_id": "user_abc_account_123_session_4f1c"},
    }


def send(conn, path, body, n):
    for _ in range(n):
        conn.request("POST", path, body, {"content-type": "application/json",
                                          "anthropic-version": "2023-06-01",
                                          "x-api-key": "k"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise RuntimeError("status %d" % r.status)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tool", choices=["callgrind", "malloc"], required=True)
    ap.add_argument("--body", default="small", help='"small", "cc" or a JSON file')
    ap.add_argument("--stream", action="store_true")
    ap.add_argument("--translated", action="store_true")
    ap.add_argument("-n", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=50)
    ap.add_argument("--zend", default=os.path.join(ROOT, "build", "bin", "zend"))
    ap.add_argument("--out", help="where to keep the callgrind profile")
    ap.add_argument("--config-extra", default="{}", help="JSON merged into the profile's provider")
    ap.add_argument("--daemon-extra", default="{}",
                    help='JSON merged into "daemon", e.g. \'{"usage": {"enabled": false}}\'')
    a = ap.parse_args()

    if a.body == "small":
        doc = SMALL
    elif a.body == "cc":
        doc = cc_body()
    else:
        with open(a.body) as f:
            doc = json.load(f)
    doc = dict(doc, stream=True) if a.stream else doc
    body = json.dumps(doc, separators=(",", ":")).encode()

    work = tempfile.mkdtemp(prefix="reqcost-")
    procs = []
    try:
        mport, zport = bl.free_port(), bl.free_port()
        mock = [sys.executable, os.path.join(HERE, "fastsse.py"), "--port", str(mport),
                "--gap-ms", "0"] + (["--format", "openai"] if a.translated else [])
        procs.append(subprocess.Popen(mock, stdout=subprocess.DEVNULL))
        bl.wait_port(mport, proc=procs[-1])
        prov = {"base_url": "http://127.0.0.1:%d" % mport}
        if a.translated:
            prov = {"type": "openai", "openai_api": "chat",
                    "base_url": "http://127.0.0.1:%d/v1" % mport}
        prov.update(json.loads(a.config_extra))
        home = os.path.join(work, "home")
        os.makedirs(home, mode=0o700)
        with open(os.path.join(home, "zen.json"), "w") as f:
            json.dump({"providers": {"mock": prov}, "profiles": {"default": ["mock"]},
                       "daemon": dict({"listen": "127.0.0.1:%d" % zport},
                                      **json.loads(a.daemon_extra))}, f)
        os.chmod(os.path.join(home, "zen.json"), 0o600)
        env = dict(os.environ, ZEN_HOME=home)
        cmd = [a.zend, "--home", home, "--foreground", "--no-supervisor"]
        cgout = os.path.abspath(a.out or os.path.join(work, "callgrind.out"))
        os.makedirs(os.path.dirname(cgout), exist_ok=True)
        if a.tool == "callgrind":
            cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no",
                   "--callgrind-out-file=" + cgout] + cmd
        else:
            shim = os.path.join(work, "malloc_count.so")
            subprocess.check_call(["cc", "-O2", "-Wall", "-Wextra", "-shared", "-fPIC",
                                   os.path.join(HERE, "malloc_count.c"), "-o", shim, "-ldl"])
            env.update(LD_PRELOAD=shim, MALLOC_COUNT_DIR=work)
        z = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                             stderr=open(os.path.join(work, "zend.log"), "w"))
        procs.append(z)
        bl.wait_port(zport, 120.0, proc=z)
        conn = http.client.HTTPConnection("127.0.0.1", zport, timeout=60)
        path = "/default/bench/v1/messages"
        send(conn, path, body, a.warmup)

        def counters():
            with open(os.path.join(work, "malloc-count.%d" % z.pid), "rb") as f:
                raw = f.read(48)
            return [int.from_bytes(raw[i:i + 8], "little") for i in range(0, 48, 8)]

        if a.tool == "callgrind":
            subprocess.check_call(["callgrind_control", "-z", str(z.pid)], stdout=subprocess.DEVNULL)
            subprocess.check_call(["callgrind_control", "-i", "on", str(z.pid)],
                                  stdout=subprocess.DEVNULL)
            send(conn, path, body, a.n)
            subprocess.check_call(["callgrind_control", "-i", "off", str(z.pid)],
                                  stdout=subprocess.DEVNULL)
            subprocess.check_call(["callgrind_control", "-d", str(z.pid)], stdout=subprocess.DEVNULL)
            time.sleep(1)
            dumps = sorted(p for p in os.listdir(os.path.dirname(cgout))
                           if p.startswith(os.path.basename(cgout)))
            total = 0
            for d in dumps:
                with open(os.path.join(os.path.dirname(cgout), d)) as f:
                    for line in f:
                        if line.startswith("totals:"):
                            total = max(total, int(line.split()[1]))
            print("body %d bytes%s%s: %.1fk instructions/request (%d requests, profile %s)"
                  % (len(body), " stream" if a.stream else "",
                     " translated" if a.translated else "", total / a.n / 1000.0, a.n,
                     os.path.join(os.path.dirname(cgout), dumps[-1]) if dumps else "-"))
        else:
            before = counters()
            send(conn, path, body, a.n)
            after = counters()
            d = [x - y for x, y in zip(after, before)]
            print("body %d bytes%s%s: %.1f allocations/request (malloc %.1f calloc %.1f "
                  "realloc %.1f free %.1f, %.0f bytes)"
                  % (len(body), " stream" if a.stream else "",
                     " translated" if a.translated else "", (d[0] + d[1] + d[2]) / a.n,
                     d[0] / a.n, d[1] / a.n, d[2] / a.n, d[3] / a.n, d[5] / a.n))
        conn.close()
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        if not a.out:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
