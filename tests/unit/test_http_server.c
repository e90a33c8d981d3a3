/* Unit tests for zend/serve/http_server.c: regressions found by tests/fuzz/fuzz_http.
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
#include <strings.h>
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
    int client_fd;          /* the test's client socket, for the cork checks */
    struct http_conn *held; /* "/held": the response begun and left open */
    int head_queued;        /* "/corked": nothing had reached the client after the head */
};

/* What the client socket holds right now, without waiting. */
static ssize_t peek_now(int fd)
{
    char buf[4096];
    return recv(fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
}

static void on_request(void *ctx, struct http_conn *c, struct http_request *req)
{
    struct seen *s = ctx;
    s->requests++;
    snprintf(s->last_target, sizeof(s->last_target), "%s", req->target);
    const char *v = http_request_header(req, "x-empty");
    s->has_empty_header = v && v[0] == '\0';
    if (strcmp(req->target, "/held") == 0) {
        http_response_begin(c, 200, NULL, 0, -1);
        s->held = c;
        return;
    }
    if (strcmp(req->target, "/chunks") == 0) {
        /* Chunk sizes whose hex spellings have 1 to 4 digits. */
        static const size_t sizes[] = {1, 15, 16, 255, 4096, 10};
        static char fill[4096];
        memset(fill, 'x', sizeof(fill));
        http_response_begin(c, 200, NULL, 0, -1);
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
            http_response_write(c, fill, sizes[i]);
        http_response_end(c);
        return;
    }
    if (strcmp(req->target, "/corked") == 0) {
        http_response_begin(c, 200, NULL, 0, 2);
        s->head_queued = peek_now(s->client_fd) < 0 && errno == EAGAIN;
        http_response_write(c, "ok", 2);
        http_response_end(c);
        return;
    }
    /* "/status/N" answers N (with a body the server must drop if N has none). */
    int status = strncmp(req->target, "/status/", 8) == 0 ? atoi(req->target + 8) : 200;
    http_respond(c, status, NULL, 0, "ok", 2);
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
    if (request[0])
        CU_ASSERT_EQUAL((size_t)send(fd, request, strlen(request), MSG_NOSIGNAL),
                        strlen(request));
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

/* Only HTTP/1.0 and 1.1: "HTTP/2.0" used to be answered as HTTP/1.0. */
static void test_unsupported_version_505(void)
{
    static const char *const requests[] = {
        "GET /v HTTP/2.0\r\nHost: x\r\n\r\n",
        "GET /v HTTP/1.2\r\nHost: x\r\n\r\n",
        "GET /v HTTP/3.1\r\nHost: x\r\n\r\n",
    };
    struct fixture f;
    fixture_start(&f);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(requests); i++) {
        int fd = connect_client(&f);
        char out[4096];
        int closed;
        exchange(&f, fd, requests[i], out, sizeof(out), &closed);
        if (strncmp(out, "HTTP/1.1 505 HTTP Version Not Supported\r\n", 41) != 0)
            fprintf(stderr, "\n  %s -> %.60s\n", requests[i], out);
        CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 505 HTTP Version Not Supported\r\n", 41), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(out, "Connection: close\r\n"));
        CU_ASSERT_TRUE(closed);
        close(fd);
    }
    CU_ASSERT_EQUAL(f.seen.requests, 0);
    fixture_stop(&f);
}

/* A TAB or control byte in the request-target is refused with 400 before
 * the handler sees it (it used to reach curl as a "network error"). */
static void test_control_chars_in_target(void)
{
    static const char *const requests[] = {
        "GET /a\tb HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\tHTTP/1.1 HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\x7f HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /a\x01b HTTP/1.1\r\nHost: x\r\n\r\n",
    };
    struct fixture f;
    fixture_start(&f);
    for (size_t i = 0; i < ZEN_ARRAY_LEN(requests); i++) {
        int fd = connect_client(&f);
        char out[4096];
        int closed;
        exchange(&f, fd, requests[i], out, sizeof(out), &closed);
        CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 400 ", 13), 0);
        CU_ASSERT_TRUE(closed);
        close(fd);
    }
    CU_ASSERT_EQUAL(f.seen.requests, 0);
    fixture_stop(&f);
}

/* Reads until the server closes or the deadline passes, without sending. */
static size_t read_until_closed(struct fixture *f, int fd, char *out, size_t outlen, int *closed)
{
    return exchange(f, fd, "", out, outlen, closed);
}

/* shutdown(SHUT_WR) after a complete request is not an abort: the client
 * still reads. EOF inside a request is: nothing is answered. */
static void test_half_close_gets_answer(void)
{
    struct fixture f;
    fixture_start(&f);
    char out[8192];
    int closed;
    int fd = connect_client(&f);
    const char *req = "GET /half HTTP/1.1\r\nHost: x\r\n\r\n";
    CU_ASSERT_EQUAL((size_t)send(fd, req, strlen(req), MSG_NOSIGNAL), strlen(req));
    shutdown(fd, SHUT_WR);
    read_until_closed(&f, fd, out, sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 1);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200 OK\r\n", 17), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\n\r\nok"));
    CU_ASSERT_TRUE(closed);
    close(fd);

    /* Two pipelined requests, then EOF: both are answered. */
    fd = connect_client(&f);
    req = "GET /p1 HTTP/1.1\r\nHost: x\r\n\r\nGET /p2 HTTP/1.1\r\nHost: x\r\n\r\n";
    CU_ASSERT_EQUAL((size_t)send(fd, req, strlen(req), MSG_NOSIGNAL), strlen(req));
    shutdown(fd, SHUT_WR);
    read_until_closed(&f, fd, out, sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 3);
    CU_ASSERT_STRING_EQUAL(f.seen.last_target, "/p2");
    const char *second = strstr(out, "HTTP/1.1 200 OK\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_PTR_NOT_NULL(strstr(second + 1, "HTTP/1.1 200 OK\r\n"));
    CU_ASSERT_TRUE(closed);
    close(fd);

    /* EOF mid-head: no answer, the connection is closed. */
    fd = connect_client(&f);
    req = "GET /cut HTTP/1.1\r\nHost: x\r\n";
    CU_ASSERT_EQUAL((size_t)send(fd, req, strlen(req), MSG_NOSIGNAL), strlen(req));
    shutdown(fd, SHUT_WR);
    size_t got = read_until_closed(&f, fd, out, sizeof(out), &closed);
    CU_ASSERT_EQUAL(got, 0);
    CU_ASSERT_TRUE(closed);
    CU_ASSERT_EQUAL(f.seen.requests, 3);
    close(fd);
    fixture_stop(&f);
}

/* 204 and 304 carry neither Content-Length nor a body; the connection
 * stays usable for the next request. */
static void test_no_body_statuses(void)
{
    struct fixture f;
    fixture_start(&f);
    char out[8192];
    int closed;
    int fd = connect_client(&f);
    exchange(&f, fd,
             "GET /status/204 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /status/304 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
             out, sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 3);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 204 No Content\r\n", 25), 0);
    char *r304 = strstr(out, "HTTP/1.1 304 Not Modified\r\n");
    char *r200 = strstr(out, "HTTP/1.1 200 OK\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r304);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r200);
    /* Each no-body head ends right where the next response starts. */
    CU_ASSERT_EQUAL(memcmp(r304 - 4, "\r\n\r\n", 4), 0);
    CU_ASSERT_EQUAL(memcmp(r200 - 4, "\r\n\r\n", 4), 0);
    *r200 = '\0';
    CU_ASSERT_PTR_NULL(strcasestr(out, "content-length"));
    CU_ASSERT_PTR_NULL(strcasestr(out, "transfer-encoding"));
    CU_ASSERT_PTR_NULL(strstr(out, "ok"));
    CU_ASSERT_TRUE(closed);
    close(fd);
    fixture_stop(&f);
}

/* The head's numbers and the chunk sizes as the HTTP grammar spells them:
 * decimal status and Content-Length, lowercase hex chunk sizes. */
static void test_head_and_chunk_framing(void)
{
    struct fixture f;
    fixture_start(&f);
    static char out[16384];
    int closed;
    int fd = connect_client(&f);
    exchange(&f, fd,
             "GET /status/599 HTTP/1.1\r\nHost: x\r\n\r\n"
             "GET /status/200 HTTP/1.0\r\nHost: x\r\n\r\n",
             out, sizeof(out), &closed);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 599 Status\r\n", 21), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nContent-Length: 2\r\n\r\nokHTTP/1.0 200 OK\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "\r\nx-zen-request-id: "));
    close(fd);
    fd = connect_client(&f);
    exchange(&f, fd, "GET /chunks HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
             sizeof(out), &closed);
    char *body = strstr(out, "\r\n\r\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    body += 4;
    static const char *const want[] = {"1\r\n", "f\r\n", "10\r\n", "ff\r\n", "1000\r\n", "a\r\n"};
    static const size_t sizes[] = {1, 15, 16, 255, 4096, 10};
    for (size_t i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL_FATAL(strncmp(body, want[i], strlen(want[i])), 0);
        body += strlen(want[i]) + sizes[i];
        CU_ASSERT_EQUAL_FATAL(strncmp(body, "\r\n", 2), 0);
        body += 2;
    }
    CU_ASSERT_STRING_EQUAL(body, "0\r\n\r\n");
    close(fd);
    fixture_stop(&f);
}

/* A head and the body written right after it leave in one send: nothing
 * reaches the client between them (loopback delivers a send at once). */
static void test_head_waits_for_body(void)
{
    struct fixture f;
    fixture_start(&f);
    char out[8192];
    int closed;
    int fd = connect_client(&f);
    f.seen.client_fd = fd;
    exchange(&f, fd, "GET /corked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
             sizeof(out), &closed);
    CU_ASSERT_EQUAL(f.seen.requests, 1);
    CU_ASSERT_TRUE(f.seen.head_queued);
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200 OK\r\n", 17), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Content-Length: 2\r\n"));
    CU_ASSERT_EQUAL(strcmp(out + strlen(out) - 6, "\r\n\r\nok"), 0);
    CU_ASSERT_TRUE(closed);
    close(fd);
    fixture_stop(&f);
}

/* A head whose body is not written yet (a stream waiting for its first
 * event) is not held: it leaves before the loop waits for events again. */
static void test_head_alone_not_held(void)
{
    struct fixture f;
    fixture_start(&f);
    int fd = connect_client(&f);
    const char *req = "GET /held HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CU_ASSERT_EQUAL((size_t)send(fd, req, strlen(req), MSG_NOSIGNAL), strlen(req));
    double deadline = ztime_mono_s() + 5.0;
    while (!f.seen.held && ztime_mono_s() < deadline) {
        ev_run(f.loop, EVRUN_NOWAIT);
        usleep(1000);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(f.seen.held);
    /* One more step of the loop, no body written: the head is out. */
    ev_run(f.loop, EVRUN_NOWAIT);
    char out[8192];
    ssize_t n = recv(fd, out, sizeof(out) - 1, MSG_DONTWAIT);
    CU_ASSERT_FATAL(n > 0);
    out[n > 0 ? n : 0] = '\0';
    CU_ASSERT_EQUAL(strncmp(out, "HTTP/1.1 200 OK\r\n", 17), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "Transfer-Encoding: chunked\r\n"));
    CU_ASSERT_EQUAL(strcmp(out + n - 4, "\r\n\r\n"), 0);
    http_response_write(f.seen.held, "ok", 2);
    http_response_end(f.seen.held);
    int closed;
    exchange(&f, fd, "", out, sizeof(out), &closed);
    CU_ASSERT_STRING_EQUAL(out, "2\r\nok\r\n0\r\n\r\n");
    CU_ASSERT_TRUE(closed);
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
    TU_ADD(s, test_unsupported_version_505);
    TU_ADD(s, test_control_chars_in_target);
    TU_ADD(s, test_half_close_gets_answer);
    TU_ADD(s, test_no_body_statuses);
    TU_ADD(s, test_body_budget);
    TU_ADD(s, test_head_and_chunk_framing);
    TU_ADD(s, test_head_waits_for_body);
    TU_ADD(s, test_head_alone_not_held);
}
