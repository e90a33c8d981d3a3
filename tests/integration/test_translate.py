"""Format translation through the real zend (docs/translate.md): every client
format (Anthropic Messages, OpenAI Chat, OpenAI Responses) against every
provider wire, streamed and not, with parallel tool calls; cut streams, the
commit point, errors in the client's format, the local count_tokens
estimate, model lists and the OpenAI wire fallback. One mock provider plays
every upstream; each test has its own ZEN_HOME and ports."""
import json
import os
import socket
import time
import unittest

from zenharness import MockZenTestCase, http_request, wait_until

TOOLS = [("get_weather", {"city": "Paris"}), ("get_time", {"tz": "UTC"})]
TEXT = "Hello, w\u00f6rld"


# ---- what each wire answers (the mock plays it) ----

def sse_event(name, obj):
    return "event: %s\ndata: %s\n\n" % (name, json.dumps(obj))


def sse_data(obj):
    return "data: %s\n\n" % (obj if isinstance(obj, str) else json.dumps(obj))


def anthropic_answer(stream, tools=TOOLS, text=TEXT, stop="tool_use"):
    blocks = [{"type": "text", "text": text}] + [
        {"type": "tool_use", "id": "toolu_%d" % i, "name": n, "input": a}
        for i, (n, a) in enumerate(tools)]
    usage = {"input_tokens": 10, "output_tokens": 7}
    if not stream:
        return {"json": {"id": "msg_1", "type": "message", "role": "assistant",
                         "model": "claude-x", "content": blocks, "stop_reason": stop,
                         "stop_sequence": None, "usage": usage}}
    ev = [sse_event("message_start", {"type": "message_start", "message": {
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
        "content": [], "usage": {"input_tokens": 10, "output_tokens": 1}}})]
    for i, b in enumerate(blocks):
        start = dict(b, input={}) if b["type"] == "tool_use" else dict(b, text="")
        ev.append(sse_event("content_block_start", {"type": "content_block_start", "index": i,
                                                    "content_block": start}))
        if b["type"] == "text":
            delta = {"type": "text_delta", "text": b["text"]}
        else:
            delta = {"type": "input_json_delta", "partial_json": json.dumps(b["input"])}
        ev.append(sse_event("content_block_delta", {"type": "content_block_delta", "index": i,
                                                    "delta": delta}))
        ev.append(sse_event("content_block_stop", {"type": "content_block_stop", "index": i}))
    ev.append(sse_event("message_delta", {"type": "message_delta",
                                          "delta": {"stop_reason": stop},
                                          "usage": {"output_tokens": 7}}))
    ev.append(sse_event("message_stop", {"type": "message_stop"}))
    return {"sse": ev}


def chat_answer(stream, tools=TOOLS, text=TEXT, finish="tool_calls"):
    calls = [{"id": "call_%d" % i, "type": "function",
              "function": {"name": n, "arguments": json.dumps(a)}}
             for i, (n, a) in enumerate(tools)]
    usage = {"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17}
    if not stream:
        msg = {"role": "assistant", "content": text}
        if calls:
            msg["tool_calls"] = calls
        return {"json": {"id": "chatcmpl-1", "object": "chat.completion", "created": 1,
                         "model": "gpt-x", "choices": [{"index": 0, "message": msg,
                                                        "finish_reason": finish}],
                         "usage": usage}}
    base = {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "gpt-x"}

    def chunk(delta, fin=None):
        return sse_data(dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": fin}]))
    ev = [chunk({"role": "assistant", "content": ""}), chunk({"content": text[:5]}),
          chunk({"content": text[5:]})]
    for i, c in enumerate(calls):
        ev.append(chunk({"tool_calls": [{"index": i, "id": c["id"], "type": "function",
                                         "function": {"name": c["function"]["name"],
                                                      "arguments": ""}}]}))
        args = c["function"]["arguments"]
        ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[:4]}}]}))
        ev.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args[4:]}}]}))
    ev.append(chunk({}, finish))
    ev.append(sse_data(dict(base, choices=[], usage=usage)))
    ev.append(sse_data("[DONE]"))
    return {"sse": ev}


def responses_answer(stream, tools=TOOLS, text=TEXT):
    msg = {"type": "message", "id": "msg_a", "status": "completed", "role": "assistant",
           "content": [{"type": "output_text", "text": text, "annotations": []}]}
    fcs = [{"type": "function_call", "id": "fc_%d" % i, "call_id": "call_%d" % i, "name": n,
            "arguments": json.dumps(a), "status": "completed"} for i, (n, a) in enumerate(tools)]
    usage = {"input_tokens": 10, "output_tokens": 7, "total_tokens": 17}
    resp = {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed",
            "model": "gpt-x", "output": [msg] + fcs, "usage": usage}
    if not stream:
        return {"json": resp}
    seq = iter(range(1000))

    def ev(t, **kw):
        return sse_event(t, dict(kw, type=t, sequence_number=next(seq)))
    out = [ev("response.created", response=dict(resp, status="in_progress", output=[])),
           ev("response.output_item.added", output_index=0, item=dict(msg, content=[])),
           ev("response.content_part.added", item_id="msg_a", output_index=0, content_index=0,
              part={"type": "output_text", "text": ""}),
           ev("response.output_text.delta", item_id="msg_a", output_index=0, content_index=0,
              delta=text),
           ev("response.output_text.done", item_id="msg_a", output_index=0, content_index=0,
              text=text),
           ev("response.output_item.done", output_index=0, item=msg)]
    for i, fc in enumerate(fcs):
        out.append(ev("response.output_item.added", output_index=i + 1,
                      item=dict(fc, arguments="", status="in_progress")))
        out.append(ev("response.function_call_arguments.delta", item_id=fc["id"],
                      output_index=i + 1, delta=fc["arguments"]))
        out.append(ev("response.function_call_arguments.done", item_id=fc["id"],
                      output_index=i + 1, arguments=fc["arguments"]))
        out.append(ev("response.output_item.done", output_index=i + 1, item=fc))
    out.append(ev("response.completed", response=resp))
    return {"sse": out}


ANSWERS = {"A": anthropic_answer, "C": chat_answer, "R": responses_answer}
WIRE_PATH = {"A": "/v1/messages", "C": "/v1/chat/completions", "R": "/v1/responses"}


# ---- what each client sends ----

def client_request(fmt, stream, tools=True):
    if fmt == "A":
        body = {"model": "claude-sonnet-4-5", "max_tokens": 100,
                "messages": [{"role": "user", "content": "hi"}]}
        if tools:
            body["tools"] = [{"name": n, "description": "d", "input_schema": {"type": "object"}}
                             for n, _ in TOOLS]
        path = "/v1/messages"
    elif fmt == "C":
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
        if tools:
            body["tools"] = [{"type": "function", "function": {"name": n, "parameters": {
                "type": "object"}}} for n, _ in TOOLS]
        if stream:
            body["stream_options"] = {"include_usage": True}
        path = "/v1/chat/completions"
    else:
        body = {"model": "gpt-5-codex", "input": "hi"}
        if tools:
            body["tools"] = [{"type": "function", "name": n, "parameters": {"type": "object"}}
                             for n, _ in TOOLS]
        path = "/v1/responses"
    if stream:
        body["stream"] = True
    return path, json.dumps(body).encode()


# ---- what each client makes of the answer ----

def sse_events(body):
    """[(event name or None, data text)] of an SSE body."""
    events = []
    for block in body.decode().replace("\r\n", "\n").split("\n\n"):
        name, data = None, []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            events.append((name, "\n".join(data)))
    return events


def read_anthropic(resp, stream):
    """{text, tools: [(name, args)], stop, complete, error}."""
    out = {"text": "", "tools": [], "stop": None, "complete": False, "error": None}
    if not stream:
        doc = resp.json()
        for b in doc["content"]:
            if b["type"] == "text":
                out["text"] += b["text"]
            elif b["type"] == "tool_use":
                out["tools"].append((b["name"], b["input"]))
        out["stop"], out["complete"] = doc["stop_reason"], True
        return out
    blocks = {}
    for name, data in sse_events(resp.body):
        d = json.loads(data)
        if name == "content_block_start":
            blocks[d["index"]] = dict(d["content_block"], args="")
        elif name == "content_block_delta":
            b, dl = blocks[d["index"]], d["delta"]
            if dl["type"] == "text_delta":
                b["text"] += dl["text"]
            elif dl["type"] == "input_json_delta":
                b["args"] += dl["partial_json"]
        elif name == "message_delta":
            out["stop"] = d["delta"]["stop_reason"]
        elif name == "message_stop":
            out["complete"] = True
        elif name == "error":
            out["error"] = d["error"]
    for i in sorted(blocks):
        b = blocks[i]
        if b["type"] == "text":
            out["text"] += b["text"]
        elif b["type"] == "tool_use":
            out["tools"].append((b["name"], json.loads(b["args"] or "{}")))
    return out


def read_chat(resp, stream):
    out = {"text": "", "tools": [], "stop": None, "complete": False, "error": None,
           "usage": None}
    if not stream:
        doc = resp.json()
        msg = doc["choices"][0]["message"]
        out["text"] = msg.get("content") or ""
        out["tools"] = [(c["function"]["name"], json.loads(c["function"]["arguments"]))
                        for c in msg.get("tool_calls") or []]
        out["stop"], out["complete"], out["usage"] = (doc["choices"][0]["finish_reason"], True,
                                                      doc.get("usage"))
        return out
    calls = {}
    for _, data in sse_events(resp.body):
        if data == "[DONE]":
            out["complete"] = True
            continue
        d = json.loads(data)
        if "error" in d:
            out["error"] = d["error"]
            continue
        if d.get("usage"):
            out["usage"] = d["usage"]
        for ch in d.get("choices", []):
            dl = ch.get("delta", {})
            out["text"] += dl.get("content") or ""
            for tc in dl.get("tool_calls") or []:
                c = calls.setdefault(tc["index"], {"name": "", "args": ""})
                c["name"] += tc.get("function", {}).get("name") or ""
                c["args"] += tc.get("function", {}).get("arguments") or ""
            if ch.get("finish_reason"):
                out["stop"] = ch["finish_reason"]
    out["tools"] = [(calls[i]["name"], json.loads(calls[i]["args"] or "{}"))
                    for i in sorted(calls)]
    return out


def read_responses(resp, stream):
    out = {"text": "", "tools": [], "stop": None, "complete": False, "error": None}
    doc = None
    if not stream:
        doc = resp.json()
    else:
        seqs = []
        for name, data in sse_events(resp.body):
            d = json.loads(data)
            seqs.append(d.get("sequence_number"))
            if name in ("response.completed", "response.incomplete"):
                doc = d["response"]
            elif name == "response.failed":
                out["error"] = d["response"]["error"]
        assert seqs == list(range(len(seqs))), seqs
    if doc:
        for item in doc["output"]:
            if item["type"] == "message":
                out["text"] += "".join(c["text"] for c in item["content"]
                                       if c["type"] == "output_text")
            elif item["type"] == "function_call":
                out["tools"].append((item["name"], json.loads(item["arguments"])))
        out["stop"], out["complete"] = doc["status"], True
    return out


READERS = {"A": read_anthropic, "C": read_chat, "R": read_responses}
TOOL_STOP = {"A": "tool_use", "C": "tool_calls", "R": "completed"}


class TranslateTestCase(MockZenTestCase):
    def start(self, profiles=None, providers=None, env=None, daemon=None):
        url = self.mock.url
        provs = {"an": {"base_url": url, "auth_token": "sk-an"},
                 "oc": {"base_url": url + "/v1", "type": "openai", "openai_api": "chat",
                        "auth_token": "sk-oc", "model": "gpt-test"},
                 "orr": {"base_url": url + "/v1", "type": "openai",
                         "openai_api": "responses", "auth_token": "sk-or"},
                 "oa": {"base_url": url + "/v1", "type": "openai", "auth_token": "sk-oa",
                        "model": "gpt-test"}}
        provs.update(providers or {})
        d = {"listen": "127.0.0.1:0", "first_byte_timeout_ms": 3000, "idle_timeout_ms": 3000,
             "retry_same_provider": 0}
        d.update(daemon or {})
        cfg = {"providers": provs,
               "profiles": profiles or {"pa": ["an"], "pc": ["oc"], "pr": ["orr"],
                                        "po": ["oa"]},
               "daemon": d}
        self.write_config(cfg)
        e = dict(self.env, **(env or {}))
        self.zend = self.start_zend(env=e)
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def call(self, profile, path, body, headers=None, method="POST"):
        h = {"Content-Type": "application/json", "x-api-key": "client-key"}
        h.update(headers or {})
        return http_request(self.addr, method, "/%s/s1%s" % (profile, path), body, h)

    def upstream(self):
        return self.mock.requests()

    # ---- the matrix ----

    def test_every_client_format_with_every_wire(self):
        self.start()
        wires = {"A": "pa", "C": "pc", "R": "pr"}
        for client in "ACR":
            for wire, profile in wires.items():
                for stream in (False, True):
                    with self.subTest(client=client, wire=wire, stream=stream):
                        self.mock.reset()
                        self.mock.script(ANSWERS[wire](stream))
                        path, body = client_request(client, stream)
                        r = self.call(profile, path, body)
                        self.assertEqual(r.status, 200, r.body[:500])
                        self.assertTrue(r.complete)
                        ctype = r.headers.get("content-type", "")
                        self.assertTrue(ctype.startswith("text/event-stream" if stream
                                                         else "application/json"), ctype)
                        got = READERS[client](r, stream)
                        self.assertIsNone(got["error"])
                        self.assertTrue(got["complete"])
                        self.assertEqual(got["text"], TEXT)
                        self.assertEqual(got["tools"], TOOLS)
                        self.assertEqual(got["stop"], TOOL_STOP[client])
                        ups = self.upstream()
                        self.assertEqual(len(ups), 1)
                        self.assertEqual(ups[0]["path"], WIRE_PATH[wire])
                        sent = json.loads(ups[0]["body"])
                        names = [t.get("name") or t.get("function", {}).get("name")
                                 for t in sent.get("tools", [])]
                        self.assertEqual(names, [n for n, _ in TOOLS])
                        if client == "C" and stream and wire != "C":
                            self.assertEqual(got["usage"]["prompt_tokens"], 10)

    def test_anthropic_client_to_chat_request_shape(self):
        """translate.md case 1: path, no query, no Anthropic headers, the body."""
        self.start()
        self.mock.script(chat_answer(False, tools=[]))
        body = b'{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}'
        r = self.call("pc", "/v1/messages?beta=true", body,
                      {"anthropic-version": "2023-06-01", "anthropic-beta": "x"})
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["content"], [{"type": "text", "text": TEXT}])
        up = self.upstream()[0]
        self.assertEqual(up["path"], "/v1/chat/completions")
        names = {k.lower() for k, _ in up["headers"]}
        self.assertNotIn("anthropic-version", names)
        self.assertNotIn("anthropic-beta", names)
        self.assertEqual(dict((k.lower(), v) for k, v in up["headers"])["authorization"],
                         "Bearer sk-oc")
        self.assertEqual(json.loads(up["body"]),
                         {"model": "gpt-test", "messages": [{"role": "user", "content": "hi"}],
                          "max_completion_tokens": 10})

    def test_codex_to_anthropic_request_shape(self):
        """translate.md case 2: version header, default max_tokens, Claude model."""
        self.start()
        self.mock.script(anthropic_answer(True, tools=[], stop="end_turn"))
        r = self.call("pa", "/responses", b'{"model":"gpt-5-codex","input":"hi","stream":true}')
        self.assertEqual(r.status, 200, r.body)
        got = read_responses(r, True)
        self.assertEqual(got["text"], TEXT)
        up = self.upstream()[0]
        self.assertEqual(up["path"], "/v1/messages")
        self.assertIn(["anthropic-version", "2023-06-01"], up["headers"])
        sent = json.loads(up["body"])
        self.assertEqual(sent["max_tokens"], 32000)
        self.assertEqual(sent["model"], "claude-sonnet-4-5")
        self.assertEqual(sent["messages"], [{"role": "user", "content": "hi"}])

    def test_passthrough_is_byte_identical_and_strips_zend_carriers(self):
        """translate.md case 59."""
        self.start()
        self.mock.default(anthropic_answer(False, tools=[], stop="end_turn"))
        body = (b'{"model":"claude-sonnet-4-5",  "max_tokens":10,"messages":'
                b'[{"role":"user","content":"hi"}]}')
        self.assertEqual(self.call("pa", "/v1/messages", body).status, 200)
        self.assertEqual(self.upstream()[0]["body"].encode(), body)
        carried = {"model": "claude-sonnet-4-5", "max_tokens": 10, "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "t", "signature": "zend1.c"},
                {"type": "text", "text": "ok"}]},
            {"role": "user", "content": "go on"}]}
        self.assertEqual(self.call("pa", "/v1/messages", json.dumps(carried).encode()).status,
                         200)
        sent = json.loads(self.upstream()[1]["body"])
        self.assertNotIn("zend1.", self.upstream()[1]["body"])
        self.assertEqual(sent["messages"][1]["content"], [{"type": "text", "text": "ok"}])

    # ---- streams: the commit point and cut streams ----

    def test_cut_translated_stream_ends_with_the_clients_error(self):
        self.start()
        cases = [("A", "pc", chat_answer(True)), ("C", "pa", anthropic_answer(True)),
                 ("R", "pa", anthropic_answer(True))]
        for client, profile, answer in cases:
            with self.subTest(client=client):
                self.mock.reset()
                # past the first content event, then the connection drops
                self.mock.script(dict(answer, end="close", after_events=3))
                path, body = client_request(client, True)
                r = self.call(profile, path, body)
                self.assertEqual(r.status, 200)
                self.assertFalse(r.complete, "a cut stream must not end like a whole one")
                got = READERS[client](r, True)
                self.assertFalse(got["complete"])
                self.assertIsNotNone(got["error"], r.body)
                self.assertIn("interrupted", json.dumps(got["error"]))

    def test_failure_before_the_commit_point_fails_over(self):
        """translate.md case 46, and an error event before any content. Each
        case has its own openai provider: a failure cools the one it hit."""
        oc = {"base_url": self.mock.url + "/v1", "type": "openai", "openai_api": "chat"}
        self.start(providers={"oc1": oc, "oc2": oc, "oc3": oc},
                   profiles={"p1": ["oc1", "an"], "p2": ["oc2", "an"], "p3": ["oc3", "an"]})
        cases = [{"sse": []},  # 200 text/event-stream with an empty body
                 {"sse": [sse_data({"error": {"message": "overloaded", "type": "server_error"}})]},
                 dict(chat_answer(True), end="reset", after_events=1)]
        for i, first in enumerate(cases):
            with self.subTest(first=json.dumps(first)[:60]):
                self.mock.reset()
                self.mock.script(first, anthropic_answer(True))
                path, body = client_request("A", True)
                r = self.call("p%d" % (i + 1), path, body)
                self.assertEqual(r.status, 200)
                self.assertEqual(r.headers["x-zen-provider"], "an")
                self.assertEqual(r.headers["x-zen-attempts"], "2")
                got = read_anthropic(r, True)
                self.assertTrue(got["complete"])
                self.assertEqual(got["tools"], TOOLS)
                self.assertEqual(got["text"], TEXT)  # nothing of the first attempt
                self.assertEqual([u["path"] for u in self.upstream()],
                                 ["/v1/chat/completions", "/v1/messages"])

    def test_keepalive_while_the_upstream_is_silent(self):
        self.start(env={"ZEND_TEST_XLATE_KEEPALIVE_MS": "150"})
        ev = chat_answer(True, tools=[])["sse"]
        slow = [{"data": ev[0]}, {"data": ev[1]}, {"data": "", "delay_ms": 700}] + \
               [{"data": e} for e in ev[2:]]
        self.mock.script({"sse": slow})
        path, body = client_request("A", True, tools=False)
        r = self.call("pc", path, body)
        names = [n for n, _ in sse_events(r.body)]
        first_text = names.index("content_block_delta")
        self.assertIn("ping", names[first_text:], names)
        self.assertTrue(read_anthropic(r, True)["complete"])

    def test_client_hangup_mid_translated_stream(self):
        self.start()
        ev = chat_answer(True, tools=[])["sse"]
        self.mock.script({"sse": [{"data": ev[0]}, {"data": ev[1]}], "end": "stall"})
        path, body = client_request("A", True, tools=False)
        s = socket.create_connection(self.addr)
        s.sendall(b"POST /pc/s1%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                  b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % (path.encode(), self.addr[1], len(body)) + body)
        got = bytearray()
        s.settimeout(5)

        def started():
            got.extend(s.recv(65536))
            return b"content_block_start" in got
        wait_until(started, what="the stream to start")
        s.close()
        wait_until(lambda: self.upstream() and self.upstream()[0]["peer_closed_at"] is not None,
                   what="zend to close the upstream")
        doc = json.loads(self.zenctl("-o", "json", "providers").stdout)
        oc = [p for p in doc["providers"] if p["name"] == "oc"][0]
        self.assertEqual(oc["circuit"], "closed")  # a client hang-up blames nobody

    # ---- errors ----

    def test_upstream_errors_in_the_clients_format(self):
        """translate.md cases 60, 61, 62."""
        self.start()
        self.mock.script({"status": 400, "json": {"error": {
            "message": "bad", "type": "invalid_request_error", "code": None}}})
        r = self.call("pc", *client_request("A", False))
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json(), {"type": "error", "error": {
            "type": "invalid_request_error", "message": "bad"}})
        self.mock.script({"status": 400, "json": {"type": "error", "error": {
            "type": "invalid_request_error",
            "message": "prompt is too long: 210000 tokens > 200000 maximum"}}})
        r = self.call("pa", *client_request("R", False))
        self.assertEqual(r.status, 400)
        err = r.json()["error"]
        self.assertEqual((err["type"], err["code"]),
                         ("invalid_request_error", "context_length_exceeded"))
        self.mock.script({"status": 404, "body": "Not Found"})
        r = self.call("pc", *client_request("A", False))
        self.assertEqual(r.status, 404)
        self.assertEqual(r.json(), {"type": "error", "error": {
            "type": "not_found_error", "message": "Not Found"}})

    def test_all_providers_failed_in_the_clients_format(self):
        """translate.md case 63, for each client format (a fresh zend each:
        failures cool the providers they hit)."""
        for client in "ACR":
            with self.subTest(client=client):
                if self.zend:
                    self.stop_zend_cleanly(self.zend)
                    os.unlink(self.path("state.json"))  # or the cooldowns are kept
                self.start(profiles={"p": ["oc", "an"]})
                self.mock.reset()
                self.mock.script({"status": 500, "body": "boom"}, {"status": 500, "body": "x"})
                r = self.call("p", *client_request(client, False))
                self.assertEqual(r.status, 502)
                doc = r.json()
                self.assertEqual([a["provider"] for a in doc["attempts"]], ["oc", "an"])
                if client == "A":
                    self.assertEqual(doc["type"], "error")
                    self.assertEqual(doc["error"]["type"], "all_providers_failed")
                else:
                    self.assertEqual(doc["error"]["type"], "all_providers_failed")
                    self.assertEqual(doc["error"]["code"], "all_providers_failed")
                    self.assertIsNone(doc["error"]["param"])
                self.assertIn("[oc] 500", doc["error"]["message"])

    def test_bad_input_is_refused_without_an_upstream_call(self):
        """translate.md cases 3, 16 (n > 1), 21 (previous_response_id)."""
        self.start()
        r = self.call("pc", "/v1/messages", b"not json")
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["type"], "error")
        self.assertEqual(r.json()["error"]["type"], "invalid_request_error")
        r = self.call("pa", "/v1/chat/completions",
                      b'{"model":"gpt-4o","n":2,"messages":[{"role":"user","content":"hi"}]}')
        self.assertEqual(r.status, 400)
        self.assertEqual(r.json()["error"]["type"], "invalid_request_error")
        self.assertIn("param", r.json()["error"])
        r = self.call("pa", "/v1/responses",
                      b'{"model":"gpt-5","input":"hi","previous_response_id":"resp_1"}')
        self.assertEqual(r.status, 400)
        self.assertIn("previous_response_id", r.json()["error"]["message"])
        r = self.call("pc", "/v1/messages", json.dumps({
            "model": "m", "max_tokens": 5, "messages": [{"role": "user", "content": [
                {"type": "hologram", "data": "x"}]}]}).encode())
        self.assertEqual(r.status, 400)
        self.assertIn("hologram", r.json()["error"]["message"])
        self.assertEqual(self.upstream(), [])
        # the daemon keeps serving
        self.mock.script(chat_answer(False, tools=[]))
        self.assertEqual(self.call("pc", *client_request("A", False, tools=False)).status, 200)

    # ---- count_tokens, models ----

    def test_count_tokens_is_estimated_locally_for_openai(self):
        """translate.md case 64."""
        self.start(profiles={"pc": ["oc"], "both": ["an", "oc"]})
        body = (b'{"model":"m","system":"abcd","messages":[{"role":"user",'
                b'"content":"hello world!"}]}')
        r = self.call("pc", "/v1/messages/count_tokens", body)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"input_tokens": 16})
        self.assertEqual(r.headers.get("x-zen-token-estimate"), "1")
        self.assertEqual(self.upstream(), [])
        self.mock.script({"status": 500, "body": "down"})
        r = self.call("both", "/v1/messages/count_tokens", body)
        self.assertEqual((r.status, r.json()), (200, {"input_tokens": 16}))
        self.assertEqual([u["path"] for u in self.upstream()], ["/v1/messages/count_tokens"])

    def test_models_list_across_families(self):
        """translate.md case 4."""
        self.start()
        self.mock.script({"json": {"object": "list", "data": [
            {"id": "g", "object": "model", "created": 0, "owned_by": "x"}]}})
        r = self.call("pc", "/v1/models", b"", {"anthropic-version": "2023-06-01"},
                      method="GET")
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json(), {"data": [{"type": "model", "id": "g", "display_name": "g",
                                              "created_at": "1970-01-01T00:00:00Z"}],
                                    "has_more": False, "first_id": "g", "last_id": "g"})
        self.assertEqual(self.upstream()[0]["path"], "/v1/models")

    # ---- the OpenAI wire: fallback and what is learned ----

    def providers_doc(self):
        return {p["name"]: p for p in
                json.loads(self.zenctl("-o", "json", "providers").stdout)["providers"]}

    def test_chat_to_responses_fallback_is_learned(self):
        """translate.md cases 56 and 57 (data-only Responses events)."""
        self.start()
        self.assertEqual(self.providers_doc()["oa"]["wire"], "auto")
        data_only = [e.split("\n", 1)[1] for e in responses_answer(True, tools=TOOLS[:1])["sse"]]
        self.mock.script({"status": 500, "json": {"error": {"message": "input is required"}}},
                         {"sse": data_only})
        r = self.call("po", *client_request("A", True))
        self.assertEqual(r.status, 200, r.body)
        got = read_anthropic(r, True)
        self.assertEqual(got["tools"], TOOLS[:1])
        self.assertEqual(got["stop"], "tool_use")
        self.assertEqual([u["path"] for u in self.upstream()],
                         ["/v1/chat/completions", "/v1/responses"])
        oa = self.providers_doc()["oa"]
        self.assertEqual((oa["wire"], oa["wire_learned"], oa["circuit"]),
                         ("responses", True, "closed"))
        self.assertIn("responses (learned)", self.zenctl("providers").stdout)
        self.mock.script(responses_answer(False, tools=[]))
        r = self.call("po", *client_request("A", False, tools=False))
        self.assertEqual(read_anthropic(r, False)["text"], TEXT)
        self.assertEqual(self.upstream()[2]["path"], "/v1/responses")  # one call, directly

    def test_responses_to_chat_fallback(self):
        """translate.md case 58."""
        self.start()
        self.mock.script({"status": 404, "body": "no such route"},
                         chat_answer(False, tools=[], text="Hi", finish="stop"))
        r = self.call("po", *client_request("R", False, tools=False))
        self.assertEqual(r.status, 200, r.body)
        self.assertEqual(r.json()["output"][0]["content"][0]["text"], "Hi")
        self.assertEqual([u["path"] for u in self.upstream()],
                         ["/v1/responses", "/v1/chat/completions"])
        self.assertEqual(self.providers_doc()["oa"]["wire"], "chat")


if __name__ == "__main__":
    unittest.main()
