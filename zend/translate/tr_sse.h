/* tr_sse.h -- the incremental Server-Sent Events parser under the stream
 * decoders (docs/translate.md, SSE parser).
 *
 * Bytes arrive split anywhere; lines end in LF, CRLF or CR; a leading UTF-8
 * BOM is dropped. `event:` names the event, `data:` lines (one leading space
 * stripped) are joined with "\n", a `:` line is a comment, every other field
 * (id, retry ...) is ignored. An event is dispatched at a blank line and at
 * the end of the input. Memory: the event being assembled, nothing more (a
 * data line goes straight into the event's buffer). */
#ifndef ZEND_TR_SSE_H
#define ZEND_TR_SSE_H

#include <stddef.h>

enum tr_sse_kind {
    TR_SSE_EVENT,     /* name (may be NULL: no event: line), data */
    TR_SSE_COMMENT,   /* a ':' line */
    TR_SSE_TOO_LARGE, /* one event went over its limit; the parser stops */
};

/* data is NUL-terminated (data[data_len] == 0); name is NUL-terminated or
 * NULL. Both are borrowed for the call. Return nonzero to stop the parser:
 * later input is then ignored. */
typedef int (*tr_sse_fn)(void *ud, enum tr_sse_kind kind, const char *name, const char *data,
                         size_t data_len);

/* Longest event name kept; a longer name is cut (no wire uses one). */
#define TR_SSE_NAME_MAX 127

struct tr_sse {
    tr_sse_fn fn;
    void *ud;
    size_t max_event;     /* data bytes one event may hold */
    int lenient;          /* a data: line after a complete JSON value dispatches it first */
    int stopped;
    int after_cr;         /* the last byte was CR: a following LF ends nothing */
    unsigned bom_seen;    /* BOM bytes matched at the start, 3 once past it */
    int state;            /* where in the line: field name, optional space, value */
    int field;            /* the field the value belongs to */
    char fname[8];        /* the field name so far (longer names are no known field) */
    size_t fname_len;
    char name[TR_SSE_NAME_MAX + 1];
    size_t name_len;
    int has_name;
    char *data;           /* the event's data, NUL-terminated */
    size_t data_len, data_cap;
    int has_data;         /* a data: line was seen (the data may still be empty) */
    int js_state, js_depth, js_in_str, js_esc; /* is data one complete JSON object/array? */
    size_t js_scanned;    /* data bytes that scan has seen: it runs only when asked */
};

void tr_sse_init(struct tr_sse *p, size_t max_event, int lenient, tr_sse_fn fn, void *ud);
void tr_sse_fini(struct tr_sse *p);
void tr_sse_feed(struct tr_sse *p, const char *buf, size_t len);
/* The input ended: an unterminated last line counts, a pending event is dispatched. */
void tr_sse_finish(struct tr_sse *p);

#endif
