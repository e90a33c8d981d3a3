/* ledger_query.h -- usage.query's sums over the ledger's rows (the writer
 * thread runs it on its connection; ledger.c decides the groupings). */
#ifndef ZEND_LEDGER_QUERY_H
#define ZEND_LEDGER_QUERY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* One usage.query, as the scan needs it. */
struct ledger_scan {
    const char *by;             /* the grouping's name, for the result */
    const char *key_sql;        /* the SQL expression that keys a row's group */
    int time_ordered;           /* groups in key order (day, hour), else by cost */
    int64_t since_ms, until_ms; /* [since, until); 0 = open */
    const char *profile;        /* filter, or NULL */
    const char *provider;       /* filter, or NULL */
};

/* The usage.query result (proto/PROTOCOL.md) over db's table `usage`:
 * groups with their sums, failures, unknown costs and exact median TTFB,
 * and the total. NULL with err (SQLite's message) when the query fails. */
json_t *ledger_run_query(sqlite3 *db, const struct ledger_scan *q, char *err, size_t errlen);

#endif
