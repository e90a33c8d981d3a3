"""The fault catalogue (docs/operations.md, "Failover"; README "Streaming"):
one scenario per test, the real zend against mock providers. Each test checks
what the client saw (status, body, stream completeness), what the mock saw
(attempt count, timing), and that a healthy request succeeds afterwards on
the same worker. Timeouts are short (first byte and idle: 800 ms) so the whole
file runs in well under two minutes; conditions are waited for with
deadlines, never with fixed sleeps."""
import json
import socket
import time
import unittest

from zenharness import (ANTHROPIC_STREAM, Mock, ZenTestCase, http_request, parse_response,
                        wait_until)

FIRST_BYTE_S = 0.8
IDLE_S = 0.8
SLACK_S = 1.0  # scheduling and sanitizer headroom on top of a timeout

STREAM_BODY = (b'{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,'
               b'"messages":[{"role":"user","content":"hi"}]}')
PLAIN_BODY = (b'{"model":"claude-sonnet-4-5","max_tokens":64,'
              b'"messages":[{"role":"user","content":"hi"}]}')
OPENAI_BODY = (b'{"model":"gpt-4o","stream":true,'
               b'"messages":[{"role":"user","content":"hi"}]}')


def ok_step(name):
    return {"json": {"from": name}}


def chunk(delta, finish):
    return ('data: {"id":"chatcmpl-7","object":"chat.completion.chunk","created":1700000000,'
            '"model":"gpt-4o","choices":[{"index":0,"delta":%s,"logprobs":null,'
            '"finish_reason":%s}]}\n\n' % (json.dumps(delta), finish))


# An OpenAI chat stream that ends with finish_reason "stop" and no [DONE].
OPENAI_STREAM = [
    chunk({"role": "assistant", "content": ""}, "null"),
    chunk({"content": "Hello"}, "null"),
    chunk({"content": ", world"}, "null"),
    chunk({}, '"stop"'),
]

# A complete Anthropic stream with malformed events in between.
MALFORMED_STREAM = [
    ANTHROPIC_STREAM[0],
    # JSON cut off inside a string.
    'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
    '"delta":{"type":"text_delta","text":"unterminated\n\n',
    # Not JSON at all, with a NUL byte and non-ASCII.
    'data: not json \u0000 at all \u00e9\u2014\n\n',
    # A comment, a field without a colon, an empty event name.
    ':keep-alive comment\nevent:\ndata\n\n',
    # CRLF line endings and a bare CR.
    'event: content_block_delta\r\ndata: {"type":"content_block_delta"}\r\n\r',
    '\n',
    # Unknown fields, a bogus retry.
    'retry: soon\nid: \u007f\nfoo: bar\n\n',
    # A 100 KB data line.
    'data: ' + 'x' * 100000 + '\n\n',
    # Braces and quotes that never balance.
    'data: }}}"]]{"type":\n\n',
    ANTHROPIC_STREAM[-2],
    # The end marker split across two upstream chunks.
    'event: message_st',
    'op\ndata: {"type":"message_stop"}\n\n',
]


class FaultTestCase(ZenTestCase):
    """Two mock providers: profile `default` = [p1, p2], `solo` = [p1]."""

    def setUp(self):
        super().setUp()
        self.m1 = Mock(self.home, "p1")
        self.m2 = Mock(self.home, "p2")
        self.zend = None

    def tearDown(self):
        try:
            if self.zend:
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            self.m1.stop()
            self.m2.stop()

    def start(self, daemon=None, p1_type="anthropic", p2_type="anthropic"):
        d = {"listen": "127.0.0.1:0", "first_byte_timeout_ms": int(FIRST_BYTE_S * 1000),
             "idle_timeout_ms": int(IDLE_S * 1000), "probe_interval_ms": 1000,
             "client_header_timeout_ms": 2000}
        d.update(daemon or {})
        cfg = {"providers": {"p1": {"base_url": self.m1.url, "auth_token": "sk-p1",
                                    "type": p1_type},
                             "p2": {"base_url": self.m2.url, "auth_token": "sk-p2",
                                    "type": p2_type}},
               "profiles": {"default": ["p1", "p2"], "solo": ["p1"]},
               "daemon": d}
        self.write_config(cfg)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))
        self.worker = self.worker_pid()

    def post(self, path="/default/s1/v1/messages", body=PLAIN_BODY, headers=None, timeout=15):
        h = {"Content-Type": "application/json", "x-api-key": "client-key"}
        h.update(headers or {})
        return http_request(self.addr, "POST", path, body, h, timeout=timeout)

    def timed_post(self, *args, **kw):
        t0 = time.monotonic()
        r = self.post(*args, **kw)
        return r, time.monotonic() - t0

    def metrics(self):
        r = self.zenctl("-o", "json", "metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        return json.loads(r.stdout)

    def errors_of_type(self, kind):
        return self.metrics()["errors_by_type"].get(kind, 0)

    def assert_healthy(self):
        """After a fault: the same worker (no crash, no restart) serves a
        plain request and a complete stream."""
        self.assertIsNone(self.zend.poll(), "zend exited")
        self.assertEqual(self.worker_pid(), self.worker, "the worker was replaced (crash?)")
        for m in (self.m1, self.m2):
            m.reset()
        self.m1.default(ok_step("p1"))
        self.m2.default(ok_step("p2"))
        r = self.post("/default/healthy/v1/messages")
        self.assertEqual(r.status, 200, r.raw[-500:])
        self.assertIn(r.json(), ({"from": "p1"}, {"from": "p2"}))
        self.m1.default({"sse": ANTHROPIC_STREAM})
        self.m2.default({"sse": ANTHROPIC_STREAM})
        r = self.post("/default/healthy/v1/messages", body=STREAM_BODY)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM).encode())

    def assert_envelope(self, r, status, kinds):
        """A zend-made all_providers_failed answer listing `kinds`
        [(provider, status or None, error_type)]."""
        self.assertEqual(r.status, status, r.raw[-800:])
        self.assertEqual(r.headers["content-type"], "application/json")
        doc = r.json()
        self.assertEqual(doc["type"], "error")
        self.assertEqual(doc["error"]["type"], "all_providers_failed")
        got = [(a["provider"], a["status"] or None, a["error_type"]) for a in doc["attempts"]]
        self.assertEqual(got, kinds, doc)
        for name, st, _ in kinds:
            self.assertRegex(doc["error"]["message"],
                             r"\[%s\] %s \(\d+ms\)" % (name, st if st else r"[a-z_]+"))
        self.assertEqual(r.headers["x-zen-attempts"], str(len(kinds)))
        return doc

    def assert_interrupted(self, r, prefix, want):
        """Status 200, `prefix` relayed, then one in-band error event and no
        terminating chunk."""
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete, r.raw[-300:])
        self.assertFalse(r.raw.endswith(b"0\r\n\r\n"), r.raw[-300:])
        self.assertTrue(r.body.startswith(prefix), r.body[:400])
        tail = r.body[len(prefix):]
        self.assertTrue(tail.startswith(b"event: error\ndata: "), tail)
        self.assertTrue(tail.endswith(b"\n\n"), tail)
        self.assertEqual(tail.count(b"event: error"), 1, tail)
        err = json.loads(tail[len(b"event: error\ndata: "):-2])
        self.assertEqual(err["type"], "error")
        self.assertEqual(err["error"]["type"], "api_error")
        self.assertTrue(err["error"]["message"].startswith("upstream stream interrupted: "), err)
        self.assertIn(want, err["error"]["message"])


class RateLimit(FaultTestCase):
    def test_01_retry_after_honoured_without_hammering(self):
        """A 429 with Retry-After: the provider gets no request until the
        wait is over, neither from failover traffic nor from a retry."""
        self.start()
        # Two providers: p1 says wait 2 s; traffic meanwhile goes to p2.
        self.m1.script({"status": 429, "headers": {"Retry-After": "2"},
                        "json": {"type": "error", "error": {"type": "rate_limit_error",
                                                            "message": "slow down"}}})
        self.m1.default(ok_step("p1"))
        self.m2.default(ok_step("p2"))
        t0 = time.monotonic()
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p2"})
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        while time.monotonic() - t0 < 1.5:  # a request every 100 ms for 1.5 s
            r = self.post()
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["x-zen-provider"], "p2")
            self.assertEqual(r.headers["x-zen-attempts"], "1")
            time.sleep(0.1)
        first = self.m1.requests()[0]["t"]
        early = [q for q in self.m1.requests() if q["t"] - first < 1.5]
        self.assertLessEqual(len(early), 2)
        self.assertEqual(len(early), 1)  # exactly the 429
        self.assertEqual(len(self.m1.requests(include_head=True)), 1)  # no probe of a 429
        # After the 2 s, not the 60 s default cooldown, p1 serves again.
        wait_until(lambda: self.post().headers.get("x-zen-provider") == "p1", timeout=3,
                   interval=0.1, what="p1 after its Retry-After")
        back = self.m1.requests()[1]["t"]
        self.assertGreaterEqual(back - first, 1.9)
        self.assertLess(back - first, 2.0 + SLACK_S)

        # One provider: zend waits the Retry-After out, then retries once.
        self.m1.reset()
        self.m2.reset()
        self.m1.script({"status": 429, "headers": {"Retry-After": "1"}, "body": "wait"})
        self.m1.default(ok_step("p1"))
        r, elapsed = self.timed_post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p1"})
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        seen = self.m1.requests()
        self.assertEqual(len(seen), 2)
        self.assertGreaterEqual(seen[1]["t"] - seen[0]["t"], 0.95)
        self.assertLess(seen[1]["t"] - seen[0]["t"], 1.0 + SLACK_S)
        self.assertGreaterEqual(elapsed, 0.95)
        self.assertEqual(len([q for q in seen if q["t"] - seen[0]["t"] < 1.5]), 2)
        self.assertEqual(self.m2.requests(), [])
        self.assert_healthy()

    def test_02_persistent_429(self):
        """Every attempt rate limited: bounded, spaced attempts, then 429."""
        self.start()
        body = '{"type":"error","error":{"type":"rate_limit_error","message":"quota exhausted"}}'
        step = {"status": 429, "body": body,
                "headers": {"Retry-After": "1", "Content-Type": "application/json",
                            "request-id": "req_429"}}
        self.m1.default(step)
        self.m2.default(step)
        # Both providers: p1 once, p2 (the last) once plus one retry after
        # its Retry-After; zend answers 429 with a retry-after of its own.
        r, elapsed = self.timed_post()
        self.assert_envelope(r, 429, [("p1", 429, "rate_limit"), ("p2", 429, "rate_limit"),
                                      ("p2", 429, "rate_limit")])
        self.assertRegex(r.headers.get("retry-after", ""), r"^[1-9][0-9]*$")
        self.assertEqual(len(self.m1.requests()), 1)
        p2 = self.m2.requests()
        self.assertEqual(len(p2), 2)
        self.assertGreaterEqual(p2[1]["t"] - p2[0]["t"], 0.95)
        self.assertLess(elapsed, 1.0 + SLACK_S)
        # One provider: two spaced attempts, then the provider's own 429
        # relayed unchanged.
        self.m1.reset()
        self.m1.default(step)
        r, elapsed = self.timed_post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 429)
        self.assertEqual(r.body, body.encode())
        self.assertEqual(r.headers["retry-after"], "1")
        self.assertEqual(r.headers["request-id"], "req_429")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        p1 = self.m1.requests()
        self.assertEqual(len(p1), 2)
        self.assertGreaterEqual(p1[1]["t"] - p1[0]["t"], 0.95)
        self.assertLess(elapsed, 1.0 + SLACK_S)
        self.assertEqual(self.metrics()["errors_by_type"]["rate_limit"], 5)
        self.assert_healthy()


class ServerErrors(FaultTestCase):
    def test_03_500_once_then_healthy(self):
        """One provider, one 500: retried once after 250-500 ms, succeeds."""
        self.start()
        self.m1.script({"status": 500, "json": {"type": "error", "error": {
            "type": "api_error", "message": "Internal server error"}}})
        self.m1.default(ok_step("p1"))
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p1"})
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        seen = self.m1.requests()
        self.assertEqual(len(seen), 2)
        self.assertEqual(seen[0]["body_b64"], seen[1]["body_b64"])  # the same body replayed
        gap = seen[1]["t"] - seen[0]["t"]
        self.assertGreaterEqual(gap, 0.24)
        self.assertLess(gap, 0.5 + SLACK_S)
        self.assertEqual(self.metrics()["errors_by_type"]["server"], 1)
        self.assert_healthy()

    def test_04_persistent_503(self):
        """Every attempt 503: bounded attempts, then a clean error."""
        self.start()
        body = '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}'
        step = {"status": 503, "body": body,
                "headers": {"Content-Type": "application/json", "request-id": "req_503"}}
        self.m1.default(step)
        self.m2.default(step)
        # Both providers: p1, p2, one retry of p2 -> zend's 502 summary.
        r, elapsed = self.timed_post()
        doc = self.assert_envelope(r, 502, [("p1", 503, "server"), ("p2", 503, "server"),
                                            ("p2", 503, "server")])
        self.assertEqual(doc["attempts"][0]["detail"], body)
        self.assertEqual(len(self.m1.requests()), 1)
        self.assertEqual(len(self.m2.requests()), 2)
        self.assertLess(elapsed, 0.5 + SLACK_S)
        # One provider: two attempts, the provider's 503 relayed unchanged.
        self.m1.reset()
        self.m1.default(step)
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.body, body.encode())
        self.assertEqual(r.headers["request-id"], "req_503")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        self.assertEqual(len(self.m1.requests()), 2)
        self.assert_healthy()


class Network(FaultTestCase):
    def test_05_reset_before_headers(self):
        """A connection reset before any response: fail over; with one
        provider, one retry, then 502."""
        self.start()
        self.m1.default({"action": "reset"})
        self.m2.default(ok_step("p2"))
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p2"})
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        self.assertEqual(len(self.m1.requests()), 1)
        self.assertEqual(len(self.m2.requests()), 1)
        # p1 now cools down: the next request goes straight to p2.
        r = self.post()
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertEqual(len(self.m1.requests()), 1)
        # Alone (the last candidate is tried even while cooling): one retry, then 502.
        r = self.post("/solo/s1/v1/messages")
        self.assert_envelope(r, 502, [("p1", None, "network"), ("p1", None, "network")])
        self.assertEqual(len(self.m1.requests()), 3)
        self.assertEqual(len(self.m2.requests()), 2)
        self.assertGreaterEqual(self.errors_of_type("network"), 3)
        self.assert_healthy()

    def test_06_silent_provider(self):
        """No response headers: given up after first_byte_timeout_ms, fail
        over; a silent provider is never retried."""
        self.start()
        self.m1.default({"action": "stall"})
        self.m2.default(ok_step("p2"))
        r, elapsed = self.timed_post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p2"})
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        self.assertGreaterEqual(elapsed, FIRST_BYTE_S - 0.05)
        self.assertLess(elapsed, FIRST_BYTE_S + SLACK_S)
        seen = self.m1.requests()
        self.assertEqual(len(seen), 1)
        closed = wait_until(lambda: self.m1.requests()[0]["peer_closed_at"], timeout=3,
                            what="zend to drop the silent connection")
        self.assertGreaterEqual(closed - seen[0]["t"], FIRST_BYTE_S - 0.05)
        self.assertLess(closed - seen[0]["t"], FIRST_BYTE_S + SLACK_S)
        # p1 now cools down: the next request does not wait on it again.
        r, elapsed = self.timed_post()
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertLess(elapsed, FIRST_BYTE_S / 2)
        self.assertEqual(len(self.m1.requests()), 1)
        # Alone: one attempt, no retry, 504.
        r, elapsed = self.timed_post("/solo/s1/v1/messages")
        self.assert_envelope(r, 504, [("p1", None, "timeout")])
        self.assertLess(elapsed, FIRST_BYTE_S + SLACK_S)
        self.assertEqual(len(self.m1.requests()), 2)
        self.assertEqual(self.errors_of_type("timeout"), 2)
        self.assert_healthy()

    def test_07_slow_first_byte_within_budget(self):
        """Headers after 500 ms (budget 800): answered, no failover; a slow
        stream whose gaps stay under idle_timeout_ms is not cut either."""
        self.start()
        self.m1.script({"delay_headers_ms": 500, "json": {"from": "p1", "slow": True}})
        self.m2.default(ok_step("p2"))
        r, elapsed = self.timed_post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p1", "slow": True})
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertGreaterEqual(elapsed, 0.5)
        self.assertLess(elapsed, FIRST_BYTE_S + SLACK_S)
        # 500 ms to headers, then five events 500 ms apart: 3 s in all.
        events = [{"data": e, "delay_ms": 500} for e in ANTHROPIC_STREAM[:5]] + ANTHROPIC_STREAM[5:]
        self.m1.script({"delay_headers_ms": 500, "sse": events})
        r, elapsed = self.timed_post(body=STREAM_BODY)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM).encode())
        self.assertGreaterEqual(elapsed, 2.9)
        self.assertEqual(len(self.m1.requests()), 2)
        self.assertEqual(self.m2.requests(), [])
        m = self.metrics()
        self.assertEqual(m["error_count"], 0)
        self.assertEqual(m["errors_by_type"].get("timeout", 0), 0)
        self.assert_healthy()


class Streams(FaultTestCase):
    def test_08_stream_cut_mid_answer(self):
        """The upstream dies mid-stream (FIN, RST, or a clean end without the
        end marker): never a clean success, never a failover. (One provider:
        each cut blames it, test_19 shows the next request skipping it.)"""
        self.start()
        prefix = "".join(ANTHROPIC_STREAM[:4]).encode()
        cases = [({"sse": ANTHROPIC_STREAM, "end": "close", "after_events": 4}, "network error"),
                 ({"sse": ANTHROPIC_STREAM, "end": "reset", "after_events": 4}, "network error"),
                 ({"sse": ANTHROPIC_STREAM[:4]}, "")]
        for n, (step, want) in enumerate(cases, 1):
            with self.subTest(step=step):
                self.m1.script(step)
                r = self.post("/solo/s1/v1/messages", body=STREAM_BODY)
                self.assert_interrupted(r, prefix, want)
                self.assertEqual(r.headers["x-zen-provider"], "p1")
                self.assertEqual(len(self.m1.requests()), n)  # no retry
                self.assertEqual(self.m2.requests(), [])       # no failover
        m = self.metrics()
        self.assertEqual(m["errors_by_type"]["stream_interrupted"], 3)
        self.assertEqual(m["success_count"], 0)
        self.assert_healthy()

    def test_09_stalled_stream(self):
        """The upstream goes silent mid-stream: cut after idle_timeout_ms,
        upstream connection closed, daemon healthy after."""
        self.start()
        prefix = "".join(ANTHROPIC_STREAM[:4]).encode()
        self.m1.script({"sse": ANTHROPIC_STREAM, "end": "stall", "after_events": 4})
        r, elapsed = self.timed_post("/solo/s1/v1/messages", body=STREAM_BODY)
        self.assert_interrupted(r, prefix, "idle timeout")
        self.assertGreaterEqual(elapsed, IDLE_S - 0.05)
        self.assertLess(elapsed, IDLE_S + SLACK_S)
        seen = self.m1.requests()
        self.assertEqual(len(seen), 1)
        closed = wait_until(lambda: self.m1.requests()[0]["peer_closed_at"], timeout=3,
                            what="zend to drop the stalled upstream")
        self.assertLess(closed - seen[0]["t"], IDLE_S + SLACK_S)
        # Headers, then nothing at all: silent before the commit point, a
        # failed attempt (a timeout, never retried), not a cut stream.
        self.m1.script({"sse": [], "end": "stall"})
        r, elapsed = self.timed_post("/solo/s1/v1/messages", body=STREAM_BODY)
        self.assert_envelope(r, 504, [("p1", None, "timeout")])
        self.assertLess(elapsed, IDLE_S + SLACK_S)
        self.assertEqual(self.m2.requests(), [])
        self.assertEqual(self.errors_of_type("stream_interrupted"), 1)
        self.assert_healthy()

    def test_10_malformed_sse_event(self):
        """Malformed events are relayed byte-for-byte; the stream still
        completes and the daemon stays up."""
        self.start()
        self.m1.script({"sse": MALFORMED_STREAM})
        r = self.post(body=STREAM_BODY)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["content-type"], "text/event-stream")
        self.assertTrue(r.complete, r.raw[-300:])
        self.assertEqual(r.body, "".join(MALFORMED_STREAM).encode())
        self.assertNotIn(b"upstream stream interrupted", r.body)
        self.assertEqual(self.errors_of_type("stream_interrupted"), 0)
        self.assertEqual(len(self.m1.requests()), 1)
        self.assert_healthy()

    def test_11_openai_stream_without_done(self):
        """An OpenAI chat stream ending with finish_reason "stop" and no
        [DONE] completes at once and counts as complete (an openai provider:
        the Chat client's stream is relayed as it is)."""
        self.start(p1_type="openai")
        self.m1.script({"sse": OPENAI_STREAM})
        r, elapsed = self.timed_post("/default/s/v1/chat/completions", body=OPENAI_BODY)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete, r.raw[-300:])
        self.assertEqual(r.body, "".join(OPENAI_STREAM).encode())
        self.assertNotIn(b"[DONE]", r.body)
        self.assertLess(elapsed, IDLE_S)  # no wait for an idle timeout
        self.assertEqual(self.m1.requests()[0]["path"], "/v1/chat/completions")
        m = self.metrics()
        self.assertEqual(m["success_count"], 1)
        self.assertEqual(m["error_count"], 0)
        self.assertEqual(m["errors_by_type"].get("stream_interrupted", 0), 0)
        # The same stream cut before its finish_reason is not complete, and
        # says so in the Chat client's own words: an error chunk, no [DONE].
        self.m1.script({"sse": OPENAI_STREAM[:3]})
        r = self.post("/default/s/v1/chat/completions", body=OPENAI_BODY)
        prefix = "".join(OPENAI_STREAM[:3]).encode()
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete, r.raw[-300:])
        self.assertTrue(r.body.startswith(prefix), r.body[:400])
        tail = r.body[len(prefix):]
        self.assertTrue(tail.startswith(b"data: ") and tail.endswith(b"\n\n"), tail)
        err = json.loads(tail[len(b"data: "):-2])["error"]
        self.assertEqual((err["type"], err["param"]), ("server_error", None))
        self.assertTrue(err["message"].startswith("upstream stream interrupted: "), err)
        self.assertNotIn(b"[DONE]", tail)
        self.assert_healthy()


class ClientErrors(FaultTestCase):
    def test_12_400_context_length_and_content_policy(self):
        """A 400 is the client's problem: one attempt, no failover, no
        retry, relayed verbatim, and the provider stays healthy."""
        self.start()
        bodies = {
            "context_length": '{"type":"error","error":{"type":"invalid_request_error",'
                              '"message":"prompt is too long: 215000 tokens > 200000 maximum"}}',
            "content_policy": '{"error":{"message":"Your request was rejected as a result of '
                              'our safety system.","type":"invalid_request_error","param":null,'
                              '"code":"content_policy_violation"}}',
        }
        self.m2.default(ok_step("p2"))
        for kind, body in bodies.items():
            for path in ("/default/s1/v1/messages", "/solo/s1/v1/messages"):
                with self.subTest(kind=kind, path=path):
                    self.m1.reset()
                    self.m1.script({"status": 400, "body": body,
                                    "headers": {"Content-Type": "application/json",
                                                "request-id": "req_" + kind}})
                    self.m1.default(ok_step("p1"))
                    r = self.post(path)
                    self.assertEqual(r.status, 400)
                    self.assertEqual(r.body, body.encode())
                    self.assertEqual(r.headers["content-type"], "application/json")
                    self.assertEqual(r.headers["request-id"], "req_" + kind)
                    self.assertEqual(r.headers["x-zen-provider"], "p1")
                    self.assertEqual(r.headers["x-zen-attempts"], "1")
                    self.assertEqual(len(self.m1.requests()), 1)
                    self.assertEqual(self.m2.requests(), [])
                    # Not blamed: the next request goes straight to p1.
                    r = self.post()
                    self.assertEqual(r.json(), {"from": "p1"})
                    self.assertEqual(r.headers["x-zen-attempts"], "1")
        m = self.metrics()
        self.assertEqual(m["errors_by_provider"].get("p1", 0), 0)
        self.assertEqual(m["failovers_total"], 0)
        self.assert_healthy()


class Outage(FaultTestCase):
    def test_13_primary_down_then_recovers(self):
        """p1 down for 20 s, a request every second: p2 serves meanwhile, p1
        gets few POSTs (cooldown) but regular HEAD probes, and a probe brings
        it back within seconds of recovering."""
        self.start(daemon={"probe_interval_ms": 1000})  # default cooldowns (60 s)
        down = {"status": 503, "body": "down for maintenance"}
        self.m1.default(down)
        self.m2.default(ok_step("p2"))
        t0 = time.monotonic()
        outage_end = t0 + 20.0
        served = []
        i = 0
        while time.monotonic() < outage_end:
            target = t0 + i
            if target >= outage_end:
                break
            wait_until(lambda: time.monotonic() >= target, timeout=2, interval=0.02,
                       what="the next second")
            r = self.post("/default/outage/v1/messages")
            self.assertEqual(r.status, 200, r.raw[-500:])
            served.append(r.headers["x-zen-provider"])
            i += 1
        self.assertEqual(set(served), {"p2"})
        self.assertGreaterEqual(len(served), 19)
        # Recovery. The time is taken before the switch: a probe the mock reads
        # between the switch and a later timestamp would already be answered
        # 200, close the circuit, and leave a POST as the first request "after".
        recovered = time.monotonic()
        self.m1.default(ok_step("p1"))
        outage = self.m1.requests(include_head=True)
        posts = [q for q in outage if q["method"] == "POST"]
        heads = [q for q in outage if q["method"] == "HEAD"]
        self.assertGreaterEqual(len(posts), 1)
        self.assertLessEqual(len(posts), 3, [q["t"] - t0 for q in posts])
        self.assertGreaterEqual(len(heads), 5)  # probed about every second
        back = None
        j = 0
        while back is None:
            self.assertLess(time.monotonic() - recovered, 10.0, "p1 not used again within 10 s")
            target = recovered + j
            wait_until(lambda: time.monotonic() >= target, timeout=2, interval=0.02,
                       what="the next second")
            r = self.post("/default/outage/v1/messages")
            self.assertEqual(r.status, 200)
            if r.headers["x-zen-provider"] == "p1":
                self.assertEqual(r.json(), {"from": "p1"})
                back = time.monotonic()
            j += 1
        self.assertLess(back - recovered, 10.0)
        # What brought p1 back was a probe, not the cooldown running out.
        after = [q for q in self.m1.requests(include_head=True) if q["t"] >= recovered]
        self.assertEqual(after[0]["method"], "HEAD")
        changes = [rec for rec in self.log_records() if rec.get("event") == "provider_state_changed"
                   and rec.get("provider") == "p1"]
        self.assertTrue(changes, "no provider_state_changed records for p1")
        self.assertEqual(changes[-1]["to"], "closed")
        self.assertEqual(changes[-1]["reason"], "probe")
        self.assert_healthy()


# ---- the commit point and blame for a broken stream (docs/operations.md,
# "Commit point") ----

OVERLOADED_EVENT = ('event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
                    '"message":"Overloaded"}}\n\n')
RESPONSES_BODY = b'{"model":"gpt-4o","stream":true,"input":"hi"}'


def r_event(kind, **fields):
    return "event: %s\ndata: %s\n\n" % (kind, json.dumps(dict(fields, type=kind)))


R_MESSAGE = {"type": "message", "id": "msg_r", "status": "completed", "role": "assistant",
             "content": [{"type": "output_text", "text": "Hi there", "annotations": []}]}
R_RESPONSE = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
              "model": "gpt-4o", "output": [R_MESSAGE],
              "usage": {"input_tokens": 3, "output_tokens": 2, "total_tokens": 5}}
RESPONSES_STREAM = [
    r_event("response.created", response=dict(R_RESPONSE, status="in_progress", output=[])),
    r_event("response.in_progress", response=dict(R_RESPONSE, status="in_progress", output=[])),
    r_event("response.output_item.added", output_index=0, item=dict(R_MESSAGE, content=[])),
    r_event("response.content_part.added", item_id="msg_r", output_index=0, content_index=0,
            part={"type": "output_text", "text": ""}),
    r_event("response.output_text.delta", item_id="msg_r", output_index=0, content_index=0,
            delta="Hi there"),
    r_event("response.output_item.done", output_index=0, item=R_MESSAGE),
    r_event("response.completed", response=R_RESPONSE),
]
CHAT_STREAM = OPENAI_STREAM + ["data: [DONE]\n\n"]


class CommitPoint(FaultTestCase):
    """Nothing reaches the client before a stream's first content event: a
    failure before it fails over unseen, and the fallback's stream arrives
    byte for byte."""

    def stream_head_time(self, path, body):
        """Sends a request on a raw socket; returns (seconds until the first
        response byte, the whole raw response)."""
        s = socket.create_connection(self.addr, timeout=15)
        try:
            t0 = time.monotonic()
            s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                       "x-api-key: client-key\r\nConnection: close\r\nContent-Length: %d\r\n\r\n"
                       % (path, len(body))).encode() + body)
            raw = s.recv(65536)
            first = time.monotonic() - t0
            while True:
                data = s.recv(65536)
                if not data:
                    break
                raw += data
        finally:
            s.close()
        return first, raw

    def providers(self):
        r = self.zenctl("-o", "json", "providers")
        self.assertEqual(r.returncode, 0, r.stderr)
        return {p["name"]: p for p in json.loads(r.stdout)["providers"]}

    def assert_served_by_p2(self, r, stream):
        self.assertEqual(r.status, 200, r.raw[-500:])
        self.assertTrue(r.complete, r.raw[-300:])
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        self.assertEqual(r.body, "".join(stream).encode())
        self.assertNotIn(b"upstream stream interrupted", r.body)
        self.assertEqual(len(self.m1.requests()), 1)
        self.assertEqual(len(self.m2.requests()), 1)

    def test_14_overloaded_error_after_200_fails_over(self):
        """Anthropic's 200 + `event: error` overloaded_error as the first
        event: a failed attempt (server), served by the fallback unseen."""
        # No probe may close p1's circuit before it is read (the fixture probes every
        # second, which a loaded machine can take to reach the check).
        self.start(daemon={"probe_interval_ms": 600000})
        self.m1.script({"sse": [OVERLOADED_EVENT]})
        self.m2.script({"sse": ANTHROPIC_STREAM})
        r = self.post(body=STREAM_BODY)
        self.assert_served_by_p2(r, ANTHROPIC_STREAM)
        self.assertNotIn(b"overloaded_error", r.body)
        self.assertEqual(self.errors_of_type("server"), 1)
        p1 = self.providers()["p1"]
        self.assertEqual((p1["circuit"], p1["last_error_type"]), ("open", "server"))
        self.assertEqual(p1["last_error"], "Overloaded")
        self.assert_healthy()

    def test_15_message_start_then_reset_fails_over(self):
        """message_start, then the connection is reset: the client sees
        exactly one message_start, the fallback's."""
        self.start()
        self.m1.script({"sse": ANTHROPIC_STREAM[:2], "end": "reset", "after_events": 1})
        self.m2.script({"sse": ANTHROPIC_STREAM})
        r = self.post(body=STREAM_BODY)
        self.assert_served_by_p2(r, ANTHROPIC_STREAM)
        self.assertEqual(r.body.count(b"event: message_start"), 1)
        self.assertEqual(self.errors_of_type("network"), 1)
        self.assertEqual(self.errors_of_type("stream_interrupted"), 0)
        self.assert_healthy()

    def test_16_chat_stream_cut_before_content_fails_over(self):
        """The same for an OpenAI Chat stream relayed as it is: the role
        chunk (no content yet), then a reset."""
        self.start(p1_type="openai", p2_type="openai")
        self.m1.script({"sse": CHAT_STREAM[:1], "end": "reset"})
        self.m2.script({"sse": CHAT_STREAM})
        r = self.post("/default/s/v1/chat/completions", body=OPENAI_BODY)
        self.assert_served_by_p2(r, CHAT_STREAM)
        self.assertEqual(r.body.count(b'"role": "assistant"'), 1)
        self.assertEqual(self.m1.requests()[0]["path"], "/v1/chat/completions")
        # An in-band error chunk before any content fails over too.
        self.m1.reset()
        self.m2.reset()
        self.m2.script({"sse": CHAT_STREAM})
        self.m1.script({"sse": CHAT_STREAM[:1] + ['data: {"error":{"message":"busy",'
                                                  '"type":"server_error"}}\n\n']})
        r = self.post("/solo/s/v1/chat/completions", body=OPENAI_BODY)
        self.assertEqual(r.status, 502, r.raw[-500:])
        self.assertEqual([(a["provider"], a["error_type"]) for a in r.json()["attempts"]],
                         [("p1", "server")])
        self.assertEqual(self.errors_of_type("server"), 1)
        self.assertEqual(self.m2.requests(), [])

    def test_17_responses_stream_cut_before_content_fails_over(self):
        """The same for an OpenAI Responses stream relayed as it is:
        response.created and in_progress, then EOF."""
        self.start(p1_type="openai", p2_type="openai")
        self.m1.script({"sse": RESPONSES_STREAM[:2]})
        self.m2.script({"sse": RESPONSES_STREAM})
        r = self.post("/default/s/v1/responses", body=RESPONSES_BODY)
        self.assert_served_by_p2(r, RESPONSES_STREAM)
        self.assertEqual(r.body.count(b"event: response.created"), 1)
        self.assertEqual(self.m1.requests()[0]["path"], "/v1/responses")
        self.assertEqual(self.errors_of_type("server"), 1)
        self.assertEqual(self.providers()["p1"]["last_error_type"], "server")

    def test_18_commit_by_timeout_and_by_size(self):
        """No content event yet: the head and what is held go out after
        commit_timeout_ms, or once more than 64 KiB is held; either way the
        stream then completes byte for byte."""
        self.start(daemon={"commit_timeout_ms": 300, "idle_timeout_ms": 5000})
        late = ANTHROPIC_STREAM[:1] + [{"data": ANTHROPIC_STREAM[1], "delay_ms": 1500}] + \
            ANTHROPIC_STREAM[2:]
        self.m1.script({"sse": late})
        first, raw = self.stream_head_time("/solo/s1/v1/messages", STREAM_BODY)
        self.assertGreaterEqual(first, 0.25)
        self.assertLess(first, 1.2)  # before the content, 1.5 s away
        r = parse_response(raw)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM).encode())
        # A translated stream (a Chat client) keeps the same deadline.
        self.m1.script({"sse": late})
        first, raw = self.stream_head_time("/solo/s/v1/chat/completions", OPENAI_BODY)
        self.assertGreaterEqual(first, 0.25)
        self.assertLess(first, 1.2)
        r = parse_response(raw)
        self.assertTrue(r.complete)
        self.assertIn(b"Hello, w", r.body)
        self.assertTrue(r.body.endswith(b"data: [DONE]\n\n"), r.body[-200:])
        # 64 KiB held: comments are no content; the daemon's deadline is far.
        self.stop_zend_cleanly(self.zend)
        self.start(daemon={"idle_timeout_ms": 5000})
        self.m1.reset()
        padding = [": " + "x" * 1022 + "\n\n"] * 70
        big = ANTHROPIC_STREAM[:1] + padding + \
            [{"data": ANTHROPIC_STREAM[1], "delay_ms": 2000}] + ANTHROPIC_STREAM[2:]
        self.m1.script({"sse": big})
        first, raw = self.stream_head_time("/solo/s1/v1/messages", STREAM_BODY)
        self.assertLess(first, 1.5)
        r = parse_response(raw)
        self.assertTrue(r.complete)
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM[:1] + padding + ANTHROPIC_STREAM[1:]).encode())
        self.assertEqual(self.errors_of_type("stream_interrupted"), 0)
        self.assert_healthy()

    def test_19_provider_that_cut_a_stream_is_skipped(self):
        """A stream cut after its commit point: the client gets the in-band
        error (no failover), and the provider is blamed (type stream,
        cooling), so the next request goes straight to the fallback."""
        self.start(daemon={"probe_interval_ms": 600000})  # no probe reopens p1 meanwhile
        prefix = "".join(ANTHROPIC_STREAM[:4]).encode()
        self.m1.script({"sse": ANTHROPIC_STREAM, "end": "reset", "after_events": 4})
        self.m2.default({"sse": ANTHROPIC_STREAM})
        r = self.post(body=STREAM_BODY)
        self.assert_interrupted(r, prefix, "network error")
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        self.assertEqual(self.m2.requests(), [])
        r = self.post(body=STREAM_BODY)
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertTrue(r.complete)
        self.assertEqual(len(self.m1.requests()), 1)
        p1 = self.providers()["p1"]
        self.assertEqual((p1["circuit"], p1["last_error_type"]), ("open", "stream"))
        m = self.metrics()
        self.assertEqual(m["errors_by_type"]["stream"], 1)
        self.assertEqual(m["errors_by_type"]["stream_interrupted"], 1)
        self.assertEqual(m["providers"]["p1"]["errors_by_type"]["stream"], 1)
        failed = [rec for rec in self.log_records() if rec.get("event") == "provider_failed"]
        self.assertEqual([(f["provider"], f["error_type"]) for f in failed], [("p1", "stream")])
        prom = self.zenctl("-o", "prom", "metrics")
        self.assertEqual(prom.returncode, 0, prom.stderr)
        self.assertIn('type="stream"} 1', prom.stdout)
        self.assert_healthy()

    def test_20_translated_stream_cut_blames_provider(self):
        """The same for a translated stream (a Chat client, an anthropic
        provider): the client gets its own in-band error, p1 is blamed."""
        self.start(p2_type="openai")
        self.m1.script({"sse": ANTHROPIC_STREAM, "end": "close", "after_events": 4})
        self.m2.default({"sse": CHAT_STREAM})
        r = self.post("/default/s/v1/chat/completions", body=OPENAI_BODY)
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete)
        self.assertIn(b"upstream stream interrupted", r.body)
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        r = self.post("/default/s/v1/chat/completions", body=OPENAI_BODY)
        self.assertEqual((r.headers["x-zen-provider"], r.headers["x-zen-attempts"]), ("p2", "1"))
        self.assertEqual(r.body, "".join(CHAT_STREAM).encode())
        self.assertEqual(self.providers()["p1"]["last_error_type"], "stream")
        self.assertEqual(self.errors_of_type("stream"), 1)

    def hang_up_after_content(self):
        s = socket.create_connection(self.addr, timeout=10)
        s.sendall(("POST /default/s1/v1/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                   % len(STREAM_BODY)).encode() + STREAM_BODY)
        got = b""
        while b"content_block_start" not in got:
            data = s.recv(4096)
            self.assertTrue(data, "closed before the first content event")
            got += data
        s.close()

    def test_21_client_hang_up_blames_nobody(self):
        """The client goes away mid-stream: the upstream is cancelled,
        client_closed is counted, and the provider keeps serving; also when
        the upstream then goes silent and zend only learns of it by its
        idle timeout."""
        self.start()
        self.m1.script({"sse": ANTHROPIC_STREAM[:2] +
                        [{"data": "event: ping\ndata: {}\n\n", "delay_ms": 100}] * 100})
        self.hang_up_after_content()
        wait_until(lambda: self.m1.requests()[0]["peer_closed_at"], timeout=3,
                   what="zend to cancel the upstream")
        wait_until(lambda: self.errors_of_type("client_closed") == 1, what="client_closed")
        self.m1.script({"sse": ANTHROPIC_STREAM, "end": "stall", "after_events": 2})
        self.hang_up_after_content()
        wait_until(lambda: self.m1.requests()[1]["peer_closed_at"], timeout=3,
                   what="the idle timeout to end the silent upstream")
        wait_until(lambda: self.metrics()["requests_total"] == 2, what="the request to end")
        m = self.metrics()
        self.assertEqual(m["errors_by_type"]["stream"], 0)
        self.assertEqual(m["errors_by_provider"].get("p1", 0), 0)
        self.assertEqual(self.providers()["p1"]["circuit"], "closed")
        self.m1.script(ok_step("p1"))
        r = self.post()
        self.assertEqual((r.headers["x-zen-provider"], r.headers["x-zen-attempts"]), ("p1", "1"))

    def test_22_200_json_error_object_fails_over(self):
        """A 200 JSON body that is an error object: a failed attempt of type
        server, served by the fallback; alone, the provider's own answer is
        relayed unchanged."""
        self.start()
        err = {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}}
        self.m1.default({"json": err})
        self.m2.default(ok_step("p2"))
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"from": "p2"})
        self.assertEqual((r.headers["x-zen-provider"], r.headers["x-zen-attempts"]), ("p2", "2"))
        self.assertEqual(self.errors_of_type("server"), 1)
        self.assertEqual(self.providers()["p1"]["last_error_type"], "server")
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), err)
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        # A JSON answer bigger than 64 KiB is relayed as it comes.
        self.m2.default({"json": {"from": "p2", "pad": "y" * 70000}})
        r = self.post()
        self.assertEqual(r.json()["pad"], "y" * 70000)
        self.assertTrue(r.complete)


if __name__ == "__main__":
    unittest.main()
