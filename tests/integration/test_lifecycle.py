"""zend's life: first run, config checking, status, shutdown, signals,
single instance, busy port. Real binaries, temp ZEN_HOME, ephemeral ports."""
import json
import os
import signal
import socket
import stat
import subprocess
import time
import unittest

from zenharness import DEADLINE_S, ZEND, ZenTestCase, minimal_config, wait_until


class FirstRun(ZenTestCase):
    def test_starter_config_created_in_home_flag(self):
        home = os.path.join(self.home, "nested", "home")
        env = dict(self.env)
        env.pop("ZEN_HOME")
        # The starter config listens on 19841; that port may be taken on a
        # shared machine, so only creation is asserted when zend cannot bind.
        p = self.start_zend("--home", home, wait=False, env=env)
        cfg_path = os.path.join(home, "zen.json")
        wait_until(lambda: os.path.exists(cfg_path), what="starter zen.json")
        wait_until(lambda: p.poll() is not None or os.path.exists(os.path.join(home, "zend.sock")),
                   what="zend to serve or exit")
        self.assertEqual(stat.S_IMODE(os.stat(home).st_mode), 0o700)
        self.assertEqual(stat.S_IMODE(os.stat(cfg_path).st_mode), 0o600)
        with open(cfg_path) as f:
            cfg = json.load(f)
        self.assertEqual(cfg["providers"]["anthropic"]["base_url"], "https://api.anthropic.com")
        self.assertEqual(cfg["providers"]["anthropic"]["auth_token"], "env:ANTHROPIC_API_KEY")
        self.assertEqual(cfg["profiles"]["default"]["providers"], ["anthropic"])
        with open(os.path.join(home, "zend.log")) as f:
            events = [json.loads(l)["event"] for l in f]
        self.assertIn("config_created", events)
        if p.poll() is None:
            r = self.zenctl("-H", home, "shutdown", env=env)
            self.assertEqual(r.returncode, 0, r.stderr)
        else:
            self.assertEqual(p.returncode, 69, self.output_of(p))

    def test_starter_config_honours_zen_home_and_serves(self):
        # The starter config wants port 19841, which may be busy on a shared
        # machine; after checking what was written, restart on an ephemeral port.
        p = self.start_zend(wait=False)
        wait_until(lambda: os.path.exists(self.path("zen.json")), what="starter config")
        wait_until(lambda: p.poll() is not None or os.path.exists(self.sock),
                   what="zend to serve or exit")
        if p.poll() is None:
            self.assertEqual(self.zenctl("shutdown").returncode, 0)
            self.wait_exit(p)
        # A second start uses the existing config and never rewrites it.
        with open(self.path("zen.json")) as f:
            cfg = json.load(f)
        cfg["daemon"] = {"listen": "127.0.0.1:0"}
        self.write_config(cfg)
        with open(self.path("zen.json")) as f:
            ours = f.read()
        p = self.start_zend()
        st = self.status_json()
        self.assertEqual(st["config_path"], self.path("zen.json"))
        with open(self.path("zen.json")) as f:
            self.assertEqual(f.read(), ours)
        events = [r["event"] for r in self.log_records()]
        self.assertEqual(events.count("config_created"), 1)
        self.assertIn("provider_token_missing", events)

    def test_gozen_config_dir_is_honoured(self):
        env = dict(self.env)
        env.pop("ZEN_HOME")
        env["GOZEN_CONFIG_DIR"] = self.home
        self.write_config(minimal_config())
        p = self.start_zend(env=env, wait=False)
        wait_until(lambda: self.zenctl("status", env=env).returncode == 0, what="status")
        st = json.loads(self.zenctl("-o", "json", "status", env=env).stdout)
        self.assertEqual(st["config_path"], self.path("zen.json"))
        self.assertEqual(self.zenctl("shutdown", env=env).returncode, 0)
        self.assertEqual(self.wait_exit(p), 0)


class FirstLine(ZenTestCase):
    """The one human line a foreground start prints before its JSON records."""

    def config(self, profiles):
        return {"providers": {"own": {"base_url": "http://127.0.0.1:9", "auth_token": "sk-own"},
                              "relay": {"base_url": "http://127.0.0.1:9"},
                              "mirror": {"base_url": "http://127.0.0.1:9", "auth_token": ""}},
                "profiles": profiles, "daemon": {"listen": "127.0.0.1:0"}}

    def first_line(self, *args):
        p = self.start_zend(*args)
        listen = self.status_json()["listen"]
        self.stop_zend_cleanly(p)
        lines = self.output_of(p).splitlines()
        return listen, lines

    def test_foreground_names_address_paths_next_step_and_passthrough(self):
        self.write_config(self.config({"work": ["relay", "own", "mirror"], "default": ["own"]}))
        version = self.run_zend("--version").stdout.split()[1]
        for args in ((), ("--no-supervisor",)):
            with self.subTest(args=args):
                listen, lines = self.first_line(*args)
                self.assertNotRegex(listen, r":0$")  # the real port, not the configured 0
                want = ("zend %s listening on http://%s (config %s, state %s); next: export "
                        "ANTHROPIC_BASE_URL=http://%s/default; passthrough auth (the client's "
                        "own key): relay, mirror" % (version, listen, self.path("zen.json"),
                                                     self.home, listen))
                self.assertEqual(lines[0], want)
                self.assertNotIn("{", lines[0])  # log readers tell it from the records
                # Only one such line, and the JSON records follow it.
                self.assertTrue(lines[1:], lines)
                for line in lines[1:]:
                    self.assertTrue(line.startswith('{"timestamp"'), line)
                    json.loads(line)

    def test_default_profile_named_in_config_and_no_passthrough(self):
        cfg = self.config({"work": ["own"], "other": ["own"]})
        del cfg["providers"]["relay"], cfg["providers"]["mirror"]
        cfg["default_profile"] = "work"
        self.write_config(cfg)
        listen, lines = self.first_line()
        self.assertTrue(lines[0].endswith(
            "next: export ANTHROPIC_BASE_URL=http://%s/work; every provider has its own token"
            % listen), lines[0])

    def test_daemonize_prints_nothing(self):
        self.write_config(minimal_config())
        r = subprocess.run([ZEND, "--daemonize"], env=self.env, capture_output=True, text=True,
                           timeout=DEADLINE_S)
        self.assertEqual(r.returncode, 0, r.stderr)
        # tearDown kills it by zend.pid should the shutdown fail.
        self.assertEqual(self.zenctl("shutdown").returncode, 0)
        self.assertEqual((r.stdout, r.stderr), ("", ""))


class CheckConfig(ZenTestCase):
    def test_valid(self):
        path = self.write_config(minimal_config())
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(path, r.stdout)
        self.assertIn("ok", r.stdout)

    def test_syntax_error_names_line_and_column(self):
        path = self.write_config('{\n  "providers": {\n    "a": {"base_url": "http://x",}\n  }\n}\n')
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78)
        self.assertIn("%s:3:" % path, r.stderr)
        line_col = r.stderr.split(path + ":")[1].split(":")[:2]
        self.assertTrue(all(x.isdigit() for x in line_col), r.stderr)

    def test_unknown_provider_names_json_path(self):
        # A warning, not an error: GoZen starts on it, so zend does too.
        cfg = minimal_config()
        cfg["profiles"]["work"] = {"providers": ["p1", "ghost"]}
        self.write_config(cfg)
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("warning: profiles.work.providers[1]: unknown provider \"ghost\"",
                      r.stdout)

    def test_explicit_config_flag_and_missing_file(self):
        other = self.write_config(minimal_config(), name="other.json")
        r = self.run_zend("--config", other, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = self.run_zend("--config", self.path("missing.json"), "--check-config")
        self.assertEqual(r.returncode, 78)
        self.assertIn("missing.json: cannot open", r.stderr)
        # An explicit missing config is an error on start too, never created.
        r = self.run_zend("--config", self.path("missing.json"))
        self.assertEqual(r.returncode, 78)
        self.assertFalse(os.path.exists(self.path("missing.json")))

    def test_invalid_config_refuses_to_start(self):
        self.write_config('{"proxy_port": "19841"}')
        r = self.run_zend()
        self.assertEqual(r.returncode, 78)
        self.assertIn("proxy_port: must be an integer", r.stderr)
        self.assertFalse(os.path.exists(self.sock))

    def test_flags(self):
        r = self.run_zend("--version")
        self.assertEqual(r.returncode, 0)
        self.assertRegex(r.stdout, r"^zend \d+\.\d+\.\d+")
        r = self.run_zend("--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("--check-config", r.stdout)
        r = self.run_zend("--bogus")
        self.assertEqual(r.returncode, 64)


class StatusAndShutdown(ZenTestCase):
    def test_status_json_document(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        r = self.zenctl("-o", "json", "status")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)  # exactly one JSON document
        self.assertEqual(doc["supervisor_pid"], p.pid)  # the process we started
        self.assertNotEqual(doc["pid"], p.pid)  # the worker it runs
        self.assertRegex(doc["version"], r"^\d+\.\d+\.\d+$")
        self.assertIsInstance(doc["uptime_s"], (int, float))
        self.assertGreaterEqual(doc["uptime_s"], 0)
        self.assertRegex(doc["listen"], r"^127\.0\.0\.1:\d+$")
        self.assertNotEqual(doc["listen"], "127.0.0.1:0")  # the bound port
        self.assertEqual(doc["config_path"], self.path("zen.json"))
        self.assertEqual(doc["state"], "running")
        # The listen address really is bound.
        host, port = doc["listen"].rsplit(":", 1)
        socket.create_connection((host, int(port)), timeout=2).close()
        # Table output on a pipe names the same facts.
        r = self.zenctl("status")
        self.assertEqual(r.returncode, 0)
        self.assertIn(str(p.pid), r.stdout)
        self.assertIn(doc["listen"], r.stdout)
        self.assertNotIn("\033[", r.stdout)  # no colour on a pipe

    def test_status_without_daemon_exits_3_naming_socket(self):
        r = self.zenctl("status")
        self.assertEqual(r.returncode, 3)
        self.assertIn(self.sock, r.stderr)
        self.assertIn("not running", r.stderr)
        # -s overrides, and $ZEN_SOCKET too.
        other = os.path.join(self.home, "other.sock")
        r = self.zenctl("-s", other, "status")
        self.assertEqual(r.returncode, 3)
        self.assertIn(other, r.stderr)
        env = dict(self.env, ZEN_SOCKET=other)
        r = self.zenctl("status", env=env)
        self.assertIn(other, r.stderr)

    def test_shutdown_without_daemon_is_exit_0_with_a_note(self):
        """As `systemctl stop` of a stopped unit: what was asked for holds."""
        r = self.zenctl("shutdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertIn("zend is not running (nothing to stop", r.stderr)
        self.assertIn(self.sock, r.stderr)
        r = self.zenctl("-o", "json", "shutdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"running": False})
        # A stale socket nobody listens on is "not running" too.
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.sock)
        stale.close()
        r = self.zenctl("shutdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing to stop", r.stderr)
        # Anything else that keeps zenctl from asking is still a failure.
        r = self.zenctl("-s", os.path.join(self.home, "x" * 120), "shutdown")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertNotIn("nothing to stop", r.stderr)

    def test_shutdown_exits_cleanly_and_removes_files(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        self.assertTrue(os.path.exists(self.path("zend.pid")))
        with open(self.path("zend.pid")) as f:
            self.assertEqual(int(f.read()), p.pid)
        t0 = time.monotonic()
        r = self.zenctl("shutdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("drained 0, aborted 0", r.stdout)
        self.assertEqual(self.wait_exit(p, timeout=2.0), 0)
        self.assertLess(time.monotonic() - t0, 2.0)
        self.assertFalse(os.path.exists(self.path("zend.pid")))
        self.assertFalse(os.path.exists(self.sock))
        records = self.log_records()
        self.assertEqual(records[-1]["event"], "daemon_shutdown")
        self.assertEqual(records[-1]["reason"], "rpc")
        self.assertEqual(records[-1]["drained"], 0)
        started = [r for r in records if r["event"] == "daemon_started"]
        self.assertEqual(len(started), 1)
        for key in ("pid", "supervisor_pid", "version", "listen", "config_path", "config_hash"):
            self.assertIn(key, started[0])
        for r in records:
            self.assertEqual(list(r)[:3], ["timestamp", "level", "event"])

    def test_shutdown_json_and_no_wait(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        r = self.zenctl("-o", "json", "shutdown", "--no-wait")
        self.assertEqual(r.returncode, 0, r.stderr)
        doc = json.loads(r.stdout)
        self.assertEqual(doc["pid"], p.pid)
        self.assertEqual(self.wait_exit(p), 0)

    def test_second_instance_names_running_pid(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        r = self.run_zend()
        self.assertEqual(r.returncode, 1)
        self.assertIn("zend is already running (pid %d)" % p.pid, r.stderr)
        self.assertIsNone(p.poll())
        self.assertEqual(self.status_json()["supervisor_pid"], p.pid)  # first one unharmed
        self.assertEqual(self.zenctl("shutdown").returncode, 0)
        self.assertEqual(self.wait_exit(p), 0)
        self.assertEqual(self.log_records()[-1]["event"], "daemon_shutdown")

    def test_signals_shut_down_cleanly(self):
        # Debug: a HUP with nothing new to load logs only a debug record.
        self.write_config(minimal_config(log_level="debug"))
        for sig in (signal.SIGTERM, signal.SIGINT):
            p = self.start_zend()
            os.kill(p.pid, signal.SIGHUP)  # reloads; must not kill it
            wait_until(lambda: [r for r in self.log_records() if r["event"] == "config_unchanged"
                                and r["source"] == "signal"], what="SIGHUP to reload")
            self.assertEqual(self.status_json()["supervisor_pid"], p.pid)
            os.kill(p.pid, sig)
            self.assertEqual(self.wait_exit(p), 0)
            self.assertFalse(os.path.exists(self.sock))
            self.assertFalse(os.path.exists(self.path("zend.pid")))
            last = self.log_records()[-1]
            self.assertEqual(last["event"], "daemon_shutdown")
            self.assertEqual(last["reason"], "signal")

    def test_busy_port_exits_69_naming_holder(self):
        holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        try:
            self.write_config(minimal_config(listen="127.0.0.1:%d" % port))
            r = self.run_zend()
            self.assertEqual(r.returncode, 69, r.stderr)
            self.assertIn("127.0.0.1:%d: Address already in use" % port, r.stderr)
            self.assertIn("pid %d" % os.getpid(), r.stderr)
            failed = [x for x in self.log_records() if x["event"] == "daemon_start_failed"]
            self.assertEqual(failed[0]["exit_code"], 69)
            self.assertFalse(os.path.exists(self.sock))
            self.assertFalse(os.path.exists(self.path("zend.pid")))
        finally:
            holder.close()

    def test_stale_socket_file_is_replaced(self):
        self.write_config(minimal_config())
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stale.bind(self.sock)
        stale.close()  # the file stays; nobody answers on it
        self.assertTrue(os.path.exists(self.sock))
        p = self.start_zend()
        self.assertEqual(stat.S_IMODE(os.stat(self.sock).st_mode), 0o600)
        self.assertEqual(self.status_json()["supervisor_pid"], p.pid)


if __name__ == "__main__":
    unittest.main()
