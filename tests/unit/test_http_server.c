/* Unit tests for zend/http_server.c: regressions found by tests/fuzz/fuzz_http.
 *
 * Each test runs a real server on a private libev loop, accepting on a
 * loopback socket (port 0, read back), and talks to it as a client would.
 * The loop is stepped with EVRUN_NOWAIT against a deadline, so a server
 * that spins or never answers fails the test instead of hanging it. */
#include <CUnit/CUnit.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "http_server.h"
#include "secret.h"
#include "testutil.h"
#include "timeutil.h"

struct seen {
    int requests;
    char last_target[64];
    int has_empty_header;   /* the request had "X-Empty" with value "" */
};

static void on_request(void *ctx, struct http_conn *c, struct http_request *req)
{
    struct seen *s = ctx;
    s->requests++;
    snprintf(s->last_target, sizeof(s->last_target), "%s", req->target);
    const char *v = http_request_header(req, "x-empty");
    s->has_empty_header = v && v[0] == '\0';
    http_respond(c, 200, NULL, 0, "ok", 2);
}

static void on_abort(void *ctx, struct http_conn *c, void *data) {}
static void on_writable(void *ctx, struct http_conn *c, void *data) {}

struct fixture {
    struct ev_loop *loop;
    int listen_fd;
    struct http_server *srv;
    struct seen seen;
};

static void fixture_start(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    CU_ASSERT_EQUAL_FATAL(zsec_init(), ZEN_OK);
    f->loop = ev_loop_new(EVFLAG_AUTO);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->loop);
    f->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    CU_ASSERT_EQUAL_FATAL(bind(f->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    CU_ASSERT_EQUAL_FATAL(listen(f->listen_fd, 8), 0);
    const struct http_limits limits = {
        .max_header_bytes = 4096, .max_body_bytes = 65536, .header_timeout_s = 10,
        .body_timeout_s = 10, .keepalive_timeout_s = 10, .write_stall_timeout_s = 10,
        .max_body_bytes_total = 100000, .body_total_timeout_s = 10,
    };
    const struct http_callbacks cb = {
        .on_request = on_request, .on_abort = on_abort, .on_writable = on_writable,
    };
    f->srv = http_server_new(f->loop, f->listen_fd, &limits, &cb, &f->seen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->srv);
    http_server_start(f->srv);
}

static void fixture_stop(struct fixture *f)
{
    http_server_free(f->srv);
    close(f->listen_fd);
    ev_loop_destroy(f->loop);
}

static int connect_client(const struct fixture *f)
{
    struct sockaddr_in a;
    socklen_t alen = sizeof(a);
    getsockname(f->listen_fd, (struct sockaddr *)&a, &alen);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_EQUAL(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    return fd;
}

/* Steps the loop and reads the client side until the server closes it or
 * the deadline passes. Returns the bytes read (NUL-terminated) and sets
 * *closed when the server closed the connection. */
static size_t exchange(struct fixture *f, int fd, const char *request, char *out, size_t outlen,
                       int *closed)
{
    CU_ASSERT_EQUAL((size_t)send(fd, request, strlen(request), MSG_NOSIGNAL), strlen(request));
    size_t got = 0;
    *closed = 0;
    double deadline = ztime_mono_s() + 5.0;
    while (ztime_mono_s() < deadline && !*closed) {
        ev_run(f->loop, EVRUN_NOWAIT);
        ssize_t n = recv(fd, out + got, outlen - 1 - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
        else if (n == 0)
            *closed = 1;
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            *closed = 1;
        else
            usleep(1000);
    }
    out[got] = '\0';
    return got;
}

/* An Upgrade request followed by bytes used to make process_input spin
 * forever: on_message_complete paused the parser first, the upgrade went
 * unnoticed, the connection was kept alive, and the parser then sat in
 * llhttp's upgrade pause, consuming nothing. Now the request is answered and
 * the connection closes (zend speaks no other protocol). */
static void test_upgrade_with_trailing_bytes(void)
{
    alarm(30); /* the bug was an endless loop inside ev_run: fail, do not hang */
    struct fixture f;
    fixture_start(&f);
    int fd = connect_client(&f);
    char out[4096];
    int closed;
    exchange(&f, fd,
             "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
             "raw bytes after upgrade",
             out, sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 200 OK\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Connection: close\r\n"));
    CU_ASSERT_TRUE(closed);
    close(fd);
    /* The server still serves others (it is not stuck in a loop). */
    fd = connect_client(&f);
    exchange(&f, fd, "GET /next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
             sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 2);
    CU_ASSERT_STRING_EQUAL(f.seen.last_target, "/next");
    close(fd);
    fixture_stop(&f);
    alarm(0);
}

/* A first header with an empty value: its value buffer was never written,
 * and strndup got a NULL pointer (undefined behaviour, caught by UBSan). */
static void test_empty_header_value(void)
{
    struct fixture f;
    fixture_start(&f);
    int fd = connect_client(&f);
    char out[4096];
    int closed;
    exchange(&f, fd, "GET /e HTTP/1.1\r\nX-Empty:\r\nHost: x\r\nConnection: close\r\n\r\n", out,
             sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 1);
    CU_ASSERT_TRUE(f.seen.has_empty_header);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 200 OK\r\n"));
    close(fd);
    fixture_stop(&f);
}

/* Steps the loop until the server's body budget holds `want` bytes. */
static int wait_held(struct fixture *f, size_t want)
{
    double deadline = ztime_mono_s() + 5.0;
    while (ztime_mono_s() < deadline) {
        ev_run(f->loop, EVRUN_NOWAIT);
        if (http_server_body_bytes_held(f->srv) == want)
            return 1;
        usleep(1000);
    }
    fprintf(stderr, "\n  body budget holds %zu, want %zu\n", http_server_body_bytes_held(f->srv),
            want);
    return 0;
}

/* A head plus `body_len` body bytes ('x'); the caller frees it. */
static char *post_with_body(const char *head, size_t body_len)
{
    size_t head_len = strlen(head);
    char *req = malloc(head_len + body_len + 1);
    memcpy(req, head, head_len);
    memset(req + head_len, 'x', body_len);
    req[head_len + body_len] = '\0';
    return req;
}

/* max_body_bytes_total (100000 here) covers every body at once: a declared
 * Content-Length is charged whole at the head, so a second large body is
 * refused with 503 before it is read; a chunked one is refused when its
 * running total crosses the budget; what a request held is given back
 * when it ends, however it ends. */
static void test_body_budget(void)
{
    struct fixture f;
    fixture_start(&f);
    char out[4096];
    int closed;
    /* A holds 60000 (declared), sends a little and stalls. */
    int a = connect_client(&f);
    char *req = post_with_body("POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n", 1000);
    CU_ASSERT_EQUAL((size_t)send(a, req, strlen(req), MSG_NOSIGNAL), strlen(req));
    free(req);
    CU_ASSERT_TRUE(wait_held(&f, 60000));
    /* B declares 60000 too: refused at its head. */
    int b = connect_client(&f);
    exchange(&f, b, "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n", out,
             sizeof(out), &closed);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 503 Service Unavailable\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "retry-after: 1\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\"type\":\"overloaded_error\""));
    CU_ASSERT_TRUE(closed);
    CU_ASSERT_EQUAL(http_server_body_bytes_held(f.srv), 60000);
    close(b);
    /* C is chunked: 0xa000 = 40960 bytes cross the budget once they arrive. */
    int cfd = connect_client(&f);
    req = post_with_body("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                         "a000\r\n", 40960);
    exchange(&f, cfd, req, out, sizeof(out), &closed);
    free(req);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 503 Service Unavailable\r\n"));
    CU_ASSERT_TRUE(closed);
    close(cfd);
    CU_ASSERT_EQUAL(f.seen.requests, 0);
    CU_ASSERT_TRUE(wait_held(&f, 60000));
    /* A gives up: its share comes back, and a new large body is served. */
    close(a);
    CU_ASSERT_TRUE(wait_held(&f, 0));
    int d = connect_client(&f);
    req = post_with_body("POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n"
                         "Connection: close\r\n\r\n", 60000);
    exchange(&f, d, req, out, sizeof(out), &closed);
    free(req);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "HTTP/1.1 200 OK\r\n"));
    CU_ASSERT_EQUAL(f.seen.requests, 1);
    CU_ASSERT_EQUAL(http_server_body_bytes_held(f.srv), 0);
    close(d);
    fixture_stop(&f);
}

void register_tests(void)
{
    signal(SIGPIPE, SIG_IGN);
    CU_pSuite s = CU_add_suite("http_server", tu_suite_init, tu_suite_clean);
    TU_ADD(s, test_upgrade_with_trailing_bytes);
    TU_ADD(s, test_empty_header_value);
    TU_ADD(s, test_body_budget);
}
