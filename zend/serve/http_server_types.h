/* http_server_types.h -- the types of the inbound HTTP server's API.
 *
 * A types-only header: the request handed to the handler, the limits and
 * the callbacks. http_server.h includes it for its users; the server's own
 * files (http_conn.h) include it without the function prototypes, so the
 * request parser can live in a file of its own without an include circle. */
#ifndef ZEND_HTTP_SERVER_TYPES_H
#define ZEND_HTTP_SERVER_TYPES_H

#include <stddef.h>

#include "buf.h"
#include "http_header.h"

#define HTTP_MAX_HEADERS 256
#define HTTP_INITIAL_HEADERS 32 /* room for this many first; a power of two */
#define HTTP_REQUEST_ID_LEN 17 /* 16 hex chars + NUL */

struct http_request {
    char method[24];
    char *target;                 /* raw request-target, verbatim */
    struct http_header *headers;  /* grown by doubling, up to HTTP_MAX_HEADERS */
    size_t n_headers, headers_cap;
    zbuf body;
    int http_minor;               /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    int keep_alive;
    char request_id[HTTP_REQUEST_ID_LEN];
    double start_s;               /* monotonic seconds when the head was complete */
};

struct http_limits {
    size_t max_header_bytes;
    size_t max_body_bytes;
    double header_timeout_s;
    double body_timeout_s;
    double keepalive_timeout_s;
    double write_stall_timeout_s; /* output queued but none accepted for this long */
    /* Bodies being received plus bodies held by requests not yet ended, over
     * all connections; a body that would pass it gets 503 (retry-after: 1). */
    size_t max_body_bytes_total;
    double body_total_timeout_s;  /* the whole body, however steady its bytes */
};

struct http_conn;

struct http_callbacks {
    /* A complete request. The handler must end it with http_respond,
     * http_response_end or http_response_abort (now or later). */
    void (*on_request)(void *ctx, struct http_conn *c, struct http_request *req);
    /* The client is gone while a request is being handled: stop all work
     * for it; c and its request are freed right after this returns. */
    void (*on_abort)(void *ctx, struct http_conn *c, void *handler_data);
    /* Output fell below HTTP_OUTPUT_LOW_WATER after a write reported full. */
    void (*on_writable)(void *ctx, struct http_conn *c, void *handler_data);
    /* A request refused by the server itself (400, 408, 413, 431, 503). */
    void (*on_rejected)(void *ctx, int status);
    /* The number of client connections changed. */
    void (*on_connections)(void *ctx, size_t count);
};

#endif
