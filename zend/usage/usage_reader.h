/* usage_reader.h -- the tokens of an answer, read from its bytes on their
 * way to the client (docs/usage.md, "The ledger").
 *
 * Where each format says its usage:
 *   Anthropic   JSON body `usage`; a stream's message_start `message.usage`
 *               and message_delta `usage` (later counts replace earlier ones)
 *   Chat        JSON body `usage`; a stream's usage chunk (the one whose
 *               `usage` is an object -- zend asks for it with
 *               stream_options.include_usage when it translates); a stream
 *               without one reports nothing (USAGE_UNKNOWN, not 0)
 *   Responses   JSON body `usage`; a stream's response.completed
 *               (`response.usage`)
 * cache_read from Anthropic cache_read_input_tokens or OpenAI
 * *_tokens_details.cached_tokens; cache_write from Anthropic
 * cache_creation_input_tokens (OpenAI has none: USAGE_UNKNOWN).
 *
 * A passthrough answer is read by this scanner, which does not parse the
 * answer: it finds the `usage` object at the depths above and parses only
 * that object, so the relay's cost barely moves. Incremental and
 * chunking-blind (any split of the same bytes gives the same counts),
 * bounded (fixed memory whatever the answer's size) and total (any bytes
 * are fine input). A translated answer's counts come from the translator's
 * decoder instead (usage_tokens_from_tr). */
#ifndef ZEND_USAGE_READER_H
#define ZEND_USAGE_READER_H

#include <stddef.h>
#include <stdint.h>

#include "tr_types.h"
#include "usage_tokens.h"

struct usage_reader;

/* A reader of an answer in format `wire` (TR_FORMAT_*), a stream (SSE) or
 * a whole JSON body. NULL out of memory. */
struct usage_reader *usage_reader_new(enum tr_format wire, int stream);
/* The next answer bytes, split anywhere. */
void usage_reader_feed(struct usage_reader *r, const char *data, size_t len);
/* The counts seen so far (call at the end of the answer; a JSON body's
 * counts are known only once it is whole). */
void usage_reader_result(const struct usage_reader *r, struct usage_tokens *out);
void usage_reader_free(struct usage_reader *r);

/* The translator's usage (input_total includes the cached tokens) in the
 * ledger's sense. NULL u -> all USAGE_UNKNOWN. */
struct usage_tokens usage_tokens_from_tr(const struct tr_usage *u);
/* Later counts replace earlier ones field by field: each known field of
 * `later` overwrites `into`'s (Anthropic's message_delta repeats, and
 * corrects, what message_start said). */
void usage_tokens_merge(struct usage_tokens *into, const struct usage_tokens *later);

#endif
