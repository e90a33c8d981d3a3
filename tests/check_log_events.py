#!/usr/bin/env python3
"""Fails when zend logs an event its one table (lib/log_events.h) lacks, or
when docs/operations.md and that table disagree (issue 11, item 9).

Three rules:

- every event name the code under zend/ and lib/ logs is in the table: the
  string literals of the event argument of zlog_pack(), zlog_emit() and
  zcfgl_note(), a json_pack(... "event", "NAME" ...) note, and a hand-written
  "event":"NAME" (the signal-safe worker_fault writer). An event argument
  that holds no literal (a note logged again by name) is a name the loader
  gave with a literal, which this same scan checked where it was written;
- every name of the table appears in backquotes in the first column of
  the event table of docs/operations.md, "Log events";
- every name in that column is in the table (the doc lists no ghost).

Each finding is printed on its own line and makes the exit status 1.

    check_log_events.py [ROOT]     check ROOT (default: the repository)
    check_log_events.py --self-test  prove each rule fires on a synthetic
                                     tree and a consistent tree passes
"""
import os
import re
import sys
import tempfile

TABLE = os.path.join("lib", "log_events.h")
DOC = os.path.join("docs", "operations.md")
TABLE_ROW = re.compile(r"^\s*X\(([a-z0-9_]+),", re.M)
CALL = re.compile(r"\b(zlog_pack|zlog_emit|zcfgl_note)\s*\(")
EVENT_ARG = {"zlog_pack": 1, "zlog_emit": 1, "zcfgl_note": 2}
STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
PACKED_EVENT = re.compile(r'"event"\s*,\s*"([a-z0-9_]+)"')
HAND_EVENT = re.compile(r'\\"event\\":\\"([a-z0-9_]+)\\"')
SCANNED_DIRS = ("zend", "lib")


def table_names(root):
    with open(os.path.join(root, TABLE)) as f:
        return TABLE_ROW.findall(f.read())


def call_args(text, start):
    """The top-level arguments of the call whose '(' is at start-1."""
    args, depth, i, cur = [], 0, start, []
    while i < len(text):
        c = text[i]
        if c == '"':
            m = STRING.match(text, i)
            if not m:
                break
            cur.append(m.group(0))
            i = m.end()
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            if depth == 0:
                args.append("".join(cur))
                return args
            depth -= 1
        elif c == "," and depth == 0:
            args.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(c)
        i += 1
    return args


def logged_events(root):
    """[(path, name)] for every event name logged by a literal."""
    out = []
    for d in SCANNED_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, d)):
            dirnames.sort()
            for name in sorted(filenames):
                if not name.endswith(".c") or name in ("log.c", "log_events.c"):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                rel = os.path.relpath(path, root)
                for m in CALL.finditer(text):
                    args = call_args(text, m.end())
                    k = EVENT_ARG[m.group(1)]
                    if len(args) > k:
                        out.extend((rel, s) for s in STRING.findall(args[k]))
                out.extend((rel, n) for n in PACKED_EVENT.findall(text))
                out.extend((rel, n) for n in HAND_EVENT.findall(text))
    return out


def documented_events(root):
    """Event names in the first column of the "Log events" table."""
    with open(os.path.join(root, DOC)) as f:
        text = f.read()
    m = re.search(r"^## Log events\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    names = []
    for line in (m.group(1) if m else "").splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            first = line.split("|")[1]
            names.extend(re.findall(r"`([a-z0-9_]+)`", first))
    return names


def findings(root):
    table = table_names(root)
    known = set(table)
    out = []
    if table != sorted(table):
        out.append("%s: the table is not sorted" % TABLE)
    if len(known) != len(table):
        out.append("%s: a name is listed twice" % TABLE)
    for path, name in logged_events(root):
        if name not in known:
            out.append("%s: logs %s, which %s lacks" % (path, name, TABLE))
    docs = documented_events(root)
    for name in table:
        if name not in docs:
            out.append("%s: the Log events table lacks %s" % (DOC, name))
    for name in docs:
        if name not in known:
            out.append("%s: lists %s, which %s lacks" % (DOC, name, TABLE))
    return out


def write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def self_test():
    good_table = "#define ZLOG_EVENTS(X) \\\n    X(a_event, 0) \\\n    X(b_event, 1)\n"
    good_doc = ("# Ops\n\n## Log events\n\n| event | level |\n|---|---|\n"
                "| `a_event`, `b_event` | info |\n\n## Next\n\n| `c_event` | x |\n")
    good_code = ('void f(void) {\n    zlog_pack(ZLOG_INFO, x ? "a_event" : "b_event", "{s:s}",\n'
                 '              "k", g(1, 2));\n    zcfgl_note(L, ZLOG_WARN, "b_event", NULL);\n'
                 '    json_pack("{s:s}", "event", "a_event");\n}\n')
    cases = {
        "consistent": (good_table, good_doc, good_code, 0),
        "logged, not in the table": (good_table, good_doc,
                                     good_code + 'void g(void) { zlog_emit(1, "c_event", 0); }\n',
                                     1),
        "note not in the table": (good_table, good_doc,
                                  good_code + 'void g(void) { zcfgl_note(L, 1, "c_event", 0); }\n',
                                  1),
        "hand-written, not in the table": (good_table, good_doc,
                                           good_code + 'const char *s = "\\"event\\":\\"z\\"";\n',
                                           1),
        "not documented": (good_table, good_doc.replace(", `b_event`", ""), good_code, 1),
        "documented ghost": (good_table, good_doc.replace("`b_event`", "`b_event`, `g_event`"),
                             good_code, 1),
        "unsorted": ("#define ZLOG_EVENTS(X) \\\n    X(b_event, 0) \\\n    X(a_event, 1)\n",
                     good_doc, good_code, 1),
    }
    ok = True
    for what, (table, doc, code, expect) in cases.items():
        with tempfile.TemporaryDirectory() as root:
            write(root, TABLE, table)
            write(root, DOC, doc)
            write(root, os.path.join("zend", "x.c"), code)
            got = findings(root)
            if (len(got) > 0) != bool(expect):
                print("self-test %s: expected %s, got %r"
                      % (what, "findings" if expect else "none", got))
                ok = False
    return ok


def main(argv):
    args = argv[1:]
    if args and args[0] == "--self-test":
        if not self_test():
            return 1
        args = args[1:]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = findings(root)
    for line in out:
        print(line)
    if not out:
        print("log events: %d in the table, all logged names known and documented"
              % len(table_names(root)))
    return 1 if out else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
