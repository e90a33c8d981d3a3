"""Logs say what happened (docs/operations.md, "Log events"; issue 11, item 9):
request_completed at the end of each request, at the level of whose problem
it was; request_received at debug on arrival; provider_token_missing once per
provider and token setup; `zenctl logs` reading zend.log when zend is not
running; the journal's priority prefix on stderr; `--event` completion from
the one table of event names. The real zend against mock providers; each
test its own ZEN_HOME, ports and processes."""
import json
import os
import re
import socket
import subprocess
import unittest

from test_proxy import ProxyTestCase
from zenharness import (ANTHROPIC_STREAM, SOURCE_DIR, ZenTestCase, closed_port, minimal_config,
                        wait_until)

PLAIN_BODY = (b'{"model":"claude-sonnet-4-5","max_tokens":64,'
              b'"messages":[{"role":"user","content":"hi"}]}')
STREAM_BODY = (b'{"model":"claude-sonnet-4-5","max_tokens":64,"stream":true,'
               b'"messages":[{"role":"user","content":"hi"}]}')


def table_events():
    """The names of lib/log_events.h, in order."""
    with open(os.path.join(SOURCE_DIR, "lib", "log_events.h")) as f:
        return re.findall(r"^\s*X\(([a-z0-9_]+),", f.read(), re.M)


class RequestRecords(ProxyTestCase):
    def records(self, event, request_id=None):
        return [r for r in self.log_records() if r["event"] == event and
                (request_id is None or r.get("request_id") == request_id)]

    def completed(self, r):
        """The one request_completed record of response r, waited for."""
        rid = r.headers["x-zen-request-id"]
        recs = wait_until(lambda: self.records("request_completed", rid),
                          what="request_completed for %s" % rid)
        self.assertEqual(len(recs), 1, recs)
        return recs[0]

    def marker(self):
        """An unknown profile's 404: logged at info. Once its record is in
        zend.log, every record of an earlier request is too (one worker
        writes them in order)."""
        r = self.post("/nosuchprofile/s1/v1/messages", body=PLAIN_BODY)
        self.assertEqual(r.status, 404)
        return self.completed(r)

    def test_success_at_debug_with_the_whole_record(self):
        self.start(daemon={"log_level": "debug"})
        self.m1.script({"json": {"ok": 1}})
        r = self.post(body=PLAIN_BODY)
        self.assertEqual(r.status, 200)
        rid = r.headers["x-zen-request-id"]
        rec = self.completed(r)
        self.assertEqual(rec["level"], "debug")
        want = {"request_id": rid, "session": "default:s1", "profile": "default", "method": "POST",
                "path": "/default/s1/v1/messages", "status": 200, "provider": "p1",
                "attempts": 1, "bytes_in": len(PLAIN_BODY), "bytes_out": len(r.body),
                "client_format": "anthropic"}
        self.assertEqual({k: rec.get(k) for k in want}, want)
        self.assertGreaterEqual(rec["duration_ms"], rec["ttfb_ms"])
        self.assertNotIn("stream_completed", rec)  # not a stream
        self.assertNotIn("error", rec)
        # request_received at debug, on arrival: before request_completed.
        events = [x["event"] for x in self.log_records() if x.get("request_id") == rid]
        self.assertEqual(events[0], "request_received", events)
        self.assertEqual(events[-1], "request_completed", events)
        received = self.records("request_received", rid)[0]
        self.assertEqual(received["level"], "debug")
        self.assertEqual((received["method"], received["path"], received["bytes_in"]),
                         ("POST", "/default/s1/v1/messages", len(PLAIN_BODY)))

    def test_success_not_logged_at_info_without_access_log(self):
        self.start()
        r = self.post(body=PLAIN_BODY)
        self.assertEqual(r.status, 200)
        rid = r.headers["x-zen-request-id"]
        self.marker()
        self.assertEqual(self.records("request_completed", rid), [])
        self.assertEqual(self.records("request_received"), [])  # debug only

    def test_access_log_logs_every_success_at_info(self):
        self.start(daemon={"access_log": True})
        r = self.post(body=PLAIN_BODY)
        self.assertEqual(r.status, 200)
        rec = self.completed(r)
        self.assertEqual((rec["level"], rec["status"], rec["provider"]), ("info", 200, "p1"))
        # A whole stream: stream_completed true.
        self.m1.script({"sse": ANTHROPIC_STREAM})
        r = self.post(body=STREAM_BODY)
        self.assertEqual(r.status, 200)
        self.assertTrue(r.complete)
        rec = self.completed(r)
        self.assertEqual((rec["level"], rec["stream_completed"]), ("info", True))

    def test_slow_success_at_info_fast_one_not(self):
        self.start(daemon={"slow_request_ms": 300})
        self.m1.script({"json": {"slow": 1}, "delay_headers_ms": 500})
        slow = self.post(body=PLAIN_BODY)
        self.assertEqual(slow.status, 200)
        rec = self.completed(slow)
        self.assertEqual(rec["level"], "info")
        self.assertGreater(rec["duration_ms"], 300)
        fast = self.post(body=PLAIN_BODY)
        self.assertEqual(fast.status, 200)
        self.marker()
        self.assertEqual(self.records("request_completed", fast.headers["x-zen-request-id"]), [])

    def test_a_path_not_utf8_still_has_its_records(self):
        self.start(daemon={"access_log": True, "log_level": "debug"})
        s = socket.create_connection(self.addr)
        try:
            s.sendall(b"POST /default/s1/v1/messages?q=\xff HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                      b"Content-Type: application/json\r\nConnection: close\r\n"
                      b"Content-Length: %d\r\n\r\n" % (self.addr[1], len(PLAIN_BODY))
                      + PLAIN_BODY)
            self.assertTrue(s.recv(65536).startswith(b"HTTP/1.1 200 "))
        finally:
            s.close()
        rec = wait_until(lambda: [r for r in self.records("request_completed")],
                         what="request_completed")[0]
        self.assertEqual((rec["path"], rec["status"], rec["level"]),
                         ("/default/s1/v1/messages?q=?", 200, "info"))
        got = self.records("request_received", rec["request_id"])
        self.assertEqual([r["path"] for r in got], ["/default/s1/v1/messages?q=?"])

    def test_client_errors_are_info(self):
        self.start()
        self.m1.script({"status": 400, "json": {"type": "error", "error": {
            "type": "invalid_request_error", "message": "max_tokens: required"}}})
        r = self.post(body=PLAIN_BODY)
        self.assertEqual(r.status, 400)
        rec = self.completed(r)
        self.assertEqual((rec["level"], rec["status"], rec["provider"]), ("info", 400, "p1"))
        self.assertEqual(self.m2.requests(), [])  # relayed, no failover
        # An unknown profile: zend's own 404, also the client's problem.
        rec = self.marker()
        self.assertEqual((rec["level"], rec["status"], rec["profile"]), ("info", 404, ""))
        self.assertIn("error", rec)
        self.assertFalse([x for x in self.log_records() if x["level"] == "error"],
                         "a client's mistake is no error")

    def test_502_after_failed_attempts_is_warn(self):
        dead = "http://127.0.0.1:%d" % closed_port()
        self.start(p1={"base_url": dead}, p2={"base_url": dead})
        r = self.post(body=PLAIN_BODY)
        self.assertEqual(r.status, 502)
        rec = self.completed(r)
        # p1, p2, then p2 once more (retry_same_provider): every one failed.
        self.assertEqual((rec["level"], rec["status"], rec["attempts"]), ("warn", 502, 3))
        self.assertIsNone(rec["provider"])  # nobody served it
        self.assertIn("p1", rec["error"])  # the attempts, as the client was told
        self.assertIn("p2", rec["error"])
        self.assertEqual(len(self.records("provider_failed", r.headers["x-zen-request-id"])), 3)

    def test_interrupted_stream_is_warn(self):
        self.start(daemon={"access_log": True})
        self.m1.script({"sse": ANTHROPIC_STREAM, "end": "reset", "after_events": 7})
        r = self.post(body=STREAM_BODY)
        self.assertEqual(r.status, 200)
        self.assertFalse(r.complete)
        rec = self.completed(r)
        self.assertEqual(rec["level"], "warn")
        self.assertEqual((rec["stream_completed"], rec["error_type"], rec["provider"]),
                         (False, "stream_interrupted", "p1"))


class TokenMissingOnce(ZenTestCase):
    """provider_token_missing once per provider and token setup, not on
    every reload."""

    def test_once_across_reloads(self):
        cfg = minimal_config(slow_request_ms=1000)
        self.write_config(cfg)
        p = self.start_zend()

        def count(event):
            return len([r for r in self.log_records() if r["event"] == event])

        def reload_with(slow_ms, variable=None):
            before = count("config_reloaded")
            cfg["daemon"]["slow_request_ms"] = slow_ms  # a change: a real reload
            if variable:
                cfg["providers"]["p1"]["auth_token"] = "env:" + variable
            self.write_config(cfg)
            r = self.zenctl("reload")
            self.assertEqual(r.returncode, 0, r.stderr)
            wait_until(lambda: count("config_reloaded") > before, what="config_reloaded")

        self.assertEqual(count("provider_token_missing"), 1)
        reload_with(1001)
        reload_with(1002)
        self.assertEqual(count("provider_token_missing"), 1)
        # Another variable is another setup: said once more.
        reload_with(1003, "ZEN_TEST_UNSET_TOO")
        reload_with(1004)
        missing = [r for r in self.log_records() if r["event"] == "provider_token_missing"]
        self.assertEqual([r["variable"] for r in missing], ["ZEN_TEST_UNSET", "ZEN_TEST_UNSET_TOO"])
        self.stop_zend_cleanly(p)


class LogsWithoutZend(ZenTestCase):
    """`zenctl logs` reads zend.log itself when zend is not running."""

    def test_reads_the_file_after_a_clean_stop(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        self.stop_zend_cleanly(p)
        r = self.zenctl("logs", "-n", "2", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
        self.assertIn("reading its log file " + self.path("zend.log"), r.stderr)
        records = [json.loads(line) for line in r.stdout.splitlines()]
        self.assertEqual(len(records), 2, r.stdout)
        self.assertEqual(records[-1]["event"], "daemon_shutdown")
        # The filters apply to the file as to the ring.
        r = self.zenctl("logs", "-n", "5", "--event", "daemon_started", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual({json.loads(x)["event"] for x in r.stdout.splitlines()},
                         {"daemon_started"})
        r = self.zenctl("logs", "--level", "warn", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        levels = {json.loads(x)["level"] for x in r.stdout.splitlines()}
        self.assertTrue(levels <= {"warn", "error"} and levels, r.stdout)  # token missing
        r = self.zenctl("--no-color", "logs", "-n", "1")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"^\d\d:\d\d:\d\d\.\d{3} INFO  daemon_shutdown ")

    def test_shows_why_a_start_failed(self):
        busy = socket.socket()
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        try:
            port = busy.getsockname()[1]
            self.write_config(minimal_config(listen="127.0.0.1:%d" % port))
            r = self.run_zend()
            self.assertEqual(r.returncode, 69, r.stderr)
        finally:
            busy.close()
        r = self.zenctl("logs", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("zend is not running", r.stderr)
        last = json.loads(r.stdout.splitlines()[-1])
        self.assertEqual((last["event"], last["level"], last["exit_code"]),
                         ("daemon_start_failed", "error", 69))

    def test_no_file_no_zend_is_exit_3(self):
        r = self.zenctl("logs")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("not running", r.stderr)
        self.assertNotIn("reading", r.stderr)


class JournalPrefix(ZenTestCase):
    def test_stderr_lines_carry_the_priority(self):
        self.write_config(minimal_config())
        out_path = self.path("zend-%d.out" % len(self.procs))  # what start_zend will use
        open(out_path, "w").close()
        st = os.stat(out_path)
        env = dict(self.env, JOURNAL_STREAM="%d:%d" % (st.st_dev, st.st_ino))
        p = self.start_zend(env=env)
        self.stop_zend_cleanly(p)
        self.assertEqual(os.stat(out_path).st_ino, st.st_ino)
        lines = [x for x in self.output_of(p).splitlines() if "{" in x]
        self.assertTrue(lines)
        prio = {"debug": "7", "info": "6", "warn": "4", "error": "3"}
        for line in lines:
            m = re.match(r"^<(\d)>(\{\"timestamp\".*)$", line)
            self.assertTrue(m, line)
            self.assertEqual(m.group(1), prio[json.loads(m.group(2))["level"]], line)
        self.assertIn("<4>", "".join(lines))  # provider_token_missing, a warning
        self.assertIn("<6>", "".join(lines))  # daemon_started
        # zend.log stays pure JSON.
        with open(self.path("zend.log")) as f:
            for line in f:
                self.assertTrue(line.startswith('{"timestamp"'), line)

    def test_another_stream_means_no_prefix(self):
        self.write_config(minimal_config())
        env = dict(self.env, JOURNAL_STREAM="1:1")
        p = self.start_zend(env=env)
        self.stop_zend_cleanly(p)
        lines = [x for x in self.output_of(p).splitlines() if "{" in x]
        self.assertTrue(lines)
        for line in lines:
            self.assertTrue(line.startswith('{"timestamp"'), line)


class EventCompletion(ZenTestCase):
    def test_event_completes_every_name_of_the_table(self):
        names = table_events()
        self.assertIn("request_completed", names)
        self.assertIn("daemon_start_failed", names)
        script = os.path.join(SOURCE_DIR, "completions", "zenctl.bash")
        cmd = ('source "$1"; shift; COMP_WORDS=(zenctl "$@"); COMP_CWORD=$(( $# )); '
               '_zenctl; printf "%s\\n" "${COMPREPLY[@]}"')
        r = subprocess.run(["bash", "-c", cmd, "bash", script, "logs", "--event", ""],
                           capture_output=True, text=True, check=True)
        self.assertEqual(sorted(w for w in r.stdout.split("\n") if w), sorted(names))
        for shell, name in (("zsh", "_zenctl"), ("fish", "zenctl.fish")):
            with open(os.path.join(SOURCE_DIR, "completions", name)) as f:
                text = f.read()
            with self.subTest(shell=shell):
                for event in names:
                    self.assertRegex(text, r"\b%s\b" % event)


if __name__ == "__main__":
    unittest.main()
