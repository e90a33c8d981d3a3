#!/usr/bin/env python3
"""Self-test for mock_provider.py: starts it as a subprocess and exercises every
feature over raw sockets / http.client.  Exits 0 and prints "N passed, 0 failed"
on success; non-zero with the failing checks otherwise."""
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "mock_provider.py")
SUITE_BUDGET_S = 18.0     # hard cap; the requirement is < 20 s
IO_TIMEOUT_S = 5.0
PORT = None
PROC = None


# ---------------------------------------------------------------- helpers

class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_until(pred, timeout=3.0, what="condition"):
    """Deadline polling: returns pred()'s truthy value or fails after timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.monotonic() > deadline:
            raise Fail(f"timed out waiting for {what}")
        time.sleep(0.01)


def ctl(method, path, obj=None):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=IO_TIMEOUT_S)
    try:
        body = None if obj is None else json.dumps(obj)
        c.request(method, "/__mock/" + path, body=body,
                  headers={"Content-Type": "application/json"} if body else {})
        r = c.getresponse()
        return r.status, json.loads(r.read())
    finally:
        c.close()


def script(*steps):
    status, resp = ctl("POST", "script", list(steps))
    check(status == 200, f"script rejected: {resp}")


def records():
    return ctl("GET", "requests")[1]


def connect():
    s = socket.create_connection(("127.0.0.1", PORT), timeout=IO_TIMEOUT_S)
    return s, s.makefile("rb")


def raw_request(path="/v1/messages", body=b"{}", extra=b""):
    return (b"POST %s HTTP/1.1\r\nHost: x\r\n%sContent-Length: %d\r\n\r\n%s"
            % (path.encode(), extra, len(body), body))


def read_head(f):
    status_line = f.readline()
    check(status_line.startswith(b"HTTP/1.1 "), f"bad status line {status_line!r}")
    headers = {}
    while (line := f.readline()) not in (b"\r\n", b""):
        k, _, v = line.decode().partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(status_line.split()[1]), headers


def read_chunks(f, limit=None):
    """Reads chunked framing; returns ([(arrival_time, bytes)], saw_terminator)."""
    out = []
    while limit is None or len(out) < limit:
        size_line = f.readline()
        if not size_line:
            return out, False
        size = int(size_line.strip(), 16)
        if size == 0:
            check(f.readline() == b"\r\n", "missing CRLF after last chunk")
            return out, True
        data = f.read(size)
        check(f.read(2) == b"\r\n", "chunk not CRLF-terminated")
        out.append((time.monotonic(), data))
    return out, False


def get(path="/v1/messages", conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", PORT, timeout=IO_TIMEOUT_S)
    c.request("POST", path, body="{}")
    r = c.getresponse()
    return r, r.read()


def close_client(s, f):
    # The makefile() object holds its own reference; both must go for the fd to close.
    f.close()
    s.close()


def expect_closed(s, f, want_reset=None):
    """Asserts the server ends the connection; want_reset: True=RST, False=FIN."""
    try:
        data = f.read()
        check(data == b"", f"unexpected extra data {data[:80]!r}")
        check(want_reset is not True, "expected RST, got orderly close")
    except ConnectionResetError:
        check(want_reset is not False, "expected orderly close, got RST")
    finally:
        close_client(s, f)


def expect_silence(s, seconds=0.3):
    s.settimeout(seconds)
    try:
        data = s.recv(1)
        raise Fail(f"expected stall, got {data!r}")
    except socket.timeout:
        pass
    finally:
        s.settimeout(IO_TIMEOUT_S)


def peer_closed_of(seq_index):
    return lambda: records()[seq_index]["peer_closed_at"]


SSE3 = [{"data": "event: a\ndata: 1\n\n"}, {"data": "event: b\ndata: 2\n\n"},
        {"data": "event: c\ndata: 3\n\n"}]

# ---------------------------------------------------------------- tests
TESTS = []


def test(fn):
    TESTS.append(fn)
    return fn


@test
def default_response():
    r, body = get()
    check(r.status == 200, f"status {r.status}")
    check(r.getheader("content-type") == "application/json", "content-type")
    check(int(r.getheader("content-length")) == len(body), "content-length")
    doc = json.loads(body)
    check(doc["id"] == "msg_mock" and doc["content"][0]["text"] == "hello", f"body {doc}")
    check(doc["usage"] == {"input_tokens": 1, "output_tokens": 1}, "usage")


@test
def keepalive_and_connections():
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=IO_TIMEOUT_S)
    for _ in range(3):
        r, _ = get(conn=c)
        check(r.status == 200, "status")
    recs = records()
    check(len(recs) == 3 and len({x["conn_id"] for x in recs}) == 1, "3 requests on one conn")
    check([x["seq"] for x in recs] == [1, 2, 3], "seq numbering")
    conns = ctl("GET", "connections")[1]
    check(len(conns) == 1, f"control connections must be hidden: {conns}")
    check(conns[0]["conn_id"] == recs[0]["conn_id"] and conns[0]["requests"] == 3, f"{conns}")
    check(conns[0]["closed_at"] is None and conns[0]["opened_at"] <= recs[0]["t"], "open times")
    c.close()
    wait_until(lambda: ctl("GET", "connections")[1][0]["closed_at"], what="closed_at")


@test
def record_fields():
    s, f = connect()
    s.sendall(b"PUT /v1/x?beta=true&a=b HTTP/1.1\r\nHost: h\r\nX-Api-KEY: k1\r\n"
              b"x-order: 2\r\nContent-Length: 4\r\n\r\n\xff\x00ab")
    check(read_head(f)[0] == 200, "status")
    close_client(s, f)
    rec = records()[0]
    check(rec["method"] == "PUT" and rec["path"] == "/v1/x?beta=true&a=b", f"{rec}")
    check(rec["headers"] == [["Host", "h"], ["X-Api-KEY", "k1"], ["x-order", "2"],
                             ["Content-Length", "4"]], f"headers {rec['headers']}")
    check(rec["body_b64"] == "/wBhYg==", f"body_b64 {rec['body_b64']}")
    check(rec["body"] == "\ufffd\x00ab", f"body {rec['body']!r}")
    check(isinstance(rec["conn_id"], int) and isinstance(rec["t"], float), "types")


@test
def chunked_request_body():
    s, f = connect()
    s.sendall(b"POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: y\r\n\r\n")
    check(read_head(f)[0] == 200, "status")
    close_client(s, f)
    check(records()[0]["body"] == "hello, world", f"{records()[0]['body']!r}")


@test
def expect_100_continue():
    s, f = connect()
    s.sendall(b"POST /e HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
    check(f.readline() == b"HTTP/1.1 100 Continue\r\n" and f.readline() == b"\r\n",
          "100 Continue must come before the body is sent")
    s.sendall(b"abc")
    check(read_head(f)[0] == 200, "final status")
    close_client(s, f)
    check(records()[0]["body"] == "abc", "body after 100-continue")


@test
def malformed_input_closes_connection():
    for garbage in (b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                    b"POST / HTTP/1.1\r\nContent-Length: x\r\n\r\n",
                    b"POST / HTTP/1.1\r\nbad header\r\n\r\n",
                    b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                    b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n"):
        s, f = connect()
        try:
            s.sendall(garbage)
        except ConnectionError:
            pass
        try:
            check(f.read() == b"", f"no response expected for {garbage[:30]!r}")
        except ConnectionResetError:
            pass
        close_client(s, f)
    check(get()[0].status == 200, "server still serving after malformed input")


@test
def script_fifo_status_headers_body_json():
    script({"status": 201, "body": "plain", "headers": {"X-A": "1"}},
           {"status": 529, "json": {"type": "error"}, "headers": [["X-B", "2"], ["X-B", "3"]]},
           {"status": 200, "body": "{}", "headers": {"content-type": "application/x-custom"}})
    r, body = get()
    check((r.status, body, r.getheader("x-a")) == (201, b"plain", "1"), "step 1")
    check(r.getheader("content-type").startswith("text/plain"), "text default ctype")
    r, body = get()
    check(r.status == 529 and json.loads(body) == {"type": "error"}, "step 2")
    check(r.msg.get_all("X-B") == ["2", "3"] and r.reason == "Mock Status", "list headers")
    r, body = get()
    check(r.msg.get_all("content-type") == ["application/x-custom"], "header override")
    r, body = get()
    check(json.loads(body)["id"] == "msg_mock", "default after queue drained")


@test
def set_default_and_reset():
    check(ctl("POST", "default", {"status": 503, "body": "down"})[0] == 200, "set default")
    check(get()[0].status == 503 and get()[0].status == 503, "default used repeatedly")
    script({"status": 202})
    check(get()[0].status == 202 and get()[0].status == 503, "queue before default")
    script({"status": 204}, {"status": 205})
    ctl("POST", "reset")
    check(records() == [] and ctl("GET", "connections")[1] == [], "reset clears records")
    check(get()[0].status == 200, "reset restores default and clears queue")


@test
def head_step_of_its_own():
    script({"status": 201})
    check(ctl("POST", "head", {"status": 429, "headers": {"Retry-After": "7"}})[0] == 200,
          "set head step")
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=IO_TIMEOUT_S)
    c.request("HEAD", "/")
    r = c.getresponse()
    r.read()
    check(r.status == 429 and r.getheader("Retry-After") == "7", "HEAD got the head step")
    check(get(conn=c)[0].status == 201, "the queued step is still there for the POST")
    check(ctl("POST", "head", None)[0] == 200, "clear head step")
    script({"status": 202})
    c.request("HEAD", "/")
    r = c.getresponse()
    r.read()
    check(r.status == 202, "HEAD takes queued steps again")
    check(ctl("POST", "head", {"statuz": 1})[0] == 400, "head step validated")
    c.close()
    ctl("POST", "reset")


@test
def control_validation():
    for bad in ([{"statuz": 200}], [{"end": "explode"}], [{"repeat": 0}], {"status": 200},
                [{"sse": [{"data": 1}]}], [{"body": "x", "json": 1}]):
        status, resp = ctl("POST", "script", bad)
        check(status == 400 and "error" in resp, f"{bad} should be rejected")
    check(ctl("GET", "nope")[0] == 404, "unknown control endpoint")
    check(records() == [], "control requests are never recorded")
    check(get()[0].status == 200, "bad scripts queue nothing")


@test
def delay_headers():
    script({"delay_headers_ms": 300})
    t0 = time.monotonic()
    r, _ = get()
    check(r.status == 200 and time.monotonic() - t0 >= 0.28, "delay_headers_ms honoured")


@test
def sse_stream_flushed_per_event():
    events = [{"data": "event: message_start\ndata: {}\n\n"},
              {"data": "event: ping\ndata: {}\n\n", "delay_ms": 300},
              "event: message_stop\ndata: {}\n\n"]
    script({"sse": events})
    s, f = connect()
    t0 = time.monotonic()
    s.sendall(raw_request())
    status, h = read_head(f)
    check(status == 200 and h["content-type"] == "text/event-stream", f"{h}")
    check(h["transfer-encoding"] == "chunked" and "content-length" not in h, "chunked")
    chunks, terminated = read_chunks(f)
    check(terminated, "terminating zero chunk")
    check([d.decode() for _, d in chunks] == [e if isinstance(e, str) else e["data"] for e in events],
          "one chunk per event, verbatim")
    check(chunks[0][0] - t0 < 0.25, "first event flushed before the delayed one")
    check(chunks[1][0] - chunks[0][0] >= 0.28, "delay_ms before event 2")
    s.sendall(raw_request())  # connection stays usable
    check(read_head(f)[0] == 200, "keep-alive after stream")
    close_client(s, f)


@test
def raw_chunks():
    script({"chunks": [{"data": '{"a":'}, {"data": "1}", "delay_ms": 50}],
            "headers": {"Content-Type": "application/json"}})
    r, body = get()
    check(body == b'{"a":1}' and r.getheader("transfer-encoding") == "chunked", "chunks body")
    check(r.getheader("content-type") == "application/json", "ctype override")


@test
def end_close_after_events():
    script({"sse": SSE3, "end": "close", "after_events": 1})
    s, f = connect()
    s.sendall(raw_request())
    read_head(f)
    chunks, terminated = read_chunks(f)
    check(len(chunks) == 1 and not terminated, f"one event then EOF, got {len(chunks)}")
    expect_closed(s, f, want_reset=False)


@test
def end_close_all_events():
    script({"sse": SSE3, "end": "close"})
    s, f = connect()
    s.sendall(raw_request())
    read_head(f)
    chunks, terminated = read_chunks(f)
    check(len(chunks) == 3 and not terminated, "all events, no terminator")
    expect_closed(s, f, want_reset=False)


@test
def end_reset_after_events():
    script({"sse": SSE3, "end": "reset", "after_events": 2})
    s, f = connect()
    s.sendall(raw_request())
    read_head(f)
    got, _ = read_chunks(f, limit=2)
    check(len(got) == 2, f"2 events delivered before the RST, got {len(got)}")
    expect_closed(s, f, want_reset=True)


@test
def end_stall_then_client_close():
    script({"sse": SSE3, "end": "stall", "after_events": 1})
    s, f = connect()
    s.sendall(raw_request())
    read_head(f)
    chunks, _ = read_chunks(f, limit=1)
    check(len(chunks) == 1, "first event before stall")
    expect_silence(s)
    check(records()[0]["peer_closed_at"] is None, "connection still open while stalled")
    closed = time.monotonic()
    close_client(s, f)
    at = wait_until(peer_closed_of(0), what="peer_closed_at")
    check(closed - 0.05 <= at <= closed + 1.0, f"peer_closed_at {at} vs close {closed}")


@test
def action_close_and_reset():
    script({"action": "close"}, {"action": "reset"})
    s, f = connect()
    s.sendall(raw_request(path="/closed"))
    expect_closed(s, f, want_reset=False)
    s, f = connect()
    s.sendall(raw_request(path="/reset"))
    expect_closed(s, f, want_reset=True)
    recs = records()
    check([r["path"] for r in recs] == ["/closed", "/reset"], "both recorded before acting")
    check(all(r["peer_closed_at"] is None for r in recs), "server-side close is not a peer close")
    conns = ctl("GET", "connections")[1]
    check(all(c["closed_at"] for c in conns), "closed_at set for server-closed connections")


@test
def action_stall_and_peer_close_live():
    script({"action": "stall"})
    s, f = connect()
    s.sendall(raw_request(path="/stall"))
    wait_until(lambda: records(), what="stalled request recorded")
    expect_silence(s)
    closed = time.monotonic()
    close_client(s, f)
    at = wait_until(peer_closed_of(0), what="peer_closed_at")
    check(at - closed < 1.0 and at >= records()[0]["t"], "peer close detected promptly")


@test
def peer_close_detected_mid_delay():
    script({"sse": [{"data": "a\n\n"}, {"data": "b\n\n", "delay_ms": 5000}]})
    s, f = connect()
    s.sendall(raw_request())
    read_head(f)
    read_chunks(f, limit=1)
    closed = time.monotonic()
    close_client(s, f)
    at = wait_until(peer_closed_of(0), what="peer_closed_at")
    check(at - closed < 1.0, "close noticed while the mock was sleeping")
    wait_until(lambda: ctl("GET", "connections")[1][0]["closed_at"], what="connection closed")


@test
def repeat_step():
    script({"status": 429, "repeat": 3}, {"status": 201})
    got = [get()[0].status for _ in range(5)]
    check(got == [429, 429, 429, 201, 200], f"repeat sequence {got}")


@test
def keepalive_false():
    script({"keepalive": False, "body": "bye"})
    s, f = connect()
    s.sendall(raw_request())
    status, h = read_head(f)
    check(h.get("connection") == "close", "Connection: close header")
    check(f.read(int(h["content-length"])) == b"bye", "body")
    expect_closed(s, f, want_reset=False)
    wait_until(lambda: ctl("GET", "connections")[1][0]["closed_at"], what="closed_at")


@test
def concurrency_during_slow_stream():
    script({"sse": [{"data": "x\n\n", "delay_ms": 1500}, {"data": "y\n\n", "delay_ms": 300}]})
    s, f = connect()
    s.sendall(raw_request(path="/slow"))
    read_head(f)
    errors, lock = [], threading.Lock()

    def worker():
        try:
            r, _ = get(path="/fast")
            check(r.status == 200, "status")
        except Exception as e:  # collected and reported by the main thread
            with lock:
                errors.append(repr(e))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(IO_TIMEOUT_S)
    elapsed = time.monotonic() - t0
    check(not errors, f"concurrent errors: {errors[:3]}")
    check(elapsed < 1.2, f"40 requests took {elapsed:.2f}s while a stream was sleeping")
    chunks, terminated = read_chunks(f)
    check(terminated and len(chunks) == 2, "slow stream completed")
    close_client(s, f)
    check(len(ctl("GET", "connections")[1]) == 41, "41 connections listed")


@test
def pipelined_requests():
    script({"status": 201, "sse": ["data: 1\n\n"]}, {"status": 202})
    s, f = connect()
    s.sendall(raw_request(path="/p1") + raw_request(path="/p2"))
    check(read_head(f)[0] == 201 and read_chunks(f)[1], "first pipelined response")
    status, h = read_head(f)
    check(status == 202 and f.read(int(h["content-length"])) == b"", "second pipelined response")
    close_client(s, f)
    check([r["path"] for r in records()] == ["/p1", "/p2"], "pipelined requests recorded in order")


def post_json(path, body):
    c = http.client.HTTPConnection("127.0.0.1", PORT, timeout=IO_TIMEOUT_S)
    try:
        c.request("POST", path, body=json.dumps(body))
        r = c.getresponse()
        return r, r.read().decode()
    finally:
        c.close()


def sse_docs(text):
    """[(event name or None, parsed data or the raw text)] of an SSE body."""
    out = []
    for block in text.split("\n\n"):
        name, data = None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        if data is not None:
            out.append((name, data if data == "[DONE]" else json.loads(data)))
    return out


@test
def reply_reports_usage_in_every_format():
    u = {"input": 20, "output": 9, "cache_read": 4, "cache_write": 2}
    script(*[{"reply": {"usage": u, "text": "hi"}}] * 5)
    # Anthropic: JSON, then message_start + cumulative message_delta
    r, text = post_json("/v1/messages", {"model": "claude-x"})
    doc = json.loads(text)
    check(json.loads(r.getheader("x-mock-usage")) == u, "x-mock-usage header")
    check(doc["usage"] == {"input_tokens": 20, "cache_creation_input_tokens": 2,
                           "cache_read_input_tokens": 4, "output_tokens": 9}, f"{doc}")
    check(doc["model"] == "claude-x" and doc["content"][0]["text"] == "hi", f"{doc}")
    r, text = post_json("/v1/messages", {"model": "claude-x", "stream": True})
    check(r.getheader("content-type") == "text/event-stream", "anthropic stream type")
    evs = sse_docs(text)
    check([n for n, _ in evs][0] == "message_start" and evs[-1][0] == "message_stop", f"{evs}")
    check(evs[0][1]["message"]["usage"]["cache_read_input_tokens"] == 4, f"{evs[0]}")
    check(evs[0][1]["message"]["usage"]["cache_creation_input_tokens"] == 2, f"{evs[0]}")
    check(evs[-2][1]["usage"] == {"output_tokens": 9}, f"{evs[-2]}")
    # Chat: the prompt counts the cached tokens; no cache write
    _, text = post_json("/v1/chat/completions", {"model": "gpt-x"})
    doc = json.loads(text)
    check(doc["usage"] == {"prompt_tokens": 24, "completion_tokens": 9, "total_tokens": 33,
                           "prompt_tokens_details": {"cached_tokens": 4}}, f"{doc}")
    # Responses: the same in its names, in response.completed
    _, text = post_json("/v1/responses", {"model": "gpt-x"})
    check(json.loads(text)["usage"]["input_tokens"] == 24, text)
    _, text = post_json("/v1/responses", {"model": "gpt-x", "stream": True})
    evs = sse_docs(text)
    check(evs[0][1]["response"]["usage"] is None, f"{evs[0]}")
    check(evs[-1][0] == "response.completed", f"{evs[-1]}")
    usage = evs[-1][1]["response"]["usage"]
    check(usage["input_tokens"] == 24 and usage["output_tokens"] == 9 and
          usage["input_tokens_details"] == {"cached_tokens": 4}, f"{usage}")
    # a count set to null is not reported at all
    script({"reply": {"usage": {"cache_read": None, "cache_write": None}}})
    _, text = post_json("/v1/messages", {})
    check(json.loads(text)["usage"] == {"input_tokens": 11, "output_tokens": 7}, text)


@test
def reply_chat_usage_chunk_only_when_asked():
    script({"reply": {}}, {"reply": {}})
    _, text = post_json("/v1/chat/completions", {"stream": True})
    evs = sse_docs(text)
    check(evs[-1][1] == "[DONE]" and all("usage" not in d for _, d in evs[:-1]), f"{evs}")
    _, text = post_json("/v1/chat/completions",
                        {"stream": True, "stream_options": {"include_usage": True}})
    evs = sse_docs(text)
    check(all(d["usage"] is None for _, d in evs[:-2]), "usage null before the usage chunk")
    check(evs[-2][1]["choices"] == [] and evs[-2][1]["usage"]["completion_tokens"] == 7 and
          evs[-2][1]["usage"]["prompt_tokens"] == 16, f"{evs[-2]}")


@test
def reply_validation():
    for bad in ({"reply": 1}, {"reply": {"usage": {"input": -1}}},
                {"reply": {"usage": {"tokens": 1}}}, {"reply": {}, "json": {}},
                {"reply": {"colour": "red"}}):
        status, resp = ctl("POST", "script", [bad])
        check(status == 400, f"{bad} accepted: {resp}")


@test
def host_option():
    bad = subprocess.run([sys.executable, MOCK, "--host", "0.0.0.0"], capture_output=True,
                         timeout=IO_TIMEOUT_S)
    check(bad.returncode != 0 and b"loopback" in bad.stderr, "non-loopback host rejected")
    try:
        socket.socket(socket.AF_INET6).bind(("::1", 0))
    except OSError:
        return  # no IPv6 loopback on this machine; nothing more to check
    proc = subprocess.Popen([sys.executable, MOCK, "--host", "::1"], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline().split()[1])
        c = http.client.HTTPConnection("::1", port, timeout=IO_TIMEOUT_S)
        c.request("GET", "/v6")
        check(c.getresponse().status == 200, "served over ::1")
        c.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


@test
def sigterm_exits_cleanly():
    s, f = connect()  # an open idle connection must not block shutdown
    PROC.send_signal(signal.SIGTERM)
    try:
        rc = PROC.wait(timeout=3)
    except subprocess.TimeoutExpired:
        raise Fail("mock did not exit within 3 s of SIGTERM")
    check(rc == 0, f"exit code {rc}")
    close_client(s, f)


# ---------------------------------------------------------------- runner

def start_mock(tmpdir):
    global PORT, PROC
    port_file = os.path.join(tmpdir, "port")
    PROC = subprocess.Popen([sys.executable, MOCK, "--port", "0", "--port-file", port_file],
                            stdout=subprocess.PIPE, text=True)
    line = PROC.stdout.readline()  # the mock prints this once it is listening
    check(line.startswith("listening "), f"unexpected first stdout line {line!r}")
    PORT = int(line.split()[1])
    with open(port_file) as fh:
        content = fh.read()
    check(content == f"{PORT}\n", f"port file {content!r} != stdout port {PORT}")
    check(not [n for n in os.listdir(tmpdir) if ".tmp" in n], "temp port file left behind")


def kill_mock():
    if PROC and PROC.poll() is None:
        try:
            os.kill(PROC.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        PROC.wait()


def watchdog():
    print(f"FAIL: selftest exceeded {SUITE_BUDGET_S}s budget", flush=True)
    kill_mock()
    os._exit(2)


def main():
    timer = threading.Timer(SUITE_BUDGET_S, watchdog)
    timer.daemon = True
    timer.start()
    passed, failed = 0, []
    t_start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmpdir:
        try:
            start_mock(tmpdir)
            passed += 1
            print("ok   startup (port file + 'listening' line)")
            for fn in TESTS:
                t0 = time.monotonic()
                try:
                    if PROC.poll() is not None:
                        raise Fail(f"mock exited early with {PROC.returncode}")
                    if fn is not sigterm_exits_cleanly:
                        ctl("POST", "reset")
                    fn()
                    passed += 1
                    print(f"ok   {fn.__name__} ({time.monotonic() - t0:.2f}s)")
                except Exception as e:
                    failed.append(fn.__name__)
                    print(f"FAIL {fn.__name__}: {e}")
                    if not isinstance(e, Fail):
                        traceback.print_exc()
        except Exception as e:
            failed.append("startup")
            print(f"FAIL startup: {e}")
        finally:
            kill_mock()
    timer.cancel()
    print(f"total {time.monotonic() - t_start:.2f}s")
    print(f"{passed} passed, {len(failed)} failed")
    if failed:
        print("failed: " + ", ".join(failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
