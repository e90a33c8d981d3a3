/* Unit tests for zend/translate/tr_error.c, tr_detect.c and tr_models.c:
 * upstream errors read in every envelope and rendered in each family's
 * (every row of the status table, every cross-family type), zend's own
 * errors, the context-length rule, GET /models across families, and the
 * client-format detection table (docs/translate.md). Bodies are compared
 * byte for byte: key order and compactness are part of the contract. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "testutil.h"
#include "tr_ctx.h"
#include "tr_detect.h"
#include "tr_error.h"
#include "tr_models.h"

/* ---- helpers ---- */

/* Parses (status, body) and renders it for f; checks the body and the
 * status sent. */
static void check_render(int status, const char *body, enum tr_format f, const char *want,
                         int want_status)
{
    struct tr_error e;
    tr_error_parse(status, body, body ? strlen(body) : 0, &e);
    int st = status;
    char *got = tr_error_render(f, &e, &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  status %d body %s -> %s\n  got  %s\n  want %s\n", status,
                body ? body : "(null)", tr_format_name(f), got, want);
    CU_ASSERT_EQUAL(st, want_status);
    free(got);
}

static void a_body(char *out, size_t n, const char *type, const char *msg)
{
    snprintf(out, n, "{\"type\":\"error\",\"error\":{\"type\":\"%s\",\"message\":\"%s\"}}", type,
             msg);
}

static void c_body(char *out, size_t n, const char *type, const char *code, const char *msg)
{
    char c[96];
    if (code)
        snprintf(c, sizeof(c), "\"%s\"", code);
    else
        snprintf(c, sizeof(c), "null");
    snprintf(out, n, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":null,\"code\":%s}}",
             msg, type, c);
}

/* ---- §8 cases ---- */

/* 60: an OpenAI 400 to an Anthropic client. */
static void test_case60_openai_400_to_a(void)
{
    check_render(400, "{\"error\":{\"message\":\"bad\",\"type\":\"invalid_request_error\",\"code\":null}}",
                 TR_FORMAT_A,
                 "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"bad\"}}",
                 400);
}

/* 61: Anthropic's context overflow to a Responses client: Codex's code. */
static void test_case61_prompt_too_long_to_r(void)
{
    const char *msg = "prompt is too long: 210000 tokens > 200000 maximum";
    char body[512], want[512];
    a_body(body, sizeof(body), "invalid_request_error", msg);
    c_body(want, sizeof(want), "invalid_request_error", "context_length_exceeded", msg);
    check_render(400, body, TR_FORMAT_R, want, 400);
    /* The same plain-text body (some relays drop the envelope). */
    check_render(400, msg, TR_FORMAT_R, want, 400);
}

/* 62: a plain-text 404 to an Anthropic client. */
static void test_case62_plain_404_to_a(void)
{
    check_render(404, "Not Found\n", TR_FORMAT_A,
                 "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\",\"message\":\"Not Found\"}}",
                 404);
}

/* 63: the all-providers-failed answer, with its attempts, in both envelopes. */
static void test_case63_all_providers_failed(void)
{
    json_t *extra = json_pack("{s:[{s:s,s:i},{s:s,s:i}]}", "attempts", "provider", "oa",
                              "status", 500, "provider", "an", "status", 500);
    CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
    const char *msg = "all providers failed\n[oa] 500 boom\n[an] 500 boom";
    char *a = tr_error_own(TR_FORMAT_A, "all_providers_failed", "all_providers_failed", msg, extra);
    char *c = tr_error_own(TR_FORMAT_C, "all_providers_failed", "all_providers_failed", msg, extra);
    char *r = tr_error_own(TR_FORMAT_R, "all_providers_failed", "all_providers_failed", msg, extra);
    const char *attempts = "[{\"provider\":\"oa\",\"status\":500},{\"provider\":\"an\",\"status\":500}]";
    char want_a[512], want_c[512];
    snprintf(want_a, sizeof(want_a),
             "{\"type\":\"error\",\"error\":{\"type\":\"all_providers_failed\",\"message\":"
             "\"all providers failed\\n[oa] 500 boom\\n[an] 500 boom\",\"attempts\":%s}}",
             attempts);
    snprintf(want_c, sizeof(want_c),
             "{\"error\":{\"message\":\"all providers failed\\n[oa] 500 boom\\n[an] 500 boom\","
             "\"type\":\"all_providers_failed\",\"param\":null,\"code\":\"all_providers_failed\","
             "\"attempts\":%s}}",
             attempts);
    CU_ASSERT_STRING_EQUAL(a, want_a);
    CU_ASSERT_STRING_EQUAL(c, want_c);
    CU_ASSERT_STRING_EQUAL(r, want_c);
    /* extra is borrowed: still whole, and shares nothing with the answers. */
    CU_ASSERT_EQUAL(json_object_size(extra), 1);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(extra, "attempts")), 2);
    free(a);
    free(c);
    free(r);
    json_decref(extra);
}

/* 51's mapping: Anthropic's mid-stream overload (no status) to a C client. */
static void test_case51_overloaded_midstream_to_c(void)
{
    char body[256], want[256];
    a_body(body, sizeof(body), "overloaded_error", "Overloaded");
    c_body(want, sizeof(want), "server_error", "server_is_overloaded", "Overloaded");
    check_render(0, body, TR_FORMAT_C, want, 0);
    /* An unknown type with no status is an API error in both families. */
    a_body(body, sizeof(body), "weird_error", "x");
    c_body(want, sizeof(want), "server_error", NULL, "x");
    check_render(0, body, TR_FORMAT_C, want, 0);
    a_body(want, sizeof(want), "api_error", "x");
    check_render(0, body, TR_FORMAT_A, want, 0);
}

/* ---- the status table (type unknown), every row, both families ---- */

static const struct {
    int status;
    const char *a_type, *c_type, *c_code;
    int c_status;
} status_rows[] = {
    {400, "invalid_request_error", "invalid_request_error", NULL, 400},
    {422, "invalid_request_error", "invalid_request_error", NULL, 422},
    {418, "invalid_request_error", "invalid_request_error", NULL, 418},
    {401, "authentication_error", "invalid_request_error", "invalid_api_key", 401},
    {402, "billing_error", "insufficient_quota", "insufficient_quota", 429},
    {403, "permission_error", "permission_error", NULL, 403},
    {404, "not_found_error", "not_found_error", NULL, 404},
    {408, "timeout_error", "timeout", NULL, 408},
    {504, "timeout_error", "timeout", NULL, 504},
    {413, "request_too_large", "invalid_request_error", NULL, 413},
    {429, "rate_limit_error", "rate_limit_error", "rate_limit_exceeded", 429},
    {529, "overloaded_error", "server_error", "server_is_overloaded", 529},
    {500, "api_error", "server_error", NULL, 500},
    {502, "api_error", "server_error", NULL, 502},
    {503, "api_error", "server_error", NULL, 503},
    {599, "api_error", "server_error", NULL, 599},
};

static void test_status_table(void)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(status_rows); i++) {
        int st = status_rows[i].status;
        char msg[64], want[256];
        snprintf(msg, sizeof(msg), "upstream returned HTTP %d", st);
        a_body(want, sizeof(want), status_rows[i].a_type, msg);
        check_render(st, "", TR_FORMAT_A, want, st);
        c_body(want, sizeof(want), status_rows[i].c_type, status_rows[i].c_code, msg);
        check_render(st, "", TR_FORMAT_C, want, status_rows[i].c_status);
        check_render(st, NULL, TR_FORMAT_R, want, status_rows[i].c_status);
    }
}

/* An unknown upstream type, or an OpenAI body with no type: the status decides. */
static void test_unknown_type_uses_status(void)
{
    char want[256];
    a_body(want, sizeof(want), "rate_limit_error", "slow");
    check_render(429, "{\"error\":{\"message\":\"slow\",\"type\":\"requests\"}}", TR_FORMAT_A, want,
                 429);
    c_body(want, sizeof(want), "permission_error", NULL, "no");
    check_render(403, "{\"type\":\"error\",\"error\":{\"type\":\"odd\",\"message\":\"no\"}}",
                 TR_FORMAT_C, want, 403);
}

/* ---- every cross-family type; the status (400) would say otherwise ---- */

static const struct {
    const char *a_type, *c_type, *c_code;
} a_to_c[] = {
    {"authentication_error", "invalid_request_error", "invalid_api_key"},
    {"billing_error", "insufficient_quota", "insufficient_quota"},
    {"permission_error", "permission_error", NULL},
    {"not_found_error", "not_found_error", NULL},
    {"timeout_error", "timeout", NULL},
    {"request_too_large", "invalid_request_error", NULL},
    {"rate_limit_error", "rate_limit_error", "rate_limit_exceeded"},
    {"overloaded_error", "server_error", "server_is_overloaded"},
    {"api_error", "server_error", NULL},
};

static const struct {
    const char *c_type, *a_type;
} c_to_a[] = {
    {"invalid_api_key", "authentication_error"},
    {"insufficient_quota", "billing_error"},
    {"permission_error", "permission_error"},
    {"not_found_error", "not_found_error"},
    {"model_not_found", "not_found_error"},
    {"timeout", "timeout_error"},
    {"rate_limit_error", "rate_limit_error"},
    {"rate_limit_exceeded", "rate_limit_error"},
    {"server_is_overloaded", "overloaded_error"},
    {"server_error", "api_error"},
};

static void test_cross_family_types(void)
{
    char body[256], want[256];
    for (size_t i = 0; i < ZEN_ARRAY_LEN(a_to_c); i++) {
        a_body(body, sizeof(body), a_to_c[i].a_type, "m");
        c_body(want, sizeof(want), a_to_c[i].c_type, a_to_c[i].c_code, "m");
        check_render(400, body, TR_FORMAT_C, want, 400);
    }
    for (size_t i = 0; i < ZEN_ARRAY_LEN(c_to_a); i++) {
        snprintf(body, sizeof(body), "{\"error\":{\"message\":\"m\",\"type\":\"%s\",\"code\":null}}",
                 c_to_a[i].c_type);
        a_body(want, sizeof(want), c_to_a[i].a_type, "m");
        check_render(400, body, TR_FORMAT_A, want, 400);
    }
    /* invalid_request_error is both families' word, and beats a 5xx status. */
    a_body(body, sizeof(body), "invalid_request_error", "m");
    c_body(want, sizeof(want), "invalid_request_error", NULL, "m");
    check_render(500, body, TR_FORMAT_C, want, 500);
}

/* A type of the client's own family is kept as it is. */
static void test_same_family_type_kept(void)
{
    char body[256], want[256];
    /* overloaded_error at a 500 stays overloaded_error for an A client. */
    a_body(body, sizeof(body), "overloaded_error", "busy");
    check_render(500, body, TR_FORMAT_A, body, 500);
    /* OpenAI's rate_limit_exceeded (used as a type) stays for a C client. */
    snprintf(body, sizeof(body), "{\"error\":{\"message\":\"m\",\"type\":\"rate_limit_exceeded\"}}");
    c_body(want, sizeof(want), "rate_limit_exceeded", "rate_limit_exceeded", "m");
    check_render(400, body, TR_FORMAT_C, want, 400);
}

/* ---- codes ---- */

static void test_codes(void)
{
    char want[256];
    struct tr_error e;
    /* OpenAI's bad key: the code says more than the generic type. */
    const char *key = "{\"error\":{\"message\":\"Incorrect API key\",\"type\":\"invalid_request_error\","
                      "\"code\":\"invalid_api_key\"}}";
    tr_error_parse(401, key, strlen(key), &e);
    CU_ASSERT_EQUAL(e.cls, TR_ERR_AUTHENTICATION);
    CU_ASSERT_STRING_EQUAL(e.type, "invalid_request_error");
    CU_ASSERT_STRING_EQUAL(e.code, "invalid_api_key");
    a_body(want, sizeof(want), "authentication_error", "Incorrect API key");
    check_render(401, key, TR_FORMAT_A, want, 401);
    c_body(want, sizeof(want), "invalid_request_error", "invalid_api_key", "Incorrect API key");
    check_render(401, key, TR_FORMAT_R, want, 401);
    /* A quota code at a 429 is billing for A, and stays 429 for C. */
    const char *quota = "{\"error\":{\"message\":\"q\",\"type\":\"insufficient_quota\","
                        "\"code\":\"insufficient_quota\"}}";
    a_body(want, sizeof(want), "billing_error", "q");
    check_render(429, quota, TR_FORMAT_A, want, 429);
    /* A numeric code is read as its digits, and never sent as an OpenAI code. */
    const char *num = "{\"error\":{\"message\":\"slow down\",\"code\":429}}";
    tr_error_parse(429, num, strlen(num), &e);
    CU_ASSERT_STRING_EQUAL(e.code, "429");
    CU_ASSERT_STRING_EQUAL(e.type, "");
    CU_ASSERT_EQUAL(e.cls, TR_ERR_RATE_LIMIT);
    c_body(want, sizeof(want), "rate_limit_error", "rate_limit_exceeded", "slow down");
    check_render(429, num, TR_FORMAT_C, want, 429);
    const char *real = "{\"error\":{\"message\":\"m\",\"code\":500.0}}";
    tr_error_parse(400, real, strlen(real), &e);
    CU_ASSERT_STRING_EQUAL(e.code, "500");
    c_body(want, sizeof(want), "invalid_request_error", NULL, "m");
    check_render(400, real, TR_FORMAT_C, want, 400);
    const char *str_num = "{\"error\":{\"message\":\"m\",\"code\":\"400\"}}";
    check_render(400, str_num, TR_FORMAT_C, want, 400);
    /* An OpenAI code the class table does not know is relayed to C/R. */
    const char *param = "{\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\","
                        "\"code\":\"unsupported_parameter\"}}";
    c_body(want, sizeof(want), "invalid_request_error", "unsupported_parameter", "m");
    check_render(400, param, TR_FORMAT_C, want, 400);
    /* model_not_found as a code moves the class; the code is kept. */
    const char *model = "{\"error\":{\"message\":\"m\",\"type\":\"invalid_request_error\","
                        "\"code\":\"model_not_found\"}}";
    c_body(want, sizeof(want), "not_found_error", "model_not_found", "m");
    check_render(404, model, TR_FORMAT_C, want, 404);
    a_body(want, sizeof(want), "not_found_error", "m");
    check_render(404, model, TR_FORMAT_A, want, 404);
}

/* ---- other envelopes and plain text ---- */

static void parse_msg(int status, const char *body, size_t len, const char *want)
{
    struct tr_error e;
    tr_error_parse(status, body, len, &e);
    CU_ASSERT_STRING_EQUAL(e.message, want);
}

static void test_other_envelopes(void)
{
    struct tr_error e;
    const char *s = "{\"error\":\"model overloaded\"}";
    tr_error_parse(503, s, strlen(s), &e);
    CU_ASSERT_STRING_EQUAL(e.message, "model overloaded");
    CU_ASSERT_STRING_EQUAL(e.type, "");
    CU_ASSERT_EQUAL(e.cls, TR_ERR_API);
    s = "{\"message\":\"no such route\"}";
    tr_error_parse(404, s, strlen(s), &e);
    CU_ASSERT_STRING_EQUAL(e.message, "no such route");
    CU_ASSERT_EQUAL(e.cls, TR_ERR_NOT_FOUND);
    s = "{\"detail\":\"Not authenticated\"}";
    tr_error_parse(401, s, strlen(s), &e);
    CU_ASSERT_STRING_EQUAL(e.message, "Not authenticated");
    CU_ASSERT_EQUAL(e.cls, TR_ERR_AUTHENTICATION);
    /* A validation list is shown as its compact JSON. */
    s = "{\"detail\": [ {\"loc\": [\"body\"], \"msg\": \"field required\"} ]}";
    parse_msg(422, s, strlen(s), "[{\"loc\":[\"body\"],\"msg\":\"field required\"}]");
    /* JSON without a recognisable message: the body text itself. */
    s = "{\"error\":{\"type\":\"api_error\"}}";
    tr_error_parse(500, s, strlen(s), &e);
    CU_ASSERT_STRING_EQUAL(e.message, s);
    CU_ASSERT_STRING_EQUAL(e.type, "api_error");
    parse_msg(500, " [1,2] ", 7, "[1,2]");
    /* The body is read by length, not to a NUL. */
    parse_msg(400, "{\"error\":\"abc\"}garbage", 15, "abc");
}

static void test_plain_text(void)
{
    parse_msg(502, "  \r\n<html>Bad Gateway</html>\n\t ", 31, "<html>Bad Gateway</html>");
    char want[256];
    a_body(want, sizeof(want), "api_error", "upstream connect error");
    check_render(503, "\nupstream connect error\n", TR_FORMAT_A, want, 503);
}

static void test_plain_text_capped(void)
{
    struct tr_error e;
    size_t n = 3000;
    char *big = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(big);
    memset(big, 'x', n);
    tr_error_parse(500, big, n, &e);
    CU_ASSERT_EQUAL(strlen(e.message), TR_ERROR_MESSAGE_MAX - 1);
    CU_ASSERT_EQUAL(strspn(e.message, "x"), TR_ERROR_MESSAGE_MAX - 1);
    /* A two-byte character is never cut in half by the cap. */
    for (size_t i = 0; i + 1 < n; i += 2) {
        big[i] = (char)0xC3;
        big[i + 1] = (char)0xA9;
    }
    tr_error_parse(500, big, n, &e);
    CU_ASSERT_EQUAL(strlen(e.message), TR_ERROR_MESSAGE_MAX - 2);
    CU_ASSERT_EQUAL((unsigned char)e.message[TR_ERROR_MESSAGE_MAX - 3], 0xA9);
    free(big);
    /* A message from JSON is capped too, and still renders. */
    size_t m = 5000;
    char *js = malloc(m + 32);
    CU_ASSERT_PTR_NOT_NULL_FATAL(js);
    int k = snprintf(js, 32, "{\"error\":\"");
    memset(js + k, 'y', m);
    memcpy(js + k + m, "\"}", 3);
    tr_error_parse(400, js, strlen(js), &e);
    CU_ASSERT_EQUAL(strlen(e.message), TR_ERROR_MESSAGE_MAX - 1);
    int st = 400;
    char *out = tr_error_render(TR_FORMAT_C, &e, &st);
    CU_ASSERT_PTR_NOT_NULL(out);
    free(out);
    free(js);
}

/* Bytes that are not UTF-8 (or NULs) become '?': the answer stays JSON. */
static void test_invalid_utf8(void)
{
    static const char body[] = "bad \xff\xfe byte \xe2\x82 and\0nul \xed\xa0\x80";
    parse_msg(500, body, sizeof(body) - 1, "bad ?? byte ?? and?nul ???");
    char want[256];
    a_body(want, sizeof(want), "api_error", "bad ?? byte ?? and?nul ???");
    struct tr_error e;
    tr_error_parse(500, body, sizeof(body) - 1, &e);
    int st = 500;
    char *got = tr_error_render(TR_FORMAT_A, &e, &st);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
    /* tr_error_own accepts any bytes as well. */
    got = tr_error_own(TR_FORMAT_C, "server_error", "x\xff", "m\xc3", NULL);
    CU_ASSERT_STRING_EQUAL(got, "{\"error\":{\"message\":\"m?\",\"type\":\"server_error\","
                                "\"param\":null,\"code\":\"x?\"}}");
    free(got);
}

static void test_empty_body(void)
{
    parse_msg(503, "", 0, "upstream returned HTTP 503");
    parse_msg(418, " \n\t ", 4, "upstream returned HTTP 418");
    parse_msg(500, NULL, 0, "upstream returned HTTP 500");
}

/* ---- context length ---- */

static void test_context_length(void)
{
    char body[512], want[512];
    /* OpenAI's wording to an A client gets A's prefix. */
    const char *oa = "This model's maximum context length is 8192 tokens";
    snprintf(body, sizeof(body),
             "{\"error\":{\"message\":\"%s\",\"type\":\"invalid_request_error\","
             "\"code\":\"context_length_exceeded\"}}",
             oa);
    char pre[256];
    snprintf(pre, sizeof(pre), "prompt is too long: %s", oa);
    a_body(want, sizeof(want), "invalid_request_error", pre);
    check_render(400, body, TR_FORMAT_A, want, 400);
    /* Each phrase, in any case, counts. */
    static const char *const msgs[] = {"Prompt Is Too Long", "exceeds the CONTEXT LENGTH",
                                       "error context_length_exceeded", "over Maximum Context"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(msgs); i++) {
        snprintf(body, sizeof(body), "{\"error\":{\"message\":\"%s\"}}", msgs[i]);
        c_body(want, sizeof(want), "invalid_request_error", "context_length_exceeded", msgs[i]);
        check_render(400, body, TR_FORMAT_C, want, 400);
    }
    /* A's own wording is not prefixed twice (any case). */
    a_body(body, sizeof(body), "invalid_request_error", "Prompt is too long: 9 > 8");
    check_render(400, body, TR_FORMAT_A, body, 400);
    /* An unrelated message gets neither. */
    a_body(body, sizeof(body), "invalid_request_error", "context is fine");
    check_render(400, body, TR_FORMAT_A, body, 400);
    c_body(want, sizeof(want), "invalid_request_error", NULL, "context is fine");
    check_render(400, body, TR_FORMAT_C, want, 400);
}

/* ---- zend's own errors ---- */

static void test_own_errors(void)
{
    char *a = tr_error_own(TR_FORMAT_A, "invalid_request_error", NULL, "body is not JSON", NULL);
    CU_ASSERT_STRING_EQUAL(a, "{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\","
                              "\"message\":\"body is not JSON\"}}");
    free(a);
    char *c = tr_error_own(TR_FORMAT_C, "invalid_request_error", NULL, "n > 1", NULL);
    CU_ASSERT_STRING_EQUAL(c, "{\"error\":{\"message\":\"n > 1\",\"type\":\"invalid_request_error\","
                              "\"param\":null,\"code\":null}}");
    free(c);
    /* An extra never overrides the envelope's own members. */
    json_t *extra = json_pack("{s:s,s:s,s:[s]}", "type", "x", "code", "y", "disabled_providers",
                              "p1");
    char *r = tr_error_own(TR_FORMAT_R, "all_providers_unavailable", "all_providers_unavailable",
                           "all disabled", extra);
    CU_ASSERT_STRING_EQUAL(r, "{\"error\":{\"message\":\"all disabled\",\"type\":"
                              "\"all_providers_unavailable\",\"param\":null,\"code\":"
                              "\"all_providers_unavailable\",\"disabled_providers\":[\"p1\"]}}");
    free(r);
    a = tr_error_own(TR_FORMAT_A, "all_providers_unavailable", NULL, "all disabled", extra);
    CU_ASSERT_STRING_EQUAL(a, "{\"type\":\"error\",\"error\":{\"type\":\"all_providers_unavailable\","
                              "\"message\":\"all disabled\",\"code\":\"y\","
                              "\"disabled_providers\":[\"p1\"]}}");
    free(a);
    json_decref(extra);
    /* A non-object extra is ignored. */
    json_t *arr = json_array();
    c = tr_error_own(TR_FORMAT_C, "t", "c", "m", arr);
    CU_ASSERT_STRING_EQUAL(c, "{\"error\":{\"message\":\"m\",\"type\":\"t\",\"param\":null,"
                              "\"code\":\"c\"}}");
    free(c);
    json_decref(arr);
}

/* ---- models ---- */

static void check_models(enum tr_format wire, enum tr_format client, const char *body,
                         const char *want)
{
    size_t n = 12345;
    char *got = tr_models_translate(wire, client, body, strlen(body), &n);
    if (!want) {
        CU_ASSERT_PTR_NULL(got);
        CU_ASSERT_EQUAL(n, 12345);
        free(got);
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(got);
    CU_ASSERT_STRING_EQUAL(got, want);
    CU_ASSERT_EQUAL(n, strlen(want));
    free(got);
}

/* §8 case 4, and a longer list: first and last ids, dates. */
static void test_models_openai_to_a(void)
{
    check_models(TR_FORMAT_C, TR_FORMAT_A,
                 "{\"object\":\"list\",\"data\":[{\"id\":\"g\",\"object\":\"model\",\"created\":0,"
                 "\"owned_by\":\"x\"}]}",
                 "{\"data\":[{\"type\":\"model\",\"id\":\"g\",\"display_name\":\"g\","
                 "\"created_at\":\"1970-01-01T00:00:00Z\"}],\"has_more\":false,"
                 "\"first_id\":\"g\",\"last_id\":\"g\"}");
    check_models(TR_FORMAT_R, TR_FORMAT_A,
                 "{\"object\":\"list\",\"data\":[{\"id\":\"a\",\"created\":1740009599},"
                 "{\"id\":\"b\"},{\"id\":\"c\",\"created\":951782400}]}",
                 "{\"data\":[{\"type\":\"model\",\"id\":\"a\",\"display_name\":\"a\","
                 "\"created_at\":\"2025-02-19T23:59:59Z\"},{\"type\":\"model\",\"id\":\"b\","
                 "\"display_name\":\"b\",\"created_at\":\"1970-01-01T00:00:00Z\"},"
                 "{\"type\":\"model\",\"id\":\"c\",\"display_name\":\"c\","
                 "\"created_at\":\"2000-02-29T00:00:00Z\"}],\"has_more\":false,"
                 "\"first_id\":\"a\",\"last_id\":\"c\"}");
    /* An empty list has null ids. */
    check_models(TR_FORMAT_C, TR_FORMAT_A, "{\"object\":\"list\",\"data\":[]}",
                 "{\"data\":[],\"has_more\":false,\"first_id\":null,\"last_id\":null}");
}

static void test_models_a_to_openai(void)
{
    check_models(TR_FORMAT_A, TR_FORMAT_C,
                 "{\"data\":[{\"type\":\"model\",\"id\":\"claude-sonnet-4-5\",\"display_name\":"
                 "\"Claude Sonnet 4.5\",\"created_at\":\"2025-09-29T00:00:00Z\"},"
                 "{\"type\":\"model\",\"id\":\"m2\",\"created_at\":\"2024-02-29T12:30:15.123+02:00\"},"
                 "{\"type\":\"model\",\"id\":\"m3\",\"created_at\":\"yesterday\"}],"
                 "\"has_more\":false,\"first_id\":\"claude-sonnet-4-5\",\"last_id\":\"m3\"}",
                 "{\"object\":\"list\",\"data\":[{\"id\":\"claude-sonnet-4-5\",\"object\":\"model\","
                 "\"created\":1759104000,\"owned_by\":\"anthropic\"},{\"id\":\"m2\",\"object\":"
                 "\"model\",\"created\":1709202615,\"owned_by\":\"anthropic\"},{\"id\":\"m3\","
                 "\"object\":\"model\",\"created\":0,\"owned_by\":\"anthropic\"}]}");
    check_models(TR_FORMAT_A, TR_FORMAT_R, "{\"data\":[],\"has_more\":false}",
                 "{\"object\":\"list\",\"data\":[]}");
}

/* NULL (relay unchanged): same family, not a list, or a list of the other family. */
static void test_models_untranslated(void)
{
    const char *oa = "{\"object\":\"list\",\"data\":[{\"id\":\"g\",\"object\":\"model\"}]}";
    const char *an = "{\"data\":[{\"type\":\"model\",\"id\":\"c\"}],\"has_more\":false}";
    check_models(TR_FORMAT_C, TR_FORMAT_R, oa, NULL);
    check_models(TR_FORMAT_A, TR_FORMAT_A, an, NULL);
    check_models(TR_FORMAT_A, TR_FORMAT_C, oa, NULL);
    check_models(TR_FORMAT_C, TR_FORMAT_A, an, NULL);
    check_models(TR_FORMAT_C, TR_FORMAT_A, "not json", NULL);
    check_models(TR_FORMAT_C, TR_FORMAT_A, "[1]", NULL);
    check_models(TR_FORMAT_C, TR_FORMAT_A, "{\"object\":\"list\"}", NULL);
    check_models(TR_FORMAT_C, TR_FORMAT_A, "{\"data\":[{\"id\":1}]}", NULL);
    check_models(TR_FORMAT_A, TR_FORMAT_C, "{\"data\":[{\"type\":\"model\"}],\"has_more\":true}",
                 NULL);
}

/* ---- detection ---- */

static void check_detect(const char *path, const char *method, const char *client, int av,
                         enum tr_format f, enum tr_endpoint ep)
{
    struct tr_detected d = {TR_FORMAT_R, TR_EP_OTHER};
    tr_detect(path, method, client, av, &d);
    CU_ASSERT_EQUAL(d.format, f);
    CU_ASSERT_EQUAL(d.endpoint, ep);
    if (d.format != f || d.endpoint != ep)
        fprintf(stderr, "\n  %s %s: got %d/%d\n", method, path, d.format, d.endpoint);
}

static void test_detect_table(void)
{
    /* 1: ends /responses, with or without /v1, even with the codex header. */
    check_detect("/responses", "POST", NULL, 0, TR_FORMAT_R, TR_EP_RESPONSES);
    check_detect("/v1/responses?x=1", "POST", "codex", 1, TR_FORMAT_R, TR_EP_RESPONSES);
    /* 2: contains /responses/. */
    check_detect("/v1/responses/resp_1", "GET", NULL, 0, TR_FORMAT_R, TR_EP_RESPONSES_OTHER);
    check_detect("/v1/responses/resp_1/cancel", "POST", "codex", 0, TR_FORMAT_R,
                 TR_EP_RESPONSES_OTHER);
    check_detect("/v1/responses/input_tokens", "POST", NULL, 0, TR_FORMAT_R,
                 TR_EP_RESPONSES_OTHER);
    /* 3: ends /chat/completions. */
    check_detect("/v1/chat/completions", "POST", NULL, 1, TR_FORMAT_C, TR_EP_CHAT);
    check_detect("/chat/completions?api-version=1", "POST", NULL, 0, TR_FORMAT_C, TR_EP_CHAT);
    /* 4: the codex header beats rules 5-8. */
    check_detect("/v1/messages", "POST", "codex", 1, TR_FORMAT_C, TR_EP_CHAT);
    check_detect("/v1/messages/count_tokens", "POST", "Codex", 0, TR_FORMAT_C, TR_EP_CHAT);
    check_detect("/v1/models", "GET", "codex", 0, TR_FORMAT_C, TR_EP_CHAT);
    check_detect("/v1/messages", "POST", "claude", 0, TR_FORMAT_A, TR_EP_MESSAGES);
    /* 5 and 6: Anthropic messages, query ignored. */
    check_detect("/v1/messages/count_tokens?beta=true", "POST", NULL, 1, TR_FORMAT_A,
                 TR_EP_COUNT_TOKENS);
    check_detect("/v1/messages?beta=true", "POST", NULL, 0, TR_FORMAT_A, TR_EP_MESSAGES);
    check_detect("/messages", "POST", NULL, 0, TR_FORMAT_A, TR_EP_MESSAGES);
    /* 7: GET /models only; the family follows anthropic-version. */
    check_detect("/v1/models", "GET", NULL, 1, TR_FORMAT_A, TR_EP_MODELS);
    check_detect("/v1/models?limit=5", "GET", NULL, 0, TR_FORMAT_C, TR_EP_MODELS);
    check_detect("/models", "GET", NULL, 0, TR_FORMAT_C, TR_EP_MODELS);
    check_detect("/v1/models", "POST", NULL, 1, TR_FORMAT_A, TR_EP_OTHER);
    check_detect("/v1/models/claude-x", "GET", NULL, 1, TR_FORMAT_A, TR_EP_OTHER);
    /* 8: anything else, including look-alikes and a suffix only in the query. */
    check_detect("/v1/completions", "POST", NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
    check_detect("/v1/messages/", "POST", NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
    check_detect("/v1/messagesx", "POST", NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
    check_detect("/v1/x?p=/responses", "POST", NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
    check_detect("/v1/x?p=/chat/completions", "POST", NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
    check_detect("", "GET", NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
    check_detect(NULL, NULL, NULL, 0, TR_FORMAT_A, TR_EP_OTHER);
}

static void test_wire_path(void)
{
    static const enum tr_endpoint gen[] = {TR_EP_MESSAGES, TR_EP_CHAT, TR_EP_RESPONSES};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(gen); i++) {
        CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_A, gen[i]), "/v1/messages");
        CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_C, gen[i]), "/v1/chat/completions");
        CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_R, gen[i]), "/v1/responses");
    }
    CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_A, TR_EP_COUNT_TOKENS),
                           "/v1/messages/count_tokens");
    CU_ASSERT_PTR_NULL(tr_wire_path(TR_FORMAT_C, TR_EP_COUNT_TOKENS));
    CU_ASSERT_PTR_NULL(tr_wire_path(TR_FORMAT_R, TR_EP_COUNT_TOKENS));
    CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_A, TR_EP_MODELS), "/v1/models");
    CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_C, TR_EP_MODELS), "/v1/models");
    CU_ASSERT_STRING_EQUAL(tr_wire_path(TR_FORMAT_R, TR_EP_MODELS), "/v1/models");
    CU_ASSERT_PTR_NULL(tr_wire_path(TR_FORMAT_A, TR_EP_OTHER));
    CU_ASSERT_PTR_NULL(tr_wire_path(TR_FORMAT_C, TR_EP_RESPONSES_OTHER));
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("tr_error", NULL, NULL);
    TU_ADD(s, test_case60_openai_400_to_a);
    TU_ADD(s, test_case61_prompt_too_long_to_r);
    TU_ADD(s, test_case62_plain_404_to_a);
    TU_ADD(s, test_case63_all_providers_failed);
    TU_ADD(s, test_case51_overloaded_midstream_to_c);
    TU_ADD(s, test_status_table);
    TU_ADD(s, test_unknown_type_uses_status);
    TU_ADD(s, test_cross_family_types);
    TU_ADD(s, test_same_family_type_kept);
    TU_ADD(s, test_codes);
    TU_ADD(s, test_other_envelopes);
    TU_ADD(s, test_plain_text);
    TU_ADD(s, test_plain_text_capped);
    TU_ADD(s, test_invalid_utf8);
    TU_ADD(s, test_empty_body);
    TU_ADD(s, test_context_length);
    TU_ADD(s, test_own_errors);
    CU_pSuite m = CU_add_suite("tr_models", NULL, NULL);
    TU_ADD(m, test_models_openai_to_a);
    TU_ADD(m, test_models_a_to_openai);
    TU_ADD(m, test_models_untranslated);
    CU_pSuite d = CU_add_suite("tr_detect", NULL, NULL);
    TU_ADD(d, test_detect_table);
    TU_ADD(d, test_wire_path);
}
