/* ledger_query.h -- usage.query's answer from the ledger's rows (the writer
 * thread runs it on its connection; ledger.c). */
#ifndef ZEND_LEDGER_QUERY_H
#define ZEND_LEDGER_QUERY_H

#include <jansson.h>
#include <sqlite3.h>
#include <stddef.h>

#include "ledger.h"

/* The usage.query result (proto/PROTOCOL.md) for q over db's rows: groups
 * with their sums, failures, unknown costs and exact median TTFB, and the
 * total. NULL with err (SQLite's message) when the query fails. */
json_t *ledger_run_query(sqlite3 *db, const struct ledger_query *q, char *err, size_t errlen);

#endif
