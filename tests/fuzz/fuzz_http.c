/* fuzz_http.c -- libFuzzer harness for the inbound HTTP path (zend/serve/http_server.c).
 *
 * Drives the real server, not the parser alone: one connection on a
 * socketpair is handed to the server's accept handler, the fuzz input is
 * written into the other end in a few pieces, the libev loop runs until the
 * server waits for more, and finally the client half-closes and the loop runs
 * until the connection is gone. The handler answers each request in one of
 * several ways (whole, streamed, finished later, error, aborted) so the
 * response paths and pipelining run too.
 *
 * Besides the sanitizers, two invariants abort the run:
 *   - everything the server writes must parse as HTTP/1.x responses
 *     (llhttp in response mode reports no error);
 *   - once the client has half-closed, the connection goes away within a
 *     bounded number of loop iterations (no connection is left behind).
 *
 * Input layout: byte 0 chooses how many writes the rest is split into and
 * the first response mode; byte 1 where the splits fall; the rest is what
 * the client sends. */
#include "../../zend/serve/http_server.c"

#include <sys/ioctl.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Bounded so that a stuck connection is a finding, not a hang. */
#define FUZZ_MAX_ITERATIONS 4096

enum fuzz_mode { MODE_RESPOND, MODE_STREAM, MODE_LATER, MODE_ERROR, MODE_ABORT, MODE_COUNT };

struct fuzz_state {
    unsigned mode_seed;
    unsigned requests;
    struct http_conn *later; /* MODE_LATER: a response to finish from the loop */
    int later_ticks;
};

static struct ev_loop *fuzz_loop;
static volatile size_t fuzz_sink; /* keeps request reads from being optimised away */

static void fuzz_on_request(void *ctx, struct http_conn *c, struct http_request *req)
{
    struct fuzz_state *st = ctx;
    /* Read every field the handler may read, so ASan checks them. */
    size_t touch = strlen(req->method) + strlen(req->target) + zbuf_len(&req->body);
    for (size_t i = 0; i < req->n_headers; i++)
        touch += strlen(req->headers[i].name) + strlen(req->headers[i].value);
    const char *ct = http_request_header(req, "content-type");
    touch += ct ? strlen(ct) : 0;
    fuzz_sink += touch;

    const struct http_header h[] = {{"Content-Type", "text/event-stream"}};
    const char *body = (const char *)zbuf_head(&req->body);
    size_t body_len = zbuf_len(&req->body);
    switch ((st->mode_seed + st->requests++) % MODE_COUNT) {
    case MODE_RESPOND:
        http_respond(c, 200, h, 1, body ? body : "", body ? body_len : 0);
        break;
    case MODE_STREAM:
        http_response_begin(c, 200, h, 1, -1);
        http_response_write(c, "data: {}\n\n", 10);
        if (body)
            http_response_write(c, body, body_len);
        http_response_end(c);
        break;
    case MODE_LATER:
        http_response_begin(c, 200, h, 1, -1);
        http_response_write(c, "event: ping\n\n", 13);
        http_conn_set_handler_data(c, st);
        st->later = c;
        st->later_ticks = 2;
        break;
    case MODE_ERROR:
        http_respond_error(c, 404, "not_found_error", req->target);
        break;
    case MODE_ABORT:
        http_response_begin(c, 200, h, 1, -1);
        http_response_write(c, "data: {\"partial\":", 17);
        http_response_abort(c);
        break;
    }
}

static void fuzz_on_abort(void *ctx, struct http_conn *c, void *handler_data)
{
    struct fuzz_state *st = ctx;
    if (st->later == c)
        st->later = NULL;
}

static void fuzz_on_writable(void *ctx, struct http_conn *c, void *handler_data) {}

/* Finishes a MODE_LATER response a couple of loop iterations after it began. */
static void fuzz_finish_later(struct fuzz_state *st)
{
    if (!st->later || --st->later_ticks > 0)
        return;
    struct http_conn *c = st->later;
    st->later = NULL;
    http_response_write(c, "data: [DONE]\n\n", 14);
    http_response_end(c);
}

/* The server has nothing left to do until the client sends (or closes). */
static int fuzz_server_idle(const struct http_server *s, const struct fuzz_state *st)
{
    const struct http_conn *c = LIST_FIRST(&s->conns);
    if (!c)
        return 1;
    if (st->later || c->dead || ev_is_active(&c->defer) || ev_is_pending((ev_timer *)&c->defer))
        return 0;
    if (zbuf_len(&c->out) > 0)
        return 0;
    int unread = 0;
    if (ioctl(c->fd, FIONREAD, &unread) == 0 && unread > 0)
        return 0;
    switch (c->state) {
    case CONN_IDLE:
    case CONN_HEAD:
    case CONN_BODY:
        return zbuf_len(&c->in) == 0;
    case CONN_CLOSING:
        return 1;
    case CONN_HANDLING:
        return 0;
    }
    return 1;
}

/* Reads whatever the server sent and checks it parses as responses. */
static void fuzz_drain(int fd, llhttp_t *resp)
{
    char buf[16384];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n <= 0)
            return;
        llhttp_errno_t err = llhttp_execute(resp, buf, (size_t)n);
        if (err != HPE_OK && err != HPE_PAUSED_UPGRADE) {
            fprintf(stderr, "fuzz_http: server output is not HTTP: %s (%s)\n",
                    llhttp_errno_name(err), llhttp_get_error_reason(resp));
            abort();
        }
    }
}

/* One loop iteration that cannot block, then the side effects of the handler. */
static void fuzz_step(int client_fd, llhttp_t *resp, struct fuzz_state *st)
{
    ev_run(fuzz_loop, EVRUN_NOWAIT);
    fuzz_finish_later(st);
    fuzz_drain(client_fd, resp);
}

static void fuzz_write_all(int client_fd, const uint8_t *p, size_t len, struct http_server *s,
                           llhttp_t *resp, struct fuzz_state *st)
{
    for (int i = 0; len > 0 && i < FUZZ_MAX_ITERATIONS; i++) {
        ssize_t n = send(client_fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
            return; /* the server closed: the rest is never read */
        }
        fuzz_step(client_fd, resp, st);
    }
    for (int i = 0; i < FUZZ_MAX_ITERATIONS && !fuzz_server_idle(s, st); i++)
        fuzz_step(client_fd, resp, st);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    if (zsec_init() != ZEN_OK)
        abort();
    /* A private loop: the default one would install signal handling. */
    fuzz_loop = ev_loop_new(EVFLAG_AUTO);
    if (!fuzz_loop)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned pieces = 1 + (data[0] & 0x03u);     /* 1..4 writes */
    unsigned mode_seed = (data[0] >> 2) % MODE_COUNT;
    unsigned split = data[1];
    data += 2;
    size -= 2;

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) != 0)
        abort();
    /* Small limits so every limit can be hit with fuzzer-sized inputs. */
    const struct http_limits limits = {
        .max_header_bytes = 2048,
        .max_body_bytes = 8192,
        /* Long enough never to fire during one input: timers are not fuzzed. */
        .header_timeout_s = 300,
        .body_timeout_s = 300,
        .keepalive_timeout_s = 300,
        .write_stall_timeout_s = 300,
        .max_body_bytes_total = 16384, /* two bodies at the limit: the budget is hit too */
        .body_total_timeout_s = 300,
    };
    struct fuzz_state st = {.mode_seed = mode_seed};
    const struct http_callbacks cb = {
        .on_request = fuzz_on_request,
        .on_abort = fuzz_on_abort,
        .on_writable = fuzz_on_writable,
    };
    struct http_server *s = http_server_new(fuzz_loop, -1, &limits, &cb, &st);
    if (!s)
        abort();
    on_accept(s, sv[0]); /* the server owns sv[0] from here */

    llhttp_settings_t rs;
    llhttp_settings_init(&rs);
    llhttp_t resp;
    llhttp_init(&resp, HTTP_RESPONSE, &rs);

    /* Split points: piece k ends at about k/pieces of the input, moved by `split`. */
    size_t off = 0;
    for (unsigned k = 1; k <= pieces; k++) {
        size_t end = k == pieces ? size : size * k / pieces;
        if (k < pieces && size > 0)
            end = (end + split * k) % (size + 1);
        if (end < off)
            end = off;
        fuzz_write_all(sv[1], data + off, end - off, s, &resp, &st);
        off = end;
    }

    shutdown(sv[1], SHUT_WR);
    for (int i = 0; i < FUZZ_MAX_ITERATIONS && s->nconns > 0; i++)
        fuzz_step(sv[1], &resp, &st);
    if (s->nconns > 0) {
        const struct http_conn *c = LIST_FIRST(&s->conns);
        fprintf(stderr, "fuzz_http: connection left behind after the client closed: state %d "
                "dead %d in %zu out %zu later %d\n", (int)c->state, c->dead,
                zbuf_len(&c->in), zbuf_len(&c->out), st.later != NULL);
        abort();
    }
    fuzz_drain(sv[1], &resp);

    http_server_free(s);
    close(sv[1]);
    return 0;
}
