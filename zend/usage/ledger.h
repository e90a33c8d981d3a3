/* ledger.h -- the usage ledger: one SQLite row per finished client request
 * (docs/usage.md).
 *
 * The event loop never waits on the disk. ledger_append copies the row into
 * a bounded in-memory queue and returns; a writer thread inserts queued rows
 * in one transaction per batch (every LEDGER_BATCH_MS or LEDGER_BATCH_ROWS
 * rows, whichever comes first). Beyond LEDGER_QUEUE_MAX queued rows the
 * oldest are dropped and counted (usage_dropped, logged at most once a
 * minute); nothing ever blocks the loop. Queries (usage.query, the budget's
 * spend at start) run off the loop too, and their answers come back to the
 * loop through an ev_async: every callback below runs on the loop thread,
 * and so does every log record (the thread never calls zlog itself).
 *
 * The file is ZEN_HOME/usage.db: WAL, synchronous=NORMAL, created 0600,
 * schema version in PRAGMA user_version (migrations run at open). A file
 * that cannot be opened, is corrupt or read-only does not stop the proxy:
 * the ledger logs usage_store_failed with SQLite's message, reports itself
 * unavailable (health's degraded reason), keeps queueing (dropping the
 * oldest) and retries opening every LEDGER_RETRY_MS. It never deletes or
 * renames the user's file; only ledger_repair (zenctl usage --repair)
 * renames a corrupt one to usage.db.corrupt-<ts>.
 *
 * Rows older than retention_days are deleted once a day. */
#ifndef ZEND_LEDGER_H
#define ZEND_LEDGER_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "usage_tokens.h"

#define LEDGER_FILE "usage.db"
#define LEDGER_BATCH_MS 200
#define LEDGER_BATCH_ROWS 500
#define LEDGER_QUEUE_MAX 10000
#define LEDGER_RETRY_MS (60 * 1000)
#define LEDGER_IDLE_RELEASE_MS 1000
/* Tests shorten the reopen interval (milliseconds) through this. */
#define LEDGER_TEST_RETRY_ENV "ZEND_TEST_LEDGER_RETRY_MS"

/* One finished client request. Strings may be NULL (stored as NULL) and
 * are copied by ledger_append. */
struct ledger_row {
    int64_t ts_ms;              /* when the request ended, ms since the epoch (UTC) */
    const char *request_id;
    const char *profile;
    const char *session;        /* the session key, or NULL */
    const char *scenario;       /* the routing scenario, or NULL */
    const char *client_format;  /* "anthropic", "chat", "responses" */
    const char *provider;       /* the provider that served it; NULL: none did */
    const char *model_requested;
    const char *model_sent;
    int status;                 /* the status sent to the client; 0 none */
    int attempts;               /* attempts made, failed ones included */
    int stream;                 /* 0/1 */
    int complete;               /* 0/1: the answer reached the client whole */
    struct usage_tokens tokens; /* USAGE_UNKNOWN -> NULL */
    double cost_usd;            /* < 0: the price is unknown -> NULL */
    double ttfb_ms;             /* < 0: nothing was sent -> NULL */
    double duration_ms;
};

struct ledger_options {
    const char *path;           /* the database file */
    int64_t retention_days;     /* rows older than this are deleted; 0 = keep all */
    int64_t idle_release_ms;    /* hand memory back this long after the last write or
                                 * query; 0 = LEDGER_IDLE_RELEASE_MS */
};

struct ledger;

/* Starts the writer thread and opens the file (in the thread: open errors
 * show in ledger_status, not here). NULL only when out of memory or the
 * thread cannot start (err says which). */
struct ledger *ledger_open(struct ev_loop *loop, const struct ledger_options *o, char *err,
                           size_t errlen);
/* Queues a copy of row; never blocks. */
void ledger_append(struct ledger *l, const struct ledger_row *row);
/* Graceful: writes every queued row (waiting for the writer as long as it
 * takes), then stops the thread, closes the file and frees l. NULL is a
 * no-op. */
void ledger_close(struct ledger *l);

struct ledger_status {
    int available;              /* the file is open and the last write worked */
    char error[256];            /* why not (SQLite's message), "" when available */
    uint64_t written;           /* rows inserted since open */
    uint64_t dropped;           /* rows dropped from a full queue since open */
    uint64_t queued;            /* rows waiting right now */
    uint64_t released;          /* times the idle writer handed its memory back */
};
void ledger_status(struct ledger *l, struct ledger_status *out);

/* A reload's new daemon.usage.retention_days (applied at once, then daily). */
void ledger_set_retention(struct ledger *l, int64_t retention_days);
/* Nothing is in flight and nothing has begun for a while (the proxy's idle
 * point, heap_trim.h): the writer hands back the memory its writing and
 * queries left (the batch insert's program, the page cache, free heap
 * pages) now rather than LEDGER_IDLE_RELEASE_MS after its last write. */
void ledger_idle(struct ledger *l);
/* Tests only: a paused writer writes no rows (queries still run), so the
 * queue fills as it would behind a stuck disk. */
void ledger_test_pause(struct ledger *l, int paused);

/* ---- the budget's starting point ---- */

/* The spend already in the ledger when it opened (rows from before this
 * process), per profile, since each of three instants (the starts of the
 * current day, week and month -- budget.h decides them). */
struct ledger_spend {
    const char *profile;        /* NULL: rows without a profile */
    double cost_usd[3];         /* since since_ms[0], [1], [2]; unknown costs count 0 */
};
typedef void (*ledger_spend_fn)(void *ud, const int64_t since_ms[3],
                                const struct ledger_spend *rows, size_t n);
/* Asks for the sums; cb runs on the loop once (n = 0 when the file is
 * unavailable: the budget then starts from what this process sees). The
 * sums cover exactly the rows written before this process's first insert,
 * so adding this process's own requests to them counts nothing twice. */
void ledger_load_spend(struct ledger *l, const int64_t since_ms[3], ledger_spend_fn cb,
                       void *ud);

/* ---- queries (the usage.query RPC) ---- */

enum ledger_group {
    LEDGER_BY_DAY, LEDGER_BY_HOUR, LEDGER_BY_PROVIDER, LEDGER_BY_MODEL,
    LEDGER_BY_PROFILE, LEDGER_BY_SESSION, LEDGER_BY_SCENARIO,
};
/* "day" ... "scenario" <-> the enum; parse returns -1 for anything else. */
const char *ledger_group_name(enum ledger_group g);
int ledger_group_parse(const char *name);

struct ledger_query {
    int64_t since_ms, until_ms; /* [since, until); 0 = open */
    enum ledger_group by;
    const char *profile;        /* filter, or NULL; copied */
    const char *provider;       /* filter, or NULL; copied */
};

/* result: the usage.query RPC result (proto/PROTOCOL.md) -- a new reference
 * the callback owns -- or NULL with err (the ledger is unavailable). */
typedef void (*ledger_query_fn)(void *ud, json_t *result, const char *err);
/* Runs q off the loop; cb runs on the loop once. */
void ledger_query(struct ledger *l, const struct ledger_query *q, ledger_query_fn cb, void *ud);

/* Renames a file that cannot be opened as a database (corrupt, not a
 * database) to <path>.corrupt-<unix seconds> with its -wal and -shm, and
 * opens a fresh one. cb gets the new name, or NULL when the file was
 * healthy and nothing was renamed, and a message. Runs on the loop. */
typedef void (*ledger_repair_fn)(void *ud, const char *renamed_to, const char *message);
void ledger_repair(struct ledger *l, ledger_repair_fn cb, void *ud);

#endif
