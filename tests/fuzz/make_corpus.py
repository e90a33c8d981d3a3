#!/usr/bin/env python3
"""Writes the committed seed corpora under tests/fuzz/corpus/<harness>/.

Seeds are small, hand-written inputs that reach each module's main paths;
the fuzzers grow from them. Each harness prefixes the bytes under test with
a few control bytes (see the harness's head comment), written here too.
Run it again after changing a seed: it rewrites the seed directories.
Standard library only.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


# ---- a minimal MessagePack encoder (enough for the seeds) ----

def mp(v):
    if v is None:
        return b"\xc0"
    if v is True:
        return b"\xc3"
    if v is False:
        return b"\xc2"
    if isinstance(v, int):
        if 0 <= v <= 0x7F:
            return bytes([v])
        if -32 <= v < 0:
            return struct.pack("b", v)
        if 0 <= v <= 0xFF:
            return b"\xcc" + bytes([v])
        if 0 <= v <= 0xFFFF:
            return b"\xcd" + struct.pack(">H", v)
        if 0 <= v <= 0xFFFFFFFF:
            return b"\xce" + struct.pack(">I", v)
        if v >= 0:
            return b"\xcf" + struct.pack(">Q", v)
        return b"\xd3" + struct.pack(">q", v)
    if isinstance(v, float):
        return b"\xcb" + struct.pack(">d", v)
    if isinstance(v, str):
        b = v.encode()
        if len(b) < 32:
            return bytes([0xA0 | len(b)]) + b
        if len(b) < 256:
            return b"\xd9" + bytes([len(b)]) + b
        return b"\xda" + struct.pack(">H", len(b)) + b
    if isinstance(v, bytes):
        return b"\xc4" + bytes([len(v)]) + v
    if isinstance(v, list):
        head = bytes([0x90 | len(v)]) if len(v) < 16 else b"\xdc" + struct.pack(">H", len(v))
        return head + b"".join(mp(x) for x in v)
    if isinstance(v, dict):
        head = bytes([0x80 | len(v)]) if len(v) < 16 else b"\xde" + struct.pack(">H", len(v))
        return head + b"".join(mp(k) + mp(x) for k, x in v.items())
    raise TypeError(v)


# ---- seeds ----

def http_seeds():
    # Byte 0: pieces (bits 0-1) and first response mode (bits 2-4); byte 1: split.
    reqs = {
        "get": b"GET /v1/models HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "post_cl": b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 27\r\n\r\n{\"model\":\"m\",\"stream\":true}",
        "chunked": b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nTrailer: t\r\n\r\n",
        "pipelined": b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"
                     b"POST /c HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                     b"GET /d HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        "expect": b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\n"
                  b"Content-Length: 4\r\n\r\nbody",
        "http10": b"GET / HTTP/1.0\r\n\r\n",
        "http10_keepalive": b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /2 HTTP/1.0\r\n\r\n",
        "smuggle": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked"
                   b"\r\n\r\n0\r\n\r\n",
        "too_big_cl": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n",
        "big_header": b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 2100 + b"\r\n\r\n",
        "upgrade": b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket"
                   b"\r\n\r\nraw bytes after upgrade",
        "garbage": b"\x00\x01GET\r\n\r\n",
        "folded_lf": b"GET / HTTP/1.1\nHost: x\n\n",
        # Regressions (tests/unit/test_http_server.c): an empty first header value.
        "empty_value": b"GET / HTTP/1.1\r\nX-Empty:\r\nHost: x\r\n\r\n",
    }
    for i, (name, body) in enumerate(reqs.items()):
        yield name, bytes([i % 256, (i * 37) % 256]) + body


def rpc_seeds():
    # Byte 0: frame cap index; bytes 1-4: piece sizes - 1.
    head = b"\x00\x03\x00\x07\x01"
    frames = {
        "request": mp([0, 1, "status", [{}]]),
        "request_noparams": mp([0, 4294967295, "reload", []]),
        "request_params": mp([0, 7, "logs", [{"follow": True, "level": "debug", "n": 200,
                                             "ratio": 0.5, "neg": -5, "big": -(2 ** 40),
                                             "list": [1, "two", None, {"k": False}]}]]),
        "response_ok": mp([1, 1, None, {"version": "0.1.0", "uptime_s": 12.5,
                                        "providers": [{"name": "a", "healthy": True}]}]),
        "response_err": mp([1, 9, {"code": 2, "message": "bad params"}, None]),
        "notification": mp([2, "log", [{"line": "x"}]]),
        "two_frames": mp([0, 1, "a", []]) + mp([2, "b", [{}]]),
        "bin_refused": mp([0, 1, "x", [{"b": b"\x00\x01"}]]),
        "huge_map": bytes([0x94, 0x00, 0x01, 0xA1, 0x78, 0x91, 0xDF, 0x05, 0xF5, 0xE1, 0x00]),
        "nested": b"\x94\x00\x02\xa1x\x91\x81\xa1k" + b"\x91" * 40 + b"\xc0",
        "ext": b"\x94\x00\x03\xa1x\x91\x81\xa1k\xd6\x01abcd",
        # Regressions (tests/unit/test_rpc.c): empty strings, NaN, a non-UTF-8 key.
        "empty_strings": mp([0, 2, "m", [{"": "", "k": ""}]]),
        "nan": mp([1, 0, float("nan"), None]),
        "bad_utf8_key": b"\x94\x00\x03\xa1m\x91\x81\xa1\xff\x01",
    }
    for name, body in frames.items():
        yield name, head + body
    yield "small_cap", b"\x01\x00\x00\x00\x00" + mp([0, 1, "status", [{"a": "bbbbbbbbbbbbbbbb"}]])


def config_seeds():
    yield "starter", b"""{
  "version": 15,
  "proxy_port": 19841,
  "default_profile": "default",
  "providers": {
    "anthropic": {
      "type": "anthropic",
      "base_url": "https://api.anthropic.com",
      "auth_token": "env:ZEN_FUZZ_TOKEN"
    }
  },
  "profiles": {
    "default": { "providers": ["anthropic"], "strategy": "failover" }
  }
}
"""
    yield "full", b"""{
  "version": 15, "proxy_port": 8080, "default_profile": "work",
  "providers": {
    "a": {"type": "anthropic", "base_url": "http://127.0.0.1:9/", "auth_token": "sk-lit",
          "auth_header": "bearer", "model": "m", "sonnet_model": "s", "opus_model": "o",
          "haiku_model": "h", "reasoning_model": "r", "proxy_url": "socks5h://127.0.0.1:1080",
          "ca_file": "/etc/ssl/ca.pem",
          "env_vars": {"CLAUDE_CODE_MAX_OUTPUT_TOKENS": 32000, "X_FLAG": true, "NAME": "v"}},
    "b": {"type": "openai", "base_url": "https://api.openai.com/v1", "auth_token": "env:ZEN_FUZZ_MISSING",
          "auth_header": "x-api-key"}
  },
  "profiles": {
    "work": {"providers": ["a", "b"], "strategy": "failover"},
    "other": {"providers": ["b"], "strategy": "round-robin"}
  },
  "disabled_providers": {"b": {"type": "today", "expires_at": 1700000000}},
  "health_check": {"enabled": true, "interval_secs": 60, "timeout_secs": 5},
  "daemon": {"listen": "[::1]:19841", "log_level": "debug", "log_file": "zend.log",
             "max_concurrent": 8, "max_header_bytes": 1024, "max_body_bytes": 0,
             "health_max_fd_ratio": 0.8, "allowed_hosts": ["localhost", "example.test"],
             "allowed_origins": ["http://localhost:3000"],
             "access_keys": ["secret-key",
               "blake2b:0000000000000000000000000000000000000000000000000000000000000000"]},
  "unknown_top_level": 1
}
"""
    yield "errors", b'{"providers": {"x": {"base_url": "ftp://h"}}, "profiles": {"p": {"providers": ["nope"]}}}'
    yield "dup", b'{"proxy_port": 1, "proxy_port": 2}'
    yield "daemon_listen", b'{"daemon": {"listen": "localhost:0", "idle_timeout_ms": 1, "log_level": "warn"}}'
    yield "not_object", b'[1, 2, {"a": null}]'


def sse_seeds():
    # Bytes 0-3: piece sizes (mod 64; 0 = one byte after an empty feed).
    head = b"\x05\x11\x00\x3f"
    bodies = {
        "anthropic": b"event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
                     b"event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                     b"\"delta\":{\"text\":\"\\\"type\\\": \\\"message_stop\\\"\"}}\n\n"
                     b"event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n",
        "openai_done": b"data: {\"choices\":[{\"delta\":{\"content\":\"hi\"},\"finish_reason\":null}]}\r\n\r\n"
                       b"data: [DONE]\r\n\r\n",
        "openai_finish": b"data: {\"choices\":[{\"finish_reason\" :\n \"stop\"}]}\r\r",
        "finish_empty": b"data: {\"finish_reason\":\"\"}\n\ndata: {\"finish_reason\": 1}\n\n",
        "responses": b"event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\"}\n\n"
                     b"event: response.completed\n\n",
        "split_data": b"data: {\"ty\ndata: pe\": \"message_stop\"}\n\n",
        "truncated": b"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"x\"",
        "comment": b": keep-alive\n\nretry: 100\nid: 1\ndata:[DONE]   \t\n",
    }
    for name, body in bodies.items():
        yield name, head + body


def tr_decode_seeds():
    """fuzz_tr_decode: byte 0 = wire*2 + (1 for a JSON body) + 6*flags (bit 0
    clean end, bit 1 grace timer), byte 1 seeds the piece sizes."""
    A, C, R = 0, 1, 2

    def d(obj):
        return b"data: " + obj.encode() + b"\n\n"

    def e(name, obj):
        return b"event: " + name.encode() + b"\n" + d(obj)

    def c_chunk(delta, finish=None):
        f = "" if finish is None else ',"finish_reason":"%s"' % finish
        return d('{"id":"c1","model":"g","choices":[{"index":0,"delta":%s%s}]}' % (delta, f))

    a_stream = (
        e("message_start", '{"type":"message_start","message":{"id":"msg_1","model":"c",'
          '"usage":{"input_tokens":25,"cache_read_input_tokens":5}}}')
        + e("ping", '{"type":"ping"}')
        + e("content_block_start", '{"type":"content_block_start","index":0,'
            '"content_block":{"type":"thinking","thinking":""}}')
        + e("content_block_delta", '{"type":"content_block_delta","index":0,'
            '"delta":{"type":"thinking_delta","thinking":"t"}}')
        + e("content_block_delta", '{"type":"content_block_delta","index":0,'
            '"delta":{"type":"signature_delta","signature":"S"}}')
        + e("content_block_stop", '{"type":"content_block_stop","index":0}')
        + e("content_block_start", '{"type":"content_block_start","index":1,'
            '"content_block":{"type":"tool_use","id":"toolu_1","name":"f","input":{}}}')
        + e("content_block_delta", '{"type":"content_block_delta","index":1,'
            '"delta":{"type":"input_json_delta","partial_json":"{\\"a\\":1}"}}')
        + e("content_block_stop", '{"type":"content_block_stop","index":1}')
        + e("message_delta", '{"type":"message_delta","delta":{"stop_reason":"tool_use",'
            '"stop_sequence":null},"usage":{"output_tokens":9}}')
        + e("message_stop", '{"type":"message_stop"}'))
    c_stream = (
        b": OPENROUTER PROCESSING\n\n"
        + c_chunk('{"role":"assistant","reasoning_content":"r"}')
        + c_chunk('{"content":"Let me"}')
        + c_chunk('{"tool_calls":[{"index":0,"id":"call_1","function":{"name":"Read","arguments":""}}]}')
        + c_chunk('{"tool_calls":[{"index":1,"id":"call_2","function":{"name":"W","arguments":{"b":2}}}]}')
        + c_chunk('{"tool_calls":[{"index":0,"function":{"arguments":"{\\"p\\":1}"}}]}')
        + c_chunk('{"tool_calls":[{"index":0,"id":"B","function":{"name":"g","arguments":"{}"}}]}')
        + c_chunk("{}", "tool_calls")
        + d('{"id":"c1","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":2,'
            '"prompt_tokens_details":{"cached_tokens":4}}}')
        + b"data: [DONE]\n\n")
    r_stream = (
        e("response.created", '{"type":"response.created","response":{"id":"resp_1","model":"g"}}')
        + e("response.output_item.added", '{"type":"response.output_item.added","output_index":0,'
            '"item":{"type":"reasoning","id":"rs_1","summary":[]}}')
        + e("response.reasoning_summary_text.delta", '{"type":"response.reasoning_summary_text.delta",'
            '"item_id":"rs_1","output_index":0,"summary_index":0,"delta":"a"}')
        + e("response.output_item.done", '{"type":"response.output_item.done","output_index":0,'
            '"item":{"type":"reasoning","id":"rs_1"}}')
        + e("response.content_part.added", '{"type":"response.content_part.added","item_id":"m",'
            '"output_index":1,"content_index":0,"part":{"type":"output_text","text":""}}')
        + e("response.output_text.delta", '{"type":"response.output_text.delta","item_id":"m",'
            '"output_index":1,"content_index":0,"delta":"Hi"}')
        + e("response.content_part.done", '{"type":"response.content_part.done","item_id":"m",'
            '"output_index":1,"content_index":0}')
        + e("response.output_item.added", '{"type":"response.output_item.added","output_index":2,'
            '"item":{"type":"function_call","id":"fc_1","call_id":"c9","name":"get","arguments":""}}')
        + e("response.function_call_arguments.done", '{"type":"response.function_call_arguments.done",'
            '"item_id":"fc_1","output_index":2,"arguments":"{\\"q\\":1}"}')
        + e("response.output_item.added", '{"type":"response.output_item.added","output_index":3,'
            '"item":{"type":"custom_tool_call","id":"ctc_1","call_id":"c3","name":"apply_patch"}}')
        + e("response.custom_tool_call_input.delta", '{"type":"response.custom_tool_call_input.delta",'
            '"item_id":"ctc_1","output_index":3,"delta":"*** Begin"}')
        + e("response.output_item.done", '{"type":"response.output_item.done","output_index":3,'
            '"item":{"type":"custom_tool_call","id":"ctc_1","input":"*** Begin"}}')
        + e("response.completed", '{"type":"response.completed","response":{"id":"resp_1",'
            '"status":"completed","usage":{"input_tokens":12,"input_tokens_details":'
            '{"cached_tokens":2},"output_tokens":3}}}'))
    seeds = {
        "a_stream": (A * 2, a_stream),
        "a_stream_eof": (A * 2, a_stream[: len(a_stream) // 2]),
        "a_error": (A * 2, e("error", '{"type":"error","error":{"type":"overloaded_error","message":"O"}}')),
        "c_stream": (C * 2, c_stream),
        "c_no_blank_lines": (C * 2, c_stream.replace(b"\n\n", b"\n")),
        "c_cut_after_finish": (C * 2 + 12, c_stream[: c_stream.index(b'"tool_calls"}') + 20]),
        "c_crlf_bom": (C * 2, b"\xef\xbb\xbf" + c_stream.replace(b"\n", b"\r\n")),
        "c_error_chunk": (C * 2, c_chunk('{"content":"x"}') + d('{"error":{"message":"m","type":"server_error"}}')),
        "r_stream": (R * 2, r_stream),
        "r_data_only": (R * 2, b"".join(l + b"\n" for l in r_stream.split(b"\n") if not l.startswith(b"event:"))),
        "a_json": (A * 2 + 1, b'{"id":"msg_1","model":"c","content":[{"type":"thinking","thinking":"t",'
                   b'"signature":"S"},{"type":"redacted_thinking","data":"R"},{"type":"text","text":"a"},'
                   b'{"type":"tool_use","id":"toolu_1","name":"f","input":{"x":1}}],"stop_reason":"tool_use",'
                   b'"usage":{"input_tokens":10,"cache_read_input_tokens":90,"output_tokens":7}}'),
        "c_json": (C * 2 + 1, b'{"id":"chatcmpl-9","model":"gpt","choices":[{"index":1,"message":{"content":"B"}},'
                   b'{"index":0,"message":{"content":[{"type":"text","text":"Hi"}],"reasoning_content":"r",'
                   b'"tool_calls":[{"id":"call_1","function":{"name":"f","arguments":"{\\"x\\":1}"}},'
                   b'{"function":{"name":"g","arguments":{"y":2}}}]},"finish_reason":"stop"}],'
                   b'"usage":{"prompt_tokens":100,"completion_tokens":20,"prompt_cache_hit_tokens":80}}'),
        "r_json": (R * 2 + 1, b'{"id":"resp_1","model":"g","status":"incomplete","incomplete_details":'
                   b'{"reason":"max_output_tokens"},"output":[{"type":"reasoning","summary":[{"text":"a"},'
                   b'{"text":"b"}]},{"type":"message","content":[{"type":"output_text","text":"hi"},'
                   b'{"type":"refusal","refusal":"no"}]},{"type":"function_call","call_id":"c",'
                   b'"name":"f","arguments":"{}"},{"type":"custom_tool_call","call_id":"p","name":"ap",'
                   b'"input":"x\\"y"}],"usage":{"input_tokens":5,"output_tokens":3}}'),
        "json_error": (C * 2 + 1, b'{"error":{"type":"rate_limit_error","message":"slow"}}'),
        "json_not_json": (A * 2 + 1, b"<html>bad gateway</html>"),
    }
    for i, (name, (pick, body)) in enumerate(sorted(seeds.items())):
        flags = pick // 6 if pick >= 6 else 1
        yield name, bytes([pick % 6 + 6 * flags, (i * 37) & 0xFF]) + body


def zjson_seeds():
    """Flag byte (bit 0 DECODE_ANY, bit 1 ALLOW_NUL), then a JSON text."""
    texts = {
        "request": b'{"model":"m","max_tokens":1024,"messages":[{"role":"user","content":'
                   b'"int f(void) {\\n  return 0;\\n}"}],"stream":true,"temperature":0.7}',
        "answer": b'{"id":"c","choices":[{"message":{"content":"caf\xc3\xa9 \\u20ac '
                  b'\\ud83d\\ude00","tool_calls":[{"function":{"arguments":"{\\"a\\":'
                  b'[1,2.5e-3,null]}"}}]},"finish_reason":"stop"}],"usage":{"prompt_tokens":8}}',
        "escapes": b'["\\"\\\\\\/\\b\\f\\n\\r\\t\\u0000\\u001f",-0,0.0,'
                   b'-1e-5,1E+3,9223372036854775807,true,false,null,{},[]]',
        "scalar": b' "just a string" ',
        "duplicates": b'{"b":1,"a":2,"b":{"c":[]}}',
    }
    for i, (name, text) in enumerate(sorted(texts.items())):
        yield name, bytes([i & 3]) + text


def usage_seeds():
    """Byte 0: format (% 3: A, C, R) | 4 for a stream; bytes 1..4: piece sizes;
    then an answer that reports usage."""
    a_sse = (b'event: message_start\ndata: {"type":"message_start","message":{"id":"m",'
             b'"usage":{"input_tokens":12,"cache_read_input_tokens":5,'
             b'"cache_creation_input_tokens":3,"output_tokens":1}}}\n\n'
             b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
             b'"delta":{"type":"text_delta","text":"a \\"usage\\": {}"}}\n\n'
             b'event: message_delta\ndata: {"type":"message_delta","delta":{},'
             b'"usage":{"output_tokens":9}}\n\n')
    c_sse = (b'data: {"choices":[{"delta":{"content":"hi"}}],"usage":null}\n\n'
             b'data: {"choices":[],"usage":{"prompt_tokens":20,"completion_tokens":4,'
             b'"prompt_tokens_details":{"cached_tokens":6}}}\n\ndata: [DONE]\n\n')
    r_sse = (b'event: response.completed\ndata: {"type":"response.completed","response":'
             b'{"output":[{"content":[{"text":"x"}]}],"usage":{"input_tokens":7,'
             b'"output_tokens":2,"input_tokens_details":{"cached_tokens":1}}}}\n\n')
    a_json = (b'{"content":[{"type":"tool_use","input":{"usage":{"input_tokens":99}}}],'
              b'"usage":{"input_tokens":3,"output_tokens":4}}')
    c_json = b'{"choices":[],"usage":{"prompt_tokens":8,"completion_tokens":2}}'
    seeds = {"a_sse": (4, a_sse), "c_sse": (5, c_sse), "r_sse": (6, r_sse),
             "a_json": (0, a_json), "c_json": (1, c_json)}
    for i, (name, (pick, body)) in enumerate(sorted(seeds.items())):
        yield name, bytes([pick, 1 + i, 7, 63, 2]) + body


def tr_chunk_seeds():
    """fuzz_tr_chunk: byte 0 bit 0 clean end, bit 1 a role chunk first;
    byte 1 seeds the piece sizes; then a Chat stream."""
    def d(obj):
        return b"data: " + obj.encode() + b"\n\n"

    oa = ('"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764547200,'
          '"model":"gpt-4.1-mini","system_fingerprint":"fp_1",')

    def text(s, finish="null"):
        return d('{%s"choices":[{"index":0,"delta":{"content":"%s"},"logprobs":null,'
                 '"finish_reason":%s}],"usage":null}' % (oa, s, finish))
    usage = d('{%s"choices":[],"usage":{"prompt_tokens":812,"completion_tokens":54}}' % oa)
    streams = {
        "openai": (3, text("Hello") + text(" wor\\nld \\\"q\\\" \\u00e9\\ud83d\\ude00")
                   + d('{%s"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}' % oa)
                   + usage + b"data: [DONE]\n\n"),
        "reasoning": (3, d('{"id":"d","choices":[{"index":0,"delta":{"content":null,'
                           '"reasoning_content":"think"}}]}')
                      + d('{"id":"d","choices":[{"index":0,"delta":{"reasoning":"more",'
                          '"content":"ans"},"finish_reason":"length"}],'
                          '"usage":{"prompt_tokens":1}}')),
        "choices": (3, d('{"choices":[{"index":1,"delta":{"content":"b"}},{"delta":{"content":"a"},'
                         '"index":-0}],"error":null}')
                    + d('{"choices":[{"index":0,"delta":{"content":"x","content":"y"},'
                        '"finish_reason":"insufficient_system_resource"}]}')),
        "no_role": (0, text("first") + text("cut", '"tool_calls"')),
        "tools": (2, d('{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",'
                       '"function":{"name":"R","arguments":"{}"}}]}}]}') + text("after")),
    }
    for name, (flags, body) in sorted(streams.items()):
        yield name, bytes([flags, 7]) + body


def routing_seeds():
    """Byte 0 % 3: the client format (A, C, R); then a request body whose
    routing facts the scan and the tree both read."""
    bodies = {
        "a_plain": (0, b'{"model":"claude-3-5-haiku","max_tokens":9,"thinking":{"type":"enabled"},'
                       b'"tools":[{"name":"x","input_schema":{}},{"type":"web_search_20250305"}],'
                       b'"messages":[{"role":"user","content":[{"type":"tool_result",'
                       b'"content":[{"type":"image","source":{}}]}]}]}'),
        "a_dupes": (0, b'{"model":"a","model":"claude-haiku","thinking":true,"thinking":false,'
                       b'"messages":[{"role":"user","content":[{"type":"image"}],"role":"x"}]}'),
        "a_escapes": (0, b'{"model":"m\u0041","x":"\ud83d\ude00\n\"","y":[1.5e3,-0,null]}'),
        "c_plain": (1, b'{"model":"gpt-5","reasoning_effort":"high","web_search_options":{},'
                       b'"messages":[{"role":"user","content":[{"type":"image_url",'
                       b'"image_url":{"url":"data:,"}}]}],"stream":true}'),
        "r_plain": (2, b'{"model":"gpt-5","reasoning":{"effort":"low"},"tools":'
                       b'[{"type":"web_search_preview"}],"input":[{"role":"user","content":'
                       b'[{"type":"input_image","image_url":"x"}]}]}'),
        "not_json": (0, b'{"model":"claude-haiku","x":1e400}'),
    }
    for name, (fmt, body) in sorted(bodies.items()):
        yield name, bytes([fmt]) + body


def write(harness, seeds):
    d = os.path.join(HERE, "corpus", harness)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in seeds:
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("http", http_seeds())
    write("rpc", rpc_seeds())
    write("config", config_seeds())
    write("sse", sse_seeds())
    write("tr_decode", tr_decode_seeds())
    write("tr_chunk", tr_chunk_seeds())
    write("zjson", zjson_seeds())
    write("usage", usage_seeds())
    write("routing", routing_seeds())


if __name__ == "__main__":
    main()
