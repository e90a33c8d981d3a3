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

from zenharness import ZEND, ZenTestCase, http_request, minimal_config, wait_until

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
        # libev's stat watcher compares whole-second times: move mtime to a
        # second the earlier write cannot share, or the touch may go unseen.
        later = time.time() + 5
        os.utime(path, (later, later))
        wait_until(lambda: len(self.reload_failures()) > n, what="a watched reload refused")
        self.assertEqual(self.status_json()["config_hash"], old_hash)
        # Fixed: the next reload applies it.
        os.chmod(path, 0o600)
        r = self.zenctl("reload")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotEqual(self.status_json()["config_hash"], old_hash)
        self.stop_zend_cleanly(p)


class SecretsInErrors(ZenTestCase):
    def test_syntax_error_in_token_not_echoed(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        # A literal newline inside the token string: jansson's "near" text
        # (the string read so far, when it is at most 20 bytes) would have
        # been the token itself.
        broken = ('{"providers": {"p1": {"base_url": "http://127.0.0.1:9", '
                  '"auth_token": "%s\n"}}, "profiles": {"default": ["p1"]}}' % SHORT_TOKEN)
        self.write_config(broken)
        r = self.zenctl("reload")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("(inside a string)", r.stdout + r.stderr)
        wait_until(lambda: [x for x in self.log_records() if x["event"] == "config_reload_failed"],
                   what="config_reload_failed")
        secret_part = SHORT_TOKEN[:8]  # anything jansson could have shown starts so
        r = self.zenctl("logs")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("config_reload_failed", r.stdout)
        self.assertNotIn(secret_part, r.stdout + r.stderr)
        with open(self.path("zend.log")) as f:
            self.assertNotIn(secret_part, f.read())
        r = self.run_zend("--check-config")
        self.assertEqual(r.returncode, 78)
        self.assertNotIn(secret_part, r.stderr)
        self.stop_zend_cleanly(p)


def read_maps(pid):
    """[(lo, hi, perms, rss_kb, vmflags)] from /proc/PID/smaps."""
    maps, cur = [], None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+) ", line)
            if m:
                cur = [int(m.group(1), 16), int(m.group(2), 16), m.group(3), 0, []]
                maps.append(cur)
            elif line.startswith("Rss:"):
                cur[3] = int(line.split()[1])
            elif line.startswith("VmFlags:"):
                cur[4] = line.split(":", 1)[1].split()
    return maps


# Reservations this large are a sanitizer's shadow or allocator space, not
# something to read through: under ZEN_SANITIZE the scan skips them.
MAX_SCAN_BYTES = 4 << 30
CHUNK = 16 << 20


def find_in_memory(pid, needle):
    """[(address, vmflags)] of every copy of needle in the resident memory
    of the process (mappings with nothing resident hold no copy)."""
    found = []
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for lo, hi, perms, rss_kb, flags in read_maps(pid):
            if "r" not in perms or rss_kb == 0 or hi - lo > MAX_SCAN_BYTES:
                continue
            pos = lo
            while pos < hi:
                # Chunks overlap by len(needle) - 1 so no copy straddles unseen.
                end = min(hi, pos + CHUNK)
                try:
                    mem.seek(pos)
                    data = mem.read(end - pos + len(needle) - 1 if end < hi else end - pos)
                except (OSError, ValueError, OverflowError):
                    break  # [vvar], [vsyscall]
                i = data.find(needle)
                while i >= 0:
                    found.append((pos + i, flags))
                    i = data.find(needle, i + 1)
                pos = end
    return sorted(set((a, tuple(f)) for a, f in found))


class CoreDumps(ZenTestCase):
    def test_token_memory_marked_dontdump(self):
        cfg = minimal_config()
        cfg["providers"]["p1"]["auth_token"] = TOKEN
        self.write_config(cfg)
        p = self.start_zend()
        for pid in (self.worker_pid(), p.pid):
            copies = find_in_memory(pid, TOKEN.encode())
            self.assertTrue(copies, "the token should be in pid %d's memory" % pid)
            for addr, flags in copies:
                self.assertIn("dd", flags,
                              "copy at %#x of pid %d would go into a core" % (addr, pid))
        self.stop_zend_cleanly(p)

    def test_worker_cwd_is_home(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        real_home = os.path.realpath(self.home)
        self.assertEqual(os.readlink("/proc/%d/cwd" % self.worker_pid()), real_home)
        self.assertEqual(os.readlink("/proc/%d/cwd" % p.pid), real_home)
        self.stop_zend_cleanly(p)

    def start_as_nobody(self, allow_core):
        """zend as uid nobody in a home of its own; returns (process, pid)."""
        bindir = tempfile.mkdtemp(prefix="zen-bin-", dir="/tmp")
        self.addCleanup(shutil.rmtree, bindir, True)
        os.chmod(bindir, 0o755)
        exe = shutil.copy(ZEND, os.path.join(bindir, "zend"))
        os.chmod(exe, 0o755)
        home = os.path.join(bindir, "home")
        os.mkdir(home, 0o700)
        cfg_path = os.path.join(home, "zen.json")
        with open(cfg_path, "w") as f:
            json.dump(minimal_config(), f)
        os.chmod(cfg_path, 0o600)
        os.chown(home, NOBODY, NOBODY)
        os.chown(cfg_path, NOBODY, NOBODY)
        env = dict(self.env, ZEN_HOME=home)
        env.pop("ZEND_ALLOW_CORE", None)
        if allow_core:
            env["ZEND_ALLOW_CORE"] = "1"

        def drop():
            os.setgid(NOBODY)
            os.setuid(NOBODY)

        out = open(os.path.join(bindir, "out"), "w")
        p = subprocess.Popen([exe, "--no-supervisor"], env=env, stdout=out, stderr=out,
                             preexec_fn=drop)
        out.close()
        self.procs.append(p)
        wait_until(lambda: p.poll() is not None or os.path.exists(os.path.join(home, "zend.sock")),
                   what="zend as nobody to serve")
        if p.poll() is not None:
            with open(os.path.join(bindir, "out")) as f:
                self.fail("zend as nobody exited (%d): %s" % (p.returncode, f.read()))
        return p

    def proc_owner(self, pid):
        # A process that is not dumpable has the files under /proc/PID
        # owned by root, whoever it runs as: the kernel's view of
        # PR_SET_DUMPABLE (the /proc/PID directory itself keeps its owner).
        return os.stat("/proc/%d/status" % pid).st_uid

    def test_not_dumpable_unless_asked(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to run zend as another user")
        p = self.start_as_nobody(allow_core=False)
        with open("/proc/%d/status" % p.pid) as f:
            uid_line = [l for l in f if l.startswith("Uid:")][0]
        self.assertEqual(int(uid_line.split()[1]), NOBODY)
        self.assertEqual(self.proc_owner(p.pid), 0)
        p.kill()
        p.wait()
        p = self.start_as_nobody(allow_core=True)
        self.assertEqual(self.proc_owner(p.pid), NOBODY)
        p.kill()
        p.wait()


class FullDisk(ZenTestCase):
    """zend.log on a 64 KiB tmpfs that fills up under it."""

    def setUp(self):
        super().setUp()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs",
                            self.home], capture_output=True, text=True)
        if r.returncode != 0:
            # test_log.c covers the writer itself with /dev/full and RLIMIT_FSIZE.
            self.skipTest("cannot mount a tmpfs here: %s" % r.stderr.strip())
        self.addCleanup(self.unmount)

    def unmount(self):
        # After tearDown has killed zend and emptied the mount; the worker
        # (cwd inside it) may take a moment to follow its supervisor.
        wait_until(lambda: subprocess.run(["umount", self.home],
                                          capture_output=True).returncode == 0,
                   what="the tmpfs to unmount")
        os.rmdir(self.home)

    def fill(self):
        """Fills the filesystem to the last byte; returns the filler's path."""
        path = self.path("filler")
        with open(path, "wb", buffering=0) as f:
            for size in (4096, 512, 64, 1):
                try:
                    while True:
                        f.write(b"\0" * size)
                except OSError:
                    pass
        return path

    def health(self):
        r = self.zenctl("-o", "json", "health")
        self.assertIn(r.returncode, (0, 1, 2), r.stderr)
        return json.loads(r.stdout)

    def test_full_disk_keeps_records_whole(self):
        self.write_config(minimal_config())
        p = self.start_zend()
        self.assertEqual(self.health()["log_write_failed"], 0)
        filler = self.fill()
        host, port = self.status_json()["listen"].rsplit(":", 1)
        addr = (host, int(port))

        def failing_request():
            # p1 is a closed port: provider_failed and request_completed records.
            r = http_request(addr, "POST", "/default/s/v1/messages", b"{}",
                             {"Content-Type": "application/json"})
            self.assertEqual(r.status, 502)

        # The log's last page may still have room for a few records.
        sent = 0
        while sent < 100 and self.health()["log_write_failed"] < 3:
            failing_request()
            sent += 1
        h = self.health()
        self.assertGreaterEqual(h["log_write_failed"], 3)
        self.assertTrue([x for x in h["reasons"] if x.startswith("log writes failing")],
                        h["reasons"])
        self.assertIn(h["status"], ("degraded", "unhealthy"))
        r = self.zenctl("-o", "json", "metrics")
        self.assertEqual(json.loads(r.stdout)["log_write_failed"], h["log_write_failed"])
        # Room again: the next record is written whole, on a line of its own.
        os.unlink(filler)
        failing_request()
        h = self.health()
        self.assertFalse([x for x in h["reasons"] if x.startswith("log writes failing")])
        with open(self.path("zend.log")) as f:
            lines = f.read().split("\n")
        self.assertEqual(lines[-1], "")  # ends with a newline
        records = [json.loads(line) for line in lines[:-1]]  # every line whole JSON
        # state.json's writer logs its own recovery (state_saved) at its next
        # debounced save, which may land before or after the request's record.
        events = [r["event"] for r in records if not r["event"].startswith("state_sav")]
        self.assertEqual(events[-1], "request_completed")
        self.stop_zend_cleanly(p)


if __name__ == "__main__":
    unittest.main()
