"""Migrating from GoZen (docs/config.md "Coming from GoZen"): zend starts on
every config GoZen starts on, says what it will not use, and answers a
request for a profile it cannot serve with 503 profile_empty. Every test
uses its own ZEN_HOME, ephemeral ports and mock processes."""
import json
import os
import unittest

from zenharness import MockZenTestCase, ZenTestCase, http_request, wait_until

ANTHROPIC_BODY = b'{"model":"claude-sonnet-4-5","max_tokens":16,"messages":[{"role":"user","content":"hi"}]}'
CHAT_BODY = b'{"model":"gpt-4o","messages":[{"role":"user","content":"hi"}]}'


class Migration(MockZenTestCase):
    MOCK_NAME = "p1"

    def start(self, cfg):
        self.write_config(cfg)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def post(self, path, body=ANTHROPIC_BODY):
        return http_request(self.addr, "POST", path, body,
                            {"Content-Type": "application/json", "x-api-key": "client-key"})

    def warnings(self):
        return [(r["path"], r["message"]) for r in self.log_records()
                if r["event"] == "config_warning"]

    def test_gozen_empty_default_profile_serves_and_answers_profile_empty(self):
        # What GoZen's own end-to-end tests write: no provider, an empty default.
        self.start({"version": 15, "providers": {}, "profiles": {"default": {"providers": []}},
                    "daemon": {"listen": "127.0.0.1:0"}})
        self.assertIn(("profiles.default.providers",
                       'names no provider: requests for profile "default" get 503 profile_empty'),
                      self.warnings())
        w = [r for r in self.log_records() if r["event"] == "config_warning"]
        self.assertEqual(w[0]["level"], "warn")
        r = self.post("/v1/messages")
        self.assertEqual(r.status, 503, r.body)
        err = r.json()
        self.assertEqual(err["type"], "error")
        self.assertEqual(err["error"]["type"], "profile_empty")
        self.assertIn('profile "default" names no provider', err["error"]["message"])
        # An OpenAI client gets the refusal in its own format.
        r = self.post("/v1/chat/completions", CHAT_BODY)
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.json()["error"]["type"], "profile_empty")
        self.assertEqual(r.json()["error"]["code"], "profile_empty")
        self.assertEqual(self.mock.requests(), [])

    def test_unknown_provider_in_a_profile_is_dropped_with_a_warning(self):
        self.start({"providers": {"p1": {"base_url": self.mock.url, "auth_token": "sk-p1"}},
                    "profiles": {"default": ["ghost", "p1"], "stale": {"providers": ["gone"]}},
                    "daemon": {"listen": "127.0.0.1:0"}})
        warnings = self.warnings()
        self.assertIn(("profiles.default[0]", 'unknown provider "ghost" (dropped from the profile)'),
                      warnings)
        self.assertIn(("profiles.stale.providers[0]",
                       'unknown provider "gone" (dropped from the profile)'), warnings)
        r = self.post("/default/s1/v1/messages")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["x-zen-provider"], "p1")
        self.assertEqual(len(self.mock.requests()), 1)
        r = self.post("/stale/s1/v1/messages")
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.json()["error"]["type"], "profile_empty")
        self.assertEqual(len(self.mock.requests()), 1)

    def test_reload_to_a_config_with_warnings_works(self):
        cfg = {"providers": {"p1": {"base_url": self.mock.url, "auth_token": "sk-p1"}},
               "profiles": {"default": ["p1"]}, "daemon": {"listen": "127.0.0.1:0"}}
        self.start(cfg)
        self.assertEqual(self.warnings(), [])
        cfg["profiles"]["default"] = ["p1", "ghost"]
        cfg["profiles"]["empty"] = []
        self.write_config(cfg)
        r = self.zenctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: len(self.warnings()) == 2, what="the reload's warnings")
        self.assertEqual(self.warnings(), [
            ("profiles.default[1]", 'unknown provider "ghost" (dropped from the profile)'),
            ("profiles.empty", 'names no provider: requests for profile "empty" get 503 '
                               "profile_empty")])
        self.assertEqual(self.post("/default/s1/v1/messages").status, 200)
        r = self.post("/empty/s1/v1/messages")
        self.assertEqual(r.status, 503, r.body)
        self.assertEqual(r.json()["error"]["type"], "profile_empty")

    def test_running_daemon_logs_ignored_keys_once_at_info(self):
        self.start({"web_port": 19840, "bot": {"enabled": False},
                    "providers": {"p1": {"base_url": self.mock.url, "icon": "x.png"}},
                    "profiles": {"default": {"providers": ["p1"], "color": "red"}},
                    "daemon": {"listen": "127.0.0.1:0"}})
        notes = [r for r in self.log_records() if r["event"] == "config_ignored_keys"]
        self.assertEqual(len(notes), 1)
        self.assertEqual(notes[0]["level"], "info")
        self.assertEqual(notes[0]["keys"], ["web_port", "bot", "providers.p1.icon",
                                            "profiles.default.color"])


class CheckConfig(ZenTestCase):
    def test_check_config_prints_every_note_and_warning_and_exits_0(self):
        cfg = {
            "version": 15,
            "web_port": 19840,
            "sync": {"gist": {"token": "x"}},
            "providers": {
                "p1": {"base_url": "http://127.0.0.1:9", "auth_token": "sk-literal",
                       "icon": "p1.png", "avatar": 3},
                "p2": {"base_url": "http://127.0.0.1:9", "auth_token": "env:ZEN_TEST_UNSET_TOKEN"},
            },
            "profiles": {"default": {"providers": []}, "work": ["p1", "ghost", "p2"]},
            "health_check": {"enabled": False, "model": "m"},
        }
        path = self.write_config(cfg, mode=0o640)  # a literal token, group-readable
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, "")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[:-1], [
            "note: web_port: ignored (a GoZen key zend does not use)",
            "note: sync: ignored (a GoZen key zend does not use)",
            "note: providers.p1.icon: ignored (a GoZen key zend does not use)",
            "note: providers.p1.avatar: ignored (a GoZen key zend does not use)",
            "note: health_check.model: ignored (a GoZen key zend does not use)",
            "warning: provider_token_missing: provider=p2 variable=ZEN_TEST_UNSET_TOKEN "
            "fallback=passthrough",
            'warning: profiles.default.providers: names no provider: requests for profile '
            '"default" get 503 profile_empty',
            'warning: profiles.work[1]: unknown provider "ghost" (dropped from the profile)',
            "warning: config_permissions: path=%s mode=0640 fix=chmod 600 the file: it holds "
            "a literal secret" % path,
        ])
        self.assertRegex(lines[-1], r"^%s: ok \(2 providers, 2 profiles, hash [0-9a-f]{16}\)$"
                         % path)
        # The same config mode 0600 and without the GoZen leftovers: only "ok".
        self.write_config({"providers": cfg["providers"] | {"p1": {"base_url": "http://x"}},
                           "profiles": {"default": ["p1"]}})
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stdout.splitlines()), 2, r.stdout)  # the unset env token, ok
        # What zend cannot run with is still exit 78.
        self.write_config({"providers": {"p1": {"base_url": "ftp://x"}}})
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78)
        self.assertIn("providers.p1.base_url: not an http(s) URL", r.stderr)


class AlreadyRunning(ZenTestCase):
    def test_second_start_says_so_once(self):
        self.write_config({"providers": {"p1": {"base_url": "http://127.0.0.1:9"}},
                           "profiles": {"default": ["p1"]},
                           "daemon": {"listen": "127.0.0.1:0"}})
        p = self.start_zend()
        want = "zend: zend is already running (pid %d)" % p.pid
        for args in ((), ("--daemonize",)):
            r = self.run_zend(*args)
            self.assertEqual(r.returncode, 1, args)
            self.assertEqual(r.stderr.splitlines(), [want], args)
            self.assertEqual(r.stderr.count("zend:"), 1)
        self.assertIsNone(p.poll())
        self.stop_zend_cleanly(p)


if __name__ == "__main__":
    unittest.main()
