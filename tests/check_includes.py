#!/usr/bin/env python3
"""Fails when zend's modules include each other in a circle (issue 9).

A module is a file stem: zend/ops/health.c and zend/ops/health.h are module
"health". An edge A -> B is an `#include "B.h"` in any file of module A
that names a header found in the scanned folders (lib/ and proto/ headers
are below zend and are not scanned; a .c including its own .h is no edge).
Any cycle -- two modules including each other, or a longer ring -- is
reported with its path and makes the exit status 1.

It also checks the layers the folders stand for: translate/ may include
only translate/ (and lib/, proto/); a module in serve/ may include serve/
and translate/; forward/ and usage/ may include serve/, translate/,
forward/ and usage/; ops/ and the top folder may include anything. So no arrow runs
from the data path up into the control plane or the processes.

    check_includes.py [DIR ...]   scan DIR and its sub-folders (default: zend/)
    check_includes.py --self-test prove the check finds a synthetic cycle
                                  and passes a synthetic acyclic tree
"""
import os
import re
import sys
import tempfile

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


# Folder -> rank: a module may include modules of its own rank or lower.
LAYERS = {"translate": -1, "serve": 0, "forward": 1, "usage": 1, "ops": 2, "": 2}


def module_files(dirs):
    """{module: [paths]} for the .c/.h files in dirs and below."""
    files = {}
    for d in dirs:
        for root, subdirs, names in os.walk(d):
            subdirs.sort()
            for name in sorted(names):
                stem, ext = os.path.splitext(name)
                if ext in (".c", ".h"):
                    files.setdefault(stem, []).append(os.path.join(root, name))
    return files


def layer_of(path, top):
    """The rank of the folder holding path, relative to the scanned top."""
    rel = os.path.relpath(os.path.dirname(path), top)
    return LAYERS.get("" if rel == "." else rel.split(os.sep)[0], 2)


def module_graph(dirs):
    """{module: {modules it includes}} for the .c/.h files in dirs."""
    files = module_files(dirs)
    graph = {m: set() for m in files}
    for module, paths in files.items():
        for path in paths:
            with open(path, encoding="utf-8", errors="replace") as f:
                text = f.read()
            for inc in INCLUDE.findall(text):
                target = os.path.splitext(os.path.basename(inc))[0]
                if target in graph and target != module:
                    graph[module].add(target)
    return graph


def find_cycles(graph):
    """The cycles a depth-first search meets (at least one whenever the
    graph has any), each as a list of modules starting and ending with the
    same one, each set of modules reported once."""
    cycles, seen = [], set()
    WHITE, GREY, BLACK = 0, 1, 2
    colour = {m: WHITE for m in graph}
    stack = []

    def visit(m):
        colour[m] = GREY
        stack.append(m)
        for n in sorted(graph[m]):
            if colour[n] == GREY:
                ring = stack[stack.index(n):]
                key = frozenset(ring)
                if key not in seen:
                    seen.add(key)
                    cycles.append(ring + [n])
            elif colour[n] == WHITE:
                visit(n)
        stack.pop()
        colour[m] = BLACK

    for m in sorted(graph):
        if colour[m] == WHITE:
            visit(m)
    return cycles


def layer_violations(dirs):
    """["a (serve) includes b.h (ops)", ...] for includes that point up."""
    out = []
    for d in dirs:
        files = module_files([d])
        rank = {m: layer_of(paths[0], d) for m, paths in files.items()}
        for module, paths in sorted(files.items()):
            for path in paths:
                with open(path, encoding="utf-8", errors="replace") as f:
                    text = f.read()
                for inc in INCLUDE.findall(text):
                    target = os.path.splitext(os.path.basename(inc))[0]
                    if target in rank and rank[target] > rank[module]:
                        out.append("%s includes %s, a layer above it" %
                                   (os.path.relpath(path, d), inc))
    return out


def check(dirs):
    cycles = find_cycles(module_graph(dirs))
    for c in cycles:
        print("include cycle: " + " -> ".join(c))
    ups = layer_violations(dirs)
    for v in ups:
        print("layering: " + v)
    return 1 if cycles or ups else 0


def self_test():
    """The check must fail on a cycle (two-module and three-module rings)
    and pass a tree where a .c includes its own header and shared ones."""
    cases = {
        "pair": ({"a.c": '#include "a.h"\n#include "b.h"\n', "a.h": "",
                  "b.c": '#include "b.h"\n#include "a.h"\n', "b.h": ""}, 1),
        "ring": ({"a.h": '#include "b.h"\n', "b.c": '#include "c.h"\n',
                  "c.h": "", "c.c": '# include "a.h"\n'}, 1),
        "tree": ({"a.c": '#include "a.h"\n#include "b.h"\n#include "c.h"\n', "a.h": "",
                  "b.c": '#include "b.h"\n#include "c.h"\n#include "log.h"\n', "b.h": "",
                  "c.c": '#include "c.h"\n', "c.h": '#include <stdio.h>\n'}, 0),
    }
    # Layers: serve/ including ops/ points up (caught); ops/ including
    # serve/ points down (fine).
    cases["up"] = ({"serve/a.c": '#include "b.h"\n', "ops/b.h": ""}, 1)
    cases["down"] = ({"ops/b.c": '#include "a.h"\n', "serve/a.h": ""}, 0)
    ok = True
    for name, (tree, want) in cases.items():
        with tempfile.TemporaryDirectory() as d:
            for fname, text in tree.items():
                os.makedirs(os.path.dirname(os.path.join(d, fname)), exist_ok=True)
                with open(os.path.join(d, fname), "w") as f:
                    f.write(text)
            got = 1 if find_cycles(module_graph([d])) or layer_violations([d]) else 0
        if got != want:
            print("self-test %s: expected %s, got %s" % (name, "a cycle" if want else
                                                         "no cycle", "a cycle" if got else
                                                         "no cycle"))
            ok = False
    return ok


def main(argv):
    if "--self-test" in argv:
        argv = [a for a in argv if a != "--self-test"]
        if not self_test():
            return 1
        print("self-test passed: synthetic cycles and upward includes are caught")
    here = os.path.dirname(os.path.abspath(__file__))
    dirs = argv or [os.path.join(here, "..", "zend")]
    rc = check(dirs)
    if rc == 0:
        print("no include cycle and no upward include in %s" % ", ".join(dirs))
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
