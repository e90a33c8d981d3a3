/* Unit tests for zenctl/usage_view.c: `zenctl usage`'s renderers from canned
 * usage.query and usage.budget results (nulls, unknown cost, CSV quoting,
 * JSON rows keyed by the --by name, the budget table) and the --since /
 * --until parser against a fixed "now" in fixed time zones. White-box:
 * includes the modules. */
#include "../../zenctl/view.c"
#include "../../zenctl/usage_view.c"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>

#include "testutil.h"

/* 2026-11-15 12:00:00 UTC, a Sunday. */
#define NOW_MS 1794744000000LL
#define HOUR_MS 3600000LL
#define DAY_MS (24 * HOUR_MS)

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
}

/* Runs a writer into a string (the caller frees it). */
#define CAPTURE(out, call)                                \
    do {                                                  \
        size_t cap_len_;                                  \
        FILE *f = open_memstream(&(out), &cap_len_);      \
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);                  \
        call;                                             \
        fclose(f);                                        \
    } while (0)

static void expect_text(const char *got, const char *want)
{
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  got:\n%s\n  want:\n%s\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

static json_t *load(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fprintf(stderr, "\n  bad JSON in test: %s\n", err.text);
    return j;
}

/* ---- --since / --until ---- */

static void expect_when(const char *v, int64_t want)
{
    int64_t got = -1;
    int rc = zu_parse_when(v, NOW_MS, &got);
    if (rc != ZEN_OK || got != want)
        fprintf(stderr, "\n  %s: rc %d, got %lld, want %lld\n", v, rc, (long long)got,
                (long long)want);
    CU_ASSERT_EQUAL(rc, ZEN_OK);
    CU_ASSERT_EQUAL(got, want);
}

static void expect_bad_when(const char *v)
{
    int64_t got = 12345;
    if (zu_parse_when(v, NOW_MS, &got) != ZEN_ERR)
        fprintf(stderr, "\n  '%s' was accepted\n", v);
    CU_ASSERT_EQUAL(got, 12345); /* untouched */
}

static void test_when_relative(void)
{
    expect_when("7d", NOW_MS - 7 * DAY_MS);
    expect_when("24h", NOW_MS - DAY_MS);
    expect_when("30m", NOW_MS - 30 * 60000LL);
    expect_when("90s", NOW_MS - 90000LL);
    expect_when("2w", NOW_MS - 14 * DAY_MS);
    expect_when("0d", NOW_MS);
    static const char *const bad[] = {"", "d", "7", "7x", "-7d", "+7d", "7 d", " 7d", "7dd",
                                      "7D", "1.5h", "99999999999999999999d", "36600000d"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bad); i++)
        expect_bad_when(bad[i]);
}

static void test_when_dates_utc(void)
{
    set_tz("UTC");
    expect_when("2026-11-01", 1793491200000LL);
    expect_when("2026-11-01T08:00", 1793491200000LL + 8 * HOUR_MS);
    expect_when("2026-11-01 08:00", 1793491200000LL + 8 * HOUR_MS);
    expect_when("2026-11-01T08:00:30", 1793491200000LL + 8 * HOUR_MS + 30000);
    expect_when("2024-02-29", 1709164800000LL);
    static const char *const bad[] = {"2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10",
                                      "2026-11-1",  "26-11-01",   "2026/11/01", "2026-11-01T",
                                      "2026-11-01T8:00", "2026-11-01T24:00",
                                      "2026-11-01T08:60", "2026-11-01T08:00:",
                                      "2026-11-01T08:00Z", "2026-11-01x", "yesterday",
                                      "2026-11-01T08:00:00.5"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bad); i++)
        expect_bad_when(bad[i]);
}

/* Local means the machine's zone, DST included: Berlin is UTC+1 in winter,
 * +2 in summer, and 02:30 on the last Sunday of March does not exist. */
static void test_when_dates_local_dst(void)
{
    set_tz("CET-1CEST,M3.5.0,M10.5.0/3");
    expect_when("2026-11-01", 1793491200000LL - HOUR_MS);
    expect_when("2026-07-01", 1782864000000LL - 2 * HOUR_MS);
    expect_when("2026-03-29T01:30", 1774747800000LL - HOUR_MS);
    expect_when("2026-03-29T03:30", 1774747800000LL);
    expect_bad_when("2026-03-29T02:30");
    set_tz("UTC");
}

/* ---- numbers ---- */

static void expect_usd(double v, const char *want)
{
    char got[64];
    zu_format_usd(v, got, sizeof(got));
    expect_text(got, want);
}

static void test_formats(void)
{
    char s[64];
    zu_format_count(0, s, sizeof(s));
    expect_text(s, "0");
    zu_format_count(999, s, sizeof(s));
    expect_text(s, "999");
    zu_format_count(1000, s, sizeof(s));
    expect_text(s, "1,000");
    zu_format_count(1234567, s, sizeof(s));
    expect_text(s, "1,234,567");
    zu_format_count(-1234, s, sizeof(s));
    expect_text(s, "-1,234");
    expect_usd(0, "$0.00");
    expect_usd(12.34, "$12.34");
    expect_usd(1234.5, "$1,234.50");
    expect_usd(0.01, "$0.01");
    expect_usd(0.0042, "$0.0042");
    expect_usd(0.00042, "$0.00042");
    expect_usd(0.000001234, "$0.000001");
    expect_usd(0.999, "$1.00");
    expect_usd(-2.5, "-$2.50");

    json_t *g = load("{\"cost_usd\": 1.2, \"cost_unknown\": 0}");
    zu_format_cost(g, s, sizeof(s));
    expect_text(s, "$1.20");
    json_object_set_new(g, "cost_unknown", json_integer(3));
    zu_format_cost(g, s, sizeof(s));
    expect_text(s, "$1.20 + ?");
    json_object_set_new(g, "cost_usd", json_null());
    zu_format_cost(g, s, sizeof(s));
    expect_text(s, "?");
    json_decref(g);
}

/* ---- usage.query ---- */

/* Two providers and a group without one (failed before any served): nulls
 * in key, cost and p50; one group with some unknown cost; a name needing
 * CSV quotes and one holding a control byte. */
static const char *const canned_query =
    "{\"by\": \"provider\", \"since_ms\": 1, \"until_ms\": null, \"groups\": ["
    "{\"key\": \"anthropic\", \"requests\": 1200, \"failed\": 3, \"input_tokens\": 1234567,"
    " \"output_tokens\": 45000, \"cache_read_tokens\": 2000000, \"cache_write_tokens\": 10,"
    " \"cost_usd\": 12.3456, \"cost_unknown\": 0, \"ttfb_p50_ms\": 412.5},"
    "{\"key\": \"we,ird \\\"one\\\"\\u001b[2J\", \"requests\": 2, \"failed\": 0,"
    " \"input_tokens\": 10, \"output_tokens\": 5, \"cache_read_tokens\": 0,"
    " \"cache_write_tokens\": 0, \"cost_usd\": 0.0042, \"cost_unknown\": 1,"
    " \"ttfb_p50_ms\": 3.25},"
    "{\"key\": null, \"requests\": 4, \"failed\": 4, \"input_tokens\": 0,"
    " \"output_tokens\": 0, \"cache_read_tokens\": 0, \"cache_write_tokens\": 0,"
    " \"cost_usd\": null, \"cost_unknown\": 4, \"ttfb_p50_ms\": null}],"
    "\"total\": {\"requests\": 1206, \"failed\": 7, \"input_tokens\": 1234577,"
    " \"output_tokens\": 45005, \"cache_read_tokens\": 2000000, \"cache_write_tokens\": 10,"
    " \"cost_usd\": 12.3498, \"cost_unknown\": 5, \"ttfb_p50_ms\": 400}}";

static void test_query_table(void)
{
    json_t *res = load(canned_query);
    CU_ASSERT_PTR_NOT_NULL_FATAL(res);
    char *out = NULL;
    CAPTURE(out, zu_write_table(f, res, "provider", 0));
    expect_text(out,
                "PROVIDER               REQUESTS  FAILED      INPUT  OUTPUT  CACHE READ"
                "         COST  TTFB P50\n"
                "anthropic                 1,200       3  1,234,567  45,000   2,000,000"
                "       $12.35     412ms\n"
                "we,ird \"one\"\\u001b[2J         2       0         10       5           0"
                "  $0.0042 + ?     3.2ms\n"
                "(none)                        4       4          0       0           0"
                "            ?         -\n"
                "total                     1,206       7  1,234,577  45,005   2,000,000"
                "   $12.35 + ?     400ms\n");
    free(out);
    json_decref(res);
}

/* An empty answer still has its header and a total row; the result's "by"
 * names the column even when the caller passed another. */
static void test_query_table_empty(void)
{
    json_t *res = load("{\"by\": \"day\", \"groups\": [], \"total\": {\"requests\": 0,"
                       " \"failed\": 0, \"input_tokens\": 0, \"output_tokens\": 0,"
                       " \"cache_read_tokens\": 0, \"cost_usd\": 0, \"cost_unknown\": 0,"
                       " \"ttfb_p50_ms\": null}}");
    char *out = NULL;
    CAPTURE(out, zu_write_table(f, res, "model", 0));
    expect_text(out, "DAY    REQUESTS  FAILED  INPUT  OUTPUT  CACHE READ   COST  TTFB P50\n"
                     "total         0       0      0       0           0  $0.00         -\n");
    free(out);
    json_decref(res);
}

static void test_query_csv(void)
{
    json_t *res = load(canned_query);
    char *out = NULL;
    CAPTURE(out, zu_write_csv(f, res, "provider"));
    expect_text(out,
                "provider,requests,failed,input_tokens,output_tokens,cache_read_tokens,"
                "cache_write_tokens,cost_usd,cost_unknown,ttfb_p50_ms\n"
                "anthropic,1200,3,1234567,45000,2000000,10,12.3456,0,412.5\n"
                "\"we,ird \"\"one\"\"\\u001b[2J\",2,0,10,5,0,0,0.0042,1,3.25\n"
                ",4,4,0,0,0,0,,4,\n");
    free(out);
    json_decref(res);
}

static void test_query_json_rows(void)
{
    json_t *res = load(canned_query);
    json_t *rows = zu_rows_json(res, "model"); /* the result's "by" wins */
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    CU_ASSERT_EQUAL(json_array_size(rows), 3);
    json_t *first = json_array_get(rows, 0);
    /* Every group field under its RPC name, the key under "provider". */
    CU_ASSERT_EQUAL(json_object_size(first), 10);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(first, "provider")), "anthropic");
    CU_ASSERT_PTR_NULL(json_object_get(first, "key"));
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(first, "input_tokens")), 1234567);
    CU_ASSERT_EQUAL(json_real_value(json_object_get(first, "cost_usd")), 12.3456);
    /* Raw text, not the terminal escape: JSON escapes it itself. */
    CU_ASSERT_STRING_EQUAL(
        json_string_value(json_object_get(json_array_get(rows, 1), "provider")),
        "we,ird \"one\"\x1b[2J");
    json_t *last = json_array_get(rows, 2);
    CU_ASSERT(json_is_null(json_object_get(last, "provider")));
    CU_ASSERT(json_is_null(json_object_get(last, "cost_usd")));
    /* The first key of each object is the group's. */
    void *it = json_object_iter(first);
    CU_ASSERT_STRING_EQUAL(json_object_iter_key(it), "provider");
    json_decref(rows);
    json_decref(res);
}

/* ---- usage.budget ---- */

static void test_budget_table(void)
{
    set_tz("UTC");
    json_t *res = load(
        "{\"per_project\": false, \"limits\": ["
        "{\"period\": \"daily\", \"profile\": null, \"amount\": 10, \"spend\": 3.2,"
        " \"percent\": 32, \"action\": \"warn\", \"state\": \"ok\","
        " \"resets_at_ms\": 1794787200000},"
        "{\"period\": \"monthly\", \"profile\": null, \"amount\": 100, \"spend\": 104.5,"
        " \"percent\": 104.5, \"action\": \"block\", \"state\": \"exceeded\","
        " \"resets_at_ms\": 1796083200000}]}");
    char *out = NULL;
    CAPTURE(out, zu_write_budget(f, res, NOW_MS - 12 * 60000, 0));
    expect_text(out,
                "PERIOD     SPEND   AMOUNT  PERCENT  ACTION  STATE     RESETS\n"
                "daily      $3.20   $10.00      32%  warn    ok        "
                "2026-11-16 00:00 (in 12h 12m)\n"
                "monthly  $104.50  $100.00     104%  block   exceeded  "
                "2026-12-01 00:00 (in 15d 12h)\n");
    free(out);
    /* Colour marks the state only when asked. */
    CAPTURE(out, zu_write_budget(f, res, NOW_MS, 1));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, ZV_RED "exceeded" ZV_RESET));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, ZV_GREEN "ok" ZV_RESET));
    free(out);
    json_decref(res);
}

static void test_budget_table_per_project(void)
{
    set_tz("UTC");
    json_t *res = load(
        "{\"per_project\": true, \"limits\": ["
        "{\"period\": \"weekly\", \"profile\": \"work\", \"amount\": 50, \"spend\": 0.004,"
        " \"percent\": 0.008, \"action\": \"downgrade\", \"state\": \"ok\","
        " \"resets_at_ms\": 1794744030000}]}");
    char *out = NULL;
    CAPTURE(out, zu_write_budget(f, res, NOW_MS, 0));
    expect_text(out, "PERIOD  PROFILE    SPEND  AMOUNT  PERCENT  ACTION     STATE  RESETS\n"
                     "weekly  work     $0.0040  $50.00       0%  downgrade  ok     "
                     "2026-11-15 12:00 (in 30s)\n");
    free(out);
    json_decref(res);
    res = load("{\"per_project\": false, \"limits\": []}");
    CAPTURE(out, zu_write_budget(f, res, NOW_MS, 0));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "no budgets configured"));
    free(out);
    json_decref(res);
}

static void test_by_names(void)
{
    static const char *const good[] = {"day", "hour", "provider", "model", "profile",
                                       "session", "scenario"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(good); i++)
        CU_ASSERT(zu_by_valid(good[i]));
    CU_ASSERT(!zu_by_valid("week"));
    CU_ASSERT(!zu_by_valid(""));
    CU_ASSERT(!zu_by_valid("Day"));
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("usage_view", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_when_relative);
    TU_ADD(s, test_when_dates_utc);
    TU_ADD(s, test_when_dates_local_dst);
    TU_ADD(s, test_formats);
    TU_ADD(s, test_query_table);
    TU_ADD(s, test_query_table_empty);
    TU_ADD(s, test_query_csv);
    TU_ADD(s, test_query_json_rows);
    TU_ADD(s, test_budget_table);
    TU_ADD(s, test_budget_table_per_project);
    TU_ADD(s, test_by_names);
}
