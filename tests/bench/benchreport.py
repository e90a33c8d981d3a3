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
            rows.append(("  CPU us/req", [fmt(g(n, *key, "cpu_us_per_req"), 1) for n in names]))
            if not sec:
                rows.append(("  beyond floor us", [fmt(beyond_floor(R, n, key[-1]), 1)
                                                   if n.startswith("zend") else "-"
                                                   for n in names]))
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
        rows.append(("  CPU us/req", [fmt(g(n, *sec, "c1", "cpu_us_per_req"), 1) for n in names]))
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


def cpu_per_req(R, name, key):
    return ((R.get(name) or {}).get(key) or {}).get("cpu_us_per_req")


def beyond_floor(R, name, key):
    """name's CPU per request minus the curl floor's at the same point (key
    "c32"...): what the proxy spends beyond libcurl's own cost."""
    a, f = cpu_per_req(R, name, key), cpu_per_req(R, "curl-floor", key)
    return None if a is None or f is None else a - f


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
    # CPU: zend's own cost beyond the curl floor against nginx's whole cost
    for c in conns:
        key = "c%d" % c
        zb, nc = beyond_floor(R, "zend", key), cpu_per_req(R, "nginx", key)
        r = ratio(zb, nc)
        line(None if zb is None or not nc else zb <= nc,
             "zend beyond curl <= nginx @%d: zend %s - floor %s = %s us/req vs nginx %s us/req (%sx)"
             % (c, fmt(cpu_per_req(R, "zend", key), 1), fmt(cpu_per_req(R, "curl-floor", key), 1),
                fmt(zb, 1), fmt(nc, 1), fmt(r, 2)))
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
    line(None if idle is None else idle <= 8, "zend idle RSS <= 8 MB: %s MB" % fmt(idle, 1))
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


def format_counts(C):
    """System calls and allocations per request (bench.py counts())."""
    names = [n for n in ("zend", "nginx", "curl-floor") if n in C]
    out = ["system calls and allocations per request (%s requests at %s connections after a "
           "warm-up; strace -c -f on the serving process and its threads; malloc_count.so; "
           "curl-floor: the bare curl client, its own process)" % (C.get("requests"), C.get("conns"))]
    if C.get("error") or C.get("note"):
        out.append("  " + (C.get("error") or C.get("note")))
    if not names:
        return "\n".join(out)

    def sc(n):
        return (C[n].get("syscalls") or {})
    top = []
    for n in names:
        for k in list(sc(n).get("by_name", {}))[:10]:
            if k not in top:
                top.append(k)
    rows = [("syscalls/req", [fmt(sc(n).get("total"), 2) for n in names])]
    for k in top:
        rows.append(("  " + k, [fmt(sc(n).get("by_name", {}).get(k), 2) if sc(n) else "-"
                                for n in names]))
    errs = {n: sum(sc(n).get("errors_by_name", {}).values()) for n in names}
    rows.append(("  failed (EAGAIN...)", [fmt(errs[n], 2) if sc(n) else "-" for n in names]))
    rows.append(("allocs/req", [fmt((C[n].get("alloc") or {}).get("allocs"), 1) for n in names]))
    for k in ("malloc", "calloc", "realloc", "free"):
        rows.append(("  " + k, [fmt((C[n].get("alloc") or {}).get(k), 1) for n in names]))
    rows.append(("  bytes", [fmt((C[n].get("alloc") or {}).get("bytes"), 0) for n in names]))
    rows.append(("zend beyond floor", None))
    w0 = max(len(r[0]) for r in rows) + 2
    widths = [max(len(n), *(len(r[1][i]) for r in rows if r[1])) + 2 for i, n in enumerate(names)]
    out.append(" " * w0 + "".join(n.rjust(w) for n, w in zip(names, widths)))
    for label, row in rows[:-1]:
        out.append(label.ljust(w0) + "".join(c.rjust(w) for c, w in zip(row, widths)))

    def diff(a, b):
        return None if a is None or b is None else a - b
    z, f = C.get("zend") or {}, C.get("curl-floor") or {}
    out.append("zend beyond the floor: %s syscalls/req, %s allocs/req (nginx: %s syscalls/req, "
               "%s allocs/req)" % (
                   fmt(diff((z.get("syscalls") or {}).get("total"),
                            (f.get("syscalls") or {}).get("total")), 2),
                   fmt(diff((z.get("alloc") or {}).get("allocs"),
                            (f.get("alloc") or {}).get("allocs")), 1),
                   fmt(((C.get("nginx") or {}).get("syscalls") or {}).get("total"), 2),
                   fmt(((C.get("nginx") or {}).get("alloc") or {}).get("allocs"), 1)))
    for n in names:
        if C[n].get("error"):
            out.append("%s: %s" % (n, C[n]["error"]))
        elif C[n].get("client_errors"):
            out.append("%s: %d client errors (counts include failed requests)" % (
                n, C[n]["client_errors"]))
    return "\n".join(out)


def format_capacity(cap):
    """The streaming capacity run and its targets (bench.py capacity())."""
    out = []

    def p(*a):
        out.append(" ".join(str(x) for x in a))
    p("streaming capacity through zend: %d streams for %ss (events %s ms apart)" % (
        cap["streams"], cap["seconds"], cap["gap_ms"]))
    cl = cap.get("client", {})
    p("  peak concurrent %s, completed %s, dropped %s %s, cut at end %s" % (
        cap.get("peak_active"), cap.get("completed"), cap.get("dropped"),
        cl.get("errors") or "", cl.get("cut_at_end")))
    p("  zend RSS idle %s MB, peak %s MB, %s KB per stream, 2 s after the streams %s MB; "
      "fds idle %s peak %s after %s" % (
          fmt(kb_mb(cap.get("rss_idle_kb"))), fmt(kb_mb(cap.get("rss_peak_kb"))),
          fmt(cap.get("rss_per_stream_kb")), fmt(kb_mb(cap.get("rss_after_kb"))),
          cap.get("fds_idle"), cap.get("fds_peak"), cap.get("fds_after")))
    idle = cap.get("idle") or {}
    for key, label in (("supervisor", "worker under the supervisor"),
                       ("no_supervisor", "--no-supervisor")):
        i = idle.get(key)
        if i:
            p("  zend idle RSS, %s: %s MB, after a reload%s %s MB" % (
                label, fmt(kb_mb(i.get("rss_idle_kb"))),
                "" if i.get("reload_ok") else " (reload FAILED)", fmt(kb_mb(i.get("rss_reload_kb")))))
            parts = i.get("idle_parts_kb")
            if parts:
                p("    of the idle RSS: anonymous %s MB, pages of the executable and libraries "
                  "%s MB" % tuple(fmt(kb_mb(parts.get(k))) for k in ("anon", "file")))
    p("  zend CPU %s%% (mock %s%%, client %s%%); ttfe p99 %s ms; event delay p50 %s ms, "
      "p99 %s ms" % (
          cap.get("zend_cpu_pct"), cap.get("mock_cpu_pct"), cl.get("client_cpu_pct"),
          fmt(cap.get("ttfe_p99_ms"), 2), fmt(cap.get("event_delay_p50_ms"), 2),
          fmt(cap.get("event_delay_p99_ms"), 2)))
    d = cap.get("direct")
    if d:
        p("  same load direct to the mock: completed %s, dropped %s, event delay p50 %s ms, "
          "p99 %s ms (client %s%%)" % (
              d["streams_ok"], d["streams_dropped"], fmt(d["event_delay_p50_ms"], 2),
              fmt(d["event_delay_p99_ms"], 2), d.get("client_cpu_pct")))
    hi, hl = cap.get("health_idle"), cap.get("health_load")
    for label, h in (("idle", hi), ("streams open", hl)):
        if h and not h.get("error"):
            p("  health RPC (%s sequential, msgpack-rpc on the socket) %s: p50 %s ms, p99 %s ms, "
              "max %s ms; zend in_flight %s-%s%s" % (
                  h["calls"], label, fmt(h["p50_ms"], 3), fmt(h["p99_ms"], 3),
                  fmt(h["max_ms"], 3), h.get("in_flight_min"), h.get("in_flight_max"),
                  " (%d more calls with fewer in flight left out)" % h["other"]
                  if h.get("other") else ""))
            if h.get("echo_p99_ms") is not None:
                p("    the same answer's bytes through a C echo server on zend's CPU, same client, "
                  "same moments (the machine's floor): p50 %s ms, p99 %s ms, max %s ms" % (
                      fmt(h["echo_p50_ms"], 3), fmt(h["echo_p99_ms"], 3),
                      fmt(h["echo_max_ms"], 3)))
        elif h:
            p("  health RPC %s: %s" % (label, h["error"]))
    # targets
    lines = []

    def line(ok, text):
        lines.append("%-4s %s" % ("-" if ok is None else ("ok" if ok else "MISS"), text))
    n = cap["streams"]
    note = "" if n == 2000 else "  [the target is for 2000 streams; this run had %d]" % n
    peak = kb_mb(cap.get("rss_peak_kb"))
    per = cap.get("rss_per_stream_kb")
    # 64 MB is the target for 2000 streams; a smaller run is judged by the
    # same budget per stream ((64 - 8 idle) MB / 2000 ~ 29 KB)
    ok = (None if peak is None else peak <= 64) if n >= 2000 else \
        (None if per is None else per <= 29)
    line(ok, "zend worker RSS with 2000 streams open <= 64 MB (<= 29 KB a stream): peak %s MB "
         "with %s open, %s KB a stream%s" % (fmt(peak), cap.get("peak_active"), fmt(per), note))
    dp = (d or {}).get("event_delay_p99_ms")
    zp = cap.get("event_delay_p99_ms")
    r = ratio(zp, dp)
    line(None if r is None else r <= 2.0,
         "event delay p99 with %d streams <= 2x direct's: %s ms vs %s ms (%sx)" % (
             n, fmt(zp, 2), fmt(dp, 2), fmt(r, 2)))
    line(None if cap.get("dropped") is None else cap["dropped"] == 0,
         "0 streams dropped: %s" % cap.get("dropped"))
    for key, label in (("supervisor", "worker under the supervisor"),
                       ("no_supervisor", "--no-supervisor")):
        i = idle.get(key)
        if i:
            vals = [kb_mb(i.get(k)) for k in ("rss_idle_kb", "rss_reload_kb")]
            worst = None if None in vals else max(vals)
            line(None if worst is None else worst <= 8,
                 "zend idle RSS <= 8 MB, %s (also after a reload): %s MB" % (label, fmt(worst)))
    hp = (hl or {}).get("p99_ms")
    ep = (hl or {}).get("echo_p99_ms")
    line(None if hp is None else hp <= 1.0,
         "health p99 <= 1 ms with 2000 streams open: %s ms (%s-%s in flight; a C echo's p99 at "
         "the same moments: %s ms)%s" % (
             fmt(hp, 3), (hl or {}).get("in_flight_min"), (hl or {}).get("in_flight_max"),
             fmt(ep, 3), note))
    p("capacity targets (reported, not asserted):")
    out.extend(lines)
    return "\n".join(out)
