#!/usr/bin/env python3
"""make demo: zend in a minute, without an API key.

Starts two copies of the repository's mock provider (tests/mock/): "primary",
which answers every request 529 overloaded, and "backup", which answers. A
temporary ZEN_HOME gets a zen.json whose default profile tries primary, then
backup. zend starts on an ephemeral port; one curl request goes through it
and fails over; the log and the providers table say what happened; then
`zenctl metrics --watch` runs for a few seconds while more requests go
through. Everything it started is stopped by pid and the temporary home is
removed, also when a step fails.

Binaries: $ZEND_BIN and $ZENCTL_BIN, else BUILD/bin/ (BUILD: --build DIR,
default build/ at the repository's top). Needs python3 and curl. Exit 0 when
the failover was seen, else 1.
"""
import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MOCK = os.path.join(TOP, "tests", "mock", "mock_provider.py")
DEADLINE_S = 15.0
WATCH_S = 4.0
WATCH_INTERVAL = "0.5"

OVERLOADED = {"status": 529, "json": {"type": "error", "error": {
    "type": "overloaded_error", "message": "Overloaded (the demo's primary always is)"}}}
ANSWER = {"reply": {"text": "Hello from the backup provider!", "model": "claude-demo"}}
REQUEST = {"model": "claude-sonnet-4-5", "max_tokens": 64,
           "messages": [{"role": "user", "content": "Say hello."}]}


class DemoFailed(Exception):
    pass


def say(text=""):
    print(text, flush=True)


def wait_until(cond, what, timeout=DEADLINE_S):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.05)
    raise DemoFailed("timed out waiting for " + what)


class Demo:
    def __init__(self, zend, zenctl):
        self.zend_bin, self.zenctl_bin = zend, zenctl
        # Short and private: the control socket's path must fit sun_path.
        self.home = tempfile.mkdtemp(prefix="zen-demo-", dir="/tmp")
        self.env = dict(os.environ, ZEN_HOME=self.home, NO_COLOR="1")
        for var in ("GOZEN_CONFIG_DIR", "ZEN_SOCKET"):
            self.env.pop(var, None)
        self.procs = []  # (name, Popen), stopped in reverse order

    # ---- processes ----
    def start_mock(self, name, step):
        port_file = os.path.join(self.home, name + ".port")
        p = subprocess.Popen([sys.executable, MOCK, "--port-file", port_file],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.procs.append((name, p))
        wait_until(lambda: os.path.exists(port_file) or p.poll() is not None,
                   "mock %s to listen" % name)
        if p.poll() is not None:
            raise DemoFailed("mock %s exited (%d)" % (name, p.returncode))
        with open(port_file) as f:
            url = "http://127.0.0.1:%d" % int(f.read())
        import urllib.request
        req = urllib.request.Request(url + "/__mock/default", data=json.dumps(step).encode(),
                                     method="POST")
        with urllib.request.urlopen(req, timeout=DEADLINE_S) as r:
            r.read()
        return url, p.pid

    def zenctl(self, *args, show=True):
        r = subprocess.run([self.zenctl_bin, *args], env=self.env, capture_output=True,
                           text=True, timeout=DEADLINE_S)
        if show:
            say("$ zenctl " + " ".join(shlex.quote(a) for a in args))
            say(r.stdout.rstrip("\n"))
            if r.stderr.strip():
                say(r.stderr.rstrip("\n"))
        return r

    def start_zend(self):
        self.zend_out = os.path.join(self.home, "zend.out")
        with open(self.zend_out, "w") as out:
            p = subprocess.Popen([self.zend_bin, "--foreground"], env=self.env, stdout=out,
                                 stderr=out, stdin=subprocess.DEVNULL)
        self.zend = p
        self.procs.append(("zend", p))
        wait_until(lambda: p.poll() is not None or
                   self.zenctl("status", show=False).returncode == 0, "zend to answer")
        if p.poll() is not None:
            raise DemoFailed("zend exited (%d):\n%s" % (p.returncode, self.zend_output()))
        st = json.loads(self.zenctl("-o", "json", "status", show=False).stdout)
        return st["listen"]

    def zend_output(self):
        with open(self.zend_out) as f:
            return f.read()

    def stop_all(self):
        if getattr(self, "zend", None) and self.zend.poll() is None:
            self.zenctl("shutdown", show=False)
        for name, p in reversed(self.procs):
            if p.poll() is None and name != "zend":
                p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    # ---- the steps ----
    def write_config(self, primary, backup):
        cfg = {"providers": {
                   "primary": {"base_url": primary, "auth_token": "demo-key-primary"},
                   "backup": {"base_url": backup, "auth_token": "demo-key-backup"}},
               "profiles": {"default": ["primary", "backup"]},
               "daemon": {"listen": "127.0.0.1:0"}}
        path = os.path.join(self.home, "zen.json")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
            json.dump(cfg, f, indent=2)
        return path

    def curl(self, listen, show=True):
        """One Messages API request through zend; returns (status, headers, body)."""
        head = os.path.join(self.home, "curl.head")
        argv = ["curl", "-sS", "-D", head, "http://%s/default/v1/messages" % listen,
                "-H", "content-type: application/json", "-H", "anthropic-version: 2023-06-01",
                "-d", json.dumps(REQUEST, separators=(",", ":"))]
        r = subprocess.run(argv, capture_output=True, text=True, timeout=DEADLINE_S)
        if r.returncode != 0:
            raise DemoFailed("curl failed (%d): %s" % (r.returncode, r.stderr.strip()))
        with open(head) as f:
            lines = [line.rstrip("\r\n") for line in f if line.strip()]
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip()
                   for k, _, v in (line.partition(":") for line in lines[1:])}
        if show:
            say("$ " + " ".join(shlex.quote(a) for a in argv if a not in ("-D", head)))
            say(lines[0])
            for k in ("x-zen-provider", "x-zen-attempts", "x-zen-request-id"):
                if k in headers:
                    say("%s: %s" % (k, headers[k]))
            say(r.stdout)
        return status, headers, r.stdout

    def explain_failover(self, status, headers, body):
        """Says, from what zend reported, which provider failed and which served."""
        failed = [json.loads(line) for line in self.zenctl(
            "-o", "json", "logs", "-n", "20", "--event", "provider_failed",
            show=False).stdout.splitlines()]
        served = headers.get("x-zen-provider")
        text = json.loads(body)["content"][0]["text"]
        if status != 200 or not failed or served != "backup":
            raise DemoFailed("no failover seen: status %d, served by %s, %d provider_failed"
                             % (status, served, len(failed)))
        f = failed[-1]
        say("-> failover: %s failed with %s (%s error), %s served the answer, %s attempts in "
            "all: %r" % (f["provider"], f.get("status"), f.get("error_type"), served,
                         headers.get("x-zen-attempts"), text))

    def watch(self, listen):
        """zenctl metrics --watch for WATCH_S seconds while requests flow. Its
        output is a pipe here, so it prints a line per tick (in a terminal it
        is a full screen; q quits)."""
        args = ["metrics", "--watch", "-i", WATCH_INTERVAL]
        say("$ zenctl %s    (%.0f s, with requests flowing; in a terminal it is a full screen)"
            % (" ".join(args), WATCH_S))
        w = subprocess.Popen([self.zenctl_bin, *args], env=self.env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        self.procs.append(("watch", w))
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(w.stdout.readline, "")))
        reader.start()
        end = time.monotonic() + WATCH_S
        while time.monotonic() < end:
            self.curl(listen, show=False)
            time.sleep(0.2)
        w.send_signal(signal.SIGINT)
        code = w.wait(timeout=DEADLINE_S)
        reader.join(timeout=DEADLINE_S)
        for line in lines:
            say(line.rstrip("\n"))
        if code != 0 or len(lines) < 3:
            raise DemoFailed("metrics --watch: exit %d, %d lines: %s"
                             % (code, len(lines), w.stderr.read()))

    def run(self):
        t0 = time.monotonic()
        say("== zend demo: a request, a failover and live metrics, no API key needed ==")
        primary, primary_pid = self.start_mock("primary", OVERLOADED)
        backup, backup_pid = self.start_mock("backup", ANSWER)
        say("mock providers: primary (pid %d) at %s answers 529 overloaded, backup (pid %d) at "
            "%s answers" % (primary_pid, primary, backup_pid, backup))
        path = self.write_config(primary, backup)
        say("config %s: profile default = primary, then backup" % path)
        say()
        say("$ ZEN_HOME=%s zend --foreground" % self.home)
        listen = self.start_zend()
        say(self.zend_output().splitlines()[0])
        say()
        status, headers, body = self.curl(listen)
        self.explain_failover(status, headers, body)
        say()
        self.zenctl("-o", "short", "logs", "-n", "4", "--event", "provider_failed",
                    "--event", "provider_state_changed")
        say()
        self.zenctl("providers")
        say()
        self.watch(listen)
        say()
        r = self.zenctl("shutdown")
        if r.returncode != 0:
            raise DemoFailed("zenctl shutdown: exit %d" % r.returncode)
        say()
        say("demo done in %.1f s. Try it on your own: make run, then point "
            "ANTHROPIC_BASE_URL at the address it prints." % (time.monotonic() - t0))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.path.join(TOP, "build"),
                    help="build directory holding bin/zend and bin/zenctl")
    opt = ap.parse_args()
    zend = os.environ.get("ZEND_BIN", os.path.join(opt.build, "bin", "zend"))
    zenctl = os.environ.get("ZENCTL_BIN", os.path.join(opt.build, "bin", "zenctl"))
    for path in (zend, zenctl):
        if not os.access(path, os.X_OK):
            sys.exit("demo: %s is missing: run make build first" % path)
    if not shutil.which("curl"):
        sys.exit("demo: curl is missing: sudo apt-get install -y curl")
    demo = Demo(zend, zenctl)
    try:
        demo.run()
    except (DemoFailed, subprocess.TimeoutExpired) as e:
        print("demo failed: %s" % e, file=sys.stderr)
        return 1
    finally:
        demo.stop_all()
        print("removed %s" % demo.home, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
