/* http_server.h -- the inbound HTTP/1.1 server (README "How the proxy behaves").
 *
 * Accepts on the proxy socket, parses requests with llhttp (strict: it
 * rejects request smuggling such as both Content-Length and
 * Transfer-Encoding), enforces the size limits and timeouts, answers
 * `Expect: 100-continue` at once, and hands each complete request (head and
 * whole body) to one handler. Pipelined requests wait in the input buffer
 * and are handed over one at a time, in order.
 *
 * The handler answers through the response API below, either at once
 * (http_respond) or later and in pieces (begin / write / end), and learns
 * through callbacks when the client went away or drained its output. A
 * connection never disappears under the handler's feet: a dead client is
 * reported through on_abort from the event loop, never from inside one of
 * the handler's own calls. */
#ifndef ZEND_HTTP_SERVER_H
#define ZEND_HTTP_SERVER_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "http_server_types.h"

/* Output above this makes http_response_write() ask the producer to pause
 * (the upstream transfer is paused); below the low mark it may resume. */
#define HTTP_OUTPUT_HIGH_WATER (256u * 1024)
#define HTTP_OUTPUT_LOW_WATER (64u * 1024)
/* Input buffered beyond the request being served (pipelined requests) is
 * capped; reading stops until the current response is done. */
#define HTTP_MAX_PIPELINE_BYTES (256u * 1024)

/* First header named `name` (case-insensitive), or NULL. */
const char *http_request_header(const struct http_request *r, const char *name);

struct http_server;

struct http_server *http_server_new(struct ev_loop *loop, int listen_fd,
                                    const struct http_limits *limits,
                                    const struct http_callbacks *cb, void *ctx);
void http_server_set_limits(struct http_server *s, const struct http_limits *limits);
void http_server_start(struct http_server *s);
/* Stops accepting; existing connections go on. */
void http_server_stop_accepting(struct http_server *s);
/* Stops accepting, closes idle connections, and closes every other one once
 * its current response is done (no more keep-alive). */
void http_server_drain(struct http_server *s);
/* Closes every connection (aborting handlers) and frees the server. The
 * listening socket is not closed: it belongs to the caller. */
void http_server_free(struct http_server *s);
size_t http_server_connection_count(const struct http_server *s);
/* Body bytes charged to max_body_bytes_total right now. */
size_t http_server_body_bytes_held(const struct http_server *s);

/* ---- the response API (for the request currently handed out on c) ---- */

void http_conn_set_handler_data(struct http_conn *c, void *data);

/* A whole response with Content-Length. x-zen-request-id is always added. */
void http_respond(struct http_conn *c, int status, const struct http_header *headers,
                  size_t n_headers, const char *body, size_t body_len);
/* An error in the Anthropic envelope:
 * {"type":"error","error":{"type":<type>,"message":<message>}}. */
void http_respond_error(struct http_conn *c, int status, const char *type, const char *message);

/* Starts a response whose body follows. The head leaves with the first body
 * bytes or the end (one send), or before the loop next waits for events,
 * whichever comes first. content_length >= 0 sends that
 * Content-Length; -1 streams (chunked to HTTP/1.1 clients, close-delimited
 * to HTTP/1.0 ones). Hop-by-hop and framing headers in `headers` are the
 * caller's to leave out. */
void http_response_begin(struct http_conn *c, int status, const struct http_header *headers,
                         size_t n_headers, int64_t content_length);
enum { HTTP_WRITE_OK = 0, HTTP_WRITE_FULL = 1, HTTP_WRITE_DEAD = -1 };
/* Queues body bytes (one chunk per call when chunked) and sends at once.
 * FULL: accepted, but pause until on_writable. DEAD: the client is gone
 * (on_abort follows from the loop). */
int http_response_write(struct http_conn *c, const void *data, size_t len);
/* Completes the response (terminating chunk); the connection then serves
 * the next request or closes. */
void http_response_end(struct http_conn *c);
/* Ends the response abnormally: flush what was queued, then close without
 * the terminating chunk, so the client cannot mistake it for complete. */
void http_response_abort(struct http_conn *c);
/* Bytes of body written so far, and whether any response byte was sent. */
uint64_t http_response_bytes(const struct http_conn *c);
int http_response_started(const struct http_conn *c);
/* The client has closed its side (or is gone): during a response it may
 * only have shut down its sending side, but usually it hung up. */
int http_conn_peer_eof(const struct http_conn *c);

#endif
