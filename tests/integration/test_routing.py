"""Routing through the real zend (docs/routing.md): strategies, session
affinity, scenario routes with their models in both client formats,
fallback_to_default, the session memory, and bad routing config at start and
reload. Providers are paths of one mock (base_url http://mock/<name>), so one
mock process records which provider each request went to."""
import json
import os
import unittest

from zenharness import MockZenTestCase, http_request, wait_until

A_BODY = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 64,
          "messages": [{"role": "user", "content": "hi"}]}
C_BODY = {"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]}
PNG = "iVBORw0KGgo="


class RoutingCase(MockZenTestCase):
    def providers(self, *names, **extra):
        out = {n: {"base_url": "%s/%s" % (self.mock.url, n), "auth_token": "sk-" + n}
               for n in names}
        for n, kv in extra.items():
            out[n].update(kv)
        return out

    def start(self, providers, profiles, **daemon):
        d = {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 3000, "access_log": True}
        d.update(daemon)
        self.write_config({"providers": providers, "profiles": profiles, "daemon": d})
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def post(self, path, body, headers=None):
        h = {"Content-Type": "application/json", "x-api-key": "client-key"}
        h.update(headers or {})
        r = http_request(self.addr, "POST", path, json.dumps(body).encode(), h)
        return r

    def served_by(self, path, body=A_BODY):
        r = self.post(path, body)
        self.assertEqual(r.status, 200, r.body)
        return r.headers["x-zen-provider"]

    def last_upstream(self):
        """(provider, model) of the mock's last request: provider from the path."""
        req = self.mock.requests()[-1]
        return req["path"].split("/")[1], json.loads(req["body"]).get("model")


class Strategies(RoutingCase):
    def test_round_robin_spreads_sessions_and_keeps_turns(self):
        self.start(self.providers("a", "b", "c"),
                   {"rr": {"providers": ["a", "b", "c"], "strategy": "round-robin"}})
        counts = {}
        for i in range(30):
            p = self.served_by("/rr/s%d/v1/messages" % i)
            counts[p] = counts.get(p, 0) + 1
        self.assertEqual(counts, {"a": 10, "b": 10, "c": 10})
        # Three conversations of four turns, interleaved: each stays on one provider.
        seen = {"t1": set(), "t2": set(), "t3": set()}
        for turn in range(4):
            for s in seen:
                seen[s].add(self.served_by("/rr/%s/v1/messages" % s))
        self.assertTrue(all(len(v) == 1 for v in seen.values()), seen)
        self.assertEqual(sorted(next(iter(v)) for v in seen.values()), ["a", "b", "c"])
        # zenctl sessions shows each conversation's provider and turns.
        r = self.zenctl("-o", "json", "sessions")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = {s["session"]: s for s in json.loads(r.stdout)["sessions"]}
        self.assertEqual(len(rows), 33)
        for s, provs in seen.items():
            self.assertEqual(rows[s]["provider"], next(iter(provs)))
            self.assertEqual(rows[s]["requests"], 4)
            self.assertEqual(rows[s]["profile"], "rr")
        table = self.zenctl("sessions").stdout.splitlines()
        self.assertEqual(table[0].split()[:5], ["PROFILE", "SESSION", "REQUESTS", "SCENARIO",
                                                "PROVIDER"])
        self.assertEqual(len(table), 34)

    def test_round_robin_state_survives_a_restart(self):
        self.start(self.providers("a", "b", "c"),
                   {"rr": {"providers": ["a", "b", "c"], "strategy": "round-robin"}})
        self.assertEqual(self.served_by("/rr/x1/v1/messages"), "a")
        self.assertEqual(self.served_by("/rr/x2/v1/messages"), "b")
        self.stop_zend_cleanly(self.zend)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))
        self.assertEqual(self.served_by("/rr/x3/v1/messages"), "c")  # counter kept
        self.assertEqual(self.served_by("/rr/x1/v1/messages"), "a")  # affinity kept
        doc = json.loads(self.zenctl("-o", "json", "sessions").stdout)
        self.assertIn("x2", [s["session"] for s in doc["sessions"]])

    def test_weighted_three_to_one(self):
        self.start(self.providers("a", "b"),
                   {"w": {"providers": ["a", "b"], "strategy": "weighted",
                          "provider_weights": {"a": 3, "b": 1}}})
        counts = {}
        for i in range(40):
            p = self.served_by("/w/n%d/v1/messages" % i)
            counts[p] = counts.get(p, 0) + 1
        self.assertEqual(counts, {"a": 30, "b": 10})
        # The strategy's decisions, as zenctl metrics reports them.
        m = json.loads(self.zenctl("-o", "json", "metrics").stdout)
        self.assertEqual(m["picked_first"], {"a": 30, "b": 10})
        self.assertEqual((m["routed_total"], m["served_by_first_pick"]), (40, 40))
        prom = self.zenctl("-o", "prom", "metrics").stdout
        self.assertIn('zend_provider_picked_first_total{provider="a"} 30', prom)
        self.assertIn("zend_served_by_first_pick_total 40", prom)
        table = self.zenctl("metrics").stdout
        self.assertIn("40 routed, 40 served by the strategy's first pick", table)
        self.assertIn("40 attempts, 0 failovers\n", table)

    def test_least_latency_prefers_the_fast_provider(self):
        self.start(self.providers("slow", "fast"),
                   {"ll": {"providers": ["slow", "fast"], "strategy": "least-latency",
                           "session_affinity": False}})
        # The mock answers /slow/ 150 ms late: default steps cannot tell
        # paths apart, so each warm-up request gets its own step.
        slow = {"delay_headers_ms": 150}
        # Warm-up: five samples each, one provider switched off at a time.
        self.zenctl("provider", "disable", "fast")
        self.mock.script(*[slow] * 5)
        for i in range(5):
            self.assertEqual(self.served_by("/ll/w%d/v1/messages" % i), "slow")
        self.zenctl("provider", "enable", "fast")
        self.zenctl("provider", "disable", "slow")
        for i in range(5):
            self.assertEqual(self.served_by("/ll/f%d/v1/messages" % i), "fast")
        self.zenctl("provider", "enable", "slow")
        # slow is listed first; failover would pick it every time.
        for i in range(10):
            self.assertEqual(self.served_by("/ll/r%d/v1/messages" % i), "fast")
        doc = json.loads(self.zenctl("-o", "json", "providers").stdout)
        p = {x["name"]: x for x in doc["providers"]}
        self.assertEqual(p["slow"]["ttfb_samples"], 5)
        self.assertEqual(p["fast"]["ttfb_samples"], 15)
        self.assertGreater(p["slow"]["ttfb_ewma_ms"], 140)
        self.assertLess(p["fast"]["ttfb_ewma_ms"], p["slow"]["ttfb_ewma_ms"])
        self.assertIn("TTFB", self.zenctl("providers").stdout.splitlines()[0])


THINK_A = dict(A_BODY, thinking={"type": "enabled", "budget_tokens": 1024}, max_tokens=2048)
THINK_C = dict(C_BODY, reasoning_effort="high")
LONG_A = dict(A_BODY, messages=[{"role": "user", "content": "x" * 8000}])
LONG_C = dict(C_BODY, messages=[{"role": "user", "content": "x" * 8000}])
IMAGE_A = dict(A_BODY, messages=[{"role": "user", "content": [
    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
    {"type": "text", "text": "what is this?"}]}])
IMAGE_C = dict(C_BODY, messages=[{"role": "user", "content": [
    {"type": "image_url", "image_url": {"url": "data:image/png;base64," + PNG}},
    {"type": "text", "text": "what is this?"}]}])
OLD_IMAGE_A = dict(A_BODY, messages=IMAGE_A["messages"] + [
    {"role": "assistant", "content": "a logo"}, {"role": "user", "content": "thanks"}])
BACKGROUND_A = dict(A_BODY, model="claude-3-5-haiku-20241022")
BACKGROUND_C = dict(C_BODY, model="claude-haiku-4-5")
SEARCH_A = dict(A_BODY, tools=[{"type": "web_search_20250305", "name": "web_search"}])


class Scenarios(RoutingCase):
    def start_routes(self, **route_overrides):
        routes = {
            "think": {"providers": [{"name": "thinkp", "model": "think-model"}]},
            # an image counts 1,600 tokens: the threshold sits above one
            "long_context": {"providers": [{"name": "longp", "model": "long-model"}],
                             "long_context_threshold": 1800},
            "image": {"providers": [{"name": "imgp", "model": "img-model"}]},
            "background": {"providers": [{"name": "bgp", "model": "bg-model"}]},
            "web-search": {"providers": ["wsp"]},
        }
        routes.update(route_overrides)
        self.start(self.providers("base", "thinkp", "longp", "imgp", "bgp", "wsp"),
                   {"sc": {"providers": ["base"], "routing": routes}})

    def check(self, path, body, provider, model, scenario):
        r = self.post(path, body)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["x-zen-provider"], provider)
        self.assertEqual(r.headers["x-zen-scenario"], scenario)
        self.assertEqual(self.last_upstream(), (provider, model))

    def test_each_scenario_in_both_client_formats(self):
        self.start_routes()
        a, c = "/sc/s1/v1/messages", "/sc/s1/v1/chat/completions"
        self.check(a, THINK_A, "thinkp", "think-model", "think")
        self.check(c, THINK_C, "thinkp", "think-model", "think")  # translated to Anthropic
        self.check(a, LONG_A, "longp", "long-model", "longContext")
        self.check("/sc/s2/v1/chat/completions", LONG_C, "longp", "long-model", "longContext")
        self.check(a, IMAGE_A, "imgp", "img-model", "image")
        self.check(c, IMAGE_C, "imgp", "img-model", "image")
        self.check(a, BACKGROUND_A, "bgp", "bg-model", "background")
        self.check(c, BACKGROUND_C, "bgp", "bg-model", "background")
        self.check(a, SEARCH_A, "wsp", A_BODY["model"], "webSearch")  # no model override
        # An image in an earlier turn only: not the image route.
        self.check("/sc/s3/v1/messages", OLD_IMAGE_A, "base", A_BODY["model"], "code")
        self.check("/sc/s3/v1/messages", A_BODY, "base", A_BODY["model"], "code")
        # The scenario is in the record and in the metrics.
        wait_until(lambda: any(r.get("scenario") == "background" for r in self.log_records()
                               if r["event"] == "request_completed"),
                   what="request_completed with a scenario")
        done = [r for r in self.log_records() if r["event"] == "request_completed"]
        self.assertEqual([r["scenario"] for r in done][:2], ["think", "think"])
        m = json.loads(self.zenctl("-o", "json", "metrics").stdout)["requests_by_scenario"]
        self.assertEqual(m, {"webSearch": 1, "think": 2, "image": 2, "longContext": 2,
                             "code": 2, "background": 2, "default": 0})

    def test_long_context_threshold_and_reset(self):
        self.start_routes()
        self.check("/sc/lc/v1/messages", LONG_A, "longp", "long-model", "longContext")
        # 8,000 chars is ~2,000 tokens: above 1,800 but not above 5,000, so the
        # next short turn is not sticky; a long session above 5,000 would be.
        self.check("/sc/lc/v1/messages", A_BODY, "base", A_BODY["model"], "code")

    def test_sticky_long_context_and_session_tokens(self):
        self.start(self.providers("base", "longp"),
                   {"st": {"providers": ["base"], "routing": {"longContext": {
                       "providers": ["longp"], "long_context_threshold": 10000}}}})
        a = "/st/s1/v1/messages"
        big = dict(A_BODY, messages=[{"role": "user", "content": "x" * 45000}])
        mid = dict(A_BODY, messages=[{"role": "user", "content": "x" * 24000}])
        # A passthrough answer's usage is what the memory keeps (input + cache read + cache
        # write): the mock reports a long turn, a mid one, and another mid one for s2.
        def usage(i, cr, cw):
            return {"reply": {"usage": {"input": i, "output": 5, "cache_read": cr,
                                        "cache_write": cw}}}
        self.mock.script(usage(11000, 250, None), usage(6012, None, None), usage(5000, 1000, 12))
        self.assertEqual(self.served_by(a, big), "longp")    # 11,250 tokens >= 10,000
        self.assertEqual(self.served_by(a, mid), "longp")    # ~6,000: sticky (> 5,000)
        self.assertEqual(self.served_by("/st/s2/v1/messages", mid), "base")  # no memory
        self.assertEqual(self.served_by(a, A_BODY), "base")  # shrank below a fifth: reset
        self.assertEqual(self.served_by(a, mid), "base")     # memory cleared
        # So is a translated answer's (the mock's default says 1 and 1).
        r = self.post("/st/u1/v1/chat/completions", C_BODY)
        self.assertEqual(r.status, 200, r.body)
        # count_tokens is no turn: it leaves the turn's tokens alone.
        self.mock.script({"json": {"input_tokens": 777}})
        r = self.post("/st/u1/v1/messages/count_tokens", A_BODY)
        self.assertEqual(r.status, 200, r.body)
        rows = {x["session"]: x for x in
                json.loads(self.zenctl("-o", "json", "sessions").stdout)["sessions"]}
        self.assertEqual((rows["u1"]["input_tokens"], rows["u1"]["output_tokens"]), (1, 1))
        self.assertEqual((rows["s2"]["input_tokens"], rows["s2"]["output_tokens"]),
                         (5000 + 1000 + 12, 5))
        self.assertEqual(rows["u1"]["requests"], 2)
        self.assertEqual(rows["s1"]["requests"], 4)
        self.assertEqual(rows["s1"]["scenario"], "code")

    def test_fallback_to_default_on_and_off(self):
        self.start_routes(think={"providers": [{"name": "thinkp", "model": "think-model"}]},
                          background={"providers": [{"name": "bgp", "model": "bg-model"}],
                                      "fallback_to_default": False})
        # think's provider fails: the profile's provider answers.
        self.mock.script({"status": 500, "json": {"type": "error",
                                                  "error": {"type": "api_error"}}})
        r = self.post("/sc/f1/v1/messages", THINK_A)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["x-zen-provider"], "base")
        self.assertEqual(r.headers["x-zen-attempts"], "2")
        reqs = self.mock.requests()
        self.assertEqual([q["path"].split("/")[1] for q in reqs[-2:]], ["thinkp", "base"])
        # The profile's provider gets the request's own model, not the route's.
        self.assertEqual(json.loads(reqs[-1]["body"])["model"], THINK_A["model"])
        # The route's pick went first but did not serve.
        m = json.loads(self.zenctl("-o", "json", "metrics").stdout)
        self.assertEqual(m["picked_first"]["thinkp"], 1)
        self.assertEqual(m["served_by_first_pick"], m["routed_total"] - 1)
        # fallback_to_default false: the route's failure is the answer (after
        # the one same-provider retry of retry_same_provider).
        self.mock.script({"status": 500, "json": {"type": "error",
                                                  "error": {"type": "api_error"}},
                          "repeat": 2})
        before = len(self.mock.requests())
        r = self.post("/sc/f2/v1/messages", BACKGROUND_A)
        self.assertGreaterEqual(r.status, 500, r.body)
        after = self.mock.requests()[before:]
        self.assertTrue(after and all(q["path"].startswith("/bgp/") for q in after), after)


class BadConfig(RoutingCase):
    BAD = [
        ({"strategy": "random"}, 'profiles.p.strategy: unknown strategy "random"'),
        ({"routing": {"vision": {"providers": ["a"]}}},
         'profiles.p.routing.vision: unknown scenario "vision"'),
        ({"routing": {"think": {"providers": ["ghost"]}}},
         'profiles.p.routing.think.providers[0]: unknown provider "ghost"'),
        ({"provider_weights": {"a": -1}}, "profiles.p.provider_weights.a: must be between 0"),
        ({"long_context_threshold": -1}, "profiles.p.long_context_threshold: must be between 0"),
    ]

    def config(self, extra):
        prof = {"providers": ["a"]}
        prof.update(extra)
        return {"providers": self.providers("a"), "profiles": {"p": prof},
                "daemon": {"listen": "127.0.0.1:0"}}

    def test_check_config_names_the_path(self):
        for extra, want in self.BAD:
            self.write_config(self.config(extra))
            r = self.run_zend("--check-config")
            self.assertEqual(r.returncode, 78, (extra, r.stdout, r.stderr))
            self.assertIn(want, r.stderr)

    def test_reload_names_the_path_and_keeps_the_old_config(self):
        good = self.config({"strategy": "round-robin"})
        good["providers"].update(self.providers("b"))
        good["profiles"]["p"]["providers"] = ["a", "b"]
        self.write_config(good)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))
        self.assertEqual(self.served_by("/p/r1/v1/messages"), "a")
        for extra, want in self.BAD:
            self.write_config(self.config(extra))
            r = self.zenctl("reload")
            self.assertNotEqual(r.returncode, 0, extra)
            self.assertIn(want, r.stdout + r.stderr)
        # Still round-robin over a and b: the old config is in force.
        self.assertEqual(self.served_by("/p/r2/v1/messages"), "b")
        self.assertEqual(self.served_by("/p/r3/v1/messages"), "a")


if __name__ == "__main__":
    unittest.main()
