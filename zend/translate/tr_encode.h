/* tr_encode.h -- answer encoders: IR events (tr_types.h) -> the client's
 * format. Two modes per format:
 *   - stream: each event is written at once as the client's SSE events (the
 *     Anthropic encoder serializes concurrently open blocks through a queue,
 *     since Anthropic clients accept one open block at a time);
 *   - JSON: events are aggregated and the whole response object is written
 *     at FINISH.
 * Shortened tool names are restored here (tr_ctx_client_name), and tool
 * calls to custom tools become custom_tool_call items for Responses clients.
 *
 * ERROR: a stream encoder writes the in-band error of the client's format
 * (and nothing after it); a JSON encoder writes nothing (the caller answers
 * with an error response: tr_error.h). KEEPALIVE: a stream encoder writes
 * its keep-alive (`event: ping` / `: keep-alive`); a JSON encoder nothing. */
#ifndef ZEND_TR_ENCODE_H
#define ZEND_TR_ENCODE_H

#include <stdint.h>

#include "buf.h"
#include "tr_types.h"

struct tr_encoder;

/* An encoder for ctx->client; sse selects stream mode. ctx is borrowed and
 * must outlive the encoder. NULL when out of memory. */
struct tr_encoder *tr_encoder_new(const struct tr_ctx *ctx, int sse);
void tr_encoder_free(struct tr_encoder *e);

/* Appends to out the client bytes this event produces (possibly none). */
void tr_encoder_event(struct tr_encoder *e, const struct tr_event *ev, zbuf *out);

/* Test hook: the ids the encoder invents (msg_/chatcmpl-/resp_ response ids
 * when the upstream sent none; Responses item ids msg_/rs_/fc_/ctc_) are
 * prefix + 24 hex from a generator seeded from the kernel's entropy. Seeding
 * it makes them deterministic (same seed, same ids) so tests can compare
 * bytes. Call before the first event. */
void tr_encoder_set_id_seed(struct tr_encoder *e, uint64_t seed);

#endif
