/* Unit tests for zend/forward/sse.c: every end marker, every way of splitting it,
 * the look-alikes that must not count, long lines, and randomised streams
 * checked against a plain, non-incremental reference implementation. */
#include "sse.h"

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "testutil.h"

/* Fixed seed: a failure reproduces. */
#define SSE_TEST_SEED 0x5eed5eedULL
#define RANDOM_STREAMS 4000
#define RANDOM_TOKENS_MAX 48
#define RANDOM_BYTES_MAX 2048
#define RANDOM_BYTE_INPUTS 3000
#define LONG_LINE_BYTES (100u * 1024)
#define LONG_LINE_CHUNK 4096

/* xorshift64: deterministic on every libc, unlike rand(). */
/* ---- feeding helpers ---- */

static int feed_whole(const char *s, size_t n)
{
    struct sse_detector d;
    sse_detector_init(&d);
    sse_detector_feed(&d, s, n);
    return sse_detector_complete(&d);
}

static int feed_bytewise(const char *s, size_t n)
{
    struct sse_detector d;
    sse_detector_init(&d);
    for (size_t i = 0; i < n; i++)
        sse_detector_feed(&d, s + i, 1);
    return sse_detector_complete(&d);
}

static int feed_split_at(const char *s, size_t n, size_t at)
{
    struct sse_detector d;
    sse_detector_init(&d);
    sse_detector_feed(&d, s, at);
    sse_detector_feed(&d, s + at, n - at);
    return sse_detector_complete(&d);
}

static int feed_random_chunks(const char *s, size_t n, size_t max_chunk)
{
    struct sse_detector d;
    sse_detector_init(&d);
    size_t i = 0;
    while (i < n) {
        size_t c = 1 + tu_rng_below(max_chunk);
        if (c > n - i)
            c = n - i;
        sse_detector_feed(&d, s + i, c);
        i += c;
    }
    return sse_detector_complete(&d);
}

/* The same answer whole, byte by byte, at every single split, and in
 * random chunks. */
static void expect_stream(const char *s, int want)
{
    size_t n = strlen(s);
    int got = feed_whole(s, n);
    if (got != want)
        fprintf(stderr, "\n  expected %s for: %s\n", want ? "complete" : "incomplete", s);
    CU_ASSERT_EQUAL(got, want);
    CU_ASSERT_EQUAL(feed_bytewise(s, n), want);
    for (size_t at = 0; at <= n; at++)
        CU_ASSERT_EQUAL(feed_split_at(s, n, at), want);
    for (int round = 0; round < 20; round++)
        CU_ASSERT_EQUAL(feed_random_chunks(s, n, 7), want);
}

/* ---- hand-picked streams ---- */

static const char anthropic_head[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"model\":\"claude-sonnet-4-5\","
    "\"stop_reason\":null,\"usage\":{\"input_tokens\":10,\"output_tokens\":1}}}\n"
    "\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n"
    "\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n"
    "\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Hello\"}}\n"
    "\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n"
    "\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}\n"
    "\n";

static void test_anthropic_stream(void)
{
    char buf[4096];
    expect_stream(anthropic_head, 0);
    snprintf(buf, sizeof(buf), "%sevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
             anthropic_head);
    expect_stream(buf, 1);
    /* Either half of the final event is enough on its own. */
    snprintf(buf, sizeof(buf), "%sevent: message_stop\n", anthropic_head);
    expect_stream(buf, 1);
    snprintf(buf, sizeof(buf), "%sdata: {\"type\":\"message_stop\"}\n", anthropic_head);
    expect_stream(buf, 1);
    /* Cut inside the marker line: not complete. */
    snprintf(buf, sizeof(buf), "%sevent: message_st", anthropic_head);
    expect_stream(buf, 0);
    snprintf(buf, sizeof(buf), "%sdata: {\"type\":\"message_st", anthropic_head);
    expect_stream(buf, 0);
}

static const char openai_head[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n"
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hi\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n";

static void test_openai_chat_stream(void)
{
    char buf[4096];
    expect_stream(openai_head, 0);
    snprintf(buf, sizeof(buf),
             "%sdata: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{},"
             "\"finish_reason\":\"stop\"}]}\n\n",
             openai_head);
    expect_stream(buf, 1);
    snprintf(buf, sizeof(buf), "%sdata: [DONE]\n\n", openai_head);
    expect_stream(buf, 1);
    /* Usage chunk after the reason (stream_options.include_usage). */
    snprintf(buf, sizeof(buf),
             "%sdata: {\"choices\":[],\"usage\":{\"total_tokens\":9}}\n\n", openai_head);
    expect_stream(buf, 0);
}

static void test_done_and_event_line_forms(void)
{
    expect_stream("data: [DONE]\n", 1);
    expect_stream("data:[DONE]\n", 1);
    expect_stream("data: [DONE]\r\n", 1);
    expect_stream("data: [DONE]\r", 1);
    expect_stream("data: [DONE]  \t\n", 1);
    expect_stream("event: message_stop\n", 1);
    expect_stream("event:message_stop\r\n", 1);
    expect_stream("event: response.completed\n", 1);
    expect_stream("event: response.completed\r\ndata: {\"type\":\"response.completed\"}\r\n", 1);
    /* Only whole, ended lines count. */
    expect_stream("data: [DONE]", 0);
    expect_stream("event: message_stop", 0);
    expect_stream("data: [DONE]x\n", 0);
    expect_stream("data: [DONE] [DONE]\n", 0);
    expect_stream("data:  [DONE]\n", 0); /* two spaces: the value is " [DONE]" */
    expect_stream("data [DONE]\n", 0);
    expect_stream(" data: [DONE]\n", 0);
    expect_stream("DATA: [DONE]\n", 0);
    expect_stream("event: message_stopped\n", 0);
    expect_stream("event: message_start\n", 0);
    expect_stream("event: response.completed.not\n", 0);
    expect_stream("event: response.created\n", 0);
    expect_stream(": event: message_stop\n", 0);       /* a comment */
    expect_stream("id: message_stop\n", 0);
    expect_stream("data: message_stop\n", 0);
    expect_stream("event: [DONE]\n", 0);
    expect_stream("data: event: message_stop\n", 0);
    expect_stream("\n\n\r\n\r\r", 0);
    expect_stream("", 0);
}

static void test_json_markers(void)
{
    expect_stream("data: {\"type\":\"message_stop\"}\n", 1);
    expect_stream("data: {\"type\" : \"message_stop\" }\n", 1);
    expect_stream("data: {\"a\":1,\"type\":\t\"message_stop\"}\n", 1);
    expect_stream("data: {\"type\":\"response.completed\",\"response\":{}}\n", 1);
    expect_stream("data: {\"choices\":[{\"finish_reason\":\"stop\"}]}\n", 1);
    expect_stream("data: {\"choices\":[{\"finish_reason\" :  \"length\"}]}\n", 1);
    expect_stream("data: {\"choices\":[{\"finish_reason\":\"tool_calls\",\"index\":0}]}\n", 1);
    expect_stream("data: {\"choices\":[{\"finish_reason\":1}]}\n", 1);
    /* Seen as soon as the value starts, even if the line is then cut. */
    expect_stream("data: {\"choices\":[{\"finish_reason\":\"s", 1);
    expect_stream("data: {\"type\":\"message_stop\"", 1);
}

static void test_json_lookalikes(void)
{
    expect_stream("data: {\"choices\":[{\"finish_reason\":null}]}\n\n", 0);
    expect_stream("data: {\"choices\":[{\"finish_reason\" : null }]}\n\n", 0);
    expect_stream("data: {\"choices\":[{\"finish_reason\":\"\"}]}\n\n", 0);
    expect_stream("data: {\"type\":\"message_stopped\"}\n", 0);
    expect_stream("data: {\"type\":\"message_start\"}\n", 0);
    expect_stream("data: {\"type\":\"response.completed_partial\"}\n", 0);
    expect_stream("data: {\"type\":\"response.output_text.delta\"}\n", 0);
    expect_stream("data: {\"subtype\":\"message_stop\"}\n", 0);
    expect_stream("data: {\"types\":\"message_stop\"}\n", 0);
    expect_stream("data: {\"type\":[\"message_stop\"]}\n", 0);
    expect_stream("data: {\"stop_reason\":\"end_turn\"}\n", 0);
    expect_stream("data: {\"x_finish_reason\":\"stop\"}\n", 0);
    expect_stream("data: {\"finish_reasons\":\"stop\"}\n", 0);
    expect_stream("data: [\"type\",\"message_stop\"]\n", 0);
    /* Model output that talks about the markers is escaped JSON. */
    expect_stream("data: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\","
                  "\"text\":\"{\\\"type\\\":\\\"message_stop\\\"} and "
                  "\\\"finish_reason\\\":\\\"stop\\\" and data: [DONE]\"}}\n\n",
                  0);
    /* Outside a data line JSON means nothing. */
    expect_stream("id: {\"type\":\"message_stop\"}\n", 0);
    expect_stream(": {\"finish_reason\":\"stop\"}\n", 0);
    expect_stream("event: {\"type\":\"message_stop\"}\n", 0);
}

static void test_line_endings(void)
{
    static const char *const eols[] = {"\n", "\r\n", "\r"};
    char buf[512];
    for (size_t i = 0; i < ZEN_ARRAY_LEN(eols); i++) {
        const char *e = eols[i];
        snprintf(buf, sizeof(buf),
                 "event: ping%sdata: {}%s%sevent: message_stop%sdata: {\"type\":\"message_stop\"}"
                 "%s%s",
                 e, e, e, e, e, e);
        expect_stream(buf, 1);
        snprintf(buf, sizeof(buf), "data: {\"finish_reason\":null}%s%sdata: [DONE]%s%s", e, e,
                 e, e);
        expect_stream(buf, 1);
        snprintf(buf, sizeof(buf), "data: {\"finish_reason\":null}%s%sdata: [DON", e, e);
        expect_stream(buf, 0);
    }
    /* A CR and an LF that are not a pair end two lines: the blank one
     * between them ends the event, so the data lines do not join. */
    expect_stream("data: {\"type\":\n\rdata: \"message_stop\"}\n", 0);
    expect_stream("data: {\"type\":\r\ndata: \"message_stop\"}\n", 1);
}

/* SSE joins an event's data lines with '\n'; a blank line ends the event. */
static void test_multiline_data(void)
{
    expect_stream("data: {\"type\":\ndata: \"message_stop\"}\n\n", 1);
    expect_stream("data: {\"type\"\ndata: :\"message_stop\"}\n\n", 1);
    expect_stream("data: {\"choices\":[{\"finish_reason\":\nid: 7\ndata: \"stop\"}]}\n\n", 1);
    expect_stream("data: {\"type\":\n\ndata: \"message_stop\"}\n\n", 0);
    /* The joining LF is a byte of the data: a key cannot span it. */
    expect_stream("data: {\"ty\ndata:pe\":\"message_stop\"}\n\n", 0);
}

/* A marker somewhere in a 100 KB data line, the line fed in 4 KiB chunks
 * with the marker placed across a chunk boundary. */
static void long_line_case(const char *marker, size_t marker_at, int want)
{
    static const char head[] = "data: {\"pad\":\"";
    static const char mid[] = "\",";
    static const char tail[] = ",\"end\":\"yes\"}\n\n";
    size_t mlen = strlen(marker);
    size_t cap = sizeof(head) + LONG_LINE_BYTES + sizeof(mid) + mlen + LONG_LINE_BYTES + sizeof(tail);
    char *s = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    size_t n = 0;
    memcpy(s + n, head, sizeof(head) - 1);
    n += sizeof(head) - 1;
    memset(s + n, 'x', marker_at);
    n += marker_at;
    memcpy(s + n, mid, sizeof(mid) - 1);
    n += sizeof(mid) - 1;
    memcpy(s + n, marker, mlen);
    n += mlen;
    memset(s + n, 'y', LONG_LINE_BYTES);
    n += LONG_LINE_BYTES;
    memcpy(s + n, tail, sizeof(tail) - 1);
    n += sizeof(tail) - 1;

    struct sse_detector d;
    sse_detector_init(&d);
    for (size_t i = 0; i < n; i += LONG_LINE_CHUNK)
        sse_detector_feed(&d, s + i, n - i < LONG_LINE_CHUNK ? n - i : LONG_LINE_CHUNK);
    CU_ASSERT_EQUAL(sse_detector_complete(&d), want);
    CU_ASSERT_EQUAL(feed_whole(s, n), want);
    CU_ASSERT_EQUAL(feed_random_chunks(s, n, 3 * LONG_LINE_CHUNK), want);
    free(s);
}

static void test_marker_in_long_line(void)
{
    static const char *const hits[] = {"\"finish_reason\":\"stop\"",
                                       "\"finish_reason\" :   \"length\"",
                                       "\"type\":\"message_stop\""};
    static const char *const misses[] = {"\"finish_reason\":null", "\"finish_reason\":\"\"",
                                         "\"type\":\"message_delta\""};
    /* Offsets that put each marker byte on a chunk boundary at least once. */
    size_t head = strlen("data: {\"pad\":\"") + strlen("\",");
    for (size_t k = 0; k < 30; k++) {
        size_t at = 3 * LONG_LINE_CHUNK - head - k; /* marker starts k bytes before a boundary */
        for (size_t i = 0; i < ZEN_ARRAY_LEN(hits); i++)
            long_line_case(hits[i], at, 1);
        for (size_t i = 0; i < ZEN_ARRAY_LEN(misses); i++)
            long_line_case(misses[i], at, 0);
    }
    long_line_case("\"type\":\"message_stop\"", LONG_LINE_BYTES, 1);
}

/* A long "data: [DONE]"-like line is not the marker, and a long line does
 * not disturb the whole-line check of the next one. */
static void test_long_lines_and_keep_buffer(void)
{
    char buf[SSE_LINE_KEEP * 4];
    /* Trailing blanks are forgiven while the line fits the keep buffer. */
    size_t n = (size_t)snprintf(buf, sizeof(buf), "data: [DONE]");
    memset(buf + n, ' ', SSE_LINE_KEEP - n);
    buf[SSE_LINE_KEEP] = '\n';
    buf[SSE_LINE_KEEP + 1] = '\0';
    expect_stream(buf, 1);
    memset(buf + n, ' ', SSE_LINE_KEEP + 1 - n);
    buf[SSE_LINE_KEEP + 1] = '\n';
    buf[SSE_LINE_KEEP + 2] = '\0';
    expect_stream(buf, 0);

    memset(buf, 'z', sizeof(buf));
    memcpy(buf, "data: ", 6);
    n = sizeof(buf) - 32;
    memcpy(buf + n, "\ndata: [DONE]\n", sizeof("\ndata: [DONE]\n"));
    expect_stream(buf, 1);
}

static void test_api_edges(void)
{
    struct sse_detector d;
    sse_detector_init(&d);
    sse_detector_feed(&d, NULL, 0);
    sse_detector_feed(&d, "", 0);
    sse_detector_feed(NULL, "x", 1);
    CU_ASSERT_EQUAL(sse_detector_complete(&d), 0);
    CU_ASSERT_EQUAL(sse_detector_complete(NULL), 0);
    /* Sticky: bytes after the marker change nothing. */
    sse_detector_feed(&d, "data: [DONE]\n", 13);
    CU_ASSERT_EQUAL(sse_detector_complete(&d), 1);
    sse_detector_feed(&d, "garbage\r\n\xff\x00 data: {", 17);
    CU_ASSERT_EQUAL(sse_detector_complete(&d), 1);
    /* Re-init starts over. */
    sse_detector_init(&d);
    CU_ASSERT_EQUAL(sse_detector_complete(&d), 0);
    /* NUL bytes are ordinary bytes. */
    static const char with_nul[] = "data: {\"x\":\"\0\"}\n\ndata: [DONE]\n";
    CU_ASSERT_EQUAL(feed_whole(with_nul, sizeof(with_nul) - 1), 1);
    CU_ASSERT_EQUAL(feed_bytewise(with_nul, sizeof(with_nul) - 1), 1);
}

/* ---- randomised: the detector against a plain reference ---- */

static int starts_with_n(const char *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    return n >= l && memcmp(s, lit, l) == 0;
}

static int ref_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Substring search over one event's joined data, as sse.h describes it. */
static int ref_scan_json(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int finish;
        size_t j;
        if (starts_with_n(s + i, n - i, "\"type\"")) {
            finish = 0;
            j = i + strlen("\"type\"");
        } else if (starts_with_n(s + i, n - i, "\"finish_reason\"")) {
            finish = 1;
            j = i + strlen("\"finish_reason\"");
        } else {
            continue;
        }
        while (j < n && ref_is_space(s[j]))
            j++;
        if (j >= n || s[j] != ':')
            continue;
        j++;
        while (j < n && ref_is_space(s[j]))
            j++;
        if (j >= n)
            continue;
        if (finish) {
            if (s[j] == 'n')
                continue;
            if (s[j] != '"')
                return 1;
            if (j + 1 < n && s[j + 1] != '"')
                return 1;
        } else if (s[j] == '"') {
            if (starts_with_n(s + j + 1, n - j - 1, "message_stop\"") ||
                starts_with_n(s + j + 1, n - j - 1, "response.completed\""))
                return 1;
        }
    }
    return 0;
}

static int ref_marker_line(const char *s, size_t n)
{
    if (n > SSE_LINE_KEEP)
        return 0;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    static const char *const lines[] = {
        "data: [DONE]", "data:[DONE]", "event: message_stop", "event:message_stop",
        "event: response.completed", "event:response.completed"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(lines); i++)
        if (n == strlen(lines[i]) && memcmp(s, lines[i], n) == 0)
            return 1;
    return 0;
}

static int reference(const char *s, size_t n)
{
    char *data = malloc(n + 2);
    size_t dlen = 0;
    int complete = 0;
    size_t i = 0;
    while (i < n && !complete) {
        size_t start = i;
        while (i < n && s[i] != '\n' && s[i] != '\r')
            i++;
        size_t len = i - start;
        int ended = i < n;
        if (starts_with_n(s + start, len, "data:")) {
            memcpy(data + dlen, s + start + 5, len - 5);
            dlen += len - 5;
            if (ended)
                data[dlen++] = '\n';
        }
        if (!ended)
            break;
        if (ref_marker_line(s + start, len))
            complete = 1;
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            i++;
        i++;
        if (len == 0) {
            complete = complete || ref_scan_json(data, dlen);
            dlen = 0;
        }
    }
    complete = complete || ref_scan_json(data, dlen);
    free(data);
    return complete;
}

static const char *const vocab[] = {
    "data: ", "data:", "event: ", "event:", "message_stop", "response.completed", "[DONE]",
    "\"type\"", "\"finish_reason\"", ":", " ", "\"", "null", "\"stop\"", "\"\"", "{", "}", ",",
    "\n", "\r\n", "\r", "\n\n", "x", "\\\"", "\t", ": ping", "\"message_stop\"", "id: 1",
    "\"response.completed\"", "n", "\"type\":\"", "\"finish_reason\":",
    /* whole markers and near misses, so both answers come up */
    "data: [DONE]\n", "event: message_stop\r\n", "data: {\"type\":\"message_stop\"}",
    "\"finish_reason\":\"stop\"", "\"finish_reason\": null", "data: [DONE]",
    "event: message_stop", "\"finish_reason\":\"\"",
    /* pieces, so keys can share quotes with neighbours or span lines */
    "type", "finish_reason", "\"ty", "pe\"", "\"message_", "stop\"",
};

static void test_random_streams_match_reference(void)
{
    char buf[RANDOM_TOKENS_MAX * 32];
    unsigned completes = 0;
    tu_rng_seed(SSE_TEST_SEED);
    for (int round = 0; round < RANDOM_STREAMS; round++) {
        size_t n = 0;
        size_t tokens = tu_rng_below(RANDOM_TOKENS_MAX);
        for (size_t t = 0; t < tokens; t++) {
            const char *tok = vocab[tu_rng_below(ZEN_ARRAY_LEN(vocab))];
            size_t l = strlen(tok);
            memcpy(buf + n, tok, l);
            n += l;
        }
        int want = reference(buf, n);
        completes += (unsigned)want;
        int whole = feed_whole(buf, n);
        if (whole != want)
            fprintf(stderr, "\n  reference %d, detector %d for: %.*s\n", want, whole, (int)n, buf);
        CU_ASSERT_EQUAL(whole, want);
        CU_ASSERT_EQUAL(feed_bytewise(buf, n), want);
        CU_ASSERT_EQUAL(feed_random_chunks(buf, n, 16), want);
    }
    /* The generator must exercise both answers, or the test proves little. */
    CU_ASSERT(completes > RANDOM_STREAMS / 10);
    CU_ASSERT(completes < RANDOM_STREAMS - RANDOM_STREAMS / 10);
}

static void test_random_bytes(void)
{
    char buf[RANDOM_BYTES_MAX];
    tu_rng_seed(SSE_TEST_SEED ^ 0xb17e5ULL);
    for (int round = 0; round < RANDOM_BYTE_INPUTS; round++) {
        size_t n = tu_rng_below(sizeof(buf));
        /* Half the inputs from a small alphabet, so lines and quotes occur. */
        static const char alphabet[] = "data:event \"\n\r{}[]type_finish_reason[DONE]n\\";
        int small = round % 2;
        for (size_t i = 0; i < n; i++)
            buf[i] = small ? alphabet[tu_rng_below(sizeof(alphabet) - 1)] : (char)tu_rng_next();
        int want = reference(buf, n);
        CU_ASSERT_EQUAL(feed_whole(buf, n), want);
        CU_ASSERT_EQUAL(feed_bytewise(buf, n), want);
        CU_ASSERT_EQUAL(feed_random_chunks(buf, n, 64), want);
    }
}

void register_tests(void)
{
    tu_rng_seed(SSE_TEST_SEED);
    CU_pSuite s = CU_add_suite("sse", NULL, NULL);
    TU_ADD(s, test_anthropic_stream);
    TU_ADD(s, test_openai_chat_stream);
    TU_ADD(s, test_done_and_event_line_forms);
    TU_ADD(s, test_json_markers);
    TU_ADD(s, test_json_lookalikes);
    TU_ADD(s, test_line_endings);
    TU_ADD(s, test_multiline_data);
    TU_ADD(s, test_marker_in_long_line);
    TU_ADD(s, test_long_lines_and_keep_buffer);
    TU_ADD(s, test_api_edges);
    TU_ADD(s, test_random_streams_match_reference);
    TU_ADD(s, test_random_bytes);
}
