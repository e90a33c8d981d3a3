/* prices.h -- a built-in, dated table of list prices per million tokens, for
 * the least-cost strategy (docs/routing.md).
 *
 * Model names carry dates and suffixes (claude-sonnet-4-5-20250929), so the
 * lookup is exact first, then the longest known prefix. */
#ifndef ZEND_PRICES_H
#define ZEND_PRICES_H

/* The date the table was last checked against the vendors' price pages. */
#define PRICES_AS_OF "2026-11-01"

struct model_price {
    const char *model;
    double input_per_million, output_per_million;
};

/* The price of model, or NULL when no key is model or a prefix of it. */
const struct model_price *prices_lookup(const char *model);

#endif
