#!/usr/bin/env python3
"""A tiny, fast mock provider for benchmarks: Anthropic Messages or OpenAI Chat answers.

Much leaner than tests/mock/mock_provider.py (no scripting, no recording): an
asyncio Protocol that parses just enough HTTP/1.1 (keep-alive, Content-Length
bodies) and answers every POST with

  * a 60-event Anthropic SSE stream (chunked, one chunk per event, --gap-ms
    between events) when the body asks for "stream": true, else
  * a ~1 KiB Anthropic Messages JSON body.

With --format openai it speaks OpenAI Chat Completions instead (the provider
end of a translated request): a stream of chat.completion.chunk events (a role
chunk, 54 content deltas, a finish chunk, a usage chunk, then "data: [DONE]",
--gap-ms between them) or a ~1 KiB chat.completion JSON body.

HEAD and GET get 200 with an empty body (zend probes a cooling provider with
HEAD). Every text delta carries the mock's send time, "t=<CLOCK_MONOTONIC>",
inside its text, so a client on the same machine can measure the delay each
event picked up on its way (it survives any gateway that re-encodes events,
since it is part of the answer's text).

  python3 fastsse.py [--port 0] [--port-file PATH] [--gap-ms 10] [--format anthropic|openai]
"""
import argparse
import asyncio
import json
import os
import signal
import time

EVENTS = 60          # events per stream, message_start .. message_stop
DELTAS = EVENTS - 6  # the rest are text_delta events

MSG_START = (
    'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_bench01",'
    '"type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5",'
    '"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":812,"output_tokens":1}}}\n\n')
BLOCK_START = ('event: content_block_start\ndata: {"type":"content_block_start","index":0,'
               '"content_block":{"type":"text","text":""}}\n\n')
PING = 'event: ping\ndata: {"type": "ping"}\n\n'
DELTA = ('event: content_block_delta\ndata: {"type":"content_block_delta","index":0,'
         '"delta":{"type":"text_delta","text":"token %02d t=%.6f of a streamed answer "}}\n\n')
BLOCK_STOP = 'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
MSG_DELTA = ('event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn",'
             '"stop_sequence":null},"usage":{"output_tokens":%d}}\n\n' % DELTAS)
MSG_STOP = 'event: message_stop\ndata: {"type":"message_stop"}\n\n'

# The text of the non-streaming answers (the same in both formats).
ANSWER_TEXT = (
    "Here is a short explanation of the change. The function now checks its "
    "argument before dereferencing it, returns early on an empty buffer, and "
    "frees the temporary allocation on every exit path. I also added a unit "
    "test that covers the empty input, a single byte, and a buffer that ends "
    "exactly at the chunk boundary, which was the case that used to fail. "
    "Let me know if you want the same guard in the two other call sites; they "
    "follow the same pattern and would need a two-line change each. "
    "The test suite passes locally with the sanitizer build enabled.")

# A realistic non-streaming answer (~1 KiB), the same body nginx's mock returns.
JSON_BODY = json.dumps({
    "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
    "model": "claude-sonnet-4-5-20250929",
    "content": [{"type": "text", "text": ANSWER_TEXT}],
    "stop_reason": "end_turn", "stop_sequence": None,
    "usage": {"input_tokens": 812, "output_tokens": 143,
              "cache_creation_input_tokens": 0, "cache_read_input_tokens": 2048,
              "service_tier": "standard"},
}, separators=(",", ":")).encode()

# --- OpenAI Chat Completions (--format openai) ---

OA_MODEL = "gpt-4.1-mini-2025-04-14"
# What every chunk starts with; "created" is fixed so chunks cost nothing to build.
OA_PREFIX = ('data: {"id":"chatcmpl-BENCH01","object":"chat.completion.chunk","created":1764547200,'
             '"model":"%s","service_tier":"default","system_fingerprint":"fp_bench01",' % OA_MODEL)
OA_ROLE = (OA_PREFIX + '"choices":[{"index":0,"delta":{"role":"assistant","content":"",'
           '"refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}\n\n')
OA_DELTA = (OA_PREFIX.replace("%", "%%") + '"choices":[{"index":0,"delta":{"content":'
            '"token %02d t=%.6f of a streamed answer "},"logprobs":null,"finish_reason":null}],'
            '"usage":null}\n\n')
OA_FINISH = (OA_PREFIX + '"choices":[{"index":0,"delta":{},"logprobs":null,'
             '"finish_reason":"stop"}],"usage":null}\n\n')
OA_USAGE = (OA_PREFIX + '"choices":[],"usage":{"prompt_tokens":812,"completion_tokens":%d,'
            '"total_tokens":%d,"prompt_tokens_details":{"cached_tokens":0,"audio_tokens":0},'
            '"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,'
            '"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}\n\n'
            % (DELTAS, 812 + DELTAS))
OA_DONE = 'data: [DONE]\n\n'

# The OpenAI counterpart of JSON_BODY (~1 KiB), the body nginx's openai mock returns.
OA_JSON_BODY = json.dumps({
    "id": "chatcmpl-BENCHxFDUDYJgAACzvnptvVoYEL", "object": "chat.completion",
    "created": 1764547200, "model": OA_MODEL,
    "choices": [{"index": 0, "message": {"role": "assistant", "content": ANSWER_TEXT,
                                         "refusal": None, "annotations": []},
                 "logprobs": None, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 812, "completion_tokens": 143, "total_tokens": 955,
              "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
              "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                            "accepted_prediction_tokens": 0,
                                            "rejected_prediction_tokens": 0}},
    "service_tier": "default", "system_fingerprint": "fp_bench01",
}, separators=(",", ":")).encode()


def chunk(text):
    b = text.encode()
    return b"%x\r\n%s\r\n" % (len(b), b)


def sse_head(request_id_header):
    return (b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream; charset=utf-8\r\n"
            b"cache-control: no-cache\r\n%s: req_bench\r\n"
            b"transfer-encoding: chunked\r\n\r\n" % request_id_header)


def json_resp(request_id_header, body):
    return (b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n%s: req_bench\r\n"
            b"content-length: %d\r\n\r\n" % (request_id_header, len(body))) + body


class Anthropic:
    """message_start, content_block_start, ping, 54 text deltas, content_block_stop,
    message_delta, message_stop: 60 events."""
    sse_head = sse_head(b"request-id")
    json_resp = json_resp(b"request-id", JSON_BODY)
    head_events = (MSG_START, BLOCK_START, PING)
    delta = DELTA
    tail_events = (BLOCK_STOP, MSG_DELTA, MSG_STOP)


class OpenAI:
    """role chunk, 54 content deltas, finish chunk, usage chunk, [DONE]: 58 events
    (Chat has no block or ping events; the timed deltas are the same 54)."""
    sse_head = sse_head(b"x-request-id")
    json_resp = json_resp(b"x-request-id", OA_JSON_BODY)
    head_events = (OA_ROLE,)
    delta = OA_DELTA
    tail_events = (OA_FINISH, OA_USAGE, OA_DONE)


FORMATS = {"anthropic": Anthropic, "openai": OpenAI}
EMPTY_RESP = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n"


class Conn(asyncio.Protocol):
    """One client connection: parse requests, answer them one at a time."""

    def __init__(self, server):
        self.server = server
        self.buf = b""
        self.transport = None
        self.task = None          # the stream being sent, if any
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def connection_lost(self, exc):
        self.closed = True
        if self.task:
            self.task.cancel()

    def data_received(self, data):
        self.buf += data
        if self.task is None:
            self.process()

    def process(self):
        """Answers every complete request in the buffer (one stream at a time)."""
        while not self.closed and self.task is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > 65536:
                    self.transport.close()
                return
            head = self.buf[:end].decode("latin-1")
            lines = head.split("\r\n")
            parts = lines[0].split(" ")
            if len(parts) != 3:
                self.transport.close()
                return
            method = parts[0]
            clen = 0
            close = parts[2] == "HTTP/1.0"
            for line in lines[1:]:
                k, _, v = line.partition(":")
                k = k.strip().lower()
                if k == "content-length":
                    clen = int(v.strip())
                elif k == "connection" and v.strip().lower() == "close":
                    close = True
                elif k == "transfer-encoding":
                    self.transport.close()   # benchmark clients never chunk bodies
                    return
            if len(self.buf) < end + 4 + clen:
                return
            body = self.buf[end + 4:end + 4 + clen]
            self.buf = self.buf[end + 4 + clen:]
            if method != "POST":
                self.transport.write(EMPTY_RESP)
            elif b'"stream":true' in body.replace(b" ", b""):
                self.task = asyncio.ensure_future(self.stream(close))
                self.task.add_done_callback(self.stream_done)
                return
            else:
                self.transport.write(self.server.fmt.json_resp)
            if close:
                self.transport.close()
                return

    def stream_done(self, task):
        self.task = None
        if not task.cancelled() and not self.closed:
            self.process()

    async def stream(self, close):
        gap = self.server.gap
        fmt = self.server.fmt
        w = self.transport.write
        w(fmt.sse_head + chunk(fmt.head_events[0]))
        for ev in fmt.head_events[1:]:
            if gap:
                await asyncio.sleep(gap)
            w(chunk(ev))
        for i in range(DELTAS):
            if gap:
                await asyncio.sleep(gap)
            if self.closed:
                return
            w(chunk(fmt.delta % (i, time.monotonic())))
        for ev in fmt.tail_events:
            if gap:
                await asyncio.sleep(gap)
            w(chunk(ev))
        w(b"0\r\n\r\n")
        if close:
            self.transport.close()


class Server:
    def __init__(self, gap_ms, fmt):
        self.gap = gap_ms / 1000.0
        self.fmt = FORMATS[fmt]


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--gap-ms", type=float, default=10.0, help="delay between events")
    ap.add_argument("--format", choices=sorted(FORMATS), default="anthropic",
                    help="the API the answers are in (default anthropic)")
    args = ap.parse_args()
    srv = Server(args.gap_ms, args.format)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Conn(srv), "127.0.0.1", args.port,
                                      backlog=4096, reuse_address=True)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        tmp = "%s.tmp.%d" % (args.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
    print("listening %d" % port, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
