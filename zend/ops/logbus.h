/* logbus.h -- the in-memory side of the structured log (docs/operations.md,
 * "Log events").
 *
 * A zlog sink keeps the last `log_ring` records (as text, parsed only when
 * read) for `zenctl logs -n`, and hands each new record to a publish
 * callback (the worker wires it to the control server, which fans it out to
 * live subscribers with bounded queues). On start the
 * ring is preloaded from the tail of zend.log, so a worker that just
 * replaced a crashed one can still show what happened before. */
#ifndef ZEND_LOGBUS_H
#define ZEND_LOGBUS_H

#include <jansson.h>
#include <stddef.h>

#include "log.h"

struct logbus;

struct logbus *logbus_new(size_t ring_size);
void logbus_free(struct logbus *b);
/* Starts receiving records at min_level and above; each new one is also
 * handed to publish(ctx, ...) when publish is not NULL. */
int logbus_attach(struct logbus *b, int min_level, zlog_sink_fn publish, void *publish_ctx);
void logbus_detach(struct logbus *b);
/* Loads the last ring_size records of a JSON-lines log file. */
void logbus_preload(struct logbus *b, const char *path);
/* Parses up to max of the newest records matching f into out (new
 * references), oldest first. Returns how many. */
size_t logbus_backlog(const struct logbus *b, const struct log_filter *f, json_t **out,
                      size_t max);

#endif
