"""Runtime state survives a worker crash and a restart of zend
(docs/operations.md, "What survives a restart"): ZEN_HOME/state.json.

The real zend (with its supervisor) against mock providers: a provider
disabled with `zenctl provider disable` stays disabled -- until its expiry --
after `kill -9` of the worker and after a graceful stop and start; a cooling
provider stays cooling (the next request skips it); a state.json with garbage
is logged and ignored, and zend serves; entries for a provider removed from
zen.json, or whose token changed, are dropped; the file is 0600 and holds no
token. Waits poll with deadlines; the one-second debounce is waited for by
reading the file."""
import json
import os
import signal
import stat
import time
import unittest

from zenharness import Mock, ZenTestCase, http_request, wait_until

BODY = (b'{"model":"claude-sonnet-4-5","max_tokens":64,'
        b'"messages":[{"role":"user","content":"hi"}]}')
DOWN = {"status": 503, "body": "down"}


class StateTestCase(ZenTestCase):
    """Three mock providers, profile `default` = [p1, p2, p3]."""

    def setUp(self):
        super().setUp()
        self.mocks = {n: Mock(self.home, n) for n in ("p1", "p2", "p3")}
        for n, m in self.mocks.items():
            m.default({"json": {"from": n}})
        self.zend = None

    def tearDown(self):
        try:
            if self.zend and self.zend.poll() is None:
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            for m in self.mocks.values():
                m.stop()

    def config(self, names=("p1", "p2", "p3"), tokens=None):
        tokens = tokens or {}
        return {"providers": {n: {"base_url": self.mocks[n].url,
                                  "auth_token": tokens.get(n, "sk-secret-" + n)}
                              for n in names},
                "profiles": {"default": list(names)},
                "daemon": {"listen": "127.0.0.1:0", "probe_interval_ms": 500,
                           "cooldown_initial_ms": 60000, "restart_backoff_initial_ms": 200}}

    def start(self, cfg=None):
        self.write_config(cfg or self.config())
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def post(self, session="s1"):
        return http_request(self.addr, "POST", "/default/%s/v1/messages" % session, BODY,
                            {"Content-Type": "application/json", "x-api-key": "k"})

    def providers(self):
        r = self.zenctl("-o", "json", "providers")
        self.assertEqual(r.returncode, 0, r.stderr)
        return {p["name"]: p for p in json.loads(r.stdout)["providers"]}

    def state_doc(self):
        try:
            with open(self.path("state.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    def wait_state(self, cond, what):
        """The state file once cond(doc) holds (it is written within a
        second of a change)."""
        return wait_until(lambda: (lambda d: d if d and cond(d) else None)(self.state_doc()),
                          what=what)

    def events(self, name):
        return [r for r in self.log_records() if r.get("event") == name]

    def kill_worker(self):
        """kill -9 of the worker; returns once the supervisor's new worker
        answers."""
        old = self.worker_pid()
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: self.zenctl("-o", "json", "status").returncode == 0
                   and self.worker_pid() != old, what="a new worker")
        self.assertIsNone(self.zend.poll(), "the supervisor exited")

    def wait_enabled(self, name, t0, for_s):
        """Polls until `name` is no longer disabled; asserts that was not
        before its expiry (t0 is taken before the disable was asked for)."""
        wait_until(lambda: not self.providers()[name]["disabled"], timeout=for_s + 10,
                   interval=0.05, what="%s's disable to expire" % name)
        self.assertGreaterEqual(time.monotonic() - t0, for_s - 0.1)


class WorkerCrash(StateTestCase):
    def test_kill9_keeps_disable_cooldown_and_expiry(self):
        self.start()
        t0 = time.monotonic()
        r = self.zenctl("provider", "disable", "p1", "--for", "6")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.mocks["p2"].default(DOWN)  # fails once, then its probes fail too
        r = self.post()
        self.assertEqual(r.status, 200, r.raw[-300:])
        self.assertEqual(r.headers["x-zen-provider"], "p3")
        doc = self.wait_state(lambda d: "p1" in d["providers"] and
                              "cooldown" in d["providers"].get("p2", {}),
                              "p1's disable and p2's cooldown in state.json")
        self.assertEqual(doc["version"], 1)
        self.assertGreater(doc["providers"]["p1"]["disabled_until"], 0)
        self.assertEqual(doc["providers"]["p2"]["last_error"]["status"], 503)
        # Private, and no secret in it.
        st = os.lstat(self.path("state.json"))
        self.assertTrue(stat.S_ISREG(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)
        with open(self.path("state.json")) as f:
            text = f.read()
        self.assertNotIn("sk-secret", text)
        self.assertNotIn(self.mocks["p1"].url, text)

        self.kill_worker()
        self.assertLess(time.monotonic() - t0, 5.0, "too slow to test the expiry")
        ps = self.providers()
        self.assertTrue(ps["p1"]["disabled"])
        self.assertEqual(ps["p1"]["status"], "disabled")
        self.assertEqual(ps["p2"]["circuit"], "open")
        self.assertGreater(ps["p2"]["cooldown_remaining_ms"], 50000)
        self.assertEqual(ps["p2"]["consecutive_failures"], 1)
        self.assertEqual(ps["p2"]["last_error_type"], "server")
        loaded = self.events("state_loaded")
        self.assertTrue(loaded)
        # p1 (disable), p2 (cooldown) and p3 (the TTFB EWMA of the attempt it served)
        self.assertEqual(loaded[-1]["providers"], 3)
        # The next request skips both: neither mock sees a POST.
        for m in self.mocks.values():
            m.reset()
        r = self.post("s2")
        self.assertEqual(r.status, 200, r.raw[-300:])
        self.assertEqual(r.headers["x-zen-provider"], "p3")
        self.assertEqual(self.mocks["p1"].requests(), [])
        self.assertEqual(self.mocks["p2"].requests(), [])
        # p2's cooldown is still probed in the new worker (HEAD, no POST).
        wait_until(lambda: self.mocks["p2"].requests(include_head=True), what="a probe of p2")
        # The disable ends when it was due, not when the new worker began.
        self.wait_enabled("p1", t0, 6.0)
        r = self.post("s3")
        self.assertEqual(r.headers["x-zen-provider"], "p1")

    def test_kill9_keeps_enable_after_disable(self):
        """An enable is kept too: a crash does not bring back an older
        disable."""
        self.start()
        self.zenctl("provider", "disable", "p1")
        self.wait_state(lambda d: "p1" in d["providers"], "p1 in state.json")
        self.zenctl("provider", "enable", "p1")
        self.wait_state(lambda d: "p1" not in d["providers"], "p1 gone from state.json")
        self.kill_worker()
        self.assertFalse(self.providers()["p1"]["disabled"])
        self.assertEqual(self.post().headers["x-zen-provider"], "p1")


class ZendRestart(StateTestCase):
    def test_graceful_restart_keeps_timed_disable_until_expiry(self):
        self.start()
        t0 = time.monotonic()
        r = self.zenctl("provider", "disable", "p1", "--for", "5")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.stop_zend_cleanly(self.zend)
        doc = self.state_doc()  # the shutdown's write at the latest
        self.assertIsNotNone(doc)
        wall = doc["providers"]["p1"]["disabled_until"]
        self.assertAlmostEqual(wall / 1000.0, time.time() + 5 - (time.monotonic() - t0),
                               delta=1.0)
        self.start()
        self.assertLess(time.monotonic() - t0, 4.5, "too slow to test the expiry")
        self.assertTrue(self.providers()["p1"]["disabled"])
        r = self.post()
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.wait_enabled("p1", t0, 5.0)
        self.assertEqual(self.post("s2").headers["x-zen-provider"], "p1")

    def test_disable_without_expiry_survives_restart(self):
        self.start()
        self.zenctl("provider", "disable", "p2")
        self.stop_zend_cleanly(self.zend)
        self.start()
        self.assertTrue(self.providers()["p2"]["disabled"])
        self.assertFalse(self.providers()["p1"]["disabled"])


class BadOrStaleFile(StateTestCase):
    def test_garbage_file_logged_ignored_not_deleted(self):
        garbage = "{\"version\": 1, \"providers\": {\x00 not json"
        with open(self.path("state.json"), "w") as f:
            f.write(garbage)
        os.chmod(self.path("state.json"), 0o600)
        self.start()
        failed = self.events("state_load_failed")
        self.assertEqual(len(failed), 1, failed)
        self.assertEqual(failed[0]["level"], "warn")
        self.assertRegex(failed[0]["reason"], r"line \d+ column \d+")
        with open(self.path("state.json")) as f:
            self.assertEqual(f.read(), garbage)  # the loader leaves it alone
        r = self.post()
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        # The next change replaces it with a good one.
        self.zenctl("provider", "disable", "p3")
        self.wait_state(lambda d: "p3" in d["providers"], "a fresh state.json")

    def test_wrong_version_ignored(self):
        with open(self.path("state.json"), "w") as f:
            json.dump({"version": 99, "providers": {"p1": {"disabled": True}}}, f)
        self.start()
        self.assertFalse(self.providers()["p1"]["disabled"])
        self.assertIn("version", self.events("state_load_failed")[0]["reason"])

    def test_removed_or_changed_provider_dropped(self):
        self.start()
        for n in ("p1", "p2", "p3"):
            self.zenctl("provider", "disable", n)
        self.stop_zend_cleanly(self.zend)
        # p3 removed; p2 given another token; p1 unchanged.
        self.start(self.config(names=("p1", "p2"), tokens={"p2": "sk-rotated"}))
        ps = self.providers()
        self.assertEqual(set(ps), {"p1", "p2"})
        self.assertTrue(ps["p1"]["disabled"])
        self.assertFalse(ps["p2"]["disabled"])
        dropped = {r["provider"]: r["reason"] for r in self.events("state_entry_dropped")}
        self.assertEqual(dropped, {"p2": "identity_changed", "p3": "not_configured"})
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")


if __name__ == "__main__":
    unittest.main()
