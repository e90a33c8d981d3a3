"""make demo (tests/demo/demo.py) end to end: the request fails over from the
overloaded mock to the answering one, the log and the providers table say
so, metrics --watch prints live lines, and everything the demo started is
gone afterwards, in well under a minute."""
import os
import re
import subprocess
import sys
import time
import unittest

from zenharness import SOURCE_DIR

DEMO = os.path.join(SOURCE_DIR, "tests", "demo", "demo.py")


class Demo(unittest.TestCase):
    def test_demo_runs_end_to_end(self):
        t0 = time.monotonic()
        r = subprocess.run([sys.executable, DEMO], capture_output=True, text=True, timeout=60,
                           stdin=subprocess.DEVNULL)
        elapsed = time.monotonic() - t0
        out = r.stdout
        self.assertEqual(r.returncode, 0, out + r.stderr)
        self.assertLess(elapsed, 60)
        # zend's first line, with the real port.
        m = re.search(r"^zend \S+ listening on http://127\.0\.0\.1:(\d+) \(config (\S+)/zen\.json,"
                      r" state (\S+)\); next: export ANTHROPIC_BASE_URL=http://127\.0\.0\.1:\1/"
                      r"default; every provider has its own token$", out, re.M)
        self.assertTrue(m, out)
        self.assertNotEqual(m.group(1), "0")
        home = m.group(3)
        # The request: answered by backup after primary's 529.
        self.assertIn("HTTP/1.1 200 OK\nx-zen-provider: backup\nx-zen-attempts: 2\n", out)
        self.assertIn("Hello from the backup provider!", out)
        self.assertRegex(out, r"(?m)^-> failover: primary failed with 529 \(server error\), "
                              r"backup served the answer, 2 attempts in all")
        self.assertRegex(out, r"(?m)^\S+ WARN  provider_failed .*provider=primary "
                              r"error_type=server status=529")
        self.assertRegex(out, r"(?m)^primary\s+anthropic\s+unhealthy\s+open\s")
        self.assertRegex(out, r"(?m)^backup\s+anthropic\s+healthy\s+closed\s")
        # metrics --watch: its header, then live lines with traffic in them.
        lines = out.splitlines()
        head = [i for i, line in enumerate(lines) if line.split()[:2] == ["time", "req/s"]]
        self.assertEqual(len(head), 1, out)
        rows = []
        for line in lines[head[0] + 1:]:
            if not re.match(r"^\d\d:\d\d:\d\d\s", line):
                break
            rows.append(line.split())
        self.assertGreaterEqual(len(rows), 3, out)
        self.assertTrue(any(float(row[1]) > 0 for row in rows), rows)
        # Shut down and cleaned up: zend and both mocks gone, the home removed.
        zend_pid = int(re.search(r"(?m)^zend \(pid (\d+)\) stopped", out).group(1))
        mocks = [int(p) for p in re.findall(r"(?:primary|backup) \(pid (\d+)\)", out)]
        self.assertEqual(len(mocks), 2, out)
        for pid in [zend_pid] + mocks:
            with self.assertRaises(ProcessLookupError, msg="pid %d still runs" % pid):
                os.kill(pid, 0)
        self.assertTrue(out.rstrip().endswith("removed %s" % home), out[-300:])
        self.assertFalse(os.path.exists(home))


if __name__ == "__main__":
    unittest.main()
