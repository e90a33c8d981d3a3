"""Harness for integration tests: runs the real zend and zenctl binaries.

Each test gets its own temp ZEN_HOME and an ephemeral proxy port (listen on
127.0.0.1:0; the bound address is read back from `zenctl status`). Every
process started is tracked by pid and killed in tearDown, so a failing test
never leaves a daemon behind. Waits poll a condition against a deadline.

Binaries come from $ZEND_BIN / $ZENCTL_BIN (set by ctest), else build/bin.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
ZEND = os.environ.get("ZEND_BIN", os.path.join(SOURCE_DIR, "build", "bin", "zend"))
ZENCTL = os.environ.get("ZENCTL_BIN", os.path.join(SOURCE_DIR, "build", "bin", "zenctl"))

DEADLINE_S = 10.0


def wait_until(cond, timeout=DEADLINE_S, interval=0.01, what="condition"):
    """Polls cond() until it returns a truthy value; fails after timeout."""
    end = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= end:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


def descendants(pid):
    """pid's children, grandchildren, ... (from /proc/PID/task/*/children),
    deepest last; [] when pid is gone."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir("/proc/%d/task" % parent)
        except OSError:
            continue
        for tid in tasks:
            try:
                with open("/proc/%d/task/%s/children" % (parent, tid)) as f:
                    kids = [int(k) for k in f.read().split()]
            except (OSError, ValueError):
                continue
            found += kids
            todo += kids
    return found


def kill_tree(pids):
    """Stops each pid and all its descendants (SIGSTOP first, so a supervisor
    cannot start a new worker and a worker cannot drain while the rest are
    killed), SIGKILLs them, and waits with a deadline until every one is gone
    or a zombie (an orphan is not ours to reap)."""
    pids, stopped = list(pids), []
    while pids:
        pid = pids.pop()
        if pid in stopped:
            continue
        try:
            os.kill(pid, signal.SIGSTOP)
        except ProcessLookupError:
            continue
        stopped.append(pid)
        pids += descendants(pid)
    for pid in stopped:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def gone(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().rsplit(") ", 1)[-1].startswith("Z")
        except OSError:
            return True
    wait_until(lambda: all(gone(pid) for pid in stopped), what="killed processes to go")


def minimal_config(**daemon):
    """A config with one provider on a closed port and listen on :0."""
    d = {"listen": "127.0.0.1:0"}
    d.update(daemon)
    return {
        "providers": {"p1": {"base_url": "http://127.0.0.1:9", "auth_token": "env:ZEN_TEST_UNSET"}},
        "profiles": {"default": ["p1"]},
        "daemon": d,
    }


class ZenTestCase(unittest.TestCase):
    """Base class: temp home, process tracking, zend/zenctl helpers."""

    def setUp(self):
        # Short path: the control socket path must fit in sun_path.
        self.home = tempfile.mkdtemp(prefix="zen-it-", dir="/tmp")
        self.procs = []
        self.env = dict(os.environ)
        for var in ("ZEN_HOME", "GOZEN_CONFIG_DIR", "ZEN_SOCKET", "NO_COLOR"):
            self.env.pop(var, None)
        self.env["ZEN_HOME"] = self.home
        # health is answered off the event loop from a snapshot; when the
        # loop is mid-iteration the answer waits 0.5 ms for a fresh one, then
        # takes the last. Tests read health right after changing state, and
        # under the sanitizers or valgrind an iteration outlasts 0.5 ms: they
        # wait for the fresh one (up to 1 s). test_control_front tests the
        # default.
        self.env.setdefault("ZEND_TEST_HEALTH_WAIT_MS", "2000")
        self.sock = os.path.join(self.home, "zend.sock")

    def tearDown(self):
        # A daemon this test started some other way (--daemonize) still
        # names itself in zend.pid: it goes too. Its worker and any other
        # descendant go first, killed and waited for: a worker left to see
        # its supervisor die drains and writes state.json into a home
        # already removed, leaving the directory behind.
        strays = []
        try:
            with open(self.path("zend.pid")) as f:
                strays.append(int(f.read()))
        except (OSError, ValueError):
            pass
        strays += [p.pid for p in self.procs if p.poll() is None]
        kill_tree(strays)
        for p in self.procs:
            p.wait()
        shutil.rmtree(self.home, ignore_errors=True)

    # ---- files ----
    def path(self, name):
        return os.path.join(self.home, name)

    def write_config(self, cfg, name="zen.json", mode=0o600):
        text = cfg if isinstance(cfg, str) else json.dumps(cfg, indent=2)
        p = self.path(name)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p

    def log_records(self):
        with open(self.path("zend.log")) as f:
            return [json.loads(line) for line in f if line.strip()]

    # ---- processes ----
    def start_zend(self, *args, wait=True, env=None):
        # Output goes to a file, never a pipe: a pipe nobody drains would
        # block zend's stderr log sink once it fills.
        out_path = os.path.join(self.home, "zend-%d.out" % len(self.procs))
        with open(out_path, "w") as out:
            p = subprocess.Popen([ZEND, *args], env=env or self.env, stdout=out, stderr=out)
        p.out_path = out_path
        self.procs.append(p)
        if wait:
            wait_until(lambda: p.poll() is not None or self.zenctl("status").returncode == 0,
                       what="zend to answer status")
            if p.poll() is not None:
                self.fail("zend exited early (%d): %s" % (p.returncode, self.output_of(p)))
        return p

    @staticmethod
    def output_of(p):
        """What a zend started by start_zend printed (stdout and stderr)."""
        with open(p.out_path) as f:
            return f.read()

    def stop_zend_cleanly(self, p):
        """Shuts zend down through zenctl and requires exit 0: under the
        sanitizer build a leak or memory error turns that exit code non-zero."""
        if p.poll() is None:
            r = self.zenctl("shutdown")
            self.assertEqual(r.returncode, 0, r.stderr + self.output_of(p)[-4000:])
        code = self.wait_exit(p)
        self.assertEqual(code, 0, self.output_of(p)[-4000:])

    def run_zend(self, *args, timeout=DEADLINE_S):
        """Runs zend to completion (for flags that exit)."""
        return subprocess.run([ZEND, *args], env=self.env, capture_output=True, text=True,
                              timeout=timeout)

    def zenctl(self, *args, timeout=DEADLINE_S, env=None):
        return subprocess.run([ZENCTL, *args], env=env or self.env, capture_output=True,
                              text=True, timeout=timeout)

    def worker_pid(self):
        """The worker serving now (zend's own pid is the supervisor's)."""
        return self.status_json()["pid"]

    def status_json(self):
        r = self.zenctl("-o", "json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def wait_exit(self, p, timeout=DEADLINE_S):
        try:
            return p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("process %d did not exit within %.1fs" % (p.pid, timeout))


def run_as(uid, gid, groups, fn):
    """Runs fn() in a forked child switched to uid and gid (and to the
    supplementary groups, unless None) -- root only -- and returns what fn
    returned (through JSON), or {"exception": repr} if it raised."""
    r_fd, w_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            os.close(r_fd)
            if groups is not None:
                os.setgroups(groups)
            os.setgid(gid)
            os.setuid(uid)
            out = fn()
        except BaseException as e:  # report anything to the parent
            out = {"exception": repr(e)}
            code = 1
        os.write(w_fd, json.dumps(out).encode())
        os._exit(code)
    os.close(w_fd)
    data = b""
    while True:
        chunk = os.read(r_fd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r_fd)
    os.waitpid(pid, 0)
    return json.loads(data)


# ---- a minimal MessagePack codec, for sending raw frames ----

def mp_pack(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v < 128:
            return bytes([v])
        if 0 <= v < 2**32:
            return b"\xce" + struct.pack(">I", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        return b"\xdb" + struct.pack(">I", len(b)) + b
    if isinstance(v, (list, tuple)):
        head = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdd" + struct.pack(">I", len(v))
        return head + b"".join(mp_pack(x) for x in v)
    if isinstance(v, dict):
        head = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xdf" + struct.pack(">I", len(v))
        return head + b"".join(mp_pack(k) + mp_pack(x) for k, x in v.items())
    raise TypeError(type(v))


class Incomplete(Exception):
    pass


def mp_unpack(buf, pos=0):
    """Returns (value, next_pos); raises Incomplete when buf ends early."""
    def need(n):
        if pos + n > len(buf):
            raise Incomplete()

    need(1)
    b = buf[pos]
    pos += 1
    if b <= 0x7F:
        return b, pos
    if b >= 0xE0:
        return b - 256, pos
    if 0xA0 <= b <= 0xBF:
        n = b & 0x1F
        need(n)
        return buf[pos:pos + n].decode(), pos + n
    if 0x90 <= b <= 0x9F or b in (0xDC, 0xDD):
        if b <= 0x9F:
            n = b & 0x0F
        else:
            w = 2 if b == 0xDC else 4
            need(w)
            n = int.from_bytes(buf[pos:pos + w], "big")
            pos += w
        out = []
        for _ in range(n):
            v, pos = mp_unpack(buf, pos)
            out.append(v)
        return out, pos
    if 0x80 <= b <= 0x8F or b in (0xDE, 0xDF):
        if b <= 0x8F:
            n = b & 0x0F
        else:
            w = 2 if b == 0xDE else 4
            need(w)
            n = int.from_bytes(buf[pos:pos + w], "big")
            pos += w
        out = {}
        for _ in range(n):
            k, pos = mp_unpack(buf, pos)
            v, pos = mp_unpack(buf, pos)
            out[k] = v
        return out, pos
    fixed = {0xC0: (0, None), 0xC2: (0, False), 0xC3: (0, True)}
    if b in fixed:
        return fixed[b][1], pos
    ints = {0xCC: (1, False), 0xCD: (2, False), 0xCE: (4, False), 0xCF: (8, False),
            0xD0: (1, True), 0xD1: (2, True), 0xD2: (4, True), 0xD3: (8, True)}
    if b in ints:
        w, signed = ints[b]
        need(w)
        return int.from_bytes(buf[pos:pos + w], "big", signed=signed), pos + w
    if b == 0xCB:
        need(8)
        return struct.unpack(">d", buf[pos:pos + 8])[0], pos + 8
    if b == 0xCA:
        need(4)
        return struct.unpack(">f", buf[pos:pos + 4])[0], pos + 4
    if b in (0xD9, 0xDA, 0xDB):
        w = {0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
        need(w)
        n = int.from_bytes(buf[pos:pos + w], "big")
        pos += w
        need(n)
        return buf[pos:pos + n].decode(), pos + n
    raise ValueError("unsupported msgpack byte 0x%02x" % b)


class RawClient:
    """A raw control-socket connection for sending arbitrary bytes."""

    def __init__(self, path, timeout=DEADLINE_S):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.s.connect(path)
        self.buf = b""

    def send(self, data):
        self.s.sendall(data)

    def request(self, msgid, method, params=None):
        self.send(mp_pack([0, msgid, method, [params] if params is not None else []]))

    def read_message(self):
        """Next decoded message, or None on EOF."""
        while True:
            try:
                v, pos = mp_unpack(self.buf)
                self.buf = self.buf[pos:]
                return v
            except Incomplete:
                pass
            try:
                chunk = self.s.recv(65536)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buf += chunk

    def close(self):
        self.s.close()


# ---- the mock provider (tests/mock) ----

MOCK = os.path.join(SOURCE_DIR, "tests", "mock", "mock_provider.py")

ANTHROPIC_STREAM = [
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
    '"role":"assistant","content":[],"model":"claude-sonnet-4-5","usage":{"input_tokens":9,"output_tokens":1}}}\n\n',
    'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    '"content_block":{"type":"thinking","thinking":""}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"thinking_delta","thinking":"Let me think \\u2014 carefully."}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"signature_delta","signature":"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"}}\n\n',
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n',
    'event: content_block_start\ndata: {"type":"content_block_start","index":1,'
    '"content_block":{"type":"text","text":""}}\n\n',
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":1,'
    '"delta":{"type":"text_delta","text":"Hello, w\\u00f6rld"}}\n\n',
    'event: content_block_stop\ndata: {"type":"content_block_stop","index":1}\n\n',
    'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn"},'
    '"usage":{"output_tokens":12}}\n\n',
    'event: message_stop\ndata: {"type":"message_stop"}\n\n',
]


class Mock:
    """One mock provider process on an ephemeral loopback port."""

    def __init__(self, workdir, name):
        import urllib.request  # noqa: F401  (used by the methods)
        self.port_file = os.path.join(workdir, "%s.port" % name)
        self.proc = subprocess.Popen([sys.executable, MOCK, "--port-file", self.port_file],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_until(lambda: os.path.exists(self.port_file) or self.proc.poll() is not None,
                   what="mock %s to listen" % name)
        if self.proc.poll() is not None:
            raise AssertionError("mock failed: %s" % self.proc.stderr.read())
        with open(self.port_file) as f:
            self.port = int(f.read())
        self.url = "http://127.0.0.1:%d" % self.port

    def _call(self, method, path, obj=None):
        import urllib.request
        data = json.dumps(obj).encode() if obj is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        with urllib.request.urlopen(req, timeout=DEADLINE_S) as r:
            return json.loads(r.read() or b"null")

    def script(self, *steps):
        return self._call("POST", "/__mock/script", list(steps))

    def default(self, step):
        return self._call("POST", "/__mock/default", step)

    def reset(self):
        return self._call("POST", "/__mock/reset", {})

    def head(self, step):
        """Answers every HEAD (probes, health checks) with step; None: as any request."""
        return self._call("POST", "/__mock/head", step)

    def requests(self, include_head=False):
        reqs = self._call("GET", "/__mock/requests")
        return [r for r in reqs if include_head or r["method"] != "HEAD"]

    def connections(self):
        return self._call("GET", "/__mock/connections")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc.stderr.close()


def closed_port():
    """A loopback port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class HttpResponse:
    def __init__(self, status, headers, body, complete, raw):
        self.status = status
        self.headers = headers      # {lowercased name: value}
        self.body = body            # de-chunked body bytes
        self.complete = complete    # chunked body ended with its zero chunk (or CL met)
        self.raw = raw

    def json(self):
        return json.loads(self.body)


def parse_response(raw):
    """Parses one HTTP/1.1 response from raw bytes (tolerates a cut body).
    Interim 1xx responses before it are skipped, as a real client does."""
    while raw.startswith(b"HTTP/1.1 1") and b"\r\n\r\n" in raw:
        raw = raw.partition(b"\r\n\r\n")[2]
    head, _, rest = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    if headers.get("transfer-encoding") == "chunked":
        parts, complete, pos = [], False, 0
        while True:
            eol = rest.find(b"\r\n", pos)
            if eol < 0:
                break
            size = int(rest[pos:eol].split(b";")[0] or b"0", 16)
            if size == 0:
                complete = rest[eol:eol + 4] == b"\r\n\r\n"
                break
            if eol + 2 + size > len(rest):
                parts.append(rest[eol + 2:])
                break
            parts.append(rest[eol + 2:eol + 2 + size])
            pos = eol + 2 + size + 2
        return HttpResponse(status, headers, b"".join(parts), complete, raw)
    if "content-length" in headers:
        n = int(headers["content-length"])
        return HttpResponse(status, headers, rest[:n], len(rest) >= n, raw)
    return HttpResponse(status, headers, rest, True, raw)


def http_request(addr, method, path, body=b"", headers=None, timeout=DEADLINE_S):
    """Sends one request on a fresh connection (Connection: close) and reads
    the whole response until the server closes. Returns HttpResponse."""
    host, port = addr
    h = {"Host": "127.0.0.1:%d" % port, "Connection": "close"}
    if body:
        h["Content-Length"] = str(len(body))
    h.update(headers or {})
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % (k, v) for k, v in h.items() if v is not None)
    s = socket.create_connection((host, port), timeout=timeout)
    try:
        s.sendall(head.encode() + b"\r\n" + body)
        raw = b""
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            raw += chunk
    finally:
        s.close()
    return parse_response(raw)


class MockZenTestCase(ZenTestCase):
    """A test with one mock provider server (self.mock, providers routed by
    path) and at most one zend (self.zend), both stopped after each test."""

    MOCK_NAME = "m"

    def setUp(self):
        super().setUp()
        self.mock = Mock(self.home, self.MOCK_NAME)
        self.zend = None

    def tearDown(self):
        try:
            if self.zend:
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            self.mock.stop()
