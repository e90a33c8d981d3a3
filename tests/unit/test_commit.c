/* Unit tests for zend/forward/commit.c: where a held passthrough stream
 * commits (first content event, its end, 64 KiB held) or fails (in-band
 * error, an unfinished end) in each wire format, whatever the chunking; and
 * which 2xx JSON answers are held and which bodies are error objects. */
#include "commit.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "testutil.h"

#define A_START "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"," \
                "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"c\"," \
                "\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}\n\n"
#define A_PING "event: ping\ndata: {\"type\":\"ping\"}\n\n"
#define A_BLOCK "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0," \
                "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
#define A_OVERLOADED "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\"," \
                     "\"message\":\"Overloaded\"}}\n\n"
#define A_RATE "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\"," \
               "\"message\":\"slow\"}}\n\n"
#define A_EMPTY_END "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":" \
                    "{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":1}}\n\n" \
                    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
#define C_ROLE "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\"," \
               "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}," \
               "\"finish_reason\":null}]}\n\n"
#define C_TEXT "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\"," \
               "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n"
#define C_TOOL "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\"," \
               "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"t1\"," \
               "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}," \
               "\"finish_reason\":null}]}\n\n"
#define C_REASON "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\"," \
                 "\"choices\":[{\"index\":0,\"delta\":{\"reasoning_content\":\"hm\"}," \
                 "\"finish_reason\":null}]}\n\n"
#define C_ERROR "data: {\"error\":{\"message\":\"busy\",\"type\":\"server_error\"}}\n\n"
#define R_CREATED "event: response.created\ndata: {\"type\":\"response.created\",\"response\":" \
                  "{\"id\":\"r\",\"model\":\"g\",\"status\":\"in_progress\",\"output\":[]}}\n\n"
#define R_ITEM "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\"," \
               "\"output_index\":0,\"item\":{\"type\":\"function_call\",\"id\":\"fc\",\"call_id\":" \
               "\"c1\",\"name\":\"f\",\"arguments\":\"\"}}\n\n"
#define R_FAILED "event: response.failed\ndata: {\"type\":\"response.failed\",\"response\":" \
                 "{\"id\":\"r\",\"status\":\"failed\",\"error\":{\"code\":\"server_error\"," \
                 "\"message\":\"boom\"}}}\n\n"

struct run {
    struct commit_watch w;
    size_t held;
    enum commit_verdict v; /* the first verdict other than HOLD */
};

static void feed(void *ctx, const char *p, size_t n)
{
    struct run *r = ctx;
    r->held += n;
    enum commit_verdict v = commit_watch_feed(&r->w, p, n, r->held);
    if (r->v == COMMIT_HOLD)
        r->v = v;
}

/* The verdict for `s` fed under every plan agrees with `want`. */
static void check(enum tr_format wire, const char *s, enum commit_verdict want)
{
    const struct tu_plan plans[] = {{TU_PLAN_WHOLE, 0}, {TU_PLAN_FIXED, 1}, {TU_PLAN_FIXED, 7},
                                    {TU_PLAN_SPLIT, strlen(s) / 2}, {TU_PLAN_RANDOM, 42}};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(plans); i++) {
        struct run r = {.v = COMMIT_HOLD};
        CU_ASSERT_EQUAL_FATAL(commit_watch_init(&r.w, wire), 0);
        tu_feed_plan(s, strlen(s), &plans[i], feed, &r);
        if (r.v != want)
            fprintf(stderr, "\nplan %zu: verdict %d, want %d for %.60s\n", i, r.v, want, s);
        CU_ASSERT_EQUAL(r.v, want);
        commit_watch_fini(&r.w);
    }
}

static void test_anthropic_commit_on_content(void)
{
    check(TR_FORMAT_A, A_START A_PING, COMMIT_HOLD);
    check(TR_FORMAT_A, A_START A_PING A_BLOCK, COMMIT_NOW);
    check(TR_FORMAT_A, A_START A_EMPTY_END, COMMIT_NOW); /* complete without content */
}

static void test_anthropic_in_band_error_fails(void)
{
    check(TR_FORMAT_A, A_OVERLOADED, COMMIT_FAILED);
    check(TR_FORMAT_A, A_START A_PING A_OVERLOADED, COMMIT_FAILED);
    struct commit_watch w;
    CU_ASSERT_EQUAL_FATAL(commit_watch_init(&w, TR_FORMAT_A), 0);
    const char *s = A_START A_RATE;
    CU_ASSERT_EQUAL(commit_watch_feed(&w, s, strlen(s), strlen(s)), COMMIT_FAILED);
    CU_ASSERT_EQUAL(w.err_class, TR_ERR_RATE_LIMIT);
    CU_ASSERT_STRING_EQUAL(w.err_msg, "slow");
    /* Later bytes change nothing, the end neither. */
    CU_ASSERT_EQUAL(commit_watch_feed(&w, A_BLOCK, strlen(A_BLOCK), 1), COMMIT_FAILED);
    CU_ASSERT_EQUAL(commit_watch_end(&w, 1, NULL), COMMIT_FAILED);
    commit_watch_fini(&w);
    commit_watch_fini(&w); /* twice is fine */
    CU_ASSERT_EQUAL_FATAL(commit_watch_init(&w, TR_FORMAT_A), 0);
    commit_watch_feed(&w, A_OVERLOADED, strlen(A_OVERLOADED), strlen(A_OVERLOADED));
    CU_ASSERT_EQUAL(w.err_class, TR_ERR_OVERLOADED);
    commit_watch_fini(&w);
}

static void test_chat_commit_on_content(void)
{
    check(TR_FORMAT_C, C_ROLE, COMMIT_HOLD); /* an empty content is no content */
    check(TR_FORMAT_C, C_ROLE C_TEXT, COMMIT_NOW);
    check(TR_FORMAT_C, C_ROLE C_TOOL, COMMIT_NOW);
    check(TR_FORMAT_C, C_ROLE C_REASON, COMMIT_NOW);
    check(TR_FORMAT_C, C_ROLE C_ERROR, COMMIT_FAILED);
}

static void test_responses_commit_on_item(void)
{
    check(TR_FORMAT_R, R_CREATED, COMMIT_HOLD);
    check(TR_FORMAT_R, R_CREATED R_ITEM, COMMIT_NOW);
    check(TR_FORMAT_R, R_CREATED R_FAILED, COMMIT_FAILED);
}

static void test_hold_limit(void)
{
    struct commit_watch w;
    CU_ASSERT_EQUAL_FATAL(commit_watch_init(&w, TR_FORMAT_A), 0);
    size_t held = 0;
    enum commit_verdict v = COMMIT_HOLD;
    while (v == COMMIT_HOLD && held <= 2 * COMMIT_HOLD_MAX) {
        held += strlen(A_PING);
        v = commit_watch_feed(&w, A_PING, strlen(A_PING), held);
    }
    CU_ASSERT_EQUAL(v, COMMIT_NOW);
    CU_ASSERT(held > COMMIT_HOLD_MAX);
    CU_ASSERT(held <= COMMIT_HOLD_MAX + strlen(A_PING));
    commit_watch_fini(&w);
}

static void test_end_before_commit(void)
{
    struct commit_watch w;
    /* Cut after message_start: an attempt that failed. */
    CU_ASSERT_EQUAL_FATAL(commit_watch_init(&w, TR_FORMAT_A), 0);
    commit_watch_feed(&w, A_START, strlen(A_START), strlen(A_START));
    CU_ASSERT_EQUAL(commit_watch_end(&w, 0, "network error"), COMMIT_FAILED);
    CU_ASSERT_PTR_NOT_NULL(strstr(w.err_msg, "network error"));
    commit_watch_fini(&w);
    /* Nothing at all, then EOF. */
    CU_ASSERT_EQUAL_FATAL(commit_watch_init(&w, TR_FORMAT_C), 0);
    CU_ASSERT_EQUAL(commit_watch_end(&w, 1, NULL), COMMIT_FAILED);
    commit_watch_fini(&w);
    /* A Chat stream past its finish_reason is complete enough. */
    CU_ASSERT_EQUAL_FATAL(commit_watch_init(&w, TR_FORMAT_C), 0);
    const char *fin = C_ROLE "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\","
                             "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n";
    CU_ASSERT_EQUAL(commit_watch_feed(&w, fin, strlen(fin), strlen(fin)), COMMIT_HOLD);
    CU_ASSERT_EQUAL(commit_watch_end(&w, 1, NULL), COMMIT_NOW);
    commit_watch_fini(&w);
}

static void test_json_held(void)
{
    struct http_header json[] = {{"Content-Type", "application/json; charset=utf-8"}};
    struct http_header problem[] = {{"content-type", "application/problem+json"}};
    struct http_header text[] = {{"Content-Type", "text/plain"}};
    struct http_header sse[] = {{"Content-Type", "text/event-stream"}};
    struct http_header big[] = {{"Content-Type", "application/json"},
                                {"Content-Length", "65537"}};
    struct http_header small[] = {{"Content-Type", "application/json"},
                                  {"Content-Length", "65536"}};
    CU_ASSERT_TRUE(commit_json_held(200, "POST", json, 1));
    CU_ASSERT_TRUE(commit_json_held(201, "GET", problem, 1));
    CU_ASSERT_TRUE(commit_json_held(200, "POST", small, 2));
    CU_ASSERT_FALSE(commit_json_held(200, "POST", big, 2));
    CU_ASSERT_FALSE(commit_json_held(200, "POST", text, 1));
    CU_ASSERT_FALSE(commit_json_held(200, "POST", sse, 1));
    CU_ASSERT_FALSE(commit_json_held(200, "POST", NULL, 0));
    CU_ASSERT_FALSE(commit_json_held(200, "HEAD", json, 1));
    CU_ASSERT_FALSE(commit_json_held(204, "POST", json, 1));
    CU_ASSERT_FALSE(commit_json_held(400, "POST", json, 1));
    CU_ASSERT_FALSE(commit_json_held(302, "POST", json, 1));
}

static void test_json_is_error(void)
{
    static const struct {
        const char *body;
        int error;
    } cases[] = {
        {"{\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}", 1},
        {"{\"type\":\"error\",\"error\":{\"message\":\"x\"}}", 1},
        {"{\"error\":{}}", 1},
        {"{\"error\":{\"m\":1},\"content\":[]}", 0},
        {"{\"error\":{\"m\":1},\"choices\":[]}", 0},
        {"{\"error\":{\"m\":1},\"output\":[]}", 0},
        {"{\"error\":null,\"output\":[]}", 0},     /* a Responses answer */
        {"{\"error\":\"just text\"}", 0},         /* not an error object */
        {"{\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}", 0},
        {"[{\"error\":{}}]", 0},
        {"{\"error\":{", 0},                      /* not JSON */
        {"", 0},
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(cases); i++)
        CU_ASSERT_EQUAL(commit_json_is_error(cases[i].body, strlen(cases[i].body)),
                        cases[i].error);
    CU_ASSERT_FALSE(commit_json_is_error(NULL, 0));
    const char bin[] = {'{', 0, '"', '\xff'};
    CU_ASSERT_FALSE(commit_json_is_error(bin, sizeof(bin)));
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("commit", NULL, NULL);
    TU_ADD(s, test_anthropic_commit_on_content);
    TU_ADD(s, test_anthropic_in_band_error_fails);
    TU_ADD(s, test_chat_commit_on_content);
    TU_ADD(s, test_responses_commit_on_item);
    TU_ADD(s, test_hold_limit);
    TU_ADD(s, test_end_before_commit);
    TU_ADD(s, test_json_held);
    TU_ADD(s, test_json_is_error);
}
