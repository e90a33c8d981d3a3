"""Shared helpers for bench.py and soak.py: processes, /proc readings, zend.

Every process is started through Procs, tracked by pid and stopped by pid
(SIGTERM, then SIGKILL after a grace period). Every wait polls against a
deadline.
"""
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("BUILD", os.path.join(SOURCE_DIR, "build"))
ZEND = os.environ.get("ZEND_BIN", os.path.join(BUILD, "bin", "zend"))
ZENCTL = os.environ.get("ZENCTL_BIN", os.path.join(BUILD, "bin", "zenctl"))
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def wait_until(cond, timeout, interval=0.05, what="condition"):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= end:
            raise RuntimeError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def raise_nofile(want):
    """Raises RLIMIT_NOFILE (children inherit it): the `ulimit -n` of the runs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))   # root may raise hard
            return want
        except (ValueError, OSError):
            want = hard
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port():
    """A loopback port nobody listens on right now (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, timeout=20.0, proc=None):
    def up():
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process %d exited (%s) before listening on %d"
                               % (proc.pid, proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return False
    wait_until(up, timeout, what="port %d" % port)


# ---- /proc ----

def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def mem_parts_kb(pid):
    """What a process's RSS is made of, in kB: anon (its heap and other
    anonymous pages) and file (pages of its executable and libraries it has
    mapped in: page cache, shared with every process using the same
    library, and counted in RSS only by the processes that touched them
    themselves -- a forked worker does not count what its parent touched).
    None on error."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(("RssAnon:", "RssFile:")):
                    out[line.split(":")[0][3:].lower()] = int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return out


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def cpu_seconds(pid):
    """utime + stime of a process, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def cpu_sum(pids):
    """Summed utime + stime of pids (each a whole process: all its threads,
    exited ones too), in seconds; None when none could be read."""
    vals = [cpu_seconds(p) for p in pids if p]
    vals = [v for v in vals if v is not None]
    return sum(vals) if vals else None


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


# ---- processes ----

class Procs:
    """Starts processes (optionally pinned with taskset), stops them by pid."""

    def __init__(self, logdir):
        self.logdir = logdir
        self.procs = []

    def start(self, name, argv, cpus=None, env=None, cwd=None):
        if cpus:
            argv = ["taskset", "-c", cpus] + list(argv)   # taskset execs: same pid
        out = open(os.path.join(self.logdir, name + ".log"), "w")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                             stdin=subprocess.DEVNULL)
        out.close()
        p.name = name
        p.log_path = os.path.join(self.logdir, name + ".log")
        self.procs.append(p)
        return p

    def stop(self, p, sig=signal.SIGTERM, grace=10.0):
        if p.poll() is None:
            try:
                os.kill(p.pid, sig)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def stop_all(self):
        for p in reversed(list(self.procs)):
            self.stop(p, grace=5.0)


def install_signal_cleanup(procs):
    """SIGINT/SIGTERM to the script stop what it started, then exit."""
    def handler(signum, frame):
        procs.stop_all()
        sys.exit(128 + signum)
    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


# ---- zend ----

class Zend:
    """One zend (supervisor + worker, or with supervisor=False the single
    process of --no-supervisor) in its own ZEN_HOME, listening on :0."""

    def __init__(self, procs, home, config, cpus=None, env_extra=None, supervisor=True):
        self.procs = procs
        self.home = home
        os.makedirs(home, mode=0o700, exist_ok=True)
        path = os.path.join(home, "zen.json")
        with open(path, "w") as f:
            json.dump(config, f, indent=2)
        os.chmod(path, 0o600)
        self.env = dict(os.environ)
        for var in ("ZEN_HOME", "GOZEN_CONFIG_DIR", "ZEN_SOCKET"):
            self.env.pop(var, None)
        self.env["ZEN_HOME"] = home
        self.sock = os.path.join(home, "zend.sock")
        # env_extra (e.g. LD_PRELOAD) is zend's only: zenctl gets the plain env
        zend_env = dict(self.env, **(env_extra or {}))
        argv = [ZEND, "--home", home, "--foreground"] + ([] if supervisor else ["--no-supervisor"])
        self.proc = procs.start("zend", argv, cpus=cpus, env=zend_env)
        st = wait_until(self._status, 20.0, what="zend to answer status")
        self.pid = st["pid"]                      # the worker's pid
        self.port = int(st["listen"].rsplit(":", 1)[1]) if "listen" in st else None
        if not self.port:
            raise RuntimeError("no listen address in zenctl status: %r" % st)

    def _status(self):
        if self.proc.poll() is not None:
            with open(self.proc.log_path) as f:
                raise RuntimeError("zend exited (%d): %s" % (self.proc.returncode, f.read()[-2000:]))
        r = self.zenctl("-o", "json", "status")
        if r.returncode != 0:
            return None
        return json.loads(r.stdout)

    def zenctl(self, *args, timeout=10.0):
        return subprocess.run([ZENCTL, "-H", self.home, *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def metrics(self):
        r = self.zenctl("-o", "json", "metrics")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def worker_pid(self):
        st = self._status()
        return st["pid"] if st else None

    def stop(self):
        self.procs.stop(self.proc, grace=15.0)


def tcp_sockets():
    """inode -> (local port, remote port, state hex) for every TCP socket."""
    out = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    p = line.split()
                    out[p[9]] = (int(p[1].rsplit(":", 1)[1], 16), int(p[2].rsplit(":", 1)[1], 16), p[3])
        except OSError:
            pass
    return out


def fd_kinds(pid, upstream_ports):
    """Open fds of pid by kind: upstream (TCP to one of upstream_ports, i.e.
    pooled keep-alive connections when idle), other_tcp, other_socket, file,
    other."""
    kinds = {"upstream": 0, "other_tcp": 0, "other_socket": 0, "file": 0, "other": 0}
    tcp = tcp_sockets()
    try:
        fds = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return None
    for fd in fds:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, fd))
        except OSError:
            continue
        if target.startswith("socket:["):
            ino = target[8:-1]
            if ino in tcp:
                kinds["upstream" if tcp[ino][1] in upstream_ports else "other_tcp"] += 1
            else:
                kinds["other_socket"] += 1
        elif target.startswith("/"):
            kinds["file"] += 1
        else:
            kinds["other"] += 1
    return kinds



# ---- the control socket (proto/PROTOCOL.md), without zenctl's process start ----

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
from zenharness import RawClient, mp_pack  # noqa: E402,F401  (the integration tests' msgpack-rpc codec)


class RpcClient(RawClient):
    """One msgpack-rpc connection to zend's control socket."""

    def __init__(self, path, timeout=10.0):
        super().__init__(path, timeout)
        self.msgid = 0

    def call(self, method, params=None):
        """The result map; raises RuntimeError on an error answer or EOF."""
        self.msgid += 1
        self.request(self.msgid, method, params)
        while True:
            msg = self.read_message()
            if msg is None:
                raise RuntimeError("control socket closed")
            if msg[0] == 1 and msg[1] == self.msgid:
                if msg[2] is not None:
                    raise RuntimeError("%s: %r" % (method, msg[2]))
                return msg[3]
