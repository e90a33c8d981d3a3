/* ledger.c -- the usage ledger's queue, writer thread and file (ledger.h).
 *
 * Threads: the loop calls the public functions; one writer thread owns the
 * SQLite connection and does everything that touches the file: batches of
 * rows, queries, the budget's sums, retention and repair. Queries run on
 * the writer between batches rather than on a second connection: one
 * connection means one open/failed state, one identity check and no
 * reader/writer lock contention, and a query runs after the rows queued
 * before it are written, so usage.query sees every request that ended
 * before it was asked. A long query delays the next batch; rows wait in
 * the bounded queue meanwhile (LEDGER_QUEUE_MAX is minutes of traffic).
 *
 * The mutex guards the queue, the job lists, the status and the events for
 * the log; the thread hands events and finished jobs to the loop through an
 * ev_async, and the loop logs them (the thread never calls zlog). */
#include "ledger.h"
#include "ledger_query.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "heap_trim.h"
#include "log.h"
#include "timeutil.h"

#define LEDGER_SCHEMA_VERSION 1
#define LEDGER_DAY_MS (86400LL * 1000)
/* Retention's first pass, after the file opens. */
#define LEDGER_RETENTION_FIRST_MS 2000
#define LEDGER_DROP_LOG_MS (60 * 1000)
#define LEDGER_BUSY_TIMEOUT_MS 1000
/* An idle ledger still notices its file replaced this often (or at the
 * retry interval when that is shorter), so health tells the truth. */
#define LEDGER_IDENTITY_CHECK_MS 5000

/* A queued row: the struct and its strings in one block. */
struct qrow {
    struct qrow *next;
    int64_t queued_mono_ms;
    struct ledger_row r;
};

enum job_kind { JOB_QUERY, JOB_SPEND, JOB_REPAIR };

struct job {
    struct job *next;
    enum job_kind kind;
    void *ud;
    union {
        ledger_query_fn query;
        ledger_spend_fn spend;
        ledger_repair_fn repair;
    } cb;
    /* in */
    struct ledger_query q;
    int64_t since_ms[3];
    /* out */
    json_t *result;
    char err[256];
    struct ledger_spend *spend;
    size_t n_spend;
    char *renamed_to;
};

/* A record the loop logs for the thread. */
struct event {
    struct event *next;
    int level;
    const char *name;
    char message[256];
};

struct ledger {
    struct ev_loop *loop;
    ev_async wake;          /* thread -> loop: events, finished jobs */
    ev_timer drop_timer;    /* the next usage_dropped record, at most once a minute */
    int64_t last_drop_log_ms;
    pthread_t thread;
    char *path;
    int64_t retry_ms;

    pthread_mutex_t mu;
    pthread_cond_t cond;
    /* guarded by mu */
    struct qrow *head, *tail;
    size_t queued;
    struct job *todo, *done;
    struct event *events;
    int stopping, paused;
    int64_t retention_days;
    int available;
    /* Idle release_after_ms after its last write or query (or when the
     * proxy says it is idle: ledger_idle), the writer hands back what they
     * left: the batch insert's program, the page cache's pages, then the
     * heap's free pages (~0.3 MB after a burst of rows: an idle worker
     * within 8 MB or over it). */
    int64_t release_after_ms;
    int64_t release_due_ms;     /* when (0: nothing to hand back) */
    uint64_t released;
    char error[256];
    uint64_t written, dropped, dropped_unlogged;

    /* the writer thread's own */
    sqlite3 *db;
    sqlite3_stmt *insert;       /* one row */
    sqlite3_stmt *insert_many;  /* LEDGER_INSERT_ROWS rows */
    dev_t dev;
    ino_t ino;
    int64_t next_open_ms, next_retention_ms, next_identity_ms;
    char last_logged[256];      /* the failure logged last ("" none since recovery) */
    int failed_once;
    int64_t base_id;            /* rows up to this id were there before this process wrote */
    int inserted;               /* this process inserted a row */
};

/* ---- the thread's messages to the loop ---- */

static void push_event_locked(struct ledger *l, int level, const char *name, const char *msg)
{
    struct event *e = calloc(1, sizeof(*e));
    if (!e)
        return;
    e->level = level;
    e->name = name;
    snprintf(e->message, sizeof(e->message), "%s", msg);
    struct event **p = &l->events;
    while (*p)
        p = &(*p)->next;
    *p = e;
}

/* Marks the ledger unavailable with SQLite's message; logs it once per
 * distinct failure. Caller holds mu. */
static void fail_locked(struct ledger *l, const char *msg)
{
    l->available = 0;
    snprintf(l->error, sizeof(l->error), "%s", msg);
    if (strcmp(l->last_logged, msg) != 0) {
        snprintf(l->last_logged, sizeof(l->last_logged), "%s", msg);
        push_event_locked(l, ZLOG_ERROR, "usage_store_failed", msg);
        ev_async_send(l->loop, &l->wake);
    }
    l->failed_once = 1;
}

/* ---- the file ---- */

static void db_close(struct ledger *l)
{
    sqlite3_finalize(l->insert);
    l->insert = NULL;
    sqlite3_finalize(l->insert_many);
    l->insert_many = NULL;
    sqlite3_close(l->db);
    l->db = NULL;
}

/* The page cache of the ledger's connection, KiB (a string: it goes into a
 * PRAGMA). */
#define LEDGER_CACHE_KIB "256"
/* The writer's stack: SQLite needs far less than the default 8 MiB. */
#define LEDGER_STACK_BYTES (512u * 1024)

/* id is the rowid, no AUTOINCREMENT (which costs a sqlite_sequence update
 * per insert): retention deletes the oldest rows, never the newest, so ids
 * only grow and load_spend's "up to the largest id at open" holds. */
static const char *const schema_v1 =
    "CREATE TABLE IF NOT EXISTS usage ("
    " id INTEGER PRIMARY KEY,"
    " ts INTEGER NOT NULL,"
    " request_id TEXT, profile TEXT, session TEXT, scenario TEXT, client_format TEXT,"
    " provider TEXT, model_requested TEXT, model_sent TEXT,"
    " status INTEGER NOT NULL, attempts INTEGER NOT NULL, stream INTEGER NOT NULL,"
    " complete INTEGER NOT NULL,"
    " input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,"
    " cache_write_tokens INTEGER, cost_usd REAL, ttfb_ms REAL, duration_ms REAL);"
    "CREATE INDEX IF NOT EXISTS usage_ts ON usage(ts);";

static const char *const insert_head =
    "INSERT INTO usage (ts, request_id, profile, session, scenario, client_format, provider,"
    " model_requested, model_sent, status, attempts, stream, complete, input_tokens,"
    " output_tokens, cache_read_tokens, cache_write_tokens, cost_usd, ttfb_ms, duration_ms)"
    " VALUES ";
#define LEDGER_ROW_PARAMS 20
static const char *const insert_values = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
/* Rows per INSERT statement in a batch (a batch's remainder goes one row
 * per statement): each statement opens the table and its index and seeks
 * the table's end, about a third of what a lone row costs SQLite. */
#define LEDGER_INSERT_ROWS 32

/* Prepares an INSERT of n rows. */
static int prepare_insert(sqlite3 *db, int n, sqlite3_stmt **st)
{
    size_t head = strlen(insert_head), one = strlen(insert_values);
    char *sql = malloc(head + (size_t)n * (one + 1) + 1);
    if (!sql)
        return SQLITE_NOMEM;
    char *p = sql;
    memcpy(p, insert_head, head);
    p += head;
    for (int i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        memcpy(p, insert_values, one);
        p += one;
    }
    *p = '\0';
    int rc = sqlite3_prepare_v3(db, sql, (int)(p - sql), SQLITE_PREPARE_PERSISTENT, st, NULL);
    free(sql);
    return rc;
}

static int64_t single_int(sqlite3 *db, const char *sql, int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t v = 0;
    *rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (*rc == SQLITE_OK) {
        *rc = sqlite3_step(st);
        if (*rc == SQLITE_ROW) {
            v = sqlite3_column_int64(st, 0);
            *rc = SQLITE_OK;
        }
    }
    sqlite3_finalize(st);
    return v;
}

/* Brings the schema to LEDGER_SCHEMA_VERSION. A newer file is refused, not
 * touched. */
static int migrate(sqlite3 *db, char *err, size_t errlen)
{
    int rc;
    int64_t version = single_int(db, "PRAGMA user_version", &rc);
    if (rc != SQLITE_OK)
        goto sqlerr;
    if (version > LEDGER_SCHEMA_VERSION) {
        snprintf(err, errlen, "schema version %lld is newer than this zend's (%d)",
                 (long long)version, LEDGER_SCHEMA_VERSION);
        return SQLITE_ERROR;
    }
    if (version == LEDGER_SCHEMA_VERSION)
        return SQLITE_OK;
    /* version 0: a new file. Later versions add their steps here. */
    char sql[1024];
    snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE; %s PRAGMA user_version=%d; COMMIT;", schema_v1,
             LEDGER_SCHEMA_VERSION);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return SQLITE_OK;
sqlerr:
    snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc ? rc : SQLITE_ERROR;
}

/* Opens (creating 0600) the file; SQLITE_OK or the code with err. The -wal
 * and -shm files take the database file's mode (SQLite copies it). */
static int db_open(struct ledger *l, char *err, size_t errlen)
{
    int fd = open(l->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd >= 0)
        close(fd);
    else if (errno != EEXIST) {
        snprintf(err, errlen, "unable to open database file: %s", strerror(errno));
        return SQLITE_CANTOPEN;
    }
    int rc = sqlite3_open_v2(l->path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK)
        goto fail;
    sqlite3_busy_timeout(l->db, LEDGER_BUSY_TIMEOUT_MS);
    if (sqlite3_db_readonly(l->db, "main") == 1) {
        /* SQLite fell back to read-only: the file is write-protected. */
        rc = SQLITE_READONLY;
        snprintf(err, errlen, "%s", sqlite3_errstr(rc));
        db_close(l);
        return rc;
    }
    /* The ledger appends and reads ranges once in a while: a small page cache
     * (256 KiB, not SQLite's 2 MiB) keeps zend's idle memory small. */
    rc = sqlite3_exec(l->db,
                      "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                      " PRAGMA cache_size=-" LEDGER_CACHE_KIB ";",
                      NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    if ((rc = migrate(l->db, err, errlen)) != SQLITE_OK) {
        db_close(l);
        return rc;
    }
    /* insert_many is prepared by the first batch that needs it
     * (write_batch): the idle writer gives it back. */
    rc = prepare_insert(l->db, 1, &l->insert);
    if (rc != SQLITE_OK)
        goto fail;
    struct stat st;
    if (stat(l->path, &st) != 0) {
        snprintf(err, errlen, "unable to open database file: %s", strerror(errno));
        db_close(l);
        return SQLITE_CANTOPEN;
    }
    l->dev = st.st_dev;
    l->ino = st.st_ino;
    if (!l->inserted)
        l->base_id = single_int(l->db, "SELECT COALESCE(MAX(id), 0) FROM usage", &rc);
    return SQLITE_OK;
fail:
    snprintf(err, errlen, "%s", l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
    db_close(l);
    return rc;
}

/* The thread's attempt to (re)open; called without mu. */
static void writer_open(struct ledger *l)
{
    char err[256] = "";
    int rc = db_open(l, err, sizeof(err));
    int64_t now = ztime_mono_ms();
    pthread_mutex_lock(&l->mu);
    if (rc == SQLITE_OK) {
        int recovered = l->failed_once && !l->available;
        l->available = 1;
        l->error[0] = '\0';
        if (recovered) {
            push_event_locked(l, ZLOG_INFO, "usage_store_recovered", l->path);
            ev_async_send(l->loop, &l->wake);
        }
        l->last_logged[0] = '\0';
        l->next_retention_ms = now + LEDGER_RETENTION_FIRST_MS;
    } else {
        fail_locked(l, err);
        l->next_open_ms = now + l->retry_ms;
    }
    pthread_mutex_unlock(&l->mu);
}

/* Is the open connection still the file at path? A file moved away or
 * replaced must not keep receiving rows in an inode nobody sees. */
static int db_is_current(const struct ledger *l)
{
    struct stat st;
    return stat(l->path, &st) == 0 && st.st_dev == l->dev && st.st_ino == l->ino;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void bind_count(sqlite3_stmt *st, int i, int64_t v)
{
    if (v == USAGE_UNKNOWN || v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

static void bind_real(sqlite3_stmt *st, int i, double v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_double(st, i, v);
}

/* Binds r to parameters base+1 .. base+LEDGER_ROW_PARAMS of st: every one
 * of them, so no bindings need clearing between rows. */
static void bind_row(sqlite3_stmt *st, int base, const struct ledger_row *r)
{
    sqlite3_bind_int64(st, base + 1, r->ts_ms);
    const char *texts[] = {r->request_id, r->profile, r->session, r->scenario,
                           r->client_format, r->provider, r->model_requested, r->model_sent};
    for (int i = 0; i < 8; i++)
        bind_text(st, base + 2 + i, texts[i]);
    sqlite3_bind_int(st, base + 10, r->status);
    sqlite3_bind_int(st, base + 11, r->attempts);
    sqlite3_bind_int(st, base + 12, r->stream ? 1 : 0);
    sqlite3_bind_int(st, base + 13, r->complete ? 1 : 0);
    bind_count(st, base + 14, r->tokens.input);
    bind_count(st, base + 15, r->tokens.output);
    bind_count(st, base + 16, r->tokens.cache_read);
    bind_count(st, base + 17, r->tokens.cache_write);
    bind_real(st, base + 18, r->cost_usd);
    bind_real(st, base + 19, r->ttfb_ms);
    sqlite3_bind_double(st, base + 20, r->duration_ms < 0 ? 0 : r->duration_ms);
}

/* Inserts the n rows from *q on (n is what st takes) and advances *q. */
static int insert_rows(sqlite3_stmt *st, struct qrow **q, int n)
{
    for (int i = 0; i < n; i++, *q = (*q)->next)
        bind_row(st, i * LEDGER_ROW_PARAMS, &(*q)->r);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Closes the connection when path is no longer its file (moved away or
 * replaced); returns 0 then. */
static int keep_if_current(struct ledger *l)
{
    if (db_is_current(l))
        return 1;
    /* SQLite does not checkpoint a moved file on close, and its WAL stays
     * at our path, where the next file would pick it up: empty it into the
     * file it belongs to first. */
    sqlite3_wal_checkpoint_v2(l->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
    db_close(l);
    return 0;
}

/* One transaction for the batch. SQLITE_OK, or the failure with err (the
 * connection is then closed). -1: the file was replaced (closed, no error). */
static int write_batch(struct ledger *l, struct qrow *batch, size_t n, char *err,
                       size_t errlen)
{
    if (!keep_if_current(l))
        return -1;
    int rc = sqlite3_exec(l->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    struct qrow *q = batch;
    if (rc == SQLITE_OK && n >= LEDGER_INSERT_ROWS && !l->insert_many)
        rc = prepare_insert(l->db, LEDGER_INSERT_ROWS, &l->insert_many);
    for (; rc == SQLITE_OK && n >= LEDGER_INSERT_ROWS; n -= LEDGER_INSERT_ROWS)
        rc = insert_rows(l->insert_many, &q, LEDGER_INSERT_ROWS);
    for (; rc == SQLITE_OK && n > 0; n--)
        rc = insert_rows(l->insert, &q, 1);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL);
    if (rc == SQLITE_OK) {
        l->inserted = 1;
        return SQLITE_OK;
    }
    snprintf(err, errlen, "%s", sqlite3_errmsg(l->db));
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    db_close(l);
    return rc;
}

static void free_rows(struct qrow *q)
{
    while (q) {
        struct qrow *next = q->next;
        free(q);
        q = next;
    }
}

/* Drops the oldest rows beyond the bound. Caller holds mu; returns them. */
static struct qrow *trim_locked(struct ledger *l)
{
    struct qrow *gone = NULL, **tail = &gone;
    while (l->queued > LEDGER_QUEUE_MAX) {
        struct qrow *q = l->head;
        l->head = q->next;
        if (!l->head)
            l->tail = NULL;
        q->next = NULL;
        *tail = q;
        tail = &q->next;
        l->queued--;
        l->dropped++;
        l->dropped_unlogged++;
    }
    return gone;
}

/* Takes up to LEDGER_BATCH_ROWS rows off the head. Caller holds mu. */
static struct qrow *take_batch_locked(struct ledger *l, size_t *n)
{
    struct qrow *batch = l->head, *last = NULL;
    *n = 0;
    for (struct qrow *q = l->head; q && *n < LEDGER_BATCH_ROWS; q = q->next) {
        last = q;
        (*n)++;
    }
    l->head = last->next;
    if (!l->head)
        l->tail = NULL;
    last->next = NULL;
    l->queued -= *n;
    return batch;
}

/* A failed batch goes back in front, still bounded. Caller holds mu. */
static struct qrow *requeue_locked(struct ledger *l, struct qrow *batch, size_t n)
{
    struct qrow *last = batch;
    while (last->next)
        last = last->next;
    last->next = l->head;
    if (!l->head)
        l->tail = last;
    l->head = batch;
    l->queued += n;
    return trim_locked(l);
}

/* ---- retention ---- */

static void run_retention(struct ledger *l, int64_t days)
{
    if (days <= 0 || !l->db)
        return;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(l->db, "DELETE FROM usage WHERE ts < ?", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_int64(st, 1, ztime_wall_ms() - days * LEDGER_DAY_MS);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

/* ---- groupings ---- */

static const char *const group_names[] = {"day",     "hour",    "provider", "model",
                                          "profile", "session", "scenario"};

/* The SQL expression each grouping keys rows by. Days and hours are the
 * machine's local time. A model is the one sent, or the one asked for when
 * no provider served the request. */
static const char *const group_keys[] = {
    "strftime('%Y-%m-%d', ts / 1000, 'unixepoch', 'localtime')",
    "strftime('%Y-%m-%d %H:00', ts / 1000, 'unixepoch', 'localtime')",
    "provider",
    "COALESCE(model_sent, model_requested)",
    "profile",
    "session",
    "scenario",
};

#define N_GROUPS (sizeof(group_names) / sizeof(group_names[0]))

const char *ledger_group_name(enum ledger_group g)
{
    return (unsigned)g < N_GROUPS ? group_names[g] : "?";
}

int ledger_group_parse(const char *name)
{
    for (size_t i = 0; name && i < N_GROUPS; i++)
        if (strcmp(name, group_names[i]) == 0)
            return (int)i;
    return -1;
}

static json_t *run_query(struct ledger *l, const struct ledger_query *q, char *err,
                         size_t errlen)
{
    if ((unsigned)q->by >= N_GROUPS) {
        snprintf(err, errlen, "unknown grouping");
        return NULL;
    }
    struct ledger_scan scan = {
        .by = group_names[q->by], .key_sql = group_keys[q->by],
        .time_ordered = q->by == LEDGER_BY_DAY || q->by == LEDGER_BY_HOUR,
        .since_ms = q->since_ms, .until_ms = q->until_ms, .profile = q->profile,
        .provider = q->provider};
    return ledger_run_query(l->db, &scan, err, errlen);
}

/* ---- jobs (run on the thread) ---- */

static void run_spend(struct ledger *l, struct job *j)
{
    if (!l->db)
        return;
    int64_t lo = j->since_ms[0];
    for (int i = 1; i < 3; i++)
        if (j->since_ms[i] < lo)
            lo = j->since_ms[i];
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT profile,"
                      " TOTAL(CASE WHEN ts >= ?1 THEN cost_usd END),"
                      " TOTAL(CASE WHEN ts >= ?2 THEN cost_usd END),"
                      " TOTAL(CASE WHEN ts >= ?3 THEN cost_usd END)"
                      " FROM usage WHERE id <= ?4 AND ts >= ?5 GROUP BY profile";
    if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
        return;
    for (int i = 0; i < 3; i++)
        sqlite3_bind_int64(st, i + 1, j->since_ms[i]);
    sqlite3_bind_int64(st, 4, l->base_id);
    sqlite3_bind_int64(st, 5, lo);
    size_t cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (j->n_spend == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct ledger_spend *p = realloc(j->spend, ncap * sizeof(*p));
            if (!p)
                break;
            j->spend = p;
            cap = ncap;
        }
        struct ledger_spend *s = &j->spend[j->n_spend++];
        const unsigned char *p = sqlite3_column_text(st, 0);
        s->profile = p ? strdup((const char *)p) : NULL;
        for (int i = 0; i < 3; i++)
            s->cost_usd[i] = sqlite3_column_double(st, i + 1);
    }
    sqlite3_finalize(st);
}

static int is_corruption(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT;
}

/* Renames path (and its -wal, -shm) to path.corrupt-<s>; a missing side
 * file is fine. */
static int rename_corrupt(const char *path, char *out, size_t outlen, char *err, size_t errlen)
{
    snprintf(out, outlen, "%s.corrupt-%lld", path, (long long)(ztime_wall_ms() / 1000));
    if (rename(path, out) != 0) {
        snprintf(err, errlen, "cannot rename %s: %s", path, strerror(errno));
        return -1;
    }
    static const char *const sides[] = {"-wal", "-shm"};
    for (size_t i = 0; i < 2; i++) {
        char from[4200], to[4200];
        if (snprintf(from, sizeof(from), "%s%s", path, sides[i]) < (int)sizeof(from) &&
            snprintf(to, sizeof(to), "%s%s", out, sides[i]) < (int)sizeof(to))
            (void)rename(from, to);
    }
    return 0;
}

/* SQLITE_OK when PRAGMA quick_check finds nothing wrong. */
static int quick_check(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL), step;
    while (rc == SQLITE_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        const unsigned char *line = sqlite3_column_text(st, 0);
        if (!line || strcmp((const char *)line, "ok") != 0) {
            rc = SQLITE_CORRUPT;
            snprintf(err, errlen, "%s", line ? (const char *)line : "quick_check failed");
        }
    }
    if (rc == SQLITE_OK && step != SQLITE_DONE)
        rc = step;
    if (rc != SQLITE_OK && !err[0])
        snprintf(err, errlen, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc;
}

/* A file is renamed only when it cannot be opened as a database or SQLite
 * finds it corrupt: a read-only file or a newer schema is the user's to fix. */
static void run_repair(struct ledger *l, struct job *j)
{
    char err[256] = "";
    int rc = l->db ? SQLITE_OK : db_open(l, err, sizeof(err));
    if (rc == SQLITE_OK)
        rc = quick_check(l->db, err, sizeof(err));
    if (rc == SQLITE_OK) {
        snprintf(j->err, sizeof(j->err), "%.200s is healthy; nothing renamed", l->path);
        return;
    }
    if (!is_corruption(rc)) {
        snprintf(j->err, sizeof(j->err), "%.120s is not corrupt (%.100s); nothing renamed", l->path,
                 err);
        return;
    }
    db_close(l);
    char renamed[4096];
    if (rename_corrupt(l->path, renamed, sizeof(renamed), err, sizeof(err)) != 0) {
        snprintf(j->err, sizeof(j->err), "%s", err);
        return;
    }
    j->renamed_to = strdup(renamed);
    l->inserted = 0;
    rc = db_open(l, err, sizeof(err));
    snprintf(j->err, sizeof(j->err), "renamed the corrupt file to %.150s; %.60s", renamed,
             rc == SQLITE_OK ? "a new ledger is open" : err);
}

static void run_job(struct ledger *l, struct job *j)
{
    switch (j->kind) {
    case JOB_QUERY:
        if (l->db) {
            j->result = run_query(l, &j->q, j->err, sizeof(j->err));
        } else {
            pthread_mutex_lock(&l->mu);
            snprintf(j->err, sizeof(j->err), "usage ledger unavailable: %.200s", l->error);
            pthread_mutex_unlock(&l->mu);
        }
        break;
    case JOB_SPEND:
        run_spend(l, j);
        break;
    case JOB_REPAIR: {
        int had_db = l->db != NULL;
        run_repair(l, j);
        int64_t now = ztime_mono_ms();
        pthread_mutex_lock(&l->mu);
        if (l->db && !had_db) {
            if (l->failed_once && !l->available)
                push_event_locked(l, ZLOG_INFO, "usage_store_recovered", l->path);
            l->available = 1;
            l->error[0] = '\0';
                l->last_logged[0] = '\0';
            l->next_retention_ms = now + LEDGER_RETENTION_FIRST_MS;
        } else if (!l->db) {
            if (l->available || !l->error[0]) /* e.g. the fresh file did not open */
                fail_locked(l, j->err);
            l->next_open_ms = now + l->retry_ms;
        }
        pthread_mutex_unlock(&l->mu);
        break;
    }
    }
}

/* ---- the writer thread ---- */

static void *writer_main(void *arg)
{
    struct ledger *l = arg;
    int tried_at_stop = 0;
    pthread_setname_np(pthread_self(), "zend-ledger");
    pthread_mutex_lock(&l->mu);
    for (;;) {
        int64_t now = ztime_mono_ms();
        if (!l->db && (now >= l->next_open_ms || (l->stopping && !tried_at_stop))) {
            tried_at_stop = l->stopping;
            pthread_mutex_unlock(&l->mu);
            writer_open(l);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        int rows_due = l->queued && !l->paused &&
                       (l->queued >= LEDGER_BATCH_ROWS || l->stopping || l->todo ||
                        now - l->head->queued_mono_ms >= LEDGER_BATCH_MS);
        if (l->db && rows_due) {
            size_t n;
            struct qrow *batch = take_batch_locked(l, &n);
            pthread_mutex_unlock(&l->mu);
            char err[256] = "";
            int rc = write_batch(l, batch, n, err, sizeof(err));
            pthread_mutex_lock(&l->mu);
            if (rc == SQLITE_OK) {
                l->written += n;
                l->release_due_ms = now + l->release_after_ms;
                free_rows(batch);
                continue;
            }
            struct qrow *gone = requeue_locked(l, batch, n);
            if (rc == -1) {
                l->next_open_ms = now; /* replaced: reopen the file now at path */
            } else {
                fail_locked(l, err);
                l->next_open_ms = now + l->retry_ms;
            }
            if (gone)
                ev_async_send(l->loop, &l->wake);
            pthread_mutex_unlock(&l->mu);
            free_rows(gone);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        if (l->todo) {
            struct job *j = l->todo;
            l->todo = j->next;
            j->next = NULL;
            pthread_mutex_unlock(&l->mu);
            run_job(l, j);
            pthread_mutex_lock(&l->mu);
            l->release_due_ms = ztime_mono_ms() + l->release_after_ms;
            struct job **p = &l->done;
            while (*p)
                p = &(*p)->next;
            *p = j;
            ev_async_send(l->loop, &l->wake);
            continue;
        }
        if (l->stopping)
            break;
        if (l->db && now >= l->next_identity_ms) {
            l->next_identity_ms = now + (l->retry_ms < LEDGER_IDENTITY_CHECK_MS
                                             ? l->retry_ms
                                             : LEDGER_IDENTITY_CHECK_MS);
            pthread_mutex_unlock(&l->mu);
            int kept = keep_if_current(l);
            pthread_mutex_lock(&l->mu);
            if (!kept)
                l->next_open_ms = now; /* reopen the file now at path */
            continue;
        }
        if (l->db && now >= l->next_retention_ms) {
            int64_t days = l->retention_days;
            l->next_retention_ms = now + LEDGER_DAY_MS;
            pthread_mutex_unlock(&l->mu);
            run_retention(l, days);
            pthread_mutex_lock(&l->mu);
            continue;
        }
        if (l->db && l->release_due_ms && now >= l->release_due_ms && !l->queued) {
            l->release_due_ms = 0;
            pthread_mutex_unlock(&l->mu);
            /* The 32-row insert is ~70 KB of program; a burst prepares it
             * again (~0.1 ms). */
            sqlite3_finalize(l->insert_many);
            l->insert_many = NULL;
            sqlite3_db_release_memory(l->db);
            heap_trim();
            pthread_mutex_lock(&l->mu);
            l->released++;
            continue;
        }
        /* Sleep until the next thing due (or a signal). */
        int64_t wake = now + LEDGER_DAY_MS;
        if (l->db && l->release_due_ms && l->release_due_ms < wake)
            wake = l->release_due_ms;
        if (!l->db && l->next_open_ms < wake)
            wake = l->next_open_ms;
        if (l->db && l->next_retention_ms < wake)
            wake = l->next_retention_ms;
        if (l->db && l->next_identity_ms < wake)
            wake = l->next_identity_ms;
        if (l->db && l->queued && !l->paused && l->head->queued_mono_ms + LEDGER_BATCH_MS < wake)
            wake = l->head->queued_mono_ms + LEDGER_BATCH_MS;
        int64_t wall = ztime_wall_ms() + (wake - now);
        struct timespec ts = {.tv_sec = wall / 1000, .tv_nsec = (long)(wall % 1000) * 1000000};
        pthread_cond_timedwait(&l->cond, &l->mu, &ts);
    }
    pthread_mutex_unlock(&l->mu);
    db_close(l);
    return NULL;
}

/* ---- the loop's side ---- */

/* Logs usage_dropped with the rows dropped since the last record. */
static void log_drops_now(struct ledger *l)
{
    pthread_mutex_lock(&l->mu);
    uint64_t n = l->dropped_unlogged, total = l->dropped;
    l->dropped_unlogged = 0;
    pthread_mutex_unlock(&l->mu);
    if (!n)
        return;
    l->last_drop_log_ms = ztime_mono_ms();
    zlog_pack(ZLOG_WARN, "usage_dropped", "{s:I, s:I, s:I}", "count", (json_int_t)n, "total",
              (json_int_t)total, "queue_max", (json_int_t)LEDGER_QUEUE_MAX);
}

static void drop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    log_drops_now(w->data);
}

/* Rows were dropped: one record when the loop next turns (a burst of drops
 * is one record), and at most one a minute. */
static void schedule_drop_log(struct ledger *l)
{
    if (ev_is_active(&l->drop_timer))
        return;
    int64_t left = l->last_drop_log_ms ? l->last_drop_log_ms + LEDGER_DROP_LOG_MS -
                                             ztime_mono_ms()
                                       : 0;
    ev_timer_set(&l->drop_timer, left > 0 ? (double)left / 1000.0 : 0., 0.);
    ev_timer_start(l->loop, &l->drop_timer);
}

static void free_job(struct job *j)
{
    free((char *)j->q.profile);
    free((char *)j->q.provider);
    for (size_t i = 0; i < j->n_spend; i++)
        free((char *)j->spend[i].profile);
    free(j->spend);
    free(j->renamed_to);
    json_decref(j->result);
    free(j);
}

static void finish_job(struct job *j)
{
    switch (j->kind) {
    case JOB_QUERY:
        j->cb.query(j->ud, j->result, j->result ? NULL : j->err);
        j->result = NULL; /* the callback owns it */
        break;
    case JOB_SPEND:
        j->cb.spend(j->ud, j->since_ms, j->spend, j->n_spend);
        break;
    case JOB_REPAIR:
        j->cb.repair(j->ud, j->renamed_to, j->err);
        break;
    }
    free_job(j);
}

/* Logs what the thread asked for and runs the finished jobs' callbacks. */
static void drain_to_loop(struct ledger *l)
{
    pthread_mutex_lock(&l->mu);
    struct event *events = l->events;
    struct job *done = l->done;
    l->events = NULL;
    l->done = NULL;
    pthread_mutex_unlock(&l->mu);
    while (events) {
        struct event *e = events;
        events = e->next;
        if (strcmp(e->name, "usage_store_failed") == 0)
            zlog_pack(e->level, "usage_store_failed", "{s:s, s:s}", "path", l->path, "detail",
                      e->message);
        else
            zlog_pack(e->level, "usage_store_recovered", "{s:s}", "path", l->path);
        free(e);
    }
    while (done) {
        struct job *j = done;
        done = j->next;
        finish_job(j);
    }
    pthread_mutex_lock(&l->mu);
    int dropped = l->dropped_unlogged > 0;
    pthread_mutex_unlock(&l->mu);
    if (dropped)
        schedule_drop_log(l);
}

static void wake_cb(struct ev_loop *loop, ev_async *w, int revents) { drain_to_loop(w->data); }

static int64_t retry_interval_ms(void)
{
    const char *v = getenv(LEDGER_TEST_RETRY_ENV);
    char *end;
    long long ms = v ? strtoll(v, &end, 10) : 0;
    return v && *v && !*end && ms > 0 ? (int64_t)ms : LEDGER_RETRY_MS;
}

struct ledger *ledger_open(struct ev_loop *loop, const struct ledger_options *o, char *err,
                           size_t errlen)
{
    struct ledger *l = calloc(1, sizeof(*l));
    if (!l || !(l->path = strdup(o->path))) {
        free(l);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->loop = loop;
    /* Available until the first open says otherwise: health must not call
     * a ledger that has not tried yet unavailable. */
    l->available = 1;
    l->retention_days = o->retention_days;
    l->release_after_ms = o->idle_release_ms > 0 ? o->idle_release_ms : LEDGER_IDLE_RELEASE_MS;
    l->retry_ms = retry_interval_ms();
    pthread_mutex_init(&l->mu, NULL);
    pthread_cond_init(&l->cond, NULL);
    ev_async_init(&l->wake, wake_cb);
    l->wake.data = l;
    ev_async_start(loop, &l->wake);
    ev_timer_init(&l->drop_timer, drop_timer_cb, 0., 0.);
    l->drop_timer.data = l;
    /* No bulk page-cache allocation per connection (SQLite's default: 20
     * pages, each slot written to at once, ~90 KB resident for good): pages
     * come one by one as the cache fills. Only before SQLite's first use,
     * so by the first ledger_open (on the loop's thread), before any writer
     * thread exists. */
    static int sqlite_configured;
    if (!sqlite_configured) {
        sqlite_configured = 1;
        sqlite3_config(SQLITE_CONFIG_PAGECACHE, NULL, 0, 0);
        /* Nobody reads SQLite's memory statistics; keeping them takes a
         * global mutex around every allocation SQLite makes (several per
         * row). */
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
    pthread_attr_t attr;
    int rc = pthread_attr_init(&attr);
    if (rc == 0) {
        pthread_attr_setstacksize(&attr, LEDGER_STACK_BYTES);
        rc = pthread_create(&l->thread, &attr, writer_main, l);
        pthread_attr_destroy(&attr);
    }
    if (rc != 0) {
        snprintf(err, errlen, "cannot start the ledger's thread: %s", strerror(rc));
        ev_async_stop(loop, &l->wake);
        pthread_cond_destroy(&l->cond);
        pthread_mutex_destroy(&l->mu);
        free(l->path);
        free(l);
        return NULL;
    }
    return l;
}

static size_t str_size(const char *s) { return s ? strlen(s) + 1 : 0; }

static const char *copy_str(char **p, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    memcpy(*p, s, n);
    const char *out = *p;
    *p += n;
    return out;
}

void ledger_append(struct ledger *l, const struct ledger_row *row)
{
    const char *const strs[] = {row->request_id, row->profile, row->session, row->scenario,
                                row->client_format, row->provider, row->model_requested,
                                row->model_sent};
    size_t extra = 0;
    for (size_t i = 0; i < 8; i++)
        extra += str_size(strs[i]);
    struct qrow *q = malloc(sizeof(*q) + extra);
    if (!q)
        return;
    q->next = NULL;
    q->queued_mono_ms = ztime_mono_ms();
    q->r = *row;
    char *p = (char *)(q + 1);
    q->r.request_id = copy_str(&p, row->request_id);
    q->r.profile = copy_str(&p, row->profile);
    q->r.session = copy_str(&p, row->session);
    q->r.scenario = copy_str(&p, row->scenario);
    q->r.client_format = copy_str(&p, row->client_format);
    q->r.provider = copy_str(&p, row->provider);
    q->r.model_requested = copy_str(&p, row->model_requested);
    q->r.model_sent = copy_str(&p, row->model_sent);

    pthread_mutex_lock(&l->mu);
    if (l->tail)
        l->tail->next = q;
    else
        l->head = q;
    l->tail = q;
    l->queued++;
    struct qrow *gone = trim_locked(l);
    /* Wake the writer when its clock starts or a batch is full; other rows
     * just join the batch it is timing. */
    if (l->queued == 1 || l->queued == LEDGER_BATCH_ROWS)
        pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
    if (gone) {
        free_rows(gone);
        schedule_drop_log(l);
    }
}

static void submit(struct ledger *l, struct job *j)
{
    pthread_mutex_lock(&l->mu);
    struct job **p = &l->todo;
    while (*p)
        p = &(*p)->next;
    *p = j;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

void ledger_close(struct ledger *l)
{
    if (!l)
        return;
    pthread_mutex_lock(&l->mu);
    l->stopping = 1;
    l->paused = 0;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
    pthread_join(l->thread, NULL);
    /* Rows the file could not take are lost now: say how many. */
    l->dropped_unlogged += l->queued;
    l->dropped += l->queued;
    free_rows(l->head);
    l->head = l->tail = NULL;
    l->queued = 0;
    drain_to_loop(l);
    ev_timer_stop(l->loop, &l->drop_timer);
    log_drops_now(l);
    ev_async_stop(l->loop, &l->wake);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->mu);
    free(l->path);
    free(l);
}

void ledger_status(struct ledger *l, struct ledger_status *out)
{
    pthread_mutex_lock(&l->mu);
    out->available = l->available;
    snprintf(out->error, sizeof(out->error), "%s", l->available ? "" : l->error);
    out->written = l->written;
    out->dropped = l->dropped;
    out->queued = l->queued;
    out->released = l->released;
    pthread_mutex_unlock(&l->mu);
}

void ledger_set_retention(struct ledger *l, int64_t retention_days)
{
    pthread_mutex_lock(&l->mu);
    l->retention_days = retention_days;
    l->next_retention_ms = ztime_mono_ms();
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

void ledger_idle(struct ledger *l)
{
    pthread_mutex_lock(&l->mu);
    if (l->release_due_ms) {
        l->release_due_ms = ztime_mono_ms();
        pthread_cond_signal(&l->cond);
    }
    pthread_mutex_unlock(&l->mu);
}

void ledger_test_pause(struct ledger *l, int paused)
{
    pthread_mutex_lock(&l->mu);
    l->paused = paused;
    pthread_cond_signal(&l->cond);
    pthread_mutex_unlock(&l->mu);
}

static struct job *new_job(enum job_kind kind, void *ud)
{
    struct job *j = calloc(1, sizeof(*j));
    if (j) {
        j->kind = kind;
        j->ud = ud;
    }
    return j;
}

void ledger_load_spend(struct ledger *l, const int64_t since_ms[3], ledger_spend_fn cb,
                       void *ud)
{
    struct job *j = new_job(JOB_SPEND, ud);
    if (!j) {
        cb(ud, since_ms, NULL, 0);
        return;
    }
    j->cb.spend = cb;
    memcpy(j->since_ms, since_ms, sizeof(j->since_ms));
    submit(l, j);
}

void ledger_query(struct ledger *l, const struct ledger_query *q, ledger_query_fn cb, void *ud)
{
    struct job *j = new_job(JOB_QUERY, ud);
    if (!j) {
        cb(ud, NULL, "out of memory");
        return;
    }
    j->cb.query = cb;
    j->q = *q;
    j->q.profile = q->profile ? strdup(q->profile) : NULL;
    j->q.provider = q->provider ? strdup(q->provider) : NULL;
    submit(l, j);
}

void ledger_repair(struct ledger *l, ledger_repair_fn cb, void *ud)
{
    struct job *j = new_job(JOB_REPAIR, ud);
    if (!j) {
        cb(ud, NULL, "out of memory");
        return;
    }
    j->cb.repair = cb;
    submit(l, j);
}
