/* logbus.h -- the in-memory side of the structured log (operations.md §11).
 *
 * A zlog sink keeps the last `log_ring` records (as text, parsed only when
 * read) for `zenctl logs -n`, and hands each new record to the control server,
 * which fans it out to live subscribers with bounded queues. On start the
 * ring is preloaded from the tail of zend.log, so a worker that just
 * replaced a crashed one can still show what happened before. */
#ifndef ZEND_LOGBUS_H
#define ZEND_LOGBUS_H

#include <jansson.h>
#include <stddef.h>

struct control_server;
struct logbus;

/* A record filter: minimum level and, if events is a non-empty array, only
 * those event names. */
struct log_filter {
    int min_level;
    const json_t *events;
};

int log_filter_match(const struct log_filter *f, int level, const char *event);

struct logbus *logbus_new(size_t ring_size);
void logbus_free(struct logbus *b);
/* Starts receiving records at min_level and above; new ones go to control. */
int logbus_attach(struct logbus *b, int min_level, struct control_server *control);
void logbus_detach(struct logbus *b);
/* Loads the last ring_size records of a JSON-lines log file. */
void logbus_preload(struct logbus *b, const char *path);
/* Parses up to max of the newest records matching f into out (new
 * references), oldest first. Returns how many. */
size_t logbus_backlog(const struct logbus *b, const struct log_filter *f, json_t **out,
                      size_t max);

#endif
