/* Unit tests for zend/usage/usage_reader.c: the token counts of every
 * format, streamed and whole, whatever the chunking (every split position,
 * one byte at a time); what must not count (null usage chunks, a "usage"
 * key inside tool input, cut events, garbage); a megabyte response.completed;
 * and the translator's usage in the ledger's sense. */
#include "usage_reader.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "testutil.h"

#define U(in, out, cr, cw) ((struct usage_tokens){in, out, cr, cw})
#define UNK USAGE_UNKNOWN

/* ---- samples ---- */

#define A_START "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"m\"," \
                "\"type\":\"message\",\"role\":\"assistant\",\"content\":[],\"model\":\"c\"," \
                "\"usage\":{\"input_tokens\":25,\"cache_creation_input_tokens\":7," \
                "\"cache_read_input_tokens\":100,\"output_tokens\":1}}}\n\n"
#define A_BLOCK "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0," \
                "\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" \
                "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0," \
                "\"delta\":{\"type\":\"text_delta\",\"text\":\"say \\\"usage\\\": {\\\"output_tokens\\\": 9}\"}}\n\n" \
                "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
#define A_DELTA "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":" \
                "{\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n"
#define A_STOP "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

#define A_JSON "{\"id\":\"m\",\"type\":\"message\",\"role\":\"assistant\",\"content\":[" \
               "{\"type\":\"text\",\"text\":\"a } brace and a \\\"quote\\\\\"},"  \
               "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{\"usage\":" \
               "{\"input_tokens\":999,\"output_tokens\":999},\"message\":{\"usage\":{\"input_tokens\":998}}}}]," \
               "\"model\":\"c\",\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":12," \
               "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":30,\"output_tokens\":8}}"

#define C_CHUNK(content) "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\"," \
                         "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" content "\"}," \
                         "\"finish_reason\":null}],\"usage\":null}\n\n"
#define C_FINISH "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\"," \
                 "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
#define C_USAGE "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"model\":\"g\",\"choices\":[]," \
                "\"usage\":{\"prompt_tokens\":50,\"completion_tokens\":9,\"total_tokens\":59," \
                "\"prompt_tokens_details\":{\"cached_tokens\":20,\"audio_tokens\":0}," \
                "\"completion_tokens_details\":{\"reasoning_tokens\":3}}}\n\n"
#define C_DONE "data: [DONE]\n\n"
#define C_JSON "{\"id\":\"c\",\"object\":\"chat.completion\",\"model\":\"g\",\"choices\":[{\"index\":0," \
               "\"message\":{\"role\":\"assistant\",\"content\":\"{\\\"usage\\\":1}\"},\"finish_reason\":\"stop\"}]," \
               "\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":4,\"total_tokens\":17}}"

#define R_CREATED "event: response.created\ndata: {\"type\":\"response.created\",\"response\":" \
                  "{\"id\":\"r\",\"status\":\"in_progress\",\"output\":[],\"usage\":null}}\n\n"
#define R_DELTA "event: response.output_text.delta\ndata: {\"type\":\"response.output_text.delta\"," \
                "\"item_id\":\"i\",\"output_index\":0,\"content_index\":0,\"delta\":\"Hi\"}\n\n"
#define R_COMPLETED_HEAD "event: response.completed\ndata: {\"type\":\"response.completed\",\"response\":" \
                         "{\"id\":\"r\",\"status\":\"completed\",\"output\":[{\"type\":\"message\"," \
                         "\"content\":[{\"type\":\"output_text\",\"text\":\""
#define R_COMPLETED_TAIL "\"}]}],\"usage\":{\"input_tokens\":70,\"input_tokens_details\":" \
                         "{\"cached_tokens\":64},\"output_tokens\":5,\"output_tokens_details\":" \
                         "{\"reasoning_tokens\":0},\"total_tokens\":75}}}\n\n"
#define R_JSON "{\"id\":\"r\",\"object\":\"response\",\"status\":\"completed\",\"output\":[]," \
               "\"usage\":{\"input_tokens\":8,\"output_tokens\":2,\"total_tokens\":10}}"

/* ---- helpers ---- */

static void feed_fn(void *ctx, const char *p, size_t n)
{
    usage_reader_feed(ctx, p, n);
}

static struct usage_tokens read_plan(enum tr_format wire, int stream, const char *s, size_t n,
                                     const struct tu_plan *plan)
{
    struct usage_reader *r = usage_reader_new(wire, stream);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    tu_feed_plan(s, n, plan, feed_fn, r);
    struct usage_tokens t;
    usage_reader_result(r, &t);
    usage_reader_free(r);
    return t;
}

static int same(struct usage_tokens a, struct usage_tokens b)
{
    return a.input == b.input && a.output == b.output && a.cache_read == b.cache_read &&
           a.cache_write == b.cache_write;
}

static void expect(const char *what, size_t at, struct usage_tokens got, struct usage_tokens want)
{
    if (!same(got, want))
        fprintf(stderr, "\n%s (split %zu): got %lld/%lld/%lld/%lld want %lld/%lld/%lld/%lld\n",
                what, at, (long long)got.input, (long long)got.output,
                (long long)got.cache_read, (long long)got.cache_write, (long long)want.input,
                (long long)want.output, (long long)want.cache_read, (long long)want.cache_write);
    CU_ASSERT(same(got, want));
}

/* `s` gives `want` whole, one byte at a time, in random pieces and split in
 * two at every position. */
static void check(enum tr_format wire, int stream, const char *s, struct usage_tokens want)
{
    size_t n = strlen(s);
    const struct tu_plan plans[] = {{TU_PLAN_WHOLE, 0}, {TU_PLAN_FIXED, 1}, {TU_PLAN_FIXED, 7},
                                    {TU_PLAN_RANDOM, 42}, {TU_PLAN_RANDOM, 7}};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(plans); i++)
        expect(s, 1000 + i, read_plan(wire, stream, s, n, &plans[i]), want);
    for (size_t at = 0; at <= n; at++) {
        struct tu_plan split = {TU_PLAN_SPLIT, at};
        struct usage_tokens got = read_plan(wire, stream, s, n, &split);
        if (!same(got, want)) {
            expect(s, at, got, want);
            return; /* one report per sample is enough */
        }
    }
}

/* ---- formats ---- */

static void test_anthropic_stream(void)
{
    /* message_delta's output replaces message_start's; the rest is kept */
    check(TR_FORMAT_A, 1, A_START A_BLOCK A_DELTA A_STOP, U(25, 42, 100, 7));
    /* message_start alone (a stream cut after it): what it said */
    check(TR_FORMAT_A, 1, A_START A_BLOCK, U(25, 1, 100, 7));
}

static void test_anthropic_cumulative_delta(void)
{
    /* newer APIs repeat and update input and cache counts in message_delta */
    const char *d1 = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},"
                     "\"usage\":{\"output_tokens\":10}}\n\n";
    const char *d2 = "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{},"
                     "\"usage\":{\"input_tokens\":26,\"cache_read_input_tokens\":101,"
                     "\"output_tokens\":30}}\n\n";
    char s[4096];
    snprintf(s, sizeof(s), "%s%s%s%s", A_START, d1, d2, A_STOP);
    check(TR_FORMAT_A, 1, s, U(26, 30, 101, 7));
}

static void test_anthropic_json_ignores_tool_input(void)
{
    check(TR_FORMAT_A, 0, A_JSON, U(12, 8, 30, 0));
}

static void test_anthropic_without_cache_fields(void)
{
    check(TR_FORMAT_A, 0, "{\"content\":[],\"usage\":{\"input_tokens\":3,\"output_tokens\":4}}",
          U(3, 4, UNK, UNK));
}

static void test_chat_stream_usage_chunk(void)
{
    check(TR_FORMAT_C, 1, C_CHUNK("Hel") C_CHUNK("lo") C_FINISH C_USAGE C_DONE, U(30, 9, 20, UNK));
}

static void test_chat_stream_without_usage(void)
{
    check(TR_FORMAT_C, 1, C_CHUNK("Hel") C_CHUNK("lo") C_FINISH C_DONE, U(UNK, UNK, UNK, UNK));
}

static void test_chat_json(void)
{
    /* no prompt_tokens_details: the prompt is all input, the cache unknown */
    check(TR_FORMAT_C, 0, C_JSON, U(13, 4, UNK, UNK));
}

static void test_chat_deepseek_cache_hit(void)
{
    check(TR_FORMAT_C, 0, "{\"usage\":{\"prompt_tokens\":100,\"prompt_cache_hit_tokens\":60,"
                          "\"prompt_cache_miss_tokens\":40,\"completion_tokens\":5}}",
          U(40, 5, 60, UNK));
}

static void test_responses_stream(void)
{
    check(TR_FORMAT_R, 1, R_CREATED R_DELTA R_COMPLETED_HEAD "Hi" R_COMPLETED_TAIL,
          U(6, 5, 64, UNK));
}

static void test_responses_json(void)
{
    check(TR_FORMAT_R, 0, R_JSON, U(8, 2, UNK, UNK));
}

static void test_skipped_events_any_line_end(void)
{
    /* an event skipped by its name, with two data lines, then one that is
     * read: LF, CRLF and CR line ends (a stream found out to use lone CRs
     * only after its first line) */
    const char *ends[] = {"\n", "\r\n", "\r"};
    for (size_t k = 0; k < ZEN_ARRAY_LEN(ends); k++) {
        const char *e = ends[k];
        char s[1024];
        snprintf(s, sizeof(s),
                 "event: ping%sdata: {\"usage\":%sdata: {\"output_tokens\":5}}%s%s"
                 ": comment%sevent: message_delta%sdata: {\"usage\":{\"output_tokens\":6}}%s%s"
                 "event: content_block_delta%sdata: {\"usage\":{\"output_tokens\":7}}%s%s",
                 e, e, e, e, e, e, e, e, e, e, e);
        check(TR_FORMAT_A, 1, s, U(UNK, 6, UNK, UNK));
    }
}

/* Found by fuzz_usage: the result may not depend on where a chunk ends. */
static void test_lone_cr_and_renamed_events(void)
{
    /* a lone CR inside a skipped event ends its line (and here the event) */
    check(TR_FORMAT_A, 1,
          "event: ping\ndata: x\r\revent: message_delta\n"
          "data: {\"usage\":{\"output_tokens\":3}}\n\n",
          U(UNK, 3, UNK, UNK));
    /* the last "event:" line names the event: skipped, then renamed to one
     * that is read (its data starts afresh), and the reverse */
    check(TR_FORMAT_A, 1,
          "event: ping\ndata: {\"usage\":{\"output_tokens\":8}}\n"
          "event: message_delta\ndata: {\"usage\":{\"output_tokens\":4}}\n\n",
          U(UNK, 4, UNK, UNK));
    check(TR_FORMAT_A, 1,
          "event: message_delta\nevent: ping\ndata: {\"usage\":{\"output_tokens\":4}}\n\n",
          USAGE_TOKENS_NONE);
}

static void test_crlf_and_multiline_data(void)
{
    /* CRLF line ends and a JSON value spread over two data lines */
    check(TR_FORMAT_C, 1,
          "data: {\"choices\":[],\r\ndata: \"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}}\r\n\r\n",
          U(5, 6, UNK, UNK));
    /* CR alone ends lines too; no space after the colon */
    check(TR_FORMAT_A, 1,
          "event:message_delta\rdata:{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":3}}\r\r",
          U(UNK, 3, UNK, UNK));
}

/* ---- what must not count ---- */

static void test_big_response_completed(void)
{
    /* 1 MiB of output before the usage: read in fixed memory */
    size_t text = 1u << 20;
    size_t n = strlen(R_COMPLETED_HEAD) + text + strlen(R_COMPLETED_TAIL);
    char *s = malloc(n + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char *p = s;
    memcpy(p, R_COMPLETED_HEAD, strlen(R_COMPLETED_HEAD));
    p += strlen(R_COMPLETED_HEAD);
    /* text that looks like structure, with an escaped quote now and then */
    for (size_t i = 0; i < text; i++)
        p[i] = "ab{}[]:, xy"[i % 11];
    for (size_t i = 0; i + 1 < text; i += 97) {
        p[i] = '\\';
        p[i + 1] = '"';
    }
    p += text;
    memcpy(p, R_COMPLETED_TAIL, strlen(R_COMPLETED_TAIL) + 1);
    const struct tu_plan plans[] = {{TU_PLAN_WHOLE, 0}, {TU_PLAN_FIXED, 16384},
                                    {TU_PLAN_FIXED, 1000}};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(plans); i++)
        expect("1 MiB response.completed", i, read_plan(TR_FORMAT_R, 1, s, n, &plans[i]),
               U(6, 5, 64, UNK));
    /* as a JSON body too: output first, usage last */
    const char *body = strstr(s, "{\"id\"");
    size_t blen = strlen(body) - 3; /* drop the event's closing brace and "\n\n" */
    char *doc = strndup(body, blen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    struct tu_plan whole = {TU_PLAN_WHOLE, 0};
    expect("1 MiB response JSON", 0, read_plan(TR_FORMAT_R, 0, doc, blen, &whole),
           U(6, 5, 64, UNK));
    free(doc);
    free(s);
}

static void test_escaped_quotes_and_braces(void)
{
    /* strings that look like structure, keys with escapes (not ours) */
    check(TR_FORMAT_C, 0,
          "{\"a\":\"}\\\"usage\\\":{\\\"prompt_tokens\\\":1}\",\"us\\u0061ge\":{\"prompt_tokens\":2},"
          "\"b\":[\"{\",\"\\\\\"],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}",
          U(3, 4, UNK, UNK));
}

static void test_usage_in_wrong_place(void)
{
    /* Responses usage only under response; Anthropic's only at its two places */
    check(TR_FORMAT_R, 1,
          "event: response.completed\ndata: {\"usage\":{\"input_tokens\":1},\"item\":"
          "{\"usage\":{\"input_tokens\":2}}}\n\n", U(UNK, UNK, UNK, UNK));
    check(TR_FORMAT_A, 1,
          "data: {\"type\":\"content_block_start\",\"content_block\":{\"type\":\"tool_use\","
          "\"input\":{\"usage\":{\"output_tokens\":5}},\"usage\":{\"output_tokens\":6}}}\n\n",
          U(UNK, UNK, UNK, UNK));
    /* a name-less Anthropic event is read; a delta's name skips its data */
    check(TR_FORMAT_A, 1,
          "event: content_block_delta\ndata: {\"usage\":{\"output_tokens\":5}}\n\n"
          "data: {\"usage\":{\"output_tokens\":6}}\n\n", U(UNK, 6, UNK, UNK));
    /* a usage that is not an object */
    check(TR_FORMAT_C, 0, "{\"usage\":[{\"prompt_tokens\":1}]}", U(UNK, UNK, UNK, UNK));
    check(TR_FORMAT_C, 0, "{\"usage\":\"{\\\"prompt_tokens\\\":1}\"}", U(UNK, UNK, UNK, UNK));
}

static void test_truncated(void)
{
    /* a body or an event cut inside or after its usage never counts */
    const char *cut[] = {
        "{\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6}",
        "{\"usage\":{\"prompt_tokens\":5,\"compl",
        "{\"choices\":[{\"x\":1}],\"usage\":{\"prompt_tokens\":5}, \"more\": \"text",
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(cut); i++)
        check(TR_FORMAT_C, 0, cut[i], U(UNK, UNK, UNK, UNK));
    check(TR_FORMAT_C, 1, "data: {\"usage\":{\"prompt_tokens\":5}\n\n", U(UNK, UNK, UNK, UNK));
    /* the next event starts afresh after a cut one */
    check(TR_FORMAT_C, 1,
          "data: {\"usage\":{\"prompt_tokens\":5\n\ndata: {\"usage\":{\"prompt_tokens\":7}}\n\n",
          U(7, UNK, UNK, UNK));
}

static void test_garbage(void)
{
    tu_rng_seed(13);
    char buf[4096];
    const char alphabet[] = "{}[]:,\"\\ \n\rdata:event usage message response 0123456789";
    for (int round = 0; round < 300; round++) {
        size_t n = tu_rng_below(sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = round % 3 ? alphabet[tu_rng_below(sizeof(alphabet) - 1)]
                               : (char)tu_rng_below(256);
        for (int wire = TR_FORMAT_A; wire <= TR_FORMAT_R; wire++)
            for (int stream = 0; stream < 2; stream++) {
                struct tu_plan plan = {TU_PLAN_RANDOM, (size_t)round};
                struct usage_tokens t =
                    read_plan((enum tr_format)wire, stream, buf, n, &plan);
                /* nothing negative but UNKNOWN, whatever came in */
                CU_ASSERT(t.input >= UNK && t.output >= UNK && t.cache_read >= UNK &&
                          t.cache_write >= UNK);
            }
    }
    /* closers with nothing open, deep nesting, an oversized usage object */
    check(TR_FORMAT_C, 0, "}}]]{\"usage\":{\"prompt_tokens\":1}}", U(1, UNK, UNK, UNK));
    size_t deep = 100000;
    char *s = malloc(2 * deep + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    memset(s, '[', deep);
    memset(s + deep, ']', deep);
    s[2 * deep] = '\0';
    struct tu_plan whole = {TU_PLAN_WHOLE, 0};
    expect("deep", 0, read_plan(TR_FORMAT_A, 0, s, 2 * deep, &whole), U(UNK, UNK, UNK, UNK));
    free(s);
    char big[8192];
    size_t k = (size_t)snprintf(big, sizeof(big), "{\"usage\":{\"prompt_tokens\":1,\"pad\":\"");
    memset(big + k, 'p', 5000);
    snprintf(big + k + 5000, sizeof(big) - k - 5000, "\"}}");
    check(TR_FORMAT_C, 0, big, U(UNK, UNK, UNK, UNK));
    /* negative and non-integer counts are no counts */
    check(TR_FORMAT_A, 0, "{\"usage\":{\"input_tokens\":-4,\"output_tokens\":\"7\"}}",
          U(UNK, UNK, UNK, UNK));
    /* NULL and empty feeds are fine */
    usage_reader_feed(NULL, "x", 1);
    struct usage_tokens t;
    usage_reader_result(NULL, &t);
    CU_ASSERT(same(t, USAGE_TOKENS_NONE));
    usage_reader_free(NULL);
}

static void test_usage_object_parser(void)
{
    /* pretty-printed, nested objects and arrays, literals, reals */
    check(TR_FORMAT_C, 0,
          "{\"usage\": {\n  \"prompt_tokens\": 50,\n  \"completion_tokens\": 1.2e1,\n"
          "  \"prompt_tokens_details\": {\"cached_tokens\": 20.0, \"audio\": [1, {\"a\": null}]},\n"
          "  \"x\": [true, false, \"\\u00e9\\n\"], \"cached_tokens\": 99\n}\n}",
          U(30, 12, 20, UNK));
    /* Anthropic's nested cache_creation and server_tool_use are not its counts */
    check(TR_FORMAT_A, 0,
          "{\"usage\":{\"input_tokens\":3,\"cache_creation\":{\"ephemeral_5m_input_tokens\":50,"
          "\"cache_read_input_tokens\":9},\"output_tokens\":4,\"service_tier\":\"standard\"}}",
          U(3, 4, UNK, UNK));
    /* a later duplicate wins; a count beyond int64 is none */
    check(TR_FORMAT_A, 0,
          "{\"usage\":{\"input_tokens\":3,\"input_tokens\":5,"
          "\"output_tokens\":99999999999999999999}}", U(5, UNK, UNK, UNK));
    /* not JSON: nothing at all */
    const char *bad[] = {
        "{\"usage\":{\"prompt_tokens\":5 \"completion_tokens\":6}}",
        "{\"usage\":{\"prompt_tokens\":1 2}}",
        "{\"usage\":{\"prompt_tokens\":05}}",
        "{\"usage\":{\"prompt_tokens\":5,}}",
        "{\"usage\":{\"prompt_tokens\":5,\"x\":\"\\q\"}}",
        "{\"usage\":{\"prompt_tokens\":5,\"x\":\"\\u12g4\"}}",
        "{\"usage\":{\"prompt_tokens\":5,\"x\":nul}}",
        "{\"usage\":{\"prompt_tokens\":5,\"x\":[1,]}}",
        "{\"usage\":{\"prompt_tokens\":-}}",
        "{\"usage\":{\"prompt_tokens\":1.}}",
        "{\"usage\":{\"prompt_tokens\":5,\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}}",
        "{\"usage\":{5:1}}",
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bad); i++)
        check(TR_FORMAT_C, 0, bad[i], U(UNK, UNK, UNK, UNK));
}

/* ---- the translator's usage ---- */

static void test_from_tr(void)
{
    CU_ASSERT(same(usage_tokens_from_tr(NULL), USAGE_TOKENS_NONE));
    struct tr_usage u = {.input_total = 100, .cache_read = 60, .cache_write = 10, .output = 7,
                         .has_input = 1, .has_output = 1, .has_cache_read = 1,
                         .has_cache_write = 1};
    CU_ASSERT(same(usage_tokens_from_tr(&u), U(30, 7, 60, 10)));
    /* cache not reported: unknown, not 0, and the input is all uncached */
    u.has_cache_read = u.has_cache_write = 0;
    CU_ASSERT(same(usage_tokens_from_tr(&u), U(100, 7, UNK, UNK)));
    u.has_input = 0;
    CU_ASSERT(same(usage_tokens_from_tr(&u), U(UNK, 7, UNK, UNK)));
    struct tr_usage bad = {.input_total = 5, .cache_read = 9, .has_input = 1,
                           .has_cache_read = 1};
    CU_ASSERT(same(usage_tokens_from_tr(&bad), U(UNK, UNK, 9, UNK)));
}

static void test_merge(void)
{
    struct usage_tokens a = U(1, 2, UNK, 4);
    struct usage_tokens b = U(UNK, 5, 6, UNK);
    usage_tokens_merge(&a, &b);
    CU_ASSERT(same(a, U(1, 5, 6, 4)));
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("usage_reader", NULL, NULL);
    TU_ADD(s, test_anthropic_stream);
    TU_ADD(s, test_anthropic_cumulative_delta);
    TU_ADD(s, test_anthropic_json_ignores_tool_input);
    TU_ADD(s, test_anthropic_without_cache_fields);
    TU_ADD(s, test_chat_stream_usage_chunk);
    TU_ADD(s, test_chat_stream_without_usage);
    TU_ADD(s, test_chat_json);
    TU_ADD(s, test_chat_deepseek_cache_hit);
    TU_ADD(s, test_responses_stream);
    TU_ADD(s, test_responses_json);
    TU_ADD(s, test_crlf_and_multiline_data);
    TU_ADD(s, test_skipped_events_any_line_end);
    TU_ADD(s, test_lone_cr_and_renamed_events);
    TU_ADD(s, test_big_response_completed);
    TU_ADD(s, test_escaped_quotes_and_braces);
    TU_ADD(s, test_usage_in_wrong_place);
    TU_ADD(s, test_truncated);
    TU_ADD(s, test_garbage);
    TU_ADD(s, test_usage_object_parser);
    TU_ADD(s, test_from_tr);
    TU_ADD(s, test_merge);
}
