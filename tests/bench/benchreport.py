"""The table and the target checks of bench.py (also `bench.py --report`).

Results are the dicts measure_target() builds (tests/bench/README.md,
results.json); every reader here tolerates a target or a point that is
missing from a run.
"""


def fmt(v, nd=1):
    if v is None:
        return "-"
    return ("%." + str(nd) + "f") % v


def ratio(a, b):
    return None if a is None or not b else a / b


def build_table(results, conns, order):
    """The table as text; columns are the targets in results, in order's order."""
    names = [n for n in order if n in results]
    R = results

    def g(n, *path):
        v = R.get(n)          # a target not in this run: None
        for p in path:
            v = v.get(p) if isinstance(v, dict) else None
        return v

    def load_rows(sec, label):
        """wrk rows of one section: sec () = untranslated, ("tr",) = translated."""
        rows = []
        for c in conns:
            key = sec + ("c%d" % c,)
            rows.append(("%sreq/s @%d" % (label, c), [fmt(g(n, *key, "rps"), 0) for n in names]))
            if not sec:
                rows.append(("  x nginx", [fmt(ratio(g(n, *key, "rps"), g("nginx", *key, "rps")), 2)
                                            for n in names]))
            rows.append(("  x direct", [fmt(ratio(g(n, *key, "rps"), g("direct", *key, "rps")), 2)
                                         for n in names]))
            if sec:
                rows.append(("  x untranslated", [fmt(ratio(g(n, *key, "rps"), g(n, key[-1], "rps")),
                                                      2) for n in names]))
            rows.append(("  p50/p99 ms", ["%s/%s" % (fmt(g(n, *key, "p50_ms"), 2),
                                                     fmt(g(n, *key, "p99_ms"), 2)) for n in names]))
            rows.append(("  errors", [str(g(n, *key, "errors")) if g(n, *key) else "-"
                                      for n in names]))
        if sec:
            rows.append(("  JSON answer", ["-" if not g(n, *sec) else
                                           "BAD" if g(n, *sec, "answer_error") else "ok"
                                           for n in names]))
        rows.append(("%sp50 ms @1" % label, [fmt(g(n, *sec, "c1", "p50_ms"), 3) for n in names]))
        rows.append(("  added ms", [fmt(g(n, *sec, "added_ms_c1"), 3) for n in names]))
        return rows

    def stream_rows(sec, label):
        st = sec + ("stream",)
        rows = [("%sstream ttfe p50 ms" % label, [fmt(g(n, *st, "ttfe_p50_ms"), 2) for n in names]),
                ("  ttfe p99 ms", [fmt(g(n, *st, "ttfe_p99_ms"), 2) for n in names]),
                ("  ev delay p50 ms", [fmt(g(n, *st, "event_delay_p50_ms"), 2) for n in names]),
                ("  ev delay p99 ms", [fmt(g(n, *st, "event_delay_p99_ms"), 2) for n in names])]
        if sec:
            rows.append(("  ev p99 x untranslated", [fmt(ratio(
                g(n, *st, "event_delay_p99_ms"), g(n, "stream", "event_delay_p99_ms")), 2)
                for n in names]))
        rows.append(("  streams ok/drop", ["%s/%s" % (g(n, *st, "ok"), g(n, *st, "dropped"))
                                           if g(n, *st) else "-" for n in names]))
        return rows

    rows = load_rows((), "")
    rows.append(("  added x nginx", [fmt(added_ratio(g(n, "added_ms_c1"), g("nginx", "added_ms_c1")),
                                          2) for n in names]))
    rows.append(("RSS idle MB", [fmt(kb_mb(g(n, "rss_idle_kb")), 1) for n in names]))
    rows.append(("RSS load MB", [fmt(kb_mb(g(n, "rss_load_kb")), 1) for n in names]))
    rows += stream_rows((), "")
    if any(g(n, "tr") for n in names):
        rows.append(("translated: Anthropic client -> OpenAI Chat provider "
                     "(direct: the OpenAI mocks themselves)", None))
        rows += load_rows(("tr",), "tr ") + stream_rows(("tr",), "tr ")
    cells = [r for r in rows if r[1] is not None]
    w0 = max(len(r[0]) for r in cells) + 2
    widths = [max(len(n), *(len(r[1][i]) for r in cells)) + 2 for i, n in enumerate(names)]
    out = [" " * w0 + "".join(n.rjust(w) for n, w in zip(names, widths))]
    for label, row in rows:
        out.append(label if row is None else
                   label.ljust(w0) + "".join(c.rjust(w) for c, w in zip(row, widths)))
    for n in names:
        if R[n].get("error"):
            out.append("%s: %s" % (n, R[n]["error"]))
    return "\n".join(out)


def added_ratio(a, b):
    """a / b for added latencies; None when nginx's (b) is not above zero, i.e.
    lost in the run's noise, where a ratio would mean nothing."""
    return None if a is None or b is None or b <= 0 else a / b


def kb_mb(kb):
    return None if kb is None else kb / 1024.0


def check_targets(R, conns):
    """The issue's targets, reported (not asserted)."""
    z = R.get("zend", {})
    lines = []

    def line(ok, text):
        lines.append("%-4s %s" % ("-" if ok is None else ("ok" if ok else "MISS"), text))
    for c in conns:
        r = ratio((z.get("c%d" % c) or {}).get("rps"), (R.get("nginx", {}).get("c%d" % c) or {}).get("rps"))
        line(None if r is None else r >= 0.5, "zend >= 0.5x nginx throughput @%d: %sx" % (c, fmt(r, 2)))
    na = R.get("nginx", {}).get("added_ms_c1")
    r = added_ratio(z.get("added_ms_c1"), na)
    line(None if r is None else r <= 2.0, "zend added latency @1 <= 2x nginx's: %s ms vs %s ms (%sx)%s" % (
        fmt(z.get("added_ms_c1"), 3), fmt(na, 3), fmt(r, 2),
        "  [nginx's added latency <= 0 in this run: below the noise, no ratio]"
        if na is not None and na <= 0 else ""))
    for g in ("portkey", "ccr"):
        for c in conns:
            zr = (z.get("c%d" % c) or {}).get("rps")
            gr = (R.get(g, {}).get("c%d" % c) or {}).get("rps")
            r = ratio(zr, gr)
            line(None if r is None else r >= 10, "zend >= 10x %s throughput @%d: %sx" % (g, c, fmt(r, 1)))
    # the usage ledger's cost: zend with it against zend without it
    nl = R.get("zend-noledger", {})
    for c in conns:
        r = ratio((z.get("c%d" % c) or {}).get("rps"), (nl.get("c%d" % c) or {}).get("rps"))
        if r is not None:
            line(r >= 0.95, "zend with the usage ledger >= 0.95x without it @%d: %sx" % (c, fmt(r, 3)))
    idle = kb_mb(z.get("rss_idle_kb"))
    line(None if idle is None else idle <= 10, "zend idle RSS <= 10 MB: %s MB" % fmt(idle, 1))
    info = z.get("info") or {}
    if "worker_replaced" in info:
        line(not info["worker_replaced"], "zend worker the same before and after the load "
             "(pid %s -> %s; a new one means a crash: zend.log)" % (
                 info.get("worker_pid_start"), info.get("worker_pid_end")))
    # translated (Anthropic client -> OpenAI Chat provider)
    zt, ct = z.get("tr") or {}, R.get("ccr", {}).get("tr") or {}
    if zt or ct:
        if zt.get("answer_error"):
            line(False, "zend's translated JSON answer: %s" % zt["answer_error"])
        for c in conns:
            key = "c%d" % c
            r = ratio((zt.get(key) or {}).get("rps"), (ct.get(key) or {}).get("rps"))
            # a rate of wrong answers compares nothing
            wrong = zt.get("answer_error") or ct.get("answer_error")
            line(None if r is None or wrong else r >= 10,
                 "zend translated >= 10x ccr translated throughput @%d: %sx%s" % (
                     c, fmt(r, 1), "  [a JSON answer was wrong: no verdict]" if wrong else ""))
        zs = zt.get("stream") or {}
        tp = zs.get("event_delay_p99_ms")
        up = (z.get("stream") or {}).get("event_delay_p99_ms")
        r = ratio(tp, up)
        line(None if r is None or not zs.get("ok") else r <= 2.0,
             "zend translated event delay p99 <= 2x untranslated: %s ms vs %s ms (%sx)%s" % (
                 fmt(tp, 2), fmt(up, 2), fmt(r, 2),
                 "  [no translated stream completed: no verdict]" if zs and not zs.get("ok")
                 else ""))
    return "\n".join(lines)
