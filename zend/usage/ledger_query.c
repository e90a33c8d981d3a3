/* ledger_query.c -- usage.query over the ledger (ledger_query.h).
 *
 * One pass over the matching rows, ordered by the group's key and then the
 * TTFB, so each group's sums and its exact median come out of the same scan
 * with no second query: the medians are computed here, not approximated by
 * SQL. */
#include "ledger_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sums {
    char *key;          /* NULL: rows without one */
    int64_t requests, failed, input, output, cache_read, cache_write, cost_unknown;
    double cost;
    double *ttfb;       /* ascending */
    size_t n_ttfb, cap_ttfb;
};

static int push_ttfb(struct sums *s, double v)
{
    if (s->n_ttfb == s->cap_ttfb) {
        size_t cap = s->cap_ttfb ? s->cap_ttfb * 2 : 16;
        double *p = realloc(s->ttfb, cap * sizeof(*p));
        if (!p)
            return -1;
        s->ttfb = p;
        s->cap_ttfb = cap;
    }
    s->ttfb[s->n_ttfb++] = v;
    return 0;
}

/* Column i of st added to *sum when it is not NULL. */
static void add_count(sqlite3_stmt *st, int i, int64_t *sum)
{
    if (sqlite3_column_type(st, i) != SQLITE_NULL)
        *sum += sqlite3_column_int64(st, i);
}

/* Adds the row (columns 1..8 of the scan) to s; ttfb too when add_ttfb. */
static int add_row(struct sums *s, sqlite3_stmt *st, int add_ttfb)
{
    int status = sqlite3_column_int(st, 1), complete = sqlite3_column_int(st, 2);
    s->requests++;
    s->failed += status == 0 || status >= 400 || !complete;
    add_count(st, 3, &s->input);
    add_count(st, 4, &s->output);
    add_count(st, 5, &s->cache_read);
    add_count(st, 6, &s->cache_write);
    if (sqlite3_column_type(st, 7) == SQLITE_NULL)
        s->cost_unknown++;
    else
        s->cost += sqlite3_column_double(st, 7);
    if (add_ttfb && sqlite3_column_type(st, 8) != SQLITE_NULL)
        return push_ttfb(s, sqlite3_column_double(st, 8));
    return 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static json_t *median_json(const struct sums *s)
{
    if (!s->n_ttfb)
        return json_null();
    size_t m = s->n_ttfb / 2;
    return json_real(s->n_ttfb % 2 ? s->ttfb[m] : (s->ttfb[m - 1] + s->ttfb[m]) / 2.0);
}

static json_t *sums_json(const struct sums *s, int with_key)
{
    json_t *o = json_pack(
        "{s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:I, s:o}", "requests", (json_int_t)s->requests,
        "failed", (json_int_t)s->failed, "input_tokens", (json_int_t)s->input, "output_tokens",
        (json_int_t)s->output, "cache_read_tokens", (json_int_t)s->cache_read,
        "cache_write_tokens", (json_int_t)s->cache_write, "cost_usd",
        s->cost_unknown == s->requests ? json_null() : json_real(s->cost), "cost_unknown",
        (json_int_t)s->cost_unknown, "ttfb_p50_ms", median_json(s));
    if (o && with_key)
        json_object_set_new(o, "key", s->key ? json_string(s->key) : json_null());
    return o;
}

static int group_has_cost(const struct sums *s) { return s->cost_unknown < s->requests; }

/* Cost descending (groups of unknown cost last), then key (no key last). */
static int cmp_by_cost(const void *a, const void *b)
{
    const struct sums *x = a, *y = b;
    if (group_has_cost(x) != group_has_cost(y))
        return group_has_cost(x) ? -1 : 1;
    if (x->cost != y->cost)
        return x->cost > y->cost ? -1 : 1;
    if (!x->key || !y->key)
        return !x->key - !y->key;
    return strcmp(x->key, y->key);
}

static int same_key(const char *a, const unsigned char *b)
{
    return (!a && !b) || (a && b && strcmp(a, (const char *)b) == 0);
}

/* The scan: key, status, complete, 4 token counts, cost, ttfb. */
static sqlite3_stmt *prepare_scan(sqlite3 *db, const struct ledger_scan *q)
{
    char sql[1024];
    int n = snprintf(sql, sizeof(sql),
                     "SELECT %s AS k, status, complete, input_tokens, output_tokens,"
                     " cache_read_tokens, cache_write_tokens, cost_usd, ttfb_ms"
                     " FROM usage WHERE 1",
                     q->key_sql);
    if (q->since_ms)
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND ts >= :since");
    if (q->until_ms)
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND ts < :until");
    if (q->profile)
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND profile = :profile");
    if (q->provider)
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, " AND provider = :provider");
    snprintf(sql + n, sizeof(sql) - (size_t)n, " ORDER BY k, ttfb_ms");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"), q->since_ms);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"), q->until_ms);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":profile"), q->profile, -1,
                      SQLITE_STATIC);
    sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":provider"), q->provider, -1,
                      SQLITE_STATIC);
    return st;
}

static void free_groups(struct sums *g, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(g[i].key);
        free(g[i].ttfb);
    }
    free(g);
}

json_t *ledger_run_query(sqlite3 *db, const struct ledger_scan *q, char *err, size_t errlen)
{
    sqlite3_stmt *st = prepare_scan(db, q);
    if (!st) {
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
        return NULL;
    }
    struct sums *groups = NULL, total = {0};
    size_t n = 0, cap = 0;
    int rc, oom = 0;
    while (!oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *key = sqlite3_column_text(st, 0);
        if (!n || !same_key(groups[n - 1].key, key)) {
            if (n == cap) {
                size_t ncap = cap ? cap * 2 : 16;
                struct sums *p = realloc(groups, ncap * sizeof(*p));
                if (!p) {
                    oom = 1;
                    break;
                }
                groups = p;
                cap = ncap;
            }
            groups[n] = (struct sums){0};
            if (key && !(groups[n].key = strdup((const char *)key))) {
                oom = 1;
                break;
            }
            n++;
        }
        oom = add_row(&groups[n - 1], st, 1) != 0 || add_row(&total, st, 1) != 0;
    }
    json_t *result = NULL;
    if (oom || rc != SQLITE_DONE) {
        snprintf(err, errlen, "%s", oom ? "out of memory" : sqlite3_errmsg(db));
        goto out;
    }
    if (total.n_ttfb) /* qsort's pointer must not be NULL, even for 0 items */
        qsort(total.ttfb, total.n_ttfb, sizeof(double), cmp_double);
    if (!q->time_ordered && n)
        qsort(groups, n, sizeof(*groups), cmp_by_cost);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, sums_json(&groups[i], 1));
    result = json_pack("{s:s, s:o, s:o, s:o, s:o}", "by", q->by, "since_ms",
                       q->since_ms ? json_integer(q->since_ms) : json_null(), "until_ms",
                       q->until_ms ? json_integer(q->until_ms) : json_null(), "groups", list,
                       "total", sums_json(&total, 0));
    if (!result)
        snprintf(err, errlen, "out of memory");
out:
    sqlite3_finalize(st);
    free_groups(groups, n);
    free(total.ttfb);
    return result;
}
