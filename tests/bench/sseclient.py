#!/usr/bin/env python3
"""Streaming load client: many concurrent SSE streams, timed per event.

Each of --conc workers sends a streaming request, reads the answer event by
event, and starts the next one on the same keep-alive connection, until
--seconds have passed (workers start spread over --ramp seconds). Per stream
it records the time to first event (request written -> first complete event
read) and, for every text delta, the delay since the mock wrote it (the mock
puts "t=<CLOCK_MONOTONIC>" in the text; see fastsse.py).

A stream counts as ok when it ends with its terminating chunk (or EOF for a
close-delimited body) after a message_stop event (with --format openai, the
streams of an OpenAI Chat provider: after "data: [DONE]") and carried all
--expect-deltas timed text deltas; anything else that ends before the deadline
(non-200, connection error, a cut, an in-band error event, deltas missing) is
dropped. Streams still running at the deadline are cut by us and counted apart
("cut_at_end"), not as drops.

Prints one JSON object on stdout.

  python3 sseclient.py --url http://127.0.0.1:PORT/path --conc 8 --seconds 5
      [--ramp 0] [--header 'name: value']... [--model M] [--format anthropic|openai]
      [--expect-deltas 54]
"""
import argparse
import asyncio
import json
import re
import resource
import time
import urllib.parse

T_RE = re.compile(rb"t=(\d+\.\d+)")


def pct(values, p):
    """Nearest-rank percentile of a list (None when empty)."""
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def request_bytes(u, model, headers):
    body = json.dumps({
        "model": model, "max_tokens": 1024, "stream": True,
        "system": "You are a helpful coding assistant.",
        "messages": [{"role": "user", "content": "Explain what this function does and "
                      "suggest one improvement:\n\nint add(int a, int b) { return a + b; }"}],
    }, separators=(",", ":")).encode()
    path = u.path or "/"
    if u.query:
        path += "?" + u.query
    head = ["POST %s HTTP/1.1" % path, "Host: %s" % u.netloc,
            "content-type: application/json", "accept: text/event-stream",
            "anthropic-version: 2023-06-01", "x-api-key: sk-bench-not-a-real-key",
            "content-length: %d" % len(body)]
    head += headers
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


class Stats:
    def __init__(self):
        self.ok = 0
        self.dropped = 0
        self.cut_at_end = 0
        self.errors = {}          # kind -> count
        self.events = 0
        self.ttfe = []            # seconds
        self.delays = []          # seconds
        self.active = 0
        self.peak_active = 0

    def drop(self, kind):
        self.dropped += 1
        self.errors[kind] = self.errors.get(kind, 0) + 1


class Dropped(Exception):
    pass


async def read_head(reader, buf):
    while b"\r\n\r\n" not in buf:
        data = await reader.read(65536)
        if not data:
            raise Dropped("eof_before_headers")
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, rest


# How a stream of each format ends, and how it reports an error in-band.
STOP = {"anthropic": b"message_stop", "openai": b"data: [DONE]"}


def is_error_event(ev):
    return (ev.startswith(b"event: error") or b'"type":"error"' in ev
            or ev.startswith(b'data: {"error"'))


async def one_stream(conn, req, st, fmt="anthropic", expect_deltas=0):
    """Runs one stream on conn ([reader, writer] or empty). Returns keep-alive."""
    reader, writer = conn
    t0 = time.monotonic()
    writer.write(req)
    status, hdrs, buf = await read_head(reader, b"")
    chunked = "chunked" in hdrs.get("transfer-encoding", "").lower()
    clen = int(hdrs["content-length"]) if "content-length" in hdrs else None
    keep = hdrs.get("connection", "").lower() != "close" and (chunked or clen is not None)
    pending = b""        # de-chunked text not yet split into events
    first = True
    saw_stop = False
    saw_error = False
    deltas = 0           # timed text deltas seen
    stop = STOP[fmt]
    got = 0              # body bytes consumed (content-length bodies)
    raw = buf            # undecoded bytes
    done = False
    while not done:
        # --- decode what we have ---
        if chunked:
            while True:
                nl = raw.find(b"\r\n")
                if nl < 0:
                    break
                size = int(raw[:nl].split(b";")[0], 16)
                if len(raw) < nl + 2 + size + 2:
                    break
                if size == 0:
                    done = True
                    raw = b""
                    break
                pending += raw[nl + 2:nl + 2 + size]
                raw = raw[nl + 4 + size:]
        else:
            pending += raw
            got += len(raw)
            raw = b""
            if clen is not None and got >= clen:
                done = True
        # --- split events ---
        if b"\r" in pending:
            pending = pending.replace(b"\r\n", b"\n")
        if b"\n\n" in pending:
            now = time.monotonic()
            evs = pending.split(b"\n\n")
            pending = evs.pop()
            for ev in evs:
                if not ev.strip():
                    continue
                st.events += 1
                if first:
                    st.ttfe.append(now - t0)
                    first = False
                # every t= in the event: a gateway may merge deltas
                for m in T_RE.finditer(ev):
                    st.delays.append(now - float(m.group(1)))
                    deltas += 1
                if stop in ev:
                    saw_stop = True
                if is_error_event(ev):
                    saw_error = True
        if done:
            break
        data = await reader.read(65536)
        if not data:
            if chunked or clen is not None:
                raise Dropped("eof_mid_body" if status == 200 else "status_%d" % status)
            done = True
            keep = False
            break
        raw += data
    if status != 200:
        raise Dropped("status_%d" % status)
    if saw_error:
        raise Dropped("inband_error")
    if not saw_stop:
        raise Dropped("no_message_stop" if fmt == "anthropic" else "no_done")
    if expect_deltas and deltas != expect_deltas:
        raise Dropped("deltas_%d_of_%d" % (deltas, expect_deltas))
    st.ok += 1
    return keep


async def worker(host, port, req, st, deadline, delay, fmt, expect_deltas):
    await asyncio.sleep(delay)
    conn = None
    in_stream = False
    while time.monotonic() < deadline:
        try:
            if conn is None:
                conn = await asyncio.open_connection(host, port, limit=1 << 20)
            st.active += 1
            st.peak_active = max(st.peak_active, st.active)
            in_stream = True
            try:
                keep = await one_stream(conn, req, st, fmt, expect_deltas)
            finally:
                st.active -= 1
            in_stream = False
            if not keep:
                conn[1].close()
                conn = None
        except asyncio.CancelledError:
            if in_stream:
                st.cut_at_end += 1
            raise
        except (Dropped, OSError, ValueError, IndexError) as e:
            in_stream = False
            if time.monotonic() >= deadline:
                break
            kind = e.args[0] if isinstance(e, Dropped) else type(e).__name__
            st.drop(kind)
            if conn is not None:
                conn[1].close()
                conn = None
            await asyncio.sleep(0.05)     # do not spin on a dead target
    if conn is not None:
        conn[1].close()


async def run(args):
    u = urllib.parse.urlsplit(args.url)
    req = request_bytes(u, args.model, args.header)
    st = Stats()
    start = time.monotonic()
    deadline = start + args.seconds
    tasks = [asyncio.ensure_future(worker(u.hostname, u.port or 80, req, st, deadline,
                                          args.ramp * i / max(1, args.conc),
                                          args.format, args.expect_deltas))
             for i in range(args.conc)]
    # Hard stop at the deadline: streams still running are cut by us.
    done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - time.monotonic()))
    for t in pending:
        t.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    elapsed = time.monotonic() - start
    ru = resource.getrusage(resource.RUSAGE_SELF)

    def ms(v):
        return None if v is None else round(v * 1000.0, 3)
    return {
        "url": args.url, "conc": args.conc, "seconds": round(elapsed, 3),
        "streams_ok": st.ok, "streams_dropped": st.dropped, "cut_at_end": st.cut_at_end,
        "errors": st.errors, "events": st.events, "peak_active": st.peak_active,
        "streams_per_s": round(st.ok / elapsed, 2) if elapsed else None,
        "ttfe_p50_ms": ms(pct(st.ttfe, 50)), "ttfe_p99_ms": ms(pct(st.ttfe, 99)),
        "event_delay_p50_ms": ms(pct(st.delays, 50)), "event_delay_p99_ms": ms(pct(st.delays, 99)),
        "event_delay_max_ms": ms(max(st.delays) if st.delays else None),
        "timed_events": len(st.delays),
        # this client's own CPU use: near 100 % means the numbers above measure
        # the client as much as the server
        "client_cpu_pct": round(100.0 * (ru.ru_utime + ru.ru_stime) / elapsed, 1),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--conc", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--ramp", type=float, default=0.0, help="spread worker starts over this")
    ap.add_argument("--header", action="append", default=[])
    ap.add_argument("--model", default="claude-sonnet-4-5")
    ap.add_argument("--format", choices=sorted(STOP), default="anthropic",
                    help="the answer's stream format: how it ends (default anthropic)")
    ap.add_argument("--expect-deltas", type=int, default=54,
                    help="timed text deltas a complete stream carries (fastsse.py sends 54; "
                         "0: do not check)")
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.conc * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    print(json.dumps(asyncio.run(run(args))), flush=True)


if __name__ == "__main__":
    main()
