"""The control socket under hostile and unusual clients, and zenctl's exit
codes. Real zend, raw sockets, and fake servers for zenctl's error paths."""
import json
import os
import shutil
import socket
import stat
import struct
import tempfile
import threading
import time
import unittest

from zenharness import (ZENCTL, RawClient, ZenTestCase, minimal_config, mp_pack, mp_unpack, rss_kb,
                        run_as, wait_until)

NOBODY = 65534


class HostileClients(ZenTestCase):
    def setUp(self):
        super().setUp()
        self.write_config(minimal_config())
        self.zend = self.start_zend()

    def assert_still_serving(self):
        self.assertEqual(self.status_json()["supervisor_pid"], self.zend.pid)

    def test_socket_mode(self):
        self.assertEqual(stat.S_IMODE(os.stat(self.sock).st_mode), 0o600)
        self.assertEqual(stat.S_IMODE(os.stat(self.home).st_mode), 0o700)

    def test_requests_pipelined_and_unknown_method(self):
        c = RawClient(self.sock)
        c.send(mp_pack([0, 1, "hello", []]) + mp_pack([0, 2, "no.such", []]) +
               mp_pack([0, 3, "status", [{}]]))
        hello = c.read_message()
        self.assertEqual(hello[:3], [1, 1, None])
        self.assertEqual(hello[3]["proto"], 1)
        self.assertEqual(hello[3]["supervisor_pid"], self.zend.pid)
        self.assertEqual(hello[3]["pid"], self.worker_pid())
        self.assertRegex(hello[3]["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
        unknown = c.read_message()
        self.assertEqual(unknown[1], 2)
        self.assertEqual(unknown[2]["code"], 1)
        self.assertIn("no.such", unknown[2]["message"])
        status = c.read_message()
        self.assertEqual(status[1], 3)
        self.assertEqual(status[3]["state"], "running")
        c.close()

    def test_bad_params_answered(self):
        c = RawClient(self.sock)
        c.request(9, "shutdown", {"drain_timeout_ms": "soon"})
        reply = c.read_message()
        self.assertEqual(reply[1], 9)
        self.assertEqual(reply[2]["code"], 2)
        c.close()
        self.assert_still_serving()

    def test_garbage_truncated_and_huge_frames(self):
        rss_before = rss_kb(self.worker_pid())
        bystander = RawClient(self.sock)  # another client, open throughout
        cases = {
            "garbage": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
            "never-used byte": b"\xc1\xc1\xc1",
            # [0, 7, "status", [map32 with 100 million entries]]
            "huge map": b"\x94\x00\x07\xa6status\x91\xdf\x05\xf5\xe1\x00",
            "huge array": b"\xdd\xff\xff\xff\xff",
            "huge string": b"\x94\x00\x07\xdb\x7f\xff\xff\xff",
            "wrong shape": mp_pack({"method": "status"}),
        }
        for name, payload in cases.items():
            with self.subTest(name):
                c = RawClient(self.sock, timeout=5)
                c.send(payload)
                reply = c.read_message()
                if reply is not None:  # an error with the msgid, then the close
                    self.assertEqual(reply[0], 1)
                    self.assertIsNotNone(reply[2])
                    self.assertIsNone(c.read_message())
                c.close()
                # zend answers others right away.
                bystander.request(100, "hello")
                self.assertEqual(bystander.read_message()[1], 100)
        # The huge map came inside a request with msgid 7: that is answered.
        c = RawClient(self.sock, timeout=5)
        c.send(cases["huge map"])
        reply = c.read_message()
        self.assertEqual(reply[1], 7)
        self.assertEqual(reply[2]["code"], 2)
        self.assertIn("100000000 elements", reply[2]["message"])
        self.assertIsNone(c.read_message())
        c.close()
        # A request whose msgid can be read gets an error naming the problem.
        c = RawClient(self.sock, timeout=5)
        c.send(b"\x94\x00\x07\x07\x90")  # method is an integer
        reply = c.read_message()
        self.assertEqual(reply[1], 7)
        self.assertEqual(reply[2]["code"], 2)
        self.assertIsNone(c.read_message())
        c.close()
        # Truncated frame, then the client goes away: zend drops it quietly.
        full = mp_pack([0, 11, "status", []])
        c = RawClient(self.sock)
        c.send(full[: len(full) // 2])
        c.s.shutdown(socket.SHUT_WR)
        self.assertIsNone(c.read_message())
        c.close()
        # Truncated frame from a client that stays: others are still served.
        lingering = RawClient(self.sock)
        lingering.send(full[:3])
        self.assert_still_serving()
        # The rest arrives later: the frame completes normally.
        lingering.send(full[3:])
        self.assertEqual(lingering.read_message()[1], 11)
        lingering.close()
        bystander.close()
        self.assert_still_serving()
        grown = rss_kb(self.worker_pid()) - rss_before
        self.assertLess(grown, 8 * 1024, "RSS grew by %d KiB" % grown)
        events = [r["event"] for r in self.log_records()]
        self.assertIn("control_bad_frame", events)

    def test_frame_split_byte_by_byte_and_large_valid_frame(self):
        c = RawClient(self.sock)
        frame = mp_pack([0, 5, "status", [{"pad": "x" * 200000}]])
        for i in range(0, 64):
            c.send(frame[i:i + 1])
        c.send(frame[64:])
        reply = c.read_message()
        self.assertEqual(reply[1], 5)
        self.assertEqual(reply[3]["supervisor_pid"], self.zend.pid)
        c.close()

    def test_many_clients_at_once(self):
        clients = [RawClient(self.sock) for _ in range(40)]
        for i, c in enumerate(clients):
            c.request(i + 1, "status")
        for i, c in enumerate(clients):
            self.assertEqual(c.read_message()[1], i + 1)
            c.close()

    def test_other_uid_is_refused(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to switch to uid nobody")
        # File permissions (0700 dir, 0600 socket) already keep other users
        # out; open them up so the SO_PEERCRED check itself is what refuses.
        os.chmod(self.home, 0o711)
        os.chmod(self.sock, 0o666)
        def connect():
            c = RawClient(self.sock, timeout=5)
            first = c.read_message()  # refused before it could even ask
            return {"first": first, "after": c.read_message()}
        result = run_as(NOBODY, NOBODY, None, connect)
        self.assertNotIn("exception", result)
        first = result["first"]
        self.assertEqual(first[0], 1)
        self.assertEqual(first[2]["code"], 5)
        self.assertIn("permission denied", first[2]["message"])
        self.assertIsNone(first[3])
        self.assertIsNone(result["after"])  # and closed
        refused = [r for r in self.log_records() if r["event"] == "control_peer_refused"]
        self.assertEqual(refused[-1]["uid"], NOBODY)
        # zenctl run as nobody reports exit 4, whether zend refuses it
        # (SO_PEERCRED) or the file modes do (EACCES).
        self.assertEqual(self.zenctl_as_nobody(), 4)
        os.chmod(self.home, 0o700)
        os.chmod(self.sock, 0o600)
        self.assertEqual(self.zenctl_as_nobody(), 4)
        self.assert_still_serving()

    def zenctl_as_nobody(self):
        # nobody may not be able to reach the build tree (a clone in a 0700
        # directory): run a copy from a directory anyone can enter.
        bindir = tempfile.mkdtemp(prefix="zen-bin-", dir="/tmp")
        try:
            os.chmod(bindir, 0o755)
            exe = shutil.copy(ZENCTL, os.path.join(bindir, "zenctl"))
            os.chmod(exe, 0o755)
            return self.exec_as_nobody([exe, "-s", self.sock, "status"])
        finally:
            shutil.rmtree(bindir, ignore_errors=True)

    def exec_as_nobody(self, argv):
        pid = os.fork()
        if pid == 0:
            try:
                os.setgid(NOBODY)
                os.setuid(NOBODY)
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, 1)
                os.dup2(devnull, 2)
                os.execve(argv[0], argv, self.env)
            finally:
                os._exit(99)
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)


class FakeServer:
    """A Unix socket that answers every request with a canned reply (or never)."""

    def __init__(self, path, reply):
        self.reply = reply
        self.srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.srv.bind(path)
        self.srv.listen(4)
        self.conns = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, _ = self.srv.accept()
            except OSError:
                return
            self.conns.append(conn)
            buf = b""
            while self.reply is not None:
                try:
                    chunk = conn.recv(4096)
                except OSError:
                    break
                if not chunk:
                    break
                buf += chunk
                try:
                    msg, pos = mp_unpack(buf)
                except Exception:
                    continue
                buf = buf[pos:]
                conn.sendall(mp_pack([1, msg[1], self.reply, None]))

    def close(self):
        self.srv.close()
        for c in self.conns:
            c.close()


class ZenctlExitCodes(ZenTestCase):
    def test_remote_error_is_exit_1(self):
        fake = FakeServer(self.sock, {"code": 3, "message": "something broke inside"})
        try:
            r = self.zenctl("status")
            self.assertEqual(r.returncode, 1)
            self.assertIn("something broke inside", r.stderr)
        finally:
            fake.close()

    def test_unresponsive_daemon_times_out_with_exit_3(self):
        fake = FakeServer(self.sock, None)
        try:
            t0 = time.monotonic()
            r = self.zenctl("--timeout", "300", "status")
            elapsed = time.monotonic() - t0
            self.assertEqual(r.returncode, 3)
            self.assertIn("timed out", r.stderr)
            self.assertLess(elapsed, 5)
        finally:
            fake.close()

    def test_usage_errors_are_exit_64(self):
        for args in (["frobnicate"], ["status", "--bogus"], ["-o", "yaml", "status"],
                     ["--timeout", "soon", "status"], ["completion"], ["completion", "tcsh"],
                     ["-o", "prom", "status"], [], ["shutdown", "--drain-timeout", "x"]):
            with self.subTest(args=args):
                r = self.zenctl(*args)
                self.assertEqual(r.returncode, 64, r.stderr)
                self.assertTrue(r.stderr.strip())

    def test_a_stray_argument_is_named(self):
        for args, word in ((["status", "extra"], "extra"), (["health", "now"], "now"),
                           (["usage", "budget", "more"], "more"),
                           (["provider", "disable", "p1", "p2"], "p2"),
                           (["status"] + ["a%d" % i for i in range(12)], "a0")):
            with self.subTest(args=args):
                r = self.zenctl(*args)
                self.assertEqual(r.returncode, 64, r.stderr)
                self.assertEqual(r.stderr.splitlines()[0],
                                 "zenctl: %s: unexpected argument '%s' (see zenctl %s --help)"
                                 % (args[0], word, args[0]))
        r = self.zenctl("provider", "disable")
        self.assertEqual(r.returncode, 64, r.stderr)
        self.assertIn("provider: missing argument (expects enable|disable NAME)", r.stderr)

    def test_help_and_version(self):
        r = self.zenctl("--help")
        self.assertEqual(r.returncode, 0)
        for cmd in ("status", "shutdown", "version", "completion"):
            self.assertIn(cmd, r.stdout)
        r = self.zenctl("shutdown", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--no-wait", r.stdout)
        r = self.zenctl("-o", "json", "version")  # works without a daemon
        self.assertEqual(r.returncode, 0)
        doc = json.loads(r.stdout)
        self.assertIsNone(doc["zend"])
        self.write_config(minimal_config())
        self.start_zend()
        doc = json.loads(self.zenctl("-o", "json", "version").stdout)
        self.assertEqual(doc["zend"], doc["zenctl"])


if __name__ == "__main__":
    unittest.main()
