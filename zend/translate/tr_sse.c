#include "tr_sse.h"

#include <stdlib.h>
#include <string.h>

enum { ST_NAME, ST_SPACE, ST_VALUE };
enum { F_IGNORE, F_DATA, F_EVENT, F_COMMENT };
/* The JSON scan: nothing yet, inside an object/array, complete, not one. */
enum { JS_EMPTY, JS_OPEN, JS_DONE, JS_NOT };

/* A buffer this big is dropped after its event rather than kept for the next. */
#define TR_SSE_KEEP_CAP (64u * 1024)

void tr_sse_init(struct tr_sse *p, size_t max_event, int lenient, tr_sse_fn fn, void *ud)
{
    memset(p, 0, sizeof(*p));
    p->fn = fn;
    p->ud = ud;
    p->max_event = max_event;
    p->lenient = lenient;
}

void tr_sse_fini(struct tr_sse *p)
{
    free(p->data);
    p->data = NULL;
    p->data_len = p->data_cap = 0;
}

static void reset_event(struct tr_sse *p)
{
    p->has_data = 0;
    p->has_name = 0;
    p->name_len = 0;
    p->data_len = 0;
    if (p->data_cap > TR_SSE_KEEP_CAP) {
        free(p->data);
        p->data = NULL;
        p->data_cap = 0;
    }
    if (p->data)
        p->data[0] = 0;
    p->js_state = JS_EMPTY;
    p->js_depth = p->js_in_str = p->js_esc = 0;
    p->js_scanned = 0;
}

static void call(struct tr_sse *p, enum tr_sse_kind kind, const char *name, const char *data,
                 size_t len)
{
    if (!p->stopped && p->fn(p->ud, kind, name, data, len))
        p->stopped = 1;
}

static void dispatch(struct tr_sse *p)
{
    if (p->has_data && !p->stopped) {
        p->name[p->name_len] = 0;
        call(p, TR_SSE_EVENT, p->has_name ? p->name : NULL, p->data ? p->data : "",
             p->data_len);
    }
    reset_event(p);
}

static void too_large(struct tr_sse *p)
{
    call(p, TR_SSE_TOO_LARGE, NULL, "", 0);
    p->stopped = 1;
    reset_event(p);
}

/* The bytes the JSON scan must look at: inside a string, its end and
 * escapes; outside, strings and brackets. Runs of others are skipped. */
static const unsigned char js_in_str_stop[256] = {['"'] = 1, ['\\'] = 1};
static const unsigned char js_open_stop[256] = {
    ['"'] = 1, ['{'] = 1, ['['] = 1, ['}'] = 1, [']'] = 1,
};

static int js_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/* Tracks whether the data so far is exactly one JSON object or array (the
 * brackets balance outside strings); only the lenient mode needs it, and
 * only when a data: line follows another (js_catch_up). */
static void js_scan(struct tr_sse *p, const char *s, size_t n)
{
    const unsigned char *c = (const unsigned char *)s, *end = c + n;
    while (c < end && p->js_state != JS_NOT) {
        switch (p->js_state) {
        case JS_EMPTY:
            if (*c == '{' || *c == '[') {
                p->js_state = JS_OPEN;
                p->js_depth = 1;
            } else if (!js_ws(*c)) {
                p->js_state = JS_NOT;
            }
            c++;
            break;
        case JS_OPEN:
            if (p->js_in_str) {
                if (p->js_esc) {
                    p->js_esc = 0;
                    c++;
                    break;
                }
                while (c < end && !js_in_str_stop[*c])
                    c++;
                if (c == end)
                    break;
                if (*c == '\\')
                    p->js_esc = 1;
                else
                    p->js_in_str = 0;
                c++;
                break;
            }
            while (c < end && !js_open_stop[*c])
                c++;
            if (c == end)
                break;
            if (*c == '"')
                p->js_in_str = 1;
            else if (*c == '{' || *c == '[')
                p->js_depth++;
            else if (--p->js_depth == 0)
                p->js_state = JS_DONE;
            c++;
            break;
        default: /* JS_DONE: only whitespace may follow */
            if (!js_ws(*c))
                p->js_state = JS_NOT;
            c++;
            break;
        }
    }
}

/* Brings the scan up to the end of the data. Run at the one place its
 * answer is read, not per appended piece: an event ended by its blank line,
 * nearly all of them, is never scanned. */
static void js_catch_up(struct tr_sse *p)
{
    if (p->data_len > p->js_scanned)
        js_scan(p, p->data + p->js_scanned, p->data_len - p->js_scanned);
    p->js_scanned = p->data_len;
}

static int data_append(struct tr_sse *p, const char *s, size_t n)
{
    if (n > p->max_event - p->data_len) {
        too_large(p);
        return -1;
    }
    if (p->data_len + n + 1 > p->data_cap) {
        size_t cap = p->data_cap ? p->data_cap : 256;
        while (cap < p->data_len + n + 1)
            cap *= 2;
        char *d = realloc(p->data, cap);
        if (!d) {
            too_large(p); /* out of memory: the event cannot be held either way */
            return -1;
        }
        p->data = d;
        p->data_cap = cap;
    }
    memcpy(p->data + p->data_len, s, n);
    p->data_len += n;
    p->data[p->data_len] = 0;
    return 0;
}

/* The field name is complete (at its ':' or at the end of a line without one). */
static void field_start(struct tr_sse *p)
{
    const char *f = p->fname;
    size_t n = p->fname_len;
    if (n == 0)
        p->field = F_COMMENT;
    else if (n == 4 && memcmp(f, "data", 4) == 0)
        p->field = F_DATA;
    else if (n == 5 && memcmp(f, "event", 5) == 0)
        p->field = F_EVENT;
    else
        p->field = F_IGNORE; /* id, retry, unknown, or a name too long for any of them */
    if (p->field == F_DATA) {
        if (p->has_data && p->lenient)
            js_catch_up(p);
        if (p->has_data && p->lenient && p->js_state == JS_DONE)
            dispatch(p); /* relays that leave out the blank line between chunks */
        if (p->has_data)
            data_append(p, "\n", 1);
        p->has_data = 1;
    } else if (p->field == F_EVENT) {
        p->has_name = 1;
        p->name_len = 0;
    }
}

static void value(struct tr_sse *p, const char *s, size_t n)
{
    if (p->field == F_DATA) {
        data_append(p, s, n);
    } else if (p->field == F_EVENT) {
        size_t room = TR_SSE_NAME_MAX - p->name_len;
        if (n > room)
            n = room;
        memcpy(p->name + p->name_len, s, n);
        p->name_len += n;
    }
}

static void end_line(struct tr_sse *p)
{
    if (p->state == ST_NAME) {
        if (p->fname_len == 0) {
            dispatch(p); /* a blank line */
        } else {
            field_start(p); /* "data" alone is a data line with an empty value */
        }
    }
    if (p->field == F_COMMENT)
        call(p, TR_SSE_COMMENT, NULL, "", 0);
    p->state = ST_NAME;
    p->fname_len = 0;
    p->field = F_IGNORE;
}

static void feed_bytes(struct tr_sse *p, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !p->stopped) {
        char c = buf[i];
        if (p->after_cr) {
            p->after_cr = 0;
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            p->after_cr = c == '\r';
            end_line(p);
            i++;
            continue;
        }
        switch (p->state) {
        case ST_NAME:
            if (c == ':') {
                field_start(p);
                p->state = ST_SPACE;
            } else if (p->fname_len < sizeof(p->fname)) {
                p->fname[p->fname_len++] = c; /* a longer name is no known field */
            }
            i++;
            break;
        case ST_SPACE:
            p->state = ST_VALUE;
            if (c == ' ') {
                i++;
                break;
            }
            /* fall through */
        case ST_VALUE: {
            /* The rest of the line in one piece. */
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t j = nl ? (size_t)(nl - buf) : len;
            const char *cr = memchr(buf + i, '\r', j - i);
            if (cr)
                j = (size_t)(cr - buf);
            value(p, buf + i, j - i);
            i = j;
            break;
        }
        }
    }
}

void tr_sse_feed(struct tr_sse *p, const char *buf, size_t len)
{
    static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
    while (p->bom_seen < 3 && len > 0 && !p->stopped) {
        if (*buf == bom[p->bom_seen]) {
            p->bom_seen++;
            buf++;
            len--;
            continue;
        }
        /* Not a BOM after all: what matched so far is ordinary input. */
        unsigned had = p->bom_seen;
        p->bom_seen = 3;
        feed_bytes(p, bom, had);
    }
    if (!p->stopped)
        feed_bytes(p, buf, len);
}

void tr_sse_finish(struct tr_sse *p)
{
    if (p->stopped)
        return;
    if (p->bom_seen < 3) {
        static const char bom[3] = {'\xEF', '\xBB', '\xBF'};
        unsigned had = p->bom_seen;
        p->bom_seen = 3;
        feed_bytes(p, bom, had);
    }
    if (!p->stopped && (p->state != ST_NAME || p->fname_len > 0))
        end_line(p);
    if (!p->stopped)
        dispatch(p);
}
