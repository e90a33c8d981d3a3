/* Unit tests for zend/forward/rewrite.c: each mapping rule and their order, unset
 * tiers falling through, and the body rewrite -- what it changes (only
 * `model`), what it refuses (and so forwards untouched), and that arbitrary
 * client JSON survives the round trip. Providers come from a real config. */
#include "rewrite.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "secret.h"
#include "testutil.h"

#define NAME_MAX_TEST 128
#define BIG_BODY_BYTES (24u * 1024 * 1024)

static const char providers_json[] =
    "{\"providers\": {"
    "  \"all\": {\"base_url\": \"https://all\", \"model\": \"m-default\","
    "            \"sonnet_model\": \"m-sonnet\", \"opus_model\": \"m-opus\","
    "            \"haiku_model\": \"m-haiku\", \"reasoning_model\": \"m-reason\"},"
    "  \"none\": {\"base_url\": \"https://none\", \"model\": \"\", \"sonnet_model\": \"\"},"
    "  \"sonnet_only\": {\"base_url\": \"https://s\", \"sonnet_model\": \"claude-sonnet-4-5\"},"
    "  \"no_haiku\": {\"base_url\": \"https://nh\", \"model\": \"m-default\","
    "                 \"sonnet_model\": \"m-sonnet\", \"haiku_model\": \"\"},"
    "  \"no_reason\": {\"base_url\": \"https://nr\", \"haiku_model\": \"m-haiku\","
    "                  \"model\": \"m-default\"},"
    "  \"reason_only\": {\"base_url\": \"https://ro\", \"reasoning_model\": \"m-reason\"},"
    "  \"haiku_only\": {\"base_url\": \"https://ho\", \"haiku_model\": \"m-haiku\"}"
    "},"
    " \"profiles\": {\"default\": [\"all\", \"none\", \"sonnet_only\", \"no_haiku\","
    "                              \"no_reason\", \"reason_only\", \"haiku_only\"]}}";

static struct zcfg *cfg;

static const struct zcfg_provider *prov(const char *name)
{
    const struct zcfg_provider *p = zcfg_find_provider(cfg, name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    return p;
}

static void expect_pick(const char *provider, const char *model, int thinking, const char *want)
{
    const char *got = rewrite_pick_model(prov(provider), model, thinking);
    if (want == NULL ? got != NULL : (got == NULL || strcmp(got, want) != 0))
        fprintf(stderr, "\n  %s(%s, thinking=%d): expected %s, got %s\n", provider, model,
                thinking, want ? want : "(keep)", got ? got : "(keep)");
    if (want == NULL) {
        CU_ASSERT_PTR_NULL(got);
    } else {
        CU_ASSERT(got && strcmp(got, want) == 0);
    }
}

/* ---- rewrite_pick_model ---- */

static void test_rule1_thinking(void)
{
    expect_pick("all", "claude-sonnet-4-5", 1, "m-reason");
    expect_pick("all", "claude-3-5-haiku-20241022", 1, "m-reason"); /* before haiku */
    expect_pick("all", "claude-opus-4-1", 1, "m-reason");
    expect_pick("all", "anything", 1, "m-reason");
    /* Without reasoning_model, thinking falls through to the name rules. */
    expect_pick("no_haiku", "claude-sonnet-4-5", 1, "m-sonnet");
    expect_pick("no_reason", "claude-haiku-4-5", 1, "m-haiku");
    expect_pick("sonnet_only", "claude-opus-4-1", 1, NULL);
}

static void test_rule2_o_series(void)
{
    expect_pick("all", "o1", 0, "m-reason");
    expect_pick("all", "o1-preview", 0, "m-reason");
    expect_pick("all", "o3-mini", 0, "m-reason");
    expect_pick("all", "O4-MINI", 0, "m-reason");
    expect_pick("reason_only", "o3", 0, "m-reason");
    /* Not o<digit>. */
    expect_pick("all", "o", 0, "m-default");
    expect_pick("all", "omni-moderation", 0, "m-default");
    expect_pick("all", "xo1", 0, "m-default");
    expect_pick("all", "gpt-4o", 0, "m-sonnet");
    expect_pick("reason_only", "gpt-4o", 0, NULL);
    expect_pick("reason_only", "claude-sonnet-4-5", 0, NULL);
    /* Without reasoning_model an o-model falls to the last rule. */
    expect_pick("no_reason", "o3-mini", 0, "m-default");
    expect_pick("sonnet_only", "o3-mini", 0, NULL);
}

static void test_rule3_haiku(void)
{
    expect_pick("all", "claude-3-5-haiku-20241022", 0, "m-haiku");
    expect_pick("all", "claude-haiku-4-5", 0, "m-haiku");
    expect_pick("all", "Claude-HAIKU-4-5", 0, "m-haiku");
    expect_pick("all", "gpt-4o-mini", 0, "m-haiku");
    expect_pick("all", "GPT-4o-mini-2024-07-18", 0, "m-haiku");
    expect_pick("all", "gpt-4.1-mini", 0, "m-haiku");
    expect_pick("all", "gpt-4.1-nano-2025-04-14", 0, "m-haiku");
    /* "starts with", not "contains", for the gpt names. */
    expect_pick("all", "my-gpt-4o-mini", 0, "m-default");
    /* haiku before opus before sonnet */
    expect_pick("all", "opus-haiku-sonnet", 0, "m-haiku");
}

static void test_rule4_opus(void)
{
    expect_pick("all", "claude-opus-4-1-20250805", 0, "m-opus");
    expect_pick("all", "claude-3-OPUS-latest", 0, "m-opus");
    expect_pick("all", "sonnet-opus", 0, "m-opus"); /* opus before sonnet */
}

static void test_rule5_sonnet(void)
{
    expect_pick("all", "claude-sonnet-4-5-20250929", 0, "m-sonnet");
    expect_pick("all", "claude-3-7-SONNET-latest", 0, "m-sonnet");
    expect_pick("all", "gpt-4o", 0, "m-sonnet");
    expect_pick("all", "gpt-4o-2024-08-06", 0, "m-sonnet");
    expect_pick("all", "gpt-4.1", 0, "m-sonnet");
    expect_pick("all", "gpt-4.1-2025-04-14", 0, "m-sonnet");
    expect_pick("all", "gpt-4-turbo", 0, "m-sonnet");
    expect_pick("all", "gpt-4.5-preview", 0, "m-sonnet");
    /* gpt-4o-mini is the haiku class even though it starts with gpt-4o. */
    expect_pick("all", "gpt-4o-mini", 0, "m-haiku");
    expect_pick("all", "gpt-4", 0, "m-default");
    expect_pick("all", "gpt-40", 0, "m-default");
}

static void test_rule6_model_and_keep(void)
{
    expect_pick("all", "gpt-3.5-turbo", 0, "m-default");
    expect_pick("all", "", 0, "m-default");
    expect_pick("all", "deepseek-chat", 0, "m-default");
    expect_pick("sonnet_only", "deepseek-chat", 0, NULL);
    expect_pick("sonnet_only", "claude-sonnet-4-5-20250929", 0, "claude-sonnet-4-5");
    /* The pick may equal the original; the body rewrite then changes nothing. */
    expect_pick("sonnet_only", "claude-sonnet-4-5", 0, "claude-sonnet-4-5");
    CU_ASSERT_PTR_NULL(rewrite_pick_model(NULL, "claude-sonnet-4-5", 0));
    CU_ASSERT_PTR_NULL(rewrite_pick_model(prov("all"), NULL, 0));
}

/* An unset (or "") tier is as if its rule did not exist. */
static void test_unset_tier_falls_through(void)
{
    /* "" in the config means unset. */
    CU_ASSERT_PTR_NULL(prov("no_haiku")->haiku_model);
    expect_pick("no_haiku", "claude-haiku-4-5", 0, "m-default");
    /* gpt-4o-mini without haiku_model reaches the gpt-4o sonnet rule. */
    expect_pick("no_haiku", "gpt-4o-mini", 0, "m-sonnet");
    expect_pick("no_haiku", "claude-opus-4-1", 0, "m-default");
    expect_pick("haiku_only", "claude-sonnet-4-5", 0, NULL);
    expect_pick("haiku_only", "claude-haiku-4-5", 0, "m-haiku");
    /* Defensive: a tier of "" set by any other path is unset too. */
    struct zcfg_provider p = *prov("all");
    char empty[] = "";
    p.haiku_model = empty;
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model(&p, "claude-haiku-4-5", 0), "m-default");
}

static void test_no_tiers_keeps_everything(void)
{
    static const char *const models[] = {"claude-sonnet-4-5", "claude-haiku-4-5", "o3", "gpt-4o",
                                         "claude-opus-4-1", "x"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(models); i++) {
        CU_ASSERT_PTR_NULL(rewrite_pick_model(prov("none"), models[i], 0));
        CU_ASSERT_PTR_NULL(rewrite_pick_model(prov("none"), models[i], 1));
    }
}

/* ---- rewrite_model_body ---- */

static char from[NAME_MAX_TEST], to[NAME_MAX_TEST];

static char *rewrite(const char *provider, const char *body, size_t *out_len)
{
    from[0] = to[0] = '\0';
    *out_len = 0;
    return rewrite_model_body(prov(provider), body, strlen(body), out_len, from, sizeof(from), to,
                              sizeof(to));
}

static void expect_untouched(const char *provider, const char *body)
{
    size_t n;
    char *out = rewrite(provider, body, &n);
    if (out)
        fprintf(stderr, "\n  expected no rewrite of %s, got %.*s\n", body, (int)n, out);
    CU_ASSERT_PTR_NULL(out);
    CU_ASSERT_EQUAL(n, 0);
    free(out);
}

/* The rewrite is exactly this compact document. */
static void expect_body(const char *provider, const char *body, const char *want)
{
    size_t n;
    char *out = rewrite(provider, body, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    if (n != strlen(want) || memcmp(out, want, n) != 0)
        fprintf(stderr, "\n  expected %s\n  got      %.*s\n", want, (int)n, out);
    CU_ASSERT_EQUAL(n, strlen(want));
    CU_ASSERT(memcmp(out, want, n) == 0);
    free(out);
}

static void test_body_only_model_changes(void)
{
    static const char body[] =
        "{\n  \"model\": \"claude-sonnet-4-5-20250929\",\n"
        "  \"max_tokens\": 32000,\n"
        "  \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\","
        " \"text\": \"h\\u00e9llo \\\"w\\\"\\n\\t\\\\ \\ud83d\\ude00 \\u0000 end\","
        " \"cache_control\": {\"type\": \"ephemeral\"}}]}],\n"
        "  \"system\": [{\"type\": \"text\", \"text\": \"\\/slash\"}],\n"
        "  \"metadata\": {\"user_id\": \"u_1\"},\n"
        "  \"temperature\": 0.7, \"top_p\": 1e-3, \"top_k\": -5,\n"
        "  \"int_max\": 9223372036854775807, \"int_min\": -9223372036854775808,\n"
        "  \"flags\": [true, false, null, {}, [], \"\"],\n"
        "  \"stream\": true\n}";
    size_t n;
    char *out = rewrite("sonnet_only", body, &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_STRING_EQUAL(from, "claude-sonnet-4-5-20250929");
    CU_ASSERT_STRING_EQUAL(to, "claude-sonnet-4-5");

    json_error_t jerr;
    json_t *orig = json_loads(body, JSON_ALLOW_NUL, &jerr);
    json_t *got = json_loadb(out, n, JSON_ALLOW_NUL, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(got, "model")), "claude-sonnet-4-5");
    /* Everything else is equal, value for value (reals compare as doubles). */
    json_object_set_new(orig, "model", json_string("claude-sonnet-4-5"));
    CU_ASSERT(json_equal(orig, got));
    /* Exact integers at the int64 limits. */
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(got, "int_max")), INT64_MAX);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(got, "int_min")), INT64_MIN);
    /* The NUL inside a string survives. */
    const json_t *text = json_object_get(
        json_array_get(json_object_get(json_array_get(json_object_get(got, "messages"), 0),
                                       "content"), 0), "text");
    CU_ASSERT_EQUAL(json_string_length(text), strlen("h\xc3\xa9llo \"w\"\n\t\\ \xf0\x9f\x98\x80 ") + 1 + strlen(" end"));
    /* Key order kept: model is still first, stream still last. */
    const char *first = strstr(out, "\"model\"");
    CU_ASSERT_PTR_EQUAL(first, out + 1);
    CU_ASSERT(n > strlen("\"stream\":true}") &&
              memcmp(out + n - strlen("\"stream\":true}"), "\"stream\":true}",
                     strlen("\"stream\":true}")) == 0);
    /* UTF-8 goes out as UTF-8, not \u escapes. */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "h\xc3\xa9llo"));
    json_decref(orig);
    json_decref(got);
    free(out);
}

static void test_body_exact_encoding(void)
{
    expect_body("sonnet_only", "{\"z\": 1, \"model\": \"claude-sonnet-4-6\", \"a\": [1, 2, {\"b\": null}]}",
                "{\"z\":1,\"model\":\"claude-sonnet-4-5\",\"a\":[1,2,{\"b\":null}]}");
    expect_body("all", "{\"model\":\"claude-opus-4-1\",\"s\":\"\\u00e9\\\"\\n\"}",
                "{\"model\":\"m-opus\",\"s\":\"\xc3\xa9\\\"\\n\"}");
    expect_body("all", "{\"model\":\"o3\",\"n\":-0}", "{\"model\":\"m-reason\",\"n\":0}");
}

static void test_body_thinking(void)
{
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":{\"type\":\"enabled\","
                       "\"budget_tokens\":1024}}",
                "{\"model\":\"m-reason\",\"thinking\":{\"type\":\"enabled\","
                "\"budget_tokens\":1024}}");
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":true}",
                "{\"model\":\"m-reason\",\"thinking\":true}");
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":{\"type\":\"disabled\"}}",
                "{\"model\":\"m-sonnet\",\"thinking\":{\"type\":\"disabled\"}}");
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":false}",
                "{\"model\":\"m-sonnet\",\"thinking\":false}");
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":\"enabled\"}",
                "{\"model\":\"m-sonnet\",\"thinking\":\"enabled\"}");
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":{\"type\":\"ENABLED\"}}",
                "{\"model\":\"m-sonnet\",\"thinking\":{\"type\":\"ENABLED\"}}");
    expect_body("all", "{\"model\":\"claude-sonnet-4-5\",\"thinking\":{\"type\":\"adaptive\"}}",
                "{\"model\":\"m-reason\",\"thinking\":{\"type\":\"adaptive\"}}");
    /* OpenAI efforts select the reasoning tier too, except none and minimal */
    expect_body("all", "{\"model\":\"gpt-4o\",\"reasoning_effort\":\"high\"}",
                "{\"model\":\"m-reason\",\"reasoning_effort\":\"high\"}");
    expect_body("all", "{\"model\":\"gpt-4o\",\"reasoning_effort\":\"minimal\"}",
                "{\"model\":\"m-sonnet\",\"reasoning_effort\":\"minimal\"}");
    expect_body("all", "{\"model\":\"gpt-4o\",\"reasoning\":{\"effort\":\"low\"}}",
                "{\"model\":\"m-reason\",\"reasoning\":{\"effort\":\"low\"}}");
    expect_body("all", "{\"model\":\"gpt-4o\",\"reasoning\":{\"effort\":\"none\"}}",
                "{\"model\":\"m-sonnet\",\"reasoning\":{\"effort\":\"none\"}}");
}

static void test_body_refusals(void)
{
    /* No tiers: not even parsed. */
    expect_untouched("none", "{\"model\":\"claude-sonnet-4-5\"}");
    /* Mapped model equals the original. */
    expect_untouched("sonnet_only", "{\"model\":\"claude-sonnet-4-5\",\"x\":1}");
    /* No rule applies. */
    expect_untouched("sonnet_only", "{\"model\":\"claude-opus-4-1\"}");
    /* No usable model. */
    expect_untouched("all", "{\"messages\":[]}");
    expect_untouched("all", "{\"model\":null}");
    expect_untouched("all", "{\"model\":42}");
    expect_untouched("all", "{\"model\":[\"claude-sonnet-4-5\"]}");
    expect_untouched("all", "{\"model\":{\"name\":\"claude-sonnet-4-5\"}}");
    expect_untouched("all", "{\"nested\":{\"model\":\"claude-sonnet-4-5\"}}");
    /* Not a JSON object. */
    expect_untouched("all", "");
    expect_untouched("all", "not json");
    expect_untouched("all", "[{\"model\":\"claude-sonnet-4-5\"}]");
    expect_untouched("all", "\"claude-sonnet-4-5\"");
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\"");
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\"} trailing");
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\"}{}");
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\",}");
    expect_untouched("all", "{\"model\":\"claude\xff-sonnet\"}"); /* invalid UTF-8 */
    expect_untouched("all", "\xef\xbb\xbf{\"model\":\"claude-sonnet-4-5\"}"); /* BOM */
    /* Integers beyond int64 cannot be held exactly: untouched, not rounded. */
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\",\"id\":12345678901234567890}");
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\",\"id\":-9223372036854775809}");
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\",\"x\":1e999}");
    /* jansson refuses a NUL inside a key (not inside a value): untouched. */
    expect_untouched("all", "{\"model\":\"claude-sonnet-4-5\",\"a\\u0000b\":1}");

    /* Bad arguments. */
    size_t n = 7;
    CU_ASSERT_PTR_NULL(rewrite_model_body(NULL, "{\"model\":\"o3\"}", 14, &n, NULL, 0, NULL, 0));
    CU_ASSERT_PTR_NULL(rewrite_model_body(prov("all"), NULL, 0, &n, NULL, 0, NULL, 0));
    CU_ASSERT_PTR_NULL(rewrite_model_body(prov("all"), "{\"model\":\"o3\"}", 14, NULL, NULL, 0,
                                          NULL, 0));
    CU_ASSERT_EQUAL(n, 7);
}

/* The length is what counts, not a NUL terminator: a body need not have one,
 * and one in the middle is not the end. */
static void test_body_length_is_respected(void)
{
    static const char body[] = "{\"model\":\"claude-opus-4\"}GARBAGE";
    size_t n = 0;
    char *out = rewrite_model_body(prov("all"), body, strlen("{\"model\":\"claude-opus-4\"}"), &n,
                                   NULL, 0, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(n, strlen("{\"model\":\"m-opus\"}"));
    CU_ASSERT(memcmp(out, "{\"model\":\"m-opus\"}", n) == 0);
    free(out);
    static const char with_nul[] = "{\"model\":\"claude-opus-4\"}\0{}";
    CU_ASSERT_PTR_NULL(rewrite_model_body(prov("all"), with_nul, sizeof(with_nul) - 1, &n, NULL, 0,
                                          NULL, 0));
}

/* from/to are truncated to their buffers; either may be absent. */
static void test_body_names_truncated(void)
{
    static const char body[] = "{\"model\":\"claude-sonnet-4-5-20250929\"}";
    char f[8], t[4];
    size_t n;
    char *out = rewrite_model_body(prov("sonnet_only"), body, strlen(body), &n, f, sizeof(f), t,
                                   sizeof(t));
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_STRING_EQUAL(f, "claude-");
    CU_ASSERT_STRING_EQUAL(t, "cla");
    free(out);
    out = rewrite_model_body(prov("sonnet_only"), body, strlen(body), &n, NULL, 0, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL(out);
    free(out);
    out = rewrite_model_body(prov("sonnet_only"), body, strlen(body), &n, f, 0, t, 0);
    CU_ASSERT_PTR_NOT_NULL(out);
    free(out);
}

/* Each attempt maps the client's body for its own provider. */
static void test_body_not_cumulative(void)
{
    static const char body[] = "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":5}";
    size_t n1, n2;
    char *a = rewrite("all", body, &n1);
    char *b = rewrite("no_haiku", body, &n2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(n1 == strlen("{\"model\":\"m-haiku\",\"max_tokens\":5}") &&
              memcmp(a, "{\"model\":\"m-haiku\",\"max_tokens\":5}", n1) == 0);
    CU_ASSERT(n2 == strlen("{\"model\":\"m-default\",\"max_tokens\":5}") &&
              memcmp(b, "{\"model\":\"m-default\",\"max_tokens\":5}", n2) == 0);
    CU_ASSERT_STRING_EQUAL(from, "claude-haiku-4-5");
    /* The input is const and unchanged. */
    CU_ASSERT_STRING_EQUAL(body, "{\"model\":\"claude-haiku-4-5\",\"max_tokens\":5}");
    free(a);
    free(b);
}

/* Duplicate keys are not the proxy's to refuse: the last value wins, as in
 * the upstream parsers. */
static void test_body_duplicate_keys(void)
{
    expect_body("all", "{\"model\":\"x\",\"a\":1,\"model\":\"claude-opus-4\",\"a\":2}",
                "{\"model\":\"m-opus\",\"a\":2}");
}

/* A body of tens of MiB (a long conversation with images) maps too. */
static void test_body_big(void)
{
    static const char head[] = "{\"model\":\"claude-sonnet-4-5-20250929\",\"data\":\"";
    static const char tail[] = "\",\"n\":1}";
    size_t len = sizeof(head) - 1 + BIG_BODY_BYTES + sizeof(tail) - 1;
    char *body = malloc(len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    memcpy(body, head, sizeof(head) - 1);
    for (size_t i = 0; i < BIG_BODY_BYTES; i++)
        body[sizeof(head) - 1 + i] = (char)('A' + i % 26);
    memcpy(body + sizeof(head) - 1 + BIG_BODY_BYTES, tail, sizeof(tail) - 1);
    size_t n = 0;
    char *out = rewrite_model_body(prov("sonnet_only"), body, len, &n, NULL, 0, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(n, len - strlen("-20250929"));
    static const char want_head[] = "{\"model\":\"claude-sonnet-4-5\",\"data\":\"";
    CU_ASSERT(memcmp(out, want_head, sizeof(want_head) - 1) == 0);
    CU_ASSERT(memcmp(out + sizeof(want_head) - 1, body + sizeof(head) - 1, BIG_BODY_BYTES) == 0);
    free(out);
    free(body);
}

static void test_body_deep_nesting(void)
{
    /* Deeper than jansson's parser allows: refused, not a stack overflow. */
    enum { DEPTH = 100000 };
    size_t len = strlen("{\"model\":\"claude-opus-4\",\"x\":") + 2 * DEPTH + 1;
    char *body = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    size_t n = (size_t)sprintf(body, "{\"model\":\"claude-opus-4\",\"x\":");
    memset(body + n, '[', DEPTH);
    memset(body + n + DEPTH, ']', DEPTH);
    body[n + 2 * DEPTH] = '}';
    body[n + 2 * DEPTH + 1] = '\0';
    size_t out_len;
    char *out = rewrite_model_body(prov("all"), body, len, &out_len, NULL, 0, NULL, 0);
    CU_ASSERT_PTR_NULL(out);
    free(out);
    free(body);
}

static int suite_init(void)
{
    if (zsec_init() != ZEN_OK)
        return 1;
    char err[ZEN_ERRLEN];
    cfg = zcfg_load_buffer("zen.json", providers_json, strlen(providers_json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "config did not load: %s\n", err);
    return cfg ? 0 : 1;
}

/* Translated requests: a configured tier wins; into Anthropic with none
 * configured, the Claude default of the same rule; into OpenAI, the client's
 * model (docs/translate.md, "Model mapping"). */
static void test_translated_defaults(void)
{
    int defaulted = -1;
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("none"), "gpt-5-codex", 0, 1,
                                                         &defaulted), "claude-sonnet-4-5");
    CU_ASSERT_EQUAL(defaulted, 1);
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("none"), "gpt-4o-mini", 0, 1,
                                                         &defaulted), "claude-haiku-4-5");
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("none"), "x-opus", 0, 1,
                                                         &defaulted), "claude-opus-4-5");
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("none"), "o3", 0, 1, &defaulted),
                           "claude-sonnet-4-5");
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("haiku_only"), "gpt-4o-mini", 0,
                                                         1, &defaulted), "m-haiku");
    CU_ASSERT_EQUAL(defaulted, 0);
    /* haiku_only has no tier for a sonnet-class name: the default fills in */
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("haiku_only"), "gpt-4o", 0, 1,
                                                         &defaulted), "claude-sonnet-4-5");
    CU_ASSERT_EQUAL(defaulted, 1);
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("none"), "claude-opus-4-5", 0, 0,
                                                         &defaulted), "claude-opus-4-5");
    CU_ASSERT_EQUAL(defaulted, 0);
    CU_ASSERT_STRING_EQUAL(rewrite_pick_model_translated(prov("all"), "claude-opus-4-5", 0, 0,
                                                         &defaulted), "m-opus");
}

static int suite_clean(void)
{
    zcfg_unref(cfg);
    cfg = NULL;
    return 0;
}

/* A route's model override (docs/routing.md): set verbatim, no tier mapping,
 * other keys and their order kept; nothing to do when the body already names
 * it or has no string model. */
static void test_body_model_override(void)
{
    static const char body[] = "{\"max_tokens\":5,\"model\":\"claude-3-5-haiku\",\"stream\":true}";
    size_t n = 0;
    char *out = rewrite_model_body_to("glm-4.6", body, strlen(body), &n, from, sizeof(from), to,
                                      sizeof(to));
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(n, strlen("{\"max_tokens\":5,\"model\":\"glm-4.6\",\"stream\":true}"));
    CU_ASSERT_EQUAL(memcmp(out, "{\"max_tokens\":5,\"model\":\"glm-4.6\",\"stream\":true}", n), 0);
    CU_ASSERT_STRING_EQUAL(from, "claude-3-5-haiku");
    CU_ASSERT_STRING_EQUAL(to, "glm-4.6");
    free(out);
    CU_ASSERT_PTR_NULL(rewrite_model_body_to("claude-3-5-haiku", body, strlen(body), &n, NULL, 0,
                                             NULL, 0));
    CU_ASSERT_PTR_NULL(rewrite_model_body_to("m", "{\"model\":1}", 11, &n, NULL, 0, NULL, 0));
    CU_ASSERT_PTR_NULL(rewrite_model_body_to("m", "not json", 8, &n, NULL, 0, NULL, 0));
    CU_ASSERT_PTR_NULL(rewrite_model_body_to(NULL, body, strlen(body), &n, NULL, 0, NULL, 0));
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("rewrite", suite_init, suite_clean);
    TU_ADD(s, test_rule1_thinking);
    TU_ADD(s, test_rule2_o_series);
    TU_ADD(s, test_rule3_haiku);
    TU_ADD(s, test_rule4_opus);
    TU_ADD(s, test_rule5_sonnet);
    TU_ADD(s, test_rule6_model_and_keep);
    TU_ADD(s, test_unset_tier_falls_through);
    TU_ADD(s, test_no_tiers_keeps_everything);
    TU_ADD(s, test_body_only_model_changes);
    TU_ADD(s, test_body_exact_encoding);
    TU_ADD(s, test_body_thinking);
    TU_ADD(s, test_body_refusals);
    TU_ADD(s, test_body_length_is_respected);
    TU_ADD(s, test_body_names_truncated);
    TU_ADD(s, test_body_not_cumulative);
    TU_ADD(s, test_body_duplicate_keys);
    TU_ADD(s, test_body_big);
    TU_ADD(s, test_body_deep_nesting);
    TU_ADD(s, test_translated_defaults);
    TU_ADD(s, test_body_model_override);
}
