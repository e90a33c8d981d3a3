/* log.h -- structured JSON log records (docs/operations.md, "Log events").
 *
 * One JSON object per line: "timestamp" (UTC, RFC 3339, milliseconds),
 * "level", "event", then the event's own fields in the order given. A field
 * may not reuse a reserved name; such a field is dropped rather than allowed
 * to produce a record with two "level" keys.
 *
 * There is one logger per process. Sinks: a file rotated by size, stderr
 * (foreground), and any number of callback sinks (the in-memory ring and live
 * subscribers hook in here). Each sink has its own minimum level. */
#ifndef ZEN_LOG_H
#define ZEN_LOG_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

enum zlog_level { ZLOG_DEBUG = 0, ZLOG_INFO, ZLOG_WARN, ZLOG_ERROR };

#define ZLOG_MAX_SINKS 8

const char *zlog_level_name(int level);
/* Accepts "debug", "info", "warn" (or "warning"), "error". */
int zlog_level_parse(const char *name, int *level);

/* A record filter: minimum level and, if events is a non-empty array, only
 * those event names. The log bus (backlog) and the control server (live
 * subscribers) both apply it, so it lives with the records. */
struct log_filter {
    int min_level;
    const json_t *events;
};

int log_filter_match(const struct log_filter *f, int level, const char *event);

/* A callback sink gets the finished line (no trailing newline). */
typedef void (*zlog_sink_fn)(void *ctx, int level, const char *event, const char *line,
                             size_t len);

/* Opens (creating 0600) the file sink; rotation keeps `keep` old files
 * path.1 … path.keep, rotating before a write would pass max_bytes. A
 * symbolic link at path is refused (O_NOFOLLOW), not followed. */
int zlog_open_file(const char *path, int min_level, size_t max_bytes, int keep, char *err,
                   size_t errlen);
void zlog_close_file(void);

/* The file sink's write failures (a full disk, EIO): each is one record the
 * file did not get, whole. `failing` is set while the latest attempt failed
 * and cleared by the next record written whole. */
struct zlog_file_report {
    uint64_t write_failed;
    int64_t last_failure_ms; /* monotonic; 0 if never */
    int failing;
};
void zlog_file_report(struct zlog_file_report *r);
/* The file sink's descriptor (-1 if none), for the async-signal-safe
 * worker_fault writer, which cannot go through zlog_emit. */
int zlog_file_fd(void);
/* Turns the stderr sink on or off. When on and stderr is the systemd journal
 * (JOURNAL_STREAM names stderr's device and inode), each line starts with
 * the sd-daemon priority prefix "<N>" so `journalctl -p` can filter it; the
 * file and callback sinks never get the prefix. */
void zlog_set_stderr(int enabled, int min_level);
/* 1 if JOURNAL_STREAM's value ("DEV:INO", decimal) names dev and ino. */
int zlog_journal_stream_matches(const char *value, unsigned long long dev,
                                unsigned long long ino);
/* The syslog priority of a level: debug 7, info 6, warn 4, error 3. */
int zlog_syslog_priority(int level);
/* A new daemon.log_level (a reload): every sink -- file, stderr, callbacks --
 * filters at min_level from now on. Whether stderr is on stays as it was: a
 * daemonized zend detached stderr and must not start writing there again. */
void zlog_set_level(int min_level);
int zlog_add_sink(zlog_sink_fn fn, void *ctx, int min_level);
void zlog_remove_sink(zlog_sink_fn fn, void *ctx);
/* Closes the file and drops every sink (tests call this between cases). */
void zlog_reset(void);

/* 1 if some sink would take a record at this level: lets a caller skip
 * building the fields of a record nobody would see. */
int zlog_enabled(int level);

/* Emits one record. `fields` (a JSON object, may be NULL) is consumed. */
void zlog_emit(int level, const char *event, json_t *fields);
/* Same, with fields built by json_pack(fmt, ...), e.g. "{s:i, s:s}". A
 * format error still emits the record, with a "log_error" field. */
void zlog_pack(int level, const char *event, const char *fmt, ...);

/* Formats one record as a malloc'd, NUL-terminated line without newline.
 * Does not consume fields. Returns NULL only when out of memory. */
char *zlog_format(int level, const char *event, const json_t *fields, int64_t wall_ms);

#endif
