"""Installing zend like a package (README, "Install" and "Under systemd").

`make install` into a temporary prefix (and with DESTDIR) puts every file where README's
table says; the installed zend and zenctl run, the installed example config checks, every
installed manual page renders without a warning and says what its source says, the
completions load from their installed places, both installed units pass
`systemd-analyze verify`, the system unit's `systemd-analyze security` score is 3.0 or
better, and `make uninstall` leaves nothing behind. Last, zend runs a real session under
strace and every system call, socket family and mapping it makes is one the system unit's
sandbox allows, and it says READY=1 and WATCHDOG=1 on $NOTIFY_SOCKET as Type=notify needs.

Needs $ZEN_BUILD_DIR (set by ctest): the build tree whose binaries and pages are installed.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

from zenharness import (SOURCE_DIR, ZENCTL, ZEND, Mock, ZenTestCase, http_request,
                        wait_until)

BUILD_DIR = os.environ.get("ZEN_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))

# README's "Install" table, relative to the prefix.
EXPECTED_FILES = {
    "bin/zend", "bin/zenctl",
    "share/man/man1/zenctl.1", "share/man/man5/zen.json.5", "share/man/man8/zend.8",
    "share/bash-completion/completions/zenctl", "share/zsh/site-functions/_zenctl",
    "share/fish/vendor_completions.d/zenctl.fish",
    "lib/systemd/user/zend.service", "lib/systemd/system/zend.service",
    "share/doc/zend/README.md", "share/doc/zend/LICENSE", "share/doc/zend/CHANGELOG.md",
    "share/doc/zend/zen.json.example",
}
PAGES = ("share/man/man1/zenctl.1", "share/man/man5/zen.json.5", "share/man/man8/zend.8")


def version():
    with open(os.path.join(SOURCE_DIR, "lib", "common.h")) as f:
        return re.search(r'#define ZEN_VERSION_STRING "([^"]+)"', f.read()).group(1)


def make(*args, env=None):
    """The repository's Makefile on this build tree. `-o build`: the tree is built
    already (by ctest's caller), and rebuilding it here could change its flags."""
    return subprocess.run(["make", "--no-print-directory", "-C", SOURCE_DIR, "-o", "build",
                           "BUILD=" + BUILD_DIR, *args], capture_output=True, text=True,
                          env=env)


def files_under(root):
    out = set()
    for dirpath, _, filenames in os.walk(root):
        for name in filenames:
            out.add(os.path.relpath(os.path.join(dirpath, name), root))
    return out


def render_man(page):
    """What `man -l` prints for a page at 80 columns, and its warnings."""
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80")
    env.pop("MANPAGER", None)
    env.pop("PAGER", None)
    return subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l", page],
                          capture_output=True, text=True, env=env)


def systemd_analyze_or_skip(test):
    """systemd-analyze is a test dependency (Makefile TEST_PACKAGES); only a machine
    where it genuinely cannot run skips, and says why."""
    exe = shutil.which("systemd-analyze")
    reason = None
    if not exe:
        reason = "systemd-analyze is not installed (Debian package systemd)"
    else:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True)
        if r.returncode != 0:
            reason = "systemd-analyze --version failed: %s" % r.stderr.strip()
    if reason:
        print("SKIP %s: %s" % (test.id(), reason))
        test.skipTest(reason)
    return exe


class Install(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="zen-inst-", dir="/tmp")
        cls.prefix = os.path.join(cls.tmp, "prefix")
        r = make("install", "PREFIX=" + cls.prefix)
        if r.returncode != 0:
            raise AssertionError("make install failed:\n" + r.stdout + r.stderr)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def p(self, rel):
        return os.path.join(self.prefix, rel)

    def test_every_file_where_readme_says(self):
        self.assertEqual(files_under(self.prefix), EXPECTED_FILES)
        for exe in ("bin/zend", "bin/zenctl"):
            self.assertTrue(os.access(self.p(exe), os.X_OK), exe)

    def test_installed_binaries_run(self):
        for exe in ("zenctl", "zend"):
            with self.subTest(exe=exe):
                r = subprocess.run([self.p("bin/" + exe), "--version"], capture_output=True,
                                   text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, "%s %s\n" % (exe, version()))

    def test_installed_example_config_checks(self):
        example = self.p("share/doc/zend/zen.json.example")
        with open(example) as f:
            cfg = json.load(f)  # plain JSON: no comments
        self.assertEqual(len(cfg["providers"]), 2)
        for name, prov in cfg["providers"].items():
            self.assertTrue(prov["auth_token"].startswith("env:"), name)
        home = os.path.join(self.tmp, "home")
        os.makedirs(home, mode=0o700, exist_ok=True)
        env = {k: v for k, v in os.environ.items()
               if k not in ("ANTHROPIC_API_KEY", "OPENROUTER_API_KEY")}
        r = subprocess.run([self.p("bin/zend"), "--check-config", "--home", home,
                            "--config", example], capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("%s: ok (2 providers, 2 profiles" % example, r.stdout)

    def test_man_pages_render_without_warnings(self):
        for page in PAGES:
            with self.subTest(page=page):
                r = render_man(self.p(page))
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stderr, "")
                self.assertIn("NAME", r.stdout)
                self.assertIn("zend %s" % version(), r.stdout)
        # The check can fail: a page with a request groff does not know warns.
        bad = os.path.join(self.tmp, "bad.1")
        with open(bad, "w") as f:
            f.write('.TH BAD 1\n.SH NAME\nbad \\- page\n.XYZZY\ntext\n')
        self.assertNotEqual(render_man(bad).stderr, "")

    def test_zenctl_page_names_every_command(self):
        r = subprocess.run([ZENCTL, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        block = r.stdout.split("Commands:\n", 1)[1].split("\n\n", 1)[0]
        commands = [line.split()[0] for line in block.splitlines()]
        self.assertIn("status", commands)
        page = render_man(self.p("share/man/man1/zenctl.1")).stdout
        section = page.split("\nCOMMANDS\n", 1)[1].split("\nOPTIONS\n", 1)[0]
        heads = {m.group(1) for m in re.finditer(r"^ {7}([a-z][\w-]*)", section, re.M)}
        self.assertEqual(heads, set(commands))
        options = re.findall(r"^ {2}(?:-\w, )?(--[\w-]+)", r.stdout.split("Options:\n")[1],
                             re.M)
        for opt in options:
            self.assertIn(opt, page)
        for hidden in ("manpage", "__provider-names"):
            self.assertNotIn(hidden, page)

    def test_zen_json_page_has_every_documented_key(self):
        with open(os.path.join(SOURCE_DIR, "docs", "config.md"), encoding="utf-8") as f:
            md = f.read()
        # The keys of its tables' first columns, and every other code span that looks
        # like a key (route keys, nested ones, values) wherever it stands.
        keys = set()
        for line in md.splitlines():
            if line.startswith("| `"):
                keys.update(span.lstrip("….") for span in re.findall(r"`([^`]+)`",
                                                                     line.split("|")[1]))
        keys.update(s for s in re.findall(r"`([^`\n]+)`", md)
                    if re.fullmatch(r"[a-z][a-z0-9_]*", s))
        self.assertGreater(len(keys), 60)
        page = render_man(self.p("share/man/man5/zen.json.5")).stdout
        missing = sorted(k for k in keys if k not in page)
        self.assertEqual(missing, [])

    def test_zend_page_has_every_option_of_its_help(self):
        r = subprocess.run([ZEND, "--help"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        help_opts = set(re.findall(r"^ {2}(--[\w-]+)", r.stdout, re.M))
        self.assertIn("--check-config", help_opts)
        page = render_man(self.p("share/man/man8/zend.8")).stdout
        section = page.split("\nOPTIONS\n", 1)[1].split("\nSIGNALS\n", 1)[0]
        page_opts = set(re.findall(r"^ {7}\S+ {3}(--[\w-]+)", section, re.M))
        self.assertEqual(page_opts, help_opts)

    def test_completions_load_from_installed_paths(self):
        bash = self.p("share/bash-completion/completions/zenctl")
        r = subprocess.run(["bash", "-c", 'source "$1" && complete -p zenctl', "bash", bash],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("complete -F _zenctl zenctl", r.stdout)

        zdir = self.p("share/zsh/site-functions")
        r = subprocess.run(["zsh", "-f", "-c",
                            'fpath=("$1" $fpath); autoload -Uz compinit; '
                            'compinit -u -d "$2"; print -r -- "$_comps[zenctl]"',
                            "zsh", zdir, os.path.join(self.tmp, "zcompdump")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stdout.strip(), "_zenctl")

        fdir = self.p("share/fish/vendor_completions.d")
        # fish loads a command's completions only once the command is on PATH.
        env = dict(os.environ, PATH=self.p("bin") + os.pathsep + os.environ["PATH"])
        r = subprocess.run(["fish", "--no-config", "-c",
                            'set fish_complete_path $argv[1] $fish_complete_path; '
                            'complete -C"zenctl "', fdir], capture_output=True, text=True,
                           env=env, cwd=self.tmp)
        self.assertEqual(r.returncode, 0, r.stderr)
        words = {line.split("\t")[0] for line in r.stdout.splitlines()}
        self.assertTrue({"status", "health", "shutdown", "completion"} <= words, words)

    def test_units_name_the_installed_zend_and_pass_verify(self):
        exe = systemd_analyze_or_skip(self)
        env = dict(os.environ, MANPATH=self.p("share/man"))  # Documentation=man:...
        rt = os.path.join(self.tmp, "runtime")
        os.makedirs(rt, mode=0o700, exist_ok=True)
        for scope in ("user", "system"):
            with self.subTest(scope=scope):
                unit = self.p("lib/systemd/%s/zend.service" % scope)
                with open(unit) as f:
                    text = f.read()
                self.assertRegex(text, r"(?m)^ExecStart=%s --foreground"
                                 % re.escape(self.p("bin/zend")))
                self.assertRegex(text, r"(?m)^Type=notify$")
                self.assertRegex(text, r"(?m)^ExecReload=/bin/kill -HUP \$MAINPID$")
                self.assertRegex(text, r"(?m)^KillMode=mixed$")
                args = [exe, "verify"]
                if scope == "user":
                    args.append("--user")
                    env["XDG_RUNTIME_DIR"] = rt
                r = subprocess.run(args + [unit], capture_output=True, text=True, env=env,
                                   cwd=self.tmp)
                self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
                self.assertEqual(r.stderr, "")

    def test_user_unit_starts_for_a_new_user(self):
        """Nothing before ExecStart may fail on an account without ~/.zen (the first
        start writes the starter config)."""
        unit = self.p("lib/systemd/user/zend.service")
        home = tempfile.mkdtemp(prefix="zen-newuser-", dir=self.tmp)
        env = {k: v for k, v in os.environ.items()
               if k not in ("ZEN_HOME", "GOZEN_CONFIG_DIR")}
        env["HOME"] = home
        for pre in unit_settings(unit, "ExecStartPre"):
            r = subprocess.run(pre.lstrip("-").split(), capture_output=True, text=True,
                               env=env)
            self.assertEqual(r.returncode, 0, "%s: %s" % (pre, r.stdout + r.stderr))

    def test_verify_fails_for_a_unit_whose_zend_is_missing(self):
        """The verify above proves something: a unit naming a zend that is not there fails."""
        exe = systemd_analyze_or_skip(self)
        with open(self.p("lib/systemd/system/zend.service")) as f:
            text = f.read()
        unit = os.path.join(self.tmp, "zend.service")
        with open(unit, "w") as f:
            f.write(text.replace(self.p("bin/zend"), self.p("bin/nowhere")))
        r = subprocess.run([exe, "verify", "--man=no", unit], capture_output=True, text=True,
                           cwd=self.tmp)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("nowhere", r.stderr)

    def test_system_unit_security_score(self):
        exe = systemd_analyze_or_skip(self)
        unit = self.p("lib/systemd/system/zend.service")
        r = subprocess.run([exe, "security", "--offline=yes", "--threshold=30", unit],
                           capture_output=True, text=True, cwd=self.tmp)
        m = re.search(r"Overall exposure level for zend\.service: (\d+\.\d+)", r.stdout)
        self.assertTrue(m, r.stdout + r.stderr)
        self.assertLessEqual(float(m.group(1)), 3.0, r.stdout)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_destdir_stages_without_changing_paths(self):
        dest = os.path.join(self.tmp, "dest")
        r = make("install", "PREFIX=/usr", "DESTDIR=" + dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(files_under(os.path.join(dest, "usr")), EXPECTED_FILES)
        self.assertEqual(os.listdir(dest), ["usr"])
        for scope in ("user", "system"):
            with open(os.path.join(dest, "usr/lib/systemd/%s/zend.service" % scope)) as f:
                self.assertRegex(f.read(), r"(?m)^ExecStart=/usr/bin/zend --foreground")
        r = make("uninstall", "DESTDIR=" + dest)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(files_under(dest), set())

    def test_uninstall_removes_every_installed_file(self):
        prefix = os.path.join(self.tmp, "again")
        r = make("install", "PREFIX=" + prefix)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(BUILD_DIR, "install_manifest.txt")) as f:
            manifest = {os.path.relpath(line, prefix) for line in f.read().split("\n") if line}
        self.assertEqual(manifest, EXPECTED_FILES)
        r = make("uninstall")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertEqual(files_under(prefix), set())
        self.assertFalse(os.path.exists(os.path.join(prefix, "share/doc/zend")))


MD2MAN = os.path.join(SOURCE_DIR, "docs", "man", "md2man.py")


class Md2Man(unittest.TestCase):
    """docs/man/md2man.py escapes what roff would read as requests or escapes, and stops
    on Markdown it does not know instead of rendering it wrong."""

    def convert(self, md):
        tmp = tempfile.mkdtemp(prefix="zen-md-", dir="/tmp")
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        src, out = os.path.join(tmp, "t.md"), os.path.join(tmp, "t.5")
        with open(src, "w", encoding="utf-8") as f:
            f.write(md)
        r = subprocess.run([sys.executable, MD2MAN, "--name", "t", "--section", "5",
                            "--description", "a test", "--version", "1.2.3", src, out],
                           capture_output=True, text=True)
        if r.returncode != 0:
            return None, r.stderr
        with open(out) as f:
            return f.read(), out

    def test_roff_specials_are_escaped(self):
        roff, path = self.convert(
            "# t\n\n## Keys\n\n.dot starts this line\n\n'quote starts this one\n\n"
            "a back\\slash, a --flag and \u2014 an em dash; `.code` and **bold `x`**\n\n"
            "| key | default | meaning |\n|---|---|---|\n| `a-b` | `1` | what -a does |\n\n"
            "- item one\n  continued\n- item two\n\n```\n.not a request\n```\n")
        self.assertIsNotNone(roff, path)
        lines = roff.splitlines()
        self.assertIn("\\&.dot starts this line", lines)
        self.assertIn("\\&'quote starts this one", lines)
        self.assertIn("\\&.not a request", lines)
        self.assertIn("back\\eslash, a \\-\\-flag and \\[u2014] an em dash", roff)
        self.assertIn("\\fBa\\-b\\fR", roff)
        self.assertTrue(roff.isascii())
        r = render_man(path)
        self.assertEqual(r.stderr, "")
        self.assertIn("a back\\slash, a --flag", r.stdout)
        self.assertIn(".not a request", r.stdout)
        self.assertIn("default: 1", r.stdout)

    def test_unknown_markdown_is_an_error_with_its_line(self):
        for md, what in (("# t\n\n> a quote\n", "t.md:3"),
                         ("# t\n\n<div>html</div>\n", "t.md:3"),
                         ("# t\n\n- a\n  - nested\n", "nested"),
                         ("# t\n\n```\nunclosed\n", "unclosed code block"),
                         ("# t\n\n| a | b |\n|---|---|\n| 1 |\n", "1 cells"),
                         ("# t\n\nan `unclosed span\n", "unclosed `code`")):
            with self.subTest(md=md):
                roff, err = self.convert(md)
                self.assertIsNone(roff)
                self.assertIn(what, err)


def unit_settings(path, key):
    """Every value of `key=` in a unit file, in order."""
    with open(path) as f:
        return [line.split("=", 1)[1].strip() for line in f if line.startswith(key + "=")]


def syscall_groups(exe):
    """systemd's @groups, each as the set of its members (names and @groups)."""
    r = subprocess.run([exe, "syscall-filter"], capture_output=True, text=True, check=True)
    groups, current = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), set())
        elif line.strip() and not line.strip().startswith("#") and current is not None:
            current.add(line.strip())
    return groups


def expand_syscalls(groups, words):
    """The system call names behind names and @groups, nested groups included."""
    names, todo, seen = set(), list(words), set()
    while todo:
        w = todo.pop()
        if not w.startswith("@"):
            names.add(w)
        elif w not in seen:
            seen.add(w)
            todo.extend(groups[w])
    return names


class SystemUnitSandbox(ZenTestCase):
    """zend under strace through a session a service lives: start, proxied requests (JSON,
    stream, a failover with its probes), the usage ledger, control calls, SIGHUP, a drain.
    Whatever it does must pass the installed system unit's filters, or the unit would kill
    or break it on a machine this container cannot be (PID 1 here is not systemd)."""

    def setUp(self):
        super().setUp()
        if os.environ.get("ZEN_SANITIZE") == "ON":
            # ASan's runtime makes system calls of its own (LeakSanitizer stops the world
            # with ptrace, which fails under strace): the trace would judge the sanitizer,
            # not zend. The plain build (`make test`) runs this test.
            reason = "a sanitizer build: the trace would be the sanitizer runtime's"
            print("SKIP %s: %s" % (self.id(), reason))
            self.skipTest(reason)
        self.sa = systemd_analyze_or_skip(self)
        probe = subprocess.run(["strace", "-f", "-qq", "-o", "/dev/null", "true"],
                               capture_output=True, text=True) if shutil.which("strace") else None
        if probe is None or probe.returncode != 0:
            reason = ("strace is not installed (Debian package strace)" if probe is None
                      else "strace cannot trace here: %s" % probe.stderr.strip())
            print("SKIP %s: %s" % (self.id(), reason))
            self.skipTest(reason)
        self.mock = Mock(self.home, "m")
        self.prefix = os.path.join(self.home, "prefix")
        r = make("install", "PREFIX=" + self.prefix)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.unit = os.path.join(self.prefix, "lib/systemd/system/zend.service")

    def tearDown(self):
        try:
            super().tearDown()
        finally:
            self.mock.stop()

    # The unit runs zend as a dynamic user, never as root, and some libraries act
    # differently for root (SQLite gives a new journal its database's owner with
    # fchown): a root test runs zend as nobody, in a home that is nobody's.
    NOBODY = 65534

    def own(self, path):
        if os.geteuid() == 0:
            os.chown(path, self.NOBODY, self.NOBODY)
        return path

    def drop_root(self):
        if os.geteuid() == 0:
            os.setgroups([])
            os.setgid(self.NOBODY)
            os.setuid(self.NOBODY)

    def allowed_syscalls(self):
        groups = syscall_groups(self.sa)
        allow, deny = set(), set()
        for value in unit_settings(self.unit, "SystemCallFilter"):
            words = value.split()
            if words[0].startswith("~"):
                deny |= expand_syscalls(groups, [words[0][1:]] + words[1:])
            else:
                allow |= expand_syscalls(groups, words)
        self.assertIn("@system-service", " ".join(unit_settings(self.unit, "SystemCallFilter")))
        return allow - deny

    def run_session(self, trace, notify_path):
        cfg = {"providers": {
                   "dead": {"base_url": "http://127.0.0.1:9/x", "auth_token": "sk-dead"},
                   "m": {"base_url": "%s/m" % self.mock.url, "auth_token": "env:ZEN_IT_TOKEN"}},
               "profiles": {"default": ["m"], "fo": ["dead", "m"]},
               "daemon": {"listen": "127.0.0.1:0", "probe_interval_ms": 100}}
        self.own(self.write_config(cfg))
        # ZEND_ALLOW_CORE=1 keeps zend dumpable, or strace (not root) could not read the
        # paths it opens; the prctl it skips is allowed (asserted below).
        env = dict(self.env, ZEN_IT_TOKEN="sk-m", NOTIFY_SOCKET=notify_path,
                   WATCHDOG_USEC="400000", ZEND_ALLOW_CORE="1")
        out_path = os.path.join(self.home, "zend-strace.out")
        with open(out_path, "w") as out:
            p = subprocess.Popen(["strace", "-f", "-qq", "-s", "4096", "-o", trace, "--",
                                  os.path.join(self.prefix, "bin/zend"), "--foreground"],
                                 env=env, stdout=out, stderr=out, preexec_fn=self.drop_root)
        p.out_path = out_path
        self.procs.append(p)
        wait_until(lambda: p.poll() is not None or self.zenctl("status").returncode == 0,
                   timeout=30, what="zend under strace to answer status")
        self.assertIsNone(p.poll(), self.output_of(p))
        host, port = self.status_json()["listen"].rsplit(":", 1)
        addr = (host, int(port))
        body = json.dumps({"model": "claude-sonnet-4-5", "max_tokens": 16,
                           "messages": [{"role": "user", "content": "hi"}]}).encode()
        h = {"Content-Type": "application/json"}
        self.mock.default({"json": {"id": "msg_1", "type": "message", "role": "assistant",
                                    "model": "claude-sonnet-4-5", "stop_reason": "end_turn",
                                    "content": [{"type": "text", "text": "hello"}],
                                    "usage": {"input_tokens": 3, "output_tokens": 2}}})
        self.assertEqual(http_request(addr, "POST", "/default/s1/v1/messages", body, h).status,
                         200)
        self.assertEqual(http_request(addr, "POST", "/fo/s2/v1/messages", body, h).status, 200)
        wait_until(lambda: self.zenctl("usage", "-o", "json").returncode == 0,
                   what="zenctl usage")
        for args in (("health",), ("providers",), ("metrics", "-o", "prom"), ("logs", "-n", "5")):
            self.zenctl(*args)
        cfg["daemon"]["probe_interval_ms"] = 200
        self.own(self.write_config(cfg))
        with open(self.path("zend.pid")) as f:
            os.kill(int(f.read()), signal.SIGHUP)
        wait_until(lambda: any(r["event"] == "config_reloaded" for r in self.log_records()),
                   timeout=15, what="the reload to be logged")
        r = self.zenctl("shutdown")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.wait_exit(p, timeout=30), 0, self.output_of(p))

    def test_zend_stays_inside_the_system_units_sandbox(self):
        allowed = self.allowed_syscalls()
        self.assertIn("read", allowed)
        self.assertNotIn("setrlimit", allowed)  # ~@resources
        self.assertIn("prctl", allowed)  # PR_SET_DUMPABLE
        notify_path = os.path.join(self.home, "notify.sock")
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify.bind(notify_path)
        os.chmod(notify_path, 0o777)
        notify.settimeout(0)
        self.own(self.home)
        trace = os.path.join(self.home, "trace")
        try:
            self.run_session(trace, notify_path)
            messages = []
            while True:
                try:
                    messages.append(notify.recv(4096).decode())
                except BlockingIOError:
                    break
        finally:
            notify.close()
        self.assertIn("READY=1", messages)
        self.assertIn("WATCHDOG=1", messages)

        with open(trace) as f:
            lines = f.read().splitlines()
        call = re.compile(r"^\d+\s+([a-z0-9_]+)\((.*)")
        used, families, wx, proc, writes, devs = set(), set(), [], set(), set(), set()
        for line in lines:
            m = call.match(line)
            if not m:
                continue
            name, args = m.group(1), m.group(2)
            used.add(name)
            if name in ("socket", "socketpair"):
                families.add(args.split(",")[0])
            if name in ("mmap", "mprotect", "pkey_mprotect") and "PROT_WRITE" in args \
                    and "PROT_EXEC" in args:
                wx.append(line)
            pm = re.search(r'"(/[^"]*)"', args)
            if not pm or name not in ("open", "openat", "stat", "newfstatat", "access",
                                      "readlink", "mkdir", "unlink", "rename", "bind"):
                continue
            path = pm.group(1)
            if path.startswith("/proc/"):
                proc.add(path)
            if path.startswith("/dev/"):
                devs.add(path)
            if (name in ("mkdir", "unlink", "rename", "bind")
                    or re.search(r"O_WRONLY|O_RDWR|O_CREAT", args)) and " = -1 " not in line:
                writes.add(path)
        self.assertGreater(len(used), 20, "strace saw too little: %s" % sorted(used))
        self.assertEqual(sorted(used - allowed), [],
                         "system calls the unit's SystemCallFilter= refuses")
        # RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
        self.assertEqual(families - {"AF_UNIX", "AF_INET", "AF_INET6"}, set())
        # MemoryDenyWriteExecute=yes
        self.assertEqual(wx, [])
        # ProcSubset=pid: only the process' own /proc entries.
        bad_proc = sorted(p for p in proc
                          if not re.match(r"/proc/(self|thread-self|\d+)(/|$)", p))
        self.assertEqual(bad_proc, [])
        # PrivateDevices=yes: the pseudo devices only.
        self.assertLessEqual(devs, {"/dev/null", "/dev/zero", "/dev/full", "/dev/random",
                                    "/dev/urandom", "/dev/tty"})
        # ProtectSystem=strict, ProtectHome=yes: it writes in its state directory (the
        # unit's StateDirectory=) and nowhere else.
        outside = sorted(w for w in writes
                         if not (w.startswith(self.home + "/") or w == "/dev/null"))
        self.assertEqual(outside, [])
        self.assertTrue(any(w.endswith("/usage.db") for w in writes), sorted(writes))


if __name__ == "__main__":
    unittest.main()
