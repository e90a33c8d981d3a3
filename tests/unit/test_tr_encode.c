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

/* A stop sequence is reported as it is, in the stream and the JSON body. */
static void test_a_stop_sequence(void)
{
    for (int sse = 1; sse >= 0; sse--) {
        setup(TR_FORMAT_A, TR_FORMAT_C, sse);
        ev_start("c1", "g");
        zbuf_clear(&out);
        struct tr_event ev = {.kind = TR_EV_FINISH, .stop = TR_STOP_STOP_SEQ,
                              .stop_sequence = "###x", .stop_sequence_len = 3};
        feed(&ev);
        if (sse)
            EXPECT(EV("message_delta",
                      "{\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\","
                      "\"stop_sequence\":\"###\"},\"usage\":{\"input_tokens\":0,\"output_tokens\":0,"
                      "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}")
                       EV("message_stop", "{\"type\":\"message_stop\"}"));
        else
            EXPECT("{\"id\":\"c1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"g\","
                   "\"content\":[],\"stop_reason\":\"stop_sequence\",\"stop_sequence\":\"###\","
                   "\"usage\":{\"input_tokens\":0,\"output_tokens\":0,"
                   "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":0}}");
        teardown();
    }
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

#include "test_tr_encode_r.inc"
#include "test_tr_encode_json.inc"

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

/* Anthropic deltas are written straight from the bytes: escapes, control
 * characters, a NUL and non-ASCII text come out as jansson writes them, and
 * invalid UTF-8 still becomes U+FFFD (the tree path). */
static void test_a_delta_bytes(void)
{
    setup(TR_FORMAT_A, TR_FORMAT_C, 1);
    ev_start("c1", "g");
    zbuf_clear(&out);
    ev_open(0, TR_BLOCK_TEXT);
    ev_delta(0, "q\"b\\s/\n\t\x01\x1f caf\xc3\xa9 \xf0\x9f\x98\x80");
    struct tr_event nul = {.kind = TR_EV_DELTA, .block = 0, .text = "a\0b", .text_len = 3};
    feed(&nul);
    ev_delta(0, "x\xc3(");
    EXPECT(A_START_TEXT(0) A_DTEXT(0, "q\\\"b\\\\s/\\n\\t\\u0001\\u001F caf\xc3\xa9 \xf0\x9f\x98\x80")
               A_DTEXT(0, "a\\u0000b") A_DTEXT(0, "x\xef\xbf\xbd("));
    zbuf_clear(&out);
    ev_close(0);
    ev_tool(1, "call_1", "f");
    ev_delta(1, "{\"a\":");
    EXPECT(A_STOP(0) A_START_TOOL(1, "call_1", "f") A_DJSON(1, "{\\\"a\\\":"));
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
    TU_ADD(a, test_a_stop_sequence);
    TU_ADD(a, test_a_stream_error);
    TU_ADD(a, test_a_stream_ping_first);
    TU_ADD(a, test_a_stream_redacted);
    TU_ADD(a, test_a_stream_invented_id);
    TU_ADD(a, test_a_delta_bytes);
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
    TU_ADD(r, test_r_stream_empty_args);
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
