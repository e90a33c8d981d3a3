/* Unit tests for lib/zjson.c: it must build exactly what json_loadb builds.
 *
 * Every check is differential and absolute at once: a table of texts with
 * the expected verdict (accepted or rejected), where jansson must agree and
 * the two trees must dump identically (values, key order, reals); then the
 * depth limit at its edge; then thousands of random mutations of real
 * request and answer bodies, compared with jansson the same way. */
#include <CUnit/CUnit.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "zjson.h"

static size_t jansson_flags(unsigned f)
{
    return ((f & ZJSON_DECODE_ANY) ? JSON_DECODE_ANY : 0) |
           ((f & ZJSON_ALLOW_NUL) ? JSON_ALLOW_NUL : 0);
}

/* jansson 2.14 skips a NUL byte that follows a number or a literal (the
 * byte it puts back after the token reads as "nothing buffered"), so it
 * accepts "[1\0]". zjson rejects every NUL byte outside a \u0000 escape:
 * the one place the two differ, on purpose. */
static int jansson_nul_quirk(const char *text, size_t len)
{
    for (size_t i = 1; i < len; i++)
        if (text[i] == '\0' && ((text[i - 1] >= '0' && text[i - 1] <= '9') ||
                                (text[i - 1] >= 'a' && text[i - 1] <= 'z')))
            return 1;
    return 0;
}

/* The reader, walked through every container member by member (walk 1) or
 * skipping the top value whole (walk 0). */
static int reader_walk(struct zjson_reader *r, int members)
{
    int c = zjson_reader_peek(r);
    if (members && (c == '{' || c == '[')) {
        int more = zjson_reader_enter(r);
        while (more > 0) {
            const char *k;
            size_t n;
            int esc;
            if (c == '{' && zjson_reader_key(r, &k, &n, &esc) != 0)
                return -1;
            if (reader_walk(r, members) != 0)
                return -1;
            more = zjson_reader_next(r, c == '{' ? '}' : ']');
        }
        return more;
    }
    if (members && c == '"') {
        const char *str;
        size_t n;
        int esc;
        return zjson_reader_string(r, &str, &n, &esc);
    }
    return zjson_reader_skip(r);
}

/* The reader takes what zjson_load with flags 0 (any top value) takes. */
static void reader_agrees(const char *text, size_t len)
{
    json_t *v = zjson_load(text, len, ZJSON_DECODE_ANY);
    for (int members = 0; members <= 1; members++) {
        struct zjson_reader r;
        zjson_reader_init(&r, text, len);
        int ok = reader_walk(&r, members) == 0 && zjson_reader_end(&r) == 0;
        CU_ASSERT_EQUAL(ok, v != NULL);
        if (ok != (v != NULL))
            fprintf(stderr, "reader (%s) %s: %.*s\n", members ? "members" : "skip",
                    ok ? "accepts" : "rejects", (int)len, text);
    }
    json_decref(v);
}

/* Parses with both readers; returns 1 when zjson accepted. Asserts they
 * agree on the verdict and, when accepted, on the dumped tree. */
static int both(const char *text, size_t len, unsigned flags)
{
    reader_agrees(text, len);
    json_t *a = zjson_load(text, len, flags);
    if (jansson_nul_quirk(text, len)) {
        CU_ASSERT_PTR_NULL(a);
        json_decref(a);
        return 0;
    }
    json_t *b = json_loadb(text, len, jansson_flags(flags), NULL);
    CU_ASSERT_EQUAL(a == NULL, b == NULL);
    if ((a == NULL) != (b == NULL))
    {
        fprintf(stderr, "verdicts differ (zjson %s) on:", a ? "accepts" : "rejects");
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, (unsigned char)text[i] < 0x20 || (unsigned char)text[i] >= 0x7f
                                ? "\\x%02x" : "%c", (unsigned char)text[i]);
        fprintf(stderr, "\n");
    }
    if (a && b) {
        /* the trees, each written by the other library's writer too */
        char *da = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY);
        char *db = json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY);
        char *za = zjson_dumps(a, 0, NULL);
        CU_ASSERT_PTR_NOT_NULL(da);
        CU_ASSERT_PTR_NOT_NULL(db);
        CU_ASSERT_PTR_NOT_NULL(za);
        if (da && db && za) {
            CU_ASSERT_STRING_EQUAL(da, db);
            CU_ASSERT_STRING_EQUAL(za, db);
            if (strcmp(da, db) != 0 || strcmp(za, db) != 0)
                fprintf(stderr, "trees differ on %.*s:\n  %s\n  %s\n  %s\n", (int)len, text, da,
                        db, za);
        }
        free(da);
        free(db);
        free(za);
    }
    int ok = a != NULL;
    json_decref(a);
    json_decref(b);
    return ok;
}

struct verdict {
    const char *text;
    int accept;
};

#define ANY (ZJSON_DECODE_ANY | ZJSON_ALLOW_NUL)

static const struct verdict cases[] = {
    {"{}", 1}, {"[]", 1}, {" \t\r\n{ } \n", 1}, {"{\"a\":1,\"b\":[true,false,null]}", 1},
    {"{\"a\":1,}", 0}, {"[1,]", 0}, {"[,1]", 0}, {"{,}", 0}, {"{\"a\"}", 0}, {"{\"a\":}", 0},
    {"{\"a\" 1}", 0}, {"{1:2}", 0}, {"[1 2]", 0}, {"[", 0}, {"{", 0}, {"]", 0}, {"", 0},
    {"   ", 0}, {"[1]x", 0}, {"[1] [2]", 0}, {"nul", 0}, {"truex", 0}, {"[true1]", 0},
    {"True", 0}, {"NaN", 0}, {"Infinity", 0}, {"-Infinity", 0}, {"\v[]", 0}, {"[1]\f", 0},
    /* numbers */
    {"0", 1}, {"-0", 1}, {"-", 0}, {"01", 0}, {"-01", 0}, {"1.", 0}, {".5", 0}, {"1.5", 1},
    {"-1.5e10", 1}, {"1e", 0}, {"1e+", 0}, {"1E-2", 1}, {"1e5", 1}, {"+1", 0}, {"0x10", 0},
    {"123456789012345678", 1}, {"1234567890123456789", 1}, {"9223372036854775807", 1},
    {"9223372036854775808", 0}, {"-9223372036854775808", 1}, {"-9223372036854775809", 0},
    {"99999999999999999999999", 0}, {"1e308", 1}, {"1e309", 0}, {"-1e309", 0}, {"1e-400", 1},
    {"2.2250738585072011e-308", 1}, {"0.1", 1}, {"1.0", 1}, {"[1.5,2e3,-0.0]", 1},
    {"00", 0}, {"1.2.3", 0}, {"1e5.5", 0},
    /* strings */
    {"\"\"", 1}, {"\"abc\"", 1}, {"\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", 1}, {"\"\\x\"", 0},
    {"\"\\u00e9\"", 1}, {"\"\\u00E9\"", 1}, {"\"\\u12\"", 0}, {"\"\\u12g4\"", 0},
    {"\"\\ud83d\\ude00\"", 1}, {"\"\\ud83d\"", 0}, {"\"\\ud83dx\"", 0}, {"\"\\ude00\"", 0},
    {"\"\\ud83d\\u0041\"", 0}, {"\"\\ud83d\\n\"", 0}, {"\"\\u0000\"", 1}, {"\"abc", 0},
    {"\"a\nb\"", 0}, {"\"a\tb\"", 0}, {"\"\x7f\"", 1}, {"\"caf\xc3\xa9\"", 1},
    {"\"\xe2\x82\xac\"", 1}, {"\"\xf0\x9f\x98\x80\"", 1}, {"\"\xc3\"", 0}, {"\"\xc0\xaf\"", 0},
    {"\"\xc1\xbf\"", 0}, {"\"\xe0\x80\xaf\"", 0}, {"\"\xed\xa0\x80\"", 0},
    {"\"\xf0\x80\x80\xaf\"", 0}, {"\"\xf4\x90\x80\x80\"", 0}, {"\"\xf5\x80\x80\x80\"", 0},
    {"\"\x80\"", 0}, {"\"\xff\"", 0}, {"\"\xe2\x82\"", 0}, {"\xc3\xa9", 0},
    {"\"a\\u00e9b\\u20acc\\ud83d\\ude00d\"", 1}, {"\"\\\\u0041\"", 1},
    /* objects */
    {"{\"a\":1,\"a\":2}", 1}, {"{\"b\":1,\"a\":2,\"b\":3}", 1}, {"{\"\\u0000\":1}", 0},
    {"{\"a\\u0000b\":1}", 0}, {"{\"\\u00e9\":\"\\u00e8\"}", 1}, {"{\"\":\"\"}", 1},
    {"{\"a\\nb\":{\"c\\td\":[\"e\\\"\"]}}", 1}, {"{\"k\":\"v\\u0041\",\"k2\":\"w\"}", 1},
};

static void test_verdicts(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int got = both(cases[i].text, strlen(cases[i].text), ANY);
        CU_ASSERT_EQUAL(got, cases[i].accept);
        if (got != cases[i].accept)
            fprintf(stderr, "case %zu: %s expected %s\n", i, cases[i].text,
                    cases[i].accept ? "accepted" : "rejected");
    }
}

static void test_flags(void)
{
    /* without DECODE_ANY only an object or an array may be at the top */
    CU_ASSERT_EQUAL(both("1", 1, ZJSON_ALLOW_NUL), 0);
    CU_ASSERT_EQUAL(both("\"s\"", 3, ZJSON_ALLOW_NUL), 0);
    CU_ASSERT_EQUAL(both(" [1]", 4, ZJSON_ALLOW_NUL), 1);
    CU_ASSERT_EQUAL(both("null", 4, 0), 0);
    /* without ALLOW_NUL a string value may not hold U+0000 */
    CU_ASSERT_EQUAL(both("[\"a\\u0000\"]", 11, ZJSON_DECODE_ANY), 0);
    CU_ASSERT_EQUAL(both("[\"a\\u0000\"]", 11, ANY), 1);
    /* a NUL byte in the text itself is never JSON, in a string or outside */
    CU_ASSERT_EQUAL(both("[1]\0", 4, ANY), 0);
    CU_ASSERT_EQUAL(both("\"a\0b\"", 5, ANY), 0);
    /* the one deliberate difference: jansson takes "[1<NUL>]", zjson does not */
    json_t *j = json_loadb("[1\0]", 4, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL(j);
    json_decref(j);
    CU_ASSERT_PTR_NULL(zjson_load("[1\0]", 4, 0));
    CU_ASSERT_PTR_NULL(zjson_load("[true\0]", 7, 0));
    /* len, not a terminator, bounds the text */
    CU_ASSERT_EQUAL(both("[1]]]]", 3, ANY), 1);
    CU_ASSERT_PTR_NULL(zjson_load(NULL, 0, ANY));
}

static void test_values(void)
{
    const char *text = "{\"s\":\"a\\u00e9\\n\",\"i\":-42,\"r\":2.5,\"a\":[null,true]}";
    json_t *v = zjson_load(text, strlen(text), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(v, "s")), "a\xc3\xa9\n");
    CU_ASSERT_EQUAL(json_string_length(json_object_get(v, "s")), 4);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(v, "i")), -42);
    CU_ASSERT_DOUBLE_EQUAL(json_real_value(json_object_get(v, "r")), 2.5, 0);
    CU_ASSERT_TRUE(json_is_null(json_array_get(json_object_get(v, "a"), 0)));
    json_decref(v);
    /* a later duplicate replaces the value and keeps the first place */
    v = zjson_load("{\"b\":1,\"a\":2,\"b\":3}", 19, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    char *d = json_dumps(v, JSON_COMPACT);
    CU_ASSERT_STRING_EQUAL(d, "{\"b\":3,\"a\":2}");
    free(d);
    json_decref(v);
    /* U+0000 inside a value keeps its length */
    v = zjson_load("\"a\\u0000b\"", 10, ANY);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(json_string_length(v), 3);
    CU_ASSERT_EQUAL(memcmp(json_string_value(v), "a\0b", 3), 0);
    json_decref(v);
}

/* zjson_dumps(v, p) must be json_dumps(v, COMPACT | ENCODE_ANY | PRECISION(p)),
 * including its refusal. */
static void same_dump(json_t *v, int precision)
{
    char *j = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(precision));
    size_t n = 0;
    char *z = zjson_dumps(v, precision, &n);
    CU_ASSERT_EQUAL(j == NULL, z == NULL);
    if (j && z) {
        CU_ASSERT_STRING_EQUAL(z, j);
        CU_ASSERT_EQUAL(n, strlen(j));
    }
    free(j);
    free(z);
    json_decref(v);
}

static void test_writer(void)
{
    /* every ASCII byte, NUL included, in a value and in a key */
    char all[128];
    for (int i = 0; i < 128; i++)
        all[i] = (char)i;
    same_dump(json_stringn(all, sizeof(all)), 0);
    json_t *o = json_object();
    json_object_set_new(o, "k\"\\\n\x01\x7f/", json_stringn(all + 1, 40));
    json_object_set_new(o, "z", json_integer(-9223372036854775807LL - 1));
    json_object_set_new(o, "a", json_integer(9223372036854775807LL));
    json_object_set_new(o, "e", json_array());
    json_object_set_new(o, "f", json_object());
    same_dump(o, 0);
    /* reals keep jansson's formatting at each precision */
    static const double reals[] = {0.0, -0.0, 1.0, 0.1, 1e300, -2.5e-308, 123456789.125, 1.0 / 3};
    for (size_t i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        same_dump(json_real(reals[i]), 0);
        same_dump(json_real(reals[i]), 15);
        same_dump(json_pack("{s:[f]}", "r", reals[i]), 10);
    }
    /* multi-byte UTF-8 goes out as is; bytes that are not UTF-8 fail both */
    same_dump(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), 0);
    same_dump(json_stringn_nocheck("a\xc3", 2), 0);
    same_dump(json_pack("[s,o]", "ok", json_stringn_nocheck("\xed\xa0\x80", 3)), 0);
    /* a failed write leaves what was in the buffer, even after a compaction */
    zbuf b;
    zbuf_init(&b);
    char filler[246];
    memset(filler, 'x', sizeof(filler));
    zbuf_append(&b, filler, sizeof(filler)); /* near the first capacity, */
    zbuf_append_str(&b, "head");
    zbuf_consume(&b, sizeof(filler));        /* so the next reserve compacts */
    json_t *bad = json_pack("[s,s,o]", "fine", "long enough to move the data when it grows",
                            json_stringn_nocheck("\xff", 1));
    CU_ASSERT_EQUAL(zjson_dump(bad, 0, &b), -1);
    CU_ASSERT_EQUAL(zbuf_len(&b), 4);
    CU_ASSERT_EQUAL(memcmp(zbuf_head(&b), "head", 4), 0);
    json_decref(bad);
    zbuf_free(&b);
}

/* n arrays around `inner` ("" for the empty innermost array). */
static char *nested(int n, const char *inner)
{
    size_t il = strlen(inner);
    char *s = malloc(2 * (size_t)n + il + 1);
    memset(s, '[', (size_t)n);
    memcpy(s + n, inner, il);
    memset(s + n + il, ']', (size_t)n);
    s[2 * n + il] = '\0';
    return s;
}

static void test_depth(void)
{
    /* 2048 levels are fine, 2049 are not; a scalar counts as a level */
    char *s = nested(2048, "");
    CU_ASSERT_EQUAL(both(s, strlen(s), ANY), 1);
    free(s);
    s = nested(2049, "");
    CU_ASSERT_EQUAL(both(s, strlen(s), ANY), 0);
    free(s);
    s = nested(2047, "1");
    CU_ASSERT_EQUAL(both(s, strlen(s), ANY), 1);
    free(s);
    s = nested(2048, "1");
    CU_ASSERT_EQUAL(both(s, strlen(s), ANY), 0);
    free(s);
    /* and a deep text that is cut short is rejected, not read past its end */
    s = nested(3000, "");
    CU_ASSERT_EQUAL(both(s, 2500, ANY), 0);
    free(s);
}

/* Real bodies from the translated path, and some with every kind of escape. */
static const char *seeds[] = {
    "{\"model\":\"claude-sonnet-4-5\",\"max_tokens\":1024,\"system\":\"You are helpful.\","
    "\"messages\":[{\"role\":\"user\",\"content\":\"int parse(const char *s) {\\n  return "
    "atoi(s);\\n}\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"use "
    "strtol\"}]}],\"stream\":true,\"temperature\":0.7}",
    "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1764547200,\"choices\":"
    "[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"caf\xc3\xa9 \\u20ac "
    "\\ud83d\\ude00\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
    "{\"name\":\"f\",\"arguments\":\"{\\\"a\\\":[1,2.5e-3,null]}\"}}]},\"finish_reason\":"
    "\"stop\"}],\"usage\":{\"prompt_tokens\":812,\"completion_tokens\":143}}",
    "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\\u0001\\u001f\",-0,0.0,-1e-5,1E+3,true,false,null,{},[]]",
};

static const char mutation_bytes[] = "{}[]:,\"\\/ubfnrt0123456789-+.eE \t\n\r\x00\x01\x7f\x80"
                                     "\xbf\xc2\xc3\xe0\xe2\xed\xf0\xf4\xf5\xff" "axlsN";

static void test_random_mutations(void)
{
    char buf[1024];
    size_t accepted = 0, total = 0;
    for (int round = 0; round < 20000; round++) {
        const char *seed = seeds[tu_rng_below(sizeof(seeds) / sizeof(seeds[0]))];
        size_t n = strlen(seed);
        memcpy(buf, seed, n);
        int edits = 1 + (int)tu_rng_below(3);
        for (int e = 0; e < edits; e++) {
            size_t at = tu_rng_below(n);
            char c = mutation_bytes[tu_rng_below(sizeof(mutation_bytes) - 1)];
            switch (tu_rng_below(3)) {
            case 0: buf[at] = c; break;                  /* replace */
            case 1:                                     /* delete */
                memmove(buf + at, buf + at + 1, n - at - 1);
                n--;
                break;
            default:                                    /* insert */
                if (n + 1 < sizeof(buf)) {
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = c;
                    n++;
                }
            }
        }
        unsigned flags = (unsigned)tu_rng_below(4);
        accepted += (size_t)both(buf, n, flags);
        total++;
    }
    /* the mutations must exercise both verdicts, or the check proves little */
    CU_ASSERT(accepted > total / 50);
    CU_ASSERT(accepted < total - total / 50);
}

/* What the reader hands out: keys and strings as their bytes in the text,
 * escapes flagged; the depth it keeps; a number it cannot judge without
 * allocating (the one case it refuses what zjson_load takes). */
static void test_reader(void)
{
    const char *text = " {\"a\": \"x\\ny\", \"b\\u0041\": [1, {}], \"c\": \"plain\"} ";
    struct zjson_reader r;
    const char *s;
    size_t n;
    int esc;
    zjson_reader_init(&r, text, strlen(text));
    CU_ASSERT_EQUAL(zjson_reader_peek(&r), '{');
    CU_ASSERT_EQUAL(zjson_reader_enter(&r), 1);
    CU_ASSERT_EQUAL(r.depth, 1);
    CU_ASSERT_EQUAL(zjson_reader_key(&r, &s, &n, &esc), 0);
    CU_ASSERT(n == 1 && s[0] == 'a' && !esc);
    CU_ASSERT_EQUAL(zjson_reader_string(&r, &s, &n, &esc), 0);
    CU_ASSERT(n == 4 && memcmp(s, "x\\ny", 4) == 0 && esc);
    CU_ASSERT_EQUAL(zjson_reader_next(&r, '}'), 1);
    CU_ASSERT_EQUAL(zjson_reader_key(&r, &s, &n, &esc), 0);
    CU_ASSERT(n == 7 && esc);
    CU_ASSERT_EQUAL(zjson_reader_string(&r, &s, &n, &esc), -1); /* an array is not a string */
    CU_ASSERT_EQUAL(zjson_reader_enter(&r), 1);
    CU_ASSERT_EQUAL(r.depth, 2);
    CU_ASSERT_EQUAL(zjson_reader_skip(&r), 0);
    CU_ASSERT_EQUAL(zjson_reader_next(&r, ']'), 1);
    CU_ASSERT_EQUAL(zjson_reader_enter(&r), 0); /* {} is entered and left */
    CU_ASSERT_EQUAL(r.depth, 2);
    CU_ASSERT_EQUAL(zjson_reader_next(&r, ']'), 0);
    CU_ASSERT_EQUAL(r.depth, 1);
    CU_ASSERT_EQUAL(zjson_reader_next(&r, '}'), 1);
    CU_ASSERT_EQUAL(zjson_reader_key(&r, &s, &n, &esc), 0);
    CU_ASSERT_EQUAL(zjson_reader_skip(&r), 0);
    CU_ASSERT_EQUAL(zjson_reader_next(&r, ']'), -1); /* the wrong closer */
    zjson_reader_init(&r, NULL, 0);
    CU_ASSERT_EQUAL(zjson_reader_peek(&r), -1);
    CU_ASSERT_EQUAL(zjson_reader_skip(&r), -1);
    /* a long number with an exponent: zjson_load reads it, the reader will not */
    char num[80];
    memset(num, '0', sizeof(num));
    num[1] = '.';
    memcpy(num + sizeof(num) - 4, "1e10", 4);
    json_t *v = zjson_load(num, sizeof(num), ZJSON_DECODE_ANY);
    CU_ASSERT_PTR_NOT_NULL(v);
    json_decref(v);
    zjson_reader_init(&r, num, sizeof(num));
    CU_ASSERT_EQUAL(zjson_reader_skip(&r), -1);
    /* but a long one without an exponent, about 1e290, and a long integer */
    char big[300];
    memset(big, '0', sizeof(big));
    big[0] = '1';
    memcpy(big + 290, ".5", 2);
    zjson_reader_init(&r, big, 292);
    CU_ASSERT_EQUAL(zjson_reader_skip(&r), 0);
    reader_agrees(big, 292);
    reader_agrees(big, 290);
    reader_agrees(big, 19);
    reader_agrees(big, 20);
}

/* zjson_string is json_string: the same verdict on every byte string
 * (valid UTF-8 or not, ASCII runs longer than 16 bytes around the bad
 * byte), the same value. */
static void same_string(const char *str)
{
    json_t *a = zjson_string(str), *b = json_string(str);
    CU_ASSERT_EQUAL(a == NULL, b == NULL);
    if (a && b)
        CU_ASSERT_TRUE(json_equal(a, b));
    if ((a == NULL) != (b == NULL))
        fprintf(stderr, "zjson_string %s: %s\n", a ? "accepts" : "refuses", str);
    json_decref(a);
    json_decref(b);
}

static void test_string(void)
{
    CU_ASSERT_PTR_NULL(zjson_string(NULL));
    same_string("");
    same_string("plain ascii, longer than sixteen bytes for the fast path");
    char buf[64];
    static const char *const seqs[] = {"\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xc3",
                                       "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xff",
                                       "\x80", "\xe2\x82", "\x7f\x01"};
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
        for (int at = 0; at < 40; at += 3) {
            memset(buf, 'a', sizeof(buf));
            size_t n = strlen(seqs[i]);
            memcpy(buf + at, seqs[i], n);
            buf[at + (int)n + 5] = '\0';
            same_string(buf);
        }
    for (int round = 0; round < 20000; round++) {
        size_t n = tu_rng_below(40);
        for (size_t i = 0; i < n; i++) {
            unsigned r = (unsigned)tu_rng_below(8);
            buf[i] = r < 5 ? (char)('a' + r) : (char)(0x80 + tu_rng_below(0x80));
        }
        buf[n] = '\0';
        same_string(buf);
    }
}

/* zjson_reader_unescape gives the value zjson_load gives, for strings of
 * random escapes, UTF-8 and plain bytes, as handed out by the reader. */
static void same_unescaped(const char *text, size_t len)
{
    struct zjson_reader r;
    const char *s;
    size_t n;
    int esc;
    zjson_reader_init(&r, text, len);
    if (zjson_reader_string(&r, &s, &n, &esc) != 0 || zjson_reader_end(&r) != 0) {
        CU_FAIL("the reader refused a string");
        return;
    }
    json_t *v = zjson_load(text, len, ZJSON_DECODE_ANY);
    char out[256];
    size_t m = zjson_reader_unescape(s, n, out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_TRUE(m <= n);
    CU_ASSERT_EQUAL(m, json_string_length(v));
    CU_ASSERT_TRUE(m == json_string_length(v) && memcmp(out, json_string_value(v), m) == 0);
    CU_ASSERT_EQUAL(esc, strchr(text + 1, '\\') != NULL);
    json_decref(v);
}

static void test_unescape(void)
{
    static const char *const pieces[] = {"a", "plain text ", "\\n", "\\\"", "\\\\", "\\/",
                                         "\\b", "\\f", "\\r", "\\t", "\\u00e9", "\\u20AC",
                                         "\\ud83d\\ude00", "\\u0041", "\xc3\xa9", "\xe6\x97\xa5"};
    const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
    same_unescaped("\"\"", 2);
    for (int round = 0; round < 5000; round++) {
        char text[200] = "\"";
        size_t len = 1, k = tu_rng_below(8);
        for (size_t i = 0; i < k; i++) {
            const char *p = pieces[tu_rng_below(n_pieces)];
            memcpy(text + len, p, strlen(p));
            len += strlen(p);
        }
        text[len++] = '"';
        text[len] = 0;
        same_unescaped(text, len);
    }
    char out[8];
    CU_ASSERT_EQUAL(zjson_reader_unescape("a\\x", 3, out), (size_t)-1);
}

/* zjson_reader_members: each member once, in order; an escaped key, a
 * callback's refusal or a bad text stop it; another value is skipped. */
static int count_member(struct zjson_reader *r, const char *key, size_t n, void *ud)
{
    int *seen = ud;
    (*seen)++;
    if (n == 4 && !memcmp(key, "stop", 4))
        return 1;
    return zjson_reader_skip(r);
}

static int members_of(const char *text, int *seen)
{
    struct zjson_reader r;
    *seen = 0;
    zjson_reader_init(&r, text, strlen(text));
    int rc = zjson_reader_members(&r, count_member, seen);
    return rc == 0 && zjson_reader_end(&r) != 0 ? -2 : rc;
}

static void test_members(void)
{
    int seen;
    CU_ASSERT_EQUAL(members_of("{\"a\":1,\"b\":{\"c\":[2]},\"a\":3}", &seen), 0);
    CU_ASSERT_EQUAL(seen, 3);
    CU_ASSERT_EQUAL(members_of(" {} ", &seen), 0);
    CU_ASSERT_EQUAL(seen, 0);
    CU_ASSERT_EQUAL(members_of("[1,{\"a\":1}]", &seen), 0); /* not an object: skipped */
    CU_ASSERT_EQUAL(seen, 0);
    CU_ASSERT_EQUAL(members_of("{\"a\":1,\"stop\":2,\"b\":3}", &seen), -1);
    CU_ASSERT_EQUAL(seen, 2);
    CU_ASSERT_EQUAL(members_of("{\"a\":1,\"\\u0061\":2}", &seen), -1);
    CU_ASSERT_EQUAL(seen, 1);
    CU_ASSERT_EQUAL(members_of("{\"a\":1,}", &seen), -1);
}

void register_tests(void)
{
    tu_rng_seed(0x5DEECE66Dull);
    CU_pSuite s = CU_add_suite("zjson", NULL, NULL);
    TU_ADD(s, test_verdicts);
    TU_ADD(s, test_flags);
    TU_ADD(s, test_values);
    TU_ADD(s, test_depth);
    TU_ADD(s, test_writer);
    TU_ADD(s, test_random_mutations);
    TU_ADD(s, test_reader);
    TU_ADD(s, test_string);
    TU_ADD(s, test_unescape);
    TU_ADD(s, test_members);
}
