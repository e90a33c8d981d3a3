/* relay.h -- a provider's answer on its way to the client (README "How the
 * proxy behaves": "Streaming").
 *
 * The head goes out with the provider's headers (minus hop-by-hop and
 * framing, forward_headers.h) plus x-zen-provider and x-zen-attempts; the
 * body chunk by chunk as it arrives, with backpressure handed back to the
 * upstream transfer; a stream is watched for its end marker (the in-band
 * error that ends one cut off is the client format's: xlate_stream_error). */
#ifndef ZEND_RELAY_H
#define ZEND_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "http_server.h"
#include "sse.h"

/* Response headers relayed at most (the rest are dropped). */
#define RELAY_MAX_HEADERS 256

/* out[0..2] = x-zen-provider, x-zen-attempts, x-zen-scenario; buf (len >=
 * 16) holds the count's text and must outlive out, as must the names. */
#define RELAY_ZEN_HEADERS 3
void relay_zen_headers(const char *provider, const char *scenario, size_t n_attempts, char *buf,
                       size_t len, struct http_header out[RELAY_ZEN_HEADERS]);

/* Is the answer a stream of server-sent events (Content-Type)? */
int relay_is_stream(const struct http_header *h, size_t n);
/* The length to announce: the provider's Content-Length for a plain body,
 * 0 for HEAD, 204 and 304, else -1 (chunked). */
int64_t relay_content_length(const struct http_header *h, size_t n, const char *method,
                             int status, int is_stream);

/* Sends the head of a provider's answer. */
void relay_begin(struct http_conn *c, int status, const struct http_header *h, size_t n,
                 int64_t content_length, const char *provider, const char *scenario,
                 size_t n_attempts);
/* Sends a body chunk; sse (NULL for a plain body) sees it first. Returns
 * UPSTREAM_CONTINUE, UPSTREAM_PAUSE (client output full) or UPSTREAM_ABORT
 * (client gone). */
int relay_write(struct http_conn *c, struct sse_detector *sse, const char *data, size_t len);

#endif
