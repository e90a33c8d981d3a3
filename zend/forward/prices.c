/* prices.c -- price lookup and the cost of one answer (prices.h). The
 * figures themselves are in prices_table.c. */
#include "prices.h"

#include <string.h>

/* The index of the entry whose key is model or its longest prefix, or -1;
 * `key` reads the key of entry i. */
typedef const char *(*price_key_fn)(const void *table, size_t i);

static long best_match(const void *table, size_t n, price_key_fn key, const char *model)
{
    long best = -1;
    size_t best_len = 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = key(table, i);
        size_t len = strlen(k);
        if (strncmp(model, k, len) != 0)
            continue;
        if (model[len] == '\0')
            return (long)i;
        if (len > best_len) {
            best = (long)i;
            best_len = len;
        }
    }
    return best;
}

static const char *builtin_key(const void *table, size_t i)
{
    return ((const struct model_price *)table)[i].model;
}

static const char *config_key(const void *table, size_t i)
{
    return ((const struct zcfg_price *)table)[i].model;
}

const struct model_price *prices_lookup(const char *model)
{
    if (!model)
        return NULL;
    long i = best_match(prices_table, prices_table_len, builtin_key, model);
    return i < 0 ? NULL : &prices_table[i];
}

int prices_find(const struct zcfg *cfg, const char *model, struct model_price *out)
{
    if (!model || !*model)
        return 0;
    if (cfg && cfg->n_pricing) {
        long i = best_match(cfg->pricing, cfg->n_pricing, config_key, model);
        if (i >= 0) {
            const struct zcfg_price *p = &cfg->pricing[i];
            *out = (struct model_price){p->model, p->input_per_million, p->output_per_million,
                                        p->cache_read_per_million, p->cache_write_per_million};
            return 1;
        }
    }
    const struct model_price *mp = prices_lookup(model);
    if (!mp)
        return 0;
    *out = *mp;
    return 1;
}

static double per_million(int64_t count, double price)
{
    return count > 0 ? (double)count * price / 1e6 : 0.0;
}

double prices_cost(const struct zcfg *cfg, const char *model_sent, const char *model_requested,
                   const struct usage_tokens *t)
{
    if (t->input == USAGE_UNKNOWN && t->output == USAGE_UNKNOWN)
        return -1;
    struct model_price p;
    if (!prices_find(cfg, model_sent, &p) && !prices_find(cfg, model_requested, &p))
        return -1;
    return per_million(t->input, p.input_per_million) +
           per_million(t->output, p.output_per_million) +
           per_million(t->cache_read, p.cache_read_per_million) +
           per_million(t->cache_write, p.cache_write_per_million);
}
