/* Unit tests for the answer encoders (zend/translate/tr_encode*.c,
 * tr_aggregate.c, tr_render.c): IR event sequences built here, the client
 * bytes compared exactly (docs/translate.md, streaming and non-streaming
 * answers). Responses streams also go through a checker of openai-node's
 * accumulator rules, since a Responses client throws on the first event
 * that breaks them. */
#include "tr_encode.h"

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"
#include "tr_ctx.h"

#define CREATED 1700000000
#define SEED 42

/* ---- fixture ---- */

static struct tr_ctx ctx;
static struct tr_encoder *enc;
static zbuf out;

static void setup(enum tr_format client, enum tr_format wire, int sse)
{
    tr_ctx_init(&ctx, client, wire);
    ctx.created = CREATED;
    ctx.model = strdup("zend-model");
    ctx.client_stream = sse;
    zbuf_init(&out);
    enc = tr_encoder_new(&ctx, sse);
    CU_ASSERT_PTR_NOT_NULL_FATAL(enc);
    tr_encoder_set_id_seed(enc, SEED);
}

static void teardown(void)
{
    tr_encoder_free(enc);
    enc = NULL;
    tr_ctx_fini(&ctx);
    zbuf_free(&out);
}

/* The bytes written so far as a NUL-terminated string (malloc'd); clears out. */
static char *take(void)
{
    size_t n = zbuf_len(&out);
    char *s = malloc(n + 1);
    if (n)
        memcpy(s, zbuf_head(&out), n);
    s[n] = '\0';
    zbuf_clear(&out);
    return s;
}

static void expect_out(const char *want, int line)
{
    char *got = take();
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\nline %d:\n--- want\n%s\n--- got\n%s\n", line, want, got);
    CU_ASSERT_STRING_EQUAL(got, want);
    free(got);
}
#define EXPECT(s) expect_out(s, __LINE__)

/* ---- one helper per event kind ---- */

static void feed(const struct tr_event *ev)
{
    tr_encoder_event(enc, ev, &out);
}

static void ev_start(const char *id, const char *model)
{
    struct tr_event ev = {.kind = TR_EV_START, .id = id, .id_len = id ? strlen(id) : 0,
                          .model = model, .model_len = model ? strlen(model) : 0};
    feed(&ev);
}

static void ev_start_usage(const char *id, const char *model, int64_t in, int64_t cache_read)
{
    struct tr_event ev = {.kind = TR_EV_START, .id = id, .id_len = strlen(id), .model = model,
                          .model_len = strlen(model), .has_usage = 1,
                          .usage = {.input_total = in, .cache_read = cache_read, .has_input = 1}};
    feed(&ev);
}

static void ev_open(int b, enum tr_block_kind k)
{
    struct tr_event ev = {.kind = TR_EV_OPEN, .block = b, .block_kind = k};
    feed(&ev);
}

static void ev_tool(int b, const char *id, const char *name)
{
    struct tr_event ev = {.kind = TR_EV_OPEN, .block = b, .block_kind = TR_BLOCK_TOOL, .id = id,
                          .id_len = strlen(id), .name = name, .name_len = strlen(name)};
    feed(&ev);
}

static void ev_text(enum tr_ev_kind kind, int b, const char *s)
{
    struct tr_event ev = {.kind = kind, .block = b, .text = s, .text_len = strlen(s)};
    feed(&ev);
}
#define ev_delta(b, s) ev_text(TR_EV_DELTA, b, s)
#define ev_sig(b, s) ev_text(TR_EV_SIG, b, s)

static void ev_close(int b)
{
    struct tr_event ev = {.kind = TR_EV_CLOSE, .block = b};
    feed(&ev);
}

/* FINISH; usage fields < 0 are unknown. */
static void ev_finish(enum tr_stop stop, int64_t in, int64_t cache_read, int64_t cache_write,
                      int64_t output)
{
    struct tr_event ev = {.kind = TR_EV_FINISH, .stop = stop};
    if (in >= 0 || output >= 0) {
        ev.has_usage = 1;
        ev.usage = (struct tr_usage){.input_total = in < 0 ? 0 : in,
                                     .cache_read = cache_read,
                                     .cache_write = cache_write,
                                     .output = output < 0 ? 0 : output,
                                     .has_input = in >= 0,
                                     .has_output = output >= 0};
    }
    feed(&ev);
}

static void ev_error(enum tr_err_class cls, const char *type, const char *msg)
{
    struct tr_event ev = {.kind = TR_EV_ERROR, .err_class = cls, .err_type = type, .text = msg,
                          .text_len = strlen(msg)};
    feed(&ev);
}

static void ev_keepalive(void)
{
    struct tr_event ev = {.kind = TR_EV_KEEPALIVE};
    feed(&ev);
}

/* ---- Anthropic SSE pieces ---- */

#define EV(t, j) "event: " t "\ndata: " j "\n\n"
#define A_MSG_START(id, model)                                                                  \
    EV("message_start", "{\"type\":\"message_start\",\"message\":{\"id\":\"" id                \
                        "\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"" model    \
                        "\",\"content\":[],\"stop_reason\":null,\"stop_sequence\":null,"       \
                        "\"usage\":{\"input_tokens\":0,\"output_tokens\":0,"                   \
                        "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}}")
#define A_BSTART(i, cb)                                                                         \
    EV("content_block_start",                                                                   \
       "{\"type\":\"content_block_start\",\"index\":" #i ",\"content_block\":" cb "}")
#define A_START_TEXT(i) A_BSTART(i, "{\"type\":\"text\",\"text\":\"\"}")
#define A_START_THINK(i) A_BSTART(i, "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}")
#define A_START_TOOL(i, id, name)                                                               \
    A_BSTART(i, "{\"type\":\"tool_use\",\"id\":\"" id "\",\"name\":\"" name "\",\"input\":{}}")
#define A_DELTA(i, d)                                                                           \
    EV("content_block_delta", "{\"type\":\"content_block_delta\",\"index\":" #i ",\"delta\":" d "}")
#define A_DTEXT(i, s) A_DELTA(i, "{\"type\":\"text_delta\",\"text\":\"" s "\"}")
#define A_DTHINK(i, s) A_DELTA(i, "{\"type\":\"thinking_delta\",\"thinking\":\"" s "\"}")
#define A_DSIG(i, s) A_DELTA(i, "{\"type\":\"signature_delta\",\"signature\":\"" s "\"}")
#define A_DJSON(i, s) A_DELTA(i, "{\"type\":\"input_json_delta\",\"partial_json\":\"" s "\"}")
#define A_STOP(i) EV("content_block_stop", "{\"type\":\"content_block_stop\",\"index\":" #i "}")
#define A_END(stop, in, outp, cw, cr)                                                           \
    EV("message_delta", "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"" stop       \
                        "\",\"stop_sequence\":null},\"usage\":{\"input_tokens\":" #in          \
                        ",\"output_tokens\":" #outp ",\"cache_creation_input_tokens\":" #cw    \
                        ",\"cache_read_input_tokens\":" #cr "}}")                              \
    EV("message_stop", "{\"type\":\"message_stop\"}")
#define A_PING EV("ping", "{\"type\":\"ping\"}")

/* 32: a text answer, usage at the end. */
static void test_a_stream_text(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hello");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, 10, 0, 0, 2);
    EXPECT(A_MSG_START("c1", "g") A_START_TEXT(0) A_DTEXT(0, "Hello") A_STOP(0)
               A_END("end_turn", 10, 2, 0, 0));
    teardown();
}

/* 33: cut after the finish chunk: no usage known, one message_delta. */
static void test_a_stream_no_usage(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hello");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    ev_finish(TR_STOP_END_TURN, 5, 0, 0, 5); /* nothing after the end */
    EXPECT(A_MSG_START("c1", "g") A_START_TEXT(0) A_DTEXT(0, "Hello") A_STOP(0)
               A_END("end_turn", 0, 0, 0, 0));
    teardown();
}

/* 34: a tool opened while the text is open waits; its fragments come out as
 * one delta once the text stops. */
static void test_a_stream_text_then_tool(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Let me");
    ev_tool(1, "call_1", "Read");
    ev_delta(1, "{\"p\"");
    ev_delta(1, ":1}");
    EXPECT(A_MSG_START("c1", "g") A_START_TEXT(0) A_DTEXT(0, "Let me"));
    ev_close(0);
    EXPECT(A_STOP(0) A_START_TOOL(1, "call_1", "Read") A_DJSON(1, "{\\\"p\\\":1}"));
    ev_close(1);
    ev_finish(TR_STOP_TOOL_USE, 10, 0, 0, 3);
    EXPECT(A_STOP(1) A_END("tool_use", 10, 3, 0, 0));
    teardown();
}

/* 35: parallel tools, sequential upstream: the first streams live, the
 * second is released whole when the first stops (at finish). */
static void test_a_stream_parallel_sequential(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_tool(0, "call_a", "f");
    ev_delta(0, "{\"a\":");
    ev_delta(0, "1}");
    EXPECT(A_START_TOOL(0, "call_a", "f") A_DJSON(0, "{\\\"a\\\":") A_DJSON(0, "1}"));
    ev_tool(1, "call_b", "g");
    ev_delta(1, "{\"b\":");
    ev_delta(1, "2}");
    EXPECT("");
    ev_close(0);
    ev_close(1);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    EXPECT(A_STOP(0) A_START_TOOL(1, "call_b", "g") A_DJSON(1, "{\\\"b\\\":2}") A_STOP(1)
               A_END("tool_use", 0, 0, 0, 0));
    teardown();
}

/* 36: interleaved fragments: none lost, start0 < stop0 < start1 < stop1. */
static void test_a_stream_interleaved(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_tool(0, "call_a", "f");
    ev_tool(1, "call_b", "g");
    ev_delta(0, "{\"a\":");
    ev_delta(1, "{\"b\":2}");
    ev_delta(0, "1}");
    ev_close(0);
    ev_close(1);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    EXPECT(A_START_TOOL(0, "call_a", "f") A_DJSON(0, "{\\\"a\\\":") A_DJSON(0, "1}") A_STOP(0)
               A_START_TOOL(1, "call_b", "g") A_DJSON(1, "{\\\"b\\\":2}") A_STOP(1)
                   A_END("tool_use", 0, 0, 0, 0));
    teardown();
}

/* A block closed while not at the head is released whole (start, one delta,
 * stop) as soon as the head stops; the next open one goes live. */
static void test_a_stream_closed_behind_head(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_tool(0, "x", "f");
    ev_tool(1, "y", "g");
    ev_tool(2, "z", "h");
    ev_delta(1, "{}");
    ev_close(1);
    ev_delta(2, "{\"q\":");
    EXPECT(A_START_TOOL(0, "x", "f"));
    ev_close(0);
    EXPECT(A_STOP(0) A_START_TOOL(1, "y", "g") A_DJSON(1, "{}") A_STOP(1) A_START_TOOL(2, "z", "h")
               A_DJSON(2, "{\\\"q\\\":"));
    ev_delta(2, "3}");
    EXPECT(A_DJSON(2, "3}"));
    teardown();
}

/* 37: a reused upstream index gives two blocks, in order. 41: ids are
 * sanitised. Empty args write no delta. */
static void test_a_stream_two_tools_sanitised(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_tool(0, "A", "f");
    ev_delta(0, "{}");
    ev_close(0);
    ev_tool(1, "call:1", "g");
    ev_close(1);
    EXPECT(A_START_TOOL(0, "A", "f") A_DJSON(0, "{}") A_STOP(0) A_START_TOOL(1, "call_1", "g")
               A_STOP(1));
    teardown();
}

/* 38: text and a tool from one combined chunk. */
static void test_a_stream_combined(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hi");
    ev_tool(1, "c", "f");
    ev_delta(1, "{}");
    ev_close(0);
    ev_close(1);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    EXPECT(A_START_TEXT(0) A_DTEXT(0, "Hi") A_STOP(0) A_START_TOOL(1, "c", "f") A_DJSON(1, "{}")
               A_STOP(1) A_END("tool_use", 0, 0, 0, 0));
    teardown();
}

/* 39 at the encoder: END_TURN after a tool call is tool_use; TOOL_USE with
 * no call is end_turn. */
static void test_a_stream_stop_adjusted(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    ev_tool(0, "c", "f");
    ev_close(0);
    zbuf_clear(&out);
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    EXPECT(A_END("tool_use", 0, 0, 0, 0));
    teardown();
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    EXPECT(A_END("end_turn", 0, 0, 0, 0));
    teardown();
}

/* 40: thinking from a Chat wire is signed with the carrier tag; from a
 * Responses wire with its own; a SIG received is used as it is. */
static void test_a_stream_thinking(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "a");
    ev_delta(0, "b");
    ev_close(0);
    ev_open(1, TR_BLOCK_TEXT);
    ev_delta(1, "c");
    EXPECT(A_START_THINK(0) A_DTHINK(0, "a") A_DTHINK(0, "b") A_DSIG(0, "zend1.c") A_STOP(0)
               A_START_TEXT(1) A_DTEXT(1, "c"));
    teardown();

    setup(TR_FORMAT_A, TR_FORMAT_R, 1);
    ev_start("r1", "g");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_THINKING);
    ev_close(0);
    EXPECT(A_START_THINK(0) A_DSIG(0, "zend1.r") A_STOP(0));
    teardown();

    setup(TR_FORMAT_A, TR_FORMAT_R, 1);
    ev_start("r1", "g");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "x");
    ev_sig(0, "SIGX");
    ev_close(0);
    EXPECT(A_START_THINK(0) A_DTHINK(0, "x") A_DSIG(0, "SIGX") A_STOP(0));
    teardown();
}

/* Names shortened upstream are restored; input_tokens never goes negative
 * and excludes cache reads and writes. */
static void test_a_stream_names_and_usage(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    CU_ASSERT_EQUAL(tr_ctx_add_name(&ctx, "short_12345678", "a_very_long_client_tool_name"), 0);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_tool(0, "t1", "short_12345678");
    ev_close(0);
    ev_finish(TR_STOP_TOOL_USE, 10, 20, 5, 1);
    EXPECT(A_START_TOOL(0, "t1", "a_very_long_client_tool_name") A_STOP(0)
               A_END("tool_use", 0, 1, 5, 20));
    teardown();
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_finish(TR_STOP_MAX_TOKENS, 100, 30, 20, 7);
    EXPECT(A_END("max_tokens", 50, 7, 20, 30));
    teardown();
}

/* 43, 45: an error event and nothing after it, whatever comes. */
static void test_a_stream_error(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hel");
    ev_error(TR_ERR_API, NULL, "upstream stream interrupted: ended before completion (reset)");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    ev_keepalive();
    EXPECT(A_MSG_START("c1", "g") A_START_TEXT(0) A_DTEXT(0, "Hel")
               EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"
                           "\"upstream stream interrupted: ended before completion (reset)\"}}"));
    teardown();

    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "x");
    zbuf_clear(&out);
    ev_error(TR_ERR_API, "server_error", "overloaded");
    EXPECT(EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":"
                       "\"overloaded\"}}"));
    teardown();

    /* An Anthropic type is kept as it is. */
    setup(TR_FORMAT_A, TR_FORMAT_R, 1);
    ev_error(TR_ERR_API, "overloaded_error", "busy");
    EXPECT(EV("error", "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
                       "\"busy\"}}"));
    teardown();
}

/* 42: a ping may come first, before message_start. */
static void test_a_stream_ping_first(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_keepalive();
    ev_start("c1", "g");
    EXPECT(A_PING A_MSG_START("c1", "g"));
    teardown();
}

/* Redacted thinking has no delta in Anthropic's stream: its data goes in the
 * start, written when the block is complete. */
static void test_a_stream_redacted(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_REDACTED);
    ev_delta(0, "ENC");
    EXPECT("");
    ev_close(0);
    EXPECT(A_BSTART(0, "{\"type\":\"redacted_thinking\",\"data\":\"ENC\"}") A_STOP(0));
    teardown();
}

/* No upstream id: msg_ + 24 hex, the same for the same seed; no upstream
 * model: the one zend sent. */
static void test_a_stream_invented_id(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start(NULL, NULL);
    char *first = take();
    teardown();
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("", "");
    char *second = take();
    teardown();
    CU_ASSERT_STRING_EQUAL(first, second);
    const char *p = strstr(first, "\"id\":\"msg_");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p += strlen("\"id\":\"msg_");
    CU_ASSERT_EQUAL(strspn(p, "0123456789abcdef"), 24);
    CU_ASSERT_EQUAL(p[24], '"');
    char id[25];
    memcpy(id, p, 24);
    id[24] = '\0';
    CU_ASSERT_PTR_NOT_NULL(strstr(first, "\"model\":\"zend-model\""));
    free(first);
    free(second);
    /* Another seed, another id. */
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    tr_encoder_set_id_seed(enc, SEED + 1);
    ev_start(NULL, NULL);
    char *third = take();
    CU_ASSERT_PTR_NOT_NULL(strstr(third, "\"id\":\"msg_"));
    CU_ASSERT_PTR_NULL(strstr(third, id));
    teardown();
    free(third);
}

/* ---- Chat chunks ---- */

#define C_CHUNK(delta, fin)                                                                     \
    "data: {\"id\":\"msg_1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"      \
    "\"model\":\"claude-x\",\"choices\":[{\"index\":0,\"delta\":" delta                         \
    ",\"logprobs\":null,\"finish_reason\":" fin "}]}\n\n"
#define C_D(delta) C_CHUNK(delta, "null")
#define C_USAGE(u)                                                                              \
    "data: {\"id\":\"msg_1\",\"object\":\"chat.completion.chunk\",\"created\":1700000000,"      \
    "\"model\":\"claude-x\",\"choices\":[],\"usage\":" u "}\n\n"
#define C_DONE "data: [DONE]\n\n"

/* The answer of test 49 (an Anthropic stream) as IR: usage in START
 * (input 25 + cache read 5) and output at FINISH. */
static void feed_49(void)
{
    ev_start_usage("msg_1", "claude-x", 30, 5);
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hi");
    ev_close(0);
    ev_tool(1, "toolu_1", "f");
    ev_delta(1, "{\"a\":1}");
    ev_close(1);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, 9);
}

#define C_49_BODY                                                                               \
    C_D("{\"role\":\"assistant\",\"content\":\"\"}")                                            \
    C_D("{\"content\":\"Hi\"}")                                                                 \
    C_D("{\"tool_calls\":[{\"index\":0,\"id\":\"toolu_1\",\"type\":\"function\","              \
        "\"function\":{\"name\":\"f\",\"arguments\":\"\"}}]}")                                  \
    C_D("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"a\\\":1}\"}}]}")      \
    C_CHUNK("{}", "\"tool_calls\"")

/* 49: with include_usage, a usage chunk before [DONE]; tool index 0 although
 * the tool is the second block. */
static void test_c_stream_usage(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 1);
    ctx.include_usage = 1;
    feed_49();
    EXPECT(C_49_BODY C_USAGE("{\"prompt_tokens\":30,\"completion_tokens\":9,\"total_tokens\":39,"
                             "\"prompt_tokens_details\":{\"cached_tokens\":5}}") C_DONE);
    teardown();
}

/* 50: without include_usage no usage chunk; a keep-alive is a comment. */
static void test_c_stream_no_usage_keepalive(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 1);
    ev_keepalive();
    EXPECT(": keep-alive\n\n");
    feed_49();
    EXPECT(C_49_BODY C_DONE);
    teardown();
}

/* Thinking goes as reasoning_content; signatures and redacted blocks are
 * dropped; interleaved tools keep their ordinals; names are restored. */
static void test_c_stream_reasoning_tools(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 1);
    CU_ASSERT_EQUAL(tr_ctx_add_name(&ctx, "w", "client_name"), 0);
    ev_start("msg_1", "claude-x");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "hm");
    ev_sig(0, "S");
    ev_close(0);
    ev_open(1, TR_BLOCK_REDACTED);
    ev_delta(1, "D");
    ev_close(1);
    ev_tool(2, "a", "w");
    ev_tool(3, "b", "g");
    ev_delta(3, "{}");
    ev_delta(2, "{}");
    EXPECT(C_D("{\"reasoning_content\":\"hm\"}")
               C_D("{\"tool_calls\":[{\"index\":0,\"id\":\"a\",\"type\":\"function\","
                   "\"function\":{\"name\":\"client_name\",\"arguments\":\"\"}}]}")
                   C_D("{\"tool_calls\":[{\"index\":1,\"id\":\"b\",\"type\":\"function\","
                       "\"function\":{\"name\":\"g\",\"arguments\":\"\"}}]}")
                       C_D("{\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{}\"}}]}")
                           C_D("{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{}\"}}]}"));
    teardown();
}

/* 51: an error chunk in OpenAI's vocabulary, then nothing (no [DONE]). */
static void test_c_stream_error(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 1);
    ev_start("msg_1", "claude-x");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hi");
    zbuf_clear(&out);
    ev_error(TR_ERR_OVERLOADED, "overloaded_error", "Overloaded");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    EXPECT("data: {\"error\":{\"message\":\"Overloaded\",\"type\":\"server_error\",\"param\":null,"
           "\"code\":\"server_is_overloaded\"}}\n\n");
    teardown();
    /* An OpenAI type is kept; a class without code gives code null. */
    setup(TR_FORMAT_C, TR_FORMAT_R, 1);
    ev_error(TR_ERR_API, "server_error", "boom");
    EXPECT("data: {\"error\":{\"message\":\"boom\",\"type\":\"server_error\",\"param\":null,"
           "\"code\":null}}\n\n");
    teardown();
}

/* Finish reasons of the other stops. */
static void test_c_stream_finish_reasons(void)
{
    static const struct {
        enum tr_stop stop;
        const char *want;
    } cases[] = {
        {TR_STOP_END_TURN, C_CHUNK("{}", "\"stop\"") C_DONE},
        {TR_STOP_STOP_SEQ, C_CHUNK("{}", "\"stop\"") C_DONE},
        {TR_STOP_MAX_TOKENS, C_CHUNK("{}", "\"length\"") C_DONE},
        {TR_STOP_CONTEXT, C_CHUNK("{}", "\"length\"") C_DONE},
        {TR_STOP_REFUSAL, C_CHUNK("{}", "\"content_filter\"") C_DONE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        setup(TR_FORMAT_C, TR_FORMAT_A, 1);
        ev_start("msg_1", "claude-x");
        zbuf_clear(&out);
        ev_finish(cases[i].stop, -1, 0, 0, -1);
        EXPECT(cases[i].want);
        teardown();
    }
}

/* ---- Responses streams: openai-node's accumulator rules ---- */

struct r_check {
    json_t *events;   /* every event's data, in order */
    json_t *output;   /* the items as a client accumulates them */
    char violation[256];
};

#define R_FAIL(...)                                                                             \
    do {                                                                                        \
        snprintf(k->violation, sizeof(k->violation), __VA_ARGS__);                              \
        return -1;                                                                              \
    } while (0)

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The item an item-scoped event names, checked against output_index. */
static json_t *r_item_of(struct r_check *k, json_t *ev, const char *want_type)
{
    size_t idx = (size_t)json_integer_value(json_object_get(ev, "output_index"));
    json_t *item = json_array_get(k->output, idx);
    if (!item || strcmp(jstr(item, "id"), jstr(ev, "item_id")) != 0 ||
        strcmp(jstr(item, "type"), want_type) != 0)
        return NULL;
    return item;
}

static void append_to(json_t *o, const char *key, const char *more)
{
    size_t n = strlen(jstr(o, key)), m = strlen(more);
    char *s = malloc(n + m + 1);
    memcpy(s, jstr(o, key), n);
    memcpy(s + n, more, m + 1);
    json_object_set_new(o, key, json_string(s));
    free(s);
}

static int r_apply(struct r_check *k, json_t *ev)
{
    const char *t = jstr(ev, "type");
    json_t *item;
    if (!strcmp(t, "response.created") || !strcmp(t, "response.in_progress") ||
        !strcmp(t, "response.completed") || !strcmp(t, "response.incomplete") ||
        !strcmp(t, "response.failed")) {
        if (!json_is_object(json_object_get(ev, "response")))
            R_FAIL("%s without response", t);
        return 0;
    }
    if (!strcmp(t, "response.output_item.added")) {
        item = json_object_get(ev, "item");
        if ((size_t)json_integer_value(json_object_get(ev, "output_index")) !=
            json_array_size(k->output))
            R_FAIL("output_item.added does not append");
        if (!*jstr(item, "id"))
            R_FAIL("item without id");
        json_array_append_new(k->output, json_deep_copy(item));
        return 0;
    }
    if (!strcmp(t, "response.output_item.done")) {
        json_t *done = json_object_get(ev, "item");
        size_t idx = (size_t)json_integer_value(json_object_get(ev, "output_index"));
        item = json_array_get(k->output, idx);
        if (!item || strcmp(jstr(item, "id"), jstr(done, "id")) ||
            strcmp(jstr(item, "type"), jstr(done, "type")))
            R_FAIL("output_item.done does not match the item at %zu", idx);
        json_array_set_new(k->output, idx, json_deep_copy(done));
        return 0;
    }
    if (!strncmp(t, "response.content_part.", 22) || !strncmp(t, "response.output_text.", 21)) {
        if (!(item = r_item_of(k, ev, "message")))
            R_FAIL("%s: item_id is not the message at output_index", t);
        json_t *content = json_object_get(item, "content");
        size_t ci = (size_t)json_integer_value(json_object_get(ev, "content_index"));
        if (!strcmp(t, "response.content_part.added")) {
            if (ci != json_array_size(content))
                R_FAIL("content_index %zu is not content.length", ci);
            json_array_append_new(content, json_deep_copy(json_object_get(ev, "part")));
            return 0;
        }
        json_t *part = json_array_get(content, ci);
        if (!part)
            R_FAIL("%s: no part %zu", t, ci);
        if (strcmp(t, "response.content_part.done") &&
            !json_is_array(json_object_get(ev, "logprobs")))
            R_FAIL("%s without logprobs", t);
        if (!strcmp(t, "response.output_text.delta"))
            append_to(part, "text", jstr(ev, "delta"));
        else if (!strcmp(t, "response.output_text.done") &&
                 strcmp(jstr(part, "text"), jstr(ev, "text")))
            R_FAIL("output_text.done text differs from the deltas");
        return 0;
    }
    if (!strncmp(t, "response.reasoning_summary_", 27)) {
        if (!(item = r_item_of(k, ev, "reasoning")))
            R_FAIL("%s: item_id is not the reasoning at output_index", t);
        json_t *summary = json_object_get(item, "summary");
        size_t si = (size_t)json_integer_value(json_object_get(ev, "summary_index"));
        if (!strcmp(t, "response.reasoning_summary_part.added")) {
            if (si != json_array_size(summary))
                R_FAIL("summary_index %zu is not summary.length", si);
            json_array_append_new(summary, json_deep_copy(json_object_get(ev, "part")));
            return 0;
        }
        json_t *part = json_array_get(summary, si);
        if (!part)
            R_FAIL("%s: no summary part %zu", t, si);
        if (!strcmp(t, "response.reasoning_summary_text.delta"))
            append_to(part, "text", jstr(ev, "delta"));
        else if (!strcmp(t, "response.reasoning_summary_text.done") &&
                 strcmp(jstr(part, "text"), jstr(ev, "text")))
            R_FAIL("summary text.done differs from the deltas");
        return 0;
    }
    if (!strncmp(t, "response.function_call_arguments.", 33)) {
        if (!(item = r_item_of(k, ev, "function_call")))
            R_FAIL("%s: item_id is not the function_call at output_index", t);
        if (!strcmp(t, "response.function_call_arguments.delta"))
            append_to(item, "arguments", jstr(ev, "delta"));
        else if (strcmp(jstr(item, "arguments"), jstr(ev, "arguments")) ||
                 strcmp(jstr(item, "name"), jstr(ev, "name")))
            R_FAIL("function_call_arguments.done differs from the deltas");
        return 0;
    }
    R_FAIL("unknown event %s", t);
}

/* Parses a whole Responses stream and applies the rules; 0 when all hold. */
static int r_check(const char *sse, struct r_check *k)
{
    k->events = json_array();
    k->output = json_array();
    k->violation[0] = '\0';
    const char *p = sse;
    while (*p) {
        const char *end = strstr(p, "\n\n");
        if (!end)
            R_FAIL("unterminated event");
        if (*p == ':') { /* a comment (keep-alive) */
            p = end + 2;
            continue;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (strncmp(p, "event: ", 7) || !nl || strncmp(nl + 1, "data: ", 6))
            R_FAIL("malformed event");
        json_t *ev = json_loadb(nl + 7, (size_t)(end - nl - 7), 0, NULL);
        if (!ev)
            R_FAIL("data is not JSON");
        json_array_append_new(k->events, ev);
        if ((size_t)(nl - p - 7) != strlen(jstr(ev, "type")) ||
            strncmp(p + 7, jstr(ev, "type"), (size_t)(nl - p - 7)))
            R_FAIL("event line and data type differ");
        if (json_integer_value(json_object_get(ev, "sequence_number")) !=
            (json_int_t)json_array_size(k->events) - 1)
            R_FAIL("sequence_number out of order");
        if (r_apply(k, ev))
            return -1;
        p = end + 2;
    }
    return 0;
}

static void r_check_free(struct r_check *k)
{
    json_decref(k->events);
    json_decref(k->output);
}

static const char *r_type(struct r_check *k, size_t i)
{
    return jstr(json_array_get(k->events, i), "type");
}

/* Checks the stream written so far; the events and items stay in k. */
static void r_check_out(struct r_check *k)
{
    char *s = take();
    int rc = r_check(s, k);
    if (rc)
        fprintf(stderr, "\nR stream violation: %s\n%s\n", k->violation, s);
    CU_ASSERT_EQUAL(rc, 0);
    free(s);
}

static int json_is(const json_t *got, const char *want)
{
    json_t *w = json_loads(want, 0, NULL);
    int eq = w && json_equal(got, w);
    if (!eq) {
        char *g = json_dumps(got, JSON_COMPACT);
        fprintf(stderr, "\n--- want\n%s\n--- got\n%s\n", want, g ? g : "(null)");
        free(g);
    }
    json_decref(w);
    return eq;
}

static int is_id(const char *s, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(s, prefix, n) == 0 && strlen(s) == n + 24 &&
           strspn(s + n, "0123456789abcdef") == 24;
}

/* 52: stream 49 to a Responses client: the exact event order, sequence
 * numbers 0..12, item ids consistent, the final response whole. */
static void test_r_stream_49(void)
{
    static const char *types[] = {
        "response.created", "response.in_progress", "response.output_item.added",
        "response.content_part.added", "response.output_text.delta", "response.output_text.done",
        "response.content_part.done", "response.output_item.done", "response.output_item.added",
        "response.function_call_arguments.delta", "response.function_call_arguments.done",
        "response.output_item.done", "response.completed",
    };
    setup(TR_FORMAT_R, TR_FORMAT_A, 1);
    feed_49();
    struct r_check k;
    r_check_out(&k);
    CU_ASSERT_EQUAL_FATAL(json_array_size(k.events), 13);
    for (size_t i = 0; i < 13; i++)
        CU_ASSERT_STRING_EQUAL(r_type(&k, i), types[i]);
    json_t *created = json_object_get(json_array_get(k.events, 0), "response");
    const char *msg_id = jstr(json_array_get(k.output, 0), "id");
    const char *fc_id = jstr(json_array_get(k.output, 1), "id");
    CU_ASSERT(is_id(msg_id, "msg_"));
    CU_ASSERT(is_id(fc_id, "fc_"));
    CU_ASSERT(json_is(created, "{\"id\":\"resp_msg_1\",\"object\":\"response\",\"created_at\":"
                               "1700000000,\"status\":\"in_progress\",\"incomplete_details\":null,"
                               "\"model\":\"claude-x\",\"output\":[],\"usage\":null,\"error\":null,"
                               "\"parallel_tool_calls\":true,\"tool_choice\":\"auto\","
                               "\"tools\":[]}"));
    char want[2048];
    snprintf(want, sizeof(want),
             "{\"type\":\"response.output_text.delta\",\"item_id\":\"%s\",\"output_index\":0,"
             "\"content_index\":0,\"delta\":\"Hi\",\"logprobs\":[],\"sequence_number\":4}",
             msg_id);
    CU_ASSERT(json_is(json_array_get(k.events, 4), want));
    snprintf(want, sizeof(want),
             "{\"type\":\"response.output_item.added\",\"output_index\":1,\"item\":{\"type\":"
             "\"function_call\",\"id\":\"%s\",\"status\":\"in_progress\",\"call_id\":\"toolu_1\","
             "\"name\":\"f\",\"arguments\":\"\"},\"sequence_number\":8}",
             fc_id);
    CU_ASSERT(json_is(json_array_get(k.events, 8), want));
    snprintf(want, sizeof(want),
             "{\"type\":\"response.function_call_arguments.done\",\"item_id\":\"%s\","
             "\"output_index\":1,\"name\":\"f\",\"arguments\":\"{\\\"a\\\":1}\","
             "\"sequence_number\":10}",
             fc_id);
    CU_ASSERT(json_is(json_array_get(k.events, 10), want));
    snprintf(want, sizeof(want),
             "{\"id\":\"resp_msg_1\",\"object\":\"response\",\"created_at\":1700000000,"
             "\"status\":\"completed\",\"incomplete_details\":null,\"model\":\"claude-x\","
             "\"output\":[{\"type\":\"message\",\"id\":\"%s\",\"status\":\"completed\",\"role\":"
             "\"assistant\",\"content\":[{\"type\":\"output_text\",\"text\":\"Hi\","
             "\"annotations\":[],\"logprobs\":[]}]},{\"type\":\"function_call\",\"id\":\"%s\","
             "\"status\":\"completed\",\"call_id\":\"toolu_1\",\"name\":\"f\",\"arguments\":"
             "\"{\\\"a\\\":1}\"}],\"usage\":{\"input_tokens\":30,\"input_tokens_details\":"
             "{\"cached_tokens\":5,\"cache_write_tokens\":0},\"output_tokens\":9,"
             "\"output_tokens_details\":{\"reasoning_tokens\":0},\"total_tokens\":39},"
             "\"error\":null,\"parallel_tool_calls\":true,\"tool_choice\":\"auto\",\"tools\":[]}",
             msg_id, fc_id);
    CU_ASSERT(json_is(json_object_get(json_array_get(k.events, 12), "response"), want));
    /* The accumulated items equal the final response's. */
    CU_ASSERT(json_equal(k.output, json_object_get(json_object_get(json_array_get(k.events, 12),
                                                                   "response"),
                                                   "output")));
    r_check_free(&k);
    teardown();
}

/* 53: max tokens ends with response.incomplete, never completed. */
static void test_r_stream_incomplete(void)
{
    setup(TR_FORMAT_R, TR_FORMAT_A, 1);
    ev_start("resp_9", "m");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "x");
    ev_close(0);
    ev_finish(TR_STOP_MAX_TOKENS, 1, 0, 0, 1);
    struct r_check k;
    r_check_out(&k);
    size_t n = json_array_size(k.events);
    CU_ASSERT_STRING_EQUAL(r_type(&k, n - 1), "response.incomplete");
    json_t *resp = json_object_get(json_array_get(k.events, n - 1), "response");
    CU_ASSERT_STRING_EQUAL(jstr(resp, "id"), "resp_9"); /* already prefixed */
    CU_ASSERT_STRING_EQUAL(jstr(resp, "status"), "incomplete");
    CU_ASSERT(json_is(json_object_get(resp, "incomplete_details"),
                      "{\"reason\":\"max_output_tokens\"}"));
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_STRING_NOT_EQUAL(r_type(&k, i), "response.completed");
    r_check_free(&k);
    teardown();
}

/* 54: an error after a text delta: response.failed with the output so far. */
static void test_r_stream_failed(void)
{
    setup(TR_FORMAT_R, TR_FORMAT_A, 1);
    ev_start("msg_1", "m");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "Hi");
    ev_error(TR_ERR_API, NULL, "upstream stream interrupted");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    struct r_check k;
    r_check_out(&k);
    size_t n = json_array_size(k.events);
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_STRING_EQUAL(r_type(&k, n - 1), "response.failed");
    json_t *resp = json_object_get(json_array_get(k.events, n - 1), "response");
    CU_ASSERT_STRING_EQUAL(jstr(resp, "status"), "failed");
    CU_ASSERT(json_is(json_object_get(resp, "error"),
                      "{\"code\":\"server_error\",\"message\":\"upstream stream interrupted\"}"));
    json_t *item = json_array_get(json_object_get(resp, "output"), 0);
    CU_ASSERT_EQUAL(json_array_size(json_object_get(resp, "output")), 1);
    CU_ASSERT_STRING_EQUAL(jstr(item, "status"), "in_progress");
    CU_ASSERT_STRING_EQUAL(
        jstr(json_array_get(json_object_get(item, "content"), 0), "text"), "Hi");
    r_check_free(&k);
    teardown();
    /* Overload: the code a Codex client reacts to. */
    setup(TR_FORMAT_R, TR_FORMAT_A, 1);
    ev_error(TR_ERR_OVERLOADED, "overloaded_error", "Overloaded");
    r_check_out(&k);
    CU_ASSERT_EQUAL(json_array_size(k.events), 1);
    CU_ASSERT(json_is(json_object_get(json_object_get(json_array_get(k.events, 0), "response"),
                                      "error"),
                      "{\"code\":\"server_is_overloaded\",\"message\":\"Overloaded\"}"));
    r_check_free(&k);
    teardown();
}

/* 55: a custom tool is a custom_tool_call from OPEN on, with no
 * function_call_arguments events, and its input unwrapped at CLOSE. */
static void test_r_stream_custom_tool(void)
{
    setup(TR_FORMAT_R, TR_FORMAT_A, 1);
    CU_ASSERT_EQUAL(tr_ctx_add_custom_tool(&ctx, "apply_patch"), 0);
    ev_start("msg_1", "m");
    ev_tool(0, "toolu_9", "apply_patch");
    ev_delta(0, "{\"input\":");
    ev_delta(0, "\"P\"}");
    ev_close(0);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    struct r_check k;
    r_check_out(&k);
    CU_ASSERT_EQUAL_FATAL(json_array_size(k.events), 5);
    CU_ASSERT_STRING_EQUAL(r_type(&k, 2), "response.output_item.added");
    CU_ASSERT_STRING_EQUAL(r_type(&k, 3), "response.output_item.done");
    CU_ASSERT_STRING_EQUAL(r_type(&k, 4), "response.completed");
    const char *id = jstr(json_array_get(k.output, 0), "id");
    CU_ASSERT(is_id(id, "ctc_"));
    char want[512];
    snprintf(want, sizeof(want),
             "{\"type\":\"custom_tool_call\",\"id\":\"%s\",\"call_id\":\"toolu_9\",\"name\":"
             "\"apply_patch\",\"input\":\"\"}",
             id);
    CU_ASSERT(json_is(json_object_get(json_array_get(k.events, 2), "item"), want));
    snprintf(want, sizeof(want),
             "{\"type\":\"custom_tool_call\",\"id\":\"%s\",\"call_id\":\"toolu_9\",\"name\":"
             "\"apply_patch\",\"input\":\"P\",\"status\":\"completed\"}",
             id);
    CU_ASSERT(json_is(json_object_get(json_array_get(k.events, 3), "item"), want));
    r_check_free(&k);
    teardown();
}

/* Thinking from an Anthropic wire: a reasoning item with a summary part and
 * the signature carried as zend1.a.<S>; redacted data as zend1.ar.<D>; a
 * Chat wire's reasoning as zend1.c. Keep-alives are comments. */
static void test_r_stream_reasoning(void)
{
    setup(TR_FORMAT_R, TR_FORMAT_A, 1);
    ev_start("msg_1", "m");
    ev_keepalive();
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "th");
    ev_delta(0, "ink");
    ev_sig(0, "S1");
    ev_close(0);
    ev_open(1, TR_BLOCK_REDACTED);
    ev_delta(1, "DATA");
    ev_close(1);
    ev_finish(TR_STOP_END_TURN, 3, 0, 0, 4);
    char *s = take();
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n\n: keep-alive\n\nevent: "));
    zbuf_append_str(&out, s);
    free(s);
    struct r_check k;
    r_check_out(&k);
    CU_ASSERT_EQUAL_FATAL(json_array_size(k.events), 12);
    CU_ASSERT_STRING_EQUAL(r_type(&k, 3), "response.reasoning_summary_part.added");
    CU_ASSERT_STRING_EQUAL(r_type(&k, 6), "response.reasoning_summary_text.done");
    CU_ASSERT_STRING_EQUAL(r_type(&k, 7), "response.reasoning_summary_part.done");
    const char *rs = jstr(json_array_get(k.output, 0), "id");
    const char *rs2 = jstr(json_array_get(k.output, 1), "id");
    CU_ASSERT(is_id(rs, "rs_"));
    CU_ASSERT(is_id(rs2, "rs_"));
    CU_ASSERT_STRING_NOT_EQUAL(rs, rs2);
    char want[512];
    snprintf(want, sizeof(want),
             "[{\"type\":\"reasoning\",\"id\":\"%s\",\"summary\":[{\"type\":\"summary_text\","
             "\"text\":\"think\"}],\"encrypted_content\":\"zend1.a.S1\"},{\"type\":\"reasoning\","
             "\"id\":\"%s\",\"summary\":[],\"encrypted_content\":\"zend1.ar.DATA\"}]",
             rs, rs2);
    CU_ASSERT(json_is(k.output, want));
    r_check_free(&k);
    teardown();

    setup(TR_FORMAT_R, TR_FORMAT_C, 1);
    ev_start("c", "m");
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "r");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    r_check_out(&k);
    CU_ASSERT_STRING_EQUAL(jstr(json_array_get(k.output, 0), "encrypted_content"), "zend1.c");
    r_check_free(&k);
    teardown();
}

/* Items in progress together (interleaved tools) keep their own ids and
 * indexes; the checker sees every delta land on the right item. */
static void test_r_stream_interleaved(void)
{
    setup(TR_FORMAT_R, TR_FORMAT_C, 1);
    ev_start("c", "m");
    ev_tool(0, "a", "f");
    ev_tool(1, "b", "g");
    ev_delta(0, "{\"a\":");
    ev_delta(1, "{\"b\":2}");
    ev_delta(0, "1}");
    ev_close(1);
    ev_close(0);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    struct r_check k;
    r_check_out(&k);
    CU_ASSERT_STRING_EQUAL(jstr(json_array_get(k.output, 0), "arguments"), "{\"a\":1}");
    CU_ASSERT_STRING_EQUAL(jstr(json_array_get(k.output, 1), "arguments"), "{\"b\":2}");
    CU_ASSERT_STRING_EQUAL(jstr(json_array_get(k.output, 1), "call_id"), "b");
    r_check_free(&k);
    teardown();
}

/* The checker itself catches a broken stream (a wrong item_id). */
static void test_r_checker_catches(void)
{
    struct r_check k;
    const char *bad =
        "event: response.output_item.added\ndata: {\"type\":\"response.output_item.added\","
        "\"output_index\":0,\"item\":{\"type\":\"message\",\"id\":\"msg_a\",\"content\":[]},"
        "\"sequence_number\":0}\n\n"
        "event: response.content_part.added\ndata: {\"type\":\"response.content_part.added\","
        "\"item_id\":\"msg_b\",\"output_index\":0,\"content_index\":0,\"part\":{},"
        "\"sequence_number\":1}\n\n";
    CU_ASSERT_EQUAL(r_check(bad, &k), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(k.violation, "item_id"));
    r_check_free(&k);
}

/* ---- JSON mode ---- */

/* 25: a Chat answer to an Anthropic client. */
static void test_json_a(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 0);
    ev_start("chatcmpl-9", "gpt-test");
    ev_keepalive();
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "r");
    ev_close(0);
    ev_open(1, TR_BLOCK_TEXT);
    ev_delta(1, "Hi");
    ev_close(1);
    ev_open(2, TR_BLOCK_TEXT); /* empty text is omitted */
    ev_close(2);
    ev_tool(3, "call_1", "f");
    ev_delta(3, "{\"x\":1}");
    ev_close(3);
    EXPECT(""); /* nothing before FINISH, keep-alive included */
    ev_finish(TR_STOP_TOOL_USE, 100, 80, 0, 20);
    EXPECT("{\"id\":\"chatcmpl-9\",\"type\":\"message\",\"role\":\"assistant\",\"model\":"
           "\"gpt-test\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"r\",\"signature\":"
           "\"zend1.c\"},{\"type\":\"text\",\"text\":\"Hi\"},{\"type\":\"tool_use\",\"id\":"
           "\"call_1\",\"name\":\"f\",\"input\":{\"x\":1}}],\"stop_reason\":\"tool_use\","
           "\"stop_sequence\":null,\"usage\":{\"input_tokens\":20,\"output_tokens\":20,"
           "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":80}}");
    teardown();
}

/* 27: tool args repaired for an object-only client; 41: ids sanitised;
 * names restored; content always present; redacted thinking kept. */
static void test_json_a_args_repair(void)
{
    static const char *args[] = {"", "\"{\\\"a\\\":1}\"", "{bad", "[1]", "\"plain\""};
    static const char *want[] = {"{}", "{\"a\":1}", "{}", "{}", "{}"};
    for (size_t i = 0; i < 5; i++) {
        setup(TR_FORMAT_A, TR_FORMAT_C, 0);
        ev_start("x", "m");
        ev_tool(0, "call:1", "f");
        ev_delta(0, args[i]);
        ev_close(0);
        ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
        char *s = take();
        json_t *j = json_loads(s, 0, NULL);
        json_t *tu = json_array_get(json_object_get(j, "content"), 0);
        CU_ASSERT(json_is(json_object_get(tu, "input"), want[i]));
        CU_ASSERT_STRING_EQUAL(jstr(tu, "id"), "call_1");
        json_decref(j);
        free(s);
        teardown();
    }
    setup(TR_FORMAT_A, TR_FORMAT_C, 0);
    CU_ASSERT_EQUAL(tr_ctx_add_name(&ctx, "w1", "long_client"), 0);
    ev_start(NULL, NULL);
    ev_open(0, TR_BLOCK_REDACTED);
    ev_delta(0, "D");
    ev_close(0);
    ev_tool(1, "t", "w1");
    ev_close(1);
    ev_finish(TR_STOP_END_TURN, 10, 30, 0, 1);
    char *s = take();
    json_t *j = json_loads(s, 0, NULL);
    CU_ASSERT(json_is(json_object_get(j, "content"),
                      "[{\"type\":\"redacted_thinking\",\"data\":\"D\"},{\"type\":\"tool_use\","
                      "\"id\":\"t\",\"name\":\"long_client\",\"input\":{}}]"));
    CU_ASSERT_STRING_EQUAL(jstr(j, "stop_reason"), "tool_use"); /* adjusted */
    CU_ASSERT_STRING_EQUAL(jstr(j, "model"), "zend-model");
    CU_ASSERT(is_id(jstr(j, "id"), "msg_"));
    CU_ASSERT(json_is(json_object_get(j, "usage"),
                      "{\"input_tokens\":0,\"output_tokens\":1,\"cache_creation_input_tokens\":0,"
                      "\"cache_read_input_tokens\":30}"));
    json_decref(j);
    free(s);
    teardown();
    /* No block at all: content is still there, empty. */
    setup(TR_FORMAT_A, TR_FORMAT_C, 0);
    ev_start("x", "m");
    ev_finish(TR_STOP_END_TURN, -1, 0, 0, -1);
    EXPECT("{\"id\":\"x\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"m\",\"content\":"
           "[],\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"usage\":{\"input_tokens\":0,"
           "\"output_tokens\":0,\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}");
    teardown();
}

/* 31: a Responses answer with only a call: tool_use, one block. */
static void test_json_a_from_r(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_R, 0);
    ev_start("resp_1", "gpt");
    ev_tool(0, "c", "get_weather");
    ev_delta(0, "{}");
    ev_close(0);
    ev_finish(TR_STOP_END_TURN, 5, 0, 0, 2);
    char *s = take();
    json_t *j = json_loads(s, 0, NULL);
    CU_ASSERT_STRING_EQUAL(jstr(j, "stop_reason"), "tool_use");
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "content")), 1);
    CU_ASSERT(json_is(json_object_get(j, "content"),
                      "[{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"get_weather\","
                      "\"input\":{}}]"));
    json_decref(j);
    free(s);
    teardown();
}

/* 29: an Anthropic answer to a Chat client: texts joined, usage with total
 * and cached tokens. */
static void test_json_c(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 0);
    ev_start("msg_1", "claude-x");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "a");
    ev_close(0);
    ev_tool(1, "toolu_1", "f");
    ev_delta(1, "{}");
    ev_close(1);
    ev_open(2, TR_BLOCK_TEXT);
    ev_delta(2, "b");
    ev_close(2);
    ev_error(TR_ERR_API, NULL, "ignored"); /* JSON mode: the caller answers errors */
    EXPECT("");
    teardown();

    setup(TR_FORMAT_C, TR_FORMAT_A, 0);
    ev_start("msg_1", "claude-x");
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "a");
    ev_close(0);
    ev_tool(1, "toolu_1", "f");
    ev_delta(1, "{}");
    ev_close(1);
    ev_open(2, TR_BLOCK_TEXT);
    ev_delta(2, "b");
    ev_close(2);
    ev_finish(TR_STOP_TOOL_USE, 105, 90, 5, 7);
    EXPECT("{\"id\":\"msg_1\",\"object\":\"chat.completion\",\"created\":1700000000,\"model\":"
           "\"claude-x\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
           "\"content\":\"ab\",\"tool_calls\":[{\"id\":\"toolu_1\",\"type\":\"function\","
           "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]},\"logprobs\":null,"
           "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":105,"
           "\"completion_tokens\":7,\"total_tokens\":112,\"prompt_tokens_details\":"
           "{\"cached_tokens\":90}}}");
    teardown();
}

/* No text: content null; thinking as reasoning_content; empty args "{}";
 * no upstream id: chatcmpl- + 24 hex. */
static void test_json_c_null_content(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 0);
    ev_start("", "");
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "t1");
    ev_close(0);
    ev_open(1, TR_BLOCK_THINKING);
    ev_delta(1, "t2");
    ev_close(1);
    ev_tool(2, "k", "f");
    ev_close(2);
    ev_finish(TR_STOP_TOOL_USE, -1, 0, 0, -1);
    char *s = take();
    json_t *j = json_loads(s, 0, NULL);
    CU_ASSERT(is_id(jstr(j, "id"), "chatcmpl-"));
    CU_ASSERT_STRING_EQUAL(jstr(j, "model"), "zend-model");
    json_t *msg = json_object_get(json_array_get(json_object_get(j, "choices"), 0), "message");
    CU_ASSERT(json_is(msg, "{\"role\":\"assistant\",\"content\":null,\"reasoning_content\":"
                           "\"t1t2\",\"tool_calls\":[{\"id\":\"k\",\"type\":\"function\","
                           "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}"));
    json_decref(j);
    free(s);
    teardown();
}

/* 30: an Anthropic answer to a Responses client: incomplete at max tokens,
 * reasoning first with the signature carried, the call as function_call;
 * adjacent texts merged into one message item; custom tools with
 * {"input":...} args as custom_tool_call. */
static void test_json_r(void)
{
    setup(TR_FORMAT_R, TR_FORMAT_A, 0);
    CU_ASSERT_EQUAL(tr_ctx_add_custom_tool(&ctx, "apply_patch"), 0);
    ev_start("msg_1", "claude-x");
    ev_open(0, TR_BLOCK_THINKING);
    ev_delta(0, "t");
    ev_sig(0, "S");
    ev_close(0);
    ev_open(1, TR_BLOCK_TEXT);
    ev_delta(1, "a");
    ev_close(1);
    ev_open(2, TR_BLOCK_TEXT);
    ev_delta(2, "b");
    ev_close(2);
    ev_tool(3, "toolu_1", "f");
    ev_close(3);
    ev_tool(4, "toolu_2", "apply_patch");
    ev_delta(4, "{\"input\":\"P\"}");
    ev_close(4);
    ev_tool(5, "toolu_3", "apply_patch"); /* not {"input":string}: a function_call */
    ev_delta(5, "{\"x\":1}");
    ev_close(5);
    ev_finish(TR_STOP_MAX_TOKENS, 30, 5, 2, 9);
    char *s = take();
    json_t *j = json_loads(s, 0, NULL);
    json_t *o = json_object_get(j, "output");
    CU_ASSERT_EQUAL_FATAL(json_array_size(o), 5);
    const char *ids[5];
    static const char *prefix[5] = {"rs_", "msg_", "fc_", "ctc_", "fc_"};
    for (size_t i = 0; i < 5; i++) {
        ids[i] = jstr(json_array_get(o, i), "id");
        CU_ASSERT(is_id(ids[i], prefix[i]));
    }
    char want[4096];
    snprintf(want, sizeof(want),
             "{\"id\":\"resp_msg_1\",\"object\":\"response\",\"created_at\":1700000000,"
             "\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
             "\"model\":\"claude-x\",\"output\":["
             "{\"type\":\"reasoning\",\"id\":\"%s\",\"summary\":[{\"type\":\"summary_text\","
             "\"text\":\"t\"}],\"encrypted_content\":\"zend1.a.S\"},"
             "{\"type\":\"message\",\"id\":\"%s\",\"status\":\"completed\",\"role\":\"assistant\","
             "\"content\":[{\"type\":\"output_text\",\"text\":\"ab\",\"annotations\":[],"
             "\"logprobs\":[]}]},"
             "{\"type\":\"function_call\",\"id\":\"%s\",\"status\":\"completed\",\"call_id\":"
             "\"toolu_1\",\"name\":\"f\",\"arguments\":\"{}\"},"
             "{\"type\":\"custom_tool_call\",\"id\":\"%s\",\"call_id\":\"toolu_2\",\"name\":"
             "\"apply_patch\",\"input\":\"P\",\"status\":\"completed\"},"
             "{\"type\":\"function_call\",\"id\":\"%s\",\"status\":\"completed\",\"call_id\":"
             "\"toolu_3\",\"name\":\"apply_patch\",\"arguments\":\"{\\\"x\\\":1}\"}],"
             "\"usage\":{\"input_tokens\":30,\"input_tokens_details\":{\"cached_tokens\":5,"
             "\"cache_write_tokens\":2},\"output_tokens\":9,\"output_tokens_details\":"
             "{\"reasoning_tokens\":0},\"total_tokens\":39},\"error\":null,"
             "\"parallel_tool_calls\":true,\"tool_choice\":\"auto\",\"tools\":[]}",
             ids[0], ids[1], ids[2], ids[3], ids[4]);
    CU_ASSERT(json_is(j, want));
    json_decref(j);
    free(s);
    teardown();
}

/* Refusal is incomplete with content_filter; end_turn is completed; the same
 * seed gives the same bytes. */
static void test_json_r_status(void)
{
    char *first = NULL;
    for (int round = 0; round < 2; round++) {
        setup(TR_FORMAT_R, TR_FORMAT_C, 0);
        ev_start("", "");
        ev_open(0, TR_BLOCK_TEXT);
        ev_delta(0, "no");
        ev_close(0);
        ev_finish(TR_STOP_REFUSAL, -1, 0, 0, -1);
        char *s = take();
        if (!first) {
            first = s;
        } else {
            CU_ASSERT_STRING_EQUAL(first, s);
            free(s);
        }
        teardown();
    }
    json_t *j = json_loads(first, 0, NULL);
    CU_ASSERT(is_id(jstr(j, "id"), "resp_"));
    CU_ASSERT_STRING_EQUAL(jstr(j, "status"), "incomplete");
    CU_ASSERT(json_is(json_object_get(j, "incomplete_details"), "{\"reason\":\"content_filter\"}"));
    json_decref(j);
    free(first);

    setup(TR_FORMAT_R, TR_FORMAT_C, 0);
    ev_start("abc", "m");
    ev_finish(TR_STOP_STOP_SEQ, -1, 0, 0, -1);
    char *s = take();
    j = json_loads(s, 0, NULL);
    CU_ASSERT_STRING_EQUAL(jstr(j, "id"), "resp_abc");
    CU_ASSERT_STRING_EQUAL(jstr(j, "status"), "completed");
    CU_ASSERT(json_is_null(json_object_get(j, "incomplete_details")));
    CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "output")), 0);
    json_decref(j);
    free(s);
    teardown();
}

/* Invalid UTF-8 in a fragment does not lose the event: the bad byte becomes
 * U+FFFD. */
static void test_invalid_utf8(void)
{
    setup(TR_FORMAT_C, TR_FORMAT_A, 1);
    ev_start("msg_1", "claude-x");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "a\xff" "b");
    EXPECT(C_D("{\"content\":\"a\xef\xbf\xbd" "b\"}"));
    teardown();
}

void register_tests(void)
{
    CU_pSuite a = CU_add_suite("tr_encode_a_stream", NULL, NULL);
    TU_ADD(a, test_a_stream_text);
    TU_ADD(a, test_a_stream_no_usage);
    TU_ADD(a, test_a_stream_text_then_tool);
    TU_ADD(a, test_a_stream_parallel_sequential);
    TU_ADD(a, test_a_stream_interleaved);
    TU_ADD(a, test_a_stream_closed_behind_head);
    TU_ADD(a, test_a_stream_two_tools_sanitised);
    TU_ADD(a, test_a_stream_combined);
    TU_ADD(a, test_a_stream_stop_adjusted);
    TU_ADD(a, test_a_stream_thinking);
    TU_ADD(a, test_a_stream_names_and_usage);
    TU_ADD(a, test_a_stream_error);
    TU_ADD(a, test_a_stream_ping_first);
    TU_ADD(a, test_a_stream_redacted);
    TU_ADD(a, test_a_stream_invented_id);
    CU_pSuite c = CU_add_suite("tr_encode_c_stream", NULL, NULL);
    TU_ADD(c, test_c_stream_usage);
    TU_ADD(c, test_c_stream_no_usage_keepalive);
    TU_ADD(c, test_c_stream_reasoning_tools);
    TU_ADD(c, test_c_stream_error);
    TU_ADD(c, test_c_stream_finish_reasons);
    TU_ADD(c, test_invalid_utf8);
    CU_pSuite r = CU_add_suite("tr_encode_r_stream", NULL, NULL);
    TU_ADD(r, test_r_stream_49);
    TU_ADD(r, test_r_stream_incomplete);
    TU_ADD(r, test_r_stream_failed);
    TU_ADD(r, test_r_stream_custom_tool);
    TU_ADD(r, test_r_stream_reasoning);
    TU_ADD(r, test_r_stream_interleaved);
    TU_ADD(r, test_r_checker_catches);
    CU_pSuite j = CU_add_suite("tr_encode_json", NULL, NULL);
    TU_ADD(j, test_json_a);
    TU_ADD(j, test_json_a_args_repair);
    TU_ADD(j, test_json_a_from_r);
    TU_ADD(j, test_json_c);
    TU_ADD(j, test_json_c_null_content);
    TU_ADD(j, test_json_r);
    TU_ADD(j, test_json_r_status);
}
