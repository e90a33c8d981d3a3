/* test_ledger.c -- the usage ledger (zend/usage/ledger.h): rows, the file,
 * the bounded queue, failures and recovery, repair, retention, usage.query
 * and the budget's starting sums. Every file is read back with sqlite3
 * directly, not through the ledger. */
#include <ev.h>
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ledger.h"
#include "log.h"
#include "testutil.h"
#include "timeutil.h"

static struct ev_loop *loop;

/* ---- helpers ---- */

static int events_failed, events_recovered, events_dropped;
static char last_failure[512], last_dropped[512];

static void count_sink(void *ctx, int level, const char *event, const char *line, size_t len)
{
    if (strcmp(event, "usage_store_failed") == 0) {
        events_failed++;
        snprintf(last_failure, sizeof(last_failure), "%.*s", (int)len, line);
    } else if (strcmp(event, "usage_store_recovered") == 0) {
        events_recovered++;
    } else if (strcmp(event, "usage_dropped") == 0) {
        events_dropped++;
        snprintf(last_dropped, sizeof(last_dropped), "%.*s", (int)len, line);
    }
}

static void reset_events(void)
{
    events_failed = events_recovered = events_dropped = 0;
    last_failure[0] = '\0';
}

/* Runs the loop until *flag is set or 10 s pass. */
static int spin_until(const int *flag)
{
    int64_t deadline = ztime_mono_ms() + 10000;
    while (!*flag && ztime_mono_ms() < deadline) {
        ev_run(loop, EVRUN_NOWAIT);
        usleep(2000);
    }
    ev_run(loop, EVRUN_NOWAIT);
    return *flag;
}

typedef int (*status_pred)(const struct ledger_status *s, uint64_t arg);

/* Runs the loop until pred holds for the ledger's status, or 10 s pass. */
static int wait_status(struct ledger *l, status_pred pred, uint64_t arg)
{
    int64_t deadline = ztime_mono_ms() + 10000;
    struct ledger_status s;
    for (;;) {
        ev_run(loop, EVRUN_NOWAIT);
        ledger_status(l, &s);
        if (pred(&s, arg))
            return 1;
        if (ztime_mono_ms() >= deadline)
            return 0;
        usleep(2000);
    }
}

static int is_written(const struct ledger_status *s, uint64_t n) { return s->written >= n; }
static int is_released(const struct ledger_status *s, uint64_t n) { return s->released >= n; }
static int is_available(const struct ledger_status *s, uint64_t a) { return s->available == (int)a; }
static int has_error(const struct ledger_status *s, uint64_t unused)
{
    return !s->available && s->error[0];
}

static void db_path(char *out, size_t outlen, const char *dir)
{
    snprintf(out, outlen, "%s/%s", dir, LEDGER_FILE);
}

static struct ledger *open_at(const char *path, int64_t retention_days)
{
    struct ledger_options o = {.path = path, .retention_days = retention_days};
    char err[256];
    struct ledger *l = ledger_open(loop, &o, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    return l;
}

static struct ledger_row row_at(int64_t ts)
{
    return (struct ledger_row){
        .ts_ms = ts, .request_id = "r", .profile = "default", .client_format = "anthropic",
        .provider = "p", .model_requested = "m", .model_sent = "m", .status = 200,
        .attempts = 1, .complete = 1, .tokens = {10, 20, 0, 0}, .cost_usd = 0.5,
        .ttfb_ms = 100, .duration_ms = 200};
}

/* One integer from the file, read with sqlite3 itself. */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int64_t v = -12345;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    CU_ASSERT_EQUAL(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    CU_ASSERT_EQUAL(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static char *fresh_dir(void)
{
    static char dir[4200];
    static int n;
    snprintf(dir, sizeof(dir), "%s/case%d", tu_tmpdir, ++n);
    CU_ASSERT_EQUAL(mkdir(dir, 0700), 0);
    return dir;
}

/* ---- rows and the file ---- */

static void test_round_trip_and_nulls(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    struct ledger_row full = {
        .ts_ms = 1764650000123, .request_id = "req-1", .profile = "work", .session = "s1",
        .scenario = "think", .client_format = "chat", .provider = "anthropic",
        .model_requested = "claude-sonnet-4-5", .model_sent = "claude-sonnet-4-5-20250929",
        .status = 200, .attempts = 2, .stream = 1, .complete = 1,
        .tokens = {100, 50, 7, 3}, .cost_usd = 0.0125, .ttfb_ms = 321.5, .duration_ms = 999.25};
    struct ledger_row empty = {.ts_ms = 1764650000999, .status = 0, .attempts = 0,
                               .tokens = USAGE_TOKENS_NONE, .cost_usd = -1, .ttfb_ms = -1,
                               .duration_ms = 4};
    ledger_append(l, &full);
    ledger_append(l, &empty);
    CU_ASSERT(wait_status(l, is_written, 2));
    /* While it is open: WAL, and the side files as private as the file. */
    struct stat st;
    char wal[4300];
    snprintf(wal, sizeof(wal), "%s-wal", path);
    CU_ASSERT_EQUAL(stat(wal, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    ledger_close(l);
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    CU_ASSERT_EQUAL(sql_int(path, "PRAGMA user_version"), 1);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT journal_mode = 'wal' FROM pragma_journal_mode"), 1);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), 2);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage WHERE ts = 1764650000123 AND "
                                  "request_id = 'req-1' AND profile = 'work' AND session = 's1'"
                                  " AND scenario = 'think' AND client_format = 'chat' AND "
                                  "provider = 'anthropic' AND model_requested = "
                                  "'claude-sonnet-4-5' AND model_sent = "
                                  "'claude-sonnet-4-5-20250929' AND status = 200 AND attempts = "
                                  "2 AND stream = 1 AND complete = 1 AND input_tokens = 100 AND "
                                  "output_tokens = 50 AND cache_read_tokens = 7 AND "
                                  "cache_write_tokens = 3 AND cost_usd = 0.0125 AND ttfb_ms = "
                                  "321.5 AND duration_ms = 999.25"),
                    1);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage WHERE ts = 1764650000999 AND "
                                  "request_id IS NULL AND profile IS NULL AND session IS NULL "
                                  "AND scenario IS NULL AND client_format IS NULL AND provider "
                                  "IS NULL AND model_requested IS NULL AND model_sent IS NULL "
                                  "AND status = 0 AND attempts = 0 AND stream = 0 AND complete "
                                  "= 0 AND input_tokens IS NULL AND output_tokens IS NULL AND "
                                  "cache_read_tokens IS NULL AND cache_write_tokens IS NULL AND "
                                  "cost_usd IS NULL AND ttfb_ms IS NULL AND duration_ms = 4"),
                    1);
}

static void test_5000_rows_after_close(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    for (int i = 0; i < 5000; i++) {
        struct ledger_row r = row_at(1764650000000 + i);
        ledger_append(l, &r);
    }
    ledger_close(l); /* graceful: everything queued is written first */
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(DISTINCT ts) FROM usage"), 5000);
}

/* A batch goes in several rows per statement: every row keeps its place
 * (ids follow the queue) and its own values and nulls, across statements
 * and the remainder that does not fill one. */
static void test_batch_rows_keep_order_and_values(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    ledger_test_pause(l, 1); /* one batch of all of them */
    const int64_t base = 1764650000000;
    const int n = 3 * 32 + 5;
    for (int i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof(id), "r%d", i);
        struct ledger_row r = row_at(base + i);
        r.request_id = i % 2 ? id : NULL;
        r.tokens.input = i % 3 ? i : USAGE_UNKNOWN;
        r.cost_usd = i % 5 ? i / 100.0 : -1;
        ledger_append(l, &r);
    }
    ledger_test_pause(l, 0);
    CU_ASSERT(wait_status(l, is_written, (uint64_t)n));
    ledger_close(l);
    char sql[1024];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM usage WHERE id = ts - %lld + 1"
             " AND CASE WHEN (ts - %lld) %% 2 THEN request_id = 'r' || (ts - %lld)"
             " ELSE request_id IS NULL END"
             " AND CASE WHEN (ts - %lld) %% 3 THEN input_tokens = ts - %lld"
             " ELSE input_tokens IS NULL END"
             " AND CASE WHEN (ts - %lld) %% 5 THEN cost_usd = (ts - %lld) / 100.0"
             " ELSE cost_usd IS NULL END AND output_tokens = 20 AND profile = 'default'",
             (long long)base, (long long)base, (long long)base, (long long)base,
             (long long)base, (long long)base, (long long)base);
    CU_ASSERT_EQUAL(sql_int(path, sql), n);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), n);
}

/* The idle writer hands its memory back (the batch insert's program among
 * it) when the proxy says it is idle, not only on its own timer (an hour
 * here, so only ledger_idle can be the cause), and only when it wrote or
 * queried since; the next burst prepares the batch insert again and its
 * rows go in whole. */
static void test_idle_hands_memory_back(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger_options o = {.path = path, .idle_release_ms = 3600 * 1000};
    char err[256];
    struct ledger *l = ledger_open(loop, &o, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    struct ledger_status st;
    for (int burst = 1; burst <= 2; burst++) {
        ledger_test_pause(l, 1); /* one batch: two 32-row statements and 6 single rows */
        for (int i = 0; i < 70; i++) {
            struct ledger_row r = row_at(1764650000000 + burst * 1000 + i);
            ledger_append(l, &r);
        }
        ledger_test_pause(l, 0);
        CU_ASSERT(wait_status(l, is_written, (uint64_t)burst * 70));
        ledger_status(l, &st);
        CU_ASSERT_EQUAL(st.released, (uint64_t)burst - 1);
        ledger_idle(l);
        CU_ASSERT(wait_status(l, is_released, (uint64_t)burst));
    }
    /* Nothing written since the last release: nothing is due, so
     * ledger_idle asks for nothing (it decides under the writer's mutex). */
    ledger_idle(l);
    ledger_status(l, &st);
    CU_ASSERT_EQUAL(st.released, 2);
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(DISTINCT ts) FROM usage"), 140);
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* SQLite's automatic checkpoint (every 1000 WAL pages) runs on the writer
 * while rows keep coming: the WAL stays near 4 MiB and the rows reach the
 * file itself before any close. 120,000 rows would be a WAL of ~12 MiB
 * without it (a reader left open on the connection would do that). */
static void test_wal_stays_bounded(void)
{
    char path[4200], wal[4300];
    db_path(path, sizeof(path), fresh_dir());
    snprintf(wal, sizeof(wal), "%s-wal", path);
    struct ledger *l = open_at(path, 0);
    const int total = 120000, chunk = 5000;
    off_t wal_max = 0;
    for (int done = 0; done < total; done += chunk) {
        for (int i = 0; i < chunk; i++) {
            struct ledger_row r = row_at(1764650000000 + done + i);
            ledger_append(l, &r);
        }
        CU_ASSERT_FATAL(wait_status(l, is_written, (uint64_t)(done + chunk)));
        off_t w = file_size(wal);
        if (w > wal_max)
            wal_max = w;
    }
    CU_ASSERT(wal_max > 0);
    CU_ASSERT(wal_max < 6 * 1024 * 1024);
    CU_ASSERT(file_size(path) > 1024 * 1024); /* checkpointed while open (else 2 pages) */
    struct ledger_status s;
    ledger_status(l, &s);
    CU_ASSERT_EQUAL(s.dropped, 0);
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), total);
}

static void test_full_queue_drops_oldest(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    reset_events();
    struct ledger *l = open_at(path, 0);
    CU_ASSERT(wait_status(l, is_available, 1));
    ledger_test_pause(l, 1);
    for (int i = 0; i < LEDGER_QUEUE_MAX + 50; i++) {
        struct ledger_row r = row_at(1764650000000 + i);
        ledger_append(l, &r);
    }
    struct ledger_status s;
    ledger_status(l, &s);
    CU_ASSERT_EQUAL(s.dropped, 50);
    CU_ASSERT_EQUAL(s.queued, LEDGER_QUEUE_MAX);
    CU_ASSERT_EQUAL(s.written, 0);
    CU_ASSERT(spin_until(&events_dropped));
    CU_ASSERT_EQUAL(events_dropped, 1); /* once, with the count, not per row */
    CU_ASSERT_PTR_NOT_NULL(strstr(last_dropped, "\"count\":50"));
    struct ledger_row more = row_at(1764650000000 + LEDGER_QUEUE_MAX + 50);
    ledger_append(l, &more);
    ev_run(loop, EVRUN_NOWAIT);
    CU_ASSERT_EQUAL(events_dropped, 1); /* at most once a minute */
    ledger_test_pause(l, 0);
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), LEDGER_QUEUE_MAX);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT MIN(ts) FROM usage"), 1764650000000 + 51);
}

/* ---- failures ---- */

static const char garbage[] = "this is not an SQLite database, and zend must leave it be\n";

static void test_corrupt_file_untouched_then_repaired(void);

struct repair_result {
    int done;
    char renamed[4300];
    int renamed_null;
    char message[512];
};

static void on_repair(void *ud, const char *renamed_to, const char *message)
{
    struct repair_result *r = ud;
    r->renamed_null = renamed_to == NULL;
    snprintf(r->renamed, sizeof(r->renamed), "%s", renamed_to ? renamed_to : "");
    snprintf(r->message, sizeof(r->message), "%s", message);
    r->done = 1;
}

struct query_result {
    int done;
    json_t *result;
    char err[512];
};

static void on_query(void *ud, json_t *result, const char *err)
{
    struct query_result *q = ud;
    q->result = result;
    snprintf(q->err, sizeof(q->err), "%s", err ? err : "");
    q->done = 1;
}

static void test_corrupt_file_untouched_then_repaired(void)
{
    char *dir = fresh_dir(), path[4200];
    tu_write_file(dir, LEDGER_FILE, garbage, 0644, path, sizeof(path));
    reset_events();
    struct ledger *l = open_at(path, 0);
    CU_ASSERT(wait_status(l, has_error, 0));
    struct ledger_status s;
    ledger_status(l, &s);
    CU_ASSERT_STRING_EQUAL(s.error, "file is not a database");
    /* Rows keep queueing while it is unavailable. */
    struct ledger_row r = row_at(1764650000000);
    ledger_append(l, &r);
    struct query_result q = {0};
    struct ledger_query lq = {.by = LEDGER_BY_DAY};
    ledger_query(l, &lq, on_query, &q);
    CU_ASSERT(spin_until(&q.done));
    CU_ASSERT_PTR_NULL(q.result);
    CU_ASSERT_PTR_NOT_NULL(strstr(q.err, "usage ledger unavailable: file is not a database"));
    CU_ASSERT_EQUAL(events_failed, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_failure, "file is not a database"));
    char *now = tu_read_file(path);
    CU_ASSERT_STRING_EQUAL(now, garbage);
    free(now);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0644);

    struct repair_result rr = {0};
    ledger_repair(l, on_repair, &rr);
    CU_ASSERT(spin_until(&rr.done));
    CU_ASSERT_FALSE(rr.renamed_null);
    CU_ASSERT_PTR_NOT_NULL(strstr(rr.renamed, "/usage.db.corrupt-"));
    char *moved = tu_read_file(rr.renamed);
    CU_ASSERT_PTR_NOT_NULL(moved);
    if (moved)
        CU_ASSERT_STRING_EQUAL(moved, garbage);
    free(moved);
    ledger_status(l, &s);
    CU_ASSERT_EQUAL(s.available, 1);
    CU_ASSERT(wait_status(l, is_written, 1)); /* the row queued meanwhile lands */
    CU_ASSERT_EQUAL(events_recovered, 1);

    /* A healthy file is left alone. */
    rr = (struct repair_result){0};
    ledger_repair(l, on_repair, &rr);
    CU_ASSERT(spin_until(&rr.done));
    CU_ASSERT(rr.renamed_null);
    CU_ASSERT_PTR_NOT_NULL(strstr(rr.message, "healthy"));
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), 1);
}

/* A file from a newer zend is refused and left as it is; once it is usable
 * again the ledger recovers on its own, at the (shortened) retry interval,
 * and the rows queued meanwhile land. */
static void test_unusable_file_recovers(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    CU_ASSERT(wait_status(l, is_available, 1));
    ledger_close(l);
    sql_exec(path, "PRAGMA user_version = 99");
    reset_events();
    l = open_at(path, 0);
    CU_ASSERT(wait_status(l, has_error, 0));
    struct ledger_status s;
    ledger_status(l, &s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s.error, "schema version 99"));
    for (int i = 0; i < 3; i++) {
        struct ledger_row r = row_at(1764650000000 + i);
        ledger_append(l, &r);
    }
    usleep(300 * 1000); /* several retries fail: still one record */
    ev_run(loop, EVRUN_NOWAIT);
    CU_ASSERT_EQUAL(events_failed, 1);
    CU_ASSERT_EQUAL(sql_int(path, "PRAGMA user_version"), 99);
    /* Not corrupt: repair leaves it alone and says why. */
    struct repair_result rr = {0};
    ledger_repair(l, on_repair, &rr);
    CU_ASSERT(spin_until(&rr.done));
    CU_ASSERT(rr.renamed_null);
    CU_ASSERT_PTR_NOT_NULL(strstr(rr.message, "not corrupt"));
    CU_ASSERT_PTR_NOT_NULL(strstr(rr.message, "schema version 99"));
    sql_exec(path, "PRAGMA user_version = 1");
    CU_ASSERT(wait_status(l, is_written, 3));
    ev_run(loop, EVRUN_NOWAIT);
    CU_ASSERT_EQUAL(events_recovered, 1);
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), 3);
}

/* The file moved away under a running ledger: rows go to a new file at the
 * path, never into the moved inode. */
static void test_replaced_file_reopened(void)
{
    char *dir = fresh_dir(), path[4200], moved[4200];
    db_path(path, sizeof(path), dir);
    snprintf(moved, sizeof(moved), "%s/moved.db", dir);
    struct ledger *l = open_at(path, 0);
    struct ledger_row r = row_at(1764650000000);
    ledger_append(l, &r);
    CU_ASSERT(wait_status(l, is_written, 1));
    CU_ASSERT_EQUAL(rename(path, moved), 0);
    r.ts_ms++;
    ledger_append(l, &r);
    CU_ASSERT(wait_status(l, is_written, 2));
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(moved, "SELECT COUNT(*) FROM usage"), 1);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), 1);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage WHERE ts = 1764650000001"), 1);
}

static void test_retention_deletes_old_rows_only(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    int64_t now = ztime_wall_ms(), day = 86400LL * 1000;
    struct ledger *l = open_at(path, 0);
    int64_t ages[] = {40, 31, 29, 1, 0};
    for (size_t i = 0; i < 5; i++) {
        struct ledger_row r = row_at(now - ages[i] * day);
        ledger_append(l, &r);
    }
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), 5);
    l = open_at(path, 30);
    int64_t deadline = ztime_mono_ms() + 10000;
    while (sql_int(path, "SELECT COUNT(*) FROM usage") != 3 && ztime_mono_ms() < deadline)
        usleep(20 * 1000);
    ledger_close(l);
    CU_ASSERT_EQUAL(sql_int(path, "SELECT COUNT(*) FROM usage"), 3);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT MIN(ts) FROM usage");
    CU_ASSERT_EQUAL(sql_int(path, sql), now - 29 * day);
}

/* ---- usage.query ---- */

/* 2026-12-01 and 2026-12-02 in UTC (the suite runs with TZ=UTC). */
#define D1 1796083200000LL
#define D2 (D1 + 86400000LL)
#define H (3600000LL)

static void fill_query_rows(struct ledger *l)
{
    struct ledger_row rows[] = {
        /* day 1, 10:00 */
        {.ts_ms = D1 + 10 * H, .profile = "work", .session = "a", .scenario = "default",
         .provider = "anthropic", .model_requested = "m1", .model_sent = "m1s", .status = 200,
         .complete = 1, .tokens = {100, 10, 5, 1}, .cost_usd = 1.0, .ttfb_ms = 300},
        {.ts_ms = D1 + 10 * H + 5, .profile = "work", .session = "a", .scenario = "think",
         .provider = "anthropic", .model_requested = "m1", .model_sent = "m1s", .status = 200,
         .complete = 1, .tokens = {200, 20, USAGE_UNKNOWN, USAGE_UNKNOWN}, .cost_usd = 2.0,
         .ttfb_ms = 100},
        /* day 1, 11:00: a failure, no provider, unknown everything */
        {.ts_ms = D1 + 11 * H, .profile = "home", .model_requested = "m2", .status = 502,
         .complete = 0, .tokens = USAGE_TOKENS_NONE, .cost_usd = -1, .ttfb_ms = -1},
        /* day 2 */
        {.ts_ms = D2 + 1 * H, .profile = "work", .session = "b", .provider = "openai",
         .model_requested = "m3", .model_sent = "m3", .status = 200, .complete = 0,
         .tokens = {1, 2, 3, 4}, .cost_usd = -1, .ttfb_ms = 50},
        {.ts_ms = D2 + 2 * H, .profile = "home", .session = "b", .provider = "openai",
         .model_requested = "m3", .model_sent = "m3", .status = 200, .complete = 1,
         .tokens = {10, 20, 30, 40}, .cost_usd = 0.25, .ttfb_ms = 70},
        {.ts_ms = D2 + 2 * H + 1, .profile = "home", .session = "b", .provider = "openai",
         .model_requested = "m3", .model_sent = "m3", .status = 429, .complete = 1,
         .tokens = {0, 0, 0, 0}, .cost_usd = 0, .ttfb_ms = 90},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        ledger_append(l, &rows[i]);
    CU_ASSERT(wait_status(l, is_written, sizeof(rows) / sizeof(rows[0])));
}

static json_t *run_query(struct ledger *l, const struct ledger_query *q)
{
    struct query_result r = {0};
    ledger_query(l, q, on_query, &r);
    CU_ASSERT(spin_until(&r.done));
    CU_ASSERT_PTR_NOT_NULL(r.result);
    return r.result;
}

static const json_t *group(const json_t *res, size_t i)
{
    return json_array_get(json_object_get(res, "groups"), i);
}

static json_int_t num(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

static double real(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static const char *key(const json_t *o) { return json_string_value(json_object_get(o, "key")); }

static void test_query_groupings(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    fill_query_rows(l);

    json_t *r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_DAY});
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(r, "by")), "day");
    CU_ASSERT(json_is_null(json_object_get(r, "since_ms")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 2);
    const json_t *g = group(r, 0);
    CU_ASSERT_STRING_EQUAL(key(g), "2026-12-01");
    CU_ASSERT_EQUAL(num(g, "requests"), 3);
    CU_ASSERT_EQUAL(num(g, "failed"), 1);
    CU_ASSERT_EQUAL(num(g, "input_tokens"), 300);
    CU_ASSERT_EQUAL(num(g, "output_tokens"), 30);
    CU_ASSERT_EQUAL(num(g, "cache_read_tokens"), 5);
    CU_ASSERT_EQUAL(num(g, "cache_write_tokens"), 1);
    CU_ASSERT_DOUBLE_EQUAL(real(g, "cost_usd"), 3.0, 1e-9);
    CU_ASSERT_EQUAL(num(g, "cost_unknown"), 1);
    CU_ASSERT_DOUBLE_EQUAL(real(g, "ttfb_p50_ms"), 200.0, 1e-9); /* (100 + 300) / 2 */
    g = group(r, 1);
    CU_ASSERT_STRING_EQUAL(key(g), "2026-12-02");
    CU_ASSERT_EQUAL(num(g, "requests"), 3);
    CU_ASSERT_EQUAL(num(g, "failed"), 2); /* incomplete, and 429 */
    CU_ASSERT_EQUAL(num(g, "cache_write_tokens"), 44);
    CU_ASSERT_DOUBLE_EQUAL(real(g, "ttfb_p50_ms"), 70.0, 1e-9);
    const json_t *t = json_object_get(r, "total");
    CU_ASSERT_PTR_NULL(json_object_get(t, "key"));
    CU_ASSERT_EQUAL(num(t, "requests"), 6);
    CU_ASSERT_EQUAL(num(t, "failed"), 3);
    CU_ASSERT_EQUAL(num(t, "input_tokens"), 311);
    CU_ASSERT_EQUAL(num(t, "output_tokens"), 52);
    CU_ASSERT_EQUAL(num(t, "cost_unknown"), 2);
    CU_ASSERT_DOUBLE_EQUAL(real(t, "cost_usd"), 3.25, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(real(t, "ttfb_p50_ms"), 90.0, 1e-9); /* 50 70 90 100 300 */
    json_decref(r);

    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_HOUR});
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 4);
    CU_ASSERT_STRING_EQUAL(key(group(r, 0)), "2026-12-01 10:00");
    CU_ASSERT_STRING_EQUAL(key(group(r, 1)), "2026-12-01 11:00");
    CU_ASSERT(json_is_null(json_object_get(group(r, 1), "cost_usd")));
    CU_ASSERT(json_is_null(json_object_get(group(r, 1), "ttfb_p50_ms")));
    CU_ASSERT_EQUAL(num(group(r, 1), "input_tokens"), 0);
    CU_ASSERT_STRING_EQUAL(key(group(r, 3)), "2026-12-02 02:00");
    CU_ASSERT_EQUAL(num(group(r, 3), "requests"), 2);
    json_decref(r);

    /* Other groupings: cost descending, unknown cost last. */
    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_PROVIDER});
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 3);
    CU_ASSERT_STRING_EQUAL(key(group(r, 0)), "anthropic");
    CU_ASSERT_STRING_EQUAL(key(group(r, 1)), "openai");
    CU_ASSERT_DOUBLE_EQUAL(real(group(r, 1), "cost_usd"), 0.25, 1e-9);
    CU_ASSERT_EQUAL(num(group(r, 1), "cost_unknown"), 1);
    CU_ASSERT(json_is_null(json_object_get(group(r, 2), "key")));
    CU_ASSERT(json_is_null(json_object_get(group(r, 2), "cost_usd")));
    json_decref(r);

    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_MODEL});
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 3);
    CU_ASSERT_STRING_EQUAL(key(group(r, 0)), "m1s");
    CU_ASSERT_STRING_EQUAL(key(group(r, 1)), "m3");
    CU_ASSERT_STRING_EQUAL(key(group(r, 2)), "m2"); /* requested: nobody sent it */
    json_decref(r);

    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_PROFILE});
    CU_ASSERT_STRING_EQUAL(key(group(r, 0)), "work");
    CU_ASSERT_EQUAL(num(group(r, 0), "requests"), 3);
    CU_ASSERT_STRING_EQUAL(key(group(r, 1)), "home");
    CU_ASSERT_DOUBLE_EQUAL(real(group(r, 1), "cost_usd"), 0.25, 1e-9);
    json_decref(r);

    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_SESSION});
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 3);
    CU_ASSERT_STRING_EQUAL(key(group(r, 0)), "a");
    CU_ASSERT_STRING_EQUAL(key(group(r, 1)), "b");
    CU_ASSERT_EQUAL(num(group(r, 1), "requests"), 3);
    CU_ASSERT(json_is_null(json_object_get(group(r, 2), "key")));
    json_decref(r);

    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_SCENARIO});
    CU_ASSERT_STRING_EQUAL(key(group(r, 0)), "think");
    CU_ASSERT_STRING_EQUAL(key(group(r, 1)), "default");
    CU_ASSERT_EQUAL(num(group(r, 2), "requests"), 4);
    json_decref(r);

    /* Filters: the time window is [since, until), then profile and provider. */
    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_DAY, .since_ms = D1 + 10 * H + 5,
                                            .until_ms = D2 + 2 * H});
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(r, "since_ms")), D1 + 10 * H + 5);
    CU_ASSERT_EQUAL(num(json_object_get(r, "total"), "requests"), 3);
    CU_ASSERT_EQUAL(num(json_object_get(r, "total"), "input_tokens"), 201);
    json_decref(r);
    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_PROVIDER, .profile = "home",
                                            .provider = "openai"});
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 1);
    CU_ASSERT_EQUAL(num(json_object_get(r, "total"), "requests"), 2);
    CU_ASSERT_DOUBLE_EQUAL(real(json_object_get(r, "total"), "ttfb_p50_ms"), 80.0, 1e-9);
    json_decref(r);
    r = run_query(l, &(struct ledger_query){.by = LEDGER_BY_DAY, .profile = "nobody"});
    CU_ASSERT_EQUAL(json_array_size(json_object_get(r, "groups")), 0);
    CU_ASSERT_EQUAL(num(json_object_get(r, "total"), "requests"), 0);
    CU_ASSERT(json_is_null(json_object_get(json_object_get(r, "total"), "cost_usd")));
    json_decref(r);
    ledger_close(l);
}

static void test_group_names(void)
{
    const char *names[] = {"day", "hour", "provider", "model", "profile", "session", "scenario"};
    for (int i = 0; i < 7; i++) {
        CU_ASSERT_EQUAL(ledger_group_parse(names[i]), i);
        CU_ASSERT_STRING_EQUAL(ledger_group_name((enum ledger_group)i), names[i]);
    }
    CU_ASSERT_EQUAL(ledger_group_parse("week"), -1);
    CU_ASSERT_EQUAL(ledger_group_parse(""), -1);
    CU_ASSERT_EQUAL(ledger_group_parse(NULL), -1);
}

/* ---- the budget's starting sums ---- */

struct spend_result {
    int done;
    size_t n;
    char profile[4][32];
    int null_profile[4];
    double cost[4][3];
};

static void on_spend(void *ud, const int64_t since_ms[3], const struct ledger_spend *rows,
                     size_t n)
{
    struct spend_result *s = ud;
    s->n = n;
    for (size_t i = 0; i < n && i < 4; i++) {
        s->null_profile[i] = rows[i].profile == NULL;
        snprintf(s->profile[i], sizeof(s->profile[i]), "%s", rows[i].profile ? rows[i].profile : "");
        memcpy(s->cost[i], rows[i].cost_usd, sizeof(s->cost[i]));
    }
    s->done = 1;
}

static void test_load_spend_counts_earlier_rows_only(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    struct ledger_row before[] = {
        {.ts_ms = D1 - 40 * 86400000LL, .profile = "work", .status = 200, .cost_usd = 100,
         .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1}, /* before every period */
        {.ts_ms = D1 - 20 * 86400000LL, .profile = "work", .status = 200, .cost_usd = 4,
         .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1}, /* this month only */
        {.ts_ms = D1 - 2 * 86400000LL, .profile = "work", .status = 200, .cost_usd = 2,
         .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1}, /* month and week */
        {.ts_ms = D1 + H, .profile = "work", .status = 200, .cost_usd = 1,
         .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1}, /* all three */
        {.ts_ms = D1 + 2 * H, .profile = NULL, .status = 200, .cost_usd = 0.5,
         .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1},
        {.ts_ms = D1 + 3 * H, .profile = NULL, .status = 200, .cost_usd = -1,
         .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1}, /* unknown: 0 */
    };
    for (size_t i = 0; i < 6; i++)
        ledger_append(l, &before[i]);
    ledger_close(l);

    l = open_at(path, 0);
    struct ledger_row mine = {.ts_ms = D1 + 4 * H, .profile = "work", .status = 200,
                              .cost_usd = 1000, .tokens = USAGE_TOKENS_NONE, .ttfb_ms = -1};
    ledger_append(l, &mine);
    CU_ASSERT(wait_status(l, is_written, 1)); /* this process's row is in the file */
    int64_t since[3] = {D1, D1 - 3 * 86400000LL, D1 - 30 * 86400000LL};
    struct spend_result s = {0};
    ledger_load_spend(l, since, on_spend, &s);
    CU_ASSERT(spin_until(&s.done));
    CU_ASSERT_EQUAL_FATAL(s.n, 2);
    /* NULL profile sorts first in SQLite's GROUP BY */
    CU_ASSERT(s.null_profile[0]);
    CU_ASSERT_DOUBLE_EQUAL(s.cost[0][0], 0.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.cost[0][2], 0.5, 1e-9);
    CU_ASSERT_STRING_EQUAL(s.profile[1], "work");
    CU_ASSERT_DOUBLE_EQUAL(s.cost[1][0], 1.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.cost[1][1], 3.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.cost[1][2], 7.0, 1e-9);
    ledger_close(l);
}

static void test_load_spend_unavailable(void)
{
    char *dir = fresh_dir(), path[4200];
    tu_write_file(dir, LEDGER_FILE, garbage, 0600, path, sizeof(path));
    struct ledger *l = open_at(path, 0);
    int64_t since[3] = {D1, D1, D1};
    struct spend_result s = {.n = 99};
    ledger_load_spend(l, since, on_spend, &s);
    CU_ASSERT(spin_until(&s.done));
    CU_ASSERT_EQUAL(s.n, 0);
    ledger_close(l);
}

/* Queries still pending when the ledger closes get their answer (an error
 * or a result), never silence: a caller's reply token must not leak. */
static void test_close_answers_pending_jobs(void)
{
    char path[4200];
    db_path(path, sizeof(path), fresh_dir());
    struct ledger *l = open_at(path, 0);
    struct query_result q = {0};
    ledger_query(l, &(struct ledger_query){.by = LEDGER_BY_DAY}, on_query, &q);
    ledger_close(l);
    CU_ASSERT_EQUAL(q.done, 1);
    CU_ASSERT(q.result != NULL || q.err[0]);
    json_decref(q.result);
}

static int suite_init(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    setenv(LEDGER_TEST_RETRY_ENV, "50", 1);
    loop = ev_loop_new(EVFLAG_AUTO);
    zlog_add_sink(count_sink, NULL, ZLOG_DEBUG);
    return loop && tu_suite_init() == 0 ? 0 : -1;
}

static int suite_clean(void)
{
    zlog_reset();
    ev_loop_destroy(loop);
    return tu_suite_clean();
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("ledger", suite_init, suite_clean);
    TU_ADD(s, test_round_trip_and_nulls);
    TU_ADD(s, test_5000_rows_after_close);
    TU_ADD(s, test_batch_rows_keep_order_and_values);
    TU_ADD(s, test_idle_hands_memory_back);
    TU_ADD(s, test_wal_stays_bounded);
    TU_ADD(s, test_full_queue_drops_oldest);
    TU_ADD(s, test_corrupt_file_untouched_then_repaired);
    TU_ADD(s, test_unusable_file_recovers);
    TU_ADD(s, test_replaced_file_reopened);
    TU_ADD(s, test_retention_deletes_old_rows_only);
    TU_ADD(s, test_query_groupings);
    TU_ADD(s, test_group_names);
    TU_ADD(s, test_load_spend_counts_earlier_rows_only);
    TU_ADD(s, test_load_spend_unavailable);
    TU_ADD(s, test_close_answers_pending_jobs);
}
