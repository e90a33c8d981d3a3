/* Unit tests for zend/usage/budget.c: calendar periods in a fixed time zone
 * (days of 23 and 25 hours, ISO weeks, month ends), the tracker's sums and
 * bases, every action and which one wins, the records logged once per
 * period and limit, the 429 message, the report, health reasons and the
 * downgrade models. */
#include "budget.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "log.h"
#include "testutil.h"

#define HOUR_MS (3600LL * 1000)
#define DAY_MS (24 * HOUR_MS)

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* Local wall time -> epoch ms in the current TZ. */
static int64_t local_ms(int y, int mon, int d, int h, int mi)
{
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm) * 1000;
}

/* ---- captured records ---- */

#define MAX_RECORDS 32
static struct {
    int n;
    int level[MAX_RECORDS];
    json_t *rec[MAX_RECORDS];
} logged;

static void capture(void *ctx, int level, const char *event, const char *line, size_t len)
{
    (void)ctx;
    if (strncmp(event, "budget_", 7) != 0 || logged.n >= MAX_RECORDS)
        return;
    logged.level[logged.n] = level;
    logged.rec[logged.n++] = json_loadb(line, len, 0, NULL);
}

static void records_clear(void)
{
    for (int i = 0; i < logged.n; i++)
        json_decref(logged.rec[i]);
    logged.n = 0;
}

/* How many records of `event` since the last clear. */
static int count_event(const char *event)
{
    int n = 0;
    for (int i = 0; i < logged.n; i++)
        if (strcmp(json_string_value(json_object_get(logged.rec[i], "event")), event) == 0)
            n++;
    return n;
}

static const char *rec_str(int i, const char *key)
{
    return json_string_value(json_object_get(logged.rec[i], key));
}

static double rec_num(int i, const char *key)
{
    return json_number_value(json_object_get(logged.rec[i], key));
}

static int suite_init(void)
{
    zlog_reset();
    return zlog_add_sink(capture, NULL, ZLOG_DEBUG) == ZEN_OK ? 0 : -1;
}

static int suite_clean(void)
{
    records_clear();
    zlog_reset();
    return 0;
}

/* A config with providers a, b and profiles work, play, plus `budgets`. */
static struct zcfg *cfg_with(const char *budgets_q)
{
    char buf[2048], err[ZEN_ERRLEN];
    snprintf(buf, sizeof(buf),
             "{'providers': {'a': {'base_url': 'https://a.example'}},"
             " 'profiles': {'work': ['a'], 'play': ['a']}, 'budgets': %s}",
             budgets_q);
    const char *json = tu_q(buf);
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "\n  config error: %s\n", err);
    return cfg;
}

/* ---- periods ---- */

static void expect_day(int y, int mon, int d, int64_t length_h)
{
    int64_t start = local_ms(y, mon, d, 0, 0);
    int64_t noon = local_ms(y, mon, d, 12, 0);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_DAY, noon), start);
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_DAY, noon), start + length_h * HOUR_MS);
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_DAY, noon), local_ms(y, mon, d + 1, 0, 0));
    /* The bounds themselves: the start belongs to its day, the next to the next. */
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_DAY, start), start);
    int64_t next = budget_period_next(BUDGET_DAY, noon);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_DAY, next - 1), start);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_DAY, next), next);
}

static void test_days_across_dst(void)
{
    set_tz("America/New_York");
    expect_day(2026, 3, 8, 23);  /* spring forward */
    expect_day(2026, 11, 1, 25); /* fall back */
    expect_day(2026, 12, 2, 24);
    /* 01:30 on the fall-back day happens twice; both are that day. */
    int64_t first = local_ms(2026, 11, 1, 0, 0) + 90 * 60 * 1000;
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_DAY, first), local_ms(2026, 11, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_DAY, first + HOUR_MS), local_ms(2026, 11, 1, 0, 0));
    set_tz("Europe/Berlin");
    expect_day(2026, 3, 29, 23);
    expect_day(2026, 10, 25, 25);
    expect_day(2026, 7, 1, 24);
}

static void test_iso_weeks(void)
{
    set_tz("America/New_York");
    /* Sunday 2026-03-08 (the DST change) belongs to the week of Monday 03-02,
     * which is one hour short. */
    int64_t sunday = local_ms(2026, 3, 8, 18, 0);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_WEEK, sunday), local_ms(2026, 3, 2, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_WEEK, sunday), local_ms(2026, 3, 9, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_WEEK, sunday) -
                        budget_period_start(BUDGET_WEEK, sunday),
                    7 * DAY_MS - HOUR_MS);
    /* Monday 00:00 starts a week; Monday 10:00 is in it. */
    int64_t monday = local_ms(2026, 3, 9, 0, 0);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_WEEK, monday), monday);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_WEEK, monday - 1), local_ms(2026, 3, 2, 0, 0));
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_WEEK, local_ms(2026, 3, 9, 10, 0)), monday);
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_WEEK, monday), local_ms(2026, 3, 16, 0, 0));
    /* A week across a year end: Thursday 2026-12-31 is in the week of Monday
     * 12-28, which ends Monday 2027-01-04. */
    int64_t nye = local_ms(2026, 12, 31, 23, 0);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_WEEK, nye), local_ms(2026, 12, 28, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_WEEK, nye), local_ms(2027, 1, 4, 0, 0));
    set_tz("Europe/Berlin");
    sunday = local_ms(2026, 10, 25, 12, 0); /* fall back: a week of 7 days + 1 h */
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_WEEK, sunday), local_ms(2026, 10, 19, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_WEEK, sunday) -
                        budget_period_start(BUDGET_WEEK, sunday),
                    7 * DAY_MS + HOUR_MS);
}

static void test_month_ends(void)
{
    set_tz("America/New_York");
    int64_t t = local_ms(2026, 1, 31, 23, 59);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_MONTH, t), local_ms(2026, 1, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_MONTH, t), local_ms(2026, 2, 1, 0, 0));
    t = local_ms(2026, 2, 28, 12, 0);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_MONTH, t), local_ms(2026, 2, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_MONTH, t), local_ms(2026, 3, 1, 0, 0));
    t = local_ms(2028, 2, 29, 23, 0); /* leap year */
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_MONTH, t), local_ms(2028, 2, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_MONTH, t), local_ms(2028, 3, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_MONTH, local_ms(2028, 2, 28, 0, 0)),
                    local_ms(2028, 3, 1, 0, 0));
    t = local_ms(2026, 12, 31, 23, 30);
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_MONTH, t), local_ms(2026, 12, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_MONTH, t), local_ms(2027, 1, 1, 0, 0));
    CU_ASSERT_EQUAL(budget_period_start(BUDGET_MONTH, local_ms(2027, 1, 1, 0, 0)),
                    local_ms(2027, 1, 1, 0, 0));
    set_tz("Europe/Berlin");
    t = local_ms(2026, 3, 15, 12, 0); /* March loses an hour */
    CU_ASSERT_EQUAL(budget_period_next(BUDGET_MONTH, t) - budget_period_start(BUDGET_MONTH, t),
                    31 * DAY_MS - HOUR_MS);
    CU_ASSERT_STRING_EQUAL(budget_period_name(BUDGET_DAY), "daily");
    CU_ASSERT_STRING_EQUAL(budget_period_name(BUDGET_WEEK), "weekly");
    CU_ASSERT_STRING_EQUAL(budget_period_name(BUDGET_MONTH), "monthly");
}

/* ---- actions ---- */

static void test_each_action(void)
{
    set_tz("America/New_York");
    int64_t now = local_ms(2026, 12, 2, 10, 0);
    static const char *const budgets[] = {
        "{'daily': {'amount': 10, 'action': 'warn'}}",
        "{'daily': {'amount': 10, 'action': 'downgrade'}}",
        "{'daily': {'amount': 10, 'action': 'block'}}",
    };
    static const enum budget_action_taken want[] = {BUDGET_SERVE, BUDGET_DOWNGRADE,
                                                    BUDGET_BLOCK};
    static const char *const names[] = {"warn", "downgrade", "block"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(budgets); i++) {
        struct zcfg *cfg = cfg_with(budgets[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
        struct budget_tracker *b = budget_new();
        struct budget_verdict v;
        budget_add(b, "work", 9.99, now);
        budget_check(b, cfg, "work", now, &v);
        CU_ASSERT_EQUAL(v.action, BUDGET_SERVE); /* below the amount: served */
        records_clear();
        budget_add(b, "work", 0.01, now); /* exactly the amount */
        budget_check(b, cfg, "work", now, &v);
        CU_ASSERT_EQUAL(v.action, want[i]);
        if (want[i] != BUDGET_SERVE) {
            CU_ASSERT_EQUAL(v.period, BUDGET_DAY);
            CU_ASSERT_DOUBLE_EQUAL(v.amount, 10.0, 1e-9);
            CU_ASSERT_DOUBLE_EQUAL(v.spend, 10.0, 1e-9);
            CU_ASSERT_EQUAL(v.reset_ms, local_ms(2026, 12, 3, 0, 0));
        }
        CU_ASSERT_EQUAL_FATAL(count_event("budget_exceeded"), 1);
        CU_ASSERT_EQUAL(logged.level[0], ZLOG_WARN);
        CU_ASSERT_STRING_EQUAL(rec_str(0, "action"), names[i]);
        CU_ASSERT_STRING_EQUAL(rec_str(0, "period"), "daily");
        CU_ASSERT_DOUBLE_EQUAL(rec_num(0, "amount"), 10.0, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(rec_num(0, "spend"), 10.0, 1e-9);
        CU_ASSERT_STRING_EQUAL(rec_str(0, "resets_at"), "2026-12-03T00:00:00-05:00");
        CU_ASSERT_PTR_NULL(json_object_get(logged.rec[0], "profile")); /* not per_project */
        /* The next day starts from zero: served again. */
        int64_t tomorrow = local_ms(2026, 12, 3, 0, 0);
        budget_check(b, cfg, "work", tomorrow, &v);
        CU_ASSERT_EQUAL(v.action, BUDGET_SERVE);
        records_clear();
        budget_free(b);
        zcfg_unref(cfg);
    }
}

static void test_strongest_action_wins(void)
{
    set_tz("Europe/Berlin");
    int64_t now = local_ms(2026, 12, 2, 10, 0);
    struct zcfg *cfg = cfg_with("{'daily': {'amount': 1, 'action': 'warn'},"
                                " 'weekly': {'amount': 2, 'action': 'downgrade'},"
                                " 'monthly': {'amount': 100, 'action': 'block'}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct budget_tracker *b = budget_new();
    struct budget_verdict v;
    budget_add(b, NULL, 5, now);
    budget_check(b, cfg, NULL, now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_DOWNGRADE);
    CU_ASSERT_EQUAL(v.period, BUDGET_WEEK);
    CU_ASSERT_DOUBLE_EQUAL(v.amount, 2.0, 1e-9);
    CU_ASSERT_EQUAL(v.reset_ms, local_ms(2026, 12, 7, 0, 0));
    budget_add(b, NULL, 95, now);
    budget_check(b, cfg, NULL, now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_EQUAL(v.period, BUDGET_MONTH);
    CU_ASSERT_EQUAL(v.reset_ms, local_ms(2027, 1, 1, 0, 0));
    budget_free(b);
    zcfg_unref(cfg);
    records_clear();

    /* Two blocks: the one that lasts longer decides retry-after. */
    cfg = cfg_with("{'daily': {'amount': 1, 'action': 'block'},"
                   " 'monthly': {'amount': 2, 'action': 'block'}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    b = budget_new();
    budget_add(b, NULL, 3, now);
    budget_check(b, cfg, NULL, now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_EQUAL(v.period, BUDGET_MONTH);
    /* Only the daily one exceeded: it decides. */
    budget_free(b);
    b = budget_new();
    budget_add(b, NULL, 1.5, now);
    budget_check(b, cfg, NULL, now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_EQUAL(v.period, BUDGET_DAY);
    CU_ASSERT_EQUAL(v.reset_ms, local_ms(2026, 12, 3, 0, 0));
    budget_free(b);
    zcfg_unref(cfg);
    records_clear();
}

/* 80 %: one budget_warning (info) per period; 100 %: one budget_exceeded
 * (warn) per period; a new period logs both again. */
static void test_records_once_per_period(void)
{
    set_tz("America/New_York");
    struct zcfg *cfg = cfg_with("{'daily': {'amount': 10, 'action': 'block'}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct budget_tracker *b = budget_new();
    struct budget_verdict v;
    int64_t now = local_ms(2026, 12, 2, 9, 0);
    records_clear();
    budget_add(b, "work", 7.9, now);
    budget_check(b, cfg, "work", now, &v);
    CU_ASSERT_EQUAL(logged.n, 0);
    budget_add(b, "work", 0.2, now);
    budget_check(b, cfg, "work", now, &v);
    CU_ASSERT_EQUAL_FATAL(logged.n, 1);
    CU_ASSERT_STRING_EQUAL(rec_str(0, "event"), "budget_warning");
    CU_ASSERT_EQUAL(logged.level[0], ZLOG_INFO);
    CU_ASSERT_DOUBLE_EQUAL(rec_num(0, "spend"), 8.1, 1e-9);
    for (int i = 0; i < 3; i++) {
        budget_add(b, "work", 0.5, now);
        budget_check(b, cfg, "work", now, &v);
    }
    CU_ASSERT_EQUAL(logged.n, 1); /* 9.6: still the one warning */
    budget_add(b, "work", 0.5, now + HOUR_MS);
    for (int i = 0; i < 3; i++)
        budget_check(b, cfg, "work", now + HOUR_MS, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_EQUAL(count_event("budget_exceeded"), 1);
    CU_ASSERT_EQUAL(logged.n, 2);
    /* The next day: a new period, so both records again. */
    int64_t tomorrow = local_ms(2026, 12, 3, 9, 0);
    budget_add(b, "work", 8.5, tomorrow);
    budget_check(b, cfg, "work", tomorrow, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_SERVE);
    CU_ASSERT_EQUAL(count_event("budget_warning"), 2);
    budget_add(b, "work", 2, tomorrow);
    budget_check(b, cfg, "work", tomorrow, &v);
    CU_ASSERT_EQUAL(count_event("budget_exceeded"), 2);
    CU_ASSERT_EQUAL(logged.n, 4);
    records_clear();
    /* Straight from 0 past the amount: the exceeded record alone. */
    int64_t later = local_ms(2026, 12, 4, 9, 0);
    budget_add(b, "work", 50, later);
    budget_check(b, cfg, "work", later, &v);
    CU_ASSERT_EQUAL(logged.n, 1);
    CU_ASSERT_EQUAL(count_event("budget_exceeded"), 1);
    records_clear();
    budget_free(b);
    zcfg_unref(cfg);
}

/* ---- the tracker's sums ---- */

static void test_base_and_add(void)
{
    set_tz("America/New_York");
    struct zcfg *cfg = cfg_with("{'daily': {'amount': 10, 'action': 'block'},"
                                " 'monthly': {'amount': 100, 'action': 'block'}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    int64_t now = local_ms(2026, 12, 2, 10, 0);
    int64_t since[BUDGET_N_PERIODS], yesterday[BUDGET_N_PERIODS], last_month[BUDGET_N_PERIODS];
    for (int p = 0; p < BUDGET_N_PERIODS; p++) {
        since[p] = budget_period_start((enum budget_period)p, now);
        yesterday[p] = budget_period_start((enum budget_period)p, now - DAY_MS);
        last_month[p] = budget_period_start((enum budget_period)p, now - 40 * DAY_MS);
    }
    double out[BUDGET_N_PERIODS];

    /* A request recorded before the base arrives stays counted. */
    struct budget_tracker *b = budget_new();
    budget_add(b, "work", 1.0, now);
    budget_set_base(b, since, "work", (double[]){4.0, 5.0, 6.0});
    budget_set_base(b, since, NULL, (double[]){0.5, 0.5, 0.5});
    budget_spend_now(b, now, out);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_DAY], 5.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_WEEK], 6.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_MONTH], 7.5, 1e-9);
    /* An unknown cost is not added. */
    budget_add(b, "work", -1, now);
    budget_spend_now(b, now, out);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_DAY], 5.5, 1e-9);
    /* A base from an earlier period than the one held is ignored. */
    budget_set_base(b, last_month, "work", (double[]){100, 100, 100});
    budget_spend_now(b, now, out);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_DAY], 5.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_WEEK], 6.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_MONTH], 7.5, 1e-9);
    budget_free(b);

    /* A base asked for yesterday (the day ended since): ignored; the month
     * it was asked for is still this month, so that part counts. */
    b = budget_new();
    budget_set_base(b, yesterday, "work", (double[]){20, 20, 20});
    struct budget_verdict v;
    budget_check(b, cfg, "work", now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_SERVE);
    budget_spend_now(b, now, out);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_DAY], 0.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_WEEK], 20.0, 1e-9); /* Tuesday and Wednesday: one week */
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_MONTH], 20.0, 1e-9);
    /* A current base that crosses the amount blocks at once. */
    budget_set_base(b, since, "work", (double[]){10, 0, 0});
    budget_check(b, cfg, "work", now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_EQUAL(v.period, BUDGET_DAY);
    budget_free(b);
    zcfg_unref(cfg);
    records_clear();
}

static void test_per_project(void)
{
    set_tz("America/New_York");
    int64_t now = local_ms(2026, 12, 2, 10, 0);
    struct zcfg *cfg = cfg_with("{'daily': {'amount': 10, 'action': 'block'},"
                                " 'per_project': true}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct budget_tracker *b = budget_new();
    struct budget_verdict v;
    budget_add(b, "work", 6, now);
    budget_add(b, "play", 6, now);
    budget_check(b, cfg, "work", now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_SERVE); /* 12 in all, but 6 each */
    records_clear();
    budget_add(b, "work", 5, now);
    budget_check(b, cfg, "work", now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_DOUBLE_EQUAL(v.spend, 11.0, 1e-9);
    CU_ASSERT_EQUAL_FATAL(count_event("budget_exceeded"), 1);
    CU_ASSERT_STRING_EQUAL(rec_str(0, "profile"), "work");
    budget_check(b, cfg, "play", now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_SERVE);
    double out[BUDGET_N_PERIODS];
    budget_spend_now(b, now, out);
    CU_ASSERT_DOUBLE_EQUAL(out[BUDGET_DAY], 17.0, 1e-9);
    json_t *reasons = json_array();
    budget_health_reasons(b, cfg, now, reasons);
    CU_ASSERT_EQUAL_FATAL(json_array_size(reasons), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(reasons, 0)),
                           "budget: daily spend $11.00 of $10.00 for profile work (block)");
    json_decref(reasons);
    json_t *report = budget_report(b, cfg, now);
    CU_ASSERT_EQUAL(json_array_size(report), 2); /* one daily limit per profile */
    json_decref(report);
    zcfg_unref(cfg);

    /* The same sums, globally: 17 >= 10 blocks everyone. */
    cfg = cfg_with("{'daily': {'amount': 10, 'action': 'block'}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    budget_check(b, cfg, "play", now, &v);
    CU_ASSERT_EQUAL(v.action, BUDGET_BLOCK);
    CU_ASSERT_DOUBLE_EQUAL(v.spend, 17.0, 1e-9);
    budget_free(b);
    zcfg_unref(cfg);
    records_clear();
}

/* ---- what the user reads ---- */

static void test_message(void)
{
    set_tz("America/New_York");
    int64_t reset = local_ms(2026, 12, 3, 0, 0);
    struct budget_verdict v = {BUDGET_BLOCK, BUDGET_DAY, 10.42, 10.0, reset};
    char msg[256];
    budget_message(&v, reset - (5 * 60 + 12) * 60 * 1000LL, msg, sizeof(msg));
    CU_ASSERT_STRING_EQUAL(msg, "daily budget of $10.00 exceeded: $10.42 spent; resets at "
                                "2026-12-03 00:00 (in 5h 12m)");
    v = (struct budget_verdict){BUDGET_BLOCK, BUDGET_MONTH, 250.5, 200.0,
                                local_ms(2027, 1, 1, 0, 0)};
    budget_message(&v, local_ms(2026, 12, 29, 21, 0), msg, sizeof(msg));
    CU_ASSERT_STRING_EQUAL(msg, "monthly budget of $200.00 exceeded: $250.50 spent; resets at "
                                "2027-01-01 00:00 (in 2d 3h)");
    v.period = BUDGET_WEEK;
    budget_message(&v, v.reset_ms - 42000, msg, sizeof(msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "weekly budget of $200.00"));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(in 42s)"));
    budget_message(&v, v.reset_ms - 7 * 60000, msg, sizeof(msg));
    CU_ASSERT_PTR_NOT_NULL(strstr(msg, "(in 7m)"));
}

static void test_report_and_health(void)
{
    set_tz("America/New_York");
    int64_t now = local_ms(2026, 12, 2, 10, 0);
    struct zcfg *cfg = cfg_with("{'daily': {'amount': 10, 'action': 'warn'},"
                                " 'weekly': {'amount': 20, 'action': 'downgrade'},"
                                " 'monthly': {'amount': 100, 'action': 'block'}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct budget_tracker *b = budget_new();
    budget_add(b, "work", 17, now);
    json_t *r = budget_report(b, cfg, now);
    CU_ASSERT_EQUAL_FATAL(json_array_size(r), 3);
    static const char *const periods[] = {"daily", "weekly", "monthly"};
    static const char *const actions[] = {"warn", "downgrade", "block"};
    static const char *const states[] = {"exceeded", "warning", "ok"};
    static const double amounts[] = {10, 20, 100}, percents[] = {170, 85, 17};
    int64_t resets[] = {local_ms(2026, 12, 3, 0, 0), local_ms(2026, 12, 7, 0, 0),
                        local_ms(2027, 1, 1, 0, 0)};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(r, i);
        CU_ASSERT_EQUAL(json_object_size(e), 8);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "period")), periods[i]);
        CU_ASSERT_TRUE(json_is_null(json_object_get(e, "profile")));
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(e, "amount")), amounts[i], 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(e, "spend")), 17.0, 1e-9);
        CU_ASSERT_DOUBLE_EQUAL(json_number_value(json_object_get(e, "percent")), percents[i],
                               1e-9);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "action")), actions[i]);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(e, "state")), states[i]);
        CU_ASSERT_EQUAL(json_integer_value(json_object_get(e, "resets_at_ms")), resets[i]);
    }
    json_decref(r);
    json_t *reasons = json_array();
    budget_health_reasons(b, cfg, now, reasons);
    CU_ASSERT_EQUAL_FATAL(json_array_size(reasons), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_array_get(reasons, 0)),
                           "budget: daily spend $17.00 of $10.00 (warn)");
    json_decref(reasons);
    /* No budgets: an empty report, no reasons. */
    struct zcfg *none = cfg_with("{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(none);
    r = budget_report(b, none, now);
    CU_ASSERT_EQUAL(json_array_size(r), 0);
    json_decref(r);
    reasons = json_array();
    budget_health_reasons(b, none, now, reasons);
    CU_ASSERT_EQUAL(json_array_size(reasons), 0);
    json_decref(reasons);
    zcfg_unref(none);
    budget_free(b);
    zcfg_unref(cfg);
}

static void test_downgrade_models(void)
{
    struct zcfg_provider p = {0};
    CU_ASSERT_STRING_EQUAL(budget_downgrade_model(&p, "claude-opus-4-5-20251101"),
                           "claude-sonnet-4-5");
    CU_ASSERT_STRING_EQUAL(budget_downgrade_model(&p, "claude-sonnet-4-5"), "claude-haiku-4-5");
    CU_ASSERT_STRING_EQUAL(budget_downgrade_model(NULL, "Claude-OPUS-4"), "claude-sonnet-4-5");
    p.sonnet_model = (char *)"relay-sonnet";
    p.haiku_model = (char *)"relay-haiku";
    CU_ASSERT_STRING_EQUAL(budget_downgrade_model(&p, "claude-opus-4-1"), "relay-sonnet");
    CU_ASSERT_STRING_EQUAL(budget_downgrade_model(&p, "claude-3-7-sonnet-latest"), "relay-haiku");
    CU_ASSERT_PTR_NULL(budget_downgrade_model(&p, "claude-haiku-4-5"));
    CU_ASSERT_PTR_NULL(budget_downgrade_model(&p, "gpt-4o"));
    CU_ASSERT_PTR_NULL(budget_downgrade_model(&p, NULL));
    p.haiku_model = (char *)"";
    CU_ASSERT_STRING_EQUAL(budget_downgrade_model(&p, "claude-sonnet-4"), "claude-haiku-4-5");
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("budget", suite_init, suite_clean);
    TU_ADD(s, test_days_across_dst);
    TU_ADD(s, test_iso_weeks);
    TU_ADD(s, test_month_ends);
    TU_ADD(s, test_each_action);
    TU_ADD(s, test_strongest_action_wins);
    TU_ADD(s, test_records_once_per_period);
    TU_ADD(s, test_base_and_add);
    TU_ADD(s, test_per_project);
    TU_ADD(s, test_message);
    TU_ADD(s, test_report_and_health);
    TU_ADD(s, test_downgrade_models);
}
