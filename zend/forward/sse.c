/* sse.c -- the end-of-stream detector. See sse.h for what counts as an end.
 *
 * Two layers. The line layer splits bytes into SSE lines (LF, CRLF, CR),
 * keeps the first SSE_LINE_KEEP bytes of each for the whole-line markers,
 * and passes the value bytes of data lines to the JSON layer. The JSON layer
 * is two small matchers run side by side on every data byte:
 *   - the key matcher finds the tokens "type" and "finish_reason";
 *   - the value matcher, started by each key found, follows optional
 *     whitespace, ':', optional whitespace and the value.
 * Both patterns have a '"' only at their ends, so a '"' that breaks a
 * partial match simply starts a new one: together the matchers find every
 * occurrence a plain substring search would, without any window of past
 * bytes, which is what makes the result independent of how the stream was
 * split. Outside a match the JSON layer jumps from '"' to '"' with memchr. */
#include "sse.h"

#include <stdint.h>
#include <string.h>

enum sse_line_kind { SSE_LINE_UNKNOWN, SSE_LINE_DATA, SSE_LINE_OTHER };

/* What the value matcher expects next after a key. */
enum sse_value_state {
    SSE_VALUE_NONE,       /* no key pending */
    SSE_VALUE_COLON,      /* whitespace or ':' */
    SSE_VALUE_START,      /* whitespace or the value's first byte */
    SSE_VALUE_FINISH_STR, /* inside a finish_reason string: '"' now means "" */
    SSE_VALUE_TYPE_STR,   /* inside a type string, matching the end types */
};

#define SSE_DATA_FIELD "data"
#define SSE_EVENT_FIELD "event"
/* A line is a data line when it starts with the field name and ':'. */
#define SSE_DATA_PREFIX SSE_DATA_FIELD ":"
#define SSE_DATA_PREFIX_LEN (sizeof(SSE_DATA_PREFIX) - 1)
#define SSE_DONE_VALUE "[DONE]"

/* Keys, by index (bit i of key_alive). */
enum { SSE_KEY_TYPE, SSE_KEY_FINISH_REASON, SSE_KEY_COUNT };
static const char *const sse_keys[SSE_KEY_COUNT] = {"type", "finish_reason"};
#define SSE_ALL_KEYS ((1u << SSE_KEY_COUNT) - 1)

/* Values of "type" (and names of "event:" lines) that end a stream. */
static const char *const sse_end_types[] = {"message_stop", "response.completed"};
#define SSE_END_TYPE_COUNT (sizeof(sse_end_types) / sizeof(sse_end_types[0]))
#define SSE_ALL_END_TYPES ((1u << SSE_END_TYPE_COUNT) - 1)

/* The first byte of JSON null: a finish_reason that has not happened yet. */
#define SSE_JSON_NULL_FIRST 'n'

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void json_reset(struct sse_detector *d)
{
    d->key_pos = 0;
    d->key_alive = 0;
    d->value_state = SSE_VALUE_NONE;
    d->value_pos = 0;
    d->value_alive = 0;
}

void sse_detector_init(struct sse_detector *d)
{
    memset(d, 0, sizeof(*d));
    d->line_kind = SSE_LINE_UNKNOWN;
    json_reset(d);
}

int sse_detector_complete(const struct sse_detector *d)
{
    return d && d->complete;
}

/* Narrows `alive` to the names whose byte at pos is c. A name still alive at
 * pos has matched pos non-NUL bytes, so names[i][pos] is readable (at worst
 * its terminator, which no byte but NUL matches, and NUL never does): no
 * strlen per byte, which was most of a stream's relay cost. */
static unsigned narrow(const char *const *names, size_t n, unsigned alive, int pos, char c)
{
    for (size_t i = 0; i < n; i++) {
        if (!(alive & (1u << i)))
            continue;
        if (c == '\0' || names[i][pos] != c)
            alive &= ~(1u << i);
    }
    return alive;
}

/* The one name in `alive` that is exactly pos bytes long, or -1. */
static int complete_name(const char *const *names, size_t n, unsigned alive, int pos)
{
    for (size_t i = 0; i < n; i++)
        if ((alive & (1u << i)) && strlen(names[i]) == (size_t)pos)
            return (int)i;
    return -1;
}

/* Advances the value matcher by one byte; may set d->complete. */
static void value_step(struct sse_detector *d, char c)
{
    switch (d->value_state) {
    case SSE_VALUE_NONE:
        return;
    case SSE_VALUE_COLON:
        if (c == ':')
            d->value_state = SSE_VALUE_START;
        else if (!is_json_space(c))
            d->value_state = SSE_VALUE_NONE;
        return;
    case SSE_VALUE_START:
        if (is_json_space(c))
            return;
        if (d->value_key == SSE_KEY_FINISH_REASON) {
            if (c == '"')
                d->value_state = SSE_VALUE_FINISH_STR;
            else if (c == SSE_JSON_NULL_FIRST)
                d->value_state = SSE_VALUE_NONE;
            else
                d->complete = 1; /* a number, object ...: anything but null is a reason */
            return;
        }
        if (c == '"') {
            d->value_state = SSE_VALUE_TYPE_STR;
            d->value_pos = 0;
            d->value_alive = SSE_ALL_END_TYPES;
        } else {
            d->value_state = SSE_VALUE_NONE;
        }
        return;
    case SSE_VALUE_FINISH_STR:
        /* "" is how some relays spell null; any other string is a reason. */
        if (c != '"')
            d->complete = 1;
        d->value_state = SSE_VALUE_NONE;
        return;
    case SSE_VALUE_TYPE_STR:
        if (c == '"') {
            if (complete_name(sse_end_types, SSE_END_TYPE_COUNT, d->value_alive, d->value_pos) >= 0)
                d->complete = 1;
            d->value_state = SSE_VALUE_NONE;
            return;
        }
        d->value_alive = narrow(sse_end_types, SSE_END_TYPE_COUNT, d->value_alive, d->value_pos, c);
        d->value_pos++;
        if (!d->value_alive)
            d->value_state = SSE_VALUE_NONE;
        return;
    default:
        d->value_state = SSE_VALUE_NONE; /* impossible; recover rather than trust it */
        return;
    }
}

/* Advances the key matcher by one byte; a key just closed starts the value
 * matcher. key_pos counts the opening quote, so key_pos - 1 name bytes have
 * matched. */
static void key_step(struct sse_detector *d, char c)
{
    if (c == '"') {
        if (d->key_pos > 0) {
            int k = complete_name(sse_keys, SSE_KEY_COUNT, d->key_alive, d->key_pos - 1);
            if (k >= 0) {
                d->value_state = SSE_VALUE_COLON;
                d->value_key = k;
            }
        }
        d->key_pos = 1; /* this quote may open the next key */
        d->key_alive = SSE_ALL_KEYS;
        return;
    }
    if (d->key_pos == 0)
        return;
    d->key_alive = narrow(sse_keys, SSE_KEY_COUNT, d->key_alive, d->key_pos - 1, c);
    d->key_pos = d->key_alive ? d->key_pos + 1 : 0;
}

/* Runs the JSON layer over data-line value bytes (or the '\n' joining two
 * data lines). */
static void json_feed(struct sse_detector *d, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end && !d->complete) {
        while (d->key_pos == 0 && d->value_state == SSE_VALUE_NONE) {
            /* Idle: nothing can start before the next quote. */
            s = memchr(s, '"', (size_t)(end - s));
            if (!s)
                return;
            /* A quote followed by a byte no key starts with (nor a quote)
             * leaves the matchers idle again: skip both without stepping,
             * which is what most of a stream's quotes are. */
            if (end - s < 2 || s[1] == '"' || narrow(sse_keys, SSE_KEY_COUNT, SSE_ALL_KEYS, 0, s[1]))
                break;
            s += 2;
            if (s == end)
                return;
        }
        value_step(d, *s);
        if (!d->complete)
            key_step(d, *s);
        s++;
    }
}

/* s[0..n) is exactly the literal. */
static int bytes_are(const char *s, size_t n, const char *literal)
{
    return n == strlen(literal) && memcmp(s, literal, n) == 0;
}

/* Whole-line markers: "event: message_stop", "event: response.completed",
 * "data: [DONE]". One space after the ':' is part of the syntax; trailing
 * spaces and tabs are forgiven. */
static int is_marker_line(const char *line, size_t n)
{
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    const char *colon = memchr(line, ':', n);
    if (!colon)
        return 0;
    size_t field_len = (size_t)(colon - line);
    const char *value = colon + 1;
    size_t value_len = n - field_len - 1;
    if (value_len > 0 && value[0] == ' ') {
        value++;
        value_len--;
    }
    if (bytes_are(line, field_len, SSE_DATA_FIELD))
        return bytes_are(value, value_len, SSE_DONE_VALUE);
    if (bytes_are(line, field_len, SSE_EVENT_FIELD))
        for (size_t i = 0; i < SSE_END_TYPE_COUNT; i++)
            if (bytes_are(value, value_len, sse_end_types[i]))
                return 1;
    return 0;
}

/* Bytes inside the current line (no line terminator among them). */
static void line_bytes(struct sse_detector *d, const char *s, size_t n)
{
    size_t old = d->line_len;
    if (old < SSE_LINE_KEEP) {
        size_t keep = SSE_LINE_KEEP - old < n ? SSE_LINE_KEEP - old : n;
        memcpy(d->line + old, s, keep);
    }
    d->line_len = n > SIZE_MAX - old ? SIZE_MAX : old + n;

    if (d->line_kind == SSE_LINE_UNKNOWN) {
        if (d->line_len < SSE_DATA_PREFIX_LEN)
            return;
        /* Unknown means fewer than SSE_DATA_PREFIX_LEN bytes came before. */
        int data = memcmp(d->line, SSE_DATA_PREFIX, SSE_DATA_PREFIX_LEN) == 0;
        d->line_kind = data ? SSE_LINE_DATA : SSE_LINE_OTHER;
        size_t skip = SSE_DATA_PREFIX_LEN - old;
        s += skip;
        n -= skip;
    }
    if (d->line_kind == SSE_LINE_DATA)
        json_feed(d, s, n);
}

static void line_end(struct sse_detector *d)
{
    if (d->line_len == 0) {
        json_reset(d); /* blank line: the event is over */
    } else {
        if (d->line_len <= SSE_LINE_KEEP && is_marker_line(d->line, d->line_len))
            d->complete = 1;
        if (d->line_kind == SSE_LINE_DATA)
            json_feed(d, "\n", 1); /* SSE joins an event's data lines with LF */
    }
    d->line_len = 0;
    d->line_kind = SSE_LINE_UNKNOWN;
}

/* The first LF or CR in [p, end), or end. */
static const char *find_line_end(const char *p, const char *end)
{
    const char *lf = memchr(p, '\n', (size_t)(end - p));
    const char *limit = lf ? lf : end;
    const char *cr = memchr(p, '\r', (size_t)(limit - p));
    return cr ? cr : limit;
}

void sse_detector_feed(struct sse_detector *d, const char *data, size_t len)
{
    if (!d || !data)
        return;
    const char *p = data;
    const char *end = data + len;
    while (p < end && !d->complete) {
        if (d->after_cr) {
            d->after_cr = 0;
            if (*p == '\n') { /* the LF of a CRLF split by the caller or not */
                p++;
                continue;
            }
        }
        const char *eol = find_line_end(p, end);
        if (eol > p)
            line_bytes(d, p, (size_t)(eol - p));
        if (eol == end)
            return;
        d->after_cr = *eol == '\r';
        line_end(d);
        p = eol + 1;
    }
}
