/* Unit tests for zenctl/view.c's terminal-safe text (zv_escape,
 * zv_escaped_doc). White-box: includes the module. Random byte strings
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

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("view", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_escape_examples);
    TU_ADD(s, test_escape_random_bytes);
    TU_ADD(s, test_escaped_doc);
}
