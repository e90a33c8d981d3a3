/* logs.c -- `zenctl logs`: recent records from zend's ring, and -f.
 *
 * Without -f: one logs.subscribe {backlog: N, follow: false}; zend sends the
 * backlog, then log.end, and we exit.
 *
 * With -f the stream must outlive zend itself (a restart, a crash that the
 * supervisor repairs), like `tail -F`: on disconnect we say so on stderr,
 * retry every LOGS_RECONNECT_MS for as long as it takes, and carry on.
 * What to ask for on reconnection is the subtle part. A new zend preloads
 * its ring from the tail of zend.log, so the ring holds both lines we have
 * printed and lines logged while we were away (a crash, the new worker's
 * daemon_started). Asking for backlog 0 would lose the latter; asking for a
 * few would repeat the former. So we keep a cursor -- the newest timestamp
 * printed, and the records already printed at exactly that millisecond --
 * ask for the whole ring, and skip the replay up to the cursor. Skipping
 * stops at the first record past it; everything after that is printed as
 * it comes, so a clock stepping backwards cannot hide live records.
 *
 * When zend is not running there is no ring to ask -- and that is when the
 * log matters most (daemon_start_failed): we read ZEN_HOME's log file
 * ourselves, with the same -n, --level and --event, say so on stderr, and
 * with -f go on to wait for zend as after a disconnect. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "log.h"
#include "paths.h"
#include "methods.h"
#include "timeutil.h"
#include "view.h"

#define LOGS_DEFAULT_LINES 10
#define LOGS_MAX_LINES 1000000
#define LOGS_RECONNECT_MS 500
/* On reconnection: the whole ring (zend caps the backlog at its own
 * per-subscriber queue), then skip what the cursor says we printed. */
#define LOGS_RESUME_BACKLOG 1000000
#define LOGS_MAX_EVENTS 32
#define LOGS_JSON_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10))

struct logs_opts {
    long lines;
    int follow;
    int json;
    int color;
    const char *level;
    const char *events[LOGS_MAX_EVENTS];
    int nevents;
};

/* ---- the resume cursor ---- */

struct log_cursor {
    char ts[ZTIME_RFC3339_LEN]; /* newest timestamp printed ("" = none) */
    char **seen;                /* compact dumps of records printed at ts */
    size_t nseen, cap;
    int replaying;              /* skipping a backlog replay up to ts */
};

static void cursor_forget_seen(struct log_cursor *c)
{
    for (size_t i = 0; i < c->nseen; i++) {
        free(c->seen[i]);
        c->seen[i] = NULL;
    }
    c->nseen = 0;
}

static void cursor_free(struct log_cursor *c)
{
    cursor_forget_seen(c);
    free(c->seen);
    c->seen = NULL;
    c->cap = 0;
}

static int cursor_has_seen(const struct log_cursor *c, const char *dump)
{
    for (size_t i = 0; i < c->nseen; i++)
        if (strcmp(c->seen[i], dump) == 0)
            return 1;
    return 0;
}

/* Records that a record stamped ts (RFC 3339 UTC with milliseconds, which
 * sorts as text) was printed. */
static void cursor_advance(struct log_cursor *c, const char *ts, const char *dump)
{
    int cmp = strcmp(ts, c->ts);
    if (cmp < 0)
        return;
    if (cmp > 0) {
        cursor_forget_seen(c);
        snprintf(c->ts, sizeof(c->ts), "%s", ts);
    }
    if (c->nseen == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 8;
        char **seen = realloc(c->seen, cap * sizeof(*seen));
        if (!seen)
            return; /* worst case: one duplicate line after a reconnect */
        c->seen = seen;
        c->cap = cap;
    }
    char *copy = strdup(dump);
    if (copy)
        c->seen[c->nseen++] = copy;
}

/* While replaying: 1 when the record was printed before the reconnect. */
static int cursor_skip(struct log_cursor *c, const char *ts, const char *dump)
{
    if (!c->replaying)
        return 0;
    int cmp = strcmp(ts, c->ts);
    if (cmp < 0 || (cmp == 0 && cursor_has_seen(c, dump)))
        return 1;
    c->replaying = 0;
    return 0;
}

/* ---- rendering ---- */

static const char *level_color(const char *level)
{
    if (strcmp(level, "error") == 0)
        return ZV_RED;
    if (strcmp(level, "warn") == 0)
        return ZV_YELLOW;
    if (strcmp(level, "debug") == 0)
        return ZV_DIM;
    return ZV_CYAN;
}

/* A string prints bare when a reader can still split the line on spaces
 * and '=': no space, quote, backslash, '=' or control byte, not empty. */
static int plain_string(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == '"' || *s == '\\' || *s == '=' || *s == 0x7F)
            return 0;
    return 1;
}

/* "HH:MM:SS.mmm" out of "YYYY-MM-DDTHH:MM:SS.mmmZ": the record's own UTC
 * time, so lines line up with zend.log and with other hosts. */
static void clock_of(const char *ts, char out[16])
{
    const char *t = ts ? strchr(ts, 'T') : NULL;
    if (t && strlen(t + 1) >= 12)
        snprintf(out, 16, "%.12s", t + 1);
    else
        snprintf(out, 16, "--:--:--.---");
}

/* Prints s through zv_escape: a record's words come from anywhere (an
 * upstream's error body), and must not drive the terminal. */
static void put_escaped(const char *s)
{
    char *safe = zv_escape(s);
    fputs(safe ? safe : "?", stdout);
    free(safe);
}

static void print_short(const json_t *rec, int color)
{
    char clock[16], upper[16];
    clock_of(json_string_value(json_object_get(rec, "timestamp")), clock);
    const char *level = zv_str(rec, "level", "-");
    size_t i;
    for (i = 0; level[i] && i + 1 < sizeof(upper); i++)
        upper[i] = (char)(level[i] >= 'a' && level[i] <= 'z' ? level[i] - 'a' + 'A' : level[i]);
    upper[i] = '\0';
    printf("%s %s", clock, color ? level_color(level) : "");
    char *safe_level = zv_escape(upper);
    printf("%-5s%s ", safe_level ? safe_level : "?", color ? ZV_RESET : "");
    free(safe_level);
    put_escaped(zv_str(rec, "event", "-"));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)rec, key, v) {
        if (strcmp(key, "timestamp") == 0 || strcmp(key, "level") == 0 ||
            strcmp(key, "event") == 0)
            continue;
        putchar(' ');
        put_escaped(key);
        putchar('=');
        if (json_is_string(v) && plain_string(json_string_value(v))) {
            put_escaped(json_string_value(v)); /* plain, but may hold C1 controls */
            continue;
        }
        /* jansson escapes C0 controls but not DEL or C1 ones. */
        char *s = json_dumps(v, LOGS_JSON_FLAGS);
        put_escaped(s ? s : "?");
        free(s);
    }
    putchar('\n');
}

/* Prints one record unless the cursor says it was printed already. */
static void on_record(const struct logs_opts *o, struct log_cursor *cur, const json_t *rec)
{
    const char *ts = json_string_value(json_object_get(rec, "timestamp"));
    char *dump = json_dumps(rec, LOGS_JSON_FLAGS);
    if (!dump)
        return;
    /* Records without a time (log_dropped) are about this connection only. */
    if (!ts || !cursor_skip(cur, ts, dump)) {
        if (o->json)
            printf("%s\n", dump);
        else
            print_short(rec, o->color);
        if (ts)
            cursor_advance(cur, ts, dump);
    }
    free(dump);
}

/* ---- the stream ---- */

static json_t *subscribe_params(const struct logs_opts *o, long backlog)
{
    json_t *p = json_pack("{s:I, s:b}", "backlog", (json_int_t)backlog, "follow", o->follow);
    if (o->level)
        json_object_set_new(p, "level", json_string(o->level));
    if (o->nevents) {
        json_t *events = json_array();
        for (int i = 0; i < o->nevents; i++)
            json_array_append_new(events, json_string(o->events[i]));
        json_object_set_new(p, "events", events);
    }
    return p;
}

static int subscribe(struct zc_client *c, const struct zc_ctx *ctx, const struct logs_opts *o,
                     long backlog, char *err, size_t errlen)
{
    int code;
    int st = zc_connect(c, ctx->sock_path, ctx->timeout_ms, err, errlen);
    if (st != ZC_OK)
        return st;
    json_t *params = subscribe_params(o, backlog), *ok = NULL;
    st = zc_call(c, RPC_LOGS_SUBSCRIBE, params, &ok, &code, err, errlen);
    json_decref(params);
    json_decref(ok);
    return st;
}

enum stream_end { STREAM_DONE, STREAM_LOST };

/* Prints records until log.end (STREAM_DONE) or the connection ends or
 * falls silent for timeout_ms (< 0: never) (STREAM_LOST, why in err). */
static int stream(struct zc_client *c, const struct logs_opts *o, struct log_cursor *cur,
                  int timeout_ms, char *err, size_t errlen)
{
    for (;;) {
        struct rpc_message m;
        int rc = zc_read_message(c, &m, timeout_ms, err, errlen);
        if (rc != ZC_READ_OK)
            return STREAM_LOST;
        int end = 0;
        if (m.type == RPC_NOTIFICATION && strcmp(m.method, RPC_NOTIFY_LOG) == 0)
            on_record(o, cur, m.params);
        else if (m.type == RPC_NOTIFICATION && strcmp(m.method, RPC_NOTIFY_LOG_END) == 0)
            end = 1;
        rpc_message_clear(&m);
        if (end)
            return STREAM_DONE;
    }
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* -f after a disconnect: retries until zend is back, then resumes at the
 * cursor. Permission problems are retried as well: the socket of a zend
 * that is starting may briefly belong to nobody we can reach. */
static void reconnect(struct zc_client *c, const struct zc_ctx *ctx, const struct logs_opts *o,
                      struct log_cursor *cur, const char *why)
{
    char err[ZEN_ERRLEN];
    zc_close(c);
    fflush(stdout);
    fprintf(stderr, "zenctl: lost zend (%s); reconnecting...\n", why);
    for (;;) {
        sleep_ms(LOGS_RECONNECT_MS);
        if (subscribe(c, ctx, o, LOGS_RESUME_BACKLOG, err, sizeof(err)) == ZC_OK)
            break;
        zc_close(c);
    }
    cur->replaying = cur->ts[0] != '\0';
    fprintf(stderr, "zenctl: reconnected to zend at %s\n", ctx->sock_path);
}

/* ---- zend not running: the log file ---- */

/* The log file zend writes: daemon.log_file of HOME/zen.json ("zend.log"
 * when unset or unreadable), relative to HOME. 0 when there is none ("")
 * or the path does not fit. */
static int log_file_path(const struct zc_ctx *ctx, char *out, size_t outlen)
{
    char home[PATH_MAX], cfg_path[PATH_MAX], err[ZEN_ERRLEN];
    if (zpaths_home(home, sizeof(home), zc_flag_value(ctx, "home"), err, sizeof(err)) != ZEN_OK ||
        zpaths_join(cfg_path, sizeof(cfg_path), home, "zen.json") != ZEN_OK)
        return 0;
    json_t *cfg = json_load_file(cfg_path, 0, NULL);
    const char *name = json_string_value(json_object_get(json_object_get(cfg, "daemon"),
                                                         "log_file"));
    int ok = !(name && !*name) &&
             zpaths_join(out, outlen, home, name ? name : "zend.log") == ZEN_OK;
    json_decref(cfg);
    return ok;
}

/* 1 if a log line is a record that passes the filters. */
static int line_matches(const char *line, const struct log_filter *filter)
{
    json_t *rec = json_loads(line, 0, NULL);
    int level = ZLOG_INFO;
    const char *lname = json_string_value(json_object_get(rec, "level"));
    if (lname)
        zlog_level_parse(lname, &level);
    int ok = json_is_object(rec) &&
             log_filter_match(filter, level, json_string_value(json_object_get(rec, "event")));
    json_decref(rec);
    return ok;
}

/* Prints the last o->lines records of f that pass the filters, oldest
 * first, through on_record. Matching lines are kept until there are twice
 * as many as wanted, then the older half goes: linear in the file. */
static void print_file_tail(FILE *f, const struct logs_opts *o, struct log_cursor *cur)
{
    struct log_filter filter = {.min_level = ZLOG_DEBUG};
    if (o->level)
        zlog_level_parse(o->level, &filter.min_level);
    json_t *events = json_array();
    for (int i = 0; i < o->nevents; i++)
        json_array_append_new(events, json_string(o->events[i]));
    filter.events = events;
    size_t want = (size_t)o->lines, n = 0, cap = 0;
    char **kept = NULL;
    char *line = NULL;
    size_t linecap = 0;
    while (want > 0 && getline(&line, &linecap, f) >= 0) {
        if (!line_matches(line, &filter))
            continue;
        if (n == 2 * want) {
            for (size_t i = 0; i < want; i++)
                free(kept[i]);
            memmove(kept, kept + want, want * sizeof(*kept));
            n = want;
        }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 64;
            char **k = realloc(kept, ncap * sizeof(*kept));
            if (!k)
                break;
            kept = k;
            cap = ncap;
        }
        kept[n] = strdup(line);
        if (kept[n])
            n++;
    }
    free(line);
    for (size_t i = 0; i < n; i++) {
        if (i + want >= n) {
            json_t *rec = json_loads(kept[i], 0, NULL);
            if (rec)
                on_record(o, cur, rec);
            json_decref(rec);
        }
        free(kept[i]);
    }
    free(kept);
    json_decref(events);
}

/* zend is not running: its log file instead. ZEN_ERR (nothing printed)
 * when there is no file to read. */
static int read_log_file(const struct zc_ctx *ctx, const struct logs_opts *o,
                         struct log_cursor *cur)
{
    char path[PATH_MAX];
    if (!log_file_path(ctx, path, sizeof(path)))
        return ZEN_ERR;
    FILE *f = fopen(path, "r");
    if (!f)
        return ZEN_ERR;
    fprintf(stderr, "zenctl: zend is not running; reading its log file %s\n", path);
    print_file_tail(f, o, cur);
    fclose(f);
    fflush(stdout);
    return ZEN_OK;
}

static int parse_opts(const struct zc_ctx *ctx, struct logs_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->lines = LOGS_DEFAULT_LINES;
    o->follow = zc_flag_value(ctx, "follow") != NULL;
    o->json = ctx->output == ZC_OUT_JSON;
    o->color = ctx->color;
    const char *v = zc_flag_value(ctx, "lines");
    if (v) {
        char *end;
        errno = 0;
        o->lines = strtol(v, &end, 10);
        if (!*v || *end || errno || o->lines < 0 || o->lines > LOGS_MAX_LINES) {
            zc_error("-n takes a number of records (0..%d), not '%s'", LOGS_MAX_LINES, v);
            return ZEN_ERR;
        }
    }
    int level;
    o->level = zc_flag_value(ctx, "level");
    if (o->level && zlog_level_parse(o->level, &level) != ZEN_OK) {
        zc_error("--level takes debug, info, warn or error, not '%s'", o->level);
        return ZEN_ERR;
    }
    o->nevents = zc_flag_values(ctx, "event", o->events, LOGS_MAX_EVENTS);
    if (o->nevents > LOGS_MAX_EVENTS) {
        zc_error("at most %d --event options", LOGS_MAX_EVENTS);
        return ZEN_ERR;
    }
    return ZEN_OK;
}

int zc_cmd_logs(struct zc_ctx *ctx)
{
    struct logs_opts o;
    if (parse_opts(ctx, &o) != ZEN_OK)
        return ZEN_EXIT_USAGE;
    struct zc_client c;
    struct log_cursor cur = {.ts = ""};
    char err[ZEN_ERRLEN];
    /* Records older than this moment were either asked for with -n or
     * deliberately not; a replay after a reconnect starts here. */
    ztime_format_rfc3339_ms(ztime_wall_ms(), cur.ts);
    if (o.follow)
        setvbuf(stdout, NULL, _IOLBF, 0); /* each record as it comes, even into a pipe */
    int st = subscribe(&c, ctx, &o, o.lines, err, sizeof(err));
    if (st == ZC_UNREACHABLE && read_log_file(ctx, &o, &cur) == ZEN_OK) {
        if (!o.follow) {
            zc_close(&c);
            cursor_free(&cur);
            return ZEN_EXIT_OK;
        }
        reconnect(&c, ctx, &o, &cur, err);
        st = ZC_OK;
    }
    if (st != ZC_OK) {
        zc_close(&c);
        cursor_free(&cur);
        return zc_fail(st, err);
    }
    int rc = ZEN_EXIT_OK;
    for (;;) {
        /* Following, silence is normal; otherwise the backlog is due now. */
        int timeout_ms = o.follow ? -1 : ctx->timeout_ms;
        if (stream(&c, &o, &cur, timeout_ms, err, sizeof(err)) == STREAM_DONE)
            break;
        if (!o.follow) {
            zc_error("zend went away before the end of the log (%s)", err);
            rc = ZEN_EXIT_NOT_RUNNING;
            break;
        }
        reconnect(&c, ctx, &o, &cur, err);
    }
    zc_close(&c);
    cursor_free(&cur);
    return rc;
}
