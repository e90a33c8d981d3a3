/* usage_view.c -- tables, CSV and JSON rows of `zenctl usage`, and the
 * --since/--until parser. */
#include "usage_view.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "view.h"

const char *const zu_by_names[] = {"day",     "hour",    "provider", "model",
                                   "profile", "session", "scenario", NULL};

int zu_by_valid(const char *by)
{
    for (const char *const *n = zu_by_names; *n; n++)
        if (strcmp(*n, by) == 0)
            return 1;
    return 0;
}

/* ---- --since / --until ---- */

#define MS_PER_S 1000LL
/* A duration past a century is a typo, and keeps the product in range. */
#define MAX_AGO_S (100LL * 366 * 86400)

/* "30m", "24h", "7d": digits then one unit letter. */
static int parse_ago(const char *v, int64_t now_ms, int64_t *out_ms)
{
    static const struct {
        char unit;
        long long secs;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    size_t len = strlen(v);
    if (len < 2 || !isdigit((unsigned char)v[0]))
        return ZEN_ERR;
    for (size_t i = 0; i + 1 < len; i++)
        if (!isdigit((unsigned char)v[i]))
            return ZEN_ERR;
    errno = 0;
    long long n = strtoll(v, NULL, 10);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(units); i++) {
        if (units[i].unit != v[len - 1])
            continue;
        if (errno || n > MAX_AGO_S / units[i].secs)
            return ZEN_ERR;
        *out_ms = now_ms - (int64_t)(n * units[i].secs * MS_PER_S);
        return ZEN_OK;
    }
    return ZEN_ERR;
}

/* Reads exactly `digits` digits at *p into *out and moves past them. */
static int take_digits(const char **p, int digits, int *out)
{
    int v = 0;
    for (int i = 0; i < digits; i++, (*p)++) {
        if (!isdigit((unsigned char)**p))
            return ZEN_ERR;
        v = v * 10 + (**p - '0');
    }
    *out = v;
    return ZEN_OK;
}

static int take_char(const char **p, const char *allowed)
{
    if (!**p || !strchr(allowed, **p))
        return ZEN_ERR;
    (*p)++;
    return ZEN_OK;
}

/* YYYY-MM-DD[(T| )HH:MM[:SS]] in local time. */
static int parse_local(const char *v, int64_t *out_ms)
{
    int y, mo, d, h = 0, mi = 0, s = 0;
    const char *p = v;
    if (take_digits(&p, 4, &y) || take_char(&p, "-") || take_digits(&p, 2, &mo) ||
        take_char(&p, "-") || take_digits(&p, 2, &d))
        return ZEN_ERR;
    int has_time = *p != '\0';
    if (has_time) {
        if (take_char(&p, "T ") || take_digits(&p, 2, &h) || take_char(&p, ":") ||
            take_digits(&p, 2, &mi))
            return ZEN_ERR;
        if (*p && (take_char(&p, ":") || take_digits(&p, 2, &s)))
            return ZEN_ERR;
        if (*p)
            return ZEN_ERR;
    }
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h,
                    .tm_min = mi, .tm_sec = s, .tm_isdst = -1};
    time_t t = mktime(&tm);
    /* mktime normalises 2026-02-30 to March 2nd, and a time a DST change
     * skips to an hour later: both are refused. A midnight that does not
     * exist (some zones change at 00:00) is the day's first instant. */
    if (t == (time_t)-1 || tm.tm_year != y - 1900 || tm.tm_mon != mo - 1 || tm.tm_mday != d ||
        (has_time && (tm.tm_hour != h || tm.tm_min != mi || tm.tm_sec != s)))
        return ZEN_ERR;
    *out_ms = (int64_t)t * MS_PER_S;
    return ZEN_OK;
}

int zu_parse_when(const char *v, int64_t now_ms, int64_t *out_ms)
{
    if (!v)
        return ZEN_ERR;
    return parse_ago(v, now_ms, out_ms) == ZEN_OK ? ZEN_OK : parse_local(v, out_ms);
}

/* ---- numbers ---- */

void zu_format_count(long long n, char *out, size_t outlen)
{
    char digits[32];
    unsigned long long u = n < 0 ? 0ULL - (unsigned long long)n : (unsigned long long)n;
    int len = snprintf(digits, sizeof(digits), "%llu", u);
    char buf[48];
    size_t o = 0;
    if (n < 0)
        buf[o++] = '-';
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    snprintf(out, outlen, "%s", buf);
}

#define CENT 0.01
#define MAX_SUBCENT_DECIMALS 6
#define MAX_USD 1e15

void zu_format_usd(double usd, char *out, size_t outlen)
{
    if (usd < 0) { /* a refund, say: never from zend today, but not garbled */
        char pos[64];
        zu_format_usd(-usd, pos, sizeof(pos));
        snprintf(out, outlen, "-%s", pos);
        return;
    }
    if (!(usd < MAX_USD)) { /* NaN, or past what cents in a long long hold */
        snprintf(out, outlen, "$%.6g", usd);
        return;
    }
    if (usd > 0 && usd < CENT) {
        int decimals = 2;
        double scaled = usd * 100;
        while (scaled < 10 && decimals < MAX_SUBCENT_DECIMALS) {
            scaled *= 10;
            decimals++;
        }
        snprintf(out, outlen, "$%.*f", decimals, usd);
        return;
    }
    long long cents = (long long)(usd * 100 + 0.5);
    char whole[48];
    zu_format_count(cents / 100, whole, sizeof(whole));
    snprintf(out, outlen, "$%s.%02lld", whole, cents % 100);
}

void zu_format_cost(const json_t *group, char *out, size_t outlen)
{
    const json_t *cost = json_object_get(group, "cost_usd");
    if (!json_is_number(cost)) {
        snprintf(out, outlen, "?");
        return;
    }
    char usd[64];
    zu_format_usd(json_number_value(cost), usd, sizeof(usd));
    snprintf(out, outlen, "%s%s", usd, zv_int(group, "cost_unknown") > 0 ? " + ?" : "");
}

/* ---- usage.query ---- */

/* The group's name as a table draws it: null is "(none)" (no provider
 * served, no session id, ...). */
static const char *key_text(const json_t *group)
{
    return zv_str(group, "key", "(none)");
}

static void count_cell(struct zv_table *t, const json_t *obj, const char *key)
{
    const json_t *v = json_object_get(obj, key);
    char text[48];
    if (json_is_number(v))
        zu_format_count(zv_int(obj, key), text, sizeof(text));
    else
        snprintf(text, sizeof(text), "-");
    zv_table_cell(t, NULL, "%s", text);
}

/* One row: the name cell, then the figures. */
static void figure_cells(struct zv_table *t, const json_t *g)
{
    char cost[80], ttfb[32];
    count_cell(t, g, "requests");
    count_cell(t, g, "failed");
    count_cell(t, g, "input_tokens");
    count_cell(t, g, "output_tokens");
    count_cell(t, g, "cache_read_tokens");
    zu_format_cost(g, cost, sizeof(cost));
    zv_table_cell(t, NULL, "%s", cost);
    const json_t *p50 = json_object_get(g, "ttfb_p50_ms");
    if (json_is_number(p50))
        zv_ms(json_number_value(p50), ttfb, sizeof(ttfb));
    else
        snprintf(ttfb, sizeof(ttfb), "-");
    zv_table_cell(t, NULL, "%s", ttfb);
}

static const char *result_by(const json_t *result, const char *by)
{
    return zv_str(result, "by", by ? by : "day");
}

void zu_write_table(FILE *out, const json_t *result, const char *by, int color)
{
    static const char *const head[] = {"REQUESTS", "FAILED", "INPUT", "OUTPUT",
                                       "CACHE READ", "COST", "TTFB P50"};
    struct zv_table t;
    /* Every column but the first holds a number: right-aligned. */
    zv_table_init(&t, 1 + (int)ZEN_ARRAY_LEN(head), ~1u);
    char name[32];
    snprintf(name, sizeof(name), "%s", result_by(result, by));
    for (char *c = name; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    zv_table_cell(&t, NULL, "%s", name);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(head); i++)
        zv_table_cell(&t, NULL, "%s", head[i]);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(result, "groups"), i, g) {
        zv_table_cell(&t, NULL, "%s", key_text(g));
        figure_cells(&t, g);
    }
    zv_table_cell(&t, ZV_BOLD, "total");
    figure_cells(&t, json_object_get(result, "total"));
    zv_table_print(&t, out, color);
    zv_table_free(&t);
}

/* The fields of a group, in the order CSV writes them (after the key). */
static const char *const group_fields[] = {
    "requests",           "failed",   "input_tokens", "output_tokens", "cache_read_tokens",
    "cache_write_tokens", "cost_usd", "cost_unknown", "ttfb_p50_ms"};

/* RFC 4180: a field holding a comma, a quote or a line break is quoted,
 * its quotes doubled. The text is the table's (zv_escape), so CSV never
 * carries a raw control byte to a terminal either. */
static void put_csv_text(FILE *out, const char *s)
{
    char *safe = zv_escape(s);
    const char *text = safe ? safe : "";
    if (!strpbrk(text, ",\"\r\n")) {
        fputs(text, out);
    } else {
        fputc('"', out);
        for (const char *c = text; *c; c++) {
            if (*c == '"')
                fputc('"', out);
            fputc(*c, out);
        }
        fputc('"', out);
    }
    free(safe);
}

static void put_csv_number(FILE *out, const json_t *v)
{
    if (json_is_integer(v))
        fprintf(out, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        fprintf(out, "%.10g", json_real_value(v));
    /* null or missing: an empty field */
}

void zu_write_csv(FILE *out, const json_t *result, const char *by)
{
    fputs(result_by(result, by), out);
    for (size_t f = 0; f < ZEN_ARRAY_LEN(group_fields); f++)
        fprintf(out, ",%s", group_fields[f]);
    fputc('\n', out);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(result, "groups"), i, g) {
        const char *key = json_string_value(json_object_get(g, "key"));
        if (key)
            put_csv_text(out, key);
        for (size_t f = 0; f < ZEN_ARRAY_LEN(group_fields); f++) {
            fputc(',', out);
            put_csv_number(out, json_object_get(g, group_fields[f]));
        }
        fputc('\n', out);
    }
}

json_t *zu_rows_json(const json_t *result, const char *by)
{
    const char *name = result_by(result, by);
    json_t *rows = json_array();
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(result, "groups"), i, g) {
        json_t *row = json_object();
        json_t *key = json_object_get(g, "key");
        int bad = !row || json_object_set_new(row, name, key ? json_incref(key) : json_null());
        const char *field;
        json_t *v;
        json_object_foreach(g, field, v)
            if (!bad && strcmp(field, "key") != 0 && strcmp(field, name) != 0)
                bad = json_object_set(row, field, v) != 0;
        if (bad || !rows || json_array_append_new(rows, row) != 0) {
            if (bad)
                json_decref(row);
            json_decref(rows);
            return NULL;
        }
    }
    return rows;
}

/* ---- usage.budget ---- */

/* "in 5h 12m", "in 2d 3h", "in 42s", "now". */
static void format_in(int64_t ms, char *out, size_t outlen)
{
    char span[24];
    if (ms < MS_PER_S) {
        snprintf(out, outlen, "now");
        return;
    }
    zv_duration((double)(ms / MS_PER_S), span, sizeof(span));
    snprintf(out, outlen, "in %s", span);
}

static const char *state_color(const char *state)
{
    return strcmp(state, "exceeded") == 0  ? ZV_RED
           : strcmp(state, "warning") == 0 ? ZV_YELLOW
           : strcmp(state, "ok") == 0      ? ZV_GREEN
                                           : NULL;
}

void zu_write_budget(FILE *out, const json_t *result, int64_t now_ms, int color)
{
    const json_t *limits = json_object_get(result, "limits");
    if (json_array_size(limits) == 0) {
        fprintf(out, "no budgets configured (the \"budgets\" key of zen.json)\n");
        return;
    }
    int per_project = json_is_true(json_object_get(result, "per_project"));
    static const char *const head[] = {"PERIOD", "PROFILE", "SPEND", "AMOUNT",
                                       "PERCENT", "ACTION", "STATE", "RESETS"};
    /* Without per_project there is no PROFILE column: the bits of SPEND,
     * AMOUNT and PERCENT move one to the left. */
    struct zv_table t;
    zv_table_init(&t, per_project ? 8 : 7, per_project ? 0x1Cu : 0x0Eu);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(head); i++)
        if (per_project || i != 1)
            zv_table_cell(&t, NULL, "%s", head[i]);
    size_t i;
    json_t *l;
    json_array_foreach(limits, i, l) {
        char spend[64], amount[64], when[32] = "?", in[32];
        zu_format_usd(zv_num(l, "spend"), spend, sizeof(spend));
        zu_format_usd(zv_num(l, "amount"), amount, sizeof(amount));
        int64_t resets = zv_int(l, "resets_at_ms");
        time_t secs = (time_t)(resets / MS_PER_S);
        struct tm tm;
        if (localtime_r(&secs, &tm))
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
        format_in(resets - now_ms, in, sizeof(in));
        const char *state = zv_str(l, "state", "?");
        zv_table_cell(&t, NULL, "%s", zv_str(l, "period", "?"));
        if (per_project)
            zv_table_cell(&t, NULL, "%s", zv_str(l, "profile", "(all)"));
        zv_table_cell(&t, NULL, "%s", spend);
        zv_table_cell(&t, NULL, "%s", amount);
        zv_table_cell(&t, NULL, "%lld%%", (long long)zv_num(l, "percent"));
        zv_table_cell(&t, NULL, "%s", zv_str(l, "action", "?"));
        zv_table_cell(&t, state_color(state), "%s", state);
        zv_table_cell(&t, NULL, "%s (%s)", when, in);
    }
    zv_table_print(&t, out, color);
    zv_table_free(&t);
}
