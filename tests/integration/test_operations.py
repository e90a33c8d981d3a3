"""Operations (issue 4): the limiter, graceful drain, reload, health and
runtime provider switches, through the real zend and mock providers."""
import json
import os
import signal
import socket
import threading
import time
import unittest

from test_proxy import CLIENT_BODY, ProxyTestCase
from zenharness import ANTHROPIC_STREAM, RawClient, parse_response, rss_kb, wait_until


class Rpc:
    """One control connection for raw RPC calls."""

    def __init__(self, sock):
        self.c = RawClient(sock)
        self.msgid = 0

    def call(self, method, params=None):
        self.msgid += 1
        self.c.request(self.msgid, method, params if params is not None else {})
        while True:
            msg = self.c.read_message()
            if msg is None:
                raise AssertionError("zend closed the connection")
            if msg[0] == 1 and msg[1] == self.msgid:
                return msg[2], msg[3]

    def close(self):
        self.c.close()


class OpsTestCase(ProxyTestCase):
    def rpc(self, method, params=None):
        r = Rpc(self.sock)
        try:
            err, result = r.call(method, params)
        finally:
            r.close()
        return err, result

    def health(self):
        err, result = self.rpc("health")
        self.assertIsNone(err)
        return result

    def send_request(self, path="/default/s1/v1/messages"):
        s = socket.create_connection(self.addr, timeout=15)
        s.sendall(("POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n" % (path, len(CLIENT_BODY))).encode() + CLIENT_BODY)
        return s

    @staticmethod
    def read_all(s):
        parts = []
        while True:
            try:
                data = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not data:
                break
            parts.append(data)
        return b"".join(parts)


class Limiter(OpsTestCase):
    def test_queue_timeout_and_cancel(self):
        self.start(daemon={"max_concurrent": 2, "queue_timeout_ms": 500,
                           "first_byte_timeout_ms": 10000})
        self.m1.default({"json": {"slow": True}, "delay_headers_ms": 1500})
        results = {}

        def slow(n):
            t0 = time.monotonic()
            r = self.post("/default/s%d/v1/messages" % n)
            results[n] = (r.status, time.monotonic() - t0, r)

        threads = [threading.Thread(target=slow, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        wait_until(lambda: len(self.m1.requests()) == 2, what="two requests upstream")
        t0 = time.monotonic()
        r3 = self.post("/default/s3/v1/messages")
        waited = time.monotonic() - t0
        self.assertEqual(r3.status, 503)
        self.assertEqual(r3.json()["error"]["type"], "overloaded_error")
        self.assertEqual(r3.headers["retry-after"], "1")
        self.assertGreater(waited, 0.45)
        self.assertLess(waited, 1.3)
        # A queued client that disconnects never reaches the mock.
        s = self.send_request("/default/gone/v1/messages")
        wait_until(lambda: self.health()["resources"]["queued"] == 1, what="request queued")
        s.close()
        wait_until(lambda: self.health()["resources"]["queued"] == 0, what="queue emptied")
        for t in threads:
            t.join()
        self.assertEqual([results[n][0] for n in range(2)], [200, 200])
        self.assertEqual(len(self.m1.requests()), 2)
        self.assertFalse([r for r in self.m1.requests() if "gone" in json.dumps(r)])
        m = self.metrics()
        self.assertEqual(m["errors_by_type"]["concurrency"], 1)
        self.assertEqual(m["errors_by_type"]["client_closed"], 1)
        self.assertIn("concurrency_limited", [r["event"] for r in self.log_records()])

    def test_queued_request_gets_slot_in_order(self):
        self.start(daemon={"max_concurrent": 1, "queue_timeout_ms": 5000})
        self.m1.script({"json": {"n": 1}, "delay_headers_ms": 400})
        first = self.send_request("/default/a/v1/messages")
        wait_until(lambda: len(self.m1.requests()) == 1, what="first upstream")
        second = self.send_request("/default/b/v1/messages")
        r1 = parse_response(self.read_all(first))
        r2 = parse_response(self.read_all(second))
        self.assertEqual((r1.status, r2.status), (200, 200))
        self.assertEqual(r1.json(), {"n": 1})
        self.assertEqual([r["path"] for r in self.m1.requests()], ["/v1/messages"] * 2)


class Drain(OpsTestCase):
    def stream(self, total_s):
        n = len(ANTHROPIC_STREAM)
        gap = int(total_s * 1000 / n)
        return [{"data": e, "delay_ms": gap} for e in ANTHROPIC_STREAM]

    def test_drain_lets_stream_finish(self):
        self.start(daemon={"drain_timeout_ms": 30000})
        self.m1.script({"sse": self.stream(2.0)})
        s = self.send_request()
        wait_until(lambda: len(self.m1.requests()) == 1, what="stream started")
        r = self.zenctl("shutdown", "--drain-timeout", "5", "--no-wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        wait_until(lambda: self.health()["status"] == "draining", what="draining")
        def refused():
            try:
                socket.create_connection(self.addr, timeout=2).close()
                return False
            except ConnectionRefusedError:
                return True
        wait_until(refused, timeout=2, what="new connections to be refused")
        resp = parse_response(self.read_all(s))
        self.assertTrue(resp.complete)
        self.assertEqual(resp.body, "".join(ANTHROPIC_STREAM).encode())
        self.assertEqual(self.wait_exit(self.zend), 0)
        last = self.log_records()[-1]
        self.assertEqual(last["event"], "daemon_shutdown")
        self.assertEqual((last["drained"], last["aborted"]), (1, 0))

    def test_drain_timeout_aborts_long_stream(self):
        self.start()
        # Content at once: the stream is committed (relayed) when the drain
        # runs out; before its commit point it would get a plain 503.
        self.m1.script({"sse": ANTHROPIC_STREAM[:2] + self.stream(6.0)[2:]})
        s = self.send_request()
        wait_until(lambda: len(self.m1.requests()) == 1, what="stream started")
        t0 = time.monotonic()
        r = self.zenctl("shutdown", "--drain-timeout", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("drained 0, aborted 1", r.stdout)
        self.assertLess(time.monotonic() - t0, 4)
        resp = parse_response(self.read_all(s))
        self.assertFalse(resp.complete)
        self.assertIn(b"event: error\ndata: ", resp.body)
        self.assertIn(b"shutting down", resp.body)
        self.assertEqual(self.wait_exit(self.zend), 0)
        last = self.log_records()[-1]
        self.assertEqual((last["drained"], last["aborted"]), (0, 1))


class Reload(OpsTestCase):
    def config(self):
        with open(self.path("zen.json")) as f:
            return json.load(f)

    def write(self, cfg_or_text):
        # Write-and-rename, as editors do.
        tmp = self.path("zen.json.tmp")
        with open(tmp, "w") as f:
            f.write(cfg_or_text if isinstance(cfg_or_text, str) else json.dumps(cfg_or_text))
        os.chmod(tmp, 0o600)
        os.rename(tmp, self.path("zen.json"))

    def reloads(self):
        return [r for r in self.log_records() if r["event"] == "config_reloaded"]

    def test_edit_adds_provider_without_restart(self):
        self.start()
        cfg = self.config()
        cfg["providers"]["p3"] = {"base_url": self.m2.url, "auth_token": "sk-p3"}
        cfg["profiles"]["third"] = ["p3"]
        self.write(cfg)
        wait_until(lambda: self.reloads(), what="config_reloaded from the file watch")
        rec = self.reloads()[-1]
        self.assertEqual(rec["source"], "watch")
        self.assertEqual(rec["added"], ["p3"])
        r = self.post("/third/s/v1/messages")
        self.assertEqual(r.status, 200)
        self.assertEqual(r.headers["x-zen-provider"], "p3")
        self.assertEqual(self.status_json()["supervisor_pid"], self.zend.pid)  # no restart
        self.assertEqual(self.status_json()["restarts"], 0)

    def test_invalid_config_keeps_old_one(self):
        self.start()
        self.write('{\n  "providers": {\n    "p1": {"base_url": }\n}\n')
        wait_until(lambda: [r for r in self.log_records() if r["event"] == "config_reload_failed"],
                   what="config_reload_failed")
        failed = [r for r in self.log_records() if r["event"] == "config_reload_failed"][-1]
        self.assertRegex(failed["detail"], r"zen\.json:3:\d+:")
        err, _ = self.rpc("reload")
        self.assertEqual(err["code"], 4)
        self.assertRegex(err["message"], r"zen\.json:3:\d+:")
        self.assertEqual(self.post().status, 200)  # still serving on the old config

    def test_cooldown_survives_unrelated_reload(self):
        self.start()
        self.m1.default({"status": 500, "body": "down"})
        self.assertEqual(self.post().headers["x-zen-provider"], "p2")
        cfg = self.config()
        cfg["providers"]["p2"]["env_vars"] = {"NEW_HEADER": "1"}  # p1 untouched
        self.write(cfg)
        wait_until(lambda: self.reloads(), what="reload")
        self.assertEqual(self.reloads()[-1]["changed"], ["p2"])
        r = self.post()
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(r.headers["x-zen-attempts"], "1")  # p1 still cooling
        self.assertEqual(len(self.m1.requests()), 1)
        p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
        self.assertEqual(p1["circuit"], "open")

    def test_unchanged_bytes_log_no_reload(self):
        self.start(daemon={"log_level": "debug"})
        hash0 = self.status_json()["config_hash"]
        def unchanged(source):
            return [r for r in self.log_records()
                    if r["event"] == "config_unchanged" and r["source"] == source]
        os.kill(self.zend.pid, signal.SIGHUP)
        wait_until(lambda: unchanged("signal"), what="SIGHUP handled")
        err, res = self.rpc("reload")
        self.assertIsNone(err)
        self.assertEqual((res["config_hash"], res["unchanged"], res["added"]), (hash0, True, []))
        r = self.zenctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing changed", r.stdout)
        with open(self.path("zen.json")) as f:
            self.write(f.read())  # saved again, same bytes: the watch fires
        wait_until(lambda: unchanged("watch"), what="the watch to look")
        self.assertEqual(len(unchanged("rpc")), 2)
        self.assertEqual(self.reloads(), [])
        # A real change still reloads and says so.
        cfg = self.config()
        cfg["profiles"]["third"] = ["p2"]
        self.write(cfg)
        wait_until(lambda: self.reloads(), what="config_reloaded")
        err, res = self.rpc("reload")
        self.assertIsNone(err)
        self.assertTrue(res["unchanged"])
        self.assertEqual(len(self.reloads()), 1)

    def test_reload_sets_level_of_every_sink(self):
        # Issue 9: a reload changed stderr's level only; zend.log and the
        # log bus (zenctl logs) kept the start-up level.
        self.start(daemon={"log_level": "info"})
        cfg = self.config()
        cfg["daemon"]["log_level"] = "debug"
        self.write(cfg)
        wait_until(lambda: self.reloads(), what="config_reloaded")
        err, res = self.rpc("reload")  # same bytes: a debug config_unchanged
        self.assertIsNone(err)
        self.assertTrue(res["unchanged"])
        wait_until(lambda: [r for r in self.log_records() if r["event"] == "config_unchanged"],
                   what="config_unchanged at debug in zend.log")
        r = self.zenctl("-o", "json", "logs", "-n", "50", "--event", "config_unchanged")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('"config_unchanged"', r.stdout, "the log bus kept the old level")
        # And back up to warn: info records stop everywhere.
        cfg["daemon"]["log_level"] = "warn"
        hash1 = self.status_json()["config_hash"]
        self.write(cfg)  # config_reloaded is info: watch the hash instead
        wait_until(lambda: self.status_json()["config_hash"] != hash1, what="second reload")
        err, res = self.rpc("provider.disable", {"name": "p2"})
        self.assertIsNone(err)
        err, res = self.rpc("reload")
        self.assertIsNone(err)
        events = [r["event"] for r in self.log_records()]
        self.assertNotIn("provider_disabled", events)
        self.assertEqual(events.count("config_unchanged"), 1)
        r = self.zenctl("-o", "json", "logs", "-n", "50", "--event", "provider_disabled")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn('"provider_disabled"', r.stdout)

    def test_listen_change_needs_restart(self):
        self.start()
        cfg = self.config()
        cfg["daemon"]["listen"] = "127.0.0.1:1"
        self.write(cfg)
        wait_until(lambda: self.reloads(), what="reload")
        self.assertEqual(self.reloads()[-1]["restart_required"], ["listen"])
        self.assertEqual(self.post().status, 200)  # still on the bound address


class Health(OpsTestCase):
    def test_statuses_and_fields(self):
        self.start(daemon={"retry_same_provider": 0})
        h = self.health()
        self.assertEqual(h["status"], "healthy", h["reasons"])
        for key in ("status", "reasons", "version", "uptime_s", "pid", "supervisor_pid",
                    "restarts", "resources", "active_sessions", "health_check", "providers"):
            self.assertIn(key, h)
        for key in ("rss_bytes", "heap_bytes", "open_fds", "fd_limit", "threads",
                    "client_connections", "upstream_connections", "in_flight", "queued"):
            self.assertIn(key, h["resources"])
        for key in ("name", "status", "circuit", "cooldown_remaining_ms", "consecutive_failures",
                    "last_error_type", "last_error", "last_check", "latency_ms", "success_rate",
                    "check_count", "fail_count", "disabled"):
            self.assertIn(key, h["providers"][0])
        self.assertGreater(h["resources"]["rss_bytes"], 0)
        # p1 fails: degraded, and the reason names it.
        self.m1.script({"status": 429, "headers": {"Retry-After": "30"}, "body": "slow"})
        self.assertEqual(self.post().status, 200)
        h = self.health()
        self.assertEqual(h["status"], "degraded")
        self.assertTrue([r for r in h["reasons"] if "p1" in r and "cooling" in r], h["reasons"])
        self.assertEqual(h["active_sessions"], 1)
        # Both down: unhealthy. (Cooling p1 now goes last and, as the last candidate, is
        # still tried after p2: docs/routing.md, "The candidate list".)
        self.m2.script({"status": 503, "body": "down"})
        self.m1.script({"status": 503, "body": "down"})
        self.post()
        h = self.health()
        self.assertEqual(h["status"], "unhealthy", h)

    def test_provider_disable_enable(self):
        self.start()
        err, res = self.rpc("provider.disable", {"name": "p1", "for_s": 60})
        self.assertIsNone(err)
        self.assertTrue(res["disabled"])
        r = self.post()
        self.assertEqual(r.headers["x-zen-provider"], "p2")
        self.assertEqual(self.m1.requests(), [])
        p1 = [p for p in self.health()["providers"] if p["name"] == "p1"][0]
        self.assertEqual(p1["status"], "disabled")
        err, _ = self.rpc("provider.disable", {"name": "p2"})
        self.assertIsNone(err)
        r = self.post()
        self.assertEqual(r.status, 503)
        self.assertEqual(r.json()["error"]["type"], "all_providers_unavailable")
        self.rpc("provider.enable", {"name": "p1"})
        self.rpc("provider.enable", {"name": "p2"})
        self.assertEqual(self.post().headers["x-zen-provider"], "p1")
        err, _ = self.rpc("provider.disable", {"name": "nope"})
        self.assertEqual(err["code"], 2)

    def test_active_checker(self):
        self.start(health_check={"enabled": True, "interval_secs": 1, "timeout_secs": 1})
        wait_until(lambda: all(p["check_count"] >= 1 for p in self.health()["providers"]),
                   what="first active checks")
        h = self.health()
        self.assertTrue(h["health_check"]["running"])
        self.assertTrue(all(p["last_check"] for p in h["providers"]))
        self.assertTrue(self.m1.requests(include_head=True))  # HEAD checks arrived
        # Stopped and started again by reloads, as many times as it takes.
        for enabled in (False, True, False, True):
            with open(self.path("zen.json")) as f:
                cfg = json.load(f)
            cfg["health_check"]["enabled"] = enabled
            self.write_config(cfg)
            err, res = self.rpc("reload")
            self.assertIsNone(err)
            self.assertEqual(self.health()["health_check"], {"enabled": enabled, "running": enabled})
        before = sum(p["check_count"] for p in self.health()["providers"])
        wait_until(lambda: sum(p["check_count"] for p in self.health()["providers"]) > before,
                   what="checks after the last restart")

    def test_active_checker_outcomes(self):
        """The checker's outcome rule: an answer below 500 is a passed
        check, a 5xx a failed one (fail_count grows, last check not ok)."""
        self.start(health_check={"enabled": True, "interval_secs": 1, "timeout_secs": 1})

        def p1():
            return next(p for p in self.health()["providers"] if p["name"] == "p1")

        wait_until(lambda: p1()["check_count"] >= 1, what="first check of p1")
        self.assertEqual(p1()["fail_count"], 0)  # the mock answers 200
        self.m1.default({"status": 503, "body": "down"})
        before = p1()
        wait_until(lambda: p1()["fail_count"] > before["fail_count"], what="a failed check")
        after = p1()
        self.assertGreater(after["check_count"], before["check_count"])


if __name__ == "__main__":
    unittest.main()


def text_rss_kb(pid, library):
    """Resident KB of the executable mappings of a library in pid (None when
    it is not loaded)."""
    total, inside = None, False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            head = line.split()
            if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
                inside = len(head) >= 6 and library in head[5] and head[1].startswith("r-x")
            elif inside and head[0] == "Rss:":
                total = (total or 0) + int(head[1])
    return total


class Memory(OpsTestCase):
    """What the worker keeps resident (tests/bench/README.md, idle RSS)."""

    def test_gnutls_does_not_start(self):
        # Loaded through libcurl's librtmp and libldap, never used: main.c's
        # hook keeps its constructor from initialising it. Initialised, it
        # touches ~0.8 MB of its code; the supervisor ran the constructors.
        self.start()
        kb = text_rss_kb(self.zend.pid, "libgnutls.so")
        if kb is None:
            self.skipTest("this libcurl does not load GnuTLS")
        self.assertLess(kb, 256, "GnuTLS initialised itself: %d KB of its code resident" % kb)

    # After a burst the worker gives its freed heap back once idle
    # (zend/forward/heap_trim.h): glibc's free() alone keeps it resident.

    @unittest.skipIf(os.environ.get("ZEN_SANITIZE") == "ON" or "valgrind" in os.environ.get(
        "ZEND_BIN", ""), "ASan's and valgrind's allocators are not glibc's malloc")
    def test_rss_falls_after_a_burst(self):
        self.start(daemon={"max_concurrent": 400})
        self.m1.default({"json": {"id": "msg_1", "type": "message", "content": []},
                         "delay_headers_ms": 300, "keepalive": False})
        # 300 bodies of ~60 KB at once: request buffers and what each
        # request builds, all freed at its end, interleaved with the few
        # allocations that live on (log records, pooled handles, the
        # ledger's pages). Under glibc's mmap threshold (128 KB), so they
        # come from the heap: bigger ones are mapped and unmapped one by
        # one, and how much of a burst of them stays resident depends on
        # glibc's sliding threshold, not on zend (100 bodies of 250 KB grew
        # the worker 7.9-8.5 MB; these grow it 38-65 MB).
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 8, "messages": [
            {"role": "user", "content": [{"type": "text", "text": "m%d" % i}]}
            for i in range(1400)]}).encode()
        self.assertLess(len(body), 100 << 10)
        base = self.health()["resources"]["rss_bytes"]
        statuses = []

        def one(i):
            statuses.append(self.post("/default/s%d/v1/messages" % i, body=body).status)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(300)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(statuses, [200] * 300)
        peak = rss_kb(self.worker_pid()) * 1024
        self.assertGreater(peak - base, 8 << 20, "the burst did not grow the heap")
        # Idle now: the heap goes back (health samples RSS once a second).
        # Without the trim most of the growth stays; with it ~2.5 MB does
        # (the ledger's SQLite page cache, log records, session memory:
        # state, not garbage). The provider closes each connection
        # (keepalive false), so idle upstream connections, kept by design,
        # are not part of it.
        wait_until(lambda: self.health()["resources"]["rss_bytes"] < base + (peak - base) // 2,
                   what="RSS back near its level before the burst")


class Monitor(OpsTestCase):
    def start_sampling(self, **daemon):
        self.env["ZEND_TEST_MONITOR_INTERVAL_MS"] = "100"
        self.start(daemon=daemon)

    def events(self, name):
        return [r for r in self.log_records() if r["event"] == name]

    def test_resource_warning_once_with_hysteresis(self):
        self.start_sampling(health_max_rss_mb=1)  # any real RSS is above 1 MiB
        wait_until(lambda: self.events("resource_warning"), what="resource_warning")
        samples_later = time.monotonic() + 1.0
        wait_until(lambda: time.monotonic() > samples_later, what="ten more samples")
        warnings = self.events("resource_warning")
        self.assertEqual(len(warnings), 1, warnings)
        self.assertEqual(warnings[0]["resource"], "rss")
        self.assertEqual(warnings[0]["threshold"], 1)
        h = self.health()
        self.assertEqual(h["status"], "degraded")
        self.assertTrue([r for r in h["reasons"] if r.startswith("rss ")], h["reasons"])

    def test_no_leak_suspected_after_load(self):
        self.start_sampling()
        for i in range(60):  # fills curl's connection cache, opens and closes clients
            self.assertEqual(self.post("/default/s%d/v1/messages" % i).status, 200)
        idle_until = time.monotonic() + 1.5
        wait_until(lambda: time.monotonic() > idle_until, what="15 idle samples")
        suspected = self.events("resource_leak_suspected")
        if os.environ.get("ZEN_SANITIZE") == "ON":
            # ASan's quarantine keeps freed memory resident: RSS grows by
            # design there, but fds and transfers must not.
            suspected = [s for s in suspected if s["what"] != ["rss"]]
        self.assertEqual(suspected, [])

    def test_sigusr1_state_dump(self):
        self.start()
        os.kill(self.zend.pid, signal.SIGUSR1)  # to the supervisor, which forwards it
        wait_until(lambda: self.events("state_dump"), what="state_dump")
        dump = self.events("state_dump")[0]
        self.assertEqual(dump["state"], "running")
        self.assertEqual([p["name"] for p in dump["providers"]], ["p1", "p2"])
        self.assertIn("rss_bytes", dump["resources"])
        self.assertTrue(dump["fds"])
        self.assertEqual(self.status_json()["restarts"], 0)  # USR1 killed nothing
