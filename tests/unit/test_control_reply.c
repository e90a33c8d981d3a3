/* test_control_reply.c -- deferred answers on the control socket
 * (control_reply_defer / control_reply_send): the answer arrives later on
 * the right msgid, a connection closed before the answer costs nothing, and
 * a server closed with answers owed leaves valid tokens. */
#include <ev.h>
#include <jansson.h>
#include <poll.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "buf.h"
#include "control.h"
#include "rpc.h"
#include "testutil.h"
#include "timeutil.h"

static struct ev_loop *loop;
static struct control_reply *held[4];
static int n_held;

/* "later" defers; "now" answers at once. */
static json_t *dispatch(void *ctx, struct control_conn *c, const char *method,
                        const json_t *params, struct rpc_error *err)
{
    if (strcmp(method, "later") == 0) {
        held[n_held++] = control_reply_defer(c);
        return NULL;
    }
    return json_pack("{s:s}", "now", method);
}

static int spin(int (*done)(void *), void *arg)
{
    int64_t deadline = ztime_mono_ms() + 5000;
    while (!done(arg) && ztime_mono_ms() < deadline) {
        ev_run(loop, EVRUN_NOWAIT);
        usleep(1000);
    }
    return done(arg);
}

static int client_connect(const char *path)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
    CU_ASSERT_EQUAL(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    return fd;
}

static void client_send(int fd, uint32_t msgid, const char *method)
{
    zbuf out;
    zbuf_init(&out);
    json_t *params = json_object();
    rpc_encode_request(&out, msgid, method, params);
    json_decref(params);
    CU_ASSERT_EQUAL(send(fd, zbuf_head(&out), zbuf_len(&out), 0), (ssize_t)zbuf_len(&out));
    zbuf_free(&out);
}

/* Reads one message, turning the loop meanwhile; 0 when none came. */
static int client_read(int fd, struct rpc_reader *rd, struct rpc_message *m)
{
    int64_t deadline = ztime_mono_ms() + 5000;
    struct rpc_read_error e;
    while (ztime_mono_ms() < deadline) {
        if (rpc_reader_next(rd, m, &e) == RPC_READ_MESSAGE)
            return 1;
        ev_run(loop, EVRUN_NOWAIT);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 1) == 1) {
            char buf[4096];
            ssize_t n = recv(fd, buf, sizeof(buf), 0);
            if (n <= 0)
                return 0;
            rpc_reader_feed(rd, buf, (size_t)n);
        }
    }
    return 0;
}

static int held_at_least(void *n) { return n_held >= *(int *)n; }

static int conns_zero(void *s) { return control_connection_count(s) == 0; }

struct fixture {
    char path[4200];
    int lfd;
    struct control_server *s;
};

static void fixture_up(struct fixture *f, const char *name)
{
    char err[256];
    snprintf(f->path, sizeof(f->path), "%s/%s", tu_tmpdir, name);
    f->lfd = control_bind(f->path, err, sizeof(err));
    CU_ASSERT_FATAL(f->lfd >= 0);
    f->s = control_new(f->lfd, dispatch, NULL);
    control_start(f->s, loop, 1);
    n_held = 0;
}

static void fixture_down(struct fixture *f)
{
    control_close(f->s);
    close(f->lfd);
    unlink(f->path);
}

/* A client whose request `later` (msgid) the server now holds a token for. */
static int client_with_deferred(struct fixture *f, uint32_t msgid)
{
    int fd = client_connect(f->path);
    client_send(fd, msgid, "later");
    int want = n_held + 1;
    CU_ASSERT(spin(held_at_least, &want));
    return fd;
}

static void test_answer_later_on_its_msgid(void)
{
    struct fixture f;
    fixture_up(&f, "later.sock");
    int fd = client_connect(f.path);
    struct rpc_reader rd;
    rpc_reader_init(&rd, RPC_MAX_FRAME);
    client_send(fd, 7, "later");
    client_send(fd, 8, "now");
    struct rpc_message m;
    /* The quick answer is not held up by the slow one. */
    CU_ASSERT_FATAL(client_read(fd, &rd, &m));
    CU_ASSERT_EQUAL(m.msgid, 8);
    rpc_message_clear(&m);
    CU_ASSERT_EQUAL(n_held, 1);
    CU_ASSERT_EQUAL(control_pending_replies(f.s), 1);
    control_reply_send(held[0], json_pack("{s:i}", "rows", 3), NULL);
    CU_ASSERT_EQUAL(control_pending_replies(f.s), 0);
    CU_ASSERT_FATAL(client_read(fd, &rd, &m));
    CU_ASSERT_EQUAL(m.msgid, 7);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m.result, "rows")), 3);
    rpc_message_clear(&m);
    /* An error answer carries its code and message. */
    client_send(fd, 9, "later");
    int two = 2;
    CU_ASSERT(spin(held_at_least, &two));
    struct rpc_error e = {RPC_ERR_BAD_PARAMS, "no such thing"};
    control_reply_send(held[1], NULL, &e);
    CU_ASSERT_FATAL(client_read(fd, &rd, &m));
    CU_ASSERT_EQUAL(m.msgid, 9);
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(m.error, "code")), RPC_ERR_BAD_PARAMS);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(m.error, "message")),
                           "no such thing");
    rpc_message_clear(&m);
    rpc_reader_free(&rd);
    close(fd);
    fixture_down(&f);
}

/* The client hangs up before the answer. The server cannot tell a hang-up
 * from a half-close, so the connection waits for what it owes; the answer
 * then finds the peer gone and the connection closes. Sending a token is
 * never a use after free (ASan/valgrind run this). */
static void test_closed_connection_before_answer(void)
{
    struct fixture f;
    fixture_up(&f, "closed.sock");
    int fd = client_with_deferred(&f, 1);
    close(fd);
    control_reply_send(held[0], json_object(), NULL);
    CU_ASSERT(spin(conns_zero, f.s));
    fixture_down(&f);
}

/* The connection is closed by the server (here its idle deadline) while
 * the answer is owed: the token stays valid, and sending it is a no-op
 * that frees it. */
static void test_connection_gone_before_answer(void)
{
    setenv(CONTROL_TEST_IDLE_ENV, "50", 1);
    struct fixture f;
    fixture_up(&f, "gone.sock");
    unsetenv(CONTROL_TEST_IDLE_ENV);
    int fd = client_with_deferred(&f, 1);
    close(fd);
    CU_ASSERT(spin(conns_zero, f.s));
    CU_ASSERT_EQUAL(control_pending_replies(f.s), 0);
    control_reply_send(held[0], json_object(), NULL);
    fixture_down(&f);
}

/* A half-closed client (it shut its writing side) still gets the answer it
 * is owed; then the connection closes. */
static void test_half_closed_peer_gets_its_answer(void)
{
    struct fixture f;
    fixture_up(&f, "half.sock");
    int fd = client_with_deferred(&f, 5);
    shutdown(fd, SHUT_WR);
    for (int i = 0; i < 20; i++) { /* let the server see the EOF */
        ev_run(loop, EVRUN_NOWAIT);
        usleep(1000);
    }
    CU_ASSERT_EQUAL(control_connection_count(f.s), 1);
    control_reply_send(held[0], json_pack("{s:b}", "ok", 1), NULL);
    struct rpc_reader rd;
    rpc_reader_init(&rd, RPC_MAX_FRAME);
    struct rpc_message m;
    CU_ASSERT_FATAL(client_read(fd, &rd, &m));
    CU_ASSERT_EQUAL(m.msgid, 5);
    rpc_message_clear(&m);
    rpc_reader_free(&rd);
    CU_ASSERT(spin(conns_zero, f.s));
    close(fd);
    fixture_down(&f);
}

/* The server shuts down with an answer owed: the token outlives it. */
static void test_server_closed_with_answer_owed(void)
{
    struct fixture f;
    fixture_up(&f, "down.sock");
    int fd = client_with_deferred(&f, 1);
    fixture_down(&f);
    struct rpc_error e = {RPC_ERR_SHUTTING_DOWN, "zend is shutting down"};
    control_reply_send(held[0], NULL, &e);
    close(fd);
}

static int suite_init(void)
{
    loop = ev_loop_new(EVFLAG_AUTO);
    return loop && tu_suite_init() == 0 ? 0 : -1;
}

static int suite_clean(void)
{
    ev_loop_destroy(loop);
    return tu_suite_clean();
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("control_reply", suite_init, suite_clean);
    TU_ADD(s, test_answer_later_on_its_msgid);
    TU_ADD(s, test_closed_connection_before_answer);
    TU_ADD(s, test_connection_gone_before_answer);
    TU_ADD(s, test_half_closed_peer_gets_its_answer);
    TU_ADD(s, test_server_closed_with_answer_owed);
}
