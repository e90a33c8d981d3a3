/* Unit tests for lib/buf.c's zbuf_send: everything out when the socket takes
 * it, a stop (with the rest kept, in order) when the socket is full, and the
 * peer's departure reported without a SIGPIPE. */
#include "buf.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "testutil.h"

static void pair(int sv[2])
{
    CU_ASSERT_FATAL(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    int small = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
}

static void test_all_out(void)
{
    int sv[2];
    pair(sv);
    zbuf b;
    zbuf_init(&b);
    CU_ASSERT_EQUAL(zbuf_send(&b, sv[0]), ZBUF_SENT); /* nothing to send */
    zbuf_append_str(&b, "hello");
    CU_ASSERT_EQUAL(zbuf_send(&b, sv[0]), ZBUF_SENT);
    CU_ASSERT_EQUAL(zbuf_len(&b), 0);
    char got[8] = "";
    CU_ASSERT_EQUAL(recv(sv[1], got, sizeof(got), 0), 5);
    CU_ASSERT_NSTRING_EQUAL(got, "hello", 5);
    zbuf_free(&b);
    close(sv[0]);
    close(sv[1]);
}

static void test_full_socket_keeps_the_rest_in_order(void)
{
    int sv[2];
    pair(sv);
    zbuf b;
    zbuf_init(&b);
    enum { TOTAL = 1 << 20 };
    for (size_t i = 0; i < TOTAL; i++) {
        unsigned char c = (unsigned char)(i * 7);
        zbuf_append(&b, &c, 1);
    }
    CU_ASSERT_EQUAL(zbuf_send(&b, sv[0]), ZBUF_BLOCKED);
    CU_ASSERT(zbuf_len(&b) > 0 && zbuf_len(&b) < TOTAL);
    /* Read it all back while sending the rest: every byte, in order. */
    size_t seen = 0;
    int bad = 0, rounds = 0;
    while (seen < TOTAL && rounds++ < 100000) {
        unsigned char buf[65536];
        ssize_t n = recv(sv[1], buf, sizeof(buf), 0);
        for (ssize_t k = 0; k < n; k++, seen++)
            bad |= buf[k] != (unsigned char)(seen * 7);
        if (zbuf_len(&b))
            CU_ASSERT_NOT_EQUAL(zbuf_send(&b, sv[0]), ZBUF_PEER_GONE);
    }
    CU_ASSERT_EQUAL(seen, TOTAL);
    CU_ASSERT_FALSE(bad);
    CU_ASSERT_EQUAL(zbuf_len(&b), 0);
    zbuf_free(&b);
    close(sv[0]);
    close(sv[1]);
}

static void test_peer_gone(void)
{
    int sv[2];
    pair(sv);
    close(sv[1]);
    zbuf b;
    zbuf_init(&b);
    zbuf_append_str(&b, "anyone?");
    /* EPIPE, not SIGPIPE: the runner would die of the signal. */
    CU_ASSERT_EQUAL(zbuf_send(&b, sv[0]), ZBUF_PEER_GONE);
    CU_ASSERT_EQUAL(zbuf_len(&b), 7);
    zbuf_free(&b);
    close(sv[0]);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("buf", NULL, NULL);
    TU_ADD(s, test_all_out);
    TU_ADD(s, test_full_socket_keeps_the_rest_in_order);
    TU_ADD(s, test_peer_gone);
}
