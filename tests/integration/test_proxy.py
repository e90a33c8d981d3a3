"""The proxy data path through the real zend against mock providers
(README "How the proxy behaves"). Every test uses its own ZEN_HOME, ephemeral
ports and mock processes, all cleaned up by pid."""
import json
import os
import re
import socket
import threading
import time
import unittest

from zenharness import (ANTHROPIC_STREAM, Mock, ZenTestCase, closed_port, http_request,
                        parse_response, rss_kb, wait_until)

CLIENT_BODY = b'{"model":"claude-sonnet-4-5-20250929","max_tokens":64,"messages":[{"role":"user","content":"hi \\u00e9"}],"stream":true}'


class ProxyTestCase(ZenTestCase):
    def setUp(self):
        super().setUp()
        self.m1 = Mock(self.home, "p1")
        self.m2 = Mock(self.home, "p2")

    def tearDown(self):
        try:
            if getattr(self, "zend", None):
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            self.m1.stop()
            self.m2.stop()

    def start(self, daemon=None, p1=None, p2=None, profiles=None, **top):
        d = {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 1500, "idle_timeout_ms": 1000,
             "probe_interval_ms": 500, "client_header_timeout_ms": 1000}
        d.update(daemon or {})
        prov1 = {"base_url": self.m1.url, "auth_token": "sk-p1", "env_vars": {"TEAM_NAME": "zen"}}
        prov1.update(p1 or {})
        prov2 = {"base_url": self.m2.url, "auth_token": "sk-p2"}
        prov2.update(p2 or {})
        cfg = {"providers": {"p1": prov1, "p2": prov2},
               "profiles": profiles or {"default": ["p1", "p2"], "solo": ["p1"]},
               "daemon": d}
        cfg.update(top)
        self.write_config(cfg)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def restart(self, **kw):
        self.stop_zend_cleanly(self.zend)
        # A fresh start: without it the new zend keeps the cooldowns (state.json).
        os.unlink(self.path("state.json"))
        self.m1.reset()
        self.m2.reset()
        self.start(**kw)

    def post(self, path="/default/s1/v1/messages", body=CLIENT_BODY, headers=None, **kw):
        h = {"Content-Type": "application/json", "x-api-key": "client-key"}
        h.update(headers or {})
        return http_request(self.addr, "POST", path, body, h, **kw)

    def metrics(self):
        r = self.zenctl("-o", "json", "metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)


class Passthrough(ProxyTestCase):
    def test_json_request_and_headers(self):
        self.start()
        reply = {"id": "msg_9", "type": "message", "content": [{"type": "text", "text": "ok \u00e9"}]}
        self.m1.script({"json": reply, "headers": {"x-upstream": "yes", "Connection": "close"}})
        r = self.post("/default/s1/v1/messages?beta=true&x=%2Fy", headers={
            "Authorization": "Bearer client-token", "X-Zen-Debug": "1", "anthropic-version": "2023-06-01",
            "anthropic-beta": "thinking-2025", "Accept-Encoding": "gzip, br", "User-Agent": "claude-cli/2"})
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, json.dumps(reply).encode())  # byte-identical
        self.assertRegex(r.headers["x-zen-request-id"], r"^[0-9a-f]{16}$")
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertEqual(r.headers["x-upstream"], "yes")
        seen = self.m1.requests()
        self.assertEqual(len(seen), 1)
        got = seen[0]
        self.assertEqual(got["path"], "/v1/messages?beta=true&x=%2Fy")  # raw query, verbatim
        self.assertEqual(got["body"].encode(), CLIENT_BODY)
        h = {k.lower(): v for k, v in got["headers"]}
        names = [k.lower() for k, _ in got["headers"]]
        self.assertEqual(h["x-api-key"], "sk-p1")
        self.assertEqual(h["authorization"], "Bearer sk-p1")
        self.assertEqual(names.count("x-api-key"), 1)
        self.assertEqual(names.count("authorization"), 1)
        self.assertEqual(h["host"], "127.0.0.1:%d" % self.m1.port)  # not the client's Host
        self.assertFalse([n for n in names if n.startswith("x-zen-")])
        self.assertEqual(h["accept-encoding"], "identity")
        self.assertEqual(h["x-env-team-name"], "zen")
        self.assertEqual(h["anthropic-version"], "2023-06-01")
        self.assertEqual(h["anthropic-beta"], "thinking-2025")
        self.assertEqual(h["user-agent"], "claude-cli/2")
        self.assertEqual(h["content-type"], "application/json")
        self.assertNotIn("expect", h)
        self.assertNotIn("accept", h)  # the client sent none; curl must not invent one

    def test_many_headers_both_ways(self):
        # Past the room zend keeps for a head's first 32 lines, up to the
        # limit of 256, every line goes through: the header arrays grow.
        self.start()
        self.m1.script({"json": {"id": "m"},
                        "headers": {"x-up-%d" % i: str(i) for i in range(100)}})
        r = self.post(headers={"x-c-%d" % i: "v%d" % i for i in range(200)})
        self.assertEqual(r.status, 200)
        for i in range(100):
            self.assertEqual(r.headers["x-up-%d" % i], str(i))
        h = {k.lower(): v for k, v in self.m1.requests()[0]["headers"]}
        for i in range(200):
            self.assertEqual(h["x-c-%d" % i], "v%d" % i)
        self.assertEqual(self.post(headers={"x-c-%d" % i: "v" for i in range(260)}).status, 431)
        self.assertEqual(self.post().status, 200)  # still serving

    def test_sse_stream_byte_identical(self):
        self.start()
        self.m1.script({"sse": ANTHROPIC_STREAM})
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.headers["transfer-encoding"], "chunked")
        self.assertEqual(r.headers["content-type"], "text/event-stream")
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM).encode())
        self.assertIn(b"thinking_delta", r.body)
        self.assertEqual(r.headers["x-zen-provider"], "p1")

    def test_passthrough_auth_provider_keeps_client_credentials(self):
        self.start(p1={"auth_token": ""})
        self.post(headers={"Authorization": "Bearer oauth-token"})
        h = {k.lower(): v for k, v in self.m1.requests()[0]["headers"]}
        self.assertEqual(h["x-api-key"], "client-key")
        self.assertEqual(h["authorization"], "Bearer oauth-token")

    def test_keep_alive_and_pipelining(self):
        self.start()
        s = socket.create_connection(self.addr, timeout=10)
        req = ("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
               "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(CLIENT_BODY)).encode() + CLIENT_BODY
        s.sendall(req * 3)  # three pipelined requests on one connection
        raw = b""
        deadline = time.monotonic() + 10
        while raw.count(b"HTTP/1.1 200") < 3 or not raw.endswith(b"}"):
            self.assertLess(time.monotonic(), deadline, raw)
            raw += s.recv(65536)
        s.close()
        ids = re.findall(rb"x-zen-request-id: ([0-9a-f]{16})", raw)
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(len(self.m1.requests()), 3)

    def test_expect_100_continue_answered_at_once(self):
        self.start()
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                   "Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(CLIENT_BODY)).encode())
        t0 = time.monotonic()
        first = s.recv(4096)
        self.assertTrue(first.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), first)
        self.assertLess(time.monotonic() - t0, 0.5)
        s.sendall(CLIENT_BODY)
        raw = first[len(b"HTTP/1.1 100 Continue\r\n\r\n"):]
        while b"\r\n\r\n" not in raw:
            raw += s.recv(4096)
        self.assertTrue(raw.startswith(b"HTTP/1.1 200"), raw)
        s.close()
        self.assertNotIn("expect", {k.lower() for k, _ in self.m1.requests()[0]["headers"]})


class Failover(ProxyTestCase):
    def test_failover_statuses(self):
        self.start()
        for status in (500, 502, 503, 529, 429, 401, 403):
            with self.subTest(status=status):
                self.restart()
                self.m1.script({"status": status, "json": {"type": "error", "error": {"type": "x", "message": "p1 says no"}}})
                self.m2.script({"json": {"from": "p2"}})
                r = self.post()
                self.assertEqual(r.status, 200, r.body)
                self.assertEqual(r.json(), {"from": "p2"})
                self.assertEqual(r.headers["x-zen-provider"], "p2")
                self.assertEqual(r.headers["x-zen-attempts"], "2")
                self.assertEqual(len(self.m1.requests()), 1)

    def test_failover_on_refused_connection(self):
        self.start(p1={"base_url": "http://127.0.0.1:%d" % closed_port()})
        self.m2.script({"json": {"from": "p2"}})
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p2"})

    def test_failover_on_silent_provider(self):
        self.start(daemon={"first_byte_timeout_ms": 600})
        self.m1.script({"action": "stall"})
        self.m2.script({"json": {"from": "p2"}})
        t0 = time.monotonic()
        r = self.post()
        elapsed = time.monotonic() - t0
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p2"})
        self.assertGreaterEqual(elapsed, 0.55)
        self.assertLess(elapsed, 3.0)

    def test_client_errors_are_relayed_without_failover(self):
        self.start()
        for status in (400, 404):
            with self.subTest(status=status):
                self.m1.reset()
                self.m2.reset()
                body = {"type": "error", "error": {"type": "invalid_request_error", "message": "bad %d" % status}}
                self.m1.script({"status": status, "json": body})
                r = self.post()
                self.assertEqual(r.status, status)
                self.assertEqual(r.json(), body)
                self.assertEqual(r.headers["x-zen-provider"], "p1")
                self.assertEqual(self.m2.requests(), [])


class Exhaustion(ProxyTestCase):
    def test_all_failed_summary(self):
        self.start(daemon={"retry_same_provider": 0})
        self.m1.script({"status": 500, "body": "p1 broke"})
        self.m2.script({"status": 429, "body": "slow down"})
        r = self.post()
        self.assertEqual(r.status, 502)
        self.assertEqual(r.headers["content-type"], "application/json")
        doc = r.json()
        self.assertEqual(doc["type"], "error")
        self.assertEqual(doc["error"]["type"], "all_providers_failed")
        msg = doc["error"]["message"]
        self.assertRegex(msg, r"\[p1\] 500 \(\d+ms\)")
        self.assertRegex(msg, r"\[p2\] 429 \(\d+ms\)")
        self.assertEqual(len(doc["attempts"]), 2)
        self.assertEqual([a["provider"] for a in doc["attempts"]], ["p1", "p2"])
        self.assertEqual([a["status"] for a in doc["attempts"]], [500, 429])
        self.assertEqual([a["error_type"] for a in doc["attempts"]], ["server", "rate_limit"])
        self.assertEqual(doc["attempts"][0]["detail"], "p1 broke")

    def test_single_provider_401_relayed_unchanged(self):
        self.start()
        body = '{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}'
        self.m1.script({"status": 401, "body": body, "headers": {"content-type": "application/json", "request-id": "req_77"}})
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 401)
        self.assertEqual(r.body, body.encode())
        self.assertEqual(r.headers["request-id"], "req_77")
        self.assertEqual(len(self.m1.requests()), 1)  # auth errors are never retried

    def test_single_provider_transient_failure_retried_once(self):
        self.start()
        self.m1.script({"status": 503, "body": "busy"})
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        self.assertEqual(len(self.m1.requests()), 2)


class Cooldown(ProxyTestCase):
    def test_cooling_provider_skipped_then_probed_back(self):
        self.start()
        self.m1.default({"status": 500, "body": "down"})
        self.m2.default({"json": {"from": "p2"}})
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")
        for _ in range(3):  # within the 60 s cooldown: straight to p2
            r = self.post()
            self.assertEqual(r.headers["x-zen-provider"], "p2")
            self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertEqual(len(self.m1.requests()), 1)
        # p1 recovers; the probe (every 500 ms) closes its circuit.
        self.m1.default({"json": {"from": "p1"}})
        t0 = time.monotonic()
        wait_until(lambda: self.post().headers["x-zen-provider"] == "p1", timeout=5, interval=0.05,
                   what="p1 to serve again")
        self.assertLess(time.monotonic() - t0, 2 * 0.5 + 0.5)
        self.assertTrue(self.m1.requests(include_head=True)[-2]["method"] in ("HEAD", "POST"))
        m = self.metrics()
        self.assertGreaterEqual(m["errors_by_provider"]["p1"], 1)
        self.assertGreaterEqual(m["errors_by_type"]["server"], 1)
        changes = [r for r in self.log_records() if r["event"] == "provider_state_changed"]
        self.assertEqual(changes[0]["to"], "open")
        self.assertEqual(changes[-1]["to"], "closed")
        self.assertEqual(changes[-1]["reason"], "probe")

    def test_retry_after_sets_cooldown(self):
        self.start()
        self.m1.script({"status": 429, "headers": {"Retry-After": "3"}, "body": "wait"})
        self.m1.default({"json": {"from": "p1"}})
        self.m2.default({"json": {"from": "p2"}})
        t0 = time.monotonic()
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")
        opened = [r for r in self.log_records() if r["event"] == "provider_state_changed"][-1]
        self.assertEqual(opened["cooldown_ms"], 3000)
        self.assertEqual(opened["reason"], "rate_limit 429")
        wait_until(lambda: time.monotonic() - t0 > 2.0, what="2 s")
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")  # still cooling
        wait_until(lambda: self.post().headers["x-zen-provider"] == "p1", timeout=3,
                   interval=0.1, what="p1 after its 3 s cooldown")
        self.assertLess(time.monotonic() - t0, 4.5)  # 3 s, not 60
        m = self.metrics()
        self.assertEqual(m["errors_by_type"]["rate_limit"], 1)
        self.assertEqual(m["errors_by_provider"]["p1"], 1)


class Streaming(ProxyTestCase):
    def read_events(self, sock, until=b"0\r\n\r\n", timeout=10):
        """Returns [(time, bytes)] of each recv until `until` is seen."""
        out, buf = [], b""
        deadline = time.monotonic() + timeout
        while until not in buf:
            self.assertLess(time.monotonic(), deadline)
            data = sock.recv(65536)
            if not data:
                break
            out.append((time.monotonic(), data))
            buf += data
        return out, buf

    def open_stream(self, path="/default/s1/v1/messages"):
        s = socket.create_connection(self.addr, timeout=10)
        s.sendall(("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, len(CLIENT_BODY))).encode() + CLIENT_BODY)
        return s

    def test_events_are_not_batched(self):
        self.start()
        # message_start is held until the first content event (the commit
        # point), so the delays start after it.
        events = ([ANTHROPIC_STREAM[0]] + [{"data": e, "delay_ms": 200} for e in ANTHROPIC_STREAM[1:6]]
                  + ANTHROPIC_STREAM[6:])
        self.m1.script({"sse": events})
        s = self.open_stream()
        reads, buf = self.read_events(s)
        s.close()
        arrivals = []
        for t, data in reads:
            if b"event: " in data:
                arrivals.append(t)
        self.assertGreaterEqual(len(arrivals), 5)
        gaps = [b - a for a, b in zip(arrivals, arrivals[1:5])]
        for g in gaps:
            self.assertGreater(g, 0.12, gaps)   # each event on its own, as it came
            self.assertLess(g, 0.6, gaps)
        self.assertEqual(parse_response(buf).body, "".join(ANTHROPIC_STREAM).encode())

    def test_connection_kept_with_more_transfers_than_idle_bound(self):
        """With more transfers open than idle connections are kept (the bound
        is 256; lowered to 1 here), a connection whose transfer ends still
        serves the next request. curl counts busy connections against its
        bound too: a fixed bound closed each connection as its transfer
        ended, so every request above it opened a new one."""
        self.env["ZEND_TEST_UPSTREAM_IDLE_CONNS"] = "1"
        self.start(profiles={"default": ["p1"]})
        slow = [ANTHROPIC_STREAM[0]] + [{"data": e, "delay_ms": 300} for e in ANTHROPIC_STREAM[1:]]
        self.m1.script({"sse": slow, "repeat": 3})
        streams = [self.open_stream() for _ in range(3)]
        try:
            wait_until(lambda: len(self.m1.requests()) == 3, what="three streams at the provider")
            for _ in range(3):
                self.assertEqual(self.post().status, 200)
            self.assertEqual(len(self.m1.requests()), 6)
            open_streams = sum(1 for c in self.m1.connections() if not c["closed_at"])
        finally:
            for s in streams:
                self.read_events(s)
                s.close()
        self.assertEqual(open_streams, 4, self.m1.connections())
        short = {r["conn_id"] for r in self.m1.requests()[3:]}
        self.assertEqual(len(short), 1, self.m1.requests())

    def test_slow_reader_pauses_upstream(self):
        self.start(daemon={"idle_timeout_ms": 20000})
        event = "data: " + "x" * 8186 + "\n\n"  # 8 KiB events
        unit = [event] * 99 + [ANTHROPIC_STREAM[-1]]
        self.m1.script({"sse": unit, "repeat_events": 60})  # ~48 MiB in all
        expected = "".join(unit).encode() * 60
        rss0 = rss_kb(self.worker_pid())
        s = self.open_stream()
        first = s.recv(4096)
        self.assertTrue(first.startswith(b"HTTP/1.1 200"))
        # Stop reading. zend's memory must stay bounded while the mock wants
        # to push 48 MiB.
        peak = 0
        end = time.monotonic() + 2.0
        while time.monotonic() < end:
            peak = max(peak, rss_kb(self.worker_pid()) - rss0)
            time.sleep(0.05)
        self.assertLess(peak, 8 * 1024, "zend RSS grew by %d KiB with a stalled reader" % peak)
        # Resume reading: everything arrives, in order, and complete.
        s.settimeout(20)
        parts, tail = [first], first[-16:]
        while not tail.endswith(b"\r\n0\r\n\r\n"):  # the terminator may span reads
            data = s.recv(1 << 20)
            if not data:
                break
            parts.append(data)
            tail = (tail + data)[-16:]
        s.close()
        r = parse_response(b"".join(parts))
        self.assertTrue(r.complete)
        self.assertEqual(len(r.body), len(expected))
        self.assertTrue(r.body == expected)

    def test_client_disconnect_cancels_upstream(self):
        self.start()
        self.m1.script({"sse": ANTHROPIC_STREAM[:2] +
                               [{"data": "data: tick\n\n", "delay_ms": 100}] * 100})
        s = self.open_stream()
        wait_until(lambda: b"tick" in s.recv(4096), what="first event")
        s.close()
        closed_at = time.monotonic()
        def peer_closed():
            reqs = self.m1.requests()
            return reqs and reqs[0]["peer_closed_at"]
        t = wait_until(peer_closed, timeout=3, what="mock to see zend close")
        self.assertLess(t - closed_at, 1.0)
        wait_until(lambda: self.metrics()["errors_by_type"]["client_closed"] == 1,
                   what="client_closed counted")
        self.assertEqual(self.metrics()["errors_by_provider"].get("p1", 0), 0)  # not blamed


class InterruptedStream(ProxyTestCase):
    def check_interrupted(self, step, want):
        self.m1.script(step)
        r = self.post("/solo/s1/v1/messages")  # each cut blames p1: no failover alone
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete, r.raw[-200:])  # no terminating chunk
        self.assertTrue(r.body.startswith("".join(ANTHROPIC_STREAM[:4]).encode()))
        tail = r.body[len("".join(ANTHROPIC_STREAM[:4])):]
        self.assertTrue(tail.startswith(b"event: error\ndata: "), tail)
        err = json.loads(tail.split(b"data: ", 1)[1].split(b"\n")[0])
        self.assertEqual(err["type"], "error")
        self.assertEqual(err["error"]["type"], "api_error")
        self.assertIn("upstream stream interrupted", err["error"]["message"])
        self.assertIn(want, err["error"]["message"])

    def test_cut_and_silent_streams(self):
        self.start(daemon={"idle_timeout_ms": 700})
        self.check_interrupted({"sse": ANTHROPIC_STREAM, "end": "close", "after_events": 4},
                               "network error")
        t0 = time.monotonic()
        self.check_interrupted({"sse": ANTHROPIC_STREAM, "end": "stall", "after_events": 4},
                               "idle timeout")
        self.assertLess(time.monotonic() - t0, 3.0)
        self.assertEqual(self.metrics()["errors_by_type"]["stream_interrupted"], 2)
        # The next request works.
        self.m1.script({"sse": ANTHROPIC_STREAM})
        r = self.post("/solo/s1/v1/messages")
        self.assertTrue(r.complete)
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM).encode())


class Guards(ProxyTestCase):
    def test_host_and_origin(self):
        self.start()
        r = self.post(headers={"Host": "evil.example"})
        self.assertEqual(r.status, 403)
        self.assertEqual(r.json()["error"]["type"], "permission_error")
        r = self.post(headers={"Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        r = self.post(headers={"Host": "localhost:1234"})
        self.assertEqual(r.status, 200)
        self.assertEqual(len(self.m1.requests()), 1)

    def test_access_keys(self):
        self.start(daemon={"access_keys": ["zen-secret"]}, p1={"auth_token": ""})
        self.assertEqual(self.post(headers={"x-api-key": None}).status, 401)
        self.assertEqual(self.post(headers={"x-api-key": "wrong"}).status, 401)
        r = self.post(headers={"x-api-key": "zen-secret", "Authorization": "Bearer oauth"})
        self.assertEqual(r.status, 200)
        self.assertEqual(self.post(headers={"x-api-key": None, "Authorization": "Bearer zen-secret"}).status, 200)
        seen = self.m1.requests()
        self.assertEqual(len(seen), 2)
        for req in seen:  # the access key never leaves zend
            self.assertNotIn("zen-secret", json.dumps(req["headers"]))

    def test_size_limits(self):
        self.start()
        # As curl and the SDKs do for big uploads: Expect: 100-continue, and
        # the 413 comes before any of the body is sent.
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(b"POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % (40 << 20))
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 413"))
        s.close()
        # A client that sends the 40 MiB anyway still reads its 413.
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(b"POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Length: %d\r\n\r\n" % (40 << 20))
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(40):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 413"))
        s.close()
        # Chunked uploads are counted as they arrive.
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(b"POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Transfer-Encoding: chunked\r\n\r\n")
        try:
            for _ in range(40):
                s.sendall(b"100000\r\n" + chunk + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 413"))
        s.close()
        r = self.post(headers={"X-Padding": "p" * (70 * 1024)})
        self.assertEqual(r.status, 431)
        self.assertEqual(self.post().status, 200)  # still serving
        self.assertEqual(len(self.m1.requests()), 1)

    def test_malformed_request(self):
        self.start()
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(b"POST /default/s/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        raw = s.recv(4096)
        s.close()
        self.assertTrue(raw.startswith(b"HTTP/1.1 400"), raw)
        self.assertEqual(self.post().status, 200)

    def test_slowloris_dropped(self):
        self.start(daemon={"client_header_timeout_ms": 800})
        s = socket.create_connection(self.addr, timeout=5)
        s.sendall(b"POST /default/s1/v1/messages HTTP/1.1\r\nHost: local")
        t0 = time.monotonic()
        closed = threading.Event()
        def trickle():
            try:
                while not closed.is_set():
                    s.sendall(b"h")
                    time.sleep(0.1)
            except OSError:
                pass
        threading.Thread(target=trickle, daemon=True).start()
        self.assertEqual(self.post().status, 200)  # others are served meanwhile
        try:
            data = s.recv(4096)
        except (ConnectionResetError, socket.timeout):
            data = b""
        closed.set()
        elapsed = time.monotonic() - t0
        s.close()
        self.assertEqual(data, b"")
        self.assertGreater(elapsed, 0.7)
        self.assertLess(elapsed, 2.5)


class Routing(ProxyTestCase):
    def test_paths(self):
        self.start(default_profile="default")
        r = self.post("/nope/s1/v1/messages")
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json()["error"]["type"], "profile_not_found")
        r = self.post("/onlyone")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["type"], "invalid_path")
        r = self.post("/v1/messages")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        self.assertEqual(self.m1.requests()[0]["path"], "/v1/messages")

    def test_model_mapping(self):
        self.start(p1={"sonnet_model": "mapped-sonnet"})
        self.m1.script({"status": 500, "body": "down"})  # fail over to p2 (no tiers)
        r = self.post()
        self.assertEqual(r.status, 200)
        sent1 = json.loads(self.m1.requests()[0]["body"])
        self.assertEqual(sent1["model"], "mapped-sonnet")
        self.assertEqual(sent1["messages"], json.loads(CLIENT_BODY)["messages"])
        self.assertEqual(self.m2.requests()[0]["body"].encode(), CLIENT_BODY)  # untouched bytes


class MetricsUnderLoad(ProxyTestCase):
    def test_500_requests_50_clients(self):
        self.start()
        self.m1.script(*[{"status": 503, "body": "flaky"}] * 5)
        self.m1.default({"json": {"ok": 1}})
        self.m2.default({"json": {"ok": 2}})
        statuses = []
        lock = threading.Lock()
        def client(n):
            for i in range(10):
                r = self.post("/default/c%d/v1/messages" % n, timeout=30)
                with lock:
                    statuses.append(r.status)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(statuses), 500)
        m = self.metrics()
        self.assertEqual(m["requests_total"], 500)
        self.assertEqual(m["success_count"] + m["error_count"], m["requests_total"])
        self.assertEqual(m["success_count"], statuses.count(200))
        self.assertLessEqual(m["latency_p50_ms"], m["latency_p95_ms"])
        self.assertLessEqual(m["latency_p95_ms"], m["latency_p99_ms"])
        self.assertLessEqual(m["latency_p99_ms"], m["latency_max_ms"])
        self.assertGreaterEqual(m["failovers_total"], 1)
        self.assertEqual(m["in_flight"], 0)


if __name__ == "__main__":
    unittest.main()
