#!/usr/bin/env python3
"""Scriptable mock LLM API provider used by zend's integration tests.

A plain HTTP/1.1 server (stdlib asyncio only).  Tests queue "steps" through
the /__mock/ control endpoints; every other request is recorded and answered
by the next step.  See README.md next to this file for the full interface.
"""
import argparse
import asyncio
import base64
import collections
import http
import ipaddress
import json
import os
import re
import signal
import socket
import struct
import sys
import time
import traceback

MAX_HEAD = 64 * 1024
MAX_BODY = 64 * 1024 * 1024
TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

DEFAULT_STEP = {"status": 200, "json": {
    "id": "msg_mock", "type": "message", "role": "assistant",
    "content": [{"type": "text", "text": "hello"}], "model": "mock",
    "stop_reason": "end_turn", "usage": {"input_tokens": 1, "output_tokens": 1}}}

STEP_KEYS = {"status", "headers", "body", "json", "delay_headers_ms", "sse", "chunks",
             "end", "action", "after_events", "repeat", "keepalive", "repeat_events", "reply"}
REPLY_KEYS = {"text", "model", "usage"}
USAGE_KEYS = ("input", "output", "cache_read", "cache_write")
# The counts a reply reports unless its step says otherwise (README, "Replies").
DEFAULT_USAGE = {"input": 11, "output": 7, "cache_read": 5, "cache_write": 3}
ENDS = ("normal", "close", "reset", "stall")
ACTIONS = ("close", "reset", "stall")


class BadRequest(Exception):
    """Malformed client input: the connection is dropped without a response."""


def _need(cond, msg):
    if not cond:
        raise ValueError(msg)


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def validate_step(step):
    """Reject typos and wrong types up front, so a broken test script fails at
    POST time with a 400 instead of producing a confusing upstream response."""
    _need(isinstance(step, dict), "a step must be a JSON object")
    unknown = set(step) - STEP_KEYS
    _need(not unknown, f"unknown step keys: {sorted(unknown)}")
    for key in ("status", "after_events", "repeat", "repeat_events"):
        _need(key not in step or (isinstance(step[key], int) and not isinstance(step[key], bool)),
              f"{key} must be an integer")
    _need(step.get("repeat", 1) >= 1, "repeat must be >= 1")
    _need(step.get("repeat_events", 1) >= 1, "repeat_events must be >= 1")
    _need(_is_num(step.get("delay_headers_ms", 0)), "delay_headers_ms must be a number")
    _need(step.get("end", "normal") in ENDS, f"end must be one of {ENDS}")
    _need(step.get("action", "close") in ACTIONS, f"action must be one of {ACTIONS}")
    _need(not ("body" in step and "json" in step), "use either body or json, not both")
    _need(not ("sse" in step and "chunks" in step), "use either sse or chunks, not both")
    _need(isinstance(step.get("body", ""), str), "body must be a string")
    _need(isinstance(step.get("keepalive", True), bool), "keepalive must be a boolean")
    hdrs = step.get("headers", {})
    if isinstance(hdrs, dict):
        _need(all(isinstance(v, (str, int)) for v in hdrs.values()), "header values must be strings")
    else:
        _need(isinstance(hdrs, list) and all(isinstance(h, list) and len(h) == 2 for h in hdrs),
              "headers must be an object or a list of [name, value]")
    if "reply" in step:
        validate_reply(step)
    for key in ("sse", "chunks"):
        events = step.get(key, [])
        _need(isinstance(events, list), f"{key} must be a list")
        for ev in events:
            ev = {"data": ev} if isinstance(ev, str) else ev
            _need(isinstance(ev, dict) and set(ev) <= {"data", "delay_ms"}
                  and isinstance(ev.get("data", ""), str) and _is_num(ev.get("delay_ms", 0)),
                  f"each {key} item must be a string or {{data: str, delay_ms: number}}")
    return step


def validate_reply(step):
    reply = step["reply"]
    _need(isinstance(reply, dict), "reply must be an object")
    _need(not set(reply) - REPLY_KEYS, f"unknown reply keys: {sorted(set(reply) - REPLY_KEYS)}")
    _need(not {"body", "json", "sse", "chunks"} & set(step),
          "reply replaces body, json, sse and chunks")
    _need(isinstance(reply.get("text", ""), str), "reply.text must be a string")
    _need(isinstance(reply.get("model", ""), str), "reply.model must be a string")
    usage = reply.get("usage", {})
    _need(isinstance(usage, dict) and not set(usage) - set(USAGE_KEYS),
          f"reply.usage keys are {USAGE_KEYS}")
    _need(all(v is None or (isinstance(v, int) and not isinstance(v, bool) and v >= 0)
              for v in usage.values()), "reply.usage counts must be integers >= 0 or null")


def reply_format(path):
    """The API format a request path speaks: anthropic, chat or responses."""
    path = path.split("?", 1)[0].rstrip("/")
    if path.endswith("/chat/completions"):
        return "chat"
    if path.endswith("/responses"):
        return "responses"
    return "anthropic"


def sse_event(name, obj):
    head = f"event: {name}\n" if name else ""
    return head + "data: " + json.dumps(obj, separators=(",", ":")) + "\n\n"


def reply_anthropic(text, model, u, stream):
    usage = {"input_tokens": u["input"], "cache_creation_input_tokens": u["cache_write"],
             "cache_read_input_tokens": u["cache_read"], "output_tokens": u["output"]}
    usage = {k: v for k, v in usage.items() if v is not None}
    msg = {"id": "msg_mock", "type": "message", "role": "assistant", "model": model,
           "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
           "stop_sequence": None, "usage": usage}
    if not stream:
        return {"json": msg}
    start = dict(msg, content=[], stop_reason=None, usage=dict(usage, output_tokens=1))
    return {"sse": [
        sse_event("message_start", {"type": "message_start", "message": start}),
        sse_event("content_block_start", {"type": "content_block_start", "index": 0,
                                          "content_block": {"type": "text", "text": ""}}),
        sse_event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                          "delta": {"type": "text_delta", "text": text}}),
        sse_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        sse_event("message_delta", {"type": "message_delta",
                                    "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                                    "usage": {"output_tokens": u["output"]}}),
        sse_event("message_stop", {"type": "message_stop"})]}


def openai_usage(u, prefix, out_key):
    """OpenAI's usage: the prompt count includes the cached tokens; no cache write."""
    usage = {}
    if u["input"] is not None:
        usage[prefix + "_tokens"] = u["input"] + (u["cache_read"] or 0)
    if u["output"] is not None:
        usage[out_key] = u["output"]
    if u["input"] is not None and u["output"] is not None:
        usage["total_tokens"] = usage[prefix + "_tokens"] + u["output"]
    if u["cache_read"] is not None:
        usage[prefix + "_tokens_details"] = {"cached_tokens": u["cache_read"]}
    return usage


def reply_chat(text, model, u, stream, include_usage):
    usage = openai_usage(u, "prompt", "completion_tokens")
    base = {"id": "chatcmpl-mock", "object": "chat.completion", "created": 0, "model": model}
    if not stream:
        return {"json": dict(base, choices=[{"index": 0, "finish_reason": "stop",
                                             "message": {"role": "assistant", "content": text}}],
                             usage=usage)}
    base["object"] = "chat.completion.chunk"
    extra = {"usage": None} if include_usage else {}  # as OpenAI: null until the usage chunk

    def chunk(delta, finish=None):
        return sse_event(None, dict(base, choices=[{"index": 0, "delta": delta,
                                                    "finish_reason": finish}], **extra))
    events = [chunk({"role": "assistant", "content": ""}), chunk({"content": text}),
              chunk({}, "stop")]
    if include_usage:
        events.append(sse_event(None, dict(base, choices=[], usage=usage)))
    return {"sse": events + ["data: [DONE]\n\n"]}


def reply_responses(text, model, u, stream):
    usage = openai_usage(u, "input", "output_tokens")
    if "output_tokens" in usage:
        usage["output_tokens_details"] = {"reasoning_tokens": 0}
    part = {"type": "output_text", "text": text, "annotations": []}
    item = {"type": "message", "id": "msg_mock", "status": "completed", "role": "assistant",
            "content": [part]}
    resp = {"id": "resp_mock", "object": "response", "created_at": 0, "status": "completed",
            "model": model, "output": [item], "usage": usage}
    if not stream:
        return {"json": resp}
    seq = iter(range(1, 100))

    def ev(kind, **fields):
        return sse_event(kind, dict({"type": kind, "sequence_number": next(seq)}, **fields))
    loc = {"item_id": "msg_mock", "output_index": 0}
    return {"sse": [
        ev("response.created", response=dict(resp, status="in_progress", output=[], usage=None)),
        ev("response.output_item.added", output_index=0,
           item=dict(item, status="in_progress", content=[])),
        ev("response.content_part.added", content_index=0, part=dict(part, text=""), **loc),
        ev("response.output_text.delta", content_index=0, delta=text, **loc),
        ev("response.output_text.done", content_index=0, text=text, **loc),
        ev("response.content_part.done", content_index=0, part=part, **loc),
        ev("response.output_item.done", output_index=0, item=item),
        ev("response.completed", response=resp)]}


def reply_step(step, req):
    """A reply step made concrete for this request: an answer in the request's
    format (its path), streamed when its body says "stream": true, reporting
    the step's token counts. Header x-mock-usage repeats the counts."""
    reply = step["reply"]
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        body = {}
    body = body if isinstance(body, dict) else {}
    u = dict(DEFAULT_USAGE, **reply.get("usage", {}))
    model = reply.get("model") or (body.get("model") if isinstance(body.get("model"), str)
                                   else "") or "mock"
    text = reply.get("text", "hello")
    stream = body.get("stream") is True
    fmt = reply_format(req.target)
    if fmt == "chat":
        opts = body.get("stream_options")
        include = isinstance(opts, dict) and opts.get("include_usage") is True
        made = reply_chat(text, model, u, stream, include)
    elif fmt == "responses":
        made = reply_responses(text, model, u, stream)
    else:
        made = reply_anthropic(text, model, u, stream)
    out = {k: v for k, v in step.items() if k != "reply"}
    out.update(made)
    out["headers"] = header_list(step.get("headers")) + [["x-mock-usage", json.dumps(u)]]
    return out


def header_list(hdrs):
    if not hdrs:
        return []
    items = hdrs.items() if isinstance(hdrs, dict) else hdrs
    return [[str(k), str(v)] for k, v in items]


def response_head(status, headers):
    try:
        reason = http.HTTPStatus(status).phrase
    except ValueError:
        reason = "Mock Status"
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")


class Request:
    def __init__(self, method, target, version, headers, t):
        self.method, self.target, self.version, self.headers, self.t = method, target, version, headers, t
        self.body = b""

    def values(self, name):
        return [v for k, v in self.headers if k.lower() == name]

    @property
    def keepalive(self):
        tokens = {t.strip().lower() for v in self.values("connection") for t in v.split(",")}
        return self.version == "HTTP/1.1" and "close" not in tokens


class Conn:
    def __init__(self, cid, writer):
        self.cid, self.writer = cid, writer
        self.opened_at = time.monotonic()
        self.closed_at = None
        self.peer_closed_at = None
        self.requests = 0
        self.control = False           # carried control traffic (hidden from listings)
        self.closing = False           # we closed it: the reader's EOF is not the peer's doing
        self.peer_gone = asyncio.Event()
        self.wlock = asyncio.Lock()    # keeps "100 Continue" from interleaving with a response

    def info(self):
        return {"conn_id": self.cid, "opened_at": self.opened_at,
                "closed_at": self.closed_at, "requests": self.requests}

    def mark_peer_closed(self):
        if not self.closing and self.peer_closed_at is None:
            self.peer_closed_at = time.monotonic()
            self.closed_at = self.closed_at or self.peer_closed_at
        self.peer_gone.set()

    def close(self, reset=False):
        if self.closing:
            return
        self.closing = True
        self.closed_at = self.closed_at or time.monotonic()
        if reset:
            # SO_LINGER (1, 0) makes close() emit RST instead of FIN.
            try:
                self.writer.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
            self.writer.transport.abort()
        else:
            self.writer.close()

    async def sleep(self, ms):
        """Delay that ends early if the peer hangs up; returns False in that case."""
        if ms and ms > 0 and not self.peer_gone.is_set():
            try:
                await asyncio.wait_for(self.peer_gone.wait(), ms / 1000)
            except TimeoutError:
                pass
        return not self.peer_gone.is_set()

    async def send(self, data):
        self.writer.write(data)
        await self.writer.drain()


async def read_chunked(reader):
    body = bytearray()
    while True:
        line = await reader.readuntil(b"\r\n")
        size_txt = line.split(b";", 1)[0].strip()
        if not re.fullmatch(rb"[0-9a-fA-F]{1,15}", size_txt):
            raise BadRequest("bad chunk size")
        size = int(size_txt, 16)
        if size == 0:
            break
        if len(body) + size > MAX_BODY:
            raise BadRequest("body too large")
        body += await reader.readexactly(size)
        if await reader.readexactly(2) != b"\r\n":
            raise BadRequest("chunk not terminated by CRLF")
    while await reader.readuntil(b"\r\n") != b"\r\n":  # discard trailers
        pass
    return bytes(body)


async def read_request(reader, conn):
    """Returns the next Request, or None when the peer closed between requests."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    except asyncio.LimitOverrunError:
        raise BadRequest("request head too large")
    t = time.monotonic()
    lines = head[:-4].decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if (len(parts) != 3 or not TOKEN.fullmatch(parts[0]) or not parts[1]
            or parts[2] not in ("HTTP/1.0", "HTTP/1.1")):
        raise BadRequest("bad request line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not TOKEN.fullmatch(name):
            raise BadRequest("bad header line")
        headers.append([name, value.strip(" \t")])
    req = Request(parts[0], parts[1], parts[2], headers, t)
    if req.version == "HTTP/1.1" and any(v.lower() == "100-continue" for v in req.values("expect")):
        async with conn.wlock:
            await conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    te = ",".join(req.values("transfer-encoding")).strip().lower()
    lengths = set(req.values("content-length"))
    if te:
        if te != "chunked":
            raise BadRequest("unsupported transfer-encoding")
        req.body = await read_chunked(reader)
    elif lengths:
        cl = lengths.pop()
        if lengths or not re.fullmatch(r"[0-9]{1,12}", cl) or int(cl) > MAX_BODY:
            raise BadRequest("bad content-length")
        req.body = await reader.readexactly(int(cl))
    return req


class Mock:
    def __init__(self):
        self.next_cid = 1
        self.live = set()     # open connections
        self.tasks = set()    # connection handler tasks, cancelled on shutdown
        self.reset()

    def reset(self):
        self.queue = collections.deque()   # entries: [step, remaining uses]
        self.default = DEFAULT_STEP
        self.head = None      # step for every HEAD request (POST /__mock/head), else none
        self.records = []
        self.conns = {}       # connections shown by /__mock/connections
        for c in self.live:   # still-open ones reappear if they carry new traffic
            c.requests = 0

    def next_step(self, method="POST"):
        if method == "HEAD" and self.head is not None:
            return self.head  # probes answered on their own; the queue is left alone
        if not self.queue:
            return self.default
        entry = self.queue[0]
        entry[1] -= 1
        if entry[1] <= 0:
            self.queue.popleft()
        return entry[0]

    def record(self, conn, req):
        self.conns.setdefault(conn.cid, conn)
        conn.requests += 1
        self.records.append((len(self.records) + 1, conn, req))

    def dump_records(self):
        # peer_closed_at is read from the live connection, so it updates after the fact.
        return [{"seq": seq, "method": r.method, "path": r.target, "headers": r.headers,
                 "body": r.body.decode("utf-8", errors="replace"),
                 "body_b64": base64.b64encode(r.body).decode("ascii"),
                 "conn_id": c.cid, "t": r.t, "peer_closed_at": c.peer_closed_at}
                for seq, c, r in self.records]

    def control(self, req):
        route = (req.method, req.target.split("?", 1)[0])
        try:
            if route == ("POST", "/__mock/script"):
                steps = json.loads(req.body or b"null")
                _need(isinstance(steps, list), "script body must be a JSON array of steps")
                for step in steps:
                    validate_step(step)
                self.queue.extend([s, s.get("repeat", 1)] for s in steps)
                return 200, {"ok": True, "queued": sum(n for _, n in self.queue)}
            if route == ("POST", "/__mock/default"):
                self.default = validate_step(json.loads(req.body or b"null"))
                return 200, {"ok": True}
            if route == ("POST", "/__mock/head"):
                step = json.loads(req.body or b"null")
                self.head = None if step is None else validate_step(step)
                return 200, {"ok": True}
            if route == ("GET", "/__mock/requests"):
                return 200, self.dump_records()
            if route == ("GET", "/__mock/connections"):
                return 200, [c.info() for c in self.conns.values() if c.requests or not c.control]
            if route == ("POST", "/__mock/reset"):
                self.reset()
                return 200, {"ok": True}
        except ValueError as e:  # includes json.JSONDecodeError
            return 400, {"error": str(e)}
        return 404, {"error": f"no control endpoint {route[0]} {route[1]}"}

    async def read_loop(self, conn, reader, out):
        """Parses requests as soon as they arrive (even while a response is still
        streaming), so a client hang-up is noticed immediately."""
        try:
            while (req := await read_request(reader, conn)) is not None:
                if req.target.startswith("/__mock/"):
                    conn.control = True
                    out.put_nowait(("control", req, self.control(req)))
                else:
                    self.record(conn, req)   # before answering: stalls/resets get recorded too
                    out.put_nowait(("step", req, self.next_step(req.method)))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except Exception as e:
            if not isinstance(e, BadRequest):
                traceback.print_exc()
            conn.close()
        conn.mark_peer_closed()
        out.put_nowait(None)

    async def handle(self, reader, writer):
        task = asyncio.current_task()
        self.tasks.add(task)
        # With a zero high-water mark drain() waits until bytes reach the kernel,
        # which is what "flush each SSE event immediately" needs.
        writer.transport.set_write_buffer_limits(0)
        conn = Conn(self.next_cid, writer)
        self.next_cid += 1
        self.live.add(conn)
        self.conns[conn.cid] = conn
        items = asyncio.Queue()
        reader_task = asyncio.create_task(self.read_loop(conn, reader, items))
        try:
            while (item := await items.get()) is not None:
                kind, req, arg = item
                async with conn.wlock:
                    if kind == "control":
                        keep = await self.send_control(conn, req, *arg)
                    else:
                        keep = await self.send_step(conn, req, arg)
                if not keep:
                    break
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        except Exception:
            traceback.print_exc()
        finally:
            conn.close()
            reader_task.cancel()
            self.live.discard(conn)
            self.tasks.discard(task)

    async def send_control(self, conn, req, status, obj):
        body = json.dumps(obj).encode()
        headers = [["Content-Type", "application/json"], ["Content-Length", str(len(body))]]
        if not req.keepalive:
            headers.append(["Connection", "close"])
        await conn.send(response_head(status, headers) + body)
        return req.keepalive

    async def send_step(self, conn, req, step):
        """Writes one scripted response; returns whether the connection stays usable."""
        if not await conn.sleep(step.get("delay_headers_ms", 0)):
            return False
        action = step.get("action")
        if action == "stall":
            await conn.peer_gone.wait()
            return False
        if action:
            conn.close(reset=action == "reset")
            return False
        if "reply" in step:
            step = reply_step(step, req)
        stream = step.get("sse", step.get("chunks"))
        if stream is not None:  # repeat_events: a long stream without a long script
            stream = stream * step.get("repeat_events", 1)
        headers = header_list(step.get("headers"))
        present = {k.lower() for k, _ in headers}

        def add(name, value):  # step headers win; never send a duplicate
            if name.lower() not in present:
                headers.append([name, value])

        body = b""
        if stream is not None:
            add("Content-Type", "text/event-stream" if "sse" in step else "application/octet-stream")
            add("Transfer-Encoding", "chunked")
        else:
            if "json" in step:
                body = json.dumps(step["json"]).encode()
                add("Content-Type", "application/json")
            elif "body" in step:
                body = step["body"].encode()
                add("Content-Type", "text/plain; charset=utf-8")
            add("Content-Length", str(len(body)))
        keepalive = req.keepalive and step.get("keepalive", True)
        if not keepalive:
            add("Connection", "close")
        if req.method == "HEAD":  # a HEAD answer is the head alone (RFC 9110 9.3.2)
            await conn.send(response_head(step.get("status", 200), headers))
            return keepalive
        await conn.send(response_head(step.get("status", 200), headers) + body)

        end = step.get("end", "normal")
        if stream is not None:
            cut = len(stream) if end == "normal" else step.get("after_events", len(stream))
            for ev in stream[:cut]:
                ev = {"data": ev} if isinstance(ev, str) else ev
                if not await conn.sleep(ev.get("delay_ms", 0)):
                    return False
                data = ev.get("data", "").encode()
                if data:  # an empty chunk would mean end-of-body
                    await conn.send(b"%x\r\n%s\r\n" % (len(data), data))
            if end == "normal":
                await conn.send(b"0\r\n\r\n")
        if end == "stall":
            await conn.peer_gone.wait()
            return False
        if end in ("close", "reset"):
            conn.close(reset=end == "reset")
            return False
        return keepalive


def write_port_file(path, port):
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, path)  # readers never see a half-written file


async def serve(args):
    mock = Mock()
    server = await asyncio.start_server(mock.handle, args.host, args.port, limit=MAX_HEAD)
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        write_port_file(args.port_file, port)
    print(f"listening {port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    server.close()
    for task in list(mock.tasks):
        task.cancel()
    await asyncio.gather(*mock.tasks, return_exceptions=True)


def main():
    ap = argparse.ArgumentParser(description="Scriptable mock LLM API provider")
    ap.add_argument("--host", default="127.0.0.1", help="loopback address to bind (127.0.0.1 or ::1)")
    ap.add_argument("--port", type=int, default=0, help="port to bind; 0 = ephemeral")
    ap.add_argument("--port-file", help="write the bound port here (atomically) once listening")
    args = ap.parse_args()
    if args.host == "localhost":
        args.host = "127.0.0.1"  # a name could bind two sockets with different ephemeral ports
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        ap.error("--host must be a loopback address (127.0.0.1 or ::1)")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
