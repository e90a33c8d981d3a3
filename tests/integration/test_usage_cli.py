"""zenctl usage, end to end on the client side: the params it sends for
--since/--until/--by/filters, its table, CSV and JSON rows, usage budget
and usage --repair, against a fake control socket that answers usage.query,
usage.budget and usage.repair with canned results (the server side is
tested with zend's ledger); argument errors exit 64 without contacting
zend; a zend that does not know the methods gets a clear error."""
import calendar
import json
import time
import unittest

from test_zenctl_views import FakeControl
from zenharness import ZenTestCase, minimal_config

QUERY = {"by": "provider", "since_ms": 1, "until_ms": None, "groups": [
    {"key": "p1", "requests": 3, "failed": 1, "input_tokens": 1500, "output_tokens": 40,
     "cache_read_tokens": 0, "cache_write_tokens": 0, "cost_usd": 1.2, "cost_unknown": 1,
     "ttfb_p50_ms": 41.0},
    {"key": None, "requests": 2, "failed": 2, "input_tokens": 0, "output_tokens": 0,
     "cache_read_tokens": 0, "cache_write_tokens": 0, "cost_usd": None, "cost_unknown": 2,
     "ttfb_p50_ms": None}],
    "total": {"requests": 5, "failed": 3, "input_tokens": 1500, "output_tokens": 40,
              "cache_read_tokens": 0, "cache_write_tokens": 0, "cost_usd": 1.2,
              "cost_unknown": 3, "ttfb_p50_ms": 41.0}}

BUDGET = {"per_project": False, "limits": [
    {"period": "daily", "profile": None, "amount": 10.0, "spend": 8.5, "percent": 85.0,
     "action": "block", "state": "warning", "resets_at_ms": int(time.time() * 1000) + 3600000}]}


class UsageCommand(ZenTestCase):
    def fake(self, **answers):
        f = FakeControl(self.sock, {k.replace("_", "."): v for k, v in answers.items()})
        self.addCleanup(f.close)
        return f

    def usage(self, *args, tz="UTC"):
        return self.zenctl("usage", *args, env=dict(self.env, TZ=tz))

    def test_query_params(self):
        f = self.fake(usage_query=QUERY)
        before = int(time.time() * 1000)
        r = self.usage("-o", "json")
        after = int(time.time() * 1000)
        self.assertEqual(r.returncode, 0, r.stderr)
        method, params = f.calls[-1]
        self.assertEqual(method, "usage.query")
        self.assertEqual(params["by"], "day")  # the default
        self.assertNotIn("until_ms", params)
        week = 7 * 86400 * 1000
        self.assertTrue(before - week <= params["since_ms"] <= after - week, params)

        r = self.usage("--since", "2026-11-01", "--until", "2026-11-02T06:30", "--by", "model",
                       "--profile", "work", "--provider", "p1")
        self.assertEqual(r.returncode, 0, r.stderr)
        params = f.calls[-1][1]
        midnight = calendar.timegm((2026, 11, 1, 0, 0, 0)) * 1000
        self.assertEqual(params, {"since_ms": midnight, "until_ms": midnight + 30.5 * 3600000,
                                  "by": "model", "profile": "work", "provider": "p1"})
        # Local means the machine's zone: the same date an hour earlier in Berlin.
        r = self.usage("--since", "2026-11-01", tz="CET-1CEST,M3.5.0,M10.5.0/3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(f.calls[-1][1]["since_ms"], midnight - 3600000)

    def test_query_outputs(self):
        self.fake(usage_query=QUERY)
        r = self.usage("--by", "provider", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        rows = json.loads(r.stdout)
        self.assertEqual(len(rows), 2)  # no total row
        self.assertEqual(rows[0], dict({"provider": "p1"}, **{k: v for k, v in
                                                              QUERY["groups"][0].items()
                                                              if k != "key"}))
        self.assertIsNone(rows[1]["provider"])

        r = self.usage("--by", "provider")
        self.assertEqual(r.returncode, 0, r.stderr)
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0].split()[:3], ["PROVIDER", "REQUESTS", "FAILED"])
        self.assertIn("1,500", lines[1])
        self.assertIn("$1.20 + ?", lines[1])
        self.assertIn("41ms", lines[1])
        self.assertTrue(lines[2].startswith("(none)") and " ? " in lines[2], lines[2])
        self.assertTrue(lines[-1].startswith("total"), lines)

        r = self.usage("--by", "provider", "-o", "csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.splitlines(), [
            "provider,requests,failed,input_tokens,output_tokens,cache_read_tokens,"
            "cache_write_tokens,cost_usd,cost_unknown,ttfb_p50_ms",
            "p1,3,1,1500,40,0,0,1.2,1,41", ",2,2,0,0,0,0,,2,"])

    def test_budget(self):
        f = self.fake(usage_budget=BUDGET)
        r = self.usage("budget", "-o", "json")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), BUDGET["limits"])
        self.assertEqual(f.calls[-1], ("usage.budget", None))
        r = self.usage("budget")
        self.assertEqual(r.returncode, 0, r.stderr)
        head, row = r.stdout.splitlines()
        self.assertEqual(head.split(), ["PERIOD", "SPEND", "AMOUNT", "PERCENT", "ACTION", "STATE",
                                        "RESETS"])
        self.assertEqual(row.split()[:6], ["daily", "$8.50", "$10.00", "85%", "block", "warning"])
        self.assertRegex(row, r"\(in (59m( [1-5]?[0-9]s)?|1h)\)$")

    def test_repair(self):
        self.fake(usage_repair={"renamed_to": "usage.db.corrupt-1794744000000",
                                "available": True, "message": "usage ledger reopened"})
        r = self.usage("--repair")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("usage ledger reopened", r.stdout)
        self.assertIn("usage.db.corrupt-1794744000000", r.stdout)

    def test_repair_still_unavailable(self):
        answer = {"renamed_to": None, "available": False, "message": "usage.db: disk I/O error"}
        self.fake(usage_repair=answer)
        r = self.usage("--repair")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("disk I/O error", r.stdout)
        r = self.usage("--repair", "-o", "json")
        self.assertEqual(r.returncode, 1)
        self.assertEqual(json.loads(r.stdout), answer)

    def test_remote_error(self):
        self.fake(usage_query=("error", 3, "usage ledger unavailable: database is locked"))
        r = self.usage()
        self.assertEqual(r.returncode, 1)
        self.assertIn("database is locked", r.stderr)
        self.assertEqual(r.stdout, "")

    def test_argument_errors_do_not_ask_zend(self):
        f = self.fake(usage_query=QUERY, usage_budget=BUDGET)
        cases = {("--since", "7x"): "--since", ("--until", "2026-02-30"): "--until",
                 ("--since", "1d", "--until", "2d"): "--until",
                 ("--by", "week"): "--by", ("--profile", ""): "--profile",
                 ("frobnicate",): "frobnicate", ("budget", "--since", "1d"): "--since",
                 ("budget", "-o", "csv"): "csv", ("--repair", "--by", "day"): "--by",
                 ("budget", "--repair"): "--repair", ("-o", "prom"): "prom",
                 ("budget", "extra"): "usage"}
        for args, named in cases.items():
            with self.subTest(args=args):
                r = self.usage(*args)
                self.assertEqual(r.returncode, 64, r.stdout + r.stderr)
                self.assertIn(named, r.stderr)
        self.assertEqual(f.calls, [])

    def test_metrics_table_tokens_line(self):
        pair = {"provider": "p1", "model": "m", "input": 1200, "output": 300,
                "cache_read": 5000, "cache_write": 7, "cost_usd": 0.5}
        self.fake(metrics={"requests_total": 2, "tokens": [pair, dict(pair, model="n")]})
        r = self.zenctl("metrics")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("  tokens      2,400 in, 600 out, 10,000 cache read; $1.00 priced\n",
                      r.stdout)

    def test_help_lists_usage(self):
        r = self.zenctl("--help")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"\n  usage \[budget\] +requests, tokens and cost")


class UsageAgainstZend(ZenTestCase):
    """`zenctl usage budget` against the real zend with no budgets: it says so
    and exits 0. (Budgets themselves are covered end to end by test_usage,
    the ledger's methods by test_ledger.)"""

    def test_budget_without_budgets(self):
        self.write_config(minimal_config())
        zend = self.start_zend()
        try:
            r = self.zenctl("usage", "budget")
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("no budgets configured", r.stdout)
            r = self.zenctl("usage", "budget", "-o", "json")
            self.assertEqual(json.loads(r.stdout), [])
        finally:
            self.stop_zend_cleanly(zend)


if __name__ == "__main__":
    unittest.main()
