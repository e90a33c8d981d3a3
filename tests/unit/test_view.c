/* Unit tests for zenctl/view.c's terminal-safe text (zv_escape,
 * zv_escaped_doc) and its one duration and count formats. White-box: includes the module. Random byte strings
 * check the invariants -- no control byte survives, the output is valid
 * UTF-8, escaping twice changes nothing -- beside hand-picked cases. */
#include "../../zenctl/view.c"

#include <CUnit/CUnit.h>

#include "testutil.h"

static void expect_escape(const char *in, const char *want)
{
    char *got = zv_escape(in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  zv_escape: got \"%s\", want \"%s\"\n", got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
}

static void test_escape_examples(void)
{
    expect_escape("plain text, caf\xc3\xa9 \xe2\x9c\x93", "plain text, caf\xc3\xa9 \xe2\x9c\x93");
    expect_escape("\x1b]0;title\x07", "\\u001b]0;title\\u0007");
    expect_escape("\x1b[2J", "\\u001b[2J");
    expect_escape("a\rb\nc\td", "a\\rb\\nc\\td");
    expect_escape("del\x7f", "del\\u007f");
    expect_escape("c1 \xc2\x9b" "31m \xc2\x80", "c1 \\u009b31m \\u0080");
    expect_escape("nbsp \xc2\xa0 stays", "nbsp \xc2\xa0 stays");
    /* Not UTF-8: a raw 8-bit CSI, a lone continuation, an overlong '/',
     * a surrogate, a cut sequence at the end. */
    expect_escape("\x9b" "1m", "\\x9b1m");
    expect_escape("\x80", "\\x80");
    expect_escape("\xc0\xaf", "\\xc0\\xaf");
    expect_escape("\xed\xa0\x80", "\\xed\\xa0\\x80");
    expect_escape("cut \xe2\x9c", "cut \\xe2\\x9c");
    expect_escape("back\\slash", "back\\slash");
    expect_escape("", "");
}

/* No byte below 0x20, no DEL, no C1 (as UTF-8 or raw), valid UTF-8. */
static int terminal_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        size_t n = utf8_sequence(p);
        if (n == 0 || (n == 1 && (*p < 0x20 || *p == 0x7F)) ||
            (n == 2 && p[0] == 0xC2 && p[1] < 0xA0))
            return 0;
        p += n;
    }
    return 1;
}

static void test_escape_random_bytes(void)
{
    tu_rng_seed(20261201);
    char in[64];
    for (int round = 0; round < 20000; round++) {
        size_t len = (size_t)(tu_rng_next() % (sizeof(in) - 1));
        for (size_t i = 0; i < len; i++) {
            /* Bias towards the interesting ranges. */
            uint64_t r = tu_rng_next();
            unsigned char b = (unsigned char)(r >> 8);
            if (r % 4 == 0)
                b = (unsigned char)(b % 0x20);
            else if (r % 4 == 1)
                b = (unsigned char)(0x80 | (b & 0x7F));
            in[i] = (char)(b ? b : 'x');
        }
        in[len] = '\0';
        char *once = zv_escape(in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(once);
        CU_ASSERT_TRUE(terminal_safe(once));
        CU_ASSERT_TRUE(strlen(once) <= len * 6);
        char *twice = zv_escape(once);
        CU_ASSERT_PTR_NOT_NULL_FATAL(twice);
        CU_ASSERT_STRING_EQUAL(once, twice);
        /* Text that was already safe comes back byte for byte. */
        if (terminal_safe(in))
            CU_ASSERT_STRING_EQUAL(once, in);
        free(twice);
        free(once);
    }
}

/* Every string and key of a document, at any depth, comes back escaped;
 * numbers and booleans are copied. */
static void test_escaped_doc(void)
{
    json_t *doc = json_pack("{s:[s, {s:s}], s:i, s:b, s:n, s:s}", "list", "a\x1b[2Jb", "k",
                            "\xc2\x9b", "n", 7, "ok", 1, "none", "key\x07", "v\r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *safe = zv_escaped_doc(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(safe);
    char *text = json_dumps(safe, JSON_COMPACT | JSON_SORT_KEYS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    /* json_dumps doubles each backslash of the escapes. */
    CU_ASSERT_STRING_EQUAL(text, "{\"key\\\\u0007\":\"v\\\\r\",\"list\":[\"a\\\\u001b[2Jb\","
                                 "{\"k\":\"\\\\u009b\"}],\"n\":7,\"none\":null,\"ok\":true}");
    free(text);
    json_decref(safe);
    json_decref(doc);
}

static void expect_duration(double secs, const char *want)
{
    char got[64];
    zv_duration(secs, got, sizeof(got));
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  zv_duration(%g): got \"%s\", want \"%s\"\n", secs, got, want);
    CU_ASSERT_STRING_EQUAL(got, want);
}

/* One form for every span zenctl prints: two units at most, no padding. */
static void test_duration_examples(void)
{
    expect_duration(0, "0s");
    expect_duration(-3, "0s");
    expect_duration(0.85, "850ms");
    expect_duration(0.0004, "0ms");
    expect_duration(0.9996, "1s");
    expect_duration(1, "1s");
    expect_duration(45.9, "45s");
    expect_duration(60, "1m");
    expect_duration(113, "1m 53s");
    expect_duration(1799, "29m 59s");
    expect_duration(3600, "1h");
    expect_duration(2 * 3600 + 5 * 60 + 59, "2h 5m");
    expect_duration(86400, "1d");
    expect_duration(3 * 86400 + 4 * 3600 + 59, "3d 4h");
    expect_duration(3650.0 * 86400, "3650d");
}

/* Invariants over many spans: at most two parts, each a number and a
 * unit, the units in falling order and the value never over-stated. */
static void test_duration_random(void)
{
    static const char order[] = "dhms";
    static const double unit_s[] = {86400, 3600, 60, 1};
    for (int i = 0; i < 20000; i++) {
        double secs = (double)(random() % 40000000) / (random() % 2 ? 1.0 : 1000.0);
        char out[64];
        zv_duration(secs, out, sizeof(out));
        long a, b;
        char ua, ub, extra;
        int n = sscanf(out, "%ld%c %ld%c%c", &a, &ua, &b, &ub, &extra);
        if (secs < 1.0 && strstr(out, "ms")) {
            CU_ASSERT(a >= 0 && a < 1000);
            continue;
        }
        CU_ASSERT_FATAL(n == 2 || n == 4);
        const char *pa = strchr(order, ua);
        CU_ASSERT_PTR_NOT_NULL_FATAL(pa);
        double shown = (double)a * unit_s[pa - order];
        if (n == 4) {
            const char *pb = strchr(order, ub);
            CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
            CU_ASSERT(pb == pa + 1);
            CU_ASSERT(b > 0);
            shown += (double)b * unit_s[pb - order];
        }
        CU_ASSERT(shown <= secs + 1e-9 || secs < 1.0);
        /* What is cut off is less than one of the second unit. */
        size_t next = (size_t)(pa - order) + 1;
        CU_ASSERT(secs - shown < (next < 4 ? unit_s[next] : 1.0));
    }
}

static void test_count(void)
{
    char out[48];
    zv_count(1, "failover", NULL, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "1 failover");
    zv_count(2, "failover", NULL, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "2 failovers");
    zv_count(0, "provider", NULL, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0 providers");
    zv_count(3, "entry", "entries", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "3 entries");
    zv_count(1, "entry", "entries", out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "1 entry");
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("view", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_escape_examples);
    TU_ADD(s, test_escape_random_bytes);
    TU_ADD(s, test_escaped_doc);
    TU_ADD(s, test_duration_examples);
    TU_ADD(s, test_duration_random);
    TU_ADD(s, test_count);
}
