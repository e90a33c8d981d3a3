/* budget.c -- the budget tracker and its checks (budget.h).
 *
 * The tracker holds one entry for the global sums and one per profile seen
 * (so per_project can be switched on by a reload without losing the
 * period's spend). Each entry has a slot per period: the spend, the period
 * it belongs to, and which records were already logged in it. A slot moves
 * to a new period on its own the first time it is touched after its period
 * ended; the bounds are cached, so a touch inside the period is two
 * comparisons and the time zone is consulted once per period. */
#include "budget.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

/* Profiles come from the config, so a handful; the cap only guards against
 * a caller passing unbounded names. Past it a profile's spend still counts
 * globally, but has no per-profile sum (its per_project checks pass). */
#define BUDGET_MAX_ENTRIES 1024

#define LOGGED_WARNING 1u
#define LOGGED_EXCEEDED 2u

struct budget_slot {
    double spend;
    int64_t start, next; /* the period the spend belongs to; start 0 = none yet */
    unsigned logged;     /* LOGGED_* records already written in this period */
};

struct budget_entry {
    char *profile; /* NULL for the global entry; "" for requests without one */
    struct budget_slot slot[BUDGET_N_PERIODS];
};

struct budget_tracker {
    struct budget_entry *entries; /* entries[0] is the global one */
    size_t n, cap;
};

static const char *const period_names[BUDGET_N_PERIODS] = {"daily", "weekly", "monthly"};

const char *budget_period_name(enum budget_period p)
{
    return (unsigned)p < BUDGET_N_PERIODS ? period_names[p] : "daily";
}

/* ---- periods ---- */

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* The local midnight of now_ms's day, moved by `days` days (and `months`
 * months, with the day set to 1 when months is used). mktime with tm_isdst
 * -1 sorts out DST, so a day is 23 or 25 hours where the zone says so. */
static int64_t local_midnight(int64_t now_ms, int days, int months, int first_of_month)
{
    time_t t = (time_t)floor_div(now_ms, 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    if (first_of_month)
        tm.tm_mday = 1;
    tm.tm_mday += days;
    tm.tm_mon += months;
    return (int64_t)mktime(&tm) * 1000;
}

/* Days since Monday of now_ms's local date. */
static int days_since_monday(int64_t now_ms)
{
    time_t t = (time_t)floor_div(now_ms, 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    return (tm.tm_wday + 6) % 7;
}

int64_t budget_period_start(enum budget_period p, int64_t now_ms)
{
    switch (p) {
    case BUDGET_WEEK:
        return local_midnight(now_ms, -days_since_monday(now_ms), 0, 0);
    case BUDGET_MONTH:
        return local_midnight(now_ms, 0, 0, 1);
    default:
        return local_midnight(now_ms, 0, 0, 0);
    }
}

int64_t budget_period_next(enum budget_period p, int64_t now_ms)
{
    switch (p) {
    case BUDGET_WEEK:
        return local_midnight(now_ms, 7 - days_since_monday(now_ms), 0, 0);
    case BUDGET_MONTH:
        return local_midnight(now_ms, 0, 1, 1);
    default:
        return local_midnight(now_ms, 1, 0, 0);
    }
}

/* Brings a slot to the period holding now_ms: a new period starts from zero
 * with nothing logged. */
static void slot_roll(struct budget_slot *s, enum budget_period p, int64_t now_ms)
{
    if (s->start && now_ms >= s->start && now_ms < s->next)
        return;
    int64_t start = budget_period_start(p, now_ms);
    if (start != s->start) {
        s->spend = 0;
        s->logged = 0;
    }
    s->start = start;
    s->next = budget_period_next(p, now_ms);
}

/* ---- the tracker ---- */

struct budget_tracker *budget_new(void)
{
    struct budget_tracker *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cap = 8;
    b->entries = calloc(b->cap, sizeof(*b->entries));
    if (!b->entries) {
        free(b);
        return NULL;
    }
    b->n = 1; /* the global entry */
    return b;
}

void budget_free(struct budget_tracker *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free(b->entries[i].profile);
    free(b->entries);
    free(b);
}

/* The entry of a profile (NULL = "" = no profile), or NULL when it has none
 * and create is 0 or the tracker is full. */
static struct budget_entry *entry_of(struct budget_tracker *b, const char *profile, int create)
{
    const char *key = profile ? profile : "";
    for (size_t i = 1; i < b->n; i++)
        if (strcmp(b->entries[i].profile, key) == 0)
            return &b->entries[i];
    if (!create || b->n >= BUDGET_MAX_ENTRIES)
        return NULL;
    if (b->n == b->cap) {
        size_t cap = b->cap * 2;
        struct budget_entry *grown = realloc(b->entries, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        b->entries = grown;
        b->cap = cap;
    }
    char *copy = strdup(key);
    if (!copy)
        return NULL;
    struct budget_entry *e = &b->entries[b->n++];
    memset(e, 0, sizeof(*e));
    e->profile = copy;
    return e;
}

static void base_slot(struct budget_slot *s, enum budget_period p, int64_t since_ms, double cost)
{
    int64_t start = budget_period_start(p, since_ms);
    if (s->start > start)
        return; /* the slot already holds a later period: this base is stale */
    if (s->start < start) {
        s->start = start;
        s->next = budget_period_next(p, since_ms);
        s->spend = 0;
        s->logged = 0;
    }
    s->spend += cost;
}

void budget_set_base(struct budget_tracker *b, const int64_t since_ms[BUDGET_N_PERIODS],
                     const char *profile, const double cost_usd[BUDGET_N_PERIODS])
{
    struct budget_entry *own = entry_of(b, profile, 1);
    for (int p = 0; p < BUDGET_N_PERIODS; p++) {
        if (!isfinite(cost_usd[p]) || cost_usd[p] < 0)
            continue;
        base_slot(&b->entries[0].slot[p], (enum budget_period)p, since_ms[p], cost_usd[p]);
        if (own)
            base_slot(&own->slot[p], (enum budget_period)p, since_ms[p], cost_usd[p]);
    }
}

void budget_add(struct budget_tracker *b, const char *profile, double cost_usd, int64_t now_ms)
{
    if (!isfinite(cost_usd) || cost_usd < 0)
        return;
    struct budget_entry *own = entry_of(b, profile, 1);
    for (int p = 0; p < BUDGET_N_PERIODS; p++) {
        struct budget_slot *g = &b->entries[0].slot[p];
        slot_roll(g, (enum budget_period)p, now_ms);
        g->spend += cost_usd;
        if (own) {
            slot_roll(&own->slot[p], (enum budget_period)p, now_ms);
            own->slot[p].spend += cost_usd;
        }
    }
}

/* ---- time in messages ---- */

/* "2026-12-03T00:00:00-05:00" (iso) or "2026-12-03 00:00", local time. */
static void format_local(int64_t ms, int iso, char *out, size_t outlen)
{
    time_t t = (time_t)floor_div(ms, 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    if (!iso) {
        strftime(out, outlen, "%Y-%m-%d %H:%M", &tm);
        return;
    }
    long off = tm.tm_gmtoff / 60;
    char sign = off < 0 ? '-' : '+';
    off = off < 0 ? -off : off;
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, outlen, "%s%c%02ld:%02ld", date, sign, off / 60, off % 60);
}

/* "2d 3h", "5h 12m", "7m", "42s": how long until a reset. */
static void format_wait(int64_t ms, char *out, size_t outlen)
{
    int64_t s = ms > 0 ? (ms + 999) / 1000 : 0;
    if (s >= 86400)
        snprintf(out, outlen, "%lldd %lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
    else if (s >= 3600)
        snprintf(out, outlen, "%lldh %lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(out, outlen, "%lldm", (long long)(s / 60));
    else
        snprintf(out, outlen, "%llds", (long long)s);
}

/* ---- checks ---- */

/* The fields of budget_warning and budget_exceeded. */
static json_t *threshold_fields(enum budget_period p, const char *profile,
                                const struct zcfg_budget *limit, const struct budget_slot *s)
{
    char resets[64];
    format_local(s->next, 1, resets, sizeof(resets));
    json_t *f = json_pack("{s:s}", "period", budget_period_name(p));
    if (profile)
        json_object_set_new(f, "profile", json_string(profile));
    json_object_set_new(f, "amount", json_real(limit->amount));
    json_object_set_new(f, "spend", json_real(s->spend));
    json_object_set_new(f, "action", json_string(zcfg_budget_action_name(limit->action)));
    json_object_set_new(f, "resets_at", json_string(resets));
    return f;
}

static enum budget_action_taken taken_for(int action)
{
    switch (action) {
    case ZCFG_BUDGET_BLOCK:
        return BUDGET_BLOCK;
    case ZCFG_BUDGET_DOWNGRADE:
        return BUDGET_DOWNGRADE;
    default:
        return BUDGET_SERVE;
    }
}

void budget_check(struct budget_tracker *b, const struct zcfg *cfg, const char *profile,
                  int64_t now_ms, struct budget_verdict *out)
{
    memset(out, 0, sizeof(*out));
    out->action = BUDGET_SERVE;
    const struct zcfg_budgets *bs = &cfg->budgets;
    struct budget_entry *e = bs->per_project ? entry_of(b, profile, 1) : &b->entries[0];
    if (!e)
        return;
    const char *who = bs->per_project ? e->profile : NULL;
    for (int i = 0; i < BUDGET_N_PERIODS; i++) {
        const struct zcfg_budget *limit = &bs->period[i];
        if (!limit->set)
            continue;
        enum budget_period p = (enum budget_period)i;
        struct budget_slot *s = &e->slot[i];
        slot_roll(s, p, now_ms);
        if (s->spend >= limit->amount) {
            if (!(s->logged & LOGGED_EXCEEDED) && zlog_enabled(ZLOG_WARN))
                zlog_emit(ZLOG_WARN, "budget_exceeded", threshold_fields(p, who, limit, s));
            s->logged |= LOGGED_EXCEEDED | LOGGED_WARNING;
            enum budget_action_taken a = taken_for(limit->action);
            /* The strongest action wins; between equals, the limit that
             * holds longest (a block lasts until its last period resets). */
            int longer = a == out->action && s->next > out->reset_ms;
            if (a > out->action || (a != BUDGET_SERVE && longer)) {
                out->action = a;
                out->period = p;
                out->spend = s->spend;
                out->amount = limit->amount;
                out->reset_ms = s->next;
            }
        } else if (s->spend >= limit->amount * BUDGET_WARN_RATIO &&
                   !(s->logged & LOGGED_WARNING)) {
            if (zlog_enabled(ZLOG_INFO))
                zlog_emit(ZLOG_INFO, "budget_warning", threshold_fields(p, who, limit, s));
            s->logged |= LOGGED_WARNING;
        }
    }
}

const char *budget_downgrade_model(const struct zcfg_provider *p, const char *model)
{
    if (!model || strcasestr(model, "haiku"))
        return NULL;
    if (strcasestr(model, "opus"))
        return p && p->sonnet_model && *p->sonnet_model ? p->sonnet_model : "claude-sonnet-4-5";
    if (strcasestr(model, "sonnet"))
        return p && p->haiku_model && *p->haiku_model ? p->haiku_model : "claude-haiku-4-5";
    return NULL;
}

void budget_message(const struct budget_verdict *v, int64_t now_ms, char *out, size_t outlen)
{
    char at[64], wait[32];
    format_local(v->reset_ms, 0, at, sizeof(at));
    format_wait(v->reset_ms - now_ms, wait, sizeof(wait));
    snprintf(out, outlen, "%s budget of $%.2f exceeded: $%.2f spent; resets at %s (in %s)",
             budget_period_name(v->period), v->amount, v->spend, at, wait);
}

/* ---- reports ---- */

/* One configured limit as it stands: its profile (NULL when global). */
struct limit_view {
    enum budget_period period;
    const char *profile;
    const struct zcfg_budget *limit;
    double spend;
    int64_t reset_ms;
};
typedef void (*limit_fn)(void *ctx, const struct limit_view *v);

static void view_entry(struct budget_tracker *b, const struct zcfg *cfg, const char *profile,
                       int64_t now_ms, limit_fn fn, void *ctx)
{
    struct budget_entry *e = profile ? entry_of(b, profile, 0) : &b->entries[0];
    for (int i = 0; i < BUDGET_N_PERIODS; i++) {
        const struct zcfg_budget *limit = &cfg->budgets.period[i];
        if (!limit->set)
            continue;
        enum budget_period p = (enum budget_period)i;
        struct limit_view v = {p, profile, limit, 0, budget_period_next(p, now_ms)};
        if (e) {
            slot_roll(&e->slot[i], p, now_ms);
            v.spend = e->slot[i].spend;
            v.reset_ms = e->slot[i].next;
        }
        fn(ctx, &v);
    }
}

/* Every configured limit: the global ones, or per profile of cfg. */
static void each_limit(struct budget_tracker *b, const struct zcfg *cfg, int64_t now_ms,
                       limit_fn fn, void *ctx)
{
    if (!cfg->budgets.per_project) {
        view_entry(b, cfg, NULL, now_ms, fn, ctx);
        return;
    }
    for (size_t i = 0; i < cfg->n_profiles; i++)
        view_entry(b, cfg, cfg->profiles[i].name, now_ms, fn, ctx);
}

static void report_one(void *ctx, const struct limit_view *v)
{
    double amount = v->limit->amount;
    const char *state = v->spend >= amount                       ? "exceeded"
                        : v->spend >= amount * BUDGET_WARN_RATIO ? "warning"
                                                                 : "ok";
    json_array_append_new(
        (json_t *)ctx,
        json_pack("{s:s, s:o, s:f, s:f, s:f, s:s, s:s, s:I}", "period",
                  budget_period_name(v->period), "profile",
                  v->profile ? json_string(v->profile) : json_null(), "amount", amount, "spend",
                  v->spend, "percent", v->spend / amount * 100.0, "action",
                  zcfg_budget_action_name(v->limit->action), "state", state, "resets_at_ms",
                  (json_int_t)v->reset_ms));
}

json_t *budget_report(struct budget_tracker *b, const struct zcfg *cfg, int64_t now_ms)
{
    json_t *out = json_array();
    each_limit(b, cfg, now_ms, report_one, out);
    return out;
}

void budget_spend_now(struct budget_tracker *b, int64_t now_ms, double out[BUDGET_N_PERIODS])
{
    for (int i = 0; i < BUDGET_N_PERIODS; i++) {
        struct budget_slot *s = &b->entries[0].slot[i];
        slot_roll(s, (enum budget_period)i, now_ms);
        out[i] = s->spend;
    }
}

static void health_one(void *ctx, const struct limit_view *v)
{
    if (v->spend < v->limit->amount)
        return;
    char line[256], who[160] = "";
    if (v->profile)
        snprintf(who, sizeof(who), " for profile %s", v->profile);
    snprintf(line, sizeof(line), "budget: %s spend $%.2f of $%.2f%s (%s)",
             budget_period_name(v->period), v->spend, v->limit->amount, who,
             zcfg_budget_action_name(v->limit->action));
    json_array_append_new((json_t *)ctx, json_string(line));
}

void budget_health_reasons(struct budget_tracker *b, const struct zcfg *cfg, int64_t now_ms,
                           json_t *reasons)
{
    each_limit(b, cfg, now_ms, health_one, reasons);
}
