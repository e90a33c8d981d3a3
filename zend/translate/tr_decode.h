/* tr_decode.h -- answer decoders: a provider's bytes in its wire format ->
 * IR events (tr_types.h). Two modes per format:
 *   - stream: Server-Sent Events, decoded incrementally as bytes arrive, in
 *     any split, with bounded memory apart from the event being assembled
 *     (one event may be up to TR_SSE_EVENT_MAX bytes);
 *   - JSON: a whole non-streamed body, decoded at tr_decoder_end.
 * Either way the decoder calls fn with START ... FINISH, or ERROR, and never
 * breaks the event invariants of tr_types.h whatever the input: after the
 * FINISH or ERROR further input is ignored.
 *
 * Decoders do not restore shortened tool names (encoders do). */
#ifndef ZEND_TR_DECODE_H
#define ZEND_TR_DECODE_H

#include <stddef.h>

#include "tr_types.h"

/* One SSE event larger than this is an error ("upstream event too large"). */
#define TR_SSE_EVENT_MAX (16u * 1024 * 1024)
/* A whole JSON body larger than this is an error. */
#define TR_JSON_BODY_MAX (64u * 1024 * 1024)

struct tr_decoder;

/* A decoder for `wire`; sse selects stream mode. NULL when out of memory. */
struct tr_decoder *tr_decoder_new(enum tr_format wire, int sse, tr_event_fn fn, void *ud);
void tr_decoder_free(struct tr_decoder *d);

/* The next body bytes, split anywhere. */
void tr_decoder_feed(struct tr_decoder *d, const char *data, size_t len);

/* The body ended: transport_ok says whether it ended cleanly (EOF) or by a
 * transport error (reset, timeout; why says which, may be NULL). Emits what
 * the end means: FINISH when the answer was complete (or complete enough:
 * a C stream past its finish_reason), else ERROR ("upstream returned an
 * empty stream", "upstream stream interrupted: ended before completion
 * (<why>)"). No-op after FINISH or ERROR. */
void tr_decoder_end(struct tr_decoder *d, int transport_ok, const char *why);

/* FINISH or ERROR has been emitted. */
int tr_decoder_done(const struct tr_decoder *d);
/* A C stream has its finish_reason but waits for usage or [DONE]: the
 * caller finalizes it (tr_decoder_finalize) if nothing more arrives within
 * TR_FINISH_GRACE_MS. */
int tr_decoder_awaiting_end(const struct tr_decoder *d);
void tr_decoder_finalize(struct tr_decoder *d);
#define TR_FINISH_GRACE_MS 10000

/* Reads every C stream chunk through a jansson tree, never the scanner of
 * tr_chunk_scan.h: for the tests and the fuzz harness that hold the two
 * paths to the same events. Call before the first tr_decoder_feed. */
void tr_decoder_tree_only(struct tr_decoder *d);

#endif
