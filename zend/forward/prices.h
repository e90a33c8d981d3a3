/* prices.h -- list prices per million tokens: a built-in, dated table
 * (prices_table.c) overridden entry by entry by the config's `pricing`
 * (docs/usage.md, "Prices"). The least-cost strategy ranks providers by it
 * (docs/routing.md); the ledger prices each request with it.
 *
 * Model names carry dates and suffixes (claude-sonnet-4-5-20250929), so a
 * lookup is exact first, then the longest known prefix. */
#ifndef ZEND_PRICES_H
#define ZEND_PRICES_H

#include <stddef.h>

#include "config.h"
#include "usage_tokens.h"

/* The date the table was last checked against published price lists. */
#define PRICES_AS_OF "2026-12-02"

struct model_price {
    const char *model;
    double input_per_million, output_per_million;
    double cache_read_per_million, cache_write_per_million;
};

/* The built-in table (prices_table.c). */
extern const struct model_price prices_table[];
extern const size_t prices_table_len;

/* The built-in price of model, or NULL when no key is model or a prefix of it. */
const struct model_price *prices_lookup(const char *model);

/* The price of model: cfg's pricing entry named model, else the longest
 * pricing key that is a prefix of it, else the built-in table the same way
 * (so a pricing entry wins over the built-in one). cfg may be NULL. On 1,
 * *out holds the price (out->model points into cfg or the table); 0 when
 * nothing matches. */
int prices_find(const struct zcfg *cfg, const char *model, struct model_price *out);

/* What t cost in USD: at the price of model_sent, else of model_requested
 * (either may be NULL). input x in + output x out + cache_read x cr +
 * cache_write x cw, per million; an UNKNOWN count adds nothing. -1 when
 * neither model has a price, or when input and output are both UNKNOWN
 * (the provider said nothing worth a price). */
double prices_cost(const struct zcfg *cfg, const char *model_sent, const char *model_requested,
                   const struct usage_tokens *t);

#endif
