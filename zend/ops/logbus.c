#include "logbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "ring.h"
#include "log.h"

/* Only this much of zend.log's tail is read to preload the ring. */
#define LOGBUS_PRELOAD_MAX_BYTES (4u * 1024 * 1024)

/* Records are kept as the text zend.log got (~300 bytes each), not as
 * parsed JSON (~2 KB each in jansson's form): 2000 of them would otherwise
 * cost 4 MB of an idle daemon. They are parsed only when someone reads. */
struct ring_record {
    char *line;
    size_t len;
    int level;
    char *event;
};

struct logbus {
    struct ring_record *ring;
    size_t cap;
    struct zring idx;
    zlog_sink_fn publish; /* live subscribers, wired by the worker */
    void *publish_ctx;
    int attached;
};

static void record_free(struct ring_record *r)
{
    free(r->line);
    free(r->event);
    memset(r, 0, sizeof(*r));
}

static void ring_push(struct logbus *b, const char *line, size_t len, int level,
                      const char *event)
{
    if (b->cap == 0)
        return;
    struct ring_record rec = {strndup(line, len), len, level, strdup(event ? event : "")};
    if (!rec.line || !rec.event) {
        record_free(&rec);
        return;
    }
    int evicted;
    size_t slot = zring_push(&b->idx, b->cap, &evicted);
    if (evicted)
        record_free(&b->ring[slot]);
    b->ring[slot] = rec;
}

static void sink(void *ctx, int level, const char *event, const char *line, size_t len)
{
    struct logbus *b = ctx;
    if (b->publish)
        b->publish(b->publish_ctx, level, event, line, len);
    ring_push(b, line, len, level, event);
}

struct logbus *logbus_new(size_t ring_size)
{
    struct logbus *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->cap = ring_size;
    b->ring = calloc(ring_size ? ring_size : 1, sizeof(*b->ring));
    if (!b->ring) {
        free(b);
        return NULL;
    }
    return b;
}

void logbus_free(struct logbus *b)
{
    if (!b)
        return;
    logbus_detach(b);
    for (size_t i = 0; i < b->idx.len; i++)
        record_free(&b->ring[zring_slot(&b->idx, b->cap, i)]);
    free(b->ring);
    free(b);
}

int logbus_attach(struct logbus *b, int min_level, zlog_sink_fn publish, void *publish_ctx)
{
    b->publish = publish;
    b->publish_ctx = publish_ctx;
    b->attached = zlog_add_sink(sink, b, min_level) == ZEN_OK;
    return b->attached ? ZEN_OK : ZEN_ERR;
}

void logbus_detach(struct logbus *b)
{
    if (b->attached)
        zlog_remove_sink(sink, b);
    b->attached = 0;
    b->publish = NULL;
    b->publish_ctx = NULL;
}

void logbus_preload(struct logbus *b, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    struct stat st;
    long start = 0;
    if (fstat(fileno(f), &st) == 0 && st.st_size > (off_t)LOGBUS_PRELOAD_MAX_BYTES)
        start = (long)(st.st_size - LOGBUS_PRELOAD_MAX_BYTES);
    fseek(f, start, SEEK_SET);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int first = start > 0; /* the first line read mid-file is partial */
    while ((n = getline(&line, &cap, f)) > 0) {
        if (first) {
            first = 0;
            continue;
        }
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            n--;
        json_t *record = json_loadb(line, (size_t)n, 0, NULL);
        if (json_is_object(record)) {
            int level = ZLOG_INFO;
            const char *lname = json_string_value(json_object_get(record, "level"));
            if (lname)
                zlog_level_parse(lname, &level);
            ring_push(b, line, (size_t)n, level,
                      json_string_value(json_object_get(record, "event")));
        }
        json_decref(record);
    }
    free(line);
    fclose(f);
}

size_t logbus_backlog(const struct logbus *b, const struct log_filter *f, json_t **out,
                      size_t max)
{
    size_t found = 0;
    /* Walk back from the newest, then reverse into chronological order. */
    for (size_t i = b->idx.len; i > 0 && found < max; i--) {
        const struct ring_record *r = &b->ring[zring_slot(&b->idx, b->cap, i - 1)];
        if (!log_filter_match(f, r->level, r->event))
            continue;
        json_t *record = json_loadb(r->line, r->len, 0, NULL);
        if (record)
            out[found++] = record;
    }
    for (size_t i = 0; i < found / 2; i++) {
        json_t *t = out[i];
        out[i] = out[found - 1 - i];
        out[found - 1 - i] = t;
    }
    return found;
}
