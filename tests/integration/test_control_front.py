"""The health front (zend/ops/control_front.c): health is answered on a
thread of its own from a snapshot the event loop publishes, so a loop stuck
in one iteration delays no health call -- and the answer says it is stuck.
Every other request moves its connection to the loop, answers in order."""
import os
import select
import time
import unittest

from test_operations import OpsTestCase
from zenharness import RawClient, mp_pack, wait_until


def busy_reason(h):
    return [r for r in h["reasons"] if r.startswith("event loop busy for ")]


class HealthFront(OpsTestCase):
    def setUp(self):
        super().setUp()
        # The defaults under test: 0.5 ms for a fresh snapshot, then the last.
        self.env.pop("ZEND_TEST_HEALTH_WAIT_MS", None)

    def test_health_answers_while_the_loop_is_stuck(self):
        # After 1 s of serving, the worker's loop sleeps 6 s in one callback.
        self.env["ZEND_TEST_STALL_LOOP_MS"] = "1000,6000"
        self.env["ZEND_TEST_UNRESPONSIVE_MS"] = "60000"  # the supervisor lets it be
        self.start()
        # A request to the loop made during the stall waits for it to end...
        status = RawClient(self.sock)
        stuck = None

        def stuck_health():
            nonlocal stuck
            c = RawClient(self.sock, timeout=2.0)  # well under the stall's 6 s
            try:
                c.request(1, "health", {})
                msg = c.read_message()
            finally:
                c.close()
            self.assertIsNotNone(msg, "zend closed the health connection")
            h = msg[3]
            if busy_reason(h):
                stuck = h
            return stuck is not None

        try:
            wait_until(stuck_health, timeout=15, what="a health answer naming the stuck loop")
            status.request(7, "status", {})
            # ...while health, asked after it, is answered at once.
            self.assertTrue(stuck_health())
            readable, _, _ = select.select([status.s], [], [], 0)
            self.assertEqual(readable, [], "status was answered while the loop was stuck")
            self.assertEqual(stuck["status"], "unhealthy", stuck["reasons"])
            self.assertGreaterEqual(stuck["snapshot_age_ms"], 1000)
            self.assertIn("requests wait", busy_reason(stuck)[0])
            self.assertEqual([p["name"] for p in stuck["providers"]], ["p1", "p2"])
            # Once the loop moves again, the queued status is answered and
            # health is current again.
            msg = status.read_message()
            self.assertEqual((msg[0], msg[1]), (1, 7))
            self.assertIsNone(msg[2])
            self.assertEqual(msg[3]["state"], "running")
            # The rest of the stuck answer was the snapshot's: this worker's.
            self.assertEqual(stuck["pid"], msg[3]["pid"])
        finally:
            status.close()
        h = self.health()
        self.assertEqual(busy_reason(h), [], h["reasons"])
        self.assertEqual(h["status"], "healthy", h["reasons"])
        self.assertLess(h["snapshot_age_ms"], 1000)

    def test_health_is_current_after_a_change(self):
        """An idle loop is woken for a fresh snapshot: health right after a
        change made through the loop shows the change."""
        self.start()
        self.assertEqual(self.health()["status"], "healthy")
        for _ in range(20):
            err, _ = self.rpc("provider.disable", {"name": "p1"})
            self.assertIsNone(err)
            h = self.health()
            self.assertIn("provider p1 disabled", h["reasons"])
            err, _ = self.rpc("provider.enable", {"name": "p1"})
            self.assertIsNone(err)
            h = self.health()
            self.assertEqual(h["status"], "healthy", h["reasons"])

    def test_threads_are_named(self):
        """`top -H`, `ps -L` and perf tell zend's threads apart."""
        self.start()
        pid = self.worker_pid()
        tasks = "/proc/%d/task" % pid

        def comm(tid):
            with open(os.path.join(tasks, tid, "comm")) as f:
                return f.read().strip()
        names = [comm(t) for t in os.listdir(tasks)]
        self.assertEqual(names.count("zend-front"), 1, names)
        self.assertEqual(names.count("zend-ledger"), 1, names)

    def test_pipelined_requests_keep_their_order(self):
        """health, then methods only the loop answers, then health again, in
        one write: the connection moves to the loop with what it holds, and
        the answers come back in the order asked."""
        self.start()
        c = RawClient(self.sock)
        try:
            c.send(b"".join(mp_pack([0, i, m, [{}]]) for i, m in
                            enumerate(["health", "health", "status", "health", "hello",
                                       "no.such.method"], start=1)))
            got = [c.read_message() for _ in range(6)]
        finally:
            c.close()
        self.assertEqual([(m[0], m[1]) for m in got], [(1, i) for i in range(1, 7)])
        self.assertEqual(got[0][3]["status"], "healthy")
        self.assertIn("snapshot_age_ms", got[1][3])
        self.assertEqual(got[2][3]["state"], "running")
        self.assertEqual(got[3][3]["status"], "healthy")
        self.assertIn("proto", got[4][3])
        self.assertEqual(got[5][2]["code"], 1)  # unknown method

    def test_frames_in_pieces_and_many_on_one_connection(self):
        self.start()
        c = RawClient(self.sock)
        try:
            frame = mp_pack([0, 1, "health", []])
            for b in frame:  # a byte per write
                c.send(bytes([b]))
            msg = c.read_message()
            self.assertEqual((msg[0], msg[1]), (1, 1))
            self.assertEqual(msg[3]["status"], "healthy")
            # Many at once, more than a socket buffer of answers: all come.
            n = 400
            c.send(b"".join(mp_pack([0, 100 + i, "health", []]) for i in range(n)))
            ids = [c.read_message()[1] for _ in range(n)]
            self.assertEqual(ids, list(range(100, 100 + n)))
        finally:
            c.close()
        # Garbage still gets the loop's answer: an error, then the close.
        c = RawClient(self.sock)
        try:
            c.send(b"\xc1" + mp_pack([0, 5, "health", []]))
            msg = c.read_message()
            self.assertIsNone(msg, "a connection that sent garbage stayed open")
        finally:
            c.close()
        self.assertTrue(any(r["event"] == "control_bad_frame" for r in self.log_records()))
        self.assertEqual(self.health()["status"], "healthy")


if __name__ == "__main__":
    unittest.main()
