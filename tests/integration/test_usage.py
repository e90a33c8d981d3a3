"""The usage ledger end to end (docs/usage.md): tokens of every format into
usage.db, `zenctl usage` sums equal to what the mock reported, one row for a
failover, cost and budget spend after a restart, a budget that blocks and
lets requests through again when its period ends, a downgrade, Prometheus
counters, and 5,000 requests all present after a graceful shutdown.

Providers are paths of one mock (base_url http://mock/<name>); every answer
is scripted here with exact usage numbers, so the test knows what the
provider reported."""
import http.client
import json
import os
import sqlite3
import time
import unittest

from zenharness import MockZenTestCase, http_request, wait_until

A_BODY = {"model": "claude-sonnet-4-5-20250929", "max_tokens": 64,
          "messages": [{"role": "user", "content": "hi"}]}
C_BODY = {"model": "gpt-4.1", "messages": [{"role": "user", "content": "hi"}]}

# Prices of the test's own models (USD per million tokens).
PRICING = {"claude-sonnet-4-5": {"input_per_million": 3.0, "output_per_million": 15.0,
                                 "cache_read_per_million": 0.3,
                                 "cache_write_per_million": 3.75},
           "gpt-4.1": {"input_per_million": 2.0, "output_per_million": 8.0}}


def a_json(inp, out, cr=0, cw=0, text="hello"):
    return {"json": {"id": "msg_1", "type": "message", "role": "assistant",
                     "model": "claude-sonnet-4-5-20250929",
                     "content": [{"type": "text", "text": text}],
                     "stop_reason": "end_turn", "stop_sequence": None,
                     "usage": {"input_tokens": inp, "output_tokens": out,
                               "cache_read_input_tokens": cr,
                               "cache_creation_input_tokens": cw}}}


def a_stream(inp, out, cr=0, cw=0):
    ev = [
        ("message_start", {"type": "message_start", "message": {
            "id": "msg_1", "type": "message", "role": "assistant", "content": [],
            "model": "claude-sonnet-4-5-20250929", "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": inp, "output_tokens": 1, "cache_read_input_tokens": cr,
                      "cache_creation_input_tokens": cw}}}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                 "delta": {"type": "text_delta", "text": "hi"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn",
                                                              "stop_sequence": None},
                           "usage": {"output_tokens": out}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return {"sse": ["event: %s\ndata: %s\n\n" % (n, json.dumps(d)) for n, d in ev]}


def c_chunk(**kw):
    d = {"id": "c1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4.1"}
    d.update(kw)
    return "data: %s\n\n" % json.dumps(d)


def c_stream(prompt, completion, cached=None, usage_chunk=True):
    ev = [c_chunk(choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                            "finish_reason": None}]),
          c_chunk(choices=[{"index": 0, "delta": {"content": "hi"}, "finish_reason": None}]),
          c_chunk(choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])]
    if usage_chunk:
        u = {"prompt_tokens": prompt, "completion_tokens": completion,
             "total_tokens": prompt + completion}
        if cached is not None:
            u["prompt_tokens_details"] = {"cached_tokens": cached}
        ev.append(c_chunk(choices=[], usage=u))
    ev.append("data: [DONE]\n\n")
    return {"sse": ev}


def c_json(prompt, completion, cached=None):
    u = {"prompt_tokens": prompt, "completion_tokens": completion,
         "total_tokens": prompt + completion}
    if cached is not None:
        u["prompt_tokens_details"] = {"cached_tokens": cached}
    return {"json": {"id": "c1", "object": "chat.completion", "created": 1, "model": "gpt-4.1",
                     "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                                  "finish_reason": "stop"}], "usage": u}}


def cost(inp, out, cr, cw, price):
    p = PRICING[price]
    return (inp * p["input_per_million"] + out * p["output_per_million"]
            + cr * p.get("cache_read_per_million", p["input_per_million"] * 0.1)
            + cw * p.get("cache_write_per_million", p["input_per_million"] * 1.25)) / 1e6


class UsageCase(MockZenTestCase):
    def config(self, profiles=None, budgets=None, **daemon):
        providers = {
            "a1": {"base_url": "%s/a1" % self.mock.url, "auth_token": "sk-a1"},
            "a2": {"base_url": "%s/a2" % self.mock.url, "auth_token": "sk-a2"},
            "c1": {"base_url": "%s/c1/v1" % self.mock.url, "auth_token": "sk-c1",
                   "type": "openai", "openai_api": "chat"},
        }
        d = {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 3000, "retry_same_provider": 0}
        d.update(daemon)
        cfg = {"providers": providers,
               "profiles": profiles or {"default": ["a1"], "fo": ["a1", "a2"], "oa": ["c1"]},
               "pricing": PRICING, "daemon": d}
        if budgets:
            cfg["budgets"] = budgets
        return cfg

    def start(self, cfg=None, env=None, **kw):
        self.write_config(cfg or self.config(**kw))
        self.zend = self.start_zend(env=env)
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def post(self, path, body, headers=None):
        h = {"Content-Type": "application/json", "x-api-key": "client-key"}
        h.update(headers or {})
        return http_request(self.addr, "POST", path, json.dumps(body).encode(), h)

    def usage(self, *args):
        r = self.zenctl("usage", "-o", "json", *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return json.loads(r.stdout)

    def shutdown(self):
        self.stop_zend_cleanly(self.zend)
        self.zend = None

    def rows(self):
        db = sqlite3.connect("file:%s?mode=ro" % self.path("usage.db"), uri=True)
        db.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in db.execute("SELECT * FROM usage ORDER BY ts, rowid")]
        finally:
            db.close()


class Tokens(UsageCase):
    def test_every_format_lands_in_the_ledger_with_the_mock_counts(self):
        self.start()
        self.mock.script(
            a_json(100, 20, 30, 40),                  # Anthropic JSON
            a_stream(200, 25, 5, 0),                  # Anthropic stream
            c_stream(300, 30, cached=100),            # Chat stream, usage chunk (translated)
            c_stream(50, 7, usage_chunk=False),       # Chat stream, no usage chunk
            c_json(400, 40),                          # Chat JSON (translated)
            {"status": 529, "json": {"type": "error", "error": {"type": "overloaded_error",
                                                                 "message": "busy"}}},
            a_json(10, 2))                            # the failover's second provider
        self.assertEqual(self.post("/default/s1/v1/messages", A_BODY).status, 200)
        r = self.post("/default/s1/v1/messages", dict(A_BODY, stream=True))
        self.assertEqual(r.status, 200)
        # An Anthropic client on an OpenAI provider: translated both ways.
        r = self.post("/oa/s2/v1/messages", dict(A_BODY, stream=True))
        self.assertEqual(r.status, 200, r.body)
        # An OpenAI client, its own format: the usage chunk was not asked for.
        r = self.post("/oa/s2/v1/chat/completions", dict(C_BODY, stream=True))
        self.assertEqual(r.status, 200, r.body)
        r = self.post("/oa/s2/v1/messages", A_BODY)
        self.assertEqual(r.status, 200, r.body)
        r = self.post("/fo/s3/v1/messages", A_BODY)
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.headers["x-zen-provider"], "a2")
        # zend asked the Chat provider for the usage chunk when it translated a stream.
        sent = [json.loads(q["body"]) for q in self.mock.requests()]
        self.assertEqual(sent[2].get("stream_options"), {"include_usage": True})

        # The ledger, read by zenctl while zend runs (rows land within 200 ms).
        def by_provider():
            return {g["provider"]: g for g in self.usage("--by", "provider", "--since", "1h")}
        wait_until(lambda: sum(g["requests"] for g in by_provider().values()) == 6,
                   what="six rows in the ledger")
        g = by_provider()
        self.assertEqual(g["a1"]["requests"], 2)
        self.assertEqual(g["a1"]["input_tokens"], 300)
        self.assertEqual(g["a1"]["output_tokens"], 45)
        self.assertEqual(g["a1"]["cache_read_tokens"], 35)
        self.assertEqual(g["a1"]["cache_write_tokens"], 40)
        self.assertAlmostEqual(g["a1"]["cost_usd"], cost(100, 20, 30, 40, "claude-sonnet-4-5")
                               + cost(200, 25, 5, 0, "claude-sonnet-4-5"), places=9)
        self.assertEqual(g["c1"]["requests"], 3)
        # uncached input: (300 - 100) + 400; the stream without usage adds nothing
        self.assertEqual(g["c1"]["input_tokens"], 600)
        self.assertEqual(g["c1"]["output_tokens"], 70)
        self.assertEqual(g["c1"]["cache_read_tokens"], 100)
        self.assertEqual(g["a2"]["requests"], 1)
        self.assertEqual(g["a2"]["input_tokens"], 10)

        self.shutdown()
        rows = self.rows()
        self.assertEqual(len(rows), 6)
        # no usage chunk: NULL, not 0
        nousage = rows[3]
        self.assertEqual(nousage["client_format"], "chat")
        self.assertIsNone(nousage["input_tokens"])
        self.assertIsNone(nousage["output_tokens"])
        self.assertEqual(nousage["stream"], 1)
        self.assertEqual(nousage["complete"], 1)
        # the failover: one row, two attempts, served by a2
        fo = rows[5]
        self.assertEqual((fo["provider"], fo["attempts"], fo["status"], fo["profile"]),
                         ("a2", 2, 200, "fo"))
        self.assertEqual(fo["session"], "s3")
        tr = rows[2]
        self.assertEqual((tr["client_format"], tr["provider"], tr["input_tokens"],
                          tr["cache_read_tokens"], tr["output_tokens"]),
                         ("anthropic", "c1", 200, 100, 30))
        self.assertEqual(rows[0]["model_requested"], "claude-sonnet-4-5-20250929")
        self.assertIsNotNone(rows[0]["ttfb_ms"])
        self.assertEqual(os.stat(self.path("usage.db")).st_mode & 0o777, 0o600)

    def test_prometheus_counts_tokens_and_cost(self):
        self.start()
        self.mock.script(a_json(1000, 100, 0, 0))
        self.assertEqual(self.post("/default/s/v1/messages", A_BODY).status, 200)
        r = self.zenctl("metrics", "-o", "prom")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = [l for l in r.stdout.splitlines() if not l.startswith("#")]
        want_in = 'zend_tokens_total{provider="a1",model="claude-sonnet-4-5-20250929",kind="input"} 1000'
        want_out = 'zend_tokens_total{provider="a1",model="claude-sonnet-4-5-20250929",kind="output"} 100'
        self.assertIn(want_in, lines, r.stdout)
        self.assertIn(want_out, lines, r.stdout)
        c = [l for l in lines if l.startswith('zend_cost_usd_total{provider="a1"')]
        self.assertEqual(len(c), 1, r.stdout)
        self.assertAlmostEqual(float(c[0].split()[-1]), cost(1000, 100, 0, 0, "claude-sonnet-4-5"))


class Restart(UsageCase):
    def test_cost_and_budget_spend_survive_a_restart(self):
        budgets = {"monthly": {"amount": 1000, "action": "warn"}}
        self.start(budgets=budgets)
        self.mock.default(a_json(100000, 10000))
        for _ in range(3):
            self.assertEqual(self.post("/default/s/v1/messages", A_BODY).status, 200)
        self.shutdown()
        want = 3 * cost(100000, 10000, 0, 0, "claude-sonnet-4-5")
        self.start(budgets=budgets)
        tot = self.usage("--by", "profile", "--since", "1d")
        self.assertEqual(len(tot), 1)
        self.assertEqual(tot[0]["requests"], 3)
        self.assertAlmostEqual(tot[0]["cost_usd"], want, places=9)
        # the budget's spend starts from the ledger
        r = self.zenctl("usage", "budget", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        lim = json.loads(r.stdout)
        self.assertEqual(len(lim), 1)
        self.assertEqual(lim[0]["period"], "monthly")
        self.assertAlmostEqual(lim[0]["spend"], want, places=9)

    def test_five_thousand_requests_all_present_after_a_graceful_shutdown(self):
        self.start()
        self.mock.default(a_json(1, 1))
        host, port = self.addr
        conn = http.client.HTTPConnection(host, port, timeout=10)
        body = json.dumps(A_BODY)
        for _ in range(5000):
            conn.request("POST", "/default/s/v1/messages", body,
                         {"Content-Type": "application/json"})
            resp = conn.getresponse()
            resp.read()
            self.assertEqual(resp.status, 200)
        conn.close()
        self.shutdown()
        self.assertEqual(len(self.rows()), 5000)


def tz_with_midnight_in(seconds):
    """A POSIX TZ whose local midnight comes `seconds` from now (a fixed
    offset, no DST): the budget's day then ends inside the test."""
    now = time.time()
    utc_sod = int(now) % 86400
    east = (86400 - seconds - utc_sod) % 86400      # local = utc + east
    if east > 43200:
        east -= 86400
    sign = "-" if east >= 0 else "+"                 # POSIX: the offset west of UTC
    a = abs(east)
    return "ZTT%s%02d:%02d:%02d" % (sign, a // 3600, a % 3600 // 60, a % 60)


class Budgets(UsageCase):
    def test_block_answers_429_in_the_clients_format_until_the_day_ends(self):
        env = dict(self.env)
        env["TZ"] = tz_with_midnight_in(15)
        budgets = {"daily": {"amount": 0.0001, "action": "block"}}
        self.start(env=env, budgets=budgets)
        self.mock.default(a_json(100000, 0))            # $0.30: over the amount at once
        self.assertEqual(self.post("/default/s/v1/messages", A_BODY).status, 200)
        r = self.post("/default/s/v1/messages", A_BODY)
        self.assertEqual(r.status, 429, r.body)
        self.assertEqual(r.json()["type"], "error")
        self.assertEqual(r.json()["error"]["type"], "budget_exceeded")
        self.assertIn("daily", r.json()["error"]["message"])
        retry = int(r.headers["retry-after"])
        self.assertTrue(1 <= retry <= 16, retry)
        # an OpenAI client gets its own error shape
        r = self.post("/oa/s/v1/chat/completions", C_BODY)
        self.assertEqual(r.status, 429, r.body)
        self.assertEqual(r.json()["error"]["type"], "budget_exceeded")
        self.assertEqual(len(self.mock.requests()), 1)  # blocked requests never left
        h = json.loads(self.zenctl("-o", "json", "health").stdout)
        self.assertTrue(any("budget" in x for x in h.get("reasons", [])), h)
        # the next day serves again
        wait_until(lambda: self.post("/default/s/v1/messages", A_BODY).status == 200,
                   timeout=30, interval=0.5, what="the new day to serve again")

    def test_downgrade_sends_the_cheaper_tier(self):
        budgets = {"daily": {"amount": 0.0001, "action": "downgrade"}}
        self.start(budgets=budgets)
        self.mock.default(a_json(100000, 0))
        opus = dict(A_BODY, model="claude-opus-4-5")
        self.assertEqual(self.post("/default/s/v1/messages", opus).status, 200)
        self.assertEqual(self.post("/default/s/v1/messages", opus).status, 200)
        models = [json.loads(q["body"])["model"] for q in self.mock.requests()]
        self.assertEqual(models, ["claude-opus-4-5", "claude-sonnet-4-5"])

    def test_warn_serves_and_says_so(self):
        budgets = {"daily": {"amount": 0.0001, "action": "warn"}}
        self.start(budgets=budgets)
        self.mock.default(a_json(100000, 0))
        for _ in range(3):
            self.assertEqual(self.post("/default/s/v1/messages", A_BODY).status, 200)
        wait_until(lambda: [r for r in self.log_records() if r.get("event") == "budget_exceeded"],
                   what="budget_exceeded logged")
        recs = [r for r in self.log_records() if r.get("event") == "budget_exceeded"]
        self.assertEqual(len(recs), 1)  # once per period and limit
        r = self.zenctl("usage", "budget", "-o", "json")
        lim = json.loads(r.stdout)
        self.assertEqual(lim[0]["state"], "exceeded")


if __name__ == "__main__":
    unittest.main()
