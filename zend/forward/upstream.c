#include "upstream.h"

#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "common.h"
#include "grow.h"
#include "log.h"
#include "timeutil.h"

/* Cached connections to providers older than this are not reused (curl's
 * MAXAGE_CONN): a conversation's next turn finds its connection, a stale one
 * is not kept for ever. */
#define UPSTREAM_MAX_CONN_AGE_S 90L
/* Idle connections kept for reuse, over all providers. */
#define UPSTREAM_MAX_IDLE_CONNS 256L
#define UPSTREAM_MAX_RESPONSE_HEADERS 256
/* A provider's head fits here (Anthropic's has ~25 lines); a longer one
 * moves to the heap. 256 inline were 4 KB of every open stream. */
#define UPSTREAM_INLINE_HEADERS 32
#define UPSTREAM_POOL_MAX 64 /* easy handles kept for reuse */
/* ... and kept once idle (upstream_shrink_pool): each is ~5 KB, and 64 of them
 * made during a burst lie scattered over the heap, holding its pages. */
#define UPSTREAM_POOL_IDLE 4
/* curl's receive buffer, one per transfer for its whole life (default
 * 16 KiB): a stream's events are a few hundred bytes each, and 16 KiB was a
 * third of an open stream's memory. A large JSON answer takes more reads. */
#define UPSTREAM_RECV_BUFFER 4096L

struct upstream {
    struct ev_loop *loop;
    CURLM *multi;
    ev_timer timer;                 /* curl's own timeout */
    LIST_HEAD(, upstream_transfer) active;
    size_t nactive;
    long max_idle_conns; /* UPSTREAM_MAX_IDLE_CONNS, or a test's */
    CURL *pool[UPSTREAM_POOL_MAX];  /* idle easy handles */
    size_t npool;
    /* curl forbids removing handles from inside its callbacks; a cancel
     * requested there is carried out by this zero-delay timer instead. */
    int in_callback;
    ev_timer reap_timer;
};

struct upstream_transfer {
    struct upstream *u;
    LIST_ENTRY(upstream_transfer) link; /* in upstream.active */
    CURL *easy;
    struct upstream_callbacks cb;
    void *ud;
    ev_timer first_byte_timer;
    ev_timer idle_timer;
    ev_timer total_timer;
    double idle_timeout_s;
    double first_byte_timeout_s;
    double start_s;
    int status;
    int head_done;
    int want_pause;         /* the next body chunk is refused with CURL_WRITEFUNC_PAUSE */
    int paused;
    int aborted;            /* on_body asked to stop */
    int cancelled;          /* upstream_cancel ran inside a callback: reap soon */
    int timed_out;          /* enum upstream_result of the timer that fired */
    long idle_timeout_ms, first_byte_timeout_ms, total_timeout_ms; /* for details */
    size_t head_bytes;      /* of the head being received */
    int content_lengths;    /* Content-Length lines in it */
    int64_t content_length; /* the first one's value */
    int transfer_encoding;  /* a Transfer-Encoding line in it */
    char bad_response[160]; /* why the head was refused; "" = it was not */
    struct http_header *headers; /* headers_inline, or a heap array once that is full */
    size_t n_headers, headers_cap;
    char errbuf[CURL_ERROR_SIZE];
    /* Last, and not zeroed by upstream_start: only [0, n_headers) is read. */
    struct http_header headers_inline[UPSTREAM_INLINE_HEADERS];
};

/* Per-socket state curl asks us to watch. */
struct sock_watch {
    ev_io io;
    struct upstream *u;
};

static void check_multi_info(struct upstream *u);

const char *upstream_result_name(int result)
{
    switch (result) {
    case UPSTREAM_OK: return "ok";
    case UPSTREAM_ERR_NETWORK: return "network error";
    case UPSTREAM_ERR_CONNECT_TIMEOUT: return "connect timeout";
    case UPSTREAM_ERR_FIRST_BYTE_TIMEOUT: return "first-byte timeout";
    case UPSTREAM_ERR_IDLE_TIMEOUT: return "idle timeout";
    case UPSTREAM_ERR_TOTAL_TIMEOUT: return "total timeout";
    case UPSTREAM_ERR_ABORTED: return "aborted";
    case UPSTREAM_ERR_BAD_RESPONSE: return "invalid upstream response";
    }
    return "unknown";
}

/* ---- curl <-> libev glue ---- */

static void socket_action(struct upstream *u, curl_socket_t fd, int action)
{
    int running;
    curl_multi_socket_action(u->multi, fd, action, &running);
    check_multi_info(u);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sock_watch *sw = w->data;
    int action = (revents & EV_READ ? CURL_CSELECT_IN : 0) |
                 (revents & EV_WRITE ? CURL_CSELECT_OUT : 0);
    socket_action(sw->u, w->fd, action);
}

static void multi_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    socket_action(w->data, CURL_SOCKET_TIMEOUT, 0);
}

static int sock_cb(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    struct upstream *u = userp;
    struct sock_watch *sw = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (sw) {
            ev_io_stop(u->loop, &sw->io);
            free(sw);
            curl_multi_assign(u->multi, s, NULL);
        }
        return 0;
    }
    if (!sw) {
        sw = calloc(1, sizeof(*sw));
        if (!sw)
            return -1;
        sw->u = u;
        curl_multi_assign(u->multi, s, sw);
    } else {
        ev_io_stop(u->loop, &sw->io);
    }
    int events = (what & CURL_POLL_IN ? EV_READ : 0) | (what & CURL_POLL_OUT ? EV_WRITE : 0);
    ev_io_init(&sw->io, io_cb, s, events);
    sw->io.data = sw;
    ev_io_start(u->loop, &sw->io);
    return 0;
}

static int multi_timer_set(CURLM *multi, long timeout_ms, void *userp)
{
    struct upstream *u = userp;
    ev_timer_stop(u->loop, &u->timer);
    if (timeout_ms >= 0) {
        /* Seconds as a double: integer division would fire sub-second
         * timeouts at once (the evhiperfifo example's bug). */
        ev_timer_set(&u->timer, (double)timeout_ms / 1000.0, 0.);
        ev_timer_start(u->loop, &u->timer);
    }
    return 0;
}

/* ---- per-transfer callbacks ---- */

static void stop_timers(struct upstream_transfer *t)
{
    ev_timer_stop(t->u->loop, &t->first_byte_timer);
    ev_timer_stop(t->u->loop, &t->idle_timer);
    ev_timer_stop(t->u->loop, &t->total_timer);
}

static void free_headers(struct upstream_transfer *t)
{
    for (size_t i = 0; i < t->n_headers; i++) {
        free(t->headers[i].name);
        free(t->headers[i].value);
    }
    t->n_headers = 0;
    zgrow_free(t->headers, t->headers_inline);
    t->headers = t->headers_inline;
    t->headers_cap = UPSTREAM_INLINE_HEADERS;
}

/* 32 inline, then doubling on the heap up to the most relayed. */
static const struct zgrow_policy headers_growth = {UPSTREAM_INLINE_HEADERS, 2,
                                                   UPSTREAM_MAX_RESPONSE_HEADERS};

/* Room for one more header line: 0, or -1 when there is none (too many,
 * or out of memory). */
static int headers_room(struct upstream_transfer *t)
{
    struct http_header *room = zgrow_room(t->headers, t->n_headers, &t->headers_cap,
                                          sizeof(*room), t->headers_inline, &headers_growth);
    if (!room)
        return -1;
    t->headers = room;
    return 0;
}

static void release_easy(struct upstream *u, CURL *easy)
{
    if (u->npool < UPSTREAM_POOL_MAX) {
        curl_easy_reset(easy);
        u->pool[u->npool++] = easy;
    } else {
        curl_easy_cleanup(easy);
    }
}

/* curl counts every connection, busy or idle, against MAXCONNECTS, and
 * when a transfer ends with the count over it, walks all of them for the
 * oldest idle one to close. A fixed bound below the number of transfers
 * meant every connection was closed as its transfer ended (no reuse: a new
 * connection, and with TLS a new handshake, per request) after a walk of
 * thousands of connections (~10 % of zend's CPU with 2,000 streams open).
 * So the bound follows the transfers: when one ends, its own connection
 * has just gone idle and the others are busy (one connection each, over
 * HTTP/1.1), so nactive - 1 + max_idle leaves at most max_idle idle. */
static void bound_idle_connections(struct upstream *u)
{
    long busy = u->nactive > 0 ? (long)u->nactive - 1 : 0;
    curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, busy + u->max_idle_conns);
}

void upstream_shrink_pool(struct upstream *u)
{
    while (u->npool > UPSTREAM_POOL_IDLE)
        curl_easy_cleanup(u->pool[--u->npool]);
}

/* Unlinks and frees a transfer; its easy handle goes back to the pool. */
static void transfer_free(struct upstream_transfer *t)
{
    struct upstream *u = t->u;
    stop_timers(t);
    curl_multi_remove_handle(u->multi, t->easy);
    release_easy(u, t->easy);
    free_headers(t);
    LIST_REMOVE(t, link);
    u->nactive--;
    bound_idle_connections(u);
    free(t);
}

static void rearm_idle(struct upstream_transfer *t)
{
    if (t->idle_timeout_s > 0 && !t->paused) {
        ev_timer_stop(t->u->loop, &t->idle_timer);
        ev_timer_set(&t->idle_timer, t->idle_timeout_s, 0.);
        ev_timer_start(t->u->loop, &t->idle_timer);
    }
}

static void trim(char **s, size_t *len)
{
    while (*len > 0 && isspace((unsigned char)(*s)[0])) {
        (*s)++;
        (*len)--;
    }
    while (*len > 0 && isspace((unsigned char)(*s)[*len - 1]))
        (*len)--;
}

/* Refuses the head being received: returning anything but the line length
 * from the header callback makes curl fail the transfer, and check_multi_info
 * reports bad_response instead of curl's "write error". */
__attribute__((format(printf, 2, 3)))
static size_t refuse_head(struct upstream_transfer *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->bad_response, sizeof(t->bad_response), fmt, ap);
    va_end(ap);
    return 0;
}

/* Digits only, no sign, no list: "5", not "+5", "5, 5" or "0x5". */
static int parse_content_length(const char *v, size_t n, int64_t *out)
{
    if (n == 0 || n > 18)
        return ZEN_ERR;
    int64_t x = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return ZEN_ERR;
        x = x * 10 + (v[i] - '0');
    }
    *out = x;
    return ZEN_OK;
}

/* Framing headers of the head being received. A response with two
 * answers to "how long is the body" is how a fake second response gets
 * smuggled onto the client's keep-alive connection: such a head fails the
 * attempt instead of being relayed. */
static size_t note_framing(struct upstream_transfer *t, const char *name, size_t nlen,
                           const char *value, size_t vlen)
{
    if (nlen == strlen("content-length") && strncasecmp(name, "content-length", nlen) == 0) {
        int64_t v;
        if (parse_content_length(value, vlen, &v) != ZEN_OK)
            return refuse_head(t, "invalid Content-Length \"%.*s\" from upstream",
                               (int)(vlen > 40 ? 40 : vlen), value);
        if (t->content_lengths++ && v != t->content_length)
            return refuse_head(t, "conflicting Content-Length headers from upstream "
                               "(%lld and %lld)", (long long)t->content_length, (long long)v);
        t->content_length = v;
    } else if (nlen == strlen("transfer-encoding") &&
               strncasecmp(name, "transfer-encoding", nlen) == 0) {
        t->transfer_encoding = 1;
    }
    if (t->content_lengths && t->transfer_encoding)
        return refuse_head(t, "both Content-Length and Transfer-Encoding from upstream");
    return 1;
}

static void reset_head(struct upstream_transfer *t)
{
    free_headers(t);
    t->head_bytes = 0;
    t->content_lengths = 0;
    t->transfer_encoding = 0;
}

static size_t header_cb(char *line, size_t size, size_t nitems, void *userdata)
{
    struct upstream_transfer *t = userdata;
    size_t len = size * nitems;
    if (t->cancelled)
        return 0; /* stop the transfer; it is reaped from the loop */
    rearm_idle(t);
    if (t->head_done)
        return len; /* trailers: not relayed */
    t->head_bytes += len;
    if (t->head_bytes > UPSTREAM_MAX_HEADER_BYTES)
        return refuse_head(t, "upstream response header too large (> %d bytes)",
                           UPSTREAM_MAX_HEADER_BYTES);
    /* The line without its terminator: what is left may hold no CR or NUL
     * (a bare CR ends a line for some parsers and not for others). */
    size_t body_len = len;
    if (body_len > 0 && line[body_len - 1] == '\n')
        body_len--;
    if (body_len > 0 && line[body_len - 1] == '\r')
        body_len--;
    if (memchr(line, '\r', body_len) || memchr(line, '\0', body_len))
        return refuse_head(t, "bare CR or NUL in an upstream response header");
    if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
        /* A status line: a new head starts (after 1xx, or a redirect). */
        reset_head(t);
        t->head_bytes = len;
        const char *sp = memchr(line, ' ', len);
        t->status = sp ? atoi(sp + 1) : 0;
        return len;
    }
    if (body_len > 0 && (line[0] == ' ' || line[0] == '\t'))
        return refuse_head(t, "folded header line (obs-fold) from upstream");
    char *p = line;
    size_t n = len;
    trim(&p, &n);
    if (n == 0) {
        /* End of a head. 1xx heads are followed by the real one. */
        if (t->status >= 200 && !t->head_done) {
            t->head_done = 1;
            ev_timer_stop(t->u->loop, &t->first_byte_timer);
            t->u->in_callback++;
            t->cb.on_head(t->ud, t->status, t->headers, t->n_headers);
            t->u->in_callback--;
        } else {
            reset_head(t);
        }
        return len;
    }
    char *colon = memchr(p, ':', n);
    if (!colon)
        return refuse_head(t, "malformed header line from upstream (no ':')");
    char *name = p, *value = colon + 1;
    size_t nlen = (size_t)(colon - p), vlen = n - nlen - 1;
    trim(&name, &nlen);
    trim(&value, &vlen);
    if (note_framing(t, name, nlen, value, vlen) == 0)
        return 0;
    if (headers_room(t) != 0)
        return len; /* too many: the rest is not relayed */
    struct http_header *h = &t->headers[t->n_headers];
    h->name = strndup(name, nlen);
    h->value = strndup(value, vlen);
    if (h->name && h->value) {
        t->n_headers++;
    } else {
        free(h->name);
        free(h->value);
    }
    return len;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct upstream_transfer *t = userdata;
    size_t len = size * nmemb;
    if (t->cancelled)
        return 0;
    if (t->want_pause) {
        t->paused = 1;
        ev_timer_stop(t->u->loop, &t->idle_timer);
        return CURL_WRITEFUNC_PAUSE; /* curl keeps these bytes for the resume */
    }
    rearm_idle(t);
    t->u->in_callback++;
    int rc = t->cb.on_body(t->ud, data, len);
    t->u->in_callback--;
    if (rc == UPSTREAM_ABORT) {
        t->aborted = 1;
        return 0; /* makes curl fail the transfer with CURLE_WRITE_ERROR */
    }
    if (rc == UPSTREAM_PAUSE)
        t->want_pause = 1;
    return len;
}

static void finish(struct upstream_transfer *t, int result, const char *detail)
{
    struct upstream_callbacks cb = t->cb;
    void *ud = t->ud;
    char msg[CURL_ERROR_SIZE + 64];
    snprintf(msg, sizeof(msg), "%s", detail ? detail : "");
    transfer_free(t);
    cb.on_done(ud, result, msg);
}

/* The first-byte budget runs from when the request went out, not from the
 * start: connecting has its own budget (curl's connect timeout). */
static int first_byte_deadline_passed(struct upstream_transfer *t)
{
    curl_off_t pretransfer_us = 0;
    curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer_us);
    double elapsed = ztime_mono_s() - t->start_s;
    double wait = t->first_byte_timeout_s; /* still connecting: look again later */
    if (pretransfer_us > 0)
        wait = (double)pretransfer_us / 1e6 + t->first_byte_timeout_s - elapsed;
    if (wait <= 0.001)
        return 1;
    ev_timer_set(&t->first_byte_timer, wait, 0.);
    ev_timer_start(t->u->loop, &t->first_byte_timer);
    return 0;
}

static void timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct upstream_transfer *t = w->data;
    if (w == &t->first_byte_timer && !first_byte_deadline_passed(t))
        return;
    int result = w == &t->first_byte_timer ? UPSTREAM_ERR_FIRST_BYTE_TIMEOUT
               : w == &t->idle_timer       ? UPSTREAM_ERR_IDLE_TIMEOUT
                                           : UPSTREAM_ERR_TOTAL_TIMEOUT;
    /* The detail says what happened; the result's name already says which
     * timeout it was, and callers print both. */
    char detail[128];
    if (result == UPSTREAM_ERR_FIRST_BYTE_TIMEOUT)
        snprintf(detail, sizeof(detail), "no response from upstream within %ld ms of sending "
                 "the request", t->first_byte_timeout_ms);
    else if (result == UPSTREAM_ERR_IDLE_TIMEOUT)
        snprintf(detail, sizeof(detail), "no data from upstream for %ld ms", t->idle_timeout_ms);
    else
        snprintf(detail, sizeof(detail), "upstream transfer not done after %ld ms",
                 t->total_timeout_ms);
    finish(t, result, detail);
}

static int classify_curl(CURLcode rc, struct upstream_transfer *t)
{
    if (rc == CURLE_OK)
        return UPSTREAM_OK;
    if (t->aborted)
        return UPSTREAM_ERR_ABORTED;
    if (t->bad_response[0])
        return UPSTREAM_ERR_BAD_RESPONSE;
    if (rc == CURLE_OPERATION_TIMEDOUT)
        return t->head_done ? UPSTREAM_ERR_IDLE_TIMEOUT : UPSTREAM_ERR_CONNECT_TIMEOUT;
    return UPSTREAM_ERR_NETWORK;
}

static void check_multi_info(struct upstream *u)
{
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(u->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        /* Read the result before the handle is removed: afterwards msg is
         * no longer valid. */
        CURLcode rc = msg->data.result;
        struct upstream_transfer *t = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
        if (!t)
            continue;
        if (t->cancelled) {
            transfer_free(t); /* nobody is waiting for its end */
            continue;
        }
        const char *detail = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
        /* curl fails a header line over CURL_MAX_HTTP_HEADER as "Out of
         * memory": say what it was. */
        if (rc == CURLE_OUT_OF_MEMORY && !t->head_done && !t->bad_response[0])
            snprintf(t->bad_response, sizeof(t->bad_response),
                     "upstream response header too large (> %d bytes)",
                     UPSTREAM_MAX_HEADER_BYTES);
        if (t->bad_response[0] && !t->aborted)
            detail = t->bad_response;
        char copy[CURL_ERROR_SIZE];
        snprintf(copy, sizeof(copy), "%s", detail);
        finish(t, classify_curl(rc, t), rc == CURLE_OK ? "" : copy);
    }
}

static void reap_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct upstream *u = w->data;
    struct upstream_transfer *t = LIST_FIRST(&u->active), *next;
    for (; t; t = next) {
        next = LIST_NEXT(t, link);
        if (t->cancelled)
            transfer_free(t);
    }
}

/* ---- public API ---- */

struct upstream *upstream_new(struct ev_loop *loop)
{
    struct upstream *u = calloc(1, sizeof(*u));
    if (!u)
        return NULL;
    u->loop = loop;
    u->multi = curl_multi_init();
    if (!u->multi) {
        free(u);
        return NULL;
    }
    ev_timer_init(&u->timer, multi_timer_cb, 0., 0.);
    u->timer.data = u;
    ev_timer_init(&u->reap_timer, reap_cb, 0., 0.);
    u->reap_timer.data = u;
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, multi_timer_set);
    curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
    u->max_idle_conns = UPSTREAM_MAX_IDLE_CONNS;
    const char *test_idle = getenv(UPSTREAM_TEST_IDLE_CONNS_ENV);
    if (test_idle && atol(test_idle) > 0)
        u->max_idle_conns = atol(test_idle);
    bound_idle_connections(u);
    curl_multi_setopt(u->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return u;
}

void upstream_free(struct upstream *u)
{
    if (!u)
        return;
    while (!LIST_EMPTY(&u->active))
        transfer_free(LIST_FIRST(&u->active));
    for (size_t i = 0; i < u->npool; i++)
        curl_easy_cleanup(u->pool[i]);
    ev_timer_stop(u->loop, &u->timer);
    ev_timer_stop(u->loop, &u->reap_timer);
    curl_multi_cleanup(u->multi);
    free(u);
}

size_t upstream_active_count(const struct upstream *u) { return u->nactive; }

static void set_method_and_body(CURL *e, const struct upstream_request *r)
{
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
        return;
    }
    if (strcmp(r->method, "GET") == 0 && r->body_len == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
        return;
    }
    if (r->body_len > 0 || strcmp(r->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_len ? r->body : "");
    }
    if (strcmp(r->method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
}

static void start_timer(struct upstream_transfer *t, ev_timer *w, long ms)
{
    if (ms <= 0)
        return;
    ev_timer_init(w, timeout_cb, (double)ms / 1000.0, 0.);
    w->data = t;
    ev_timer_start(t->u->loop, w);
}

struct upstream_transfer *upstream_start(struct upstream *u, const struct upstream_request *req,
                                         const struct upstream_callbacks *cb, void *ud,
                                         char *err, size_t errlen)
{
    struct upstream_transfer *t = malloc(sizeof(*t));
    if (t)
        memset(t, 0, offsetof(struct upstream_transfer, headers_inline));
    CURL *e = u->npool ? u->pool[--u->npool] : curl_easy_init();
    if (!t || !e) {
        free(t);
        if (e)
            release_easy(u, e);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    t->u = u;
    t->easy = e;
    t->cb = *cb;
    t->ud = ud;
    t->headers = t->headers_inline;
    t->headers_cap = UPSTREAM_INLINE_HEADERS;
    t->idle_timeout_s = (double)req->idle_timeout_ms / 1000.0;
    t->idle_timeout_ms = req->idle_timeout_ms;
    t->first_byte_timeout_ms = req->first_byte_timeout_ms;
    t->total_timeout_ms = req->total_timeout_ms;
    t->first_byte_timeout_s = (double)req->first_byte_timeout_ms / 1000.0;
    t->start_s = ztime_mono_s();
    ev_timer_init(&t->first_byte_timer, timeout_cb, 0., 0.);
    ev_timer_init(&t->idle_timer, timeout_cb, 0., 0.);
    ev_timer_init(&t->total_timer, timeout_cb, 0., 0.);
    t->first_byte_timer.data = t->idle_timer.data = t->total_timer.data = t;

    curl_easy_setopt(e, CURLOPT_URL, req->url);
    /* Send the path as route.c checked it: curl would otherwise resolve
     * "." and ".." segments itself. */
    curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(e, CURLOPT_PRIVATE, t);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, UPSTREAM_RECV_BUFFER);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* PIPEWAIT makes a transfer wait for a busy connection to show whether
     * it can multiplex. Over TLS that is known at ALPN time; over cleartext
     * HTTP/1.1 curl only learns it from the response headers, so with
     * PIPEWAIT every concurrent request to an http:// provider would queue
     * behind the slowest one. */
    curl_easy_setopt(e, CURLOPT_PIPEWAIT, strncasecmp(req->url, "https:", 6) == 0 ? 1L : 0L);
    curl_easy_setopt(e, CURLOPT_MAXAGE_CONN, UPSTREAM_MAX_CONN_AGE_S);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, req->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
    curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
    /* Environment proxies are ignored unless the provider names one. */
    curl_easy_setopt(e, CURLOPT_PROXY, req->proxy_url ? req->proxy_url : "");
    if (req->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    set_method_and_body(e, req);

    if (curl_multi_add_handle(u->multi, e) != CURLM_OK) {
        release_easy(u, e);
        free(t);
        snprintf(err, errlen, "curl_multi_add_handle failed");
        return NULL;
    }
    LIST_INSERT_HEAD(&u->active, t, link);
    u->nactive++;
    bound_idle_connections(u);
    start_timer(t, &t->first_byte_timer, req->first_byte_timeout_ms);
    start_timer(t, &t->total_timer, req->total_timeout_ms);
    return t;
}

void upstream_resume(struct upstream_transfer *t)
{
    if (!t->want_pause && !t->paused)
        return;
    t->want_pause = 0;
    if (t->paused) {
        t->paused = 0;
        rearm_idle(t);
        /* May deliver the held bytes right here, through write_cb. */
        curl_easy_pause(t->easy, CURLPAUSE_CONT);
    }
}

void upstream_cancel(struct upstream_transfer *t)
{
    if (!t)
        return;
    if (!t->u->in_callback) {
        transfer_free(t);
        return;
    }
    t->cancelled = 1;
    stop_timers(t);
    ev_timer_set(&t->u->reap_timer, 0., 0.);
    ev_timer_start(t->u->loop, &t->u->reap_timer);
}
