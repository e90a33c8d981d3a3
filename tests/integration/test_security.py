"""A hostile local user and secrets (Hardening): ZEN_HOME and the config must
be ours and writable by nobody else, nothing in ZEN_HOME is reached through
a planted symlink, tokens stay out of error text and core dumps, and the
worker runs inside ZEN_HOME. Real binaries; tests run as root, so "another
user" is uid 65534 (nobody) by chown."""
import json
import os
import re
import shutil
import stat
import subprocess
import tempfile
import time
import unittest

from zenharness import ZEND, ZenTestCase, minimal_config, wait_until

NOBODY = 65534
TOKEN = "sk-ant-SECRETTOKEN-4f1d2c9a"
SHORT_TOKEN = "sk-LEAKED-42"


class HomeAndConfigOwnership(ZenTestCase):
    def test_world_writable_home_refused(self):
        self.write_config(minimal_config())
        os.chmod(self.home, 0o777)
        r = self.run_zend()
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("writable by group or others (mode 0777)", r.stderr)
        self.assertIn("fix: chmod 700 %s" % self.home, r.stderr)
        # Refused before anything was created in the directory.
        for name in ("zend.lock", "zend.pid", "zend.sock", "zend.log"):
            self.assertFalse(os.path.exists(self.path(name)), name)
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("chmod 700", r.stderr)
        os.chmod(self.home, 0o700)
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_home_owned_by_another_user_refused(self):
        self.write_config(minimal_config())
        os.chown(self.home, NOBODY, NOBODY)
        r = self.run_zend()
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("owned by uid %d, not by zend's user (uid %d)" % (NOBODY, os.geteuid()),
                      r.stderr)

    def test_writable_config_refused(self):
        path = self.write_config(minimal_config(), mode=0o666)
        r = self.run_zend()
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("%s: writable by group or others (mode 0666)" % path, r.stderr)
        self.assertIn("fix: chmod 600 %s" % path, r.stderr)
        self.assertFalse(os.path.exists(self.sock))
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78)
        self.assertIn("chmod 600", r.stderr)

    def test_config_owned_by_another_user_refused(self):
        path = self.write_config(minimal_config())
        os.chown(path, NOBODY, NOBODY)
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("owned by uid %d" % NOBODY, r.stderr)
        r = self.run_zend()
        self.assertEqual(r.returncode, 78, r.stderr)

    def test_config_outside_home_checks_its_directory(self):
        outside = tempfile.mkdtemp(prefix="zen-cfg-", dir="/tmp")
        self.addCleanup(shutil.rmtree, outside, True)
        path = os.path.join(outside, "zen.json")
        with open(path, "w") as f:
            json.dump(minimal_config(), f)
        os.chmod(path, 0o600)
        os.chmod(outside, 0o777)  # anyone could swap the file
        r = self.run_zend("--config", path)
        self.assertEqual(r.returncode, 78, r.stderr)
        self.assertIn("its directory %s is writable by group or others" % outside, r.stderr)
        os.chmod(outside, 0o755)
        r = self.run_zend("--config", path, "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)


class PlantedSymlinks(ZenTestCase):
    def victim(self):
        d = tempfile.mkdtemp(prefix="zen-victim-", dir="/tmp")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "precious")
        with open(path, "w") as f:
            f.write("precious\n")
        return path

    def assert_untouched(self, path):
        with open(path) as f:
            self.assertEqual(f.read(), "precious\n")

    def test_symlink_at_log_not_followed(self):
        self.write_config(minimal_config())
        target = self.victim()
        os.symlink(target, self.path("zend.log"))
        r = self.run_zend()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("is a symbolic link", r.stderr)
        self.assert_untouched(target)
        self.assertTrue(os.path.islink(self.path("zend.log")))

    def test_symlink_at_pid_tmp_not_followed(self):
        self.write_config(minimal_config())
        target = self.victim()
        os.symlink(target, self.path("zend.pid.tmp"))
        p = self.start_zend()
        self.assert_untouched(target)
        self.assertFalse(os.path.lexists(self.path("zend.pid.tmp")))
        with open(self.path("zend.pid")) as f:
            self.assertEqual(int(f.read()), p.pid)
        self.assertFalse(os.path.islink(self.path("zend.pid")))
        self.stop_zend_cleanly(p)
        self.assert_untouched(target)

    def test_symlink_at_lock_not_followed(self):
        self.write_config(minimal_config())
        target = self.victim()
        os.symlink(target, self.path("zend.lock"))
        r = self.run_zend()
        self.assertNotEqual(r.returncode, 0)
        self.assert_untouched(target)


class ReloadRecheck(ZenTestCase):
    def reload_failures(self):
        return [r for r in self.log_records() if r["event"] == "config_reload_failed"]

    def test_reload_of_group_writable_config_refused(self):
        cfg = minimal_config()
        path = self.write_config(cfg)
        p = self.start_zend()
        old_hash = self.status_json()["config_hash"]
        # A new provider, in a file the group may now write.
        cfg["providers"]["evil"] = {"base_url": "http://127.0.0.1:9", "auth_token": "env:PATH"}
        self.write_config(cfg, mode=0o620)
        r = self.zenctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("writable by group or others", r.stdout + r.stderr)
        fails = wait_until(self.reload_failures, what="config_reload_failed")
        self.assertIn("writable by group or others (mode 0620)", fails[-1]["detail"])
        # The old config keeps serving.
        self.assertEqual(self.status_json()["config_hash"], old_hash)
        r = self.zenctl("-o", "json", "providers")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn("evil", r.stdout)
        # The file watch comes to the same verdict on its own.
        n = len(self.reload_failures())
        os.utime(path)
        wait_until(lambda: len(self.reload_failures()) > n, what="a watched reload refused")
        self.assertEqual(self.status_json()["config_hash"], old_hash)
        # Fixed: the next reload applies it.
        os.chmod(path, 0o600)
        r = self.zenctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(self.status_json()["config_hash"], old_hash)
        self.stop_zend_cleanly(p)


if __name__ == "__main__":
    unittest.main()
