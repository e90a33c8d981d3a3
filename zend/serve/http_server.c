/* http_server.c -- connections of the inbound HTTP server: accepting,
 * reading and handing requests over (the llhttp callbacks that build them
 * are in http_parse.c), timeouts, output, the response API, closing. */
#include "http_server.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptor.h"
#include "common.h"
#include "http_conn.h"
#include "log.h"
#include "secret.h"
#include "timeutil.h"

_Static_assert(HTTP_REQUEST_ID_LEN == ZSEC_REQUEST_ID_LEN, "a request id is a zsec_request_id");

#define HTTP_READ_CHUNK 16384
/* After an error response, keep reading (and discarding) briefly so the
 * client sees our answer instead of a reset caused by its unread upload. */
#define HTTP_LINGER_S 2.0
#define HTTP_LINGER_MAX_BYTES (64u * 1024 * 1024)
/* After a client's EOF, the reset a closed socket answers our probe with is
 * looked for this long (first check, then doubling), then the client is
 * taken to have only half-closed. */
#define HTTP_EOF_PROBE_FIRST_S 0.005
#define HTTP_EOF_PROBE_CHECKS 10

static void conn_free(struct http_conn *c);
static void conn_mark_dead(struct http_conn *c);
static void process_input(struct http_conn *c);
static void start_closing(struct http_conn *c);

/* ---- timers ---- */

static void arm_timer(struct http_conn *c, double seconds)
{
    ev_timer_stop(c->srv->loop, &c->timer);
    if (seconds > 0) {
        ev_timer_set(&c->timer, seconds, 0.);
        ev_timer_start(c->srv->loop, &c->timer);
    }
}

static void arm_state_timer(struct http_conn *c)
{
    const struct http_limits *l = &c->srv->limits;
    switch (c->state) {
    case CONN_IDLE:
        /* A connection that never sent a byte is held to the header budget
         * (slowloris); one that finished a request gets the keep-alive one. */
        arm_timer(c, c->fresh ? l->header_timeout_s : l->keepalive_timeout_s);
        break;
    case CONN_HEAD:
        break; /* armed once when the head starts; more bytes do not extend it */
    case CONN_BODY: {
        /* A gap may last body_timeout_s, but never past the whole-body
         * deadline (a body dripping one byte a second). */
        double left = c->body_deadline_s - ztime_mono_s();
        double gap = l->body_timeout_s;
        arm_timer(c, left < gap ? (left > 0.001 ? left : 0.001) : gap);
        break;
    }
    case CONN_HANDLING:
        arm_timer(c, zbuf_len(&c->out) ? l->write_stall_timeout_s : 0);
        break;
    case CONN_CLOSING:
        break;
    }
}

static void reject(struct http_conn *c, int status);

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct http_conn *c = w->data;
    switch (c->state) {
    case CONN_IDLE:
    case CONN_HEAD:
        conn_free(c); /* nothing to answer: the head never arrived */
        break;
    case CONN_BODY:
        reject(c, 408);
        break;
    case CONN_HANDLING:
        zlog_pack(ZLOG_WARN, "client_write_stalled", "{s:s, s:I}", "request_id",
                  c->req ? c->req->request_id : "", "queued_bytes",
                  (json_int_t)zbuf_len(&c->out));
        conn_mark_dead(c);
        break;
    case CONN_CLOSING:
        conn_free(c);
        break;
    }
}

/* ---- output ---- */

static void conn_uncork(struct http_conn *c)
{
    if (!c->corked)
        return;
    c->corked = 0;
    LIST_REMOVE(c, corked_link);
}

/* The head just queued goes out with the first body bytes (one send instead
 * of two), or before the loop next waits for events, whichever is first. */
static void conn_cork(struct http_conn *c)
{
    if (c->corked)
        return;
    c->corked = 1;
    LIST_INSERT_HEAD(&c->srv->corked, c, corked_link);
    if (!ev_is_active(&c->srv->uncork))
        ev_prepare_start(c->srv->loop, &c->srv->uncork);
}

static void uncork_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
    struct http_server *s = w->data;
    while (!LIST_EMPTY(&s->corked))
        http_conn_send(LIST_FIRST(&s->corked)); /* uncorks it */
    ev_prepare_stop(loop, w);
}

static void write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct http_conn *c = w->data;
    http_conn_send(c);
    if (c->dead || c->state == CONN_CLOSING)
        return;
    if (c->want_writable && zbuf_len(&c->out) <= HTTP_OUTPUT_LOW_WATER && c->handler_active) {
        c->want_writable = 0;
        c->srv->cb.on_writable(c->srv->ctx, c, c->handler_data);
    }
}

/* Sends what it can now; the write watcher does the rest. Never frees c,
 * except in CLOSING once everything is out (then nobody else holds c). */
void http_conn_send(struct http_conn *c)
{
    struct ev_loop *loop = c->srv->loop;
    conn_uncork(c);
    while (zbuf_len(&c->out) > 0 && !c->dead) {
        ssize_t n = send(c->fd, zbuf_head(&c->out), zbuf_len(&c->out), MSG_NOSIGNAL);
        if (n > 0) {
            zbuf_consume(&c->out, (size_t)n);
            if (c->state == CONN_HANDLING)
                arm_timer(c, c->srv->limits.write_stall_timeout_s);
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ev_io_start(loop, &c->write_io);
            return;
        }
        conn_mark_dead(c);
        return;
    }
    ev_io_stop(loop, &c->write_io);
    if (c->state == CONN_HANDLING)
        arm_timer(c, 0);
    if (c->state == CONN_CLOSING && !c->dead) {
        /* Everything is out: half-close and linger for the client's EOF. */
        shutdown(c->fd, SHUT_WR);
        ev_io_start(loop, &c->read_io);
        arm_timer(c, HTTP_LINGER_S);
    }
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 413: return "Content Too Large";
    case 422: return "Unprocessable Content";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 529: return "Overloaded";
    default: return "Status";
    }
}

/* ---- response API ---- */

void http_conn_set_handler_data(struct http_conn *c, void *data) { c->handler_data = data; }

uint64_t http_response_bytes(const struct http_conn *c) { return c->resp_bytes; }

int http_response_started(const struct http_conn *c) { return c->resp_started; }

int http_conn_peer_eof(const struct http_conn *c) { return c->peer_eof || c->dead; }

void http_response_begin(struct http_conn *c, int status, const struct http_header *headers,
                         size_t n_headers, int64_t content_length)
{
    if (c->resp_started || c->dead)
        return;
    struct http_request *r = c->req;
    c->resp_started = 1;
    c->resp_keep_alive = r->keep_alive && !c->upgrade && !c->srv->draining;
    int http11 = r->http_minor >= 1;
    /* 1xx, 204 and 304 have no body and no framing headers (RFC 9110
     * 8.6, 15.3.5, 15.4.5): a "Content-Length: 0" on a 204 is wrong. */
    c->resp_no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
    if (c->resp_no_body)
        content_length = -2;
    c->resp_chunked = content_length == -1 && http11;
    if (content_length == -1 && !http11)
        c->resp_keep_alive = 0; /* close-delimited body */
    zbuf *o = &c->out;
    zbuf_append_str(o, http11 ? "HTTP/1.1 " : "HTTP/1.0 ");
    zbuf_append_int(o, status);
    zbuf_append(o, " ", 1);
    zbuf_append_str(o, reason_phrase(status));
    zbuf_append(o, "\r\n", 2);
    for (size_t i = 0; i < n_headers; i++) {
        zbuf_append_str(o, headers[i].name);
        zbuf_append(o, ": ", 2);
        zbuf_append_str(o, headers[i].value);
        zbuf_append(o, "\r\n", 2);
    }
    zbuf_append_str(o, "x-zen-request-id: ");
    zbuf_append_str(o, r->request_id);
    zbuf_append(o, "\r\n", 2);
    if (content_length >= 0) {
        zbuf_append_str(o, "Content-Length: ");
        zbuf_append_int(o, content_length);
        zbuf_append(o, "\r\n", 2);
    } else if (c->resp_chunked) {
        zbuf_append_str(o, "Transfer-Encoding: chunked\r\n");
    }
    if (!c->resp_keep_alive)
        zbuf_append_str(o, "Connection: close\r\n");
    else if (!http11)
        zbuf_append_str(o, "Connection: keep-alive\r\n");
    zbuf_append(o, "\r\n", 2);
    conn_cork(c);
}

int http_response_write(struct http_conn *c, const void *data, size_t len)
{
    if (c->dead)
        return HTTP_WRITE_DEAD;
    if (len == 0 || c->resp_no_body)
        return HTTP_WRITE_OK;
    if (c->resp_chunked) {
        zbuf_append_uint(&c->out, len, 16);
        zbuf_append(&c->out, "\r\n", 2);
    }
    zbuf_append(&c->out, data, len);
    if (c->resp_chunked)
        zbuf_append(&c->out, "\r\n", 2);
    c->resp_bytes += len;
    http_conn_send(c);
    if (c->dead)
        return HTTP_WRITE_DEAD;
    if (zbuf_len(&c->out) > HTTP_OUTPUT_HIGH_WATER) {
        c->want_writable = 1;
        return HTTP_WRITE_FULL;
    }
    return HTTP_WRITE_OK;
}

static void defer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct http_conn *c = w->data;
    if (c->dead) {
        if (c->handler_active) {
            c->handler_active = 0;
            c->srv->cb.on_abort(c->srv->ctx, c, c->handler_data);
        }
        conn_free(c);
        return;
    }
    process_input(c);
}

static void schedule_defer(struct http_conn *c)
{
    if (!ev_is_active(&c->defer)) {
        ev_timer_set(&c->defer, 0., 0.);
        ev_timer_start(c->srv->loop, &c->defer);
    }
}

/* The handler is done with the request: serve the next or close. */
static void conn_response_done(struct http_conn *c, int keep_alive)
{
    c->handler_active = 0;
    c->handler_data = NULL;
    c->want_writable = 0;
    http_request_free(c->req);
    c->req = NULL;
    http_body_release(c);
    c->resp_started = 0;
    c->resp_chunked = 0;
    c->resp_no_body = 0;
    c->resp_bytes = 0;
    if (c->dead) {
        schedule_defer(c);
        return;
    }
    /* A half-closed client is answered, pipelined requests included, and
     * the connection ends when nothing it sent is left. */
    if (!keep_alive || c->srv->draining || (c->peer_eof && zbuf_len(&c->in) == 0)) {
        start_closing(c);
        return;
    }
    c->state = CONN_IDLE;
    c->message_done = 0;
    c->head_bytes = 0;
    llhttp_resume(&c->parser);
    if (!c->peer_eof)
        ev_io_start(c->srv->loop, &c->read_io);
    arm_state_timer(c);
    if (zbuf_len(&c->in) > 0)
        schedule_defer(c); /* a pipelined request is waiting */
}

void http_response_end(struct http_conn *c)
{
    if (c->resp_chunked && !c->dead)
        zbuf_append_str(&c->out, "0\r\n\r\n");
    http_conn_send(c);
    conn_response_done(c, c->resp_keep_alive);
}

void http_response_abort(struct http_conn *c)
{
    http_conn_send(c);
    conn_response_done(c, 0);
}

void http_respond(struct http_conn *c, int status, const struct http_header *headers,
                  size_t n_headers, const char *body, size_t body_len)
{
    http_response_begin(c, status, headers, n_headers, (int64_t)body_len);
    http_response_write(c, body, body_len);
    http_response_end(c);
}

/* The Anthropic error envelope, with up to 3 extra headers. */
static void respond_error_with(struct http_conn *c, int status, const char *type,
                               const char *message, const struct http_header *extra,
                               size_t n_extra)
{
    json_t *doc = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type", type,
                            "message", message);
    char *body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    struct http_header h[4] = {{"Content-Type", "application/json"}};
    size_t n = 1;
    for (size_t i = 0; i < n_extra && n < ZEN_ARRAY_LEN(h); i++)
        h[n++] = extra[i];
    const char *text = body ? body : "{\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}";
    http_respond(c, status, h, n, text, strlen(text));
    free(body);
}

void http_respond_error(struct http_conn *c, int status, const char *type, const char *message)
{
    respond_error_with(c, status, type, message, NULL, 0);
}

/* ---- input ---- */

static void start_closing(struct http_conn *c)
{
    c->state = CONN_CLOSING;
    ev_io_stop(c->srv->loop, &c->read_io);
    arm_timer(c, c->srv->limits.write_stall_timeout_s);
    http_conn_send(c);
}

/* The server's own refusals: answer, then close. */
static void reject(struct http_conn *c, int status)
{
    const char *type = "invalid_request_error", *msg = "malformed HTTP request";
    /* The body will not be kept (what still arrives is discarded). */
    http_body_release(c);
    switch (status) {
    case 408: type = "timeout_error"; msg = "request body not received in time"; break;
    case 413: type = "request_too_large"; msg = "request body exceeds daemon.max_body_bytes"; break;
    case 431: type = "request_too_large"; msg = "request headers exceed daemon.max_header_bytes"; break;
    case 505: msg = "HTTP version not supported (HTTP/1.0 and HTTP/1.1 are)"; break;
    case 503:
        type = "overloaded_error";
        msg = "request bodies in flight exceed daemon.max_body_bytes_total; retry shortly";
        break;
    default: break;
    }
    if (c->reject_msg)
        msg = c->reject_msg;
    if (c->srv->cb.on_rejected)
        c->srv->cb.on_rejected(c->srv->ctx, status);
    if (!c->req) {
        c->req = calloc(1, sizeof(*c->req));
        if (!c->req) {
            conn_free(c);
            return;
        }
    }
    if (!c->req->request_id[0])
        zsec_request_id(c->req->request_id);
    c->req->keep_alive = 0;
    c->req->http_minor = 1;
    c->state = CONN_HANDLING;
    c->handler_active = 0;
    if (status == 503) {
        static const struct http_header retry = {"retry-after", "1"};
        respond_error_with(c, status, type, msg, &retry, 1);
        return;
    }
    http_respond_error(c, status, type, msg);
}

static void begin_request(struct http_conn *c)
{
    c->req = calloc(1, sizeof(*c->req));
    if (!c->req) {
        conn_mark_dead(c);
        return;
    }
    zbuf_init(&c->req->body);
    zsec_request_id(c->req->request_id);
    c->state = CONN_HEAD;
    c->fresh = 0;
    arm_timer(c, c->srv->limits.header_timeout_s);
}

/* An EOF from the client means either "I will send no more" (shutdown
 * SHUT_WR: it still reads, and is owed its answer) or "I am gone" (close:
 * whatever runs for it is wasted, and a queued request must leave the queue
 * at once). Only a write tells them apart: a closed socket answers it with
 * a reset, which TCP_INFO then shows as TCP_CLOSE. The write is an interim
 * "100 Continue", which an HTTP/1.1 client must accept even unasked (RFC
 * 9110 15.2); an HTTP/1.0 client gets none and is simply answered. */
static void eof_probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct http_conn *c = w->data;
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_CLOSE) {
        conn_mark_dead(c);
        return;
    }
    if (++c->eof_checks >= HTTP_EOF_PROBE_CHECKS)
        return; /* no reset came: half-closed, and still reading */
    ev_timer_set(w, HTTP_EOF_PROBE_FIRST_S * (double)(1 << c->eof_checks), 0.);
    ev_timer_start(loop, w);
}

static void eof_probe_start(struct http_conn *c)
{
    if (c->eof_probed || c->dead || c->resp_started || !c->req || c->req->http_minor < 1)
        return;
    c->eof_probed = 1;
    zbuf_append_str(&c->out, "HTTP/1.1 100 Continue\r\n\r\n");
    http_conn_send(c);
    if (c->dead)
        return; /* the write failed already: gone */
    ev_timer_set(&c->eof_probe, HTTP_EOF_PROBE_FIRST_S, 0.);
    ev_timer_start(c->srv->loop, &c->eof_probe);
}

static void dispatch(struct http_conn *c)
{
    c->state = CONN_HANDLING;
    c->handler_active = 1;
    c->handler_data = NULL;
    arm_timer(c, 0);
    c->srv->cb.on_request(c->srv->ctx, c, c->req);
    /* The request and the EOF came together; the handler may have answered. */
    if (c->peer_eof && c->state == CONN_HANDLING && c->handler_active)
        eof_probe_start(c);
}

static void process_input(struct http_conn *c)
{
    while (!c->dead && (c->state == CONN_IDLE || c->state == CONN_HEAD ||
                        c->state == CONN_BODY) && zbuf_len(&c->in) > 0) {
        if (c->state == CONN_IDLE) {
            begin_request(c);
            if (c->dead)
                break;
        }
        const char *data = (const char *)zbuf_head(&c->in);
        size_t len = zbuf_len(&c->in);
        llhttp_errno_t err = llhttp_execute(&c->parser, data, len);
        size_t used = len;
        if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
            used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
            if (err == HPE_PAUSED_UPGRADE)
                c->upgrade = 1;
            if (used == 0 && !c->message_done) {
                /* A parser stuck in a pause would spin here forever. */
                zbuf_consume(&c->in, len);
                reject(c, 400);
                return;
            }
        } else if (err != HPE_OK) {
            zbuf_consume(&c->in, len);
            /* llhttp refuses "HTTP/1.2", "HTTP/3.1" itself: still a 505. */
            if (err == HPE_INVALID_VERSION && !c->reject_status)
                c->reject_status = 505;
            reject(c, c->reject_status ? c->reject_status : 400);
            return;
        }
        zbuf_consume(&c->in, used);
        if (c->state == CONN_BODY)
            arm_state_timer(c); /* body progress resets the stall timer */
        if (c->message_done) {
            dispatch(c);
            return; /* the rest waits until the response is done */
        }
    }
    /* The client half-closed and what it sent is not a whole request (or
     * nothing): nobody is waiting for an answer. */
    if (c->peer_eof && !c->dead &&
        (c->state == CONN_IDLE || c->state == CONN_HEAD || c->state == CONN_BODY))
        conn_free(c);
}

static void read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct http_conn *c = w->data;
    char buf[HTTP_READ_CHUNK];
    for (;;) {
        ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
        if (n > 0) {
            /* A read shorter than asked emptied the socket: the next recv
             * would only say EAGAIN. What arrives later (more bytes, the
             * EOF) wakes the level-triggered watcher again. */
            int drained = (size_t)n < sizeof(buf);
            if (c->state == CONN_CLOSING) {
                c->linger_bytes += (size_t)n;
                if (c->linger_bytes > HTTP_LINGER_MAX_BYTES) {
                    conn_free(c);
                    return;
                }
                if (drained)
                    return;
                continue; /* discard: we are only waiting for the client's EOF */
            }
            zbuf_append(&c->in, buf, (size_t)n);
            if (c->state == CONN_HANDLING && zbuf_len(&c->in) > HTTP_MAX_PIPELINE_BYTES) {
                ev_io_stop(loop, &c->read_io); /* resumes when the response ends */
                break;
            }
            if (drained)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n == 0 && c->state != CONN_CLOSING) {
            /* EOF: the client may only have shut down its sending side
             * (shutdown(SHUT_WR)) and still read. A complete request is
             * answered; only a failed write or EOF inside a request ends
             * it (process_input decides once the input is parsed). */
            c->peer_eof = 1;
            ev_io_stop(loop, &c->read_io);
            if (c->state == CONN_HANDLING) {
                eof_probe_start(c);
                return;
            }
            break;
        }
        /* An error, or EOF while lingering: the client is gone. */
        if (c->state == CONN_HANDLING && c->handler_active) {
            conn_mark_dead(c);
        } else {
            conn_free(c);
        }
        return;
    }
    if (c->state != CONN_HANDLING && c->state != CONN_CLOSING)
        process_input(c);
}

/* ---- connection lifecycle ---- */

static void conn_mark_dead(struct http_conn *c)
{
    if (c->dead)
        return;
    c->dead = 1;
    ev_io_stop(c->srv->loop, &c->read_io);
    ev_io_stop(c->srv->loop, &c->write_io);
    ev_timer_stop(c->srv->loop, &c->timer);
    ev_timer_stop(c->srv->loop, &c->eof_probe);
    conn_uncork(c);
    schedule_defer(c);
}

static void conn_free(struct http_conn *c)
{
    struct http_server *s = c->srv;
    if (c->handler_active) {
        c->handler_active = 0;
        s->cb.on_abort(s->ctx, c, c->handler_data);
    }
    ev_io_stop(s->loop, &c->read_io);
    ev_io_stop(s->loop, &c->write_io);
    ev_timer_stop(s->loop, &c->timer);
    ev_timer_stop(s->loop, &c->defer);
    ev_timer_stop(s->loop, &c->eof_probe);
    conn_uncork(c);
    close(c->fd);
    http_request_free(c->req);
    http_body_release(c);
    zbuf_free(&c->in);
    zbuf_free(&c->out);
    zbuf_free(&c->hfield);
    zbuf_free(&c->hvalue);
    LIST_REMOVE(c, link);
    s->nconns--;
    free(c);
    if (s->cb.on_connections)
        s->cb.on_connections(s->ctx, s->nconns);
}

static void on_accept(void *ctx, int fd)
{
    struct http_server *s = ctx;
    /* SSE events must leave as soon as they are written. */
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct http_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return;
    }
    c->srv = s;
    c->fd = fd;
    c->fresh = 1;
    c->state = CONN_IDLE;
    llhttp_init(&c->parser, HTTP_REQUEST, &s->settings);
    c->parser.data = c;
    ev_io_init(&c->read_io, read_cb, fd, EV_READ);
    ev_io_init(&c->write_io, write_cb, fd, EV_WRITE);
    ev_timer_init(&c->timer, timer_cb, 0., 0.);
    ev_timer_init(&c->defer, defer_cb, 0., 0.);
    ev_timer_init(&c->eof_probe, eof_probe_cb, 0., 0.);
    c->read_io.data = c->write_io.data = c->timer.data = c->defer.data = c->eof_probe.data = c;
    LIST_INSERT_HEAD(&s->conns, c, link);
    s->nconns++;
    ev_io_start(s->loop, &c->read_io);
    arm_state_timer(c);
    if (s->cb.on_connections)
        s->cb.on_connections(s->ctx, s->nconns);
}

/* ---- server ---- */

struct http_server *http_server_new(struct ev_loop *loop, int listen_fd,
                                    const struct http_limits *limits,
                                    const struct http_callbacks *cb, void *ctx)
{
    struct http_server *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->loop = loop;
    s->listen_fd = listen_fd;
    s->limits = *limits;
    s->cb = *cb;
    s->ctx = ctx;
    http_parse_settings_init(&s->settings);
    LIST_INIT(&s->corked);
    ev_prepare_init(&s->uncork, uncork_cb);
    s->uncork.data = s;
    acceptor_init(&s->acceptor, loop, listen_fd, "proxy", on_accept, s);
    return s;
}

void http_server_set_limits(struct http_server *s, const struct http_limits *limits)
{
    s->limits = *limits;
}

void http_server_start(struct http_server *s) { acceptor_start(&s->acceptor); }

void http_server_stop_accepting(struct http_server *s)
{
    acceptor_stop(&s->acceptor);
}

void http_server_free(struct http_server *s)
{
    if (!s)
        return;
    http_server_stop_accepting(s);
    s->cb.on_connections = NULL;
    while (!LIST_EMPTY(&s->conns))
        conn_free(LIST_FIRST(&s->conns));
    ev_prepare_stop(s->loop, &s->uncork);
    free(s);
}

size_t http_server_connection_count(const struct http_server *s) { return s->nconns; }

size_t http_server_body_bytes_held(const struct http_server *s) { return s->body_bytes_held; }

void http_server_drain(struct http_server *s)
{
    http_server_stop_accepting(s);
    s->draining = 1;
    struct http_conn *c = LIST_FIRST(&s->conns), *next;
    for (; c; c = next) {
        next = LIST_NEXT(c, link);
        if (c->state == CONN_IDLE && zbuf_len(&c->in) == 0)
            conn_free(c);
    }
}
