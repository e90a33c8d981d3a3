"""zenctl's views: metrics --watch (pushed ticks, piped lines, full screen),
metrics -o prom, logs (backlog, short and JSON, -f with filters and across
a restart), a log subscriber that never reads, and health / providers /
provider / reload. Real zend, mock providers, raw sockets and a pty."""
import errno
import json
import math
import os
import pty
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import termios
import threading
import time
import unittest

from test_proxy import ProxyTestCase
from zenharness import (DEADLINE_S, SOURCE_DIR, ZENCTL, RawClient, mp_pack, mp_unpack, rss_kb,
                        wait_until)


def pack(v):
    """mp_pack plus float64, which zenharness's packer has no need for."""
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, (list, tuple)):
        head = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdd" + struct.pack(">I", len(v))
        return head + b"".join(pack(x) for x in v)
    if isinstance(v, dict):
        head = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xdf" + struct.pack(">I", len(v))
        return head + b"".join(pack(k) + pack(x) for k, x in v.items())
    return mp_pack(v)

ANSI = re.compile(r"\x1b\[")
SHORT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{3} (DEBUG|INFO |WARN |ERROR) [a-z_]+( \S+=.*)?$")


class Stream:
    """A zenctl started in the background with its stdout (and stderr) read
    by threads, so a test can wait for lines with a deadline."""

    def __init__(self, test, *args, env=None):
        self.proc = subprocess.Popen([ZENCTL, *args], env=env or test.env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        test.procs.append(self.proc)  # killed in tearDown if still running
        self.lines, self.errors = [], []
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._pump, args=(f, dst), daemon=True)
                        for f, dst in ((self.proc.stdout, self.lines),
                                       (self.proc.stderr, self.errors))]
        for t in self.threads:
            t.start()
        test.addCleanup(self.close)

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for t in self.threads:
            t.join(DEADLINE_S)
        self.proc.stdout.close()
        self.proc.stderr.close()

    def _pump(self, f, dst):
        for line in f:
            with self.cond:
                dst.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, pred, timeout=DEADLINE_S, what="output"):
        """Waits until pred(lines, errors) is true; returns its value."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                value = pred(self.lines, self.errors)
                if value:
                    return value
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("timed out waiting for %s; stdout=%r stderr=%r"
                                         % (what, self.lines[-20:], self.errors[-20:]))
                self.cond.wait(left)

    def stop(self, sig=signal.SIGINT, timeout=DEADLINE_S):
        """Sends sig and returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        for t in self.threads:
            t.join(timeout)
        return code


def run_in_pty(argv, env, interact, rows=30, cols=120, timeout=DEADLINE_S):
    """Runs argv on a pseudo-terminal. interact(read_until, write) drives it;
    returns (exit code, everything printed, termios before, termios after)."""
    pid, fd = pty.fork()
    if pid == 0:  # child: exec, never return into the test runner
        try:
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    import fcntl
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    before = termios.tcgetattr(fd)
    out = bytearray()

    def read_until(pred, what, limit=timeout):
        end = time.monotonic() + limit
        while not pred(bytes(out)):
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("timed out waiting for %s; got %r"
                                     % (what, bytes(out[-2000:])))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                try:
                    chunk = os.read(fd, 65536)
                except OSError as e:  # EIO: the child closed the terminal
                    if e.errno != errno.EIO:
                        raise
                    chunk = b""
                if not chunk:
                    if not pred(bytes(out)):
                        raise AssertionError("terminal closed before %s; got %r"
                                             % (what, bytes(out[-2000:])))
                    return
                out.extend(chunk)

    try:
        interact(read_until, lambda data: os.write(fd, data))
        # Read until the terminal's last byte (EIO once every slave fd is
        # closed, i.e. the child has exited), then reap the child.
        end = time.monotonic() + timeout
        while True:
            if time.monotonic() > end:
                raise AssertionError("zenctl did not exit; got %r" % bytes(out[-2000:]))
            r, _, _ = select.select([fd], [], [], 0.05)
            if not r:
                continue
            try:
                chunk = os.read(fd, 65536)
            except OSError as e:
                if e.errno != errno.EIO:
                    raise
                break
            if not chunk:
                break
            out.extend(chunk)
        _, status = os.waitpid(pid, 0)
        after = termios.tcgetattr(fd)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        os.close(fd)
    return os.waitstatus_to_exitcode(status), bytes(out), before, after


# ---- a strict reader of Prometheus text exposition (format 0.0.4) ----

METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{(%s(?:,%s)*)?\})? (\S+)$" % (METRIC_NAME, LABEL, LABEL))


def unescape(v):
    return re.sub(r"\\([\\\"n])", lambda m: {"\\": "\\", '"': '"', "n": "\n"}[m.group(1)], v)


def parse_prom(text):
    """Parses exposition text strictly; returns {family: {"type", "help",
    "samples": [(name, {labels}, value)]}}. Fails on anything the format
    (or node_exporter's textfile collector) would refuse."""
    families, current = {}, None
    assert text.endswith("\n"), "exposition must end with a newline"
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        assert line, "empty line at " + where
        if line.startswith("# HELP "):
            name, _, help_text = line[7:].partition(" ")
            assert re.fullmatch(METRIC_NAME, name), where
            assert name not in families, "family declared twice: " + where
            assert not re.search(r"\\[^\\n]", help_text), "bad escape in HELP: " + where
            current = families[name] = {"help": help_text, "type": None, "samples": []}
            continue
        if line.startswith("# TYPE "):
            name, _, typ = line[7:].partition(" ")
            assert current is families.get(name) and current["type"] is None, \
                "TYPE must follow its HELP: " + where
            assert typ in ("counter", "gauge", "histogram", "summary", "untyped"), where
            current["type"] = typ
            continue
        assert not line.startswith("#"), "stray comment: " + where
        m = SAMPLE.match(line)
        assert m, "not a sample: " + where
        name, value = m.group(1), m.group(len(m.groups()))
        labels = {}
        for k, v in re.findall(LABEL, line[len(name):line.rfind(" ")]):
            assert k not in labels, "label repeated: " + where
            labels[k] = unescape(v)
        assert current is not None and current["type"], "sample before HELP/TYPE: " + where
        base = current_name = [k for k, f in families.items() if f is current][0]
        if current["type"] == "histogram":
            assert name in (base + "_bucket", base + "_sum", base + "_count"), where
        elif current["type"] == "summary":
            assert name in (base, base + "_sum", base + "_count"), where
            assert (name == base) == ("quantile" in labels), \
                "summary quantiles (only) carry quantile: " + where
        else:
            assert name == current_name, "sample outside its family: " + where
        assert value in ("+Inf", "-Inf", "NaN") or re.fullmatch(
            r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", value), "bad value: " + where
        current["samples"].append((name, labels, float(value)))
    for name, f in families.items():
        if f["type"] == "counter":
            assert name.endswith("_total"), "counter without _total: " + name
            assert all(v >= 0 for _, _, v in f["samples"]), name
        if f["type"] == "histogram" and f["samples"]:
            buckets = [(lb["le"], v) for n, lb, v in f["samples"] if n.endswith("_bucket")]
            assert buckets and buckets[-1][0] == "+Inf", "histogram must end with +Inf: " + name
            bounds = [float(le) for le, _ in buckets]
            assert bounds == sorted(bounds), "buckets out of order: " + name
            counts = [v for _, v in buckets]
            assert counts == sorted(counts), "buckets not cumulative: " + name
            count = [v for n, _, v in f["samples"] if n == name + "_count"]
            assert count == [counts[-1]], "+Inf bucket != _count in " + name
            assert [1 for n, _, _ in f["samples"] if n == name + "_sum"], name + " has no _sum"
        if f["type"] == "summary":
            # Per series (labels but quantile): quantiles in [0, 1] and
            # ascending, then one _sum and one _count.
            series = {}
            for n, lb, v in f["samples"]:
                key = tuple(sorted((k, x) for k, x in lb.items() if k != "quantile"))
                series.setdefault(key, []).append((n, lb.get("quantile"), v))
            for key, samples in series.items():
                qs = [float(q) for n, q, _ in samples if n == name]
                assert qs == sorted(qs) and all(0 <= q <= 1 for q in qs), (name, key)
                tail = [n for n, _, _ in samples if n != name]
                assert tail == [name + "_sum", name + "_count"], (name, key, tail)
    return families


def sample_value(families, family, name=None, **labels):
    for n, lb, v in families[family]["samples"]:
        if n == (name or family) and lb == labels:
            return v
    raise AssertionError("no sample %s%r in %s" % (name or family, labels, family))


class ViewsTestCase(ProxyTestCase):
    def solo_failure(self):
        """One request whose only provider (p1, failing with 500) fails:
        provider_failed, provider_state_changed and request_completed."""
        self.m1.default({"status": 500, "json": {"error": "down"}})
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 500)

    def served(self, n=1):
        self.m1.default({"json": {"from": "p1"}})
        self.m2.default({"json": {"from": "p2"}})
        for _ in range(n):
            self.assertEqual(self.post().status, 200)


class MetricsWatch(ViewsTestCase):
    def test_json_ticks_are_pushed(self):
        self.start()
        w = Stream(self, "metrics", "--watch", "-o", "json", "-i", "0.2")
        # Ticks only come when zend pushes them: every 0.2 s, each a fresh
        # map with a later uptime. Watch for about 1.2 s.
        w.wait_for(lambda out, err: out, what="the first tick")
        t0 = time.monotonic()
        time.sleep(1.2)  # the behaviour under test is a rate: observe a fixed window
        self.assertEqual(w.stop(signal.SIGINT), 0, w.errors)
        elapsed = time.monotonic() - t0
        ticks = [json.loads(line) for line in w.lines]
        self.assertGreaterEqual(len(ticks), 4, w.lines)
        self.assertLessEqual(len(ticks), 2 + math.ceil(elapsed / 0.2), w.lines)
        uptimes = [t["uptime_s"] for t in ticks]
        self.assertEqual(uptimes, sorted(set(uptimes)), "each tick is a new sample")
        for t in ticks:
            self.assertIn("requests_total", t)
            self.assertIn("latency_histogram", t)
        gaps = [b - a for a, b in zip(uptimes, uptimes[1:])]
        self.assertTrue(all(0.1 < g < 1.0 for g in gaps), gaps)

    def test_piped_lines_with_repeated_header(self):
        self.start()
        self.served(3)
        w = Stream(self, "metrics", "--watch", "-i", "0.1")
        w.wait_for(lambda out, err: len(out) >= 25, what="25 lines", timeout=DEADLINE_S * 2)
        self.assertEqual(w.stop(signal.SIGINT), 0, w.errors)
        lines = w.lines[:25]
        header = lines[0]
        self.assertEqual(header.split(), ["time", "req/s", "inflight", "err%", "p50_ms",
                                          "p95_ms", "p99_ms", "rss_mib"])
        for i, line in enumerate(lines):
            if i % 21 == 0:
                self.assertEqual(line, header, "header at line %d" % i)
                continue
            cols = line.split()
            self.assertEqual(len(cols), 8, line)
            self.assertRegex(cols[0], r"^\d\d:\d\d:\d\d$")
            self.assertRegex(cols[2], r"^\d+/100$")
            for c in cols[1:2] + cols[3:]:
                float(c)

    def test_piped_rate_reflects_traffic(self):
        self.start()
        w = Stream(self, "metrics", "--watch", "-i", "0.2")
        w.wait_for(lambda out, err: len(out) >= 2, what="a first data line")
        self.served(20)
        w.wait_for(lambda out, err: any(line.split()[1] not in ("req/s", "0.0") for line in out),
                   what="a non-zero req/s")
        self.assertEqual(w.stop(), 0)

    def test_exit_3_when_zend_goes_away(self):
        self.start()
        w = Stream(self, "metrics", "--watch", "-o", "json", "-i", "0.2")
        w.wait_for(lambda out, err: out, what="a tick")
        self.stop_zend_cleanly(self.zend)
        self.zend = None
        self.assertEqual(w.proc.wait(timeout=DEADLINE_S), 3)
        w.stop()
        self.assertIn("zend went away", "\n".join(w.errors))

    def test_pipe_reader_gone_is_exit_0(self):
        self.start()
        r = subprocess.run(["bash", "-c", '"$0" metrics --watch -i 0.1 | head -n 3; '
                            'echo "zenctl=${PIPESTATUS[0]}"', ZENCTL], env=self.env,
                           capture_output=True, text=True, timeout=DEADLINE_S)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 4, r.stdout)
        self.assertEqual(lines[-1], "zenctl=0", r.stderr)  # not 141 (SIGPIPE)

    def screen(self, keys, env=None):
        env = dict(env or self.env)
        env["TERM"] = "xterm"

        def interact(read_until, write):
            read_until(lambda b: b.count(b"PROVIDER") >= 2, "two frames")
            write(keys)
        return run_in_pty([ZENCTL, "metrics", "--watch", "-i", "0.2"], env, interact)

    def test_full_screen_quits_on_q_and_restores_terminal(self):
        self.start()
        self.served(2)
        code, out, before, after = self.screen(b"q")
        self.assertEqual(code, 0, out[-2000:])
        self.assertTrue(out.startswith(b"\x1b[?1049h"), out[:200])  # alternate screen
        self.assertIn(b"\x1b[?25l", out)                           # cursor hidden...
        self.assertTrue(out.endswith(b"\x1b[?25h\x1b[?1049l"), out[-200:])  # ...and back
        self.assertEqual(before, after, "termios restored (raw mode off)")
        text = out.decode(errors="replace")
        self.assertIn("in-flight  0/100", text)
        self.assertRegex(text, r"p1\s+(\x1b\[[0-9;]*m)?healthy")  # status pushed with the tick
        self.assertRegex(text, r"requests   \d+\.\d/s")  # a rate, from the second tick on
        self.assertIn("\x1b[1m", text)  # colour on a terminal

    def test_full_screen_ctrl_c_and_no_color(self):
        self.start()
        env = dict(self.env, NO_COLOR="1")
        code, out, before, after = self.screen(b"\x03", env=env)
        self.assertEqual(code, 0)
        self.assertTrue(out.endswith(b"\x1b[?25h\x1b[?1049l"), out[-200:])
        self.assertEqual(before, after)
        self.assertNotIn(b"\x1b[1m", out)


class FakeControl:
    """A control socket that answers each method with answers[method]: a
    result, or ("error", code, message); anything else is "unknown method".
    Records every (method, params) it was asked. Lets a test put awkward
    names in front of the renderers, or answer what zend does not serve."""

    def __init__(self, path, answers):
        self.answers, self.calls = answers, []
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            buf = b""
            with conn:
                while True:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    buf += chunk
                    try:
                        msg, pos = mp_unpack(buf)
                    except Exception:
                        continue
                    buf = buf[pos:]
                    _, msgid, method, params = msg
                    self.calls.append((method, params[0] if params else None))
                    answer = self.answers.get(method, ("error", 1, "unknown method " + method))
                    if isinstance(answer, tuple):
                        reply = [1, msgid, {"code": answer[1], "message": answer[2]}, None]
                    else:
                        reply = [1, msgid, None, answer]
                    conn.sendall(pack(reply))

    def close(self):
        try:
            self.srv.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        except OSError:
            pass
        self.srv.close()
        self.thread.join(DEADLINE_S)
        assert not self.thread.is_alive(), "fake control socket thread still running"


class Prometheus(ViewsTestCase):
    def check_with_promtool(self, text):
        promtool = shutil.which("promtool")
        if not promtool:
            return  # the strict parser above has run already
        r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                           text=True, timeout=DEADLINE_S)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_exposition_from_live_zend(self):
        self.start()
        self.m1.script({"status": 500, "json": {"error": "down"}})  # one failover to p2
        self.served(4)
        r = self.zenctl("metrics", "-o", "prom")
        self.assertEqual(r.returncode, 0, r.stderr)
        fams = parse_prom(r.stdout)
        self.check_with_promtool(r.stdout)
        self.assertEqual(sample_value(fams, "zend_up"), 1)
        self.assertEqual(sample_value(fams, "zend_requests_total", code="200"), 4)
        self.assertEqual(sample_value(fams, "zend_failovers_total"), 1)
        self.assertEqual(sample_value(fams, "zend_attempts_total"), 5)
        self.assertEqual(sample_value(fams, "zend_errors_total", type="server"), 1)
        self.assertEqual(sample_value(fams, "zend_provider_errors_total", provider="p1",
                                      type="server"), 1)
        self.assertEqual(sample_value(fams, "zend_provider_requests_total", provider="p2"), 4)
        self.assertEqual(sample_value(fams, "zend_request_duration_seconds",
                                      "zend_request_duration_seconds_count"), 4)
        self.assertEqual(sample_value(fams, "zend_request_duration_seconds",
                                      "zend_request_duration_seconds_bucket", le="+Inf"), 4)
        self.assertGreater(sample_value(fams, "zend_rss_bytes"), 1 << 20)
        self.assertGreater(sample_value(fams, "zend_open_fds"), 0)
        self.assertEqual(sample_value(fams, "zend_max_concurrent"), 100)
        self.assertEqual(fams["zend_request_duration_seconds"]["type"], "histogram")
        # Attempt latency per provider and TTFB: summaries (quantiles over
        # the recent window, _sum and _count since start); request duration
        # is the histogram alone, without percentile gauges beside it.
        self.assertEqual(fams["zend_provider_latency_seconds"]["type"], "summary")
        self.assertGreater(sample_value(fams, "zend_provider_latency_seconds", provider="p2",
                                        quantile="0.99"), 0)
        self.assertEqual(sample_value(fams, "zend_provider_latency_seconds",
                                      "zend_provider_latency_seconds_count", provider="p2"), 4)
        self.assertEqual(sample_value(fams, "zend_provider_latency_seconds",
                                      "zend_provider_latency_seconds_count", provider="p1"), 1)
        self.assertGreater(sample_value(fams, "zend_provider_latency_seconds",
                                        "zend_provider_latency_seconds_sum", provider="p2"), 0)
        self.assertEqual(fams["zend_time_to_first_byte_seconds"]["type"], "summary")
        self.assertEqual(sample_value(fams, "zend_time_to_first_byte_seconds",
                                      "zend_time_to_first_byte_seconds_count"), 4)
        self.assertGreater(sample_value(fams, "zend_time_to_first_byte_seconds",
                                        quantile="0.5"), 0)
        self.assertNotIn("percentile", r.stdout)
        self.assertNotIn("zend_request_latency_seconds", fams)
        # p2 served everything: up, circuit closed, switched on, not cooling
        # (p1's failure and its cooldown: test_provider_state_gauges_from_live_zend).
        self.assertEqual(sample_value(fams, "zend_provider_up", provider="p2"), 1)
        self.assertEqual(sample_value(fams, "zend_provider_disabled", provider="p2"), 0)
        self.assertEqual(sample_value(fams, "zend_provider_cooldown_seconds", provider="p2"), 0)
        for state, v in (("closed", 1), ("open", 0), ("half_open", 0)):
            self.assertEqual(sample_value(fams, "zend_provider_circuit_state", provider="p2",
                                          state=state), v)
        for family in ("zend_uptime_seconds", "zend_restarts_total", "zend_in_flight",
                       "zend_queued", "zend_tokens_total",
                       "zend_cost_usd_total", "zend_budget_spend_usd"):
            self.assertIn(family, fams)
        # 0.05, not 0.050000000000000003: le values read like the config.
        self.assertIn('zend_request_duration_seconds_bucket{le="0.05"}', r.stdout)
        # One version everywhere: zend -V, zenctl --version, hello/status, build_info.
        version = self.run_zend("-V").stdout.split()[1]
        self.assertRegex(version, r"^\d+\.\d+\.\d+$")
        for flag in ("--version", "-V"):
            v = self.zenctl(flag)
            self.assertEqual((v.returncode, v.stdout), (0, "zenctl %s\n" % version))
        self.assertEqual(self.status_json()["version"], version)
        self.assertEqual(sample_value(fams, "zend_build_info", version=version), 1)
        self.assertEqual(fams["zend_build_info"]["type"], "gauge")

    def test_provider_state_gauges_from_live_zend(self):
        self.start()
        self.solo_failure()  # p1's one failure opens its circuit: cooling down
        r = self.zenctl("provider", "disable", "p2", "--for", "1800")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.zenctl("metrics", "-o", "prom")
        self.assertEqual(r.returncode, 0, r.stderr)
        fams = parse_prom(r.stdout)
        self.check_with_promtool(r.stdout)
        for family in ("zend_provider_up", "zend_provider_circuit_state",
                       "zend_provider_disabled", "zend_provider_cooldown_seconds"):
            self.assertEqual(fams[family]["type"], "gauge", family)

        def value(family, provider, **labels):
            return sample_value(fams, family, provider=provider, **labels)
        # p1: cooling for the first cooldown (60 s) less the time since.
        self.assertEqual(value("zend_provider_up", "p1"), 0)
        self.assertEqual(value("zend_provider_disabled", "p1"), 0)
        self.assertTrue(55 < value("zend_provider_cooldown_seconds", "p1") <= 60,
                        value("zend_provider_cooldown_seconds", "p1"))
        for state, v in (("closed", 0), ("open", 1), ("half_open", 0)):
            self.assertEqual(value("zend_provider_circuit_state", "p1", state=state), v, state)
        # p2: never tried, yet reported; switched off, its circuit closed.
        self.assertEqual(value("zend_provider_up", "p2"), 0)
        self.assertEqual(value("zend_provider_disabled", "p2"), 1)
        self.assertEqual(value("zend_provider_cooldown_seconds", "p2"), 0)
        self.assertEqual(value("zend_provider_circuit_state", "p2", state="closed"), 1)
        # The same facts in the metrics map the gauges come from.
        entry = self.metrics()["providers"]["p2"]
        self.assertEqual((entry["up"], entry["disabled"], entry["cooldown_s"], entry["circuit"]),
                         (False, True, 0, "closed"))
        self.assertEqual(self.zenctl("provider", "enable", "p2").returncode, 0)
        fams = parse_prom(self.zenctl("metrics", "-o", "prom").stdout)
        self.assertEqual(value("zend_provider_up", "p2"), 1)
        self.assertEqual(value("zend_provider_disabled", "p2"), 0)

    def test_label_values_are_escaped(self):
        odd = 'we"ird\\name\nx'
        metrics = {"requests_total": 1, "status_codes": {"200": 1},
                   "errors_by_type": {"server": 2},
                   "latency_histogram": {"bounds_s": [0.1, 1.0], "counts": [1, 1, 1],
                                         "sum_s": 0.05, "count": 1},
                   "providers": {odd: {"requests": 3, "served": 1, "errors": 2,
                                       "errors_by_type": {"server": 2},
                                       "latency_p50_ms": 1.5, "latency_p95_ms": 2.0,
                                       "latency_p99_ms": 2.5, "latency_sum_s": 0.0061,
                                       "status": "healthy", "circuit": "half_open",
                                       "up": True, "disabled": False, "cooldown_s": 0}},
                   "resources": {"rss_bytes": 1000}, "uptime_s": 1.5, "restarts": 0,
                   "tokens": [{"provider": odd, "model": "claude-\"x\"", "input": 1200,
                               "output": 300, "cache_read": 5000, "cache_write": 0,
                               "cost_usd": 0.0123}],
                   "budget_spend_usd": {"daily": 1.5, "weekly": 2.25, "monthly": 10}}
        fake = FakeControl(self.sock, {"metrics": metrics})
        try:
            r = self.zenctl("-o", "prom", "metrics")
        finally:
            fake.close()
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('provider="we\\"ird\\\\name\\nx"', r.stdout)
        fams = parse_prom(r.stdout)
        self.check_with_promtool(r.stdout)
        self.assertEqual(sample_value(fams, "zend_provider_errors_total", provider=odd,
                                      type="server"), 2)
        self.assertEqual(sample_value(fams, "zend_provider_latency_seconds", provider=odd,
                                      quantile="0.5"), 0.0015)
        self.assertEqual(sample_value(fams, "zend_provider_latency_seconds",
                                      "zend_provider_latency_seconds_sum", provider=odd), 0.0061)
        self.assertEqual(sample_value(fams, "zend_provider_circuit_state", provider=odd,
                                      state="half_open"), 1)
        # Tokens and cost per (provider, model), every kind a series; budget spend a gauge.
        for kind, n in (("input", 1200), ("output", 300), ("cache_read", 5000),
                        ("cache_write", 0)):
            self.assertEqual(sample_value(fams, "zend_tokens_total", provider=odd,
                                          model='claude-"x"', kind=kind), n)
        self.assertEqual(sample_value(fams, "zend_cost_usd_total", provider=odd,
                                      model='claude-"x"'), 0.0123)
        self.assertEqual(fams["zend_tokens_total"]["type"], "counter")
        self.assertEqual(fams["zend_budget_spend_usd"]["type"], "gauge")
        self.assertEqual(sample_value(fams, "zend_budget_spend_usd", period="weekly"), 2.25)
        self.assertIn('zend_budget_spend_usd{period="monthly"} 10\n', r.stdout)

    def test_unreachable_says_zend_up_0(self):
        r = self.zenctl("metrics", "-o", "prom")
        self.assertEqual(r.returncode, 3)
        fams = parse_prom(r.stdout)
        self.assertEqual(sample_value(fams, "zend_up"), 0)
        self.assertIn("not running", r.stderr)

    def test_usage_errors(self):
        for args in (["metrics", "--watch", "-o", "prom"], ["metrics", "-i", "1"],
                     ["metrics", "--watch", "-i", "0.05"], ["metrics", "--watch", "-i", "x"],
                     ["-o", "short", "metrics"], ["-o", "prom", "logs"], ["logs", "-n", "-1"],
                     ["logs", "--level", "loud"], ["provider", "pause", "p1"],
                     ["provider", "disable"], ["provider", "disable", "p1", "--for", "soon"],
                     ["-o", "prom", "health"]):
            with self.subTest(args=args):
                r = self.zenctl(*args)
                self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
                self.assertTrue(r.stderr.strip())


class Logs(ViewsTestCase):
    def newest_logged(self):
        return self.log_records()[-1]

    def test_backlog_json_ends_with_newest(self):
        self.start()
        self.served(3)
        self.solo_failure()
        # The last record on file is the last the ring holds too (same sinks).
        r = wait_until(lambda: (lambda r: r if r.stdout and json.loads(
            r.stdout.splitlines()[-1]) == self.newest_logged() else None)(
                self.zenctl("logs", "-n", "5", "-o", "json")), what="logs to settle")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(len(lines), 5)
        records = [json.loads(line) for line in lines]
        stamps = [rec["timestamp"] for rec in records]
        self.assertEqual(stamps, sorted(stamps), "oldest first")
        self.assertEqual(records, self.log_records()[-5:])
        self.assertEqual(list(records[-1])[:3], ["timestamp", "level", "event"])

    def test_short_format_and_filters(self):
        self.start()
        self.served(2)
        self.solo_failure()
        r = self.zenctl("logs", "-n", "50")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertGreater(len(lines), 3)
        for line in lines:
            self.assertRegex(line, SHORT_LINE)
        self.assertNotRegex(r.stdout, ANSI)  # not a terminal: no colour
        failed = [line for line in lines if " provider_failed " in line][0]
        self.assertIn(" provider=p1 ", failed)
        self.assertIn(" error_type=server ", failed)
        self.assertRegex(failed, r" status=500( |$)")
        self.assertRegex(failed, r' detail="')  # a string with spaces or quotes is JSON
        # --level and repeated --event filter on zend's side.
        r = self.zenctl("-o", "json", "logs", "-n", "100", "--level", "warn")
        levels = {json.loads(line)["level"] for line in r.stdout.splitlines()}
        self.assertTrue(levels and levels <= {"warn", "error"}, levels)
        r = self.zenctl("logs", "-o", "json", "-n", "100", "--event", "daemon_started",
                        "--event", "provider_state_changed")
        events = [json.loads(line)["event"] for line in r.stdout.splitlines()]
        self.assertEqual(set(events), {"daemon_started", "provider_state_changed"})
        # table is short for logs; -n 0 prints nothing and exits.
        r = self.zenctl("-o", "table", "logs", "-n", "2")
        self.assertEqual(len(r.stdout.splitlines()), 2)
        r = self.zenctl("logs", "-n", "0")
        self.assertEqual((r.returncode, r.stdout), (0, ""))

    def test_colour_only_on_a_terminal_and_never_with_no_color(self):
        self.start()

        def run(*args, **env):
            e = dict(self.env, TERM="xterm", **env)
            code, out, _, _ = run_in_pty([ZENCTL, *args, "logs", "-n", "3"], e,
                                         lambda read_until, write: None)
            self.assertEqual(code, 0, out)
            return out.decode()
        self.assertRegex(run(), ANSI)
        self.assertNotRegex(run(NO_COLOR="1"), ANSI)
        self.assertNotRegex(run("--no-color"), ANSI)

    def test_follow_shows_only_the_requested_events(self):
        self.start()
        f = Stream(self, "logs", "-f", "-n", "0", "--event", "provider_failed", "-o", "json")
        # zenctl subscribes asynchronously: fail requests until one shows.
        end = time.monotonic() + DEADLINE_S
        while not f.lines:
            self.assertLess(time.monotonic(), end, f.errors)
            self.solo_failure()
            try:
                f.wait_for(lambda out, err: out, timeout=0.5)
            except AssertionError:
                pass
        seen = len(f.lines)
        self.solo_failure()  # a retried request: two provider_failed records
        f.wait_for(lambda out, err: len(out) >= seen + 2, what="two more provider_failed")
        self.assertEqual(f.stop(signal.SIGTERM), -signal.SIGTERM)
        records = [json.loads(line) for line in f.lines]
        self.assertEqual({r["event"] for r in records}, {"provider_failed"})
        self.assertEqual({r["provider"] for r in records}, {"p1"})
        # Other events happened meanwhile, and were filtered out by zend.
        others = {r["event"] for r in self.log_records()} - {"provider_failed"}
        self.assertIn("provider_state_changed", others)
        self.assertIn("request_completed", others)

    def test_follow_survives_a_restart_without_gaps_or_repeats(self):
        self.start()
        f = Stream(self, "logs", "-f", "-n", "3", "-o", "json")
        f.wait_for(lambda out, err: len(out) >= 1, what="the backlog")
        old_pid = self.status_json()["pid"]  # the worker: it logs daemon_started
        self.restart()  # clean shutdown, then a new zend on the same home
        new_pid = self.status_json()["pid"]
        f.wait_for(lambda out, err: "reconnected" in "\n".join(err), what="the reconnect note")
        self.solo_failure()
        f.wait_for(lambda out, err: any('"request_completed"' in line for line in out),
                   what="a record from the new zend")
        self.assertEqual(f.stop(signal.SIGTERM), -signal.SIGTERM)
        notes = "\n".join(f.errors)
        self.assertIn("lost zend", notes)
        records = [json.loads(line) for line in f.lines]
        self.assertEqual(len(f.lines), len(set(f.lines)), "no record printed twice")
        events = [(r["event"], r.get("pid")) for r in records]
        # The old zend's last words and the new one's first, each once:
        # whichever the old connection did not deliver, the resumed
        # subscription replayed from the new zend's ring.
        self.assertEqual(sum(1 for e in events if e[0] == "daemon_shutdown"), 1, events)
        self.assertIn(("daemon_started", new_pid), events)
        self.assertNotIn(("daemon_started", old_pid), events[3:], "no replay of old records")
        stamps = [r["timestamp"] for r in records]
        self.assertEqual(stamps, sorted(stamps))

    def test_without_follow_exits_after_the_backlog(self):
        self.start()
        r = self.zenctl("logs", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLessEqual(len(r.stdout.splitlines()), 10)
        self.assertIn("daemon_started", r.stdout)

    def test_unreachable_is_exit_3(self):
        r = self.zenctl("logs")
        self.assertEqual(r.returncode, 3)
        self.assertIn("not running", r.stderr)


def sanitized(pid):
    """True when the process runs with AddressSanitizer."""
    with open("/proc/%d/maps" % pid) as f:
        return "libasan" in f.read()


class SlowLogSubscriber(ViewsTestCase):
    """A subscriber that never reads costs zend a bounded queue, and is told
    what it lost (a log_dropped notice, proto/PROTOCOL.md)."""

    FLOOD = 4000  # each subscriber holds at most 1024 records plus 256 KiB

    def flood(self):
        """Makes zend log FLOOD control_bad_frame warnings, one per garbage
        connection."""
        for _ in range(self.FLOOD):
            c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            c.settimeout(DEADLINE_S)
            c.connect(self.sock)
            c.sendall(b"\xc1")
            try:
                while c.recv(4096):
                    pass
            except ConnectionResetError:
                pass
            c.close()

    def test_never_reading_subscriber_is_bounded_and_told_of_drops(self):
        # Under AddressSanitizer freed memory sits in a quarantine of up to
        # 256 MiB, which would read as growth here; no effect otherwise.
        opts = [o for o in self.env.get("ASAN_OPTIONS", "").split(":") if o]
        self.env["ASAN_OPTIONS"] = ":".join(opts + ["quarantine_size_mb=0"])
        self.start()
        worker = self.status_json()["pid"]
        slow = RawClient(self.sock)
        self.addCleanup(slow.close)
        slow.request(1, "logs.subscribe", {"backlog": 0, "follow": True})
        rss_start = rss_kb(worker)
        self.flood()  # fills the socket, zend's output buffer and the queue
        rss_full = rss_kb(worker)
        self.flood()  # now every record pushes an older one out
        rss_end = rss_kb(worker)
        self.assertEqual(self.status_json()["pid"], worker)  # still answering
        # A queue's worth of records costs ~2 MiB; AddressSanitizer's redzones
        # and shadow memory make that several times more.
        limit_kb = (16 if sanitized(worker) else 4) * 1024
        self.assertLess(rss_end - rss_start, limit_kb, "RSS grew by %d KiB"
                        % (rss_end - rss_start))
        self.assertLess(rss_end - rss_full, 1024, "a full queue still grew by %d KiB"
                        % (rss_end - rss_full))
        # Now read: the answer, the oldest records that fitted, then the
        # note about what was dropped.
        dropped, bad_frames = 0, 0
        end = time.monotonic() + DEADLINE_S
        slow.s.settimeout(1.0)
        while time.monotonic() < end and not dropped:
            try:
                msg = slow.read_message()
            except socket.timeout:
                break
            self.assertIsNotNone(msg)
            if msg[0] == 2 and msg[1] == "log":
                rec = msg[2][0]
                if rec["event"] == "log_dropped":
                    dropped = rec["count"]
                elif rec["event"] == "control_bad_frame":
                    bad_frames += 1
        self.assertGreater(dropped, 0)
        self.assertGreater(bad_frames, 0)
        self.assertLessEqual(bad_frames + dropped, 2 * self.FLOOD)


class ConfigView(ViewsTestCase):
    """zenctl config: the running zend's config, every key, and where each
    value came from; tokens only as fingerprints."""
    SECRETS = ("sk-p1", "sk-config-env-secret")

    def values(self, doc):
        return {e["key"]: e for e in doc["values"]}

    def test_values_sources_and_no_secrets(self):
        self.env["ZEN_TEST_CONFIG_KEY"] = "sk-config-env-secret"
        self.start(daemon={"max_concurrent": 7}, p2={"auth_token": "env:ZEN_TEST_CONFIG_KEY"})
        r = self.zenctl("-o", "json", "config")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["file"]["path"], self.path("zen.json"))
        self.assertEqual(doc["file"]["source"], "default")
        self.assertEqual(doc["file"]["hash"], self.status_json()["config_hash"])
        self.assertEqual(doc["home"], {"path": self.home, "source": "env:ZEN_HOME"})
        v = self.values(doc)
        self.assertEqual(len(v), len(doc["values"]), "a key twice")
        # Set in zen.json ...
        self.assertEqual((v["daemon.max_concurrent"]["value"], v["daemon.max_concurrent"]["source"]),
                         (7, "zen.json"))
        self.assertEqual((v["daemon.first_byte_timeout_ms"]["value"],
                          v["daemon.first_byte_timeout_ms"]["source"]), (1500, "zen.json"))
        self.assertEqual(v["providers.p1.base_url"]["value"], self.m1.url)
        self.assertEqual(v["providers.p1.base_url"]["source"], "zen.json")
        # ... and defaults filled in.
        self.assertEqual((v["daemon.queue_timeout_ms"]["value"],
                          v["daemon.queue_timeout_ms"]["source"]), (5000, "default"))
        self.assertEqual((v["daemon.log_level"]["value"], v["daemon.log_level"]["source"]),
                         ("info", "default"))
        self.assertEqual((v["providers.p2.auth_header"]["value"],
                          v["providers.p2.auth_header"]["source"]), ("both", "default"))
        self.assertEqual((v["health_check.enabled"]["value"],
                          v["health_check.enabled"]["source"]), (False, "default"))
        # Tokens: a fingerprint and where it came from.
        t1, t2 = v["providers.p1.auth_token"], v["providers.p2.auth_token"]
        self.assertEqual((t1["source"], t1["auth"], t1["value"]), ("zen.json", "token", None))
        self.assertEqual((t2["source"], t2["auth"], t2["variable"]),
                         ("env", "env", "ZEN_TEST_CONFIG_KEY"))
        self.assertRegex(t2["fingerprint"], r"^[0-9a-f]{16}$")
        providers = json.loads(self.zenctl("-o", "json", "providers").stdout)["providers"]
        self.assertEqual(t2["fingerprint"],
                         [p for p in providers if p["name"] == "p2"][0]["auth_fingerprint"])
        table = self.zenctl("config")
        self.assertEqual(table.returncode, 0, table.stderr)
        for secret in self.SECRETS:
            self.assertNotIn(secret, r.stdout)
            self.assertNotIn(secret, table.stdout)
        rows = {line.split()[0]: line.split()[1:] for line in table.stdout.splitlines()[3:]}
        self.assertEqual(table.stdout.splitlines()[2].split(), ["KEY", "VALUE", "SOURCE"])
        self.assertEqual(rows["daemon.max_concurrent"], ["7", "zen.json"])
        self.assertEqual(rows["daemon.queue_timeout_ms"], ["5000", "default"])
        self.assertEqual(rows["providers.p2.auth_token"],
                         ["fingerprint", t2["fingerprint"], "env:ZEN_TEST_CONFIG_KEY"])
        self.assertEqual(rows["(home)"], [self.home, "env:ZEN_HOME"])

    def test_follows_reloads_and_flags(self):
        self.start()
        with open(self.path("zen.json")) as f:
            cfg = json.load(f)
        cfg["daemon"]["queue_timeout_ms"] = 1234
        self.write_config(cfg)
        self.assertEqual(self.zenctl("reload").returncode, 0)
        v = self.values(json.loads(self.zenctl("-o", "json", "config").stdout))
        self.assertEqual((v["daemon.queue_timeout_ms"]["value"],
                          v["daemon.queue_timeout_ms"]["source"]), (1234, "zen.json"))
        self.stop_zend_cleanly(self.zend)
        # --config and --home are zend's flags: the source says so.
        other = self.path("other.json")
        self.write_config(cfg, name="other.json")
        self.zend = self.start_zend("--home", self.home, "--config", other)
        doc = json.loads(self.zenctl("-o", "json", "config").stdout)
        self.assertEqual(doc["file"], dict(doc["file"], path=other, source="flag"))
        self.assertEqual(doc["home"], {"path": self.home, "source": "flag"})


class HealthAndProviders(ViewsTestCase):
    def setUp(self):
        super().setUp()
        # A zenctl without the command is a regression, not a reason to skip.
        r = self.zenctl("help")
        self.assertIn("health", r.stdout, "zenctl has no health command")

    def require(self, method):
        r = self.zenctl("-o", "json", method)
        self.assertNotIn("unknown method", r.stderr + r.stdout,
                         "this zend has no %s method" % method)
        return r

    def health(self, *args):
        r = self.zenctl(*args, "health")
        return r.returncode, r.stdout, r.stderr

    def test_health_exit_codes(self):
        code, out, _ = self.health()
        self.assertEqual(code, 3)
        self.assertTrue(out.startswith("zend unknown - zend is not running"), out)
        self.start()
        self.require("health")
        self.served(4)
        wait_until(lambda: self.health()[0] == 0, what="healthy")
        code, out, _ = self.health()
        self.assertRegex(out.splitlines()[0], r"^zend healthy - 2/2 providers up, p99 \S+ms$")
        self.assertEqual(len(out.splitlines()), 1, out)
        r = self.zenctl("provider", "disable", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        code, out, _ = self.health()
        self.assertEqual(code, 1, out)
        self.assertRegex(out, r"^zend degraded - 1/2 providers up")
        self.assertIn("p1", "\n".join(out.splitlines()[1:]))  # a reason names it
        self.zenctl("provider", "disable", "p2")
        code, out, _ = self.health()
        self.assertEqual(code, 2, out)
        self.assertRegex(out, r"^zend unhealthy - 0/2 providers up")
        doc = json.loads(self.zenctl("-o", "json", "health").stdout)
        self.assertEqual(doc["status"], "unhealthy")
        for key in ("reasons", "version", "uptime_s", "pid", "resources", "providers"):
            self.assertIn(key, doc)
        self.assertEqual(self.zenctl("-o", "json", "health").returncode, 2)
        self.zenctl("provider", "enable", "p1")
        self.zenctl("provider", "enable", "p2")
        code, out, _ = self.health()
        self.assertIn(code, (0, 1), out)

    def test_providers_table_json_and_disable_for(self):
        # p1 signs in with a literal token, p2 with one from the environment.
        self.env["ZEN_TEST_P2_KEY"] = "sk-from-env-p2"
        self.start(p2={"auth_token": "env:ZEN_TEST_P2_KEY"})
        self.require("providers")
        self.served(3)
        r = self.zenctl("providers")
        self.assertEqual(r.returncode, 0, r.stderr)
        numbers, endpoints = r.stdout.split("\n\n")
        lines = numbers.splitlines()
        self.assertEqual(lines[0].split()[:10], ["NAME", "WIRE", "STATUS", "CIRCUIT", "COOLDOWN",
                                                 "REQUESTS", "ERR%", "P50", "P95", "P99"])
        self.assertTrue(lines[0].rstrip().endswith("LAST ERROR"))
        self.assertEqual(sorted(line.split()[0] for line in lines[1:]), ["p1", "p2"])
        col = lines[0].index("REQUESTS") + len("REQUESTS")  # numbers align right
        self.assertTrue(all(line[col - 1].isdigit() for line in lines[1:]), lines)
        doc = json.loads(self.zenctl("-o", "json", "providers").stdout)
        names = sorted(p["name"] for p in doc["providers"])
        self.assertEqual(names, ["p1", "p2"])
        # anthropic-type providers speak the Anthropic wire, configured not learned
        self.assertEqual({(p["wire"], p["wire_learned"]) for p in doc["providers"]},
                         {("anthropic", False)})
        self.assertTrue(all(line.split()[1] == "anthropic" for line in lines[1:]), lines)
        # Where each provider is and how zend signs in: never the token itself.
        self.assertEqual(endpoints.splitlines()[0].split(), ["NAME", "BASE", "URL", "AUTH"])
        rows = {line.split()[0]: line.split()[1:] for line in endpoints.splitlines()[1:]}
        self.assertEqual(rows, {"p1": [self.m1.url, "token"],
                                "p2": [self.m2.url, "env:ZEN_TEST_P2_KEY"]})
        byname = {p["name"]: p for p in doc["providers"]}
        self.assertEqual((byname["p1"]["base_url"], byname["p1"]["auth"],
                          byname["p1"]["auth_env"]), (self.m1.url, "token", None))
        self.assertEqual((byname["p2"]["auth"], byname["p2"]["auth_env"]),
                         ("env", "ZEN_TEST_P2_KEY"))
        self.assertRegex(byname["p2"]["auth_fingerprint"], r"^[0-9a-f]{16}$")
        self.assertNotEqual(byname["p1"]["auth_fingerprint"], byname["p2"]["auth_fingerprint"])
        for secret in ("sk-p1", "sk-from-env-p2"):
            self.assertNotIn(secret, r.stdout)
            self.assertNotIn(secret, json.dumps(doc))
        self.assertIsNone(byname["p2"]["disabled_remaining_ms"])
        r = self.zenctl("provider", "disable", "p2", "--for", "30m")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("p2 disabled for 30m", r.stdout)
        row = [line for line in self.zenctl("providers").stdout.splitlines()
               if line.startswith("p2 ")][0]
        left = re.search(r"disabled \((\d+)m(?: (\d+)s)? left\)", row)
        self.assertIsNotNone(left, row)
        left_s = int(left.group(1)) * 60 + int(left.group(2) or 0)
        self.assertTrue(29 * 60 <= left_s <= 30 * 60, row)
        p2 = [p for p in json.loads(self.zenctl("-o", "json", "providers").stdout)["providers"]
              if p["name"] == "p2"][0]
        self.assertTrue(29 * 60000 <= p2["disabled_remaining_ms"] <= 30 * 60000, p2)
        self.assertEqual(p2["disabled_by"], ["runtime"])
        reasons = json.loads(self.zenctl("-o", "json", "health").stdout)["reasons"]
        self.assertTrue(any(re.match(r"^provider p2 disabled \((29m( \d+s)?|30m) left\)$", t)
                            for t in reasons), reasons)
        # Disabled until enabled: no time left to show.
        self.zenctl("provider", "disable", "p2")
        row = [line for line in self.zenctl("providers").stdout.splitlines()
               if line.startswith("p2 ")][0]
        self.assertIn("disabled", row)
        self.assertNotIn("left", row)
        r = self.zenctl("-o", "json", "provider", "enable", "p2")
        self.assertEqual(json.loads(r.stdout)["disabled"], False)
        r = self.zenctl("provider", "disable", "nosuch")
        self.assertEqual(r.returncode, 1)
        self.assertIn("nosuch", r.stderr)

    def test_counts_in_words_agree_with_their_number(self):
        self.start(daemon={"retry_same_provider": 0})
        self.m1.default({"status": 500, "json": {"error": "down"}})
        self.m2.default({"json": {"from": "p2"}})
        self.assertEqual(self.post().status, 200)  # p1 fails, p2 serves: one failover
        m = self.metrics()
        self.assertEqual((m["attempts_total"], m["failovers_total"]), (2, 1))
        table = self.zenctl("metrics").stdout
        self.assertIn("2 attempts, 1 failover\n", table)
        out = self.zenctl("health").stdout
        self.assertRegex(out, r"^zend \S+ - \d/2 providers up")

    def test_completion_offers_provider_names_from_zend(self):
        self.start()
        script = os.path.join(SOURCE_DIR, "completions", "zenctl.bash")
        env = dict(self.env, PATH=os.path.dirname(ZENCTL) + os.pathsep + self.env["PATH"])

        def complete(*words):
            cmd = ('source "$1"; shift; COMP_WORDS=(zenctl "$@"); COMP_CWORD=$(( $# )); '
                   '_zenctl; printf "%s\\n" "${COMPREPLY[@]}"')
            r = subprocess.run(["bash", "-c", cmd, "bash", script, *words], env=env,
                               capture_output=True, text=True, timeout=DEADLINE_S)
            return sorted(w for w in r.stdout.split("\n") if w)
        self.assertEqual(complete("provider", ""), ["disable", "enable"])
        self.assertEqual(complete("provider", "disable", ""), ["p1", "p2"])
        self.assertEqual(complete("-H", self.home, "provider", "enable", "p"), ["p1", "p2"])
        self.assertEqual(complete("-H", "/nonexistent", "provider", "enable", ""), [])
        r = self.zenctl("--help")
        self.assertNotIn("__provider-names", r.stdout)  # hidden

    def test_reload_reports_changes_and_errors(self):
        self.start()
        self.require("health")  # reload arrived with health
        with open(self.path("zen.json")) as f:
            cfg = json.load(f)
        cfg["providers"]["p3"] = {"base_url": self.m2.url, "auth_token": "sk-p3"}
        self.write_config(cfg)
        r = self.zenctl("reload")
        self.assertNotIn("unknown method", r.stderr, "this zend has no reload method")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^reloaded \(config hash [0-9a-f]{16}\)")
        self.assertRegex(r.stdout, r"added\s+p3")
        self.write_config('{"providers": {\n  "p1": {"base_url": }\n}')
        r = self.zenctl("reload")
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"zen\.json:\d+:\d+")


if __name__ == "__main__":
    unittest.main()
