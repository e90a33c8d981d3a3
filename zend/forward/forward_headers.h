/* forward_headers.h -- which headers cross zend, in each direction
 * (README "How the proxy behaves": "What goes upstream").
 *
 * Towards the provider: the client's headers minus hop-by-hop ones, framing,
 * Host, x-zen-*, and zend's own access keys; the provider's token in place of
 * the client's credentials; Accept-Encoding: identity (zend must read stream
 * events to know when a stream is whole); the provider's x-env-* headers.
 * Towards the client: the provider's headers minus hop-by-hop ones,
 * Content-Length (zend frames the response itself) and x-zen-*. */
#ifndef ZEND_FORWARD_HEADERS_H
#define ZEND_FORWARD_HEADERS_H

#include <curl/curl.h>
#include <stddef.h>

#include "config.h"
#include "http_server.h"

/* Connection, Keep-Alive, TE, Trailer, Transfer-Encoding, Upgrade, Proxy-*. */
int fwdh_is_hop_by_hop(const char *name);
/* Is `name` listed in a Connection header value ("close, x-foo")? NULL: no. */
int fwdh_nominated_by_connection(const char *connection, const char *name);
/* First header named `name` (case-insensitive), or NULL. */
const char *fwdh_find(const struct http_header *h, size_t n, const char *name);

/* The header list of an attempt of req on provider p under cfg; key_header
 * names the header that carried a zend access key (never forwarded), or
 * NULL. The list is whole or NULL (out of memory): a request must never go
 * out without a header, least of all the provider's credentials. */
struct curl_slist *fwdh_upstream_request(const struct http_request *req,
                                         const struct zcfg *cfg,
                                         const struct zcfg_provider *p,
                                         const char *key_header);

/* The header list of a translated attempt (docs/translate.md, "Requests"):
 * as fwdh_upstream_request, then towards the Anthropic wire (to_anthropic)
 * anthropic-version 2023-06-01 is added when absent and OpenAI's own headers
 * (openai-*, chatgpt-account-id, originator, session_id) are dropped;
 * towards OpenAI the anthropic-version, anthropic-beta and
 * anthropic-dangerous-direct-browser-access headers are dropped; always
 * Content-Type: application/json and Accept for a stream or JSON. */
struct curl_slist *fwdh_translated_request(const struct http_request *req,
                                           const struct zcfg *cfg,
                                           const struct zcfg_provider *p,
                                           const char *key_header, int to_anthropic,
                                           int stream);

/* Copies into out (room for max) the upstream response headers that are
 * relayed to the client; returns how many. The strings stay h's. */
size_t fwdh_relay_response(const struct http_header *h, size_t n, struct http_header *out,
                           size_t max);

/* A private copy of a response head, kept after the transfer's own is gone
 * (a failed attempt's head may be relayed later). A header that cannot be
 * copied (out of memory) is left out; *n_out counts only whole ones. Free
 * with fwdh_free_copy. */
void fwdh_copy(const struct http_header *h, size_t n, struct http_header **out,
               size_t *n_out);
void fwdh_free_copy(struct http_header *h, size_t n);

#endif
