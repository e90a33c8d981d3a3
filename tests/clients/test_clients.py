"""Real clients through zend's format translation (docs/translate.md):
Claude Code (Anthropic Messages) against an openai-type provider, the openai
Node SDK (Chat Completions) and Codex (Responses) against anthropic-type
providers. The upstream is always the mock provider (tests/mock), scripted in
the provider's own format, so each test proves both directions: the request
the client sent arrives in the provider's format, and the provider's answer
reaches the client in the client's.

Run by `make test-clients`, which installs the pinned clients into
$ZEN_CLIENTS_DIR/node_modules (tests/clients/install_clients.sh). Every test
has its own ZEN_HOME, ephemeral ports and mock; every process it starts is
killed by pid (clients by their own process group) at the end. The clients
get a minimal environment with HOME in the test's temp dir, so nothing of the
caller's leaks in and nothing reaches the network but loopback.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from zenharness import SOURCE_DIR, Mock, ZenTestCase  # noqa: E402

CLIENTS_DIR = os.environ.get("ZEN_CLIENTS_DIR", os.path.join(SOURCE_DIR, "build", "clients"))
NODE_BIN = os.path.join(CLIENTS_DIR, "node_modules", ".bin")
CLAUDE = os.path.join(NODE_BIN, "claude")
CODEX = os.path.join(NODE_BIN, "codex")
OPENAI_SCRIPT = os.path.join(HERE, "openai_chat.mjs")
CLIENT_TIMEOUT_S = 90

# What an emitted Chat Completions request may carry (docs/translate.md); any
# other top-level key is a field of the client's format that leaked through.
CHAT_KEYS = {"model", "messages", "max_completion_tokens", "max_tokens", "temperature", "top_p",
             "stop", "stream", "stream_options", "user", "tools", "tool_choice",
             "parallel_tool_calls", "reasoning_effort", "response_format", "n"}
ANTHROPIC_ONLY = {"system", "thinking", "metadata", "context_management", "output_config",
                  "stop_sequences", "top_k", "anthropic_version", "anthropic_beta", "container",
                  "mcp_servers", "betas"}
# What an emitted Anthropic Messages request may carry.
MESSAGES_KEYS = {"model", "messages", "system", "max_tokens", "metadata", "stop_sequences",
                 "stream", "temperature", "top_p", "top_k", "tools", "tool_choice", "thinking",
                 "output_config"}
RESPONSES_ONLY = {"input", "instructions", "store", "reasoning", "include", "text",
                  "prompt_cache_key", "previous_response_id", "max_output_tokens",
                  "parallel_tool_calls", "service_tier", "client_metadata"}


# ---- upstream answers, in the provider's own format ----

def chat_sse(text=None, tool_calls=(), finish="stop", usage=(7, 5), reasoning=None):
    """An OpenAI Chat Completions stream: role chunk, reasoning (DeepSeek's
    reasoning_content), content, tool-call pieces, the finish chunk, the
    usage chunk, [DONE]."""
    base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": 1700000000,
            "model": "gpt-test"}

    def chunk(delta, reason=None):
        return "data: %s\n\n" % json.dumps(
            dict(base, choices=[{"index": 0, "delta": delta, "finish_reason": reason}]))

    events = [chunk({"role": "assistant", "content": ""})]
    if reasoning is not None:
        events.append(chunk({"reasoning_content": reasoning}))
    if text is not None:
        events.append(chunk({"content": text}))
    for i, (call_id, name, args) in enumerate(tool_calls):
        events.append(chunk({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                             "function": {"name": name, "arguments": ""}}]}))
        events.append(chunk({"tool_calls": [{"index": i, "function": {"arguments": args}}]}))
    events.append(chunk({}, finish))
    events.append("data: %s\n\n" % json.dumps(dict(base, choices=[], usage={
        "prompt_tokens": usage[0], "completion_tokens": usage[1],
        "total_tokens": usage[0] + usage[1]})))
    events.append("data: [DONE]\n\n")
    return {"sse": events}


def anthropic_sse(blocks, stop, usage=(9, 20)):
    """An Anthropic Messages stream. blocks: ("text", s) or
    ("tool_use", id, name, [partial_json pieces])."""
    def ev(obj):
        return "event: %s\ndata: %s\n\n" % (obj["type"], json.dumps(obj))

    events = [ev({"type": "message_start", "message": {
        "id": "msg_mock", "type": "message", "role": "assistant", "content": [],
        "model": "claude-test", "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": usage[0], "output_tokens": 1}}})]
    for i, b in enumerate(blocks):
        if b[0] == "text":
            start = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": b[1]}]
        else:
            start = {"type": "tool_use", "id": b[1], "name": b[2], "input": {}}
            deltas = [{"type": "input_json_delta", "partial_json": p} for p in b[3]]
        events.append(ev({"type": "content_block_start", "index": i, "content_block": start}))
        events += [ev({"type": "content_block_delta", "index": i, "delta": d}) for d in deltas]
        events.append(ev({"type": "content_block_stop", "index": i}))
    events.append(ev({"type": "message_delta", "delta": {"stop_reason": stop, "stop_sequence": None},
                      "usage": {"output_tokens": usage[1]}}))
    events.append(ev({"type": "message_stop"}))
    return {"sse": events}


def responses_sse(text):
    """An OpenAI Responses stream with one message item, every event with
    its full field set (docs/translate.md)."""
    resp = {"id": "resp_mock", "object": "response", "created_at": 1700000000,
            "status": "in_progress", "model": "gpt-test", "output": [], "error": None,
            "incomplete_details": None, "tools": [], "usage": None}
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    item = {"id": "msg_mock", "type": "message", "status": "completed", "role": "assistant",
            "content": [part]}
    where = {"item_id": "msg_mock", "output_index": 0, "content_index": 0}
    events = [
        {"type": "response.created", "response": resp},
        {"type": "response.output_item.added", "output_index": 0,
         "item": dict(item, status="in_progress", content=[])},
        dict(where, type="response.content_part.added", part=dict(part, text="")),
        dict(where, type="response.output_text.delta", delta=text, logprobs=[]),
        dict(where, type="response.output_text.done", text=text, logprobs=[]),
        dict(where, type="response.content_part.done", part=part),
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": dict(resp, status="completed", output=[item], usage={
            "input_tokens": 7, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 5,
            "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 12})},
    ]
    return {"sse": ["event: %s\ndata: %s\n\n" % (e["type"], json.dumps(dict(e, sequence_number=i)))
                    for i, e in enumerate(events)]}


def headers_of(record):
    return {k.lower(): v for k, v in record["headers"]}


class ClientTestCase(ZenTestCase):
    """zend with one profile `p` -> one provider `up` on the mock."""

    @classmethod
    def setUpClass(cls):
        for path in (CLAUDE, CODEX, os.path.join(CLIENTS_DIR, "node_modules", "openai")):
            if not os.path.exists(path):
                raise AssertionError("%s is missing: run `make test-clients`" % path)

    def setUp(self):
        super().setUp()
        self.mock = Mock(self.home, "up")
        self.zend = None
        self.clients = []

    def tearDown(self):
        try:
            for p in self.clients:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
            if self.zend:
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            self.mock.stop()

    def start(self, provider):
        cfg = {"providers": {"up": provider},
               "profiles": {"default": ["up"], "p": ["up"]},
               "daemon": {"listen": "127.0.0.1:0"}}
        self.write_config(cfg)
        self.zend = self.start_zend()
        self.base = "http://%s" % self.status_json()["listen"]

    def client_env(self, **extra):
        """A minimal environment: node on PATH, HOME in the temp dir."""
        home = os.path.join(self.home, "client-home")
        os.makedirs(home, exist_ok=True)
        node_dir = os.path.dirname(shutil.which("node") or "/usr/bin/node")
        env = {"PATH": "%s:/usr/local/bin:/usr/bin:/bin" % node_dir, "HOME": home,
               "LANG": "C.UTF-8", "TERM": "dumb", "NO_COLOR": "1",
               "ZEN_CLIENTS_DIR": CLIENTS_DIR}
        env.update(extra)
        return env

    def run_client(self, argv, env, cwd=None):
        """Runs a client to completion in its own process group (Codex's
        launcher starts a child), output to files. Returns (rc, out, err)."""
        n = len(self.clients)
        out_path = os.path.join(self.home, "client-%d.out" % n)
        err_path = os.path.join(self.home, "client-%d.err" % n)
        with open(out_path, "w") as out, open(err_path, "w") as err:
            p = subprocess.Popen(argv, env=env, cwd=cwd or self.home, stdin=subprocess.DEVNULL,
                                 stdout=out, stderr=err, start_new_session=True)
        self.clients.append(p)
        try:
            rc = p.wait(timeout=CLIENT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            rc = "timeout after %d s" % CLIENT_TIMEOUT_S
        # Whatever the client left behind in its group (a shell Codex
        # started, say) goes with it.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        with open(out_path) as f:
            stdout = f.read()
        with open(err_path) as f:
            stderr = f.read()
        return rc, stdout, stderr

    def upstream(self):
        """What the mock received, with each body parsed."""
        reqs = self.mock.requests()
        for r in reqs:
            r["json"] = json.loads(r["body"])
        return reqs

    def explain(self, rc, out, err):
        return "exit %s\nstdout:\n%s\nstderr:\n%s\nzend:\n%s" % (
            rc, out[-3000:], err[-3000:], self.output_of(self.zend)[-3000:])

    def assert_chat_request(self, r):
        """r is an OpenAI Chat request: right path, no Anthropic leftovers."""
        self.assertEqual((r["method"], r["path"]), ("POST", "/v1/chat/completions"))
        body = r["json"]
        self.assertIsInstance(body.get("messages"), list)
        self.assertEqual(body["model"], "gpt-test")
        self.assertLessEqual(set(body), CHAT_KEYS, "non-Chat keys in %s" % sorted(body))
        self.assertFalse(set(body) & ANTHROPIC_ONLY)
        self.assertNotIn("cache_control", r["body"])
        for m in body["messages"]:
            self.assertIn(m["role"], ("system", "developer", "user", "assistant", "tool"), m)
        for t in body.get("tools", []):
            self.assertEqual(t["type"], "function", t)
            self.assertIn("parameters", t["function"], t)
        h = headers_of(r)
        for name in ("anthropic-version", "anthropic-beta",
                     "anthropic-dangerous-direct-browser-access"):
            self.assertNotIn(name, h)

    def assert_messages_request(self, r):
        """r is an Anthropic Messages request to an anthropic provider."""
        self.assertEqual((r["method"], r["path"]), ("POST", "/v1/messages"))
        h = headers_of(r)
        self.assertEqual(h.get("anthropic-version"), "2023-06-01")
        body = r["json"]
        self.assertLessEqual(set(body), MESSAGES_KEYS, "non-Messages keys in %s" % sorted(body))
        self.assertFalse(set(body) & RESPONSES_ONLY)
        self.assertEqual(body["model"], "claude-test")
        self.assertIsInstance(body["max_tokens"], int)
        self.assertGreater(body["max_tokens"], 0)
        self.assertIsInstance(body.get("messages"), list)
        for m in body["messages"]:
            self.assertIn(m["role"], ("user", "assistant"), m)
        for t in body.get("tools", []):
            self.assertIn("input_schema", t, t)
            self.assertNotIn("parameters", t, t)
        return body


class ClaudeCodeTest(ClientTestCase):
    """Claude Code speaks Anthropic Messages; the provider speaks Chat."""

    def claude(self, prompt, *args, cwd=None):
        env = self.client_env(
            ANTHROPIC_BASE_URL=self.base + "/p/s1", ANTHROPIC_API_KEY="dummy",
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1", DISABLE_TELEMETRY="1",
            DISABLE_AUTOUPDATER="1", DISABLE_ERROR_REPORTING="1",
            # A failure shows at once instead of after Claude Code's backoff.
            CLAUDE_CODE_MAX_RETRIES="0", API_TIMEOUT_MS="30000")
        return self.run_client([CLAUDE, "-p", prompt, *args], env, cwd=cwd)

    def test_print_mode_says_hi(self):
        self.start({"base_url": self.mock.url + "/v1", "type": "openai", "model": "gpt-test"})
        self.mock.default(chat_sse(text="Hello from mock"))
        rc, out, err = self.claude("say hi")
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        self.assertIn("Hello from mock", out)
        # One request: Claude Code retries a stream it cannot read as a
        # non-streamed request, so a second one would mean a broken stream.
        reqs = self.upstream()
        self.assertEqual(len(reqs), 1, [r["json"].get("stream") for r in reqs])
        self.assert_chat_request(reqs[0])
        main = reqs[0]["json"]
        # Claude Code streams and sends its tools and system prompt: they
        # arrive in Chat form.
        self.assertIs(main["stream"], True)
        self.assertEqual(main["stream_options"], {"include_usage": True})
        self.assertEqual(main["messages"][0]["role"], "system")
        # Claude Code sends its environment (working directory, platform ...)
        # as a role "system" entry inside `messages`: it must not be lost.
        system_text = json.dumps([m["content"] for m in main["messages"]
                                  if m["role"] in ("system", "developer")])
        self.assertIn("Primary working directory", system_text)
        self.assertIn("say hi", json.dumps(main["messages"]))
        self.assertIn("Read", [t["function"]["name"] for t in main["tools"]])

    def test_print_mode_via_responses_wire(self):
        """An openai provider told to speak Responses: Messages -> Responses
        -> Messages."""
        self.start({"base_url": self.mock.url + "/v1", "type": "openai", "model": "gpt-test",
                    "openai_api": "responses"})
        self.mock.default(responses_sse("Hello from mock"))
        rc, out, err = self.claude("say hi")
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        self.assertIn("Hello from mock", out)
        reqs = self.upstream()
        self.assertEqual(len(reqs), 1, [r["json"].get("stream") for r in reqs])
        r = reqs[0]
        self.assertEqual((r["method"], r["path"]), ("POST", "/v1/responses"))
        body = r["json"]
        self.assertEqual(body["model"], "gpt-test")
        self.assertIs(body["stream"], True)
        self.assertIs(body["store"], False)
        self.assertFalse(set(body) & ANTHROPIC_ONLY, sorted(body))
        self.assertNotIn("messages", body)
        self.assertIn("Primary working directory", json.dumps(body.get("instructions")))
        self.assertIn("say hi", json.dumps(body["input"]))
        for t in body["tools"]:
            self.assertEqual(t["type"], "function", t)
        self.assertNotIn("anthropic-version", headers_of(r))

    def test_tool_call_round_trip(self):
        """The mock reasons (DeepSeek's reasoning_content), then asks for
        Claude Code's Read tool; Claude Code runs it and sends the file back
        as a Chat `tool` message, with the reasoning on the assistant turn
        (DeepSeek requires it back on tool-call turns)."""
        self.start({"base_url": self.mock.url + "/v1", "type": "openai", "model": "gpt-test"})
        work = os.path.join(self.home, "work")
        os.makedirs(work)
        note = os.path.join(work, "note.txt")
        with open(note, "w") as f:
            f.write("marker-zebra-42\n")
        self.mock.script(
            chat_sse(tool_calls=[("call_read1", "Read", json.dumps({"file_path": note}))],
                     finish="tool_calls", reasoning="I should read the note."),
            chat_sse(text="The note says zebra"))
        rc, out, err = self.claude("read note.txt", "--allowedTools", "Read", cwd=work)
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        self.assertIn("The note says zebra", out)
        reqs = self.upstream()
        self.assertEqual(len(reqs), 2, [r["json"].get("messages", [])[-1:] for r in reqs])
        for r in reqs:
            self.assert_chat_request(r)
        msgs = reqs[1]["json"]["messages"]
        calls = [m for m in msgs if m["role"] == "assistant" and m.get("tool_calls")]
        self.assertEqual(len(calls), 1, msgs[-3:])
        call = calls[0]["tool_calls"][0]
        self.assertEqual((call["id"], call["type"], call["function"]["name"]),
                         ("call_read1", "function", "Read"))
        self.assertEqual(json.loads(call["function"]["arguments"]), {"file_path": note})
        self.assertEqual(calls[0].get("reasoning_content"), "I should read the note.")
        results = [m for m in msgs if m["role"] == "tool"]
        self.assertEqual(len(results), 1, msgs[-3:])
        self.assertEqual(results[0]["tool_call_id"], "call_read1")
        self.assertIn("marker-zebra-42", json.dumps(results[0]["content"]))


class OpenAISdkTest(ClientTestCase):
    """The openai Node SDK speaks Chat Completions; the provider speaks
    Anthropic Messages."""

    def sdk(self, mode):
        rc, out, err = self.run_client(
            ["node", OPENAI_SCRIPT, mode, self.base + "/p/s1/v1"], self.client_env())
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        return json.loads(out)

    def setUp(self):
        super().setUp()
        self.start({"base_url": self.mock.url, "type": "anthropic", "model": "claude-test"})

    def test_chat_completion_non_streamed(self):
        self.mock.script({"json": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": "claude-test",
            "content": [{"type": "text", "text": "Hello from mock"}], "stop_reason": "end_turn",
            "stop_sequence": None, "usage": {"input_tokens": 3, "output_tokens": 4}}})
        got = self.sdk("plain")
        self.assertEqual(got, {
            "object": "chat.completion", "content": "Hello from mock", "role": "assistant",
            "finish_reason": "stop",
            "usage": dict(got["usage"], prompt_tokens=3, completion_tokens=4, total_tokens=7)})
        reqs = self.upstream()
        self.assertEqual(len(reqs), 1)
        body = self.assert_messages_request(reqs[0])
        self.assertEqual(body["messages"], [{"role": "user", "content": "say hi"}])
        self.assertNotIn("stream", body)

    def test_stream_with_two_tool_calls_and_usage(self):
        self.mock.script(anthropic_sse([
            ("text", "Checking."),
            ("tool_use", "toolu_01A", "get_weather", ['{"city": ', '"Paris"}']),
            ("tool_use", "toolu_01B", "get_time", ['{"city":"Paris"}'])],
            stop="tool_use", usage=(9, 20)))
        got = self.sdk("stream")
        self.assertEqual(got["content"], "Checking.")
        self.assertEqual(got["finish_reason"], "tool_calls")
        self.assertEqual(got["tool_calls"], [
            {"id": "toolu_01A", "type": "function", "name": "get_weather",
             "arguments": {"city": "Paris"}},
            {"id": "toolu_01B", "type": "function", "name": "get_time",
             "arguments": {"city": "Paris"}}])
        # The SDK's per-call "arguments done" events: one per call, in order.
        self.assertEqual(got["done_args"], [
            {"name": "get_weather", "index": 0, "arguments": {"city": "Paris"}},
            {"name": "get_time", "index": 1, "arguments": {"city": "Paris"}}])
        # include_usage: exactly one usage chunk, with no choices.
        self.assertEqual(len(got["usage_chunks"]), 1, got["usage_chunks"])
        chunk = got["usage_chunks"][0]
        self.assertEqual(chunk["choices"], 0)
        self.assertEqual((chunk["usage"]["prompt_tokens"], chunk["usage"]["completion_tokens"],
                          chunk["usage"]["total_tokens"]), (9, 20, 29))
        reqs = self.upstream()
        self.assertEqual(len(reqs), 1)
        body = self.assert_messages_request(reqs[0])
        self.assertIs(body["stream"], True)
        self.assertEqual([t["name"] for t in body["tools"]], ["get_weather", "get_time"])
        self.assertEqual(body["tools"][0]["input_schema"]["required"], ["city"])


class CodexTest(ClientTestCase):
    """Codex speaks OpenAI Responses; the provider speaks Anthropic Messages
    or, with openai_api "chat", Chat Completions."""

    def codex(self, prompt, *args):
        codex_home = os.path.join(self.home, "codex-home")
        os.makedirs(codex_home, exist_ok=True)
        with open(os.path.join(codex_home, "config.toml"), "w") as f:
            f.write('model = "gpt-5-codex"\n'
                    'model_provider = "zen"\n'
                    '\n'
                    '[model_providers.zen]\n'
                    'name = "zen"\n'
                    'base_url = "%s/p/s1/v1"\n'
                    'wire_api = "responses"\n'
                    'env_key = "ZEN_TEST_KEY"\n'
                    # A failure shows at once, not after Codex's retries.
                    'request_max_retries = 0\n'
                    'stream_max_retries = 0\n' % self.base)
        work = os.path.join(self.home, "work")
        os.makedirs(work, exist_ok=True)
        env = self.client_env(CODEX_HOME=codex_home, ZEN_TEST_KEY="dummy")
        return self.run_client([CODEX, "exec", "--skip-git-repo-check", *args, prompt], env,
                               cwd=work)

    def assert_codex_messages_request(self, r):
        body = self.assert_messages_request(r)
        h = headers_of(r)
        self.assertNotIn("originator", h)
        self.assertFalse([k for k in h if k.startswith("openai-")], h)
        # Codex's developer instructions become the Anthropic system prompt.
        self.assertIn("Codex", json.dumps(body.get("system")))
        return body

    def test_exec_says_hi(self):
        self.start({"base_url": self.mock.url, "type": "anthropic", "model": "claude-test"})
        self.mock.default(anthropic_sse([("text", "Hello from mock")], stop="end_turn"))
        rc, out, err = self.codex("say hi")
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        self.assertIn("Hello from mock", out)
        reqs = self.upstream()
        self.assertEqual(len(reqs), 1, [r["path"] for r in reqs])
        body = self.assert_codex_messages_request(reqs[0])
        self.assertIs(body["stream"], True)
        self.assertEqual(body["messages"][-1]["role"], "user")
        self.assertIn("say hi", json.dumps(body["messages"][-1]))
        self.assertIn("exec_command", [t["name"] for t in body["tools"]])

    def test_exec_runs_a_command_and_sends_its_output_back(self):
        """The mock asks for Codex's exec_command tool; Codex runs it and the
        output comes back as an Anthropic tool_result."""
        self.start({"base_url": self.mock.url, "type": "anthropic", "model": "claude-test"})
        self.mock.script(
            anthropic_sse([("text", "Running it."),
                           ("tool_use", "toolu_exec1", "exec_command",
                            ['{"cmd": "echo zebra-', '42"}'])], stop="tool_use"),
            anthropic_sse([("text", "The command said zebra-42")], stop="end_turn"))
        rc, out, err = self.codex("run echo", "--dangerously-bypass-approvals-and-sandbox")
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        self.assertIn("The command said zebra-42", out)
        reqs = self.upstream()
        self.assertEqual(len(reqs), 2, [r["path"] for r in reqs])
        for r in reqs:
            self.assert_codex_messages_request(r)
        msgs = reqs[1]["json"]["messages"]
        uses = [b for m in msgs if m["role"] == "assistant" and isinstance(m["content"], list)
                for b in m["content"] if b.get("type") == "tool_use"]
        self.assertEqual(len(uses), 1, msgs[-2:])
        self.assertEqual((uses[0]["id"], uses[0]["name"]), ("toolu_exec1", "exec_command"))
        self.assertEqual(uses[0]["input"], {"cmd": "echo zebra-42"})
        results = [b for m in msgs if m["role"] == "user" and isinstance(m["content"], list)
                   for b in m["content"] if b.get("type") == "tool_result"]
        self.assertEqual(len(results), 1, msgs[-2:])
        self.assertEqual(results[0]["tool_use_id"], "toolu_exec1")
        # The command's output, not just its text: "zebra-42" on a line of its own.
        self.assertRegex(json.dumps(results[0].get("content")), r"(\\n|\")zebra-42\\n")

    def test_exec_via_chat_wire(self):
        """An openai provider told to speak Chat: Responses -> Chat -> Responses."""
        self.start({"base_url": self.mock.url + "/v1", "type": "openai", "model": "gpt-test",
                    "openai_api": "chat"})
        self.mock.default(chat_sse(text="Hello from mock"))
        rc, out, err = self.codex("say hi")
        self.assertEqual(rc, 0, self.explain(rc, out, err))
        self.assertIn("Hello from mock", out)
        reqs = self.upstream()
        self.assertEqual(len(reqs), 1, [r["path"] for r in reqs])
        self.assert_chat_request(reqs[0])
        body = reqs[0]["json"]
        self.assertFalse(set(body) & RESPONSES_ONLY - {"parallel_tool_calls"}, sorted(body))
        self.assertEqual(body["stream_options"], {"include_usage": True})
        self.assertEqual(body["messages"][0]["role"], "system")
        self.assertIn("say hi", json.dumps(body["messages"][-1]))


if __name__ == "__main__":
    unittest.main()
