"""Fair blame and truthful health (issue 11, items 3, 4 and 6; docs/operations.md,
"Failover" and "Health"): a passthrough provider's 401/403 is the client's and
is relayed at once; probes and health checks answered 429 keep a cooldown; a
same-provider retry doubles the cooldown at most once per request; health's
reasons name the provider and the real error, and `zenctl health` exits 0/1/2/3
by the default profile's (and recently used profiles') usability, never by a
provider no profile uses.

The real zend against mock providers, a fresh zend per test (failures cool
providers); conditions are polled with deadlines, never fixed sleeps."""
import json
import unittest

from test_faults import FaultTestCase
from zenharness import closed_port, wait_until

CHAT_BODY = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'
BAD_KEY_BODY = ('{"type":"error","error":{"type":"authentication_error",'
                '"message":"invalid x-api-key"}}')


def ok_step(name):
    return {"json": {"id": "msg_" + name, "type": "message", "role": "assistant",
                     "content": [{"type": "text", "text": "from " + name}], "model": "m",
                     "stop_reason": "end_turn",
                     "usage": {"input_tokens": 1, "output_tokens": 1}}}


class BlameHealthCase(FaultTestCase):
    """The fault catalogue's two mocks and client; a config of its own."""

    def start(self, providers=None, profiles=None, daemon=None, health_check=None):
        d = {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 2000, "idle_timeout_ms": 2000,
             "probe_interval_ms": 60000}
        d.update(daemon or {})
        cfg = {"providers": providers or {
                   "p1": {"base_url": self.m1.url, "auth_token": "sk-p1"},
                   "p2": {"base_url": self.m2.url, "auth_token": "sk-p2"}},
               "profiles": profiles or {"default": ["p1", "p2"], "solo": ["p1"]},
               "daemon": d}
        if health_check:
            cfg["health_check"] = health_check
        self.write_config(cfg)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def provider(self, name):
        r = self.zenctl("-o", "json", "providers")
        self.assertEqual(r.returncode, 0, r.stderr)
        return next(p for p in json.loads(r.stdout)["providers"] if p["name"] == name)

    def health(self):
        """(exit code, the health document)."""
        r = self.zenctl("-o", "json", "health")
        return r.returncode, json.loads(r.stdout)

    def health_text(self):
        r = self.zenctl("health")
        return r.returncode, r.stdout

    def assert_no_vague_reason(self, reasons):
        for text in reasons:
            self.assertNotIn("of recent attempts succeeded", text)


class PassthroughAuth(BlameHealthCase):
    def start_passthrough(self):
        # No auth_token: the client's own credential goes upstream.
        self.start(providers={"p1": {"base_url": self.m1.url}, "p2": {"base_url": self.m2.url}})

    def test_bad_passthrough_key_is_the_clients_401(self):
        """A mistyped key: the client gets the provider's 401 at once; nothing
        cools, nothing fails over, and the next good request is served by the
        first provider, which stays healthy."""
        self.start_passthrough()
        for status in (401, 403):
            with self.subTest(status=status):
                self.m1.reset()
                self.m2.reset()
                self.m1.script({"status": status, "body": BAD_KEY_BODY,
                                "headers": {"Content-Type": "application/json",
                                            "request-id": "req_bad_key"}})
                self.m1.default(ok_step("p1"))
                self.m2.default(ok_step("p2"))
                r = self.post(headers={"x-api-key": "sk-typo"})
                self.assertEqual(r.status, status, r.raw[-500:])
                self.assertEqual(r.body, BAD_KEY_BODY.encode())
                self.assertEqual(r.headers["request-id"], "req_bad_key")
                self.assertEqual(r.headers["x-zen-provider"], "p1")
                self.assertEqual(r.headers["x-zen-attempts"], "1")
                self.assertEqual(len(self.m1.requests()), 1)  # no retry
                self.assertEqual(self.m2.requests(), [])      # no failover
                p1 = self.provider("p1")
                self.assertEqual(p1["circuit"], "closed")
                self.assertEqual(p1["consecutive_failures"], 0)
                self.assertEqual(p1["recent_failures"], 0)  # not against its error rate
                # The next good request: the first provider serves it.
                r = self.post()
                self.assertEqual(r.status, 200)
                self.assertEqual(r.json()["id"], "msg_p1")
                self.assertEqual(r.headers["x-zen-attempts"], "1")
                self.assertEqual(self.provider("p1")["status"], "healthy")
        m = json.loads(self.zenctl("-o", "json", "metrics").stdout)
        self.assertEqual(m["errors_by_provider"].get("p1", 0), 0)
        self.assertEqual(m["failovers_total"], 0)
        code, h = self.health()
        self.assertEqual((code, h["status"]), (0, "healthy"), h["reasons"])

    def test_translated_request_gets_the_401_in_its_own_format(self):
        """A Chat client on an Anthropic passthrough provider: the 401 comes
        back in OpenAI's error shape, still at once and without failover."""
        self.start_passthrough()
        self.m1.script({"status": 401, "body": BAD_KEY_BODY,
                        "headers": {"Content-Type": "application/json"}})
        self.m2.default(ok_step("p2"))
        r = self.post("/default/s1/v1/chat/completions", body=CHAT_BODY,
                      headers={"Authorization": "Bearer sk-typo"})
        self.assertEqual(r.status, 401, r.raw[-500:])
        doc = r.json()
        self.assertNotIn("type", doc)  # not Anthropic's envelope
        self.assertIn("invalid x-api-key", doc["error"]["message"])
        self.assertEqual(r.headers["x-zen-attempts"], "1")
        self.assertEqual(self.m2.requests(), [])
        self.assertEqual(self.provider("p1")["circuit"], "closed")

    def test_own_token_401_still_cools_and_fails_over(self):
        """A provider with its own token: its 401 is its own fault (auth
        cooldown, next provider), as before."""
        self.start()
        self.m1.script({"status": 401, "body": BAD_KEY_BODY})
        self.m2.default(ok_step("p2"))
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        p1 = self.provider("p1")
        self.assertEqual(p1["circuit"], "open")
        self.assertEqual(p1["last_error_type"], "auth")
        self.assertGreater(p1["cooldown_remaining_ms"], 60000)  # the long auth pair


class ProbesAndRetries(BlameHealthCase):
    def test_probe_answered_429_keeps_the_cooldown(self):
        """A cooling provider whose probe is answered 429 stays cooling; a
        probe answered 200 closes it early."""
        self.start(daemon={"probe_interval_ms": 150, "cooldown_initial_ms": 30000,
                           "cooldown_max_ms": 60000})
        self.m1.head({"status": 429, "headers": {"Retry-After": "1"}})
        self.m1.script({"status": 503, "body": "overloaded"})
        self.m1.default(ok_step("p1"))
        self.m2.default(ok_step("p2"))
        r = self.post()
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        wait_until(lambda: len([q for q in self.m1.requests(include_head=True)
                                if q["method"] == "HEAD"]) >= 3, what="three probes of p1")
        p1 = self.provider("p1")
        self.assertEqual(p1["circuit"], "open", p1)
        self.assertGreater(p1["cooldown_remaining_ms"], 20000)
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")  # still skipped
        # A real answer closes it long before its 30 s.
        self.m1.head({"status": 200})
        wait_until(lambda: self.provider("p1")["circuit"] == "closed", timeout=5,
                   what="a probe answered 200 to close p1's cooldown")
        self.assertEqual(self.post().headers["x-zen-provider"], "p1")

    def test_health_check_answered_429_fails(self):
        """The active checker counts a 429 as a failed check, shows it in
        last_error, and health names it."""
        self.start(health_check={"enabled": True, "interval_secs": 1, "timeout_secs": 1})
        self.m1.head({"status": 429})
        wait_until(lambda: self.provider("p1")["fail_count"] >= 1, what="a failed check of p1")
        p1 = self.provider("p1")
        self.assertEqual(p1["status"], "degraded")
        self.assertEqual(p1["last_error"], "health check: HEAD 429")
        self.assertEqual(p1["last_error_type"], "rate_limit")
        code, h = self.health()
        self.assertEqual(code, 1)
        self.assertIn("provider p1 degraded: last health check failed: HEAD 429", " | ".join(
            h["reasons"]))
        self.assert_no_vague_reason(h["reasons"])
        # A 404 to the unauthenticated HEAD is a passed check.
        self.m1.head({"status": 404})
        wait_until(lambda: self.provider("p1")["status"] == "healthy", timeout=5,
                   what="a passed check of p1")

    def test_same_provider_retries_double_the_cooldown_once(self):
        """Three attempts on one provider inside one request leave its
        cooldown at the initial length, not doubled twice."""
        self.start(daemon={"retry_same_provider": 2, "cooldown_initial_ms": 3000,
                           "cooldown_max_ms": 60000})
        self.m1.default({"status": 503, "body": "overloaded"})
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.status, 503)
        self.assertEqual(r.headers["x-zen-attempts"], "3")
        self.assertEqual(len(self.m1.requests()), 3)
        p1 = self.provider("p1")
        self.assertEqual(p1["consecutive_failures"], 3)
        self.assertGreater(p1["cooldown_remaining_ms"], 0)
        self.assertLessEqual(p1["cooldown_remaining_ms"], 3000)  # doubled twice: 12000
        # The next request doubles it once.
        r = self.post("/solo/s1/v1/messages")
        self.assertEqual(r.headers["x-zen-attempts"], "3")
        p1 = self.provider("p1")
        self.assertGreater(p1["cooldown_remaining_ms"], 3000)
        self.assertLessEqual(p1["cooldown_remaining_ms"], 6000)


class HealthExitCodes(BlameHealthCase):
    def disable(self, name):
        r = self.zenctl("provider", "disable", name)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_default_profile_all_disabled_is_unhealthy(self):
        self.start()
        self.assertEqual(self.health()[0], 0)
        self.disable("p1")
        code, h = self.health()
        self.assertEqual((code, h["status"]), (1, "degraded"), h["reasons"])
        self.assertIn("provider p1 disabled", h["reasons"])
        self.disable("p2")
        code, text = self.health_text()
        self.assertEqual(code, 2, text)
        self.assertTrue(text.startswith("zend unhealthy"), text)
        self.assertIn("profile default has no usable provider (p1 disabled, p2 disabled)", text)

    def test_unused_provider_never_changes_the_status(self):
        """A provider no profile uses: failing checks or disabled, zend stays
        healthy, and the reason says why it does not count."""
        dead = "http://127.0.0.1:%d" % closed_port()
        self.start(providers={"p1": {"base_url": self.m1.url, "auth_token": "sk-p1"},
                              "spare": {"base_url": dead, "auth_token": "sk-s"}},
                   profiles={"default": ["p1"]},
                   health_check={"enabled": True, "interval_secs": 1, "timeout_secs": 1})
        wait_until(lambda: self.provider("spare")["fail_count"] >= 1 and
                   self.provider("p1")["check_count"] >= 1, what="checks of both")
        spare = self.provider("spare")
        self.assertEqual(spare["status"], "degraded")
        self.assertTrue(spare["last_error"].startswith("health check: "), spare)
        self.assertEqual(spare["last_error_type"], "network")
        code, h = self.health()
        self.assertEqual((code, h["status"]), (0, "healthy"), h["reasons"])
        reason = [t for t in h["reasons"] if "spare" in t]
        self.assertEqual(len(reason), 1, h["reasons"])
        self.assertIn("last health check failed", reason[0])
        self.assertIn("no profile uses it", reason[0])
        self.disable("spare")
        self.assertEqual(self.health()[0], 0)

    def test_recently_used_profile_without_usable_provider(self):
        """A non-default profile matters once it has served traffic: its
        providers all disabled then makes zend unhealthy."""
        self.start(profiles={"default": ["p1"], "work": ["p2"]})
        self.disable("p2")
        code, h = self.health()
        self.assertEqual((code, h["status"]), (1, "degraded"), h["reasons"])  # nobody uses work
        r = self.post("/work/s1/v1/messages")
        self.assertEqual(r.status, 503)
        code, h = self.health()
        self.assertEqual((code, h["status"]), (2, "unhealthy"), h["reasons"])
        self.assertIn("profile work has no usable provider (p2 disabled); it served requests in "
                      "the last 10 min", h["reasons"])

    def test_reasons_name_the_provider_and_the_real_error(self):
        """Cooling: the reason carries the status, the provider's own error
        text and the numbers; both default providers cooling: unhealthy."""
        self.start(daemon={"retry_same_provider": 0})
        self.m1.default({"status": 503, "body": "down for maintenance\nback at 10:00"})
        self.m2.default(ok_step("p2"))
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")
        code, h = self.health()
        self.assertEqual((code, h["status"]), (1, "degraded"), h["reasons"])
        reason = [t for t in h["reasons"] if t.startswith("provider p1 ")]
        self.assertEqual(len(reason), 1, h["reasons"])
        self.assertRegex(reason[0], r"^provider p1 cooling down after server 503: down for "
                                    r"maintenance back at 10:00 \(\d+[ms]( \d+s)? left, 1 consecutive "
                                    r"failure\)$")
        self.assert_no_vague_reason(h["reasons"])
        self.m2.default({"status": 500, "body": "boom"})
        self.post()
        code, h = self.health()
        self.assertEqual((code, h["status"]), (2, "unhealthy"), h["reasons"])
        self.assertIn("profile default has no usable provider (p1 unhealthy, p2 unhealthy)",
                      h["reasons"])

    def test_long_multibyte_error_text_stays_listed(self):
        """An error body of multi-byte characters cut to fit last_error (or a
        reason) still makes valid JSON: the provider is listed, its text cut
        at a character boundary."""
        self.start(daemon={"retry_same_provider": 0})
        body = "\u00e9" * 400  # 800 bytes of UTF-8: any byte cut may split a character
        self.m1.default({"status": 503, "body": body})
        self.m2.default(ok_step("p2"))
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")
        p1 = self.provider("p1")
        self.assertTrue(p1["last_error"])
        self.assertEqual(set(p1["last_error"]), {"\u00e9"})
        code, h = self.health()
        self.assertEqual(code, 1)
        self.assertEqual([p["name"] for p in h["providers"]], ["p1", "p2"])
        reason = [t for t in h["reasons"] if t.startswith("provider p1 ")]
        self.assertEqual(len(reason), 1, h["reasons"])
        self.assertIn("server 503: \u00e9\u00e9", reason[0])
        self.assertIn("...", reason[0])

    def test_one_old_failure_does_not_degrade(self):
        """A provider that failed once and then served is healthy: a handful
        of attempts is no error rate (the time window itself is unit-tested
        in tests/unit/test_provider_state.c)."""
        self.start(daemon={"cooldown_initial_ms": 100, "cooldown_max_ms": 100,
                           "retry_same_provider": 0})
        self.m1.script({"status": 503, "body": "blip"})
        self.m1.default(ok_step("p1"))
        self.m2.default(ok_step("p2"))
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")
        wait_until(lambda: self.provider("p1")["circuit"] != "open", what="p1's cooldown to end")
        for _ in range(3):
            self.assertEqual(self.post().headers["x-zen-provider"], "p1")
        p1 = self.provider("p1")
        self.assertEqual((p1["recent_attempts"], p1["recent_failures"]), (4, 1))
        self.assertEqual(p1["status"], "healthy")
        code, h = self.health()
        self.assertEqual((code, h["status"]), (0, "healthy"), h["reasons"])

    def test_unreachable_is_3(self):
        self.start()
        self.stop_zend_cleanly(self.zend)
        self.zend = None
        code, text = self.health_text()
        self.assertEqual(code, 3, text)
        self.assertTrue(text.startswith("zend unknown"), text)


if __name__ == "__main__":
    unittest.main()
