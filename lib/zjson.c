/* zjson.c -- a fast JSON reader that builds jansson values (zjson.h).
 *
 * Recursive descent over the buffer. Each function takes the parser at the
 * first byte of its token and leaves it just past it; any error unwinds with
 * NULL and the caller frees what it built. Strings without escapes go from
 * the input straight into jansson (one copy, the one jansson makes); strings
 * with escapes are decoded into one scratch buffer reused for the whole
 * parse. */
#include "zjson.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifndef JSON_PARSER_MAX_DEPTH
#define JSON_PARSER_MAX_DEPTH 2048
#endif

struct zjp {
    const unsigned char *p, *end;
    unsigned flags;
    char *scratch; /* decoded string bytes */
    size_t scratch_cap;
};

/* Bytes a string scan must stop at: '"', '\\', control characters and the
 * first byte of a multi-byte UTF-8 sequence. */
static const unsigned char stop_byte[256] = {
    [0 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1, [0x80 ... 0xff] = 1,
};

/* The escapes that stand for one byte: '"', '\\', '/', b, f, n, r, t. */
static const unsigned char simple_escape[256] = {
    ['"'] = 1, ['\\'] = 1, ['/'] = 1, ['b'] = 1, ['f'] = 1, ['n'] = 1, ['r'] = 1, ['t'] = 1,
};

static json_t *parse_value(struct zjp *z, int depth);

static void skip_ws(struct zjp *z)
{
    while (z->p < z->end && (*z->p == ' ' || *z->p == '\n' || *z->p == '\r' || *z->p == '\t'))
        z->p++;
}

/* The length of the valid UTF-8 sequence at p (2 to 4 bytes), or 0: the
 * lead byte must start a sequence, every continuation byte must be one, and
 * the code point may not be overlong, a surrogate, or above U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    uint32_t v;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        v = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        v = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || (v >= 0xd800 && v <= 0xdfff) ||
        v > 0x10ffff)
        return 0;
    return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out)
{
    if (end - p < 4)
        return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    *out = v;
    return 0;
}

static size_t utf8_put(uint32_t v, char *t)
{
    if (v < 0x80) {
        t[0] = (char)v;
        return 1;
    }
    if (v < 0x800) {
        t[0] = (char)(0xc0 | (v >> 6));
        t[1] = (char)(0x80 | (v & 0x3f));
        return 2;
    }
    if (v < 0x10000) {
        t[0] = (char)(0xe0 | (v >> 12));
        t[1] = (char)(0x80 | ((v >> 6) & 0x3f));
        t[2] = (char)(0x80 | (v & 0x3f));
        return 3;
    }
    t[0] = (char)(0xf0 | (v >> 18));
    t[1] = (char)(0x80 | ((v >> 12) & 0x3f));
    t[2] = (char)(0x80 | ((v >> 6) & 0x3f));
    t[3] = (char)(0x80 | (v & 0x3f));
    return 4;
}

/* Decodes the escape after a backslash (*pp at the byte after it) into t
 * (at most 4 bytes); returns the bytes written, or 0 for a bad escape. *pp
 * ends past the escape. */
static size_t decode_escape(const unsigned char **pp, const unsigned char *end, char *t)
{
    const unsigned char *p = *pp;
    if (p >= end)
        return 0;
    unsigned c = *p++;
    *pp = p;
    switch (c) {
    case '"': case '\\': case '/': *t = (char)c; return 1;
    case 'b': *t = '\b'; return 1;
    case 'f': *t = '\f'; return 1;
    case 'n': *t = '\n'; return 1;
    case 'r': *t = '\r'; return 1;
    case 't': *t = '\t'; return 1;
    case 'u': break;
    default: return 0;
    }
    uint32_t v, lo;
    if (hex4(p, end, &v) != 0)
        return 0;
    p += 4;
    if (v >= 0xdc00 && v <= 0xdfff)
        return 0; /* a low surrogate on its own */
    if (v >= 0xd800 && v <= 0xdbff) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) != 0 ||
            lo < 0xdc00 || lo > 0xdfff)
            return 0;
        p += 6;
        v = 0x10000 + ((v - 0xd800) << 10) + (lo - 0xdc00);
    }
    *pp = p;
    return utf8_put(v, t);
}

/* The first byte at or after p that a string scan must stop at (stop_byte),
 * or end. Many bytes at a time while none of them is one: strings are most
 * of a request body. */
static const unsigned char *plain_run(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    /* As signed bytes, a control character and the lead of a multi-byte
     * sequence are both below 0x20. */
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, quote),
                                                _mm_cmpeq_epi8(x, bslash)),
                                   _mm_cmplt_epi8(x, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#endif
    while (p < end && !stop_byte[*p])
        p++;
    return p;
}

/* Scans the string whose opening quote z->p is at. On success *s and *n are
 * its bytes (in the input when it has no escapes, else in the scratch
 * buffer) and z->p is past the closing quote. */
static int scan_string(struct zjp *z, const char **s, size_t *n)
{
    const unsigned char *start = ++z->p;
    size_t out = 0;   /* scratch bytes in use, once an escape was seen */
    int escaped = 0;
    for (;;) {
        const unsigned char *q = plain_run(z->p, z->end);
        if (escaped && q > z->p) {
            memcpy(z->scratch + out, z->p, (size_t)(q - z->p));
            out += (size_t)(q - z->p);
        }
        z->p = q;
        if (q >= z->end)
            return -1; /* no closing quote */
        unsigned c = *q;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1;
        if (c >= 0x80) {
            size_t k = utf8_seq(q, z->end);
            if (!k)
                return -1;
            if (escaped) {
                memcpy(z->scratch + out, q, k);
                out += k;
            }
            z->p = q + k;
            continue;
        }
        /* a backslash: from here on the string is built in scratch, which
         * never needs more than the rest of the input (no escape grows) */
        if (!escaped) {
            size_t need = (size_t)(z->end - start) + 1;
            if (need > z->scratch_cap) {
                char *nb = realloc(z->scratch, need);
                if (!nb)
                    return -1;
                z->scratch = nb;
                z->scratch_cap = need;
            }
            out = (size_t)(q - start);
            memcpy(z->scratch, start, out);
            escaped = 1;
        }
        z->p = q + 1;
        size_t k = decode_escape(&z->p, z->end, z->scratch + out);
        if (!k)
            return -1;
        out += k;
    }
    if (escaped) {
        *s = z->scratch;
        *n = out;
    } else {
        *s = (const char *)start;
        *n = (size_t)(z->p - start);
    }
    z->p++; /* the closing quote */
    return 0;
}

static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }

/* The end of the number that starts at p by RFC 8259's grammar, or NULL;
 * *real says whether it has a fraction or an exponent. */
static const unsigned char *number_end(const unsigned char *p, const unsigned char *end,
                                       int *real)
{
    const unsigned char *q = p;
    *real = 0;
    if (q < end && *q == '-')
        q++;
    if (q >= end || !is_digit(*q))
        return NULL;
    if (*q == '0') {
        q++;
        if (q < end && is_digit(*q))
            return NULL; /* a leading zero */
    } else {
        while (q < end && is_digit(*q))
            q++;
    }
    if (q < end && *q == '.') {
        q++;
        if (q >= end || !is_digit(*q))
            return NULL;
        while (q < end && is_digit(*q))
            q++;
        *real = 1;
    }
    if (q < end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < end && (*q == '+' || *q == '-'))
            q++;
        if (q >= end || !is_digit(*q))
            return NULL;
        while (q < end && is_digit(*q))
            q++;
        *real = 1;
    }
    return q;
}

static json_t *parse_number(struct zjp *z)
{
    const unsigned char *start = z->p;
    int real;
    const unsigned char *q = number_end(start, z->end, &real);
    if (!q)
        return NULL;
    z->p = q;
    size_t n = (size_t)(q - start);
    if (!real && n <= 18) {
        /* at most 18 digits: cannot overflow */
        const unsigned char *d = start + (*start == '-');
        long long v = 0;
        while (d < q)
            v = v * 10 + (*d++ - '0');
        return json_integer(*start == '-' ? -v : v);
    }
    char small[64], *text = n < sizeof(small) ? small : malloc(n + 1);
    if (!text)
        return NULL;
    memcpy(text, start, n);
    text[n] = '\0';
    json_t *v = NULL;
    errno = 0;
    if (!real) {
        long long i = strtoll(text, NULL, 10);
        if (errno != ERANGE)
            v = json_integer(i);
    } else {
        double d = strtod(text, NULL);
        if (!(errno == ERANGE && (d > 1.0 || d < -1.0)))
            v = json_real(d); /* underflow to 0 or a denormal is fine, overflow is not */
    }
    if (text != small)
        free(text);
    return v;
}

static int literal(struct zjp *z, const char *word, size_t n)
{
    if ((size_t)(z->end - z->p) < n || memcmp(z->p, word, n) != 0)
        return 0;
    z->p += n;
    return 1;
}

/* After a container's opening byte: skips it and the whitespace after it;
 * 1 when the closing byte follows at once (an empty container, consumed). */
static int open_empty(struct zjp *z, unsigned char close)
{
    z->p++;
    skip_ws(z);
    if (z->p < z->end && *z->p == close) {
        z->p++;
        return 1;
    }
    return 0;
}

/* After a member: 1 at a ',' (another member follows), 0 at the closing
 * byte, -1 at anything else; the separator is consumed. */
static int next_member(struct zjp *z, unsigned char close)
{
    skip_ws(z);
    if (z->p < z->end && *z->p == ',') {
        z->p++;
        skip_ws(z);
        return 1;
    }
    if (z->p < z->end && *z->p == close) {
        z->p++;
        return 0;
    }
    return -1;
}

static json_t *parse_object(struct zjp *z, int depth)
{
    json_t *obj = json_object();
    if (!obj)
        return NULL;
    if (open_empty(z, '}'))
        return obj;
    for (;;) {
        const char *key;
        size_t klen;
        if (z->p >= z->end || *z->p != '"' || scan_string(z, &key, &klen) != 0 ||
            memchr(key, '\0', klen))
            goto fail;
        /* A key decoded into scratch is copied: the value's strings reuse
         * scratch. A key in the input is used where it is. */
        char small[128], *k = (char *)key;
        if (key == z->scratch) {
            k = klen < sizeof(small) ? small : malloc(klen + 1);
            if (!k)
                goto fail;
            memcpy(k, key, klen);
        }
        skip_ws(z);
        json_t *v = NULL;
        if (z->p < z->end && *z->p == ':') {
            z->p++;
            skip_ws(z);
            v = parse_value(z, depth + 1);
        }
        int bad = !v || json_object_setn_new_nocheck(obj, k, klen, v) != 0;
        if (k != key && k != small)
            free(k);
        if (bad)
            goto fail;
        int more = next_member(z, '}');
        if (more == 0)
            return obj;
        if (more < 0)
            goto fail;
    }
fail:
    json_decref(obj);
    return NULL;
}

static json_t *parse_array(struct zjp *z, int depth)
{
    json_t *arr = json_array();
    if (!arr)
        return NULL;
    if (open_empty(z, ']'))
        return arr;
    for (;;) {
        json_t *v = parse_value(z, depth + 1);
        if (!v || json_array_append_new(arr, v) != 0)
            goto fail;
        int more = next_member(z, ']');
        if (more == 0)
            return arr;
        if (more < 0)
            goto fail;
    }
fail:
    json_decref(arr);
    return NULL;
}

/* The value at z->p (whitespace already skipped); depth is its nesting
 * level, the top value being 1, as jansson counts. */
static json_t *parse_value(struct zjp *z, int depth)
{
    if (depth > JSON_PARSER_MAX_DEPTH || z->p >= z->end)
        return NULL;
    switch (*z->p) {
    case '{':
        return parse_object(z, depth);
    case '[':
        return parse_array(z, depth);
    case '"': {
        const char *s;
        size_t n;
        if (scan_string(z, &s, &n) != 0)
            return NULL;
        if (!(z->flags & ZJSON_ALLOW_NUL) && memchr(s, '\0', n))
            return NULL;
        return json_stringn_nocheck(s, n);
    }
    case 't':
        return literal(z, "true", 4) ? json_true() : NULL;
    case 'f':
        return literal(z, "false", 5) ? json_false() : NULL;
    case 'n':
        return literal(z, "null", 4) ? json_null() : NULL;
    default:
        return parse_number(z);
    }
}

/* ---- strings ---- */

int zjson_utf8_valid(const char *str, size_t len)
{
    const unsigned char *p = (const unsigned char *)str, *end = p + len;
    while (p < end) {
#ifdef __SSE2__
        /* sixteen bytes at a time while they are ASCII */
        while (end - p >= 16 &&
               !_mm_movemask_epi8(_mm_loadu_si128((const __m128i *)(const void *)p)))
            p += 16;
        if (p >= end)
            break;
#endif
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = utf8_seq(p, end);
        if (!k)
            return 0;
        p += k;
    }
    return 1;
}

json_t *zjson_string(const char *str)
{
    if (!str)
        return NULL;
    size_t n = strlen(str);
    return zjson_utf8_valid(str, n) ? json_stringn_nocheck(str, n) : NULL;
}

/* ---- the reader that builds nothing ---- */

/* Checks the string whose opening quote z->p is at, as scan_string reads
 * it, without decoding: *s and *n are its bytes in the input, *escaped says
 * whether any is an escape. A \u0000 fails it (zjson_load's flags 0: no NUL
 * in a key or a value). */
static int skim_string(struct zjp *z, const unsigned char **s, size_t *n, int *escaped)
{
    const unsigned char *start = ++z->p, *q;
    *escaped = 0;
    for (;;) {
        q = plain_run(z->p, z->end);
        if (q >= z->end || *q < 0x20)
            return -1;
        if (*q == '"')
            break;
        if (*q >= 0x80) {
            size_t k = utf8_seq(q, z->end);
            if (!k)
                return -1;
            z->p = q + k;
            continue;
        }
        *escaped = 1;
        if (q + 1 < z->end && simple_escape[q[1]]) {
            z->p = q + 2; /* \n, \" ...: nothing to check */
            continue;
        }
        char t[4];
        z->p = q + 1;
        size_t k = decode_escape(&z->p, z->end, t);
        if (!k || (k == 1 && t[0] == '\0'))
            return -1;
    }
    *s = start;
    *n = (size_t)(q - start);
    z->p = q + 1;
    return 0;
}

/* Would parse_number take the number [p, q)? 1 yes, 0 no (out of range),
 * -1 cannot tell without allocating (64 bytes or more with an exponent). */
static int number_fits(const unsigned char *p, const unsigned char *q, int real)
{
    size_t n = (size_t)(q - p);
    if (!real && n <= 18)
        return 1;
    /* no exponent and under 300 digits: below 1e300, far from DBL_MAX */
    if (real && n < 300 && !memchr(p, 'e', n) && !memchr(p, 'E', n))
        return 1;
    if (!real && n > 20)
        return 0; /* more digits than any long long has */
    char text[64];
    if (n >= sizeof(text))
        return -1;
    memcpy(text, p, n);
    text[n] = '\0';
    errno = 0;
    if (!real) {
        (void)strtoll(text, NULL, 10);
        return errno != ERANGE;
    }
    double d = strtod(text, NULL);
    return !(errno == ERANGE && (d > 1.0 || d < -1.0));
}

/* Checks and skips the value at z->p, at nesting level depth
 * (parse_value's rules); 0, or -1. */
static int skip_value(struct zjp *z, int depth)
{
    if (depth > JSON_PARSER_MAX_DEPTH || z->p >= z->end)
        return -1;
    const unsigned char *s;
    size_t n;
    int esc, real, more;
    switch (*z->p) {
    case '{':
        if (open_empty(z, '}'))
            return 0;
        do {
            if (z->p >= z->end || *z->p != '"' || skim_string(z, &s, &n, &esc) != 0)
                return -1;
            skip_ws(z);
            if (z->p >= z->end || *z->p != ':')
                return -1;
            z->p++;
            skip_ws(z);
            if (skip_value(z, depth + 1) != 0)
                return -1;
        } while ((more = next_member(z, '}')) > 0);
        return more;
    case '[':
        if (open_empty(z, ']'))
            return 0;
        do {
            if (skip_value(z, depth + 1) != 0)
                return -1;
        } while ((more = next_member(z, ']')) > 0);
        return more;
    case '"':
        return skim_string(z, &s, &n, &esc);
    case 't':
        return literal(z, "true", 4) ? 0 : -1;
    case 'f':
        return literal(z, "false", 5) ? 0 : -1;
    case 'n':
        return literal(z, "null", 4) ? 0 : -1;
    default:
        s = number_end(z->p, z->end, &real);
        if (!s || number_fits(z->p, s, real) != 1)
            return -1;
        z->p = s;
        return 0;
    }
}

/* The reader's position as a parser's, and back. */
static struct zjp zjp_at(const struct zjson_reader *r)
{
    struct zjp z = {r->p, r->end, 0, NULL, 0};
    skip_ws(&z);
    return z;
}

void zjson_reader_init(struct zjson_reader *r, const char *data, size_t len)
{
    r->p = (const unsigned char *)data;
    r->end = r->p + (data ? len : 0);
    r->depth = 0;
}

int zjson_reader_peek(struct zjson_reader *r)
{
    struct zjp z = zjp_at(r);
    r->p = z.p;
    return z.p < z.end ? *z.p : -1;
}

int zjson_reader_enter(struct zjson_reader *r)
{
    struct zjp z = zjp_at(r);
    if (z.p >= z.end || (*z.p != '{' && *z.p != '[') || r->depth + 1 > JSON_PARSER_MAX_DEPTH)
        return -1;
    int empty = open_empty(&z, *z.p == '{' ? '}' : ']');
    r->p = z.p;
    if (!empty)
        r->depth++;
    return !empty;
}

int zjson_reader_key(struct zjson_reader *r, const char **key, size_t *len, int *escaped)
{
    struct zjp z = zjp_at(r);
    const unsigned char *s;
    if (z.p >= z.end || *z.p != '"' || skim_string(&z, &s, len, escaped) != 0)
        return -1;
    skip_ws(&z);
    if (z.p >= z.end || *z.p != ':')
        return -1;
    z.p++;
    r->p = z.p;
    *key = (const char *)s;
    return 0;
}

int zjson_reader_string(struct zjson_reader *r, const char **str, size_t *len, int *escaped)
{
    struct zjp z = zjp_at(r);
    const unsigned char *s;
    if (z.p >= z.end || *z.p != '"' || r->depth + 1 > JSON_PARSER_MAX_DEPTH ||
        skim_string(&z, &s, len, escaped) != 0)
        return -1;
    r->p = z.p;
    *str = (const char *)s;
    return 0;
}

int zjson_reader_skip(struct zjson_reader *r)
{
    struct zjp z = zjp_at(r);
    int rc = skip_value(&z, r->depth + 1);
    r->p = z.p;
    return rc;
}

int zjson_reader_next(struct zjson_reader *r, int close)
{
    struct zjp z = zjp_at(r);
    int more = next_member(&z, (unsigned char)close);
    r->p = z.p;
    if (more == 0)
        r->depth--;
    return more;
}

int zjson_reader_end(struct zjson_reader *r)
{
    struct zjp z = zjp_at(r);
    r->p = z.p;
    return z.p == z.end ? 0 : -1;
}

int zjson_reader_members(struct zjson_reader *r, zjson_member_fn fn, void *ud)
{
    if (zjson_reader_peek(r) != '{')
        return zjson_reader_skip(r);
    int more = zjson_reader_enter(r);
    while (more > 0) {
        const char *key;
        size_t n;
        int escaped;
        if (zjson_reader_key(r, &key, &n, &escaped) != 0 || escaped || fn(r, key, n, ud) != 0)
            return -1;
        more = zjson_reader_next(r, '}');
    }
    return more;
}

size_t zjson_reader_unescape(const char *s, size_t len, char *out)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    size_t n = 0;
    for (;;) {
        const unsigned char *q = memchr(p, '\\', (size_t)(end - p));
        size_t run = (size_t)((q ? q : end) - p);
        memcpy(out + n, p, run);
        n += run;
        if (!q)
            return n;
        p = q + 1;
        size_t k = decode_escape(&p, end, out + n);
        if (!k)
            return (size_t)-1;
        n += k;
    }
}

json_t *zjson_load(const char *data, size_t len, unsigned flags)
{
    if (!data)
        return NULL;
    struct zjp z = {(const unsigned char *)data, (const unsigned char *)data + len, flags, NULL, 0};
    skip_ws(&z);
    if (!(flags & ZJSON_DECODE_ANY) && (z.p >= z.end || (*z.p != '{' && *z.p != '[')))
        return NULL;
    json_t *v = parse_value(&z, 1);
    free(z.scratch);
    if (!v)
        return NULL;
    skip_ws(&z);
    if (z.p != z.end) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* ---- the writer ---- */

static int dump_string(const char *str, size_t len, zbuf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)str, *end = p + len;
    /* room for the common case, a string with nothing to escape */
    if (zbuf_reserve(out, len + 2) != 0 || zbuf_append(out, "\"", 1) != 0)
        return -1;
    while (p < end) {
        const unsigned char *q = plain_run(p, end);
        if (zbuf_append(out, p, (size_t)(q - p)) != 0)
            return -1;
        if (q >= end)
            break;
        unsigned c = *q;
        if (c >= 0x80) {
            size_t k = utf8_seq(q, end);
            if (!k || zbuf_append(out, q, k) != 0)
                return -1;
            p = q + k;
            continue;
        }
        char esc[6] = {'\\', 0};
        size_t n = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            n = 6;
        }
        if (zbuf_append(out, esc, n) != 0)
            return -1;
        p = q + 1;
    }
    return zbuf_append(out, "\"", 1) == 0 ? 0 : -1;
}

/* Reals are rare on zend's paths and their formatting is jansson's own
 * (precision, ".0", exponent), so jansson writes them. */
static int dump_real(const json_t *v, int precision, zbuf *out)
{
    char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_REAL_PRECISION(precision));
    int rc = s ? zbuf_append_str(out, s) : -1;
    free(s);
    return rc == 0 ? 0 : -1;
}

static int dump_value(const json_t *v, int precision, zbuf *out)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *val;
        int first = 1;
        if (zbuf_append(out, "{", 1) != 0)
            return -1;
        json_object_foreach((json_t *)v, key, val) {
            if ((!first && zbuf_append(out, ",", 1) != 0) ||
                dump_string(key, json_object_iter_key_len(json_object_key_to_iter(key)), out) != 0 ||
                zbuf_append(out, ":", 1) != 0 || dump_value(val, precision, out) != 0)
                return -1;
            first = 0;
        }
        return zbuf_append(out, "}", 1) == 0 ? 0 : -1;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(v);
        if (zbuf_append(out, "[", 1) != 0)
            return -1;
        for (size_t i = 0; i < n; i++)
            if ((i && zbuf_append(out, ",", 1) != 0) ||
                dump_value(json_array_get(v, i), precision, out) != 0)
                return -1;
        return zbuf_append(out, "]", 1) == 0 ? 0 : -1;
    }
    case JSON_STRING:
        return dump_string(json_string_value(v), json_string_length(v), out);
    case JSON_INTEGER:
        return zbuf_append_int(out, json_integer_value(v)) == 0 ? 0 : -1;
    case JSON_REAL:
        return dump_real(v, precision, out);
    case JSON_TRUE:
        return zbuf_append(out, "true", 4) == 0 ? 0 : -1;
    case JSON_FALSE:
        return zbuf_append(out, "false", 5) == 0 ? 0 : -1;
    case JSON_NULL:
        return zbuf_append(out, "null", 4) == 0 ? 0 : -1;
    }
    return -1;
}

int zjson_dump_string(const char *s, size_t len, zbuf *out)
{
    size_t before = zbuf_len(out); /* a reserve may move the data to the front */
    if (dump_string(s, len, out) != 0) {
        out->end = out->start + before;
        return -1;
    }
    return 0;
}

int zjson_dump(const json_t *v, int real_precision, zbuf *out)
{
    if (!v || !out)
        return -1;
    size_t before = zbuf_len(out); /* a reserve may move the data to the front */
    if (dump_value(v, real_precision, out) != 0) {
        out->end = out->start + before;
        return -1;
    }
    return 0;
}

char *zjson_dumps(const json_t *v, int real_precision, size_t *len)
{
    zbuf b;
    zbuf_init(&b);
    if (zjson_dump(v, real_precision, &b) != 0 || zbuf_append(&b, "", 1) != 0) {
        zbuf_free(&b);
        return NULL;
    }
    if (len)
        *len = zbuf_len(&b) - 1;
    return (char *)b.data; /* nothing was consumed: the text starts at b.data */
}
