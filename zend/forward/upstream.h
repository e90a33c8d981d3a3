/* upstream.h -- the client side: libcurl's multi interface on the libev loop
 * (README "How the proxy behaves").
 *
 * One multi handle per worker, driven by curl_multi_socket_action, so every
 * transfer shares the connection cache (keep-alive to providers, HTTP/2 over
 * TLS when offered). Connect time is bounded by curl; the first-byte and
 * idle timeouts are our own libev timers, because curl's low-speed timer is
 * too coarse to tell a silent provider from a slow stream. The idle timer
 * does not run while a transfer is paused: a slow client is not the
 * provider's fault. */
#ifndef ZEND_UPSTREAM_H
#define ZEND_UPSTREAM_H

#include <curl/curl.h>
#include <ev.h>
#include <stddef.h>

#include "http_header.h"

enum upstream_result {
    UPSTREAM_OK = 0,
    UPSTREAM_ERR_NETWORK,      /* refused, reset, DNS, TLS, cut mid-body */
    UPSTREAM_ERR_CONNECT_TIMEOUT,
    UPSTREAM_ERR_FIRST_BYTE_TIMEOUT,
    UPSTREAM_ERR_IDLE_TIMEOUT,
    UPSTREAM_ERR_TOTAL_TIMEOUT,
    UPSTREAM_ERR_ABORTED,      /* our own callback asked to stop */
    /* A response head zend will not relay: conflicting or invalid framing
     * (several differing Content-Length, Content-Length with
     * Transfer-Encoding), obs-fold, bare CR or NUL, or too large. */
    UPSTREAM_ERR_BAD_RESPONSE,
};

/* Response heads above this many bytes fail the transfer (curl's own limit
 * per header line is the same). */
#define UPSTREAM_MAX_HEADER_BYTES CURL_MAX_HTTP_HEADER
/* Tests only: how many idle upstream connections are kept (default 256). */
#define UPSTREAM_TEST_IDLE_CONNS_ENV "ZEND_TEST_UPSTREAM_IDLE_CONNS"

const char *upstream_result_name(int result);

/* Returned by on_body. */
enum { UPSTREAM_CONTINUE = 0, UPSTREAM_PAUSE = 1, UPSTREAM_ABORT = 2 };

struct upstream_callbacks {
    /* The final response head (1xx and proxy CONNECT heads are skipped). */
    void (*on_head)(void *ud, int status, const struct http_header *headers, size_t n);
    /* Body bytes, one call per upstream chunk. */
    int (*on_body)(void *ud, const char *data, size_t len);
    /* The end. Not called after upstream_cancel. */
    void (*on_done)(void *ud, int result, const char *detail);
};

struct upstream_request {
    const char *method;
    const char *url;
    const struct curl_slist *headers; /* borrowed until on_done / cancel */
    const char *body;                 /* borrowed until on_done / cancel */
    size_t body_len;
    const char *proxy_url;            /* NULL: direct (environment proxies ignored) */
    const char *ca_file;              /* NULL: system store */
    long connect_timeout_ms;
    long first_byte_timeout_ms;
    long idle_timeout_ms;
    long total_timeout_ms;            /* 0: none */
};

struct upstream;
struct upstream_transfer;

struct upstream *upstream_new(struct ev_loop *loop);
/* Cancels every transfer (without callbacks) and frees everything. */
void upstream_free(struct upstream *u);
/* Frees the pooled easy handles beyond a few: called when nothing is in
 * flight (heap_trim.h). */
void upstream_shrink_pool(struct upstream *u);
size_t upstream_active_count(const struct upstream *u);

/* Starts a transfer. Returns NULL (err filled) if it could not even start. */
struct upstream_transfer *upstream_start(struct upstream *u, const struct upstream_request *req,
                                         const struct upstream_callbacks *cb, void *ud,
                                         char *err, size_t errlen);
/* Resumes a transfer that on_body paused. */
void upstream_resume(struct upstream_transfer *t);
/* Stops a transfer; no callback follows. Safe anywhere: called from inside
 * any transfer's callback, the removal happens from the loop right after. */
void upstream_cancel(struct upstream_transfer *t);

#endif
