"""Hostile input, both ways (the "Hardening" issue, items 6, 7, 8, 12 and
the smaller ones): dot segments and odd request lines from clients, zend
access keys that must not leave zend, upstream answers whose framing could
smuggle a response onto the client's connection, and listening beyond
loopback. Real zend, mock providers or a raw-socket upstream inside the
test, all on 127.0.0.1 (one test binds 0.0.0.0 but only talks to
127.0.0.1)."""
import json
import os
import socket
import threading
import time
import unittest

import test_proxy
from zenharness import ANTHROPIC_STREAM, ZenTestCase, http_request, minimal_config, parse_response, wait_until

SECRET = "zen-secret"


def raw_exchange(addr, data, timeout=10, half_close=False):
    """Sends raw bytes on a fresh connection and reads until the server
    closes it. Returns the bytes read."""
    s = socket.create_connection(addr, timeout=timeout)
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        raw = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            raw += chunk
        return raw
    finally:
        s.close()


class RawUpstream:
    """A one-thread HTTP/1.1 'provider' that answers every request with the
    same raw bytes (whatever framing the test wants), then closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        self.response = b""
        self.requests = []
        self.stopped = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    length = 0
                    for line in head.split(b"\r\n")[1:]:
                        k, _, v = line.partition(b":")
                        if k.strip().lower() == b"content-length":
                            length = int(v)
                    while len(body) < length:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        body += chunk
                    self.requests.append(head.split(b"\r\n")[0].decode("latin-1"))
                    conn.sendall(self.response)
                    conn.shutdown(socket.SHUT_WR)
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass

    def stop(self):
        self.stopped = True
        self.sock.close()
        self.thread.join(timeout=5)


class HostileCase(test_proxy.ProxyTestCase):
    def raw(self, head, body=b"", half_close=False):
        return raw_exchange(self.addr, head.encode("latin-1") + body, half_close=half_close)

    def upstream_headers(self, i=-1):
        return {k.lower(): v for k, v in self.m1.requests()[i]["headers"]}


class DotSegments(HostileCase):
    def test_dot_segments_refused_before_any_attempt(self):
        self.start()
        for path in ("/solo/s/../../admin", "/solo/s/v1/../../admin", "/solo/s/%2e%2e/%2E%2E/admin",
                     "/solo/s/.%2e/admin", "/solo/s/x%2f..%2f..%2fadmin", "/v1/../admin",
                     "/solo/s/./v1/messages"):
            r = self.post(path)
            self.assertEqual(r.status, 400, path)
            self.assertEqual(r.json()["error"]["type"], "invalid_path", path)
            self.assertIn("path segments", r.json()["error"]["message"])
        self.assertEqual(self.m1.requests(), [])
        # Dots inside a segment or in the query are fine, and so is %2F alone.
        r = self.post("/solo/s/v1/a..b/messages?x=../..&y=%2Fz")
        self.assertEqual(r.status, 200)
        self.assertEqual(self.m1.requests()[0]["path"], "/v1/a..b/messages?x=../..&y=%2Fz")

    def test_url_is_sent_as_checked(self):
        """curl must not normalise the URL zend built: PATH_AS_IS."""
        self.start(p1={"base_url": self.m1.url + "/a/../b"})
        self.assertEqual(self.post("/solo/s/v1/messages").status, 200)
        self.assertEqual(self.m1.requests()[0]["path"], "/a/../b/v1/messages")

    def test_base_url_query_kept_and_merged(self):
        self.start(p1={"base_url": self.m1.url + "/x?api-version=2024"})
        self.assertEqual(self.post("/solo/s/v1/messages?beta=true").status, 200)
        self.assertEqual(self.post("/solo/s/v1/messages").status, 200)
        paths = [r["path"] for r in self.m1.requests()]
        self.assertEqual(paths, ["/x/v1/messages?api-version=2024&beta=true",
                                 "/x/v1/messages?api-version=2024"])


class AccessKeys(HostileCase):
    """Whichever header carried the zend access key is never forwarded."""

    def send(self, *headers):
        body = test_proxy.CLIENT_BODY
        head = ("POST /solo/s/v1/messages HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body))
        head += "".join("%s: %s\r\n" % h for h in headers) + "\r\n"
        return parse_response(self.raw(head, body))

    def test_key_never_forwarded(self):
        self.start(daemon={"access_keys": [SECRET]}, p1={"auth_token": ""})
        cases = [
            # (headers in order, what upstream must get for x-api-key / authorization)
            ([("Authorization", "Bearer " + SECRET)], None, None),
            ([("authorization", "bearer " + SECRET)], None, None),
            ([("x-api-key", SECRET)], None, None),
            ([("x-api-key", SECRET), ("Authorization", "Bearer " + SECRET)], None, None),
            ([("Authorization", "Bearer " + SECRET), ("x-api-key", SECRET)], None, None),
            ([("x-api-key", SECRET), ("Authorization", "Bearer oauth-real")], None, "Bearer oauth-real"),
            ([("Authorization", "Bearer oauth-real"), ("x-api-key", SECRET)], None, "Bearer oauth-real"),
            ([("Authorization", "Bearer " + SECRET), ("x-api-key", "sk-real")], "sk-real", None),
            ([("x-api-key", "sk-real"), ("Authorization", "Bearer " + SECRET)], "sk-real", None),
        ]
        for i, (headers, want_key, want_auth) in enumerate(cases):
            r = self.send(*headers)
            self.assertEqual(r.status, 200, headers)
            got = self.upstream_headers(i)
            self.assertNotIn(SECRET, json.dumps(self.m1.requests()[i]["headers"]), headers)
            self.assertEqual(got.get("x-api-key"), want_key, headers)
            self.assertEqual(got.get("authorization"), want_auth, headers)
        self.assertEqual(self.send(("x-api-key", "nope")).status, 401)


class UpstreamFraming(HostileCase):
    """Heads that disagree about where the body ends are never relayed."""

    def setUp(self):
        super().setUp()
        self.up = RawUpstream()

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.up.stop()

    def attempt_detail(self, head):
        self.up.response = head
        n = len(self.up.requests)
        s = socket.create_connection(self.addr, timeout=10)
        body = test_proxy.CLIENT_BODY
        s.sendall(("POST /solo/s/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                   "Content-Length: %d\r\n\r\n" % len(body)).encode() + body)
        raw = b""
        while raw.count(b"\r\n\r\n") < 1 or len(parse_response(raw).body) < int(
                parse_response(raw).headers.get("content-length", "0")):
            chunk = s.recv(65536)
            self.assertTrue(chunk, raw)
            raw += chunk
        # Nothing more is waiting on the keep-alive connection: no smuggled
        # second response follows the first.
        s.settimeout(0.3)
        try:
            extra = s.recv(65536)
        except socket.timeout:
            extra = b""
        s.close()
        self.assertEqual(extra, b"")
        self.assertEqual(len(self.up.requests), n + 1)
        r = parse_response(raw)
        return r

    def test_conflicting_framing_fails_the_attempt(self):
        self.start(daemon={"retry_same_provider": 0}, p1={"base_url": self.up.url})
        fake = b"HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\nsmuggle"
        body = b'{"ok":1}'
        bad = {
            "conflicting Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nContent-Length: %d\r\n\r\n%s%s"
                                          % (len(body) + len(fake), body, fake),
            "invalid Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 8x\r\n\r\n" + body,
            "invalid Content-Length ": b"HTTP/1.1 200 OK\r\nContent-Length: 8, 9\r\n\r\n" + body,
            "both Content-Length and Transfer-Encoding":
                b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n%s\r\n0\r\n\r\n" % body,
            "both Content-Length and Transfer-Encoding ":
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 8\r\n\r\n8\r\n%s\r\n0\r\n\r\n" % body,
            "folded header line": b"HTTP/1.1 200 OK\r\nX-A: a\r\n b\r\nContent-Length: 8\r\n\r\n" + body,
            "bare CR or NUL": b"HTTP/1.1 200 OK\r\nX-A: a\rX-B: b\r\nContent-Length: 8\r\n\r\n" + body,
            # curl refuses this one itself ("Nul byte in header").
            "nul ": b"HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 8\r\n\r\n" + body,
            "header too large (> 102400 bytes)":
                b"HTTP/1.1 200 OK\r\nX-Big: " + b"x" * 120000 + b"\r\nContent-Length: 8\r\n\r\n" + body,
            "header too large (> 102400 bytes) ":
                b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-%d: %s\r\n" % (i, b"y" * 1000) for i in range(110))
                + b"Content-Length: 8\r\n\r\n" + body,
        }
        for want, head in bad.items():
            r = self.attempt_detail(head)
            self.assertEqual(r.status, 502, want)
            doc = r.json()
            self.assertEqual(doc["error"]["type"], "all_providers_failed")
            self.assertEqual(doc["attempts"][0]["error_type"], "network", want)
            self.assertIn(want.strip().lower(), doc["attempts"][0]["detail"].lower(), want)
            self.assertNotIn(b"smuggle", r.raw)
        # Identical repeated Content-Length is consistent framing: relayed.
        r = self.attempt_detail(b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nContent-Length: 8\r\n\r\n" + body)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.body, body)


class ClientRequestLine(HostileCase):
    def test_control_chars_in_target_are_400_not_provider_failures(self):
        self.start()
        for target in ("/default/s1/v1/mes\tsages", "/default/s1/v1/messages\x0b"):
            raw = self.raw("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: 2\r\n\r\n" % target, b"{}")
            self.assertTrue(raw.startswith(b"HTTP/1.1 400 "), raw)
        self.assertEqual(self.m1.requests(), [])
        self.assertEqual(self.m2.requests(), [])
        for p in self.metrics()["providers"].values():
            self.assertEqual(p.get("errors", 0), 0)
        self.assertEqual(self.post().status, 200)  # both providers still first in line
        self.assertEqual(len(self.m1.requests()), 1)

    def test_http2_request_line_gets_505(self):
        self.start()
        raw = self.raw("GET /default/s1/v1/models HTTP/2.0\r\nHost: localhost\r\n\r\n")
        self.assertTrue(raw.startswith(b"HTTP/1.1 505 HTTP Version Not Supported\r\n"), raw)
        self.assertIn(b"Connection: close\r\n", raw)
        self.assertEqual(self.m1.requests(), [])

    def test_half_closed_client_gets_its_answer(self):
        self.start()
        body = test_proxy.CLIENT_BODY
        raw = self.raw("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Length: %d\r\n\r\n" % len(body), body, half_close=True)
        r = parse_response(raw)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        self.assertIn(b"msg_mock", r.body)
        # A stream too.
        self.m1.script({"sse": ANTHROPIC_STREAM})
        raw = self.raw("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Length: %d\r\n\r\n" % len(body), body, half_close=True)
        r = parse_response(raw)
        self.assertTrue(r.complete)
        self.assertEqual(r.body, "".join(ANTHROPIC_STREAM).encode())
        self.assertEqual(self.metrics()["errors_by_type"].get("client_closed", 0), 0)

    def test_half_closed_client_of_slow_answer(self):
        """EOF before the first byte: zend's interim 100 tells a half-closed
        client (answered) from a gone one (cancelled, see below)."""
        self.start()
        self.m1.script({"json": {"slow": True}, "delay_headers_ms": 800})
        body = test_proxy.CLIENT_BODY
        raw = self.raw("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                       "Content-Length: %d\r\n\r\n" % len(body), body, half_close=True)
        self.assertTrue(raw.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), raw[:200])
        r = parse_response(raw)
        self.assertEqual(r.status, 200)
        self.assertEqual(r.json(), {"slow": True})
        self.assertEqual(self.metrics()["errors_by_type"].get("client_closed", 0), 0)

    def test_closed_client_is_noticed_before_the_first_byte(self):
        """A client that closes (not half-closes) while zend waits for the
        provider's first byte: the upstream transfer is cancelled at once,
        not when the answer finally comes."""
        self.start(daemon={"first_byte_timeout_ms": 20000})
        self.m1.script({"json": {"slow": True}, "delay_headers_ms": 8000})
        body = test_proxy.CLIENT_BODY
        s = socket.create_connection(self.addr, timeout=10)
        s.sendall(b"POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\n"
                  b"Content-Length: %d\r\n\r\n" % len(body) + body)
        wait_until(lambda: len(self.m1.requests()) == 1, what="the request upstream")
        closed_at = time.monotonic()
        s.close()
        wait_until(lambda: self.m1.requests()[0]["peer_closed_at"], timeout=5,
                   what="zend to cancel the upstream transfer")
        self.assertLess(self.m1.requests()[0]["peer_closed_at"] - closed_at, 4.0)
        wait_until(lambda: self.metrics()["errors_by_type"].get("client_closed", 0) == 1,
                   what="client_closed counted")

    def test_204_relayed_without_content_length(self):
        self.start()
        self.m1.script({"status": 204}, {"status": 200, "body": "next"})
        s = socket.create_connection(self.addr, timeout=10)
        s.sendall(b"GET /default/s1/v1/x HTTP/1.1\r\nHost: localhost\r\n\r\n"
                  b"GET /default/s1/v1/y HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        raw = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            raw += chunk
        s.close()
        first, _, rest = raw.partition(b"\r\n\r\n")
        self.assertTrue(first.startswith(b"HTTP/1.1 204 No Content\r\n"), raw)
        self.assertNotIn(b"content-length", first.lower())
        self.assertNotIn(b"transfer-encoding", first.lower())
        self.assertTrue(rest.startswith(b"HTTP/1.1 200 OK\r\n"), raw)  # no body in between
        self.assertTrue(rest.endswith(b"next"))


class HostAndFetchGuards(HostileCase):
    def test_host_parsed_strictly(self):
        self.start()
        for host in ("[::1]evil.com", "localhost:evil", "localhost:99999", "localhost:0",
                     "localhost:", "localhost:+80", "[::1", ":80", "localhost:80:80"):
            r = self.post(headers={"Host": host})
            self.assertEqual(r.status, 400, host)
            self.assertIn("Host", r.json()["error"]["message"])
        raw = self.raw("POST /default/s1/v1/messages HTTP/1.1\r\nHost: localhost\r\nHost: evil.example\r\n"
                       "Content-Length: 2\r\nConnection: close\r\n\r\n", b"{}")
        r = parse_response(raw)
        self.assertEqual(r.status, 400)
        self.assertIn("more than one Host", r.json()["error"]["message"])
        self.assertEqual(self.m1.requests(), [])
        for host in ("[::1]:65535", "LOCALHOST", "127.0.0.1:1", "[::1]"):
            self.assertEqual(self.post(headers={"Host": host}).status, 200, host)

    def test_sec_fetch_site(self):
        self.start()
        for site in ("cross-site", "same-site", "Cross-Site"):
            r = self.post(headers={"Sec-Fetch-Site": site})
            self.assertEqual(r.status, 403, site)
            self.assertEqual(r.json()["error"]["type"], "permission_error")
        self.assertEqual(self.m1.requests(), [])
        for site in ("same-origin", "none"):
            self.assertEqual(self.post(headers={"Sec-Fetch-Site": site}).status, 200, site)
        # A page the user allowed in allowed_origins is cross-site by nature.
        self.restart(daemon={"allowed_origins": ["https://app.example"]})
        r = self.post(headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://app.example"})
        self.assertEqual(r.status, 200)
        r = self.post(headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"})
        self.assertEqual(r.status, 403)
        self.assertEqual(self.post(headers={"Sec-Fetch-Site": "cross-site"}).status, 403)


class TimeoutDetails(HostileCase):
    def test_idle_timeout_detail_says_what_happened(self):
        self.start()
        self.m1.script({"sse": ANTHROPIC_STREAM, "end": "stall", "after_events": 2})
        r = self.post("/solo/s/v1/messages")
        self.assertFalse(r.complete)
        self.assertIn(b"idle timeout: no data from upstream for 1000 ms", r.body)
        self.assertNotIn(b"idle timeout: idle timeout", r.body)


class RemoteListen(ZenTestCase):
    def config(self, **daemon):
        cfg = minimal_config(**daemon)
        return cfg

    def test_refused_without_access_keys(self):
        self.write_config(self.config(listen="0.0.0.0:0"))
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78, r.stdout + r.stderr)
        out = r.stdout + r.stderr
        self.assertIn("not a loopback address", out)
        self.assertIn("daemon.allow_remote_without_keys: true", out)
        p = self.start_zend("--foreground", wait=False)
        self.assertEqual(self.wait_exit(p), 78, self.output_of(p))

    def test_allowed_remote_warns_in_log_and_health(self):
        self.write_config(self.config(listen="0.0.0.0:0", allow_remote_without_keys=True))
        p = self.start_zend("--foreground")
        try:
            h = json.loads(self.zenctl("-o", "json", "health").stdout)
            self.assertIn("listening on a non-loopback address without access_keys", h["reasons"])
            ev = [r for r in self.log_records() if r["event"] == "listen_not_loopback"]
            self.assertTrue(ev)
            self.assertEqual(ev[0]["level"], "warn")
        finally:
            self.stop_zend_cleanly(p)

    def test_remote_with_keys_is_a_plain_warning(self):
        self.write_config(self.config(listen="0.0.0.0:0", access_keys=["k"]))
        p = self.start_zend("--foreground")
        try:
            h = json.loads(self.zenctl("-o", "json", "health").stdout)
            self.assertFalse([x for x in h["reasons"] if "non-loopback" in x], h["reasons"])
            ev = [r for r in self.log_records() if r["event"] == "listen_not_loopback"]
            self.assertTrue(ev)
        finally:
            self.stop_zend_cleanly(p)


if __name__ == "__main__":
    unittest.main()
