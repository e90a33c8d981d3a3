"""Reloads while requests are in flight (hardening, item 1).

A reload swaps the config and brings provider state in line with it; the
requests already running keep the config and provider state they started
with. These tests reproduce the two use-after-free crashes an adversarial
pass found (a stalled request whose provider was reconfigured, then timed
out; an all-failed answer whose config had been released) and then run a
chaos load: stalls, failovers, 500s and streams while zen.json is rewritten
and reloaded every 200 ms with tokens, URLs and provider sets changing.
Passing means: the same worker serves from start to end (no fault, no
restart), every request got a whole answer, and zend exits 0 (under the
sanitizer build, exit 0 also means no memory error and no leak)."""
import json
import os
import random
import signal
import sys
import threading
import time
import unittest

from zenharness import ANTHROPIC_STREAM, Mock, ZenTestCase, http_request, wait_until

PLAIN_BODY = (b'{"model":"claude-sonnet-4-5","max_tokens":64,'
              b'"messages":[{"role":"user","content":"hi"}]}')
CHAOS_SECONDS = float(os.environ.get("ZEN_CHAOS_SECONDS", "8"))
RELOAD_EVERY_S = 0.2


class ReloadTestCase(ZenTestCase):
    def setUp(self):
        super().setUp()
        self.mocks = []
        self.zend = None

    def tearDown(self):
        try:
            if self.zend:
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            for m in self.mocks:
                m.stop()

    def mock(self, name, default):
        m = Mock(self.home, name)
        m.default(default)
        self.mocks.append(m)
        return m

    def write_atomically(self, cfg):
        tmp = self.path("zen.json.chaos-tmp")
        with open(tmp, "w") as f:
            json.dump(cfg, f)
        os.chmod(tmp, 0o600)
        os.rename(tmp, self.path("zen.json"))

    def start(self, cfg):
        self.write_config(cfg)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))
        self.worker = self.worker_pid()

    def post(self, path, timeout=20):
        return http_request(self.addr, "POST", path, PLAIN_BODY,
                            {"Content-Type": "application/json", "x-api-key": "client"},
                            timeout=timeout)

    def events(self, name):
        return [r for r in self.log_records() if r["event"] == name]

    def assert_same_worker_no_fault(self):
        self.assertEqual(self.worker_pid(), self.worker, "the worker was replaced")
        self.assertEqual(self.events("worker_fault"), [])
        self.assertEqual(self.events("daemon_crashed_restarting"), [])


class StalledAcrossReload(ReloadTestCase):
    """Requests stalled at p1 while a reload changes or removes p1."""

    def config(self, p1_token="sk-one", with_p1=True):
        providers = {"p2": {"base_url": self.ok.url, "auth_token": "sk-two"}}
        profiles = {"default": ["p2"], "solo": ["p2"]}
        if with_p1:
            providers["p1"] = {"base_url": self.stall.url, "auth_token": p1_token}
            profiles = {"default": ["p1", "p2"], "solo": ["p1"]}
        return {"providers": providers, "profiles": profiles,
                "daemon": {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 1500,
                           "retry_same_provider": 0}}

    def run_case(self, make_changed):
        """make_changed() builds the config the reload brings (after the mocks exist)."""
        self.stall = self.mock("stall", {"action": "stall"})
        self.ok = self.mock("ok", {"json": {"from": "p2"}})
        self.start(self.config())
        results = {}

        def send(key, path):
            try:
                results[key] = self.post(path)
            except Exception as e:  # recorded: the assertion below names it
                results[key] = e

        threads = [threading.Thread(target=send, args=("a", "/default/s1/v1/messages")),
                   threading.Thread(target=send, args=("b", "/default/s2/v1/messages")),
                   threading.Thread(target=send, args=("solo", "/solo/s3/v1/messages"))]
        for t in threads:
            t.start()
        wait_until(lambda: len(self.stall.requests()) == 3, what="three requests stalled at p1")
        self.write_atomically(make_changed())
        r = self.zenctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        for t in threads:
            t.join(30)
        for key in ("a", "b"):
            resp = results[key]
            self.assertNotIsInstance(resp, Exception, "%s: %r" % (key, resp))
            self.assertEqual(resp.status, 200, resp.raw[:400])
            self.assertEqual(resp.headers["x-zen-provider"], "p2")
            self.assertEqual(resp.json(), {"from": "p2"})
        solo = results["solo"]
        self.assertNotIsInstance(solo, Exception, repr(solo))
        # Timed out at p1, the only provider the request started with. The
        # header is read from the request's own config, which it still holds.
        self.assertEqual(solo.status, 504, solo.raw[:400])
        self.assertEqual(solo.headers["x-zen-provider"], "p1")
        self.assertEqual(solo.json()["attempts"][0]["provider"], "p1")
        self.assert_same_worker_no_fault()
        # The next requests use the new config.
        self.assertEqual(self.post("/default/s4/v1/messages").status, 200)

    def test_token_changed_while_stalled(self):
        self.run_case(lambda: self.config(p1_token="sk-rotated"))

    def test_provider_removed_while_stalled(self):
        self.run_case(lambda: self.config(with_p1=False))

    def test_stale_request_does_not_blame_new_provider(self):
        """A failure of the old p1 (old URL and token) is not the new p1's."""
        self.stall = self.mock("stall", {"action": "stall"})
        self.ok = self.mock("ok", {"json": {"from": "p2"}})
        self.start(self.config())
        out = {}
        t = threading.Thread(target=lambda: out.setdefault("r", self.post("/solo/s/v1/messages")))
        t.start()
        wait_until(lambda: len(self.stall.requests()) == 1, what="the request to stall")
        cfg = self.config(p1_token="sk-rotated")
        cfg["providers"]["p1"]["base_url"] = self.ok.url
        self.write_atomically(cfg)
        self.assertEqual(self.zenctl("reload").returncode, 0)
        t.join(30)
        self.assertEqual(out["r"].status, 504)
        health = json.loads(self.zenctl("-o", "json", "health").stdout)
        p1 = [p for p in health["providers"] if p["name"] == "p1"][0]
        self.assertEqual(p1["circuit"], "closed", p1)
        self.assertEqual(p1["consecutive_failures"], 0, p1)
        self.assert_same_worker_no_fault()


class Chaos(ReloadTestCase):
    """Sustained mixed traffic while the config changes every 200 ms."""

    BEHAVIOURS = ("ok", "stream", "stall", "fail", "slowstream")

    def test_reload_storm_under_load(self):
        stream_events = [{"data": e, "delay_ms": 20} for e in ANTHROPIC_STREAM]
        self.backends = {
            "ok": self.mock("ok", {"json": {"ok": True}}),
            "stream": self.mock("stream", {"sse": [{"data": e} for e in ANTHROPIC_STREAM]}),
            "stall": self.mock("stall", {"action": "stall"}),
            "fail": self.mock("fail", {"status": 500, "json": {"error": {"type": "api_error",
                                                                          "message": "boom"}}}),
            "slowstream": self.mock("slowstream", {"sse": stream_events}),
        }
        rng = random.Random(8)
        names_ever = set()

        def random_config(i):
            names = ["p%d" % k for k in range(1, 1 + rng.randint(2, 5))]
            providers = {}
            for n in names:
                backend = rng.choice(self.BEHAVIOURS)
                providers[n] = {"base_url": self.backends[backend].url,
                                "auth_token": "sk-%s-%d" % (n, rng.randint(0, 3))}
            names_ever.update(names)
            order = names[:]
            rng.shuffle(order)
            return {"providers": providers,
                    "profiles": {"default": order, "solo": [order[0]],
                                 "pair": order[-2:]},
                    "daemon": {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 400,
                               "idle_timeout_ms": 2000, "retry_same_provider": 1,
                               "cooldown_initial_ms": 300, "cooldown_max_ms": 600,
                               "probe_interval_ms": 200, "drain_timeout_ms": 5000},
                    "health_check": {"enabled": i % 2 == 0, "interval_secs": 1,
                                     "timeout_secs": 1}}

        self.start(random_config(0))
        stop = threading.Event()
        lock = threading.Lock()
        outcomes = {"answers": 0, "statuses": {}, "failures": []}

        def client(k):
            crng = random.Random(100 + k)
            while not stop.is_set():
                profile = crng.choice(("default", "solo", "pair"))
                path = "/%s/c%d/v1/messages" % (profile, k)
                try:
                    r = self.post(path, timeout=20)
                except Exception as e:
                    with lock:
                        outcomes["failures"].append("%s: no answer: %r" % (path, e))
                    continue
                problem = None
                if r.status == 200 and r.headers.get("content-type", "").startswith(
                        "text/event-stream"):
                    # A whole stream, or one that says it was cut.
                    if not (b"message_stop" in r.body or b"event: error" in r.body):
                        problem = "stream neither complete nor marked interrupted"
                prov = r.headers.get("x-zen-provider")
                if r.status in (200, 500, 502, 504) and prov not in names_ever:
                    problem = "x-zen-provider %r is not a configured provider" % prov
                with lock:
                    outcomes["answers"] += 1
                    outcomes["statuses"][r.status] = outcomes["statuses"].get(r.status, 0) + 1
                    if problem:
                        outcomes["failures"].append("%s: %d %s" % (path, r.status, problem))

        clients = [threading.Thread(target=client, args=(k,)) for k in range(10)]
        for t in clients:
            t.start()
        supervisor = self.zend.pid
        reloads = 0
        end = time.monotonic() + CHAOS_SECONDS
        try:
            while time.monotonic() < end:
                self.write_atomically(random_config(reloads + 1))
                os.kill(supervisor, signal.SIGHUP)  # forwarded to the worker
                reloads += 1
                time.sleep(RELOAD_EVERY_S)
        finally:
            stop.set()
            for t in clients:
                t.join(60)
        print("\nchaos: %d reloads in %.0f s, %d answers %s" % (
            reloads, CHAOS_SECONDS, outcomes["answers"], dict(sorted(outcomes["statuses"].items()))),
            file=sys.stderr)
        self.assertFalse([t for t in clients if t.is_alive()], "a client never got an answer")
        self.assertEqual(outcomes["failures"], [], outcomes["statuses"])
        self.assertGreater(outcomes["answers"], 20, outcomes)
        # Several reloads really happened, and traffic crossed them.
        wait_until(lambda: len(self.events("config_reloaded")) >= reloads // 2,
                   what="the reloads to be logged")
        for code in outcomes["statuses"]:
            self.assertIn(code, (200, 500, 502, 504), outcomes["statuses"])
        self.assert_same_worker_no_fault()


if __name__ == "__main__":
    unittest.main()
