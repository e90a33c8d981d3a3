"""The usage ledger's file, RPCs and failures with the real zend
(docs/usage.md, "The ledger" and "When the database fails"; proto/PROTOCOL.md
`usage.query`, `usage.repair`).

usage.db is created 0600 in ZEN_HOME in WAL mode; a garbage usage.db does
not stop the proxy -- health is degraded with SQLite's message and the file
stays byte for byte until usage.repair renames it; a database replaced by a
read-only copy mid-run (zend runs as an unprivileged user here, so the
permission is real) keeps the proxy serving, health says why, and the ledger
recovers on its own once the file is writable again.

Each test has its own ZEN_HOME, a mock provider and one zend; conditions are
polled with deadlines."""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from zenharness import ZEND, MockZenTestCase, RawClient, http_request, wait_until

NOBODY = 65534
GARBAGE = b"not a database at all; zend must not touch this\n" * 20
BODY = b'{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}'
OK_STEP = {"json": {"id": "msg_1", "type": "message", "role": "assistant",
                    "content": [{"type": "text", "text": "hi"}], "model": "claude-sonnet-4-5",
                    "stop_reason": "end_turn", "usage": {"input_tokens": 3, "output_tokens": 1}}}
RETRY_MS = "200"


class LedgerCase(MockZenTestCase):
    def setUp(self):
        super().setUp()
        self.env["ZEND_TEST_LEDGER_RETRY_MS"] = RETRY_MS
        self.mock.default(OK_STEP)
        self.db = self.path("usage.db")

    def config(self):
        return {"providers": {"p1": {"base_url": self.mock.url, "auth_token": "sk-1"}},
                "profiles": {"default": ["p1"]},
                "daemon": {"listen": "127.0.0.1:0", "probe_interval_ms": 60000}}

    def start(self, as_user=None):
        self.write_config(self.config())
        if as_user is None:
            self.zend = self.start_zend()
        else:
            self.zend = self.start_zend_as(*as_user)
        host, port = self.status_json()["listen"].rsplit(":", 1)
        self.addr = (host, int(port))

    def start_zend_as(self, uid, gid):
        """zend as another user, its ZEN_HOME handed over to that user."""
        for root, dirs, files in os.walk(self.home):
            for name in dirs + files:
                os.chown(os.path.join(root, name), uid, gid)
        os.chown(self.home, uid, gid)
        out_path = os.path.join(self.home, "zend-as.out")

        def drop():
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
        # The build tree may sit under a 0700 directory (a clone in mktemp -d)
        # that the other user cannot enter: it runs a copy of the binary.
        bindir = tempfile.mkdtemp(prefix="zen-bin-", dir="/tmp")
        self.addCleanup(shutil.rmtree, bindir, True)
        os.chmod(bindir, 0o755)
        zend_copy = os.path.join(bindir, "zend")
        shutil.copyfile(ZEND, zend_copy)
        os.chmod(zend_copy, 0o755)
        with open(out_path, "w") as out:
            p = subprocess.Popen([zend_copy], env=self.env, stdout=out, stderr=out,
                                 preexec_fn=drop)
        p.out_path = out_path
        self.procs.append(p)
        wait_until(lambda: p.poll() is not None or self.zenctl("status").returncode == 0,
                   what="zend to answer status")
        if p.poll() is not None:
            self.fail("zend exited early (%d): %s" % (p.returncode, self.output_of(p)))
        return p

    def served(self):
        r = http_request(self.addr, "POST", "/v1/messages", BODY,
                         {"content-type": "application/json", "x-api-key": "k"})
        return r.status

    def health(self):
        r = self.zenctl("-o", "json", "health")
        return json.loads(r.stdout)

    def usage_reasons(self):
        return [t for t in self.health()["reasons"] if t.startswith("usage ledger")]

    def call(self, method, params=None):
        c = RawClient(self.sock)
        try:
            c.request(1, method, params)
            return c.read_message()
        finally:
            c.close()


class TheFile(LedgerCase):
    def test_created_private_in_wal_mode_with_schema_version(self):
        self.start()
        wait_until(lambda: os.path.exists(self.db), what="usage.db")
        wait_until(lambda: os.path.exists(self.db + "-wal"), what="usage.db-wal")
        self.assertEqual(os.stat(self.db).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.db + "-wal").st_mode & 0o777, 0o600)
        con = sqlite3.connect(self.db)
        try:
            self.assertEqual(con.execute("PRAGMA journal_mode").fetchone()[0], "wal")
            # The schema is written just after WAL mode is set: poll for it.
            wait_until(lambda: con.execute("PRAGMA user_version").fetchone()[0] == 1,
                       what="the schema version")
        finally:
            con.close()
        usage = self.status_json()["usage"]
        self.assertEqual((usage["enabled"], usage["available"], usage["dropped"]),
                         (True, True, 0))
        self.assertEqual(self.served(), 200)
        self.assertEqual(self.usage_reasons(), [])

    def test_usage_query_answers_and_refuses_bad_params(self):
        self.start()
        msg = self.call("usage.query", {})
        self.assertIsNone(msg[2], msg)
        result = msg[3]
        self.assertEqual(result["by"], "day")
        self.assertEqual(result["groups"], [])
        self.assertEqual(result["total"]["requests"], 0)
        self.assertIsNone(result["total"]["cost_usd"])
        msg = self.call("usage.query", {"by": "provider", "since_ms": 1, "until_ms": 2,
                                        "profile": "default", "provider": "p1"})
        self.assertIsNone(msg[2], msg)
        self.assertEqual((msg[3]["by"], msg[3]["since_ms"], msg[3]["until_ms"]),
                         ("provider", 1, 2))
        for params, words in (({"by": "week"}, "by must be"),
                              ({"since_ms": "yesterday"}, "since_ms must be"),
                              ({"until_ms": -5}, "until_ms must be"),
                              ({"since_ms": 10, "until_ms": 5}, "later than"),
                              ({"profile": 3}, "profile must be")):
            with self.subTest(params=params):
                msg = self.call("usage.query", params)
                self.assertEqual(msg[2]["code"], 2, msg)
                self.assertIn(words, msg[2]["message"])
        # The client hangs up before its answer: zend carries on.
        c = RawClient(self.sock)
        c.request(9, "usage.query", {"by": "model"})
        c.close()
        self.assertIsNone(self.call("usage.query", {"by": "hour"})[2])

    def test_usage_repair_of_a_healthy_file_renames_nothing(self):
        self.start()
        wait_until(lambda: os.path.exists(self.db), what="usage.db")
        msg = self.call("usage.repair")
        self.assertIsNone(msg[2], msg)
        self.assertIsNone(msg[3]["renamed_to"])
        self.assertTrue(msg[3]["available"])
        self.assertIn("healthy", msg[3]["message"])
        self.assertEqual([n for n in os.listdir(self.home) if ".corrupt-" in n], [])


class ZenctlUsage(LedgerCase):
    """zenctl usage against the real zend (its views are tested in
    test_usage_cli against a fake socket)."""

    def test_query_and_repair_answer(self):
        self.start()
        r = self.zenctl("usage", "--by", "provider", "-o", "json")
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, []), r.stderr)
        r = self.zenctl("usage", "-o", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(r.stdout.startswith("day,requests,failed,"), r.stdout)
        r = self.zenctl("usage", "--repair")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("healthy; nothing renamed", r.stdout)

    def test_unavailable_ledger_is_an_error(self):
        with open(self.db, "wb") as f:
            f.write(GARBAGE)
        self.start()
        wait_until(self.usage_reasons, what="the usage ledger reason")
        r = self.zenctl("usage")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("usage ledger unavailable: file is not a database", r.stderr)
        self.assertEqual(r.stdout, "")


class Switched(LedgerCase):
    """daemon.usage.enabled, at start and at a reload."""

    def config_with(self, enabled):
        cfg = self.config()
        cfg["daemon"]["usage"] = {"enabled": enabled}
        return cfg

    def test_off_then_on_then_off_by_reload(self):
        self.write_config(self.config_with(False))
        self.zend = self.start_zend()
        usage = self.status_json()["usage"]
        self.assertEqual((usage["enabled"], usage["available"]), (False, False))
        msg = self.call("usage.query", {})
        self.assertEqual(msg[2]["code"], 7, msg)
        self.assertIn("daemon.usage.enabled is false", msg[2]["message"])
        self.assertEqual(self.call("usage.repair")[2]["code"], 7)
        self.assertFalse(os.path.exists(self.db))
        self.assertEqual(self.usage_reasons(), [])

        self.write_config(self.config_with(True))
        self.assertEqual(self.zenctl("reload").returncode, 0)
        wait_until(lambda: os.path.exists(self.db), what="usage.db after the reload")
        self.assertTrue(self.status_json()["usage"]["enabled"])
        self.assertIsNone(self.call("usage.query", {})[2])

        self.write_config(self.config_with(False))
        self.assertEqual(self.zenctl("reload").returncode, 0)
        self.assertFalse(self.status_json()["usage"]["enabled"])
        self.assertEqual(self.call("usage.query", {})[2]["code"], 7)
        self.assertTrue(os.path.exists(self.db))  # off is not delete


class GarbageFile(LedgerCase):
    def test_serves_degraded_untouched_then_repaired(self):
        with open(self.db, "wb") as f:
            f.write(GARBAGE)
        os.chmod(self.db, 0o600)
        self.start()
        self.assertEqual(self.served(), 200)
        reasons = wait_until(self.usage_reasons, what="the usage ledger reason")
        self.assertEqual(reasons, ["usage ledger unavailable: file is not a database"])
        r = self.zenctl("health")
        self.assertIn("usage ledger unavailable: file is not a database", r.stdout)
        self.assertEqual(self.health()["status"], "degraded")
        usage = self.status_json()["usage"]
        self.assertEqual((usage["available"], usage["error"]),
                         (False, "file is not a database"))
        msg = self.call("usage.query", {"by": "provider"})
        self.assertEqual(msg[2]["code"], 7, msg)
        self.assertIn("usage ledger unavailable: file is not a database", msg[2]["message"])
        # Several retries later the file is still what the user left there.
        wait_until(lambda: any(r.get("event") == "usage_store_failed"
                               for r in self.log_records()), what="usage_store_failed")
        with open(self.db, "rb") as f:
            self.assertEqual(f.read(), GARBAGE)
        failed = [r for r in self.log_records() if r.get("event") == "usage_store_failed"]
        self.assertEqual(len(failed), 1, failed)  # once per distinct failure
        self.assertEqual(failed[0]["level"], "error")

        msg = self.call("usage.repair")
        self.assertIsNone(msg[2], msg)
        renamed = msg[3]["renamed_to"]
        self.assertRegex(renamed, re.escape(self.db) + r"\.corrupt-\d+$")
        self.assertTrue(msg[3]["available"])
        with open(renamed, "rb") as f:
            self.assertEqual(f.read(), GARBAGE)
        wait_until(lambda: self.usage_reasons() == [], what="the reason to go")
        self.assertEqual(self.health()["status"], "healthy")
        self.assertIsNone(self.call("usage.query", {})[2])
        self.assertTrue(any(r.get("event") == "usage_store_recovered"
                            for r in self.log_records()))


class ReadOnlyMidRun(LedgerCase):
    """zend runs as nobody (when the test is root, which ignores file
    modes): the database is replaced by a read-only copy while zend runs."""

    def test_keeps_serving_says_why_and_recovers(self):
        as_user = (NOBODY, NOBODY) if os.geteuid() == 0 else None
        self.start(as_user)
        wait_until(lambda: os.path.exists(self.db), what="usage.db")
        self.assertTrue(self.status_json()["usage"]["available"])
        copy = self.path("usage.copy")
        shutil.copyfile(self.db, copy)
        if as_user:
            os.chown(copy, *as_user)
        os.chmod(copy, 0o400)
        os.replace(copy, self.db)
        reasons = wait_until(self.usage_reasons, what="the read-only reason")
        self.assertIn("readonly", reasons[0])
        self.assertTrue(reasons[0].startswith("usage ledger unavailable: "), reasons)
        self.assertEqual(self.health()["status"], "degraded")
        self.assertEqual(self.served(), 200)
        self.assertFalse(self.status_json()["usage"]["available"])

        os.chmod(self.db, 0o600)
        wait_until(lambda: self.usage_reasons() == [], timeout=5,
                   what="the ledger to recover at the retry interval")
        self.assertTrue(self.status_json()["usage"]["available"])
        self.assertEqual(self.served(), 200)
        con = sqlite3.connect(self.db)
        try:
            self.assertEqual(con.execute("PRAGMA user_version").fetchone()[0], 1)
        finally:
            con.close()


if __name__ == "__main__":
    unittest.main()
