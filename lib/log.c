#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "timeutil.h"

/* Enough digits for µs precision on millisecond values, without printing
 * 0.1 as 0.10000000000000001. */
#define ZLOG_JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(10))

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static const char *const reserved_keys[] = {"timestamp", "level", "event"};

struct callback_sink {
    zlog_sink_fn fn;
    void *ctx;
    int min_level;
};

static struct {
    int file_fd;
    char file_path[PATH_MAX]; /* empty: no file sink */
    int file_level;
    size_t file_size;
    size_t max_bytes;
    int keep;
    /* A record cut short that could not be taken back: the next one starts
     * with a newline so it is not glued to the fragment. */
    int need_newline;
    uint64_t write_failed;
    int64_t last_failure_ms;
    int failing;
    int stderr_enabled;
    int stderr_level;
    int stderr_journal; /* stderr is the journal: lines carry "<N>" */
    struct callback_sink sinks[ZLOG_MAX_SINKS];
    int nsinks;
} logger = {.file_fd = -1};

const char *zlog_level_name(int level)
{
    if (level < ZLOG_DEBUG || level > ZLOG_ERROR)
        return "info";
    return level_names[level];
}

int zlog_level_parse(const char *name, int *level)
{
    for (int i = 0; i < (int)ZEN_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *level = i;
            return ZEN_OK;
        }
    }
    if (strcmp(name, "warning") == 0) {
        *level = ZLOG_WARN;
        return ZEN_OK;
    }
    return ZEN_ERR;
}

/* O_NOFOLLOW: a symlink planted at the log's name must not turn our
 * appends into writes to whatever file it points at. */
static int open_log_fd(const char *path, int extra_flags)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC | extra_flags,
                0600);
}

int zlog_open_file(const char *path, int min_level, size_t max_bytes, int keep, char *err,
                   size_t errlen)
{
    zlog_close_file();
    int fd = open_log_fd(path, 0);
    if (fd < 0) {
        if (errno == ELOOP)
            snprintf(err, errlen,
                     "cannot open log file %s: it is a symbolic link, which zend does not "
                     "follow; remove it, or set daemon.log_file to the real path",
                     path);
        else
            snprintf(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
        return ZEN_ERR;
    }
    struct stat st;
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    logger.file_size = regular ? (size_t)st.st_size : 0;
    /* Never "rotate" /dev/null or a pipe: renaming it away would replace a
     * device node with a regular file. */
    if (!regular)
        max_bytes = 0;
    snprintf(logger.file_path, sizeof(logger.file_path), "%s", path);
    logger.file_fd = fd;
    logger.file_level = min_level;
    logger.max_bytes = max_bytes;
    logger.keep = keep;
    logger.need_newline = 0;
    return ZEN_OK;
}

int zlog_file_fd(void) { return logger.file_fd; }

static void close_fd(void)
{
    if (logger.file_fd >= 0)
        close(logger.file_fd);
    logger.file_fd = -1;
}

void zlog_close_file(void)
{
    close_fd();
    logger.file_path[0] = '\0';
}

void zlog_file_report(struct zlog_file_report *r)
{
    r->write_failed = logger.write_failed;
    r->last_failure_ms = logger.last_failure_ms;
    r->failing = logger.failing;
}

int zlog_journal_stream_matches(const char *value, unsigned long long dev,
                                unsigned long long ino)
{
    if (!value || !*value)
        return 0;
    char *end;
    errno = 0;
    unsigned long long d = strtoull(value, &end, 10);
    if (errno || end == value || *end != ':')
        return 0;
    const char *p = end + 1;
    unsigned long long i = strtoull(p, &end, 10);
    if (errno || end == p || *end)
        return 0;
    return d == dev && i == ino;
}

int zlog_syslog_priority(int level)
{
    static const int priorities[] = {7, 6, 4, 3}; /* LOG_DEBUG, INFO, WARNING, ERR */
    if (level < ZLOG_DEBUG || level > ZLOG_ERROR)
        return 6;
    return priorities[level];
}

/* systemd sets JOURNAL_STREAM for the service's stdout/stderr; a child whose
 * stderr was redirected elsewhere inherits the variable, hence the compare. */
static int stderr_is_journal(void)
{
    struct stat st;
    const char *v = getenv("JOURNAL_STREAM");
    if (!v || fstat(STDERR_FILENO, &st) != 0)
        return 0;
    return zlog_journal_stream_matches(v, (unsigned long long)st.st_dev,
                                       (unsigned long long)st.st_ino);
}

void zlog_set_stderr(int enabled, int min_level)
{
    logger.stderr_enabled = enabled;
    logger.stderr_level = min_level;
    logger.stderr_journal = enabled && stderr_is_journal();
}

int zlog_enabled(int level)
{
    if (logger.file_path[0] && level >= logger.file_level)
        return 1;
    if (logger.stderr_enabled && level >= logger.stderr_level)
        return 1;
    for (int i = 0; i < logger.nsinks; i++)
        if (level >= logger.sinks[i].min_level)
            return 1;
    return 0;
}

int log_filter_match(const struct log_filter *f, int level, const char *event)
{
    if (level < f->min_level)
        return 0;
    if (json_array_size(f->events) == 0)
        return 1;
    size_t i;
    json_t *e;
    json_array_foreach(f->events, i, e)
        if (event && json_is_string(e) && strcmp(json_string_value(e), event) == 0)
            return 1;
    return 0;
}

void zlog_set_level(int min_level)
{
    logger.file_level = min_level;
    logger.stderr_level = min_level; /* enabled or not, as it was */
    for (int i = 0; i < logger.nsinks; i++)
        logger.sinks[i].min_level = min_level;
}

int zlog_add_sink(zlog_sink_fn fn, void *ctx, int min_level)
{
    if (logger.nsinks >= ZLOG_MAX_SINKS)
        return ZEN_ERR;
    logger.sinks[logger.nsinks++] = (struct callback_sink){fn, ctx, min_level};
    return ZEN_OK;
}

void zlog_remove_sink(zlog_sink_fn fn, void *ctx)
{
    for (int i = 0; i < logger.nsinks; i++) {
        if (logger.sinks[i].fn == fn && logger.sinks[i].ctx == ctx) {
            memmove(&logger.sinks[i], &logger.sinks[i + 1],
                    (size_t)(logger.nsinks - i - 1) * sizeof(logger.sinks[0]));
            logger.nsinks--;
            return;
        }
    }
}

void zlog_reset(void)
{
    zlog_close_file();
    logger.write_failed = 0;
    logger.last_failure_ms = 0;
    logger.failing = 0;
    logger.stderr_enabled = 0;
    logger.stderr_journal = 0;
    logger.nsinks = 0;
}

static int is_reserved(const char *key)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(reserved_keys); i++)
        if (strcmp(key, reserved_keys[i]) == 0)
            return 1;
    return 0;
}

char *zlog_format(int level, const char *event, const json_t *fields, int64_t wall_ms)
{
    char ts[ZTIME_RFC3339_LEN];
    ztime_format_rfc3339_ms(wall_ms, ts);
    json_t *rec = json_object();
    if (!rec)
        return NULL;
    /* jansson keeps insertion order, so the reserved keys come first. */
    json_object_set_new(rec, "timestamp", json_string(ts));
    json_object_set_new(rec, "level", json_string(zlog_level_name(level)));
    json_object_set_new(rec, "event", json_string(event));
    if (json_is_object(fields)) {
        const char *key;
        json_t *value;
        json_object_foreach((json_t *)fields, key, value) {
            if (!is_reserved(key))
                json_object_set(rec, key, value);
        }
    }
    char *line = json_dumps(rec, ZLOG_JSON_FLAGS);
    json_decref(rec);
    return line;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return ZEN_ERR;
        }
        p += w;
        n -= (size_t)w;
    }
    return ZEN_OK;
}

/* path.N-1 → path.N … path → path.1, then a fresh file. Oldest falls off.
 * The fresh file is created O_EXCL: after the rename the name is free, and
 * anything found there now was put there by someone else. */
static void rotate_file(void)
{
    char from[PATH_MAX + 16], to[PATH_MAX + 16];
    close_fd();
    if (logger.keep <= 0) {
        unlink(logger.file_path);
    } else {
        snprintf(to, sizeof(to), "%s.%d", logger.file_path, logger.keep);
        unlink(to);
        for (int i = logger.keep - 1; i >= 1; i--) {
            snprintf(from, sizeof(from), "%s.%d", logger.file_path, i);
            snprintf(to, sizeof(to), "%s.%d", logger.file_path, i + 1);
            rename(from, to);
        }
        snprintf(to, sizeof(to), "%s.1", logger.file_path);
        rename(logger.file_path, to);
    }
    logger.file_fd = open_log_fd(logger.file_path, O_EXCL);
    logger.file_size = 0;
    logger.need_newline = 0;
}

/* Counts a record the file did not get. Nothing is logged about it: that
 * would be one more record for the same full disk, from inside the logger. */
static void note_write_failure(void)
{
    logger.write_failed++;
    logger.last_failure_ms = ztime_mono_ms();
    logger.failing = 1;
}

/* A write cut short (ENOSPC, EFBIG) left the first `written` bytes of a
 * record at the end of the file: cut them off again, or failing that, make
 * the next record start on a fresh line. */
static void take_back_partial(size_t written)
{
    struct stat st;
    if (fstat(logger.file_fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (size_t)st.st_size >= written &&
        ftruncate(logger.file_fd, st.st_size - (off_t)written) == 0)
        return;
    logger.file_size += written;
    logger.need_newline = 1;
}

/* One write() per record, so a record is in the file whole or not at all
 * (short of a torn fragment we could not cut off); several processes append
 * to the same file, and O_APPEND keeps each write() in one piece. */
static void write_file(const char *line, size_t len)
{
    if (logger.max_bytes > 0 && logger.file_size > 0 &&
        logger.file_size + len > logger.max_bytes)
        rotate_file();
    if (logger.file_fd < 0) /* a rotation or an earlier reopen failed: try again */
        logger.file_fd = open_log_fd(logger.file_path, 0);
    if (logger.file_fd < 0) {
        note_write_failure();
        return;
    }
    char *joined = NULL;
    if (logger.need_newline) {
        joined = malloc(len + 1);
        if (!joined) {
            note_write_failure();
            return;
        }
        joined[0] = '\n';
        memcpy(joined + 1, line, len);
        line = joined;
        len++;
    }
    ssize_t w;
    do
        w = write(logger.file_fd, line, len);
    while (w < 0 && errno == EINTR);
    if (w == (ssize_t)len) {
        logger.file_size += len;
        logger.need_newline = 0;
        logger.failing = 0;
    } else {
        note_write_failure();
        if (w > 0)
            take_back_partial((size_t)w);
    }
    free(joined);
}

/* One write per line: the journal takes each write as one entry at most. */
static void write_stderr(int level, const char *line, size_t len)
{
    if (!logger.stderr_journal) {
        (void)write_all(STDERR_FILENO, line, len);
        return;
    }
    char *prefixed = malloc(len + 4);
    if (!prefixed)
        return;
    prefixed[0] = '<';
    prefixed[1] = (char)('0' + zlog_syslog_priority(level));
    prefixed[2] = '>';
    memcpy(prefixed + 3, line, len);
    (void)write_all(STDERR_FILENO, prefixed, len + 3);
    free(prefixed);
}

void zlog_emit(int level, const char *event, json_t *fields)
{
    char *line = zlog_format(level, event, fields, ztime_wall_ms());
    json_decref(fields);
    if (!line)
        return;
    size_t len = strlen(line);
    /* One write per sink with the newline attached keeps lines whole when
     * several processes append to the same file. */
    line[len] = '\n';
    if (logger.file_path[0] && level >= logger.file_level)
        write_file(line, len + 1);
    if (logger.stderr_enabled && level >= logger.stderr_level)
        write_stderr(level, line, len + 1);
    line[len] = '\0';
    for (int i = 0; i < logger.nsinks; i++)
        if (level >= logger.sinks[i].min_level)
            logger.sinks[i].fn(logger.sinks[i].ctx, level, event, line, len);
    free(line);
}

void zlog_pack(int level, const char *event, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_error_t jerr;
    json_t *fields = json_vpack_ex(&jerr, 0, fmt, ap);
    va_end(ap);
    if (!fields)
        fields = json_pack("{s:s}", "log_error", jerr.text);
    zlog_emit(level, event, fields);
}
