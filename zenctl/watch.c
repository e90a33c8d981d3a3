/* watch.c -- metrics --watch: one subscription, three renderers.
 *
 * The loop polls three descriptors: the control socket (ticks), a signalfd
 * (Ctrl-C, terminal resize, suspend) and, on a terminal, stdin (the `q`
 * key). Signals arrive as data through the signalfd rather than through
 * handlers, so quitting always runs the same path that restores the
 * terminal. */
#include "watch.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "common.h"
#include "methods.h"
#include "screen.h"
#include "timeutil.h"
#include "view.h"

/* A hung zend that stops ticking is reported after this many missed ticks
 * (plus --timeout), rather than waited on for ever. */
#define WATCH_MISSED_TICKS 3

enum watch_mode { WATCH_JSON, WATCH_LINES, WATCH_SCREEN };

struct watch {
    struct zc_ctx *ctx;
    enum watch_mode mode;
    double interval_s;
    struct zc_client client;
    int sigfd;
    int keyfd;       /* stdin while it is a terminal, else -1 */
    json_t *hello;   /* version and pid, for the screen's title */
    json_t *prev;    /* the tick before cur (or the snapshot taken at start) */
    json_t *cur;     /* the newest tick */
    int lines_since_header;
};

/* ---- deltas between two ticks ---- */

/* Counters reset when a worker restarts: then the new value is the delta
 * and the new uptime the period. */
static int counters_reset(const json_t *prev, const json_t *cur)
{
    return zv_int(cur, "restarts") != zv_int(prev, "restarts") ||
           zv_num(cur, "uptime_s") < zv_num(prev, "uptime_s");
}

static double tick_seconds(const json_t *prev, const json_t *cur)
{
    if (!prev)
        return 0;
    return counters_reset(prev, cur) ? zv_num(cur, "uptime_s")
                                     : zv_num(cur, "uptime_s") - zv_num(prev, "uptime_s");
}

/* How much a counter grew since the previous tick; prev may be NULL. */
static double grew(const json_t *prev_obj, const json_t *cur_obj, const char *key,
                   int reset)
{
    double now = zv_num(cur_obj, key);
    if (!prev_obj || reset)
        return now;
    double before = zv_num(prev_obj, key);
    return now >= before ? now - before : now;
}

static double per_second(double delta, double dt) { return dt > 0 ? delta / dt : 0; }

/* Errors as a percentage of the requests in the same period. */
static double error_pct(double errors, double requests)
{
    return requests > 0 ? 100.0 * errors / requests : 0;
}

/* ---- -o json ---- */

static void render_json(struct watch *w) { zc_print_json_line(w->cur); }

/* ---- piped: one line per tick ---- */

static void render_line(struct watch *w)
{
    if (w->lines_since_header % WATCH_HEADER_EVERY == 0)
        printf("%-8s %8s %10s %6s %8s %8s %8s %8s\n", "time", "req/s", "inflight", "err%",
               "p50_ms", "p95_ms", "p99_ms", "rss_mib");
    w->lines_since_header++;
    int reset = w->prev && counters_reset(w->prev, w->cur);
    double dt = tick_seconds(w->prev, w->cur);
    double reqs = grew(w->prev, w->cur, "requests_total", reset);
    double errs = grew(w->prev, w->cur, "error_count", reset);
    char clock[16], inflight[32];
    time_t now = time(NULL);
    struct tm tm;
    strftime(clock, sizeof(clock), "%H:%M:%S", localtime_r(&now, &tm));
    snprintf(inflight, sizeof(inflight), "%lld/%lld", zv_int(w->cur, "in_flight"),
             zv_int(w->cur, "max_concurrent"));
    printf("%-8s %8.1f %10s %6.1f %8.1f %8.1f %8.1f %8.1f\n", clock, per_second(reqs, dt),
           inflight, error_pct(errs, reqs), zv_num(w->cur, "latency_p50_ms"),
           zv_num(w->cur, "latency_p95_ms"), zv_num(w->cur, "latency_p99_ms"),
           zv_num(json_object_get(w->cur, "resources"), "rss_bytes") / (1024.0 * 1024.0));
}

/* ---- terminal: full screen ---- */

struct frame {
    int rows_left; /* the last row stays empty: a newline there would scroll */
    int color;
};

static void frame_line(struct frame *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void frame_line(struct frame *f, const char *fmt, ...)
{
    if (f->rows_left <= 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    screen_eol();
    f->rows_left--;
}

/* "5321 (+12)", or just "5321" before the first delta. */
static void count_with_delta(char *out, size_t outlen, const json_t *prev, const json_t *cur,
                             const char *key, int reset)
{
    if (prev)
        snprintf(out, outlen, "%lld (+%.0f)", zv_int(cur, key), grew(prev, cur, key, reset));
    else
        snprintf(out, outlen, "%lld", zv_int(cur, key));
}

/* Non-zero error types: "server 3 (+1), timeout 1". */
static void error_types(char *out, size_t outlen, const json_t *prev, const json_t *cur,
                        int reset)
{
    const json_t *now = json_object_get(cur, "errors_by_type");
    const json_t *before = prev ? json_object_get(prev, "errors_by_type") : NULL;
    const char *type;
    json_t *v;
    size_t len = 0;
    out[0] = '\0';
    json_object_foreach((json_t *)now, type, v) {
        if (json_integer_value(v) == 0 || len >= outlen)
            continue;
        double d = grew(before, now, type, reset || !before);
        int n = d > 0 && before
                    ? snprintf(out + len, outlen - len, "%s%s %lld (+%.0f)", len ? ", " : "",
                               type, (long long)json_integer_value(v), d)
                    : snprintf(out + len, outlen - len, "%s%s %lld", len ? ", " : "", type,
                               (long long)json_integer_value(v));
        len += n > 0 ? (size_t)n : 0;
    }
    if (!out[0])
        snprintf(out, outlen, "none");
}

static void render_header(struct watch *w, struct frame *f, int reset, double dt)
{
    const json_t *cur = w->cur, *prev = w->prev;
    const json_t *res = json_object_get(cur, "resources");
    char up[64], rss[32], rss_peak[32], total[64], failed[64], attempts[64], failovers[64];
    char errors[256], p50[16], p95[16], p99[16], pmax[16], t50[16], t95[16], t99[16];
    zv_duration(zv_num(cur, "uptime_s"), up, sizeof(up));
    zv_bytes(zv_num(res, "rss_bytes"), rss, sizeof(rss));
    zv_bytes(zv_num(res, "rss_peak_bytes"), rss_peak, sizeof(rss_peak));
    count_with_delta(total, sizeof(total), prev, cur, "requests_total", reset);
    count_with_delta(failed, sizeof(failed), prev, cur, "error_count", reset);
    count_with_delta(attempts, sizeof(attempts), prev, cur, "attempts_total", reset);
    count_with_delta(failovers, sizeof(failovers), prev, cur, "failovers_total", reset);
    error_types(errors, sizeof(errors), prev, cur, reset);
    zv_ms(zv_num(cur, "latency_p50_ms"), p50, sizeof(p50));
    zv_ms(zv_num(cur, "latency_p95_ms"), p95, sizeof(p95));
    zv_ms(zv_num(cur, "latency_p99_ms"), p99, sizeof(p99));
    zv_ms(zv_num(cur, "latency_max_ms"), pmax, sizeof(pmax));
    zv_ms(zv_num(cur, "ttfb_p50_ms"), t50, sizeof(t50));
    zv_ms(zv_num(cur, "ttfb_p95_ms"), t95, sizeof(t95));
    zv_ms(zv_num(cur, "ttfb_p99_ms"), t99, sizeof(t99));
    double reqs = grew(prev, cur, "requests_total", reset);
    double errs = grew(prev, cur, "error_count", reset);
    const char *b = f->color ? ZV_BOLD : "", *r = f->color ? ZV_RESET : "";

    char every[32];
    zv_duration(w->interval_s, every, sizeof(every));
    frame_line(f, "%szend %s%s  pid %lld  up %s  restarts %lld  every %s  (q quits)", b,
               zv_str(w->hello, "version", "?"), r, zv_int(w->hello, "pid"), up,
               zv_int(cur, "restarts"), every);
    frame_line(f, "%s", "");
    if (prev)
        frame_line(f, "requests   %.1f/s  err %.1f%%  total %s  failed %s  rejected %lld",
                   per_second(reqs, dt), error_pct(errs, reqs), total, failed,
                   zv_int(cur, "rejected_total"));
    else
        frame_line(f, "requests   -/s  err -  total %s  failed %s  rejected %lld", total, failed,
                   zv_int(cur, "rejected_total"));
    frame_line(f, "in-flight  %lld/%lld  peak %lld  queued %lld  clients %lld",
               zv_int(cur, "in_flight"), zv_int(cur, "max_concurrent"),
               zv_int(res, "in_flight_peak"), zv_int(cur, "queued"),
               zv_int(res, "client_connections"));
    frame_line(f, "latency    p50 %s  p95 %s  p99 %s  max %s   ttfb p50 %s  p95 %s  p99 %s", p50,
               p95, p99, pmax, t50, t95, t99);
    frame_line(f, "upstream   attempts %s  failovers %s", attempts, failovers);
    frame_line(f, "errors     %s", errors);
    frame_line(f, "memory     rss %s (peak %s)  fds %lld (peak %lld)", rss, rss_peak,
               zv_int(res, "open_fds"), zv_int(res, "open_fds_peak"));
    frame_line(f, "%s", "");
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* One row per provider, by name, so rows do not jump between ticks; zend
 * lists every configured provider, one not tried yet included. status comes
 * with the tick; "-" stands in when an older zend does not send it. */
static void render_providers(struct watch *w, struct frame *f, int reset, double dt)
{
    const json_t *now = json_object_get(w->cur, "providers");
    const json_t *before = w->prev ? json_object_get(w->prev, "providers") : NULL;
    struct zv_table t;
    zv_table_init(&t, 8, 0xFCu); /* numbers (columns 2..7) align right */
    static const char *const head[] = {"PROVIDER", "STATUS", "REQ/S", "ERR%",
                                       "P50", "P95", "P99", "ERRORS"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(head); i++)
        zv_table_cell(&t, NULL, "%s", head[i]);
    size_t shown = 0, total = json_object_size(now);
    /* Rows left below the header row; one of them may say how many more. */
    size_t room = f->rows_left > 1 ? (size_t)f->rows_left - 1 : 0;
    const char **names = calloc(total ? total : 1, sizeof(*names));
    size_t n = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)now, key, v)
        if (names)
            names[n++] = key;
    qsort(names, n, sizeof(*names), compare_names);
    for (size_t i = 0; i < n; i++) {
        if (shown + (total > room ? 1 : 0) >= room)
            break;
        const char *name = names[i];
        const json_t *p = json_object_get(now, name);
        const json_t *q = json_object_get(before, name);
        int fresh = !w->prev || reset || !q;
        double reqs = grew(fresh ? NULL : q, p, "requests", 0);
        double errs = grew(fresh ? NULL : q, p, "errors", 0);
        const char *status = zv_str(p, "status", "-");
        char p50[16], p95[16], p99[16];
        zv_ms(zv_num(p, "latency_p50_ms"), p50, sizeof(p50));
        zv_ms(zv_num(p, "latency_p95_ms"), p95, sizeof(p95));
        zv_ms(zv_num(p, "latency_p99_ms"), p99, sizeof(p99));
        zv_table_cell(&t, NULL, "%s", name);
        zv_table_cell(&t, zv_status_color(status), "%s", status);
        if (w->prev) {
            zv_table_cell(&t, NULL, "%.1f", per_second(reqs, dt));
            if (reqs > 0)
                zv_table_cell(&t, errs > 0 ? ZV_RED : NULL, "%.1f", error_pct(errs, reqs));
            else
                zv_table_cell(&t, NULL, "-");
        } else {
            zv_table_cell(&t, NULL, "-");
            zv_table_cell(&t, NULL, "-");
        }
        zv_table_cell(&t, NULL, "%s", p50);
        zv_table_cell(&t, NULL, "%s", p95);
        zv_table_cell(&t, NULL, "%s", p99);
        if (w->prev && !fresh)
            zv_table_cell(&t, NULL, "%lld (+%.0f)", zv_int(p, "errors"), errs);
        else
            zv_table_cell(&t, NULL, "%lld", zv_int(p, "errors"));
        shown++;
    }
    free(names);
    /* The table renders into memory so each of its lines can be ended the
     * screen's way (clear to end of row). */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (mem) {
        zv_table_print(&t, mem, f->color);
        fclose(mem);
        for (char *line = text, *nl; line && *line; line = nl + 1) {
            nl = strchr(line, '\n');
            if (!nl)
                break;
            *nl = '\0';
            frame_line(f, "%s", line);
        }
        free(text);
    }
    zv_table_free(&t);
    if (shown < total) {
        char more[48];
        zv_count((long long)(total - shown), "more provider", "more providers", more,
                 sizeof(more));
        frame_line(f, "... and %s (a taller terminal shows them)", more);
    }
    if (total == 0)
        frame_line(f, "(no provider has been used yet)");
}

static void render_screen(struct watch *w)
{
    int rows, cols;
    screen_size(&rows, &cols);
    struct frame f = {.rows_left = rows - 1, .color = w->ctx->color};
    int reset = w->prev && counters_reset(w->prev, w->cur);
    double dt = tick_seconds(w->prev, w->cur);
    screen_begin_frame();
    render_header(w, &f, reset, dt);
    render_providers(w, &f, reset, dt);
    screen_end_frame();
}

/* ---- the loop ---- */

/* Renders the newest tick. Returns ZEN_ERR when stdout is gone (a closed
 * pipe: the reader has seen enough, which is a normal way to stop). */
static int render(struct watch *w)
{
    switch (w->mode) {
    case WATCH_JSON:
        render_json(w);
        break;
    case WATCH_LINES:
        render_line(w);
        break;
    case WATCH_SCREEN:
        render_screen(w);
        break;
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? ZEN_OK : ZEN_ERR;
}

static void on_tick(struct watch *w, json_t *metrics)
{
    json_decref(w->prev);
    w->prev = w->cur;
    /* -o json relays zend's document as it is; the others draw it. */
    w->cur = w->mode == WATCH_JSON ? json_incref(metrics) : zv_escaped_doc(metrics);
}

/* Handles one signal; returns 1 when it means "quit". */
static int on_signal(struct watch *w, int signo)
{
    switch (signo) {
    case SIGWINCH:
        if (w->cur)
            render(w);
        return 0;
    case SIGTSTP: /* Ctrl-Z: give the terminal back, then really stop */
        screen_leave();
        kill(getpid(), SIGSTOP);
        return 0;
    case SIGCONT:
        if (w->mode == WATCH_SCREEN && screen_enter() == ZEN_OK && w->cur)
            render(w);
        return 0;
    default: /* SIGINT, SIGTERM, SIGHUP */
        return 1;
    }
}

/* Returns 1 when the user pressed q. A closed stdin stops key reading. */
static int on_keys(struct watch *w)
{
    char keys[64];
    ssize_t n = read(w->keyfd, keys, sizeof(keys));
    if (n <= 0) {
        if (n == 0 || (errno != EINTR && errno != EAGAIN))
            w->keyfd = -1;
        return 0;
    }
    return memchr(keys, 'q', (size_t)n) || memchr(keys, 'Q', (size_t)n);
}

static int gone(struct watch *w, const char *why)
{
    screen_leave();
    zc_error("zend went away (%s)", why);
    return ZEN_EXIT_NOT_RUNNING;
}

static int run_loop(struct watch *w)
{
    char err[ZEN_ERRLEN];
    int silence_ms = (int)(WATCH_MISSED_TICKS * w->interval_s * 1000.0) + w->ctx->timeout_ms;
    int64_t deadline = ztime_mono_ms() + silence_ms;
    for (;;) {
        struct rpc_message m;
        int rc;
        while ((rc = zc_take_message(&w->client, &m, err, sizeof(err))) == ZC_READ_OK) {
            int tick = m.type == RPC_NOTIFICATION && strcmp(m.method, RPC_NOTIFY_METRICS) == 0;
            if (tick) {
                on_tick(w, m.params);
                deadline = ztime_mono_ms() + silence_ms;
            }
            rpc_message_clear(&m);
            if (tick && render(w) != ZEN_OK)
                return ZEN_EXIT_OK; /* stdout closed */
        }
        if (rc == ZC_READ_FAILED)
            return gone(w, err);

        struct pollfd fds[3] = {
            {.fd = w->client.fd, .events = POLLIN},
            {.fd = w->sigfd, .events = POLLIN},
            {.fd = w->keyfd, .events = POLLIN}, /* a negative fd is ignored */
        };
        int64_t left = deadline - ztime_mono_ms();
        int pr = poll(fds, 3, left > 0 ? (int)left : 0);
        if (pr < 0 && errno != EINTR)
            return gone(w, strerror(errno));
        if (pr == 0) {
            snprintf(err, sizeof(err), "no metrics for %d ms", silence_ms);
            return gone(w, err);
        }
        if (fds[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(w->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
                on_signal(w, (int)si.ssi_signo))
                return ZEN_EXIT_OK;
        }
        if (w->keyfd >= 0 && (fds[2].revents & (POLLIN | POLLHUP)) && on_keys(w))
            return ZEN_EXIT_OK;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            rc = zc_receive(&w->client, err, sizeof(err));
            if (rc != ZC_READ_OK)
                return gone(w, err);
        }
    }
}

/* Signals become readable events; the rest keep their defaults, except
 * SIGPIPE, which would kill us mid-write instead of letting us exit 0. */
static int open_signalfd(enum watch_mode mode)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    if (mode == WATCH_SCREEN) {
        sigaddset(&set, SIGWINCH);
        sigaddset(&set, SIGTSTP);
        sigaddset(&set, SIGCONT);
    }
    signal(SIGPIPE, SIG_IGN);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
        return -1;
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* hello (for the title), a snapshot (so the first tick has deltas), then
 * the subscription. */
static int subscribe(struct watch *w)
{
    char err[ZEN_ERRLEN];
    int code;
    int st = zc_connect(&w->client, w->ctx->sock_path, w->ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&w->client, RPC_HELLO, NULL, &w->hello, &code, err, sizeof(err));
    if (st == ZC_OK && w->mode != WATCH_JSON)
        st = zc_call(&w->client, RPC_METRICS, NULL, &w->cur, &code, err, sizeof(err));
    if (st == ZC_OK && w->mode != WATCH_JSON) {
        w->hello = zv_escaped_take(w->hello);
        w->cur = zv_escaped_take(w->cur);
    }
    if (st == ZC_OK) {
        json_t *params = json_pack("{s:I}", "interval_ms",
                                   (json_int_t)llround(w->interval_s * 1000.0));
        json_t *ok = NULL;
        st = zc_call(&w->client, RPC_METRICS_SUBSCRIBE, params, &ok, &code, err, sizeof(err));
        json_decref(params);
        json_decref(ok);
    }
    return st == ZC_OK ? ZEN_EXIT_OK : zc_fail(st, err);
}

int zc_watch_metrics(struct zc_ctx *ctx, double interval_s)
{
    struct watch w = {.ctx = ctx, .interval_s = interval_s, .sigfd = -1, .keyfd = -1};
    w.client.fd = -1;
    if (ctx->output == ZC_OUT_JSON)
        w.mode = WATCH_JSON;
    else
        w.mode = isatty(STDOUT_FILENO) ? WATCH_SCREEN : WATCH_LINES;
    w.sigfd = open_signalfd(w.mode);
    if (w.sigfd < 0) {
        zc_error("signalfd: %s", strerror(errno));
        return ZEN_EXIT_FAILURE;
    }
    int rc = subscribe(&w);
    if (rc == ZEN_EXIT_OK) {
        if (w.mode == WATCH_SCREEN && screen_enter() == ZEN_OK) {
            w.keyfd = isatty(STDIN_FILENO) ? STDIN_FILENO : -1;
            render(&w); /* the snapshot, at once, rather than a blank screen */
        }
        rc = run_loop(&w);
        screen_leave();
    }
    zc_close(&w.client);
    close(w.sigfd);
    json_decref(w.hello);
    json_decref(w.prev);
    json_decref(w.cur);
    return rc;
}
