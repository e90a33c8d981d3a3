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
 *     it, then parsed by a small strict parser. The counts found in one top-level value
 *     (an SSE event's data, or the whole JSON body) count once that value
 *     closes, so a cut event or body never reports.
 * Memory is fixed: the struct itself, whatever the answer's size. */
#include "usage_reader.h"

#include <stdlib.h>
#include <string.h>


/* A usage object longer than this (whitespace dropped) is not one: OpenAI's
 * with every detail is under 300 bytes. Small enough that the reader is one
 * small allocation. */
#define UR_CAPTURE_MAX 640
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
    LINE_SKIP_EVENT, /* the rest of an event whose name says it has no usage */
};

struct ur_scan {
    size_t depth;                   /* open containers */
    int in_str, esc;
    int after_colon;                /* at depth <= 2: the next token is a value */
    int want_key;                   /* at depth <= 2: the next string is a key */
    int str_track;                  /* the string being read is such a key */
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
    int skip_bol;                   /* LINE_SKIP_EVENT: at the start of a line */
    int cr_only;                    /* lines end with a lone CR: no LINE_SKIP_EVENT */
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

/* ---- the usage object ----
 *
 * A captured usage object is parsed here, not with jansson: it is a small
 * object of counts, and building jansson values for it cost more than the
 * scan of the whole answer. The parser is strict (RFC 8259 grammar, the
 * scanner having turned whitespace runs outside strings into one space):
 * an object that is not JSON reports nothing. It keeps the counts it knows
 * by name, in slots; a key spelled with escapes is not one of them. */

enum ur_slot {
    SL_NONE = -1,
    SL_IN,        /* Anthropic input_tokens; OpenAI prompt/input tokens (cache included) */
    SL_OUT,
    SL_CR,        /* cache_read_input_tokens; *_details.cached_tokens */
    SL_CR_ALT,    /* DeepSeek's prompt_cache_hit_tokens */
    SL_CW,        /* cache_creation_input_tokens; Responses' details.cache_write_tokens */
    SL_CW_ALT,    /* a Chat relay's prompt_tokens_details.cache_write_tokens */
    SL_DETAILS,   /* the OpenAI *_tokens_details object: its counts are read too */
    SL_N = SL_DETAILS,
};

struct ur_parse {
    const char *p, *end;
    enum tr_format wire;
    int64_t v[SL_N];
};

#define UR_PARSE_DEPTH 16

static int is_key(const char *k, size_t n, const char *lit)
{
    return n == strlen(lit) && memcmp(k, lit, n) == 0;
}

/* The slot of a key of the usage object (in_details: of its details). */
static enum ur_slot slot_of(enum tr_format wire, int in_details, const char *k, size_t n)
{
    if (wire == TR_FORMAT_A) {
        if (in_details)
            return SL_NONE;
        return is_key(k, n, "input_tokens")                  ? SL_IN
               : is_key(k, n, "output_tokens")               ? SL_OUT
               : is_key(k, n, "cache_read_input_tokens")     ? SL_CR
               : is_key(k, n, "cache_creation_input_tokens") ? SL_CW
                                                             : SL_NONE;
    }
    int chat = wire == TR_FORMAT_C;
    if (in_details)
        return is_key(k, n, "cached_tokens")        ? SL_CR
               : is_key(k, n, "cache_write_tokens") ? (chat ? SL_CW_ALT : SL_CW)
                                                    : SL_NONE;
    if (chat)
        return is_key(k, n, "prompt_tokens")                 ? SL_IN
               : is_key(k, n, "completion_tokens")           ? SL_OUT
               : is_key(k, n, "prompt_cache_hit_tokens")     ? SL_CR_ALT
               : is_key(k, n, "cache_creation_input_tokens") ? SL_CW
               : is_key(k, n, "prompt_tokens_details")       ? SL_DETAILS
                                                             : SL_NONE;
    return is_key(k, n, "input_tokens")           ? SL_IN
           : is_key(k, n, "output_tokens")        ? SL_OUT
           : is_key(k, n, "input_tokens_details") ? SL_DETAILS
                                                  : SL_NONE;
}

static void up_space(struct ur_parse *u)
{
    if (u->p < u->end && *u->p == ' ')
        u->p++;
}

static int up_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* A string; *k / *n its raw bytes, *plain 0 when it holds an escape. */
static int up_string(struct ur_parse *u, const char **k, size_t *n, int *plain)
{
    if (u->p >= u->end || *u->p != '"')
        return -1;
    const char *start = ++u->p;
    *plain = 1;
    while (u->p < u->end) {
        unsigned char c = (unsigned char)*u->p;
        if (c == '"') {
            *k = start;
            *n = (size_t)(u->p - start);
            u->p++;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c == '\\') {
            *plain = 0;
            if (++u->p >= u->end)
                return -1;
            if (*u->p == 'u') {
                if (u->end - u->p < 5 || !up_hex(u->p[1]) || !up_hex(u->p[2]) ||
                    !up_hex(u->p[3]) || !up_hex(u->p[4]))
                    return -1;
                u->p += 4;
            } else if (!strchr("\"\\/bfnrt", *u->p) || *u->p == '\0') {
                return -1;
            }
        }
        u->p++;
    }
    return -1;
}

static int up_digits(struct ur_parse *u)
{
    const char *s = u->p;
    while (u->p < u->end && *u->p >= '0' && *u->p <= '9')
        u->p++;
    return u->p > s ? 0 : -1;
}

/* A number; *out its count: a non-negative integer (or a real with no
 * fraction beyond it, as the translator takes them), else USAGE_UNKNOWN. */
static int up_number(struct ur_parse *u, int64_t *out)
{
    const char *s = u->p;
    int neg = u->p < u->end && *u->p == '-';
    if (neg)
        u->p++;
    if (u->p < u->end && *u->p == '0')
        u->p++;
    else if (up_digits(u) != 0)
        return -1;
    int integer = 1;
    if (u->p < u->end && *u->p == '.') {
        u->p++;
        integer = 0;
        if (up_digits(u) != 0)
            return -1;
    }
    if (u->p < u->end && (*u->p == 'e' || *u->p == 'E')) {
        u->p++;
        integer = 0;
        if (u->p < u->end && (*u->p == '+' || *u->p == '-'))
            u->p++;
        if (up_digits(u) != 0)
            return -1;
    }
    *out = USAGE_UNKNOWN;
    if (neg)
        return 0;
    if (integer) {
        int64_t v = 0;
        for (const char *q = s; q < u->p; q++)
            if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *q - '0', &v))
                return 0; /* beyond int64: no count */
        *out = v;
        return 0;
    }
    char buf[64];
    size_t len = (size_t)(u->p - s);
    if (len < sizeof(buf)) {
        memcpy(buf, s, len);
        buf[len] = '\0';
        double d = strtod(buf, NULL);
        if (d >= 0 && d < 9e18)
            *out = (int64_t)d;
    }
    return 0;
}

static int up_value(struct ur_parse *u, int depth, enum ur_slot slot, int in_details);

/* Past a container's opening byte: 1 when it closes right away (`close`). */
static int up_open(struct ur_parse *u, char close)
{
    u->p++;
    up_space(u);
    if (u->p < u->end && *u->p == close) {
        u->p++;
        return 1;
    }
    return 0;
}

/* After a member: 1 when the container closed, 0 after a ',', -1 not JSON. */
static int up_next(struct ur_parse *u, char close)
{
    up_space(u);
    if (u->p >= u->end)
        return -1;
    char c = *u->p++;
    return c == close ? 1 : c == ',' ? 0 : -1;
}

static int up_object(struct ur_parse *u, int depth, int level)
{
    if (up_open(u, '}'))
        return 0;
    for (;;) {
        const char *k;
        size_t n;
        int plain;
        up_space(u);
        if (up_string(u, &k, &n, &plain) != 0)
            return -1;
        up_space(u);
        if (u->p >= u->end || *u->p++ != ':')
            return -1;
        enum ur_slot slot = SL_NONE;
        if (plain && level >= 0)
            slot = slot_of(u->wire, level, k, n);
        if (up_value(u, depth, slot, level) != 0)
            return -1;
        int next = up_next(u, '}');
        if (next != 0)
            return next > 0 ? 0 : -1;
    }
}

static int up_array(struct ur_parse *u, int depth)
{
    if (up_open(u, ']'))
        return 0;
    for (;;) {
        if (up_value(u, depth, SL_NONE, -1) != 0)
            return -1;
        int next = up_next(u, ']');
        if (next != 0)
            return next > 0 ? 0 : -1;
    }
}

static int up_literal(struct ur_parse *u, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(u->end - u->p) < n || memcmp(u->p, lit, n) != 0)
        return -1;
    u->p += n;
    return 0;
}

/* A value; a count goes into its slot. in_details: the level of the object
 * holding it (0 the usage object, 1 its details, -1 elsewhere). */
static int up_value(struct ur_parse *u, int depth, enum ur_slot slot, int in_details)
{
    up_space(u);
    if (u->p >= u->end || depth >= UR_PARSE_DEPTH)
        return -1;
    const char *k;
    size_t n;
    int plain;
    int64_t v;
    switch (*u->p) {
    case '{':
        return up_object(u, depth + 1, slot == SL_DETAILS && in_details == 0 ? 1 : -1);
    case '[': return up_array(u, depth + 1);
    case '"': return up_string(u, &k, &n, &plain);
    case 't': return up_literal(u, "true");
    case 'f': return up_literal(u, "false");
    case 'n': return up_literal(u, "null");
    default:
        if (up_number(u, &v) != 0)
            return -1;
        if (slot != SL_NONE && slot != SL_DETAILS)
            u->v[slot] = v;
        return 0;
    }
}

/* The counts of a usage object in the ledger's sense. Chat and Responses
 * read the same keys as the translator's decoder (DeepSeek's
 * prompt_cache_hit_tokens, a relay's cache write), so a passthrough and a
 * translated answer count alike. */
static struct usage_tokens usage_of(const struct ur_parse *u)
{
    const int64_t *v = u->v;
    if (u->wire == TR_FORMAT_A)
        return (struct usage_tokens){v[SL_IN], v[SL_OUT], v[SL_CR], v[SL_CW]};
    int64_t cr = v[SL_CR] != USAGE_UNKNOWN ? v[SL_CR] : v[SL_CR_ALT];
    int64_t cw = v[SL_CW] != USAGE_UNKNOWN ? v[SL_CW] : v[SL_CW_ALT];
    struct tr_usage tu = {.input_total = v[SL_IN], .output = v[SL_OUT],
                          .cache_read = cr, .cache_write = cw,
                          .has_input = v[SL_IN] != USAGE_UNKNOWN,
                          .has_output = v[SL_OUT] != USAGE_UNKNOWN,
                          .has_cache_read = cr != USAGE_UNKNOWN,
                          .has_cache_write = cw != USAGE_UNKNOWN};
    return usage_tokens_from_tr(&tu);
}

/* A captured usage object: its counts join those of the current value. */
static void captured(struct usage_reader *r)
{
    struct ur_scan *s = &r->js;
    struct ur_parse u = {.p = s->cap, .end = s->cap + s->cap_len, .wire = r->wire};
    for (int i = 0; i < SL_N; i++)
        u.v[i] = USAGE_UNKNOWN;
    /* the scanner captured from '{' to its closing '}' */
    if (s->cap_len == 0 || s->cap[0] != '{' || up_object(&u, 1, 0) != 0 || u.p != u.end)
        return;
    struct usage_tokens t = usage_of(&u);
    usage_tokens_merge(&s->found, &t);
}

/* ---- the JSON scanner ---- */

static void scan_reset(struct ur_scan *s)
{
    s->depth = 0;
    s->in_str = s->esc = s->after_colon = s->want_key = s->str_track = 0;
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

/* Bytes between tokens of a captured object: its whitespace is dropped, so
 * even a pretty-printed usage object fits. */
static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void cap_append_solid(struct ur_scan *s, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !is_space(p[j]))
            j++;
        cap_append(s, p + i, j - i);
        if (j == n)
            return;
        if (s->cap_len > 0 && s->cap[s->cap_len - 1] != ' ')
            cap_append(s, " ", 1); /* a run of whitespace: one space */
        for (i = j; i < n && is_space(p[i]); i++)
            ;
    }
}

/* Bytes that mean something to the scanner outside a string. */
static const unsigned char structural[256] = {
    ['"'] = 1, ['{'] = 1, ['}'] = 1, ['['] = 1, [']'] = 1, [':'] = 1, [','] = 1,
};

/* A key being read: its bytes (bounded; a backslash makes it no key of ours). */
static void key_append(struct ur_scan *s, const char *p, size_t n)
{
    if (n > sizeof(s->str) - s->str_len) {
        s->str_bad = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) { /* keys are short: no call for them */
        s->str_bad |= p[i] == '\\'; /* an escape: no key of ours */
        s->str[s->str_len++] = p[i];
    }
}

/* Inside a string: up to and including its closing quote. Returns the bytes
 * used. The quote is found with memchr and is escaped when an odd run of
 * backslashes precedes it (s->esc carries a pending backslash across
 * chunks), so a long string costs a memchr, not a loop per byte. */
static size_t scan_string(struct ur_scan *s, const char *p, size_t n)
{
    int track = s->str_track;
    size_t i = 0;
    for (;;) {
        const char *q = memchr(p + i, '"', n - i);
        size_t end = q ? (size_t)(q - p) : n;
        size_t k = 0; /* backslashes right before end */
        while (k < end - i && p[end - 1 - k] == '\\')
            k++;
        int odd = (int)((k == end - i ? k + (size_t)s->esc : k) & 1);
        if (track)
            key_append(s, p + i, end - i);
        if (!q) {
            s->esc = odd;
            return n;
        }
        s->esc = 0;
        if (odd) { /* an escaped quote: still in the string */
            if (track)
                s->str_bad = 1;
            i = end + 1;
            continue;
        }
        s->in_str = 0;
        if (track)
            s->last_str = key_of(s);
        return end + 1;
    }
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
        s->after_colon = s->want_key = 0;
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
        while (j < n && !structural[(unsigned char)p[j]])
            j++;
        if (j > i) {
            if (s->capturing)
                cap_append_solid(s, p + i, j - i);
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
            s->str_track = s->want_key && !s->capturing && s->depth >= 1 && s->depth <= 2;
            if (s->depth <= 2)
                s->after_colon = s->want_key = 0;
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
            if (s->depth <= 2) {
                s->key[s->depth] = KEY_NONE;
                s->want_key = c == '{' && !s->capturing;
            }
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
                s->want_key = 1;
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

/* An "event:" line ended: its name decides whether the event's data is read.
 * An event renamed from skipped to read starts its data afresh, so what a
 * skipped stretch held never counts, whichever path skipped it. */
static void event_named(struct usage_reader *r)
{
    int skip = skip_event(r);
    if (r->event_skip && !skip) {
        scan_reset(&r->js);
        r->event_data = 0;
    }
    r->event_skip = skip;
}

/* A blank line: the event is dispatched and the next one starts afresh. */
static void end_event(struct usage_reader *r)
{
    scan_reset(&r->js);
    r->event_data = 0;
    r->event_skip = 0;
}

/* A field name or an event name, bounded (too long: sizeof + 1, none of ours). */
static void name_append(struct usage_reader *r, const char *p, size_t n)
{
    if (r->name_len > sizeof(r->name) || n > sizeof(r->name) - r->name_len) {
        r->name_len = sizeof(r->name) + 1;
        return;
    }
    memcpy(r->name + r->name_len, p, n);
    r->name_len += n;
}

static void field_named(struct usage_reader *r)
{
    r->field = 0;
    if (r->name_len == 4 && memcmp(r->name, "data", 4) == 0)
        r->field = 1;
    else if (r->name_len == 5 && memcmp(r->name, "event", 5) == 0)
        r->field = 2;
    if (r->field == 1 && !r->event_skip) {
        if (r->event_data)
            scan(r, "\n", 1); /* data lines join with a newline */
        r->event_data = 1;
    }
    r->name_len = 0;
}

/* Part of a line, no line end in it. */
static void line_part(struct usage_reader *r, const char *p, size_t n)
{
    while (n > 0) {
        switch (r->line) {
        case LINE_START:
            r->name_len = 0;
            r->line = p[0] == ':' ? LINE_SKIP : LINE_FIELD;
            continue;
        case LINE_FIELD: {
            const char *colon = memchr(p, ':', n);
            size_t k = colon ? (size_t)(colon - p) : n;
            name_append(r, p, k);
            if (!colon)
                return;
            field_named(r);
            r->line = r->field ? LINE_SPACE : LINE_SKIP;
            p += k + 1;
            n -= k + 1;
            continue;
        }
        case LINE_SPACE:
            r->line = r->field == 1 ? LINE_DATA : LINE_EVENT;
            if (p[0] == ' ') {
                p++;
                n--;
            }
            continue;
        case LINE_DATA:
            if (!r->event_skip)
                scan(r, p, n);
            return;
        case LINE_EVENT:
            name_append(r, p, n);
            return;
        case LINE_SKIP:
        case LINE_SKIP_EVENT:
            return;
        }
    }
}

/* The end of a line: an empty one dispatches the event. */
static void line_end(struct usage_reader *r)
{
    switch (r->line) {
    case LINE_START:
        end_event(r);
        return;
    case LINE_FIELD: /* a name alone: "data" is an empty data line */
        field_named(r);
        break;
    case LINE_SPACE:
    case LINE_EVENT:
        if (r->field == 2)
            event_named(r);
        break;
    default:
        break;
    }
    r->line = LINE_START;
}

/* The rest of an event whose name said it has no usage: from line start to
 * line start with memchr until the blank line, its data never looked at.
 * Returns the bytes used; at a lone CR it hands over to the line machinery. */
static size_t skip_event_rest(struct usage_reader *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (r->skip_bol) {
            if (p[i] == '\n' || p[i] == '\r') { /* the blank line */
                r->last_cr = p[i] == '\r';
                end_event(r);
                r->line = LINE_START;
                return i + 1;
            }
            if (p[i] == 'e') { /* maybe another "event:" line: it may rename the event */
                r->line = LINE_START;
                return i;
            }
            r->skip_bol = 0;
        }
        const char *nl = memchr(p + i, '\n', n - i);
        size_t lim = nl ? (size_t)(nl - p) : n;
        /* A CR other than a CRLF's ends a line too (SSE): the line machinery
         * takes over from here, the event still skipped (event_skip). */
        const char *cr = memchr(p + i, '\r', lim - i);
        if (cr && !(nl && cr == nl - 1)) {
            r->line = r->skip_bol ? LINE_START : LINE_SKIP;
            return i;
        }
        if (!nl)
            return n;
        r->skip_bol = 1;
        i = lim + 1;
    }
    return n;
}

/* A whole "event:" line at a line start: its name decides at once whether
 * the event's data is read. Returns 0 when the line is not one. */
static int event_line(struct usage_reader *r, const char *p, size_t n)
{
    if (n < 6 || memcmp(p, "event:", 6) != 0)
        return 0;
    p += 6;
    n -= 6;
    if (n > 0 && p[0] == ' ') {
        p++;
        n--;
    }
    r->name_len = 0;
    name_append(r, p, n);
    event_named(r);
    r->line = r->event_skip && !r->cr_only ? LINE_SKIP_EVENT : LINE_START;
    r->skip_bol = 1;
    return 1;
}

/* Lines are found with memchr: LF and CRLF ends, and lone CRs once the
 * stream is seen to use them (or when no LF follows); an "event:" line that
 * arrives whole is handled at once. */
static void feed_sse(struct usage_reader *r, const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        if (r->last_cr) {
            r->last_cr = 0;
            if (p[i] == '\n') { /* the LF of a CRLF */
                i++;
                continue;
            }
            r->cr_only = 1;
            if (r->line == LINE_SKIP_EVENT) /* found out too late: the slow way */
                r->line = LINE_START;
        }
        if (r->line == LINE_SKIP_EVENT) {
            i += skip_event_rest(r, p + i, n - i);
            continue;
        }
        const char *nl = memchr(p + i, '\n', n - i);
        size_t lim = nl ? (size_t)(nl - p) : n;
        /* A CR ends a line wherever it is (SSE), whatever the chunking: of a
         * CRLF, the LF is skipped at the top (last_cr). */
        const char *cr = memchr(p + i, '\r', lim - i);
        if (cr)
            lim = (size_t)(cr - p);
        if (lim < n && r->line == LINE_START && event_line(r, p + i, lim - i)) {
            r->last_cr = p[lim] == '\r';
            i = lim + 1;
            continue;
        }
        if (lim > i)
            line_part(r, p + i, lim - i);
        if (lim == n)
            return;
        r->last_cr = p[lim] == '\r';
        line_end(r);
        i = lim + 1;
    }
}

/* ---- the reader ---- */

struct usage_reader *usage_reader_new(enum tr_format wire, int stream)
{
    /* calloc: every flag starts clear (cr_only, skip_bol ... -- valgrind found
     * one read before it was ever written). */
    struct usage_reader *r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->wire = wire;
    r->stream = stream != 0;
    r->line = LINE_START;
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
