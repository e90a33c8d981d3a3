#!/usr/bin/env python3
"""Fails when the repository points at documentation it does not contain
(issue 9, item 7): a user of the repository has no spec folder beside it.

Two rules, over every text file under zend/, lib/, zenctl/, proto/, tests/,
completions/, docs/, .ci/ and README.md, Makefile, CMakeLists.txt:

- no mention of the shared spec folder (the parent-relative path or its
  "shared" + "/spec" name);
- a section citation (a .md file name followed by a section sign) must name
  a .md file that exists in the repository (README.md, docs/config.md, ...).

Each finding is printed as file:line: text, and makes the exit status 1.

    check_docs_local.py [ROOT]    scan ROOT (default: the repository)
    check_docs_local.py --self-test  prove both rules fire on a synthetic
                                     tree and pass a clean one
"""
import os
import re
import sys
import tempfile

# Spelled in pieces so this file does not trip its own rule.
FORBIDDEN = ("../" + "shared", "shared" + "/spec")
SECTION_CITE = re.compile(r"([\w.-]+\.md)\s*\u00a7")
SCANNED_DIRS = ("zend", "lib", "zenctl", "proto", "tests", "completions", "docs", ".ci")
SCANNED_FILES = ("README.md", "Makefile", "CMakeLists.txt")
SKIPPED_DIRS = {".git", "build", "__pycache__", "corpus"}


def files_to_scan(root):
    for name in SCANNED_FILES:
        path = os.path.join(root, name)
        if os.path.isfile(path):
            yield path
    for d in SCANNED_DIRS:
        top = os.path.join(root, d)
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(n for n in dirnames
                                 if n not in SKIPPED_DIRS and not n.startswith("build"))
            for name in sorted(filenames):
                yield os.path.join(dirpath, name)


def markdown_names(root):
    """Base names of the .md files the repository holds."""
    names = set()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [n for n in dirnames
                       if n not in SKIPPED_DIRS and not n.startswith("build")]
        names.update(n for n in filenames if n.endswith(".md"))
    return names


def findings(root):
    known = markdown_names(root)
    out = []
    for path in files_to_scan(root):
        try:
            with open(path, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except (UnicodeDecodeError, OSError):
            continue  # binary fuzz seeds and the like
        rel = os.path.relpath(path, root)
        for no, line in enumerate(lines, 1):
            bad = any(p in line for p in FORBIDDEN)
            bad = bad or any(os.path.basename(m) not in known
                             for m in SECTION_CITE.findall(line))
            if bad:
                out.append("%s:%d: %s" % (rel, no, line.strip()))
    return out


def self_test():
    with tempfile.TemporaryDirectory() as root:
        os.makedirs(os.path.join(root, "zend"))
        os.makedirs(os.path.join(root, "docs"))
        with open(os.path.join(root, "docs", "operations.md"), "w") as f:
            f.write("# operations\n")
        clean = os.path.join(root, "zend", "a.h")
        with open(clean, "w") as f:
            f.write("/* a.h -- see docs/operations.md \u00a72 and README. */\n")
        if findings(root):
            print("self-test: a clean tree was reported", file=sys.stderr)
            return False
        cases = ["/* see " + FORBIDDEN[0] + "/spec/proxy.md */\n",
                 "# " + FORBIDDEN[1] + "/control.md\n",
                 "/* the outcome table (proxy.md \u00a75) */\n"]
        for text in cases:
            with open(os.path.join(root, "zend", "b.c"), "w") as f:
                f.write(text)
            if len(findings(root)) != 1:
                print("self-test: missed %r" % text, file=sys.stderr)
                return False
    return True


def main(argv):
    args = argv[1:]
    if args and args[0] == "--self-test":
        if not self_test():
            return 1
        args = args[1:]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    found = findings(root)
    for line in found:
        print(line)
    if found:
        print("%d reference(s) to documentation outside the repository" % len(found),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
