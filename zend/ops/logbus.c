#include "logbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
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
    const char *line;       /* in block, NUL-terminated */
    size_t len;
    int level;
    const char *event;      /* in block, "" when none */
    struct line_block *block;
};

/* The text of the records lives in blocks filled in order and freed when
 * the ring has evicted every record in them. One malloc per record scattered
 * the ring across the heap: after a burst of requests the 2000 kept lines
 * sat between freed request buffers and held ~12 MB of pages resident that
 * malloc_trim could not give back (heap_trim.h); packed, they hold their own
 * size. */
#define LOGBUS_BLOCK_BYTES (32u * 1024)

struct line_block {
    TAILQ_ENTRY(line_block) link;
    size_t cap, used;
    size_t live;            /* records still in the ring */
    char data[];
};
TAILQ_HEAD(line_blocks, line_block);

struct logbus {
    struct ring_record *ring;
    size_t cap;
    struct zring idx;
    struct line_blocks blocks; /* oldest first; the last one is filled */
    zlog_sink_fn publish; /* live subscribers, wired by the worker */
    void *publish_ctx;
    int attached;
};

/* Drops a record's hold on its block; frees a block nobody holds any more,
 * or empties the one being filled for reuse. */
static void record_free(struct logbus *b, struct ring_record *r)
{
    struct line_block *blk = r->block;
    memset(r, 0, sizeof(*r));
    if (!blk || --blk->live > 0)
        return;
    if (blk == TAILQ_LAST(&b->blocks, line_blocks)) {
        blk->used = 0;
        return;
    }
    TAILQ_REMOVE(&b->blocks, blk, link);
    free(blk);
}

/* Room for need bytes at the end of the last block; a new block when it is
 * full (a record longer than a block gets a block of its own). */
static char *block_take(struct logbus *b, size_t need, struct line_block **out)
{
    struct line_block *blk = TAILQ_LAST(&b->blocks, line_blocks);
    if (!blk || blk->cap - blk->used < need) {
        size_t cap = need > LOGBUS_BLOCK_BYTES ? need : LOGBUS_BLOCK_BYTES;
        blk = malloc(sizeof(*blk) + cap);
        if (!blk)
            return NULL;
        blk->cap = cap;
        blk->used = blk->live = 0;
        TAILQ_INSERT_TAIL(&b->blocks, blk, link);
    }
    char *p = blk->data + blk->used;
    blk->used += need;
    blk->live++;
    *out = blk;
    return p;
}

static void ring_push(struct logbus *b, const char *line, size_t len, int level,
                      const char *event)
{
    if (b->cap == 0)
        return;
    int evicted;
    size_t slot = zring_push(&b->idx, b->cap, &evicted);
    struct ring_record *rec = &b->ring[slot];
    if (evicted)
        record_free(b, rec);
    if (!event)
        event = "";
    size_t elen = strlen(event);
    struct line_block *blk;
    char *p = block_take(b, len + 1 + elen + 1, &blk);
    if (!p) { /* out of memory: keep an empty record rather than none */
        *rec = (struct ring_record){"", 0, level, "", NULL};
        return;
    }
    memcpy(p, line, len);
    p[len] = '\0';
    memcpy(p + len + 1, event, elen + 1);
    *rec = (struct ring_record){p, len, level, p + len + 1, blk};
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
    TAILQ_INIT(&b->blocks);
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
        record_free(b, &b->ring[zring_slot(&b->idx, b->cap, i)]);
    struct line_block *blk;
    while ((blk = TAILQ_FIRST(&b->blocks))) {
        TAILQ_REMOVE(&b->blocks, blk, link);
        free(blk);
    }
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
