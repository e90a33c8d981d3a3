"""Tokens from every answer (docs/usage.md, "Tokens: where they come from"):
the request_completed record carries exactly the counts the provider
reported -- Anthropic JSON and stream (cache read and write included), a Chat
stream with its usage chunk and without one (no token fields, never zeros),
a Responses stream, a translated request (the provider's side), and a
failover (the served attempt's counts only). The real zend against the mock
provider's reply steps; each test its own ZEN_HOME and ports."""
import json
import os
import sqlite3
import unittest

from zenharness import MockZenTestCase, http_request, wait_until

COUNTS = {"input": 20, "output": 9, "cache_read": 4, "cache_write": 2}
TOKEN_FIELDS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")


def body(model, **extra):
    b = {"model": model, "max_tokens": 64, "messages": [{"role": "user", "content": "hi"}]}
    b.update(extra)
    return json.dumps(b).encode()


def responses_body(model, **extra):
    b = {"model": model, "input": "hi"}
    b.update(extra)
    return json.dumps(b).encode()


def tokens(input=None, output=None, cache_read=None, cache_write=None):
    """The token fields a record should have: the known ones only."""
    vals = (input, output, cache_read, cache_write)
    return {k: v for k, v in zip(TOKEN_FIELDS, vals) if v is not None}


class UsageTokens(MockZenTestCase):
    def setUp(self):
        super().setUp()
        url = self.mock.url
        cfg = {"providers": {
                   "an": {"base_url": url, "auth_token": "sk-an"},
                   "an2": {"base_url": url, "auth_token": "sk-an2"},
                   "oc": {"base_url": url + "/v1", "type": "openai", "openai_api": "chat",
                          "auth_token": "sk-oc", "model": "gpt-test"},
                   "orr": {"base_url": url + "/v1", "type": "openai",
                           "openai_api": "responses", "auth_token": "sk-or"}},
               "profiles": {"pa": ["an"], "pc": ["oc"], "pr": ["orr"], "fail": ["an2", "an"]},
               "daemon": {"listen": "127.0.0.1:0", "log_level": "debug",
                          "first_byte_timeout_ms": 3000, "idle_timeout_ms": 3000,
                          "retry_same_provider": 0}}
        self.write_config(cfg)
        self.zend = self.start_zend()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def call(self, profile, path, data):
        h = {"Content-Type": "application/json", "x-api-key": "client-key"}
        r = http_request(self.addr, "POST", "/%s/s1%s" % (profile, path), data, h)
        self.assertEqual(r.status, 200, r.body[:500])
        self.assertTrue(r.complete)
        return r

    def completed(self, r):
        """The one request_completed record of response r, waited for."""
        rid = r.headers["x-zen-request-id"]

        def found():
            return [x for x in self.log_records()
                    if x["event"] == "request_completed" and x.get("request_id") == rid]
        recs = wait_until(found, what="request_completed for %s" % rid)
        self.assertEqual(len(recs), 1, recs)
        return recs[0]

    def served(self, profile, path, data, **reply):
        """A request answered by a mock reply reporting COUNTS: (response, record)."""
        self.mock.script({"reply": dict(reply, usage=COUNTS)})
        r = self.call(profile, path, data)
        return r, self.completed(r)

    def assert_tokens(self, rec, want, model):
        self.assertEqual({k: rec[k] for k in TOKEN_FIELDS if k in rec}, want, rec)
        self.assertEqual(rec.get("model"), model, rec)

    # ---- passthrough ----

    def test_anthropic_json(self):
        r, rec = self.served("pa", "/v1/messages", body("claude-sonnet-4-5"))
        self.assertEqual(json.loads(r.body)["usage"]["cache_read_input_tokens"], 4)
        self.assert_tokens(rec, tokens(20, 9, 4, 2), "claude-sonnet-4-5")

    def test_anthropic_stream(self):
        r, rec = self.served("pa", "/v1/messages", body("claude-sonnet-4-5", stream=True))
        self.assertIn(b"event: message_delta", r.body)
        self.assertTrue(rec["stream_completed"])
        # message_delta's output (9) replaced message_start's (1)
        self.assert_tokens(rec, tokens(20, 9, 4, 2), "claude-sonnet-4-5")

    def test_chat_stream_with_usage_chunk(self):
        r, rec = self.served("pc", "/v1/chat/completions",
                             body("gpt-4o", stream=True, stream_options={"include_usage": True}))
        self.assertIn(b'"prompt_tokens":24', r.body)
        # input is the uncached part of the prompt; OpenAI reports no cache write
        self.assert_tokens(rec, tokens(20, 9, 4), "gpt-test")

    def test_chat_stream_without_usage_chunk(self):
        r, rec = self.served("pc", "/v1/chat/completions", body("gpt-4o", stream=True))
        self.assertNotIn(b"prompt_tokens", r.body)
        self.assertTrue(rec["stream_completed"])
        self.assert_tokens(rec, {}, "gpt-test")  # unknown, not zero

    def test_responses_stream(self):
        r, rec = self.served("pr", "/v1/responses", responses_body("gpt-5", stream=True),
                             text="x" * 200000)
        self.assertIn(b"response.completed", r.body)
        self.assert_tokens(rec, tokens(20, 9, 4), "gpt-5")

    # ---- translated ----

    def test_translated_anthropic_client_to_chat_provider(self):
        self.mock.script({"reply": {"usage": COUNTS}}, {"reply": {"usage": COUNTS}})
        r = self.call("pc", "/v1/messages", body("claude-sonnet-4-5", stream=True))
        self.assertIn(b"event: message_start", r.body)
        up = json.loads(self.mock.requests()[0]["body"])
        self.assertTrue(up["stream_options"]["include_usage"], up)
        # the provider's counts, from its own format: no cache write in Chat
        self.assert_tokens(self.completed(r), tokens(20, 9, 4), "gpt-test")
        r = self.call("pc", "/v1/messages", body("claude-sonnet-4-5"))
        self.assertEqual(json.loads(r.body)["usage"]["input_tokens"], 20)
        self.assert_tokens(self.completed(r), tokens(20, 9, 4), "gpt-test")

    def test_translated_chat_usage_before_null_usage_chunks(self):
        # Some OpenAI-compatible providers send the usage chunk before the last
        # content chunk and "usage": null on every other chunk, the finish
        # chunk included: the counts must survive the null ones.
        def chunk(delta, finish=None, usage=None, choices=True):
            c = {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-test",
                 "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
                 if choices else [], "usage": usage}
            return "data: %s\n\n" % json.dumps(c)
        usage = {"prompt_tokens": 24, "completion_tokens": 9, "total_tokens": 33,
                 "prompt_tokens_details": {"cached_tokens": 4}}
        self.mock.script({"sse": [chunk({"role": "assistant", "content": ""}),
                                  chunk({"content": "Hello"}),
                                  chunk({}, usage=usage, choices=False),
                                  chunk({"content": " world"}),
                                  chunk({}, finish="stop"),
                                  "data: [DONE]\n\n"]})
        r = self.call("pc", "/v1/messages", body("claude-sonnet-4-5", stream=True))
        deltas = [json.loads(line[len(b"data: "):]) for line in r.body.split(b"\n")
                  if line.startswith(b"data: ") and b'"message_delta"' in line]
        self.assertEqual(len(deltas), 1, r.body)
        u = deltas[0]["usage"]
        self.assertEqual((u["input_tokens"], u["output_tokens"], u["cache_read_input_tokens"]),
                         (20, 9, 4), r.body)
        rec = self.completed(r)
        self.assert_tokens(rec, tokens(20, 9, 4), "gpt-test")
        # and the ledger row
        db = self.path("usage.db")

        def row():
            if not os.path.exists(db):
                return None
            con = sqlite3.connect(db)
            try:
                return con.execute("SELECT input_tokens, output_tokens, cache_read_tokens "
                                   "FROM usage WHERE request_id = ?",
                                   (rec["request_id"],)).fetchone()
            except sqlite3.OperationalError:
                return None  # the schema is not there yet
            finally:
                con.close()
        self.assertEqual(wait_until(row, what="the ledger row"), (20, 9, 4))

    # ---- failover ----

    def test_failover_counts_the_served_attempt_only(self):
        start = {"type": "message_start", "message": {
            "id": "m0", "type": "message", "role": "assistant", "content": [], "model": "c",
            "usage": {"input_tokens": 999, "cache_read_input_tokens": 999,
                      "cache_creation_input_tokens": 999, "output_tokens": 999}}}
        overloaded = {"type": "error", "error": {"type": "overloaded_error",
                                                 "message": "Overloaded"}}
        self.mock.script(
            # the first provider's 200 fails before its commit point: its counts never count
            {"sse": ["event: message_start\ndata: %s\n\n" % json.dumps(start),
                     "event: error\ndata: %s\n\n" % json.dumps(overloaded)]},
            {"reply": {"usage": COUNTS}})
        r = self.call("fail", "/v1/messages", body("claude-sonnet-4-5", stream=True))
        self.assertNotIn(b"999", r.body)
        rec = self.completed(r)
        self.assertEqual((rec["provider"], rec["attempts"]), ("an", 2), rec)
        self.assert_tokens(rec, tokens(20, 9, 4, 2), "claude-sonnet-4-5")


if __name__ == "__main__":
    unittest.main()
