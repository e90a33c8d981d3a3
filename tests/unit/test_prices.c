/* Unit tests for zend/forward/prices.c: the built-in lookup (exact, dated
 * names, longest prefix), the config's pricing winning entry by entry, and
 * the cost of one answer with cache tokens and unknown counts. */
#include "prices.h"

#include <CUnit/CUnit.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "testutil.h"

static struct zcfg *load_q(const char *json_q)
{
    char err[ZEN_ERRLEN];
    const char *json = tu_q(json_q);
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "\n  config error: %s\n", err);
    return cfg;
}

static struct usage_tokens tokens(int64_t in, int64_t out, int64_t cr, int64_t cw)
{
    return (struct usage_tokens){in, out, cr, cw};
}

/* Every model of the table finds itself, with sane figures. */
static void test_table_is_well_formed(void)
{
    CU_ASSERT_TRUE(prices_table_len > 40);
    for (size_t i = 0; i < prices_table_len; i++) {
        const struct model_price *p = &prices_table[i];
        CU_ASSERT_PTR_EQUAL(prices_lookup(p->model), p);
        CU_ASSERT_TRUE(p->input_per_million > 0 && p->output_per_million >= p->input_per_million);
        CU_ASSERT_TRUE(p->cache_read_per_million > 0 &&
                       p->cache_read_per_million <= p->input_per_million);
        CU_ASSERT_TRUE(p->cache_write_per_million >= p->input_per_million);
        for (size_t j = 0; j < i; j++)
            CU_ASSERT_STRING_NOT_EQUAL(p->model, prices_table[j].model);
    }
}

static void test_exact_and_prefix(void)
{
    struct model_price p;
    CU_ASSERT_EQUAL_FATAL(prices_find(NULL, "claude-opus-4-1", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "claude-opus-4-1");
    CU_ASSERT_DOUBLE_EQUAL(p.input_per_million, 15.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.cache_read_per_million, 1.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.cache_write_per_million, 18.75, 1e-9);
    /* A dated name is its family's. */
    CU_ASSERT_EQUAL_FATAL(prices_find(NULL, "claude-sonnet-4-5-20250929", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "claude-sonnet-4-5");
    CU_ASSERT_DOUBLE_EQUAL(p.output_per_million, 15.0, 1e-9);
    /* The longest prefix wins: claude-opus-4-5-... is not claude-opus-4. */
    CU_ASSERT_EQUAL_FATAL(prices_find(NULL, "claude-opus-4-5-20251101", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "claude-opus-4-5");
    CU_ASSERT_DOUBLE_EQUAL(p.input_per_million, 5.0, 1e-9);
    CU_ASSERT_EQUAL_FATAL(prices_find(NULL, "claude-opus-4-20250514", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "claude-opus-4");
    CU_ASSERT_EQUAL_FATAL(prices_find(NULL, "gpt-4o-mini-2024-07-18", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "gpt-4o-mini");
    CU_ASSERT_EQUAL_FATAL(prices_find(NULL, "gemini-2.5-flash-lite-preview", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "gemini-2.5-flash-lite");
    /* Unknown, empty, NULL. */
    CU_ASSERT_EQUAL(prices_find(NULL, "llama-3-70b", &p), 0);
    CU_ASSERT_EQUAL(prices_find(NULL, "", &p), 0);
    CU_ASSERT_EQUAL(prices_find(NULL, NULL, &p), 0);
    /* A name shorter than a key is not priced by it. */
    CU_ASSERT_EQUAL(prices_find(NULL, "claude-opus", &p), 0);
}

static const char pricing_config[] =
    "{'providers': {'a': {'base_url': 'https://a.example'}},"
    " 'profiles': {'default': ['a']},"
    " 'pricing': {"
    "   'claude-sonnet-4-5': {'input_per_million': 2.0, 'output_per_million': 10.0,"
    "                         'cache_read_per_million': 0.5, 'cache_write_per_million': 4.0},"
    "   'my-relay': {'input_per_million': 1.0, 'output_per_million': 2.0},"
    "   'my-relay-large': {'input_per_million': 4.0, 'output_per_million': 8.0},"
    "   'claude-haiku': {'input_per_million': 0.5, 'output_per_million': 1.0}}}";

static void test_config_overrides(void)
{
    struct zcfg *cfg = load_q(pricing_config);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct model_price p;
    /* Exact override, all four rates. */
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "claude-sonnet-4-5", &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.input_per_million, 2.0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.cache_read_per_million, 0.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.cache_write_per_million, 4.0, 1e-9);
    /* Override by prefix, the longest pricing key winning. */
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "claude-sonnet-4-5-20250929", &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.output_per_million, 10.0, 1e-9);
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "my-relay-large-v2", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "my-relay-large");
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "my-relay-small", &p), 1);
    CU_ASSERT_STRING_EQUAL(p.model, "my-relay");
    /* A pricing prefix wins over the built-in table, even its exact key. */
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "claude-haiku-4-5", &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.input_per_million, 0.5, 1e-9);
    /* Written without cache rates: 10 % and 125 % of input. */
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "my-relay", &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.cache_read_per_million, 0.1, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(p.cache_write_per_million, 1.25, 1e-9);
    /* Entries not overridden still come from the table. */
    CU_ASSERT_EQUAL_FATAL(prices_find(cfg, "claude-opus-4-1", &p), 1);
    CU_ASSERT_DOUBLE_EQUAL(p.input_per_million, 15.0, 1e-9);
    /* prices_lookup stays the built-in table alone. */
    CU_ASSERT_DOUBLE_EQUAL(prices_lookup("claude-sonnet-4-5")->input_per_million, 3.0, 1e-9);
    zcfg_unref(cfg);
}

static void test_cost(void)
{
    /* claude-sonnet-4-5: 3 / 15 / 0.30 / 3.75 per million.
     * 12,345 in + 6,789 out + 100,000 read + 20,000 write
     * = 0.037035 + 0.101835 + 0.03 + 0.075 = 0.24387 */
    struct usage_tokens t = tokens(12345, 6789, 100000, 20000);
    double c = prices_cost(NULL, "claude-sonnet-4-5-20250929", NULL, &t);
    CU_ASSERT_DOUBLE_EQUAL(c, 0.24387, 1e-9);
    /* Unknown cache counts add nothing. */
    t = tokens(1000000, 1000000, USAGE_UNKNOWN, USAGE_UNKNOWN);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "claude-sonnet-4-5", NULL, &t), 18.0, 1e-9);
    /* One of input/output unknown: the other still counts. */
    t = tokens(USAGE_UNKNOWN, 2000000, USAGE_UNKNOWN, USAGE_UNKNOWN);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "claude-sonnet-4-5", NULL, &t), 30.0, 1e-9);
    /* Both unknown: no cost at all, not zero. */
    t = tokens(USAGE_UNKNOWN, USAGE_UNKNOWN, 500, 500);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "claude-sonnet-4-5", NULL, &t), -1, 1e-12);
    /* model_sent unknown: model_requested's price; neither: -1. */
    t = tokens(1000000, 0, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "relay-special", "gpt-4o", &t), 2.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, NULL, "gpt-4o", &t), 2.5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "relay-special", "llama", &t), -1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, NULL, NULL, &t), -1, 1e-12);
    /* model_sent wins over model_requested when both are known. */
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "gpt-4o-mini", "gpt-4o", &t), 0.15, 1e-9);
    /* Zero tokens of a known model cost zero, not unknown. */
    t = tokens(0, 0, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "gpt-4o", NULL, &t), 0.0, 1e-12);
}

static void test_cost_with_config(void)
{
    struct zcfg *cfg = load_q(pricing_config);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    /* my-relay: 1 / 2, cache 0.10 / 1.25 by default.
     * 250,000 in + 125,000 out + 1,000,000 read + 80,000 write
     * = 0.25 + 0.25 + 0.10 + 0.10 = $0.70 */
    struct usage_tokens t = tokens(250000, 125000, 1000000, 80000);
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(cfg, "my-relay-x", NULL, &t), 0.70, 1e-9);
    /* The same model without the config: unknown. */
    CU_ASSERT_DOUBLE_EQUAL(prices_cost(NULL, "my-relay-x", NULL, &t), -1, 1e-12);
    zcfg_unref(cfg);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("prices", NULL, NULL);
    TU_ADD(s, test_table_is_well_formed);
    TU_ADD(s, test_exact_and_prefix);
    TU_ADD(s, test_config_overrides);
    TU_ADD(s, test_cost);
    TU_ADD(s, test_cost_with_config);
}
