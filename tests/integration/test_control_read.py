"""The read-only control socket (daemon.control_readers, control_read_socket)
for monitoring users, and the control connections' frame and idle deadlines
on it (proto/PROTOCOL.md, "Transport"). Every test runs its own zend in a
temp ZEN_HOME; the read socket lives in a temp directory others may enter."""
import grp
import json
import os
import pwd
import shutil
import stat
import tempfile
import time
import unittest

from test_hardening_ctl import closed_by_peer
from zenharness import RawClient, ZenTestCase, mp_pack, run_as

NOBODY = 65534
MONITORING = ["hello", "status", "health", "metrics", "providers"]
REFUSED = [("shutdown", {}), ("reload", {}), ("provider.disable", {"name": "p1"}),
           ("provider.enable", {"name": "p1"}), ("logs.subscribe", {"backlog": 5}),
           ("logs.unsubscribe", {}), ("config.get", {})]


def call(client, msgid, method, params=None):
    """One request on a RawClient; its response as (error, result)."""
    client.request(msgid, method, params if params is not None else {})
    while True:
        msg = client.read_message()
        if msg is None:
            raise AssertionError("zend closed the connection during %s" % method)
        if msg[0] == 1 and msg[1] == msgid:
            return msg[2], msg[3]


class ReadSocketCase(ZenTestCase):
    def setUp(self):
        super().setUp()
        # Outside the 0700 home, in a directory other users may enter.
        self.rdir = tempfile.mkdtemp(prefix="zen-ro-", dir="/tmp")
        os.chmod(self.rdir, 0o711)
        self.rsock = os.path.join(self.rdir, "read.sock")
        self.group = grp.getgrgid(os.getgid()).gr_name  # our primary group
        self.zend = None

    def tearDown(self):
        try:
            if self.zend:
                self.stop_zend_cleanly(self.zend)
        finally:
            super().tearDown()
            shutil.rmtree(self.rdir, ignore_errors=True)

    def start(self, readers, **daemon):
        d = {"listen": "127.0.0.1:0", "control_readers": readers,
             "control_read_socket": self.rsock}
        d.update(daemon)
        self.write_config({"providers": {"p1": {"base_url": "http://127.0.0.1:9"}},
                           "profiles": {"default": ["p1"]}, "daemon": d})
        self.zend = self.start_zend()

    def as_peer(self, uid, gid, groups):
        """Asks the read socket for health then shutdown as another user
        (run_as); returns what it saw."""
        def ask():
            c = RawClient(self.rsock, timeout=5)
            try:
                c.request(1, "health", {})
            except BrokenPipeError:
                pass  # refused and closed already: its answer is there to read
            first = c.read_message()
            if first[2] is not None and first[1] == 0:  # refused at the door
                return {"first": first, "after": c.read_message()}
            return {"health": [first[2], first[3]], "shutdown": call(c, 2, "shutdown")}
        return run_as(uid, gid, groups, ask)


class ReadSocket(ReadSocketCase):
    def test_monitoring_methods_answer_and_the_rest_get_error_5(self):
        self.start([self.group])
        c = RawClient(self.rsock)
        try:
            for i, method in enumerate(MONITORING):
                err, result = call(c, i + 1, method)
                self.assertIsNone(err, method)
                self.assertIsInstance(result, dict, method)
            err, _ = call(c, 50, "metrics.subscribe", {"interval_ms": 100})
            self.assertIsNone(err)
            for i, (method, params) in enumerate(REFUSED):
                err, result = call(c, 100 + i, method, params)
                self.assertEqual(err["code"], 5, method)
                self.assertIn("permission denied", err["message"])
                self.assertIsNone(result)
            err, _ = call(c, 200, "no.such.method")
            self.assertEqual(err["code"], 1)  # unknown stays unknown
        finally:
            c.close()
        # Nothing was disabled or shut down; the main socket still takes orders.
        self.assertEqual(self.status_json()["state"], "running")
        r = self.zenctl("-o", "json", "providers")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertFalse(json.loads(r.stdout)["providers"][0]["disabled"])

    def test_zenctl_selects_it_with_socket_flag_or_env(self):
        self.start([self.group])
        r = self.zenctl("-s", self.rsock, "health")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("zend healthy", r.stdout)
        r = self.zenctl("--socket", self.rsock, "-o", "json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout)["supervisor_pid"], self.zend.pid)
        env = dict(self.env, ZEN_SOCKET=self.rsock)
        r = self.zenctl("shutdown", env=env)
        self.assertEqual(r.returncode, 4, r.stdout + r.stderr)  # permission denied
        self.assertIn("shutdown is not a method of the read-only socket", r.stderr)
        r = self.zenctl("-o", "prom", "metrics", env=env)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("zend_up 1", r.stdout)
        self.assertIsNone(self.zend.poll())

    def test_socket_file_mode_group_and_removal(self):
        self.start(["zend-no-such-user-42", self.group])
        st = os.stat(self.rsock)
        self.assertTrue(stat.S_ISSOCK(st.st_mode))
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o660)
        self.assertEqual(st.st_gid, os.getgid())  # the first name that is a group
        self.assertEqual(st.st_uid, os.geteuid())
        w = [r for r in self.log_records() if r["event"] == "config_warning"]
        self.assertEqual(w[0]["path"], "daemon.control_readers[0]")
        self.stop_zend_cleanly(self.zend)
        self.zend = None
        self.assertFalse(os.path.exists(self.rsock))  # removed at exit like zend.sock

    def test_unusable_path_fails_the_start(self):
        self.rsock = os.path.join(self.rdir, "missing", "read.sock")
        self.write_config({"providers": {"p1": {"base_url": "http://127.0.0.1:9"}},
                           "profiles": {"default": ["p1"]},
                           "daemon": {"listen": "127.0.0.1:0", "control_readers": [self.group],
                                      "control_read_socket": self.rsock}})
        r = self.run_zend()
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn("zend: read-only control socket: cannot listen on %s" % self.rsock,
                      r.stderr)
        self.assertFalse(os.path.exists(self.sock))  # nothing left behind
        failed = [x for x in self.log_records() if x["event"] == "daemon_start_failed"]
        self.assertEqual(failed[-1]["stage"], "read-only control socket")

    def test_other_users_listed_or_not(self):
        """A listed user, a member of a listed group, and someone else, each
        a real peer of another uid. Without root there is no other uid to
        be: then zend's own user is the peer (unit_control_access proves the
        matching for other ids with a fake user database)."""
        self.start([self.group, pwd.getpwuid(NOBODY).pw_name if os.geteuid() == 0 else
                    pwd.getpwuid(os.geteuid()).pw_name])
        if os.geteuid() != 0:
            c = RawClient(self.rsock)
            self.assertEqual(call(c, 1, "health")[0], None)
            self.assertEqual(call(c, 2, "shutdown")[0]["code"], 5)
            c.close()
            return
        gid = os.getgid()
        # Every peer may open the 0660 file (supplementary group gid); what
        # tells them apart is zend's SO_PEERCRED check.
        by_user = self.as_peer(NOBODY, NOBODY, [gid])
        self.assertNotIn("exception", by_user)
        self.assertIsNone(by_user["health"][0])
        self.assertIn(by_user["health"][1]["status"], ("healthy", "degraded", "unhealthy"))
        self.assertEqual(by_user["shutdown"][0]["code"], 5)
        by_group = self.as_peer(NOBODY - 1, gid, [gid])  # primary gid listed
        self.assertIsNone(by_group["health"][0])
        self.assertEqual(by_group["shutdown"][0]["code"], 5)
        stranger = self.as_peer(NOBODY - 2, NOBODY - 2, [gid])
        self.assertIn("first", stranger, stranger)
        self.assertEqual(stranger["first"][0], 1)
        self.assertEqual(stranger["first"][2]["code"], 5)
        self.assertIn("not one of daemon.control_readers", stranger["first"][2]["message"])
        self.assertIsNone(stranger["after"])  # and closed
        refused = [r for r in self.log_records() if r["event"] == "control_peer_refused"]
        self.assertEqual([(r["uid"], r["read_only"]) for r in refused], [(NOBODY - 2, True)])
        self.assertIsNone(self.zend.poll())


class ReadSocketReload(ReadSocketCase):
    def test_readers_apply_at_reload_the_path_at_restart(self):
        me = pwd.getpwuid(NOBODY if os.geteuid() == 0 else os.geteuid()).pw_name
        self.start([self.group, me])
        if os.geteuid() == 0:
            self.assertIsNone(self.as_peer(NOBODY, NOBODY, [os.getgid()])["health"][0])
        with open(self.path("zen.json")) as f:
            cfg = json.load(f)
        cfg["daemon"]["control_readers"] = [self.group]
        cfg["daemon"]["control_read_socket"] = os.path.join(self.rdir, "moved.sock")
        self.write_config(cfg)
        r = self.zenctl("-o", "json", "reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("control_read_socket", json.loads(r.stdout)["restart_required"])
        # The socket stays where it was bound; who may use it follows the config.
        self.assertFalse(os.path.exists(os.path.join(self.rdir, "moved.sock")))
        c = RawClient(self.rsock)
        self.assertIsNone(call(c, 1, "health")[0])
        c.close()
        if os.geteuid() == 0:
            gone = self.as_peer(NOBODY, NOBODY, [os.getgid()])
            self.assertIn("first", gone, gone)
            self.assertEqual(gone["first"][2]["code"], 5)


class ReadSocketDeadlines(ReadSocketCase):
    """A peer of the read socket cannot pin its 64 slots with half frames
    or idle connections either."""

    MAX = 64  # CONTROL_MAX_CONNECTIONS

    def test_half_frames_are_closed_at_the_deadline_and_free_their_slots(self):
        self.env["ZEND_TEST_CONTROL_FRAME_MS"] = "400"
        self.start([self.group], log_level="debug")
        frame = mp_pack([0, 1, "health", []])
        stuck = []
        for _ in range(self.MAX):
            s = RawClient(self.rsock).s
            s.sendall(frame[:len(frame) // 2])
            stuck.append(s)
        t0 = time.monotonic()
        try:
            self.assertFalse(closed_by_peer(stuck[-1], 0.2))  # not before the deadline
            for s in stuck:
                self.assertTrue(closed_by_peer(s, 5.0), "a half frame lived on")
            self.assertGreaterEqual(time.monotonic() - t0, 0.35)
        finally:
            for s in stuck:
                s.close()
        # Every slot is free again: a full table of new peers is served,
        # and nobody had to be evicted to make room.
        fresh = [RawClient(self.rsock) for _ in range(self.MAX)]
        try:
            for i, c in enumerate(fresh):
                self.assertIsNone(call(c, i + 1, "health")[0])
        finally:
            for c in fresh:
                c.close()
        records = self.log_records()
        timeouts = [r for r in records if r["event"] == "control_conn_timeout"]
        self.assertEqual(len(timeouts), self.MAX)
        self.assertTrue(all(r["reason"] == "frame incomplete" for r in timeouts))
        self.assertEqual([r for r in records if r["event"] == "control_conn_evicted"], [])

    def test_idle_connections_close_subscribers_stay(self):
        self.env["ZEND_TEST_CONTROL_IDLE_MS"] = "500"
        self.start([self.group])
        idle = RawClient(self.rsock).s
        sub = RawClient(self.rsock)
        t0 = time.monotonic()
        try:
            self.assertIsNone(call(sub, 1, "metrics.subscribe", {"interval_ms": 100})[0])
            self.assertTrue(closed_by_peer(idle, 5.0), "an idle connection stays open")
            self.assertGreaterEqual(time.monotonic() - t0, 0.45)
            ticks = 0
            end = time.monotonic() + 1.2
            while time.monotonic() < end:
                msg = sub.read_message()
                self.assertIsNotNone(msg, "zend closed a metrics subscriber")
                ticks += msg[0] == 2
            self.assertGreater(ticks, 5)
        finally:
            idle.close()
            sub.close()


if __name__ == "__main__":
    unittest.main()
