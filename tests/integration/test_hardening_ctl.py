"""Hardening of the control plane, zenctl's output, request-body memory and
config limits: terminal escapes from upstream never reach the terminal, the
in-flight body budget and whole-body deadline, control connections that
cannot lock zenctl out, and provider.disable's for_s range."""
import json
import os
import socket
import struct
import subprocess
import time
import unittest

from test_operations import OpsTestCase, Rpc
from test_proxy import CLIENT_BODY
from zenharness import ZENCTL, RawClient, mp_pack, parse_response, wait_until


def mp_float(x):
    """A MessagePack float 64 (zenharness.mp_pack packs no floats)."""
    return b"\xcb" + struct.pack(">d", x)


def disable_frame(msgid, name, for_s_packed):
    """provider.disable with a hand-packed for_s value."""
    return (b"\x94" + mp_pack(0) + mp_pack(msgid) + mp_pack("provider.disable") +
            b"\x91\x82" + mp_pack("name") + mp_pack(name) + mp_pack("for_s") + for_s_packed)


class ProviderDisableRange(OpsTestCase):
    """for_s of 9.2e15 used to overflow the deadline and silently do
    nothing; now the range is checked and the error names it."""

    def test_out_of_range_for_s_is_refused(self):
        self.start()
        c = RawClient(self.sock)
        try:
            bad = [mp_float(9.2e15), mp_pack(2**62), mp_float(-1.0), mp_pack(0),
                   mp_float(315360000.5), b"\xcb" + struct.pack(">d", float("inf"))]
            for i, packed in enumerate(bad, start=1):
                c.send(disable_frame(i, "p1", packed))
                msg = c.read_message()
                self.assertIsNotNone(msg, "zend closed the connection on %r" % packed)
                self.assertEqual(msg[:2], [1, i])
                err = msg[2]
                self.assertIsNotNone(err, "for_s %r was accepted: %r" % (packed, msg[3]))
                self.assertEqual(err["code"], 2)
                if packed[:1] != b"\xcb" or i != 6:  # +inf is refused by the reader itself
                    self.assertIn("315360000", err["message"])
            # p1 was never disabled by any of them.
            p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
            self.assertNotEqual(p1["status"], "disabled")
            # The reader refuses +inf outright and closes: a new connection.
            c.close()
            c = RawClient(self.sock)
            # The bounds themselves: ten years exactly, and a float.
            c.send(disable_frame(20, "p1", mp_pack(315360000)))
            msg = c.read_message()
            self.assertIsNone(msg[2], msg)
            self.assertTrue(msg[3]["disabled"])
            c.send(disable_frame(21, "p2", mp_float(0.0001)))
            msg = c.read_message()
            self.assertIsNone(msg[2], msg)
        finally:
            c.close()
        h = {p["name"]: p for p in self.health()["providers"]}
        self.assertEqual(h["p1"]["status"], "disabled")

    def test_zenctl_checks_the_range_too(self):
        self.start()
        r = self.zenctl("provider", "disable", "p1", "--for", "9.2e15")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        self.assertIn("315360000", r.stderr)
        r = self.zenctl("provider", "disable", "p1", "--for", "nan")
        self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
        p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
        self.assertNotEqual(p1["status"], "disabled")
        r = self.zenctl("provider", "disable", "p1", "--for", "315360000")
        self.assertEqual(r.returncode, 0, r.stderr)
        p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
        self.assertEqual(p1["status"], "disabled")


class BodyBudget(OpsTestCase):
    """Ten clients with 32 MiB bodies drove the worker to 505 MB; a body
    dripping a byte a second lived 42 s. Bodies now share one budget
    (daemon.max_body_bytes_total) and must arrive whole within
    daemon.client_body_total_timeout_ms."""

    BODY = 400 * 1024  # two fit in 1 MiB, a third does not

    def held(self):
        return self.health()["resources"]["request_body_bytes"]

    def open_stalled(self, body_len, sent):
        """Sends a head declaring body_len bytes and `sent` of them, then stalls."""
        s = socket.create_connection(self.addr, timeout=15)
        s.sendall(("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                   "Content-Type: application/json\r\nConnection: close\r\n"
                   "Content-Length: %d\r\n\r\n"
                   % body_len).encode() + b" " * sent)
        return s

    def body(self):
        # A valid request body padded with spaces to BODY bytes.
        return CLIENT_BODY + b" " * (self.BODY - len(CLIENT_BODY))

    def test_third_body_past_the_budget_gets_503_until_one_ends(self):
        self.start(daemon={"max_body_bytes_total": 1024 * 1024})
        rejected_before = self.metrics()["rejected_total"]
        first = self.open_stalled(self.BODY, 1000)
        second = self.open_stalled(self.BODY, 1000)
        wait_until(lambda: self.held() == 2 * self.BODY, what="two bodies charged")
        third = self.post(body=self.body())
        self.assertEqual(third.status, 503, third.body)
        self.assertEqual(third.headers.get("retry-after"), "1")
        self.assertEqual(third.json()["error"]["type"], "overloaded_error")
        self.assertIn("max_body_bytes_total", third.json()["error"]["message"])
        self.assertEqual(self.m1.requests(), [])  # refused before any provider saw it
        self.assertEqual(self.metrics()["rejected_total"], rejected_before + 1)
        # The first finishes its body and is served; its share comes back.
        first.sendall(self.body()[1000:])
        resp = parse_response(self.read_all(first))
        self.assertEqual(resp.status, 200)
        first.close()
        wait_until(lambda: self.held() == self.BODY, what="the first body released")
        again = self.post(body=self.body())
        self.assertEqual(again.status, 200, again.body)
        # The stalled one gives up: nothing stays charged.
        second.close()
        wait_until(lambda: self.held() == 0, what="every body released")

    def test_slow_drip_body_gets_408_at_the_total_deadline(self):
        self.start(daemon={"client_body_timeout_ms": 1000,
                           "client_body_total_timeout_ms": 1500})
        s = self.open_stalled(len(CLIENT_BODY), 0)
        t0 = time.monotonic()
        s.settimeout(0.25)
        got = b""
        sent = 0
        # One byte every 0.25 s: no gap comes near client_body_timeout_ms.
        while time.monotonic() - t0 < 5.0:
            if sent < len(CLIENT_BODY):
                try:
                    s.sendall(CLIENT_BODY[sent:sent + 1])
                    sent += 1
                except (BrokenPipeError, ConnectionResetError):
                    pass
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                continue
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
            if b"\r\n\r\n" in got and b"}}" in got:
                break
        elapsed = time.monotonic() - t0
        s.close()
        resp = parse_response(got)
        self.assertEqual(resp.status, 408, got)
        self.assertEqual(resp.json()["error"]["type"], "timeout_error")
        self.assertGreaterEqual(elapsed, 1.4)
        self.assertLess(elapsed, 3.0)
        self.assertLess(sent, len(CLIENT_BODY))
        self.assertEqual(self.m1.requests(), [])


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def closed_by_peer(sock, timeout):
    """True when the peer closes sock within timeout (data read is dropped)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
    return False


def control_socket(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


class ControlConnections(OpsTestCase):
    """64 idle control connections used to lock zenctl out for good."""

    MAX = 64  # CONTROL_MAX_CONNECTIONS
    # The health front's own table (CONTROL_FRONT_MAX_CONNECTIONS): the first
    # peers land there, the rest go to the loop's table of MAX.
    FRONT = 32

    def test_a_full_table_does_not_lock_zenctl_out(self):
        self.start()  # default timeouts: 60 s idle, 5 s per frame
        in_front = [control_socket(self.sock) for _ in range(self.FRONT)]
        idle = [control_socket(self.sock) for _ in range(self.MAX)]
        half = control_socket(self.sock)
        # A request frame cut in the middle: the reader waits for the rest.
        frame = mp_pack([0, 1, "status", []])
        half.sendall(frame[:len(frame) // 2])
        try:
            t0 = time.monotonic()
            for _ in range(3):
                r = self.zenctl("status", timeout=5)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("zend", r.stdout)
            r = self.zenctl("health", timeout=5)
            self.assertIn(r.returncode, (0, 1, 2), r.stderr)
            self.assertIn("zend", r.stdout)
            self.assertLess(time.monotonic() - t0, 5.0)
            # Room was made by closing the quietest connections: the first
            # ones opened, never those opened last.
            self.assertTrue(closed_by_peer(idle[0], 2.0), "the oldest idle one stays open")
            self.assertFalse(closed_by_peer(idle[-1], 0.2))
        finally:
            for s in in_front + idle + [half]:
                s.close()

    def test_idle_and_half_frame_connections_time_out_subscribers_do_not(self):
        self.env["ZEND_TEST_CONTROL_IDLE_MS"] = "500"
        self.env["ZEND_TEST_CONTROL_FRAME_MS"] = "400"
        self.start()
        idle = control_socket(self.sock)
        t0 = time.monotonic()
        self.assertTrue(closed_by_peer(idle, 5.0), "an idle connection stays open")
        self.assertGreaterEqual(time.monotonic() - t0, 0.4)
        idle.close()
        # A frame trickled a byte at a time: each byte is recent, but the
        # frame as a whole is late.
        trickle = control_socket(self.sock)
        frame = mp_pack([0, 1, "status", []])
        t0 = time.monotonic()
        closed = False
        for b in frame[:-1]:
            try:
                trickle.sendall(bytes([b]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if closed_by_peer(trickle, 0.1):
                closed = True
                break
        self.assertTrue(closed or closed_by_peer(trickle, 2.0), "a trickled frame lived on")
        self.assertLess(time.monotonic() - t0, 1.5)
        trickle.close()
        # A connection that keeps completing frames stays, however long.
        rpc = Rpc(self.sock)
        try:
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                err, res = rpc.call("hello")
                self.assertIsNone(err)
                time.sleep(0.1)
        finally:
            rpc.close()
        # Subscribers are exempt: a metrics watcher outlives the idle timeout.
        sub = RawClient(self.sock)
        try:
            sub.request(1, "metrics.subscribe", {"interval_ms": 100})
            ticks = 0
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                msg = sub.read_message()
                self.assertIsNotNone(msg, "zend closed a metrics subscriber")
                ticks += msg[0] == 2
            self.assertGreater(ticks, 5)
        finally:
            sub.close()
        # And zenctl logs -f, idle for longer than the timeout, keeps going.
        out_path = self.path("logs-f.out")
        with open(out_path, "wb") as out:
            p = subprocess.Popen([ZENCTL, "logs", "-f", "-n", "0"], env=self.env, stdout=out,
                                 stderr=subprocess.STDOUT)
        self.procs.append(p)
        try:
            time.sleep(1.2)  # longer than the idle timeout, on purpose
            # A reload that changes something: unchanged bytes log nothing.
            with open(self.path("zen.json")) as f:
                cfg = json.load(f)
            cfg["daemon"]["slow_request_ms"] = 1234
            self.write_config(cfg)
            self.assertEqual(self.zenctl("reload").returncode, 0)
            wait_until(lambda: b"config_reloaded" in read_bytes(out_path),
                       what="logs -f to print a record after the idle timeout")
            self.assertNotIn(b"lost zend", read_bytes(out_path))
        finally:
            p.kill()
            p.wait()


# What a hostile or broken upstream put in its error body: a window title
# (OSC ... BEL), clear screen (CSI 2J), a carriage return and a C1 CSI.
HOSTILE = "boom \x1b]0;pwned\x07 \x1b[2J back\r over \u009b31m red"
RAW_CONTROLS = [b"\x1b", b"\x07", b"\r", b"\xc2\x9b", b"\x9b"]


class TerminalEscapes(OpsTestCase):
    """zenctl providers printed an upstream error body raw: ESC sequences
    retitled the terminal and cleared the screen."""

    def zenctl_bytes(self, *args):
        return subprocess.run([ZENCTL, *args], env=self.env, capture_output=True, timeout=10)

    def assert_no_raw_controls(self, out, what):
        for b in RAW_CONTROLS:
            self.assertNotIn(b, out, "%s printed a raw %r: %r" % (what, b, out))

    def test_upstream_error_body_is_escaped_in_human_output(self):
        # No probe during the test: it would close p1's circuit early.
        self.start(daemon={"retry_same_provider": 0, "probe_interval_ms": 600000})
        self.m1.script({"status": 500, "body": HOSTILE})
        self.post()  # p1 fails with the hostile body, p2 answers
        wait_until(lambda: "pwned" in self.zenctl_bytes("-o", "json", "providers")
                   .stdout.decode(), what="the error body in providers")
        # health exits 1: p1 cools down, so zend is degraded.
        for args, code in ((["providers"], 0), (["health"], 1), (["status"], 0),
                           (["metrics"], 0), (["logs", "-n", "50"], 0), (["version"], 0)):
            r = self.zenctl_bytes(*args)
            self.assertEqual(r.returncode, code, r.stdout + r.stderr)
            self.assert_no_raw_controls(r.stdout + r.stderr, "zenctl " + " ".join(args))
        health = self.zenctl_bytes("health").stdout.decode()
        self.assertTrue(health.startswith("zend degraded - 1/2 providers up"), health)
        table = self.zenctl_bytes("providers").stdout.decode()
        # The text is still there, controls shown as visible escapes.
        self.assertIn("\\u001b]0;pwned\\u0007", table)
        self.assertIn("\\u001b[2J", table)
        self.assertIn("back\\r over", table)
        self.assertIn("\\u009b31m", table)
        logs = self.zenctl_bytes("logs", "-n", "50").stdout.decode()
        self.assertIn("\\u009b31m", logs)
        # -o json stays exact JSON: the body round-trips unchanged.
        doc = json.loads(self.zenctl_bytes("-o", "json", "providers").stdout)
        p1 = [p for p in doc["providers"] if p["name"] == "p1"][0]
        self.assertIn(HOSTILE, p1["last_error"])


if __name__ == "__main__":
    unittest.main()
