/* usage_reader.c -- the tokens of an answer, read from its bytes on their
 * way to the client. See usage_reader.h.
 *
 * Two small machines, byte by byte and chunking-blind:
 *   - an SSE line reader (stream mode only) that hands each event's `data`
 *     bytes on, and skips the data of events whose name says they carry no
 *     usage (Anthropic content deltas, Responses deltas and the *.done
 *     events that repeat the whole output);
 *   - a JSON structure scanner that tracks depth, strings (escapes
 *     included) and the keys of the two outermost levels -- nothing else.
 *     When a `{` opens at a usage path of the format, its bytes (and only
 *     those) are copied into a bounded buffer until the brace that closes
 *     it, then parsed with zjson. The counts found in one top-level value
 *     (an SSE event's data, or the whole JSON body) count once that value
 *     closes, so a cut event or body never reports.
 * Memory is fixed: the struct itself, whatever the answer's size. */
#include "usage_reader.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "zjson.h"

/* A usage object longer than this is not one (OpenAI's, with every detail,
 * is under 500 bytes). */
#define UR_CAPTURE_MAX 4096
/* The longest key or event name the reader needs to recognise. */
#define UR_NAME_MAX 24

/* The keys that matter on a usage path. */
enum ur_key { KEY_NONE, KEY_OTHER, KEY_USAGE, KEY_MESSAGE, KEY_RESPONSE };

/* Where the SSE line reader is. */
enum ur_line {
    LINE_START,   /* at the start of a line */
    LINE_FIELD,   /* reading a field name */
    LINE_SPACE,   /* after "name:": one space is dropped */
    LINE_DATA,    /* a data value: to the JSON scanner */
    LINE_EVENT,   /* an event value: its name */
    LINE_SKIP,    /* a comment or another field: to the end of the line */
};

struct ur_scan {
    size_t depth;                   /* open containers */
    int in_str, esc;
    int after_colon;                /* at depth <= 2: the next token is a value */
    enum ur_key key[3];             /* the current key at depth 1 and 2 */
    enum ur_key last_str;           /* the last string ended at depth 1 or 2 */
    char str[UR_NAME_MAX];          /* that string, while it is read */
    size_t str_len;
    int str_bad;                    /* escaped or too long: matches no key */
    int capturing, cap_over;
    size_t cap_depth;               /* the depth the captured object closes back to */
    size_t cap_len;
    struct usage_tokens found;      /* counts of the top-level value being read */
    char cap[UR_CAPTURE_MAX];
};

struct usage_reader {
    enum tr_format wire;
    int stream;
    /* SSE lines */
    enum ur_line line;
    int last_cr;                    /* the last byte ended a line with CR */
    int field;                      /* the field being read: 0 other, 1 data, 2 event */
    char name[UR_NAME_MAX];         /* a field name, then an event name */
    size_t name_len;
    int event_data;                 /* a data line of this event was seen */
    int event_skip;                 /* this event's name says: no usage */
    struct usage_tokens got;        /* committed counts */
    struct ur_scan js;
};

/* ---- counts ---- */

void usage_tokens_merge(struct usage_tokens *into, const struct usage_tokens *later)
{
    if (later->input != USAGE_UNKNOWN)
        into->input = later->input;
    if (later->output != USAGE_UNKNOWN)
        into->output = later->output;
    if (later->cache_read != USAGE_UNKNOWN)
        into->cache_read = later->cache_read;
    if (later->cache_write != USAGE_UNKNOWN)
        into->cache_write = later->cache_write;
}

/* A count as reported: a negative one is no count at all. */
static int64_t known(int64_t v)
{
    return v < 0 ? USAGE_UNKNOWN : v;
}

struct usage_tokens usage_tokens_from_tr(const struct tr_usage *u)
{
    struct usage_tokens t = USAGE_TOKENS_NONE;
    if (!u)
        return t;
    int64_t cr = u->has_cache_read ? u->cache_read : 0;
    int64_t cw = u->has_cache_write ? u->cache_write : 0;
    int64_t in;
    if (u->has_input && !__builtin_sub_overflow(u->input_total, cr, &in) &&
        !__builtin_sub_overflow(in, cw, &in))
        t.input = known(in);
    if (u->has_output)
        t.output = known(u->output);
    if (u->has_cache_read)
        t.cache_read = known(u->cache_read);
    if (u->has_cache_write)
        t.cache_write = known(u->cache_write);
    return t;
}

static int64_t count_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_integer(v))
        return known((int64_t)json_integer_value(v));
    if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e18)
        return (int64_t)json_real_value(v);
    return USAGE_UNKNOWN;
}

/* Anthropic's counts are the ledger's own. */
static struct usage_tokens tokens_a(const json_t *u)
{
    return (struct usage_tokens){count_of(u, "input_tokens"), count_of(u, "output_tokens"),
                                 count_of(u, "cache_read_input_tokens"),
                                 count_of(u, "cache_creation_input_tokens")};
}

/* OpenAI's (Chat or Responses): the prompt count includes the cached
 * tokens. The same keys as the translator's decoder reads (DeepSeek's
 * prompt_cache_hit_tokens, a relay's cache write), so a passthrough and a
 * translated answer count alike. */
static struct usage_tokens tokens_openai(const json_t *u, enum tr_format wire)
{
    int chat = wire == TR_FORMAT_C;
    const json_t *det = json_object_get(u, chat ? "prompt_tokens_details" : "input_tokens_details");
    struct tr_usage tu = {0};
    int64_t v;
    if ((v = count_of(u, chat ? "prompt_tokens" : "input_tokens")) != USAGE_UNKNOWN)
        tu.input_total = v, tu.has_input = 1;
    if ((v = count_of(det, "cached_tokens")) != USAGE_UNKNOWN ||
        (chat && (v = count_of(u, "prompt_cache_hit_tokens")) != USAGE_UNKNOWN))
        tu.cache_read = v, tu.has_cache_read = 1;
    if ((chat && (v = count_of(u, "cache_creation_input_tokens")) != USAGE_UNKNOWN) ||
        (v = count_of(det, "cache_write_tokens")) != USAGE_UNKNOWN)
        tu.cache_write = v, tu.has_cache_write = 1;
    if ((v = count_of(u, chat ? "completion_tokens" : "output_tokens")) != USAGE_UNKNOWN)
        tu.output = v, tu.has_output = 1;
    return usage_tokens_from_tr(&tu);
}

/* A captured usage object: its counts join those of the current value. */
static void captured(struct usage_reader *r)
{
    struct ur_scan *s = &r->js;
    json_t *u = zjson_load(s->cap, s->cap_len, 0);
    if (json_is_object(u)) {
        struct usage_tokens t = r->wire == TR_FORMAT_A ? tokens_a(u) : tokens_openai(u, r->wire);
        usage_tokens_merge(&s->found, &t);
    }
    json_decref(u);
}

/* ---- the JSON scanner ---- */

static void scan_reset(struct ur_scan *s)
{
    s->depth = 0;
    s->in_str = s->esc = s->after_colon = 0;
    s->key[0] = s->key[1] = s->key[2] = KEY_NONE;
    s->last_str = KEY_NONE;
    s->capturing = s->cap_over = 0;
    s->cap_len = 0;
    s->found = USAGE_TOKENS_NONE;
}

static enum ur_key key_of(const struct ur_scan *s)
{
    if (s->str_bad)
        return KEY_OTHER;
    if (s->str_len == 5 && memcmp(s->str, "usage", 5) == 0)
        return KEY_USAGE;
    if (s->str_len == 7 && memcmp(s->str, "message", 7) == 0)
        return KEY_MESSAGE;
    if (s->str_len == 8 && memcmp(s->str, "response", 8) == 0)
        return KEY_RESPONSE;
    return KEY_OTHER;
}

/* Does an object opening now (at depth s->depth, right after a key) hold
 * this format's usage? JSON body: top-level `usage`. Streams: Anthropic
 * message_delta `usage` and message_start `message.usage`; Chat `usage`;
 * Responses `response.usage`. */
static int at_usage(const struct usage_reader *r)
{
    const struct ur_scan *s = &r->js;
    if (!s->after_colon)
        return 0;
    if (s->depth == 1)
        return s->key[1] == KEY_USAGE && (!r->stream || r->wire != TR_FORMAT_R);
    if (s->depth == 2 && r->stream && s->key[2] == KEY_USAGE)
        return (r->wire == TR_FORMAT_A && s->key[1] == KEY_MESSAGE) ||
               (r->wire == TR_FORMAT_R && s->key[1] == KEY_RESPONSE);
    return 0;
}

static void cap_append(struct ur_scan *s, const char *p, size_t n)
{
    if (s->cap_over)
        return;
    if (n > UR_CAPTURE_MAX - s->cap_len) {
        s->cap_over = 1;
        return;
    }
    memcpy(s->cap + s->cap_len, p, n);
    s->cap_len += n;
}

/* Bytes that mean something to the scanner outside a string. */
static int structural(unsigned char c)
{
    return c == '"' || c == '{' || c == '}' || c == '[' || c == ']' || c == ':' || c == ',';
}

/* Inside a string: up to and including its closing quote. Returns the bytes
 * used. */
static size_t scan_string(struct ur_scan *s, const char *p, size_t n)
{
    size_t i = 0;
    int track = !s->capturing && s->depth >= 1 && s->depth <= 2;
    while (i < n) {
        if (s->esc) {
            s->esc = 0;
            i++;
            continue;
        }
        /* the run of plain bytes up to the next quote or backslash */
        size_t j = i;
        while (j < n && p[j] != '"' && p[j] != '\\')
            j++;
        if (track) {
            if (j - i > sizeof(s->str) - s->str_len)
                s->str_bad = 1;
            else {
                memcpy(s->str + s->str_len, p + i, j - i);
                s->str_len += j - i;
            }
        }
        i = j;
        if (i == n)
            break;
        if (p[i] == '\\') {
            s->esc = 1;
            s->str_bad = 1;
            i++;
            continue;
        }
        s->in_str = 0; /* the closing quote */
        if (track)
            s->last_str = key_of(s);
        return i + 1;
    }
    return n;
}

/* The value that holds the usage closed, or the top-level value did. */
static void close_container(struct usage_reader *r)
{
    struct ur_scan *s = &r->js;
    if (s->depth == 0)
        return; /* garbage: a closer with nothing open */
    s->depth--;
    if (s->capturing && s->depth == s->cap_depth) {
        s->capturing = 0;
        if (!s->cap_over)
            captured(r);
    }
    if (s->depth <= 2)
        s->after_colon = 0;
    if (s->depth == 0) {
        /* a whole top-level value: its counts are real */
        usage_tokens_merge(&r->got, &s->found);
        s->found = USAGE_TOKENS_NONE;
    }
}

static void scan(struct usage_reader *r, const char *p, size_t n)
{
    struct ur_scan *s = &r->js;
    size_t i = 0;
    while (i < n) {
        if (s->in_str) {
            size_t used = scan_string(s, p + i, n - i);
            if (s->capturing)
                cap_append(s, p + i, used);
            i += used;
            continue;
        }
        /* deeper than the keys that matter and not capturing: only depth
         * and strings count; skip the run of other bytes at once */
        size_t j = i;
        while (j < n && !structural((unsigned char)p[j]))
            j++;
        if (j > i) {
            if (s->capturing)
                cap_append(s, p + i, j - i);
            else if (s->after_colon && s->depth <= 2) {
                /* a number, a literal (null): a value that is no object */
                for (size_t k = i; k < j; k++)
                    if (p[k] != ' ' && p[k] != '\t' && p[k] != '\n' && p[k] != '\r') {
                        s->after_colon = 0;
                        break;
                    }
            }
            i = j;
            continue;
        }
        char c = p[i];
        int was_capturing = s->capturing;
        switch (c) {
        case '"':
            s->in_str = 1;
            s->esc = 0;
            s->str_len = 0;
            s->str_bad = 0;
            if (s->depth <= 2)
                s->after_colon = 0;
            break;
        case '{':
        case '[':
            if (!s->capturing && c == '{' && at_usage(r)) {
                s->capturing = 1;
                s->cap_over = 0;
                s->cap_len = 0;
                s->cap_depth = s->depth;
            }
            s->after_colon = 0;
            if (s->depth < SIZE_MAX)
                s->depth++;
            if (s->depth <= 2)
                s->key[s->depth] = KEY_NONE;
            break;
        case '}':
        case ']':
            if (s->capturing)
                cap_append(s, &c, 1);
            close_container(r);
            i++;
            continue;
        case ':':
            if (s->depth >= 1 && s->depth <= 2 && !s->capturing) {
                s->key[s->depth] = s->last_str;
                s->after_colon = 1;
            }
            break;
        case ',':
            if (s->depth >= 1 && s->depth <= 2 && !s->capturing) {
                s->key[s->depth] = KEY_NONE;
                s->after_colon = 0;
            }
            break;
        }
        if (s->capturing || was_capturing)
            cap_append(s, &c, 1);
        if (s->depth <= 2 && c != '"')
            s->last_str = KEY_NONE;
        i++;
    }
}

/* ---- SSE lines ---- */

/* Does an event of this name carry no usage (its data is skipped)? An
 * event with no name is read (Chat names none). */
static int skip_event(const struct usage_reader *r)
{
    const char *n = r->name;
    size_t len = r->name_len; /* sizeof(r->name) + 1 when too long: none of ours */
    if (len == 0)
        return 0;
#define IS(lit) (len == sizeof(lit) - 1 && memcmp(n, lit, len) == 0)
    if (r->wire == TR_FORMAT_A)
        return !IS("message_start") && !IS("message_delta");
    if (r->wire == TR_FORMAT_R)
        return !IS("response.completed") && !IS("response.incomplete") && !IS("response.failed");
#undef IS
    return 0;
}

/* A blank line: the event is dispatched and the next one starts afresh. */
static void end_event(struct usage_reader *r)
{
    scan_reset(&r->js);
    r->event_data = 0;
    r->event_skip = 0;
}

static void end_line(struct usage_reader *r)
{
    if (r->line == LINE_EVENT || (r->line == LINE_SPACE && r->field == 2))
        r->event_skip = skip_event(r);
    else if (r->line == LINE_FIELD && r->field == 1)
        r->event_data = 1; /* "data" alone: an empty data line */
    r->line = LINE_START;
}

static void field_named(struct usage_reader *r)
{
    r->field = 0;
    if (r->name_len == 4 && memcmp(r->name, "data", 4) == 0)
        r->field = 1;
    else if (r->name_len == 5 && memcmp(r->name, "event", 5) == 0)
        r->field = 2;
}

static void feed_sse(struct usage_reader *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        char c = p[i];
        if (r->last_cr) {
            r->last_cr = 0;
            if (c == '\n') { /* the LF of a CRLF */
                i++;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            if (r->line == LINE_START)
                end_event(r);
            else {
                if (r->line == LINE_FIELD)
                    field_named(r);
                end_line(r);
            }
            r->last_cr = c == '\r';
            i++;
            continue;
        }
        switch (r->line) {
        case LINE_START:
            r->name_len = 0;
            if (c == ':') {
                r->line = LINE_SKIP;
                break;
            }
            r->line = LINE_FIELD;
            /* fall through */
        case LINE_FIELD:
            if (c == ':') {
                field_named(r);
                if (r->field == 1 && !r->event_skip && r->event_data)
                    scan(r, "\n", 1); /* data lines join with a newline */
                if (r->field == 1)
                    r->event_data = 1;
                r->name_len = 0;
                r->line = r->field ? LINE_SPACE : LINE_SKIP;
            } else if (r->name_len < sizeof(r->name)) {
                r->name[r->name_len++] = c;
            } else {
                r->name_len = sizeof(r->name) + 1; /* too long: no field we know */
            }
            break;
        case LINE_SPACE:
            r->line = r->field == 1 ? LINE_DATA : LINE_EVENT;
            if (c == ' ')
                break;
            continue; /* this byte is the value's first */
        case LINE_DATA: {
            size_t j = i;
            while (j < n && p[j] != '\n' && p[j] != '\r')
                j++;
            if (!r->event_skip)
                scan(r, p + i, j - i);
            i = j;
            continue;
        }
        case LINE_EVENT:
            if (r->name_len < sizeof(r->name))
                r->name[r->name_len++] = c;
            else
                r->name_len = sizeof(r->name) + 1;
            break;
        case LINE_SKIP: {
            const char *nl = memchr(p + i, '\n', n - i);
            const char *cr = memchr(p + i, '\r', n - i);
            const char *e = nl && (!cr || nl < cr) ? nl : cr;
            i = e ? (size_t)(e - p) : n;
            continue;
        }
        }
        i++;
    }
}

/* ---- the reader ---- */

struct usage_reader *usage_reader_new(enum tr_format wire, int stream)
{
    struct usage_reader *r = malloc(sizeof(*r));
    if (!r)
        return NULL;
    r->wire = wire;
    r->stream = stream != 0;
    r->line = LINE_START;
    r->last_cr = 0;
    r->field = 0;
    r->name_len = 0;
    r->event_data = r->event_skip = 0;
    r->got = USAGE_TOKENS_NONE;
    scan_reset(&r->js);
    return r;
}

void usage_reader_feed(struct usage_reader *r, const char *data, size_t len)
{
    if (!r || !data || len == 0)
        return;
    if (r->stream)
        feed_sse(r, data, len);
    else
        scan(r, data, len);
}

void usage_reader_result(const struct usage_reader *r, struct usage_tokens *out)
{
    *out = r ? r->got : USAGE_TOKENS_NONE;
}

void usage_reader_free(struct usage_reader *r)
{
    free(r);
}
