"""Completion scripts: the committed files equal what zenctl generates, and
each one loads in its shell and completes commands, flags and arguments."""
import os
import subprocess
import unittest

from zenharness import SOURCE_DIR, ZENCTL

SCRIPTS = {"bash": "zenctl.bash", "zsh": "_zenctl", "fish": "zenctl.fish"}


def committed(name):
    with open(os.path.join(SOURCE_DIR, "completions", name)) as f:
        return f.read()


def bash_complete(*words):
    """Runs the bash completion function on `zenctl WORDS...`."""
    script = os.path.join(SOURCE_DIR, "completions", "zenctl.bash")
    cmd = ('source "$1"; shift; COMP_WORDS=(zenctl "$@"); COMP_CWORD=$(( $# )); '
           '_zenctl; printf "%s\\n" "${COMPREPLY[@]}"')
    r = subprocess.run(["bash", "-c", cmd, "bash", script, *words], capture_output=True,
                       text=True, check=True)
    return sorted(w for w in r.stdout.split("\n") if w)


class Completions(unittest.TestCase):
    def test_committed_scripts_match_generated(self):
        for shell, name in SCRIPTS.items():
            with self.subTest(shell=shell):
                r = subprocess.run([ZENCTL, "completion", shell], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(r.stdout, committed(name),
                                 "completions/%s drifted: regenerate it with "
                                 "`zenctl completion %s > completions/%s`" % (name, shell, name))

    def test_bash_registers_and_completes(self):
        script = os.path.join(SOURCE_DIR, "completions", "zenctl.bash")
        r = subprocess.run(["bash", "-c", 'source "$1"; complete -p zenctl', "bash", script],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("complete -F _zenctl zenctl", r.stdout)
        self.assertEqual(bash_complete("sh"), ["shutdown"])
        self.assertEqual(bash_complete("completion", ""), ["bash", "fish", "zsh"])
        self.assertEqual(bash_complete("-o", "js"), ["json"])
        self.assertIn("--no-wait", bash_complete("shutdown", "--"))
        self.assertIn("--drain-timeout", bash_complete("-o", "json", "shutdown", "--d"))
        self.assertNotIn("--no-wait", bash_complete("status", "--"))
        self.assertIn("status", bash_complete("help", "st"))

    # zsh and fish are installed by `make deps`; their absence is a failure.
    def test_zsh_parses(self):
        path = os.path.join(SOURCE_DIR, "completions", "_zenctl")
        r = subprocess.run(["zsh", "-n", path], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(committed("_zenctl").startswith("#compdef zenctl\n"))

    def test_fish_completes(self):
        path = os.path.join(SOURCE_DIR, "completions", "zenctl.fish")
        r = subprocess.run(["fish", "-c", 'source $argv[1]; complete -C "zenctl sh"; '
                            'complete -C "zenctl completion "', path],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        words = [line.split("\t")[0] for line in r.stdout.splitlines()]
        self.assertIn("shutdown", words)
        self.assertIn("zsh", words)


if __name__ == "__main__":
    unittest.main()
