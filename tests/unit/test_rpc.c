/* Unit tests for proto/rpc.c: round trips, incremental reading, hostile
 * frames, and a forked client/server whose reads are a few bytes long so
 * every message crosses buffer boundaries (Knot DNS's control test). */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"
#include "rpc.h"
#include "testutil.h"


/* Feeds `len` bytes to a fresh reader in pieces of `step` and expects exactly
 * one message, available only once the last byte is in. */
static void read_one(const uint8_t *data, size_t len, size_t step, struct rpc_message *m)
{
    struct rpc_reader r;
    struct rpc_read_error e;
    rpc_reader_init(&r, 0);
    int got = 0;
    for (size_t off = 0; off < len; off += step) {
        size_t n = len - off < step ? len - off : step;
        rpc_reader_feed(&r, data + off, n);
        int rc = rpc_reader_next(&r, m, &e);
        if (off + n < len) {
            CU_ASSERT_EQUAL(rc, RPC_READ_NEED_MORE);
        } else {
            CU_ASSERT_EQUAL(rc, RPC_READ_MESSAGE);
            got = rc == RPC_READ_MESSAGE;
        }
    }
    CU_ASSERT_TRUE(got);
    CU_ASSERT_EQUAL(rpc_reader_pending(&r), 0);
    rpc_reader_free(&r);
}

static void test_request_round_trip(void)
{
    json_t *params = json_pack("{s:i, s:I, s:f, s:s, s:b, s:n, s:[i,s,{s:i}], s:{}}",
                               "small", 7, "big", (json_int_t)-9000000000LL, "real", 2.5,
                               "text", "h\xc3\xa9llo", "flag", 1, "nothing", "list", 1, "two",
                               "three", 3, "empty");
    zbuf b;
    zbuf_init(&b);
    CU_ASSERT_EQUAL(rpc_encode_request(&b, 42, "status", params), ZEN_OK);
    for (size_t step = 1; step <= zbuf_len(&b); step += 7) {
        struct rpc_message m;
        read_one(zbuf_head(&b), zbuf_len(&b), step, &m);
        CU_ASSERT_EQUAL(m.type, RPC_REQUEST);
        CU_ASSERT_EQUAL(m.msgid, 42);
        CU_ASSERT_STRING_EQUAL(m.method, "status");
        CU_ASSERT_TRUE(json_equal(m.params, params));
        rpc_message_clear(&m);
    }
    zbuf_free(&b);
    json_decref(params);
}

static void test_response_and_notification(void)
{
    zbuf b;
    zbuf_init(&b);
    json_t *result = json_pack("{s:s, s:i}", "version", "0.1.0", "pid", 99);
    rpc_encode_response(&b, 7, NULL, result);
    rpc_encode_error(&b, 8, RPC_ERR_UNKNOWN_METHOD, "unknown method \"x\"");
    rpc_encode_notification(&b, "log", result);
    rpc_encode_notification(&b, "log.end", NULL);
    /* All four pipelined in one buffer. */
    struct rpc_reader r;
    struct rpc_read_error e;
    struct rpc_message m;
    rpc_reader_init(&r, 0);
    rpc_reader_feed(&r, zbuf_head(&b), zbuf_len(&b));

    CU_ASSERT_EQUAL_FATAL(rpc_reader_next(&r, &m, &e), RPC_READ_MESSAGE);
    CU_ASSERT_EQUAL(m.type, RPC_RESPONSE);
    CU_ASSERT_EQUAL(m.msgid, 7);
    CU_ASSERT_PTR_NULL(m.error);
    CU_ASSERT_TRUE(json_equal(m.result, result));
    rpc_message_clear(&m);

    CU_ASSERT_EQUAL_FATAL(rpc_reader_next(&r, &m, &e), RPC_READ_MESSAGE);
    CU_ASSERT_EQUAL(m.msgid, 8);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m.error, "code")), 1);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m.error, "message")),
                           "unknown method \"x\"");
    rpc_message_clear(&m);

    CU_ASSERT_EQUAL_FATAL(rpc_reader_next(&r, &m, &e), RPC_READ_MESSAGE);
    CU_ASSERT_EQUAL(m.type, RPC_NOTIFICATION);
    CU_ASSERT_STRING_EQUAL(m.method, "log");
    CU_ASSERT_TRUE(json_equal(m.params, result));
    rpc_message_clear(&m);

    CU_ASSERT_EQUAL_FATAL(rpc_reader_next(&r, &m, &e), RPC_READ_MESSAGE);
    CU_ASSERT_STRING_EQUAL(m.method, "log.end");
    CU_ASSERT_EQUAL(json_object_size(m.params), 0);
    rpc_message_clear(&m);

    CU_ASSERT_EQUAL(rpc_reader_next(&r, &m, &e), RPC_READ_NEED_MORE);
    rpc_reader_free(&r);
    zbuf_free(&b);
    json_decref(result);
}

/* Expects the bytes to be refused, not buffered or unpacked. */
static void expect_refused(const uint8_t *data, size_t len, const char *why)
{
    struct rpc_reader r;
    struct rpc_read_error e;
    struct rpc_message m;
    rpc_reader_init(&r, 0);
    rpc_reader_feed(&r, data, len);
    int rc = rpc_reader_next(&r, &m, &e);
    CU_ASSERT_EQUAL(rc, RPC_READ_ERROR);
    if (why && !strstr(e.message, why))
        fprintf(stderr, "\n  expected \"%s\" in: %s\n", why, e.message);
    if (why)
        CU_ASSERT_PTR_NOT_NULL(strstr(e.message, why));
    rpc_reader_free(&r);
}

static long max_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void test_hostile_frames(void)
{
    long rss_before = max_rss_kb();
    /* map32 claiming 100 million entries, inside a request. */
    const uint8_t huge_map[] = {0x94, 0x00, 0x01, 0xa6, 's', 't', 'a', 't', 'u', 's',
                                0x91, 0xdf, 0x05, 0xf5, 0xe1, 0x00};
    expect_refused(huge_map, sizeof(huge_map), "declares 100000000 elements");
    /* Its msgid was readable, so the sender can be told why. */
    struct rpc_reader r;
    struct rpc_read_error e;
    struct rpc_message m;
    rpc_reader_init(&r, 0);
    rpc_reader_feed(&r, huge_map, sizeof(huge_map));
    CU_ASSERT_EQUAL(rpc_reader_next(&r, &m, &e), RPC_READ_ERROR);
    CU_ASSERT_TRUE(e.has_msgid);
    CU_ASSERT_EQUAL(e.msgid, 1);
    rpc_reader_free(&r);
    /* Alone at the top level, before any other byte. */
    expect_refused(huge_map + 11, 5, "declares 100000000 elements");
    const uint8_t huge_array[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    expect_refused(huge_array, sizeof(huge_array), "elements");
    const uint8_t huge_str[] = {0x94, 0x00, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xf0, 'a'};
    expect_refused(huge_str, sizeof(huge_str), "bytes, more than fit");
    const uint8_t never_used[] = {0xc1};
    expect_refused(never_used, 1, "invalid MessagePack type byte 0xc1");
    /* The cap counts everything in the frame: nested containers of
     * modest declared size that add up to more than the room left. */
    const uint8_t sneaky[] = {0x92, 0xdd, 0x00, 0x08, 0x00, 0x00, 0xdd, 0x00, 0x08, 0x00, 0x00};
    expect_refused(sneaky, sizeof(sneaky), "elements");
    CU_ASSERT_TRUE(max_rss_kb() - rss_before < 16 * 1024);
}

static void test_not_rpc(void)
{
    uint8_t buf[64];
    zbuf b;
    zbuf_init(&b);
    /* A well-formed map, but not an RPC message. */
    const uint8_t map[] = {0x81, 0xa1, 'a', 0x01};
    expect_refused(map, sizeof(map), "not a MessagePack-RPC message");
    /* Binary values are not part of the protocol. */
    const uint8_t bin[] = {0x94, 0x00, 0x01, 0xc4, 0x01, 'x', 0x90};
    expect_refused(bin, sizeof(bin), "method must be");
    /* A request whose msgid is readable: the error can be answered. */
    const uint8_t bad_method[] = {0x94, 0x00, 0x05, 0x07, 0x90};
    struct rpc_reader r;
    struct rpc_read_error e;
    struct rpc_message m;
    rpc_reader_init(&r, 0);
    rpc_reader_feed(&r, bad_method, sizeof(bad_method));
    CU_ASSERT_EQUAL(rpc_reader_next(&r, &m, &e), RPC_READ_ERROR);
    CU_ASSERT_TRUE(e.has_msgid);
    CU_ASSERT_EQUAL(e.msgid, 5);
    rpc_reader_free(&r);
    /* params must be [] or [map]. */
    const uint8_t positional[] = {0x94, 0x00, 0x05, 0xa1, 'x', 0x91, 0x01};
    expect_refused(positional, sizeof(positional), "params must be");
    /* Invalid UTF-8 in a string value. */
    const uint8_t badutf[] = {0x94, 0x00, 0x05, 0xa1, 'x', 0x91, 0x81, 0xa1, 'k', 0xa1, 0xff};
    expect_refused(badutf, sizeof(badutf), "UTF-8");
    (void)buf;
    zbuf_free(&b);
}

/* Found by fuzz_rpc: a NaN or infinite float (which JSON cannot hold) was
 * refused with an empty message, so the peer was told nothing. */
static void test_non_finite_float_refused(void)
{
    /* response [1, 0, NaN, nil]: the error is a float64 NaN. */
    const uint8_t nan_error[] = {0x94, 0x01, 0x00, 0xcb, 0xff, 0xff, 0xff, 0xff,
                                 0xff, 0xff, 0xff, 0xff, 0xc0};
    expect_refused(nan_error, sizeof(nan_error), "not finite");
    /* request params {"x": +inf as float32}: the msgid is still answerable. */
    const uint8_t inf_param[] = {0x94, 0x00, 0x07, 0xa1, 'm', 0x91, 0x81, 0xa1, 'x',
                                 0xca, 0x7f, 0x80, 0x00, 0x00};
    expect_refused(inf_param, sizeof(inf_param), "not finite");
    struct rpc_reader r;
    struct rpc_read_error e;
    struct rpc_message m;
    rpc_reader_init(&r, 0);
    rpc_reader_feed(&r, inf_param, sizeof(inf_param));
    CU_ASSERT_EQUAL(rpc_reader_next(&r, &m, &e), RPC_READ_ERROR);
    CU_ASSERT_TRUE(e.has_msgid);
    CU_ASSERT_EQUAL(e.msgid, 7);
    rpc_reader_free(&r);
}

/* Found by fuzz_rpc: msgpack-c gives an empty string a NULL pointer, which
 * jansson refused ("not valid UTF-8") and memchr was handed (an empty key). */
static void test_empty_strings_round_trip(void)
{
    json_t *params = json_pack("{s:s, s:s, s:[s]}", "", "", "k", "", "list", "");
    zbuf b;
    zbuf_init(&b);
    CU_ASSERT_EQUAL(rpc_encode_request(&b, 3, "m", params), ZEN_OK);
    struct rpc_message m;
    read_one(zbuf_head(&b), zbuf_len(&b), zbuf_len(&b), &m);
    CU_ASSERT_PTR_NOT_NULL(m.params);
    CU_ASSERT_TRUE(m.params && json_equal(m.params, params));
    rpc_message_clear(&m);
    zbuf_free(&b);
    json_decref(params);
}

/* Found by fuzz_rpc: a map key that is not valid UTF-8 made the reader free
 * the value twice (json_object_setn_new had already freed it). */
static void test_invalid_utf8_key_refused(void)
{
    /* request [0, 3, "m", [{"\xff": 1}]], and the same with a container value. */
    const uint8_t bad_key[] = {0x94, 0x00, 0x03, 0xa1, 'm', 0x91, 0x81, 0xa1, 0xff, 0x01};
    expect_refused(bad_key, sizeof(bad_key), "map key is not valid UTF-8");
    const uint8_t bad_key_map[] = {0x94, 0x00, 0x03, 0xa1, 'm', 0x91, 0x81, 0xa2, 0xc3, 0x28,
                                   0x81, 0xa1, 'k', 0x90};
    expect_refused(bad_key_map, sizeof(bad_key_map), "map key is not valid UTF-8");
    /* response [1, 4, nil, {"ok": 1, "\xfe": "x"}] */
    const uint8_t bad_key_result[] = {0x94, 0x01, 0x04, 0xc0, 0x82, 0xa2, 'o', 'k', 0x01,
                                      0xa1, 0xfe, 0xa1, 'x'};
    expect_refused(bad_key_result, sizeof(bad_key_result), "map key is not valid UTF-8");
}

static void test_deep_nesting_refused(void)
{
    uint8_t deep[200];
    memset(deep, 0x91, sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = 0xc0;
    expect_refused(deep, sizeof(deep), NULL);
}

static void test_frame_cap(void)
{
    /* A 2 MiB string in a request, fed in full: refused at the header. */
    size_t n = 2u * 1024 * 1024;
    uint8_t *big = calloc(1, n + 16);
    big[0] = 0x94; big[1] = 0x00; big[2] = 0x01; big[3] = 0xdb;
    big[4] = 0x00; big[5] = 0x20; big[6] = 0x00; big[7] = 0x00;
    expect_refused(big, n + 8, "more than fit");
    free(big);
    /* A frame exactly at a small custom cap passes, one byte over fails. */
    zbuf b;
    zbuf_init(&b);
    rpc_encode_request(&b, 1, "hello", NULL);
    size_t len = zbuf_len(&b), flen;
    char err[256];
    CU_ASSERT_EQUAL(rpc_frame_scan(zbuf_head(&b), len, len, &flen, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(flen, len);
    CU_ASSERT_EQUAL(rpc_frame_scan(zbuf_head(&b), len, len - 1, &flen, err, sizeof(err)), -1);
    zbuf_free(&b);
    /* Found by fuzz_rpc: a header alone was not held to the cap, so an empty
     * array32 or str32 (5 bytes) passed a 4-byte cap. */
    const uint8_t empty_array32[] = {0xdd, 0x00, 0x00, 0x00, 0x00};
    const uint8_t empty_str32[] = {0xdb, 0x00, 0x00, 0x00, 0x00};
    CU_ASSERT_EQUAL(rpc_frame_scan(empty_array32, 5, 4, &flen, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(rpc_frame_scan(empty_str32, 5, 4, &flen, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(rpc_frame_scan(empty_array32, 5, 5, &flen, err, sizeof(err)), 1);
    CU_ASSERT_EQUAL(flen, 5);
}

/* Random bytes never crash the reader and never yield a message that is not
 * a request, response or notification. */
static void test_random_garbage_invariants(void)
{
    srand(12345);
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[48];
        size_t len = 1 + (size_t)rand() % sizeof(buf);
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)rand();
        if (round % 3 == 0)
            buf[0] = 0x94; /* bias towards plausible requests */
        struct rpc_reader r;
        struct rpc_read_error e;
        struct rpc_message m;
        rpc_reader_init(&r, 0);
        rpc_reader_feed(&r, buf, len);
        int rc;
        while ((rc = rpc_reader_next(&r, &m, &e)) == RPC_READ_MESSAGE) {
            CU_ASSERT_TRUE(m.type >= RPC_REQUEST && m.type <= RPC_NOTIFICATION);
            if (m.type != RPC_RESPONSE)
                CU_ASSERT_TRUE(json_is_object(m.params));
            rpc_message_clear(&m);
        }
        CU_ASSERT_TRUE(rc == RPC_READ_ERROR || rc == RPC_READ_NEED_MORE);
        rpc_reader_free(&r);
    }
}

/* ---- forked client/server with tiny reads ---- */

#define TINY_READ 3
#define EXCHANGES 300

static int recv_message(int fd, struct rpc_reader *r, struct rpc_message *m)
{
    for (;;) {
        struct rpc_read_error e;
        int rc = rpc_reader_next(r, m, &e);
        if (rc != RPC_READ_NEED_MORE)
            return rc;
        uint8_t buf[TINY_READ];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return RPC_READ_ERROR;
        rpc_reader_feed(r, buf, (size_t)n);
    }
}

static int send_buf(int fd, zbuf *b)
{
    while (zbuf_len(b) > 0) {
        ssize_t n = write(fd, zbuf_head(b), zbuf_len(b));
        if (n <= 0)
            return -1;
        zbuf_consume(b, (size_t)n);
    }
    return 0;
}

/* Child: sends requests with growing payloads and checks each echo. */
static int client_process(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0)
        return 10;
    struct rpc_reader r;
    rpc_reader_init(&r, 0);
    zbuf out;
    zbuf_init(&out);
    char text[4096];
    for (int i = 0; i < EXCHANGES; i++) {
        size_t tl = (size_t)(i * 13) % (sizeof(text) - 1);
        memset(text, 'a' + i % 26, tl);
        text[tl] = '\0';
        json_t *p = json_pack("{s:i, s:s}", "i", i, "text", text);
        rpc_encode_request(&out, (uint32_t)i + 1, "echo", p);
        /* Every 10th, pipeline a second request before reading. */
        if (i % 10 == 0)
            rpc_encode_request(&out, 100000 + (uint32_t)i, "echo", p);
        json_decref(p);
        if (send_buf(fd, &out) != 0)
            return 11;
        int expect = i % 10 == 0 ? 2 : 1;
        for (int k = 0; k < expect; k++) {
            struct rpc_message m;
            if (recv_message(fd, &r, &m) != RPC_READ_MESSAGE)
                return 12;
            uint32_t want = k == 0 ? (uint32_t)i + 1 : 100000 + (uint32_t)i;
            int ok = m.type == RPC_RESPONSE && m.msgid == want &&
                     json_integer_value(json_object_get(m.result, "i")) == i &&
                     strcmp(json_string_value(json_object_get(m.result, "text")), text) == 0;
            rpc_message_clear(&m);
            if (!ok)
                return 13;
        }
    }
    zbuf_free(&out);
    rpc_reader_free(&r);
    close(fd);
    return 0;
}

static void test_forked_client_server_tiny_reads(void)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/rpc.sock", tu_tmpdir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    CU_ASSERT_TRUE_FATAL(strlen(path) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, path, strlen(path) + 1);
    CU_ASSERT_EQUAL_FATAL(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    CU_ASSERT_EQUAL_FATAL(listen(lfd, 1), 0);
    pid_t pid = fork();
    CU_ASSERT_TRUE_FATAL(pid >= 0);
    if (pid == 0)
        _exit(client_process(path));

    int fd = accept(lfd, NULL, NULL);
    CU_ASSERT_TRUE_FATAL(fd >= 0);
    struct rpc_reader r;
    rpc_reader_init(&r, 0);
    zbuf out;
    zbuf_init(&out);
    int served = 0;
    struct rpc_message m;
    while (recv_message(fd, &r, &m) == RPC_READ_MESSAGE) {
        CU_ASSERT_EQUAL(m.type, RPC_REQUEST);
        rpc_encode_response(&out, m.msgid, NULL, m.params);
        rpc_message_clear(&m);
        if (send_buf(fd, &out) != 0)
            break;
        served++;
    }
    close(fd);
    close(lfd);
    int status = 0;
    waitpid(pid, &status, 0);
    CU_ASSERT_TRUE(WIFEXITED(status));
    CU_ASSERT_EQUAL(WEXITSTATUS(status), 0);
    CU_ASSERT_EQUAL(served, EXCHANGES + EXCHANGES / 10);
    zbuf_free(&out);
    rpc_reader_free(&r);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("rpc", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_request_round_trip);
    TU_ADD(s, test_response_and_notification);
    TU_ADD(s, test_hostile_frames);
    TU_ADD(s, test_not_rpc);
    TU_ADD(s, test_non_finite_float_refused);
    TU_ADD(s, test_empty_strings_round_trip);
    TU_ADD(s, test_invalid_utf8_key_refused);
    TU_ADD(s, test_deep_nesting_refused);
    TU_ADD(s, test_frame_cap);
    TU_ADD(s, test_random_garbage_invariants);
    TU_ADD(s, test_forked_client_server_tiny_reads);
}
