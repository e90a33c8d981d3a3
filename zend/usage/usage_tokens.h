/* usage_tokens.h -- the token counts of one answer, as the ledger stores
 * them (docs/usage.md, "The ledger").
 *
 * Anthropic's sense, so cost is a plain sum: `input` is the input NOT read
 * from or written to the cache (Anthropic input_tokens; OpenAI prompt_tokens
 * / input_tokens minus their cached_tokens). A count the provider did not
 * report is USAGE_UNKNOWN (stored as NULL), never 0. */
#ifndef ZEND_USAGE_TOKENS_H
#define ZEND_USAGE_TOKENS_H

#include <stdint.h>

#define USAGE_UNKNOWN (-1)

struct usage_tokens {
    int64_t input;        /* uncached input tokens */
    int64_t output;       /* output tokens (reasoning included) */
    int64_t cache_read;   /* input tokens read from the prompt cache */
    int64_t cache_write;  /* input tokens written to the prompt cache */
};

#define USAGE_TOKENS_NONE \
    ((struct usage_tokens){USAGE_UNKNOWN, USAGE_UNKNOWN, USAGE_UNKNOWN, USAGE_UNKNOWN})

#endif
