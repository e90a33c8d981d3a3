/* prices_table.c -- the built-in price table (prices.h): list prices in USD
 * per million tokens as of PRICES_AS_OF, standard tier, short context (the
 * long-context surcharges above 200K or 270K tokens are not modelled).
 *
 * Columns: input (uncached), output, cache read, cache write. Anthropic bills
 * a 5-minute cache write at 1.25x input and a read at 0.1x; the other vendors
 * charge nothing extra to write their caches, so their cache write is the
 * input price (and their answers report no cache writes anyway). Figures
 * marked ASSUMED are estimates or from older price pages, not a vendor's
 * current list; a user who knows better writes `pricing` (docs/usage.md).
 *
 * A key matches a model it is a prefix of, the longest key winning, so each
 * family needs its own row only when its price differs from a shorter key's. */
#include "prices.h"

const struct model_price prices_table[] = {
    /* Anthropic: docs.anthropic.com pricing (cache writes at the 5 m TTL) */
    {"claude-opus-4-6", 5.0, 25.0, 0.5, 6.25},
    {"claude-opus-4-5", 5.0, 25.0, 0.5, 6.25},
    {"claude-opus-4-1", 15.0, 75.0, 1.5, 18.75},
    {"claude-opus-4", 15.0, 75.0, 1.5, 18.75},
    {"claude-sonnet-4-6", 3.0, 15.0, 0.3, 3.75},
    {"claude-sonnet-4-5", 3.0, 15.0, 0.3, 3.75},
    {"claude-sonnet-4", 3.0, 15.0, 0.3, 3.75},
    {"claude-3-7-sonnet", 3.0, 15.0, 0.3, 3.75},
    {"claude-haiku-4-5", 1.0, 5.0, 0.1, 1.25},
    {"claude-3-5-haiku", 0.8, 4.0, 0.08, 1.0},
    {"claude-3-haiku", 0.25, 1.25, 0.03, 0.3},
    /* OpenAI: cache read = the "cached input" rate */
    {"gpt-5.5-pro", 30.0, 180.0, 30.0, 30.0}, /* no cached-input rate listed */
    {"gpt-5.5", 5.0, 30.0, 0.5, 5.0},
    {"gpt-5.4-pro", 30.0, 180.0, 30.0, 30.0}, /* no cached-input rate listed */
    {"gpt-5.4-mini", 0.75, 4.5, 0.075, 0.75},
    {"gpt-5.4-nano", 0.2, 1.25, 0.02, 0.2},
    {"gpt-5.4", 2.5, 15.0, 0.25, 2.5},
    {"gpt-5.2", 1.75, 14.0, 0.175, 1.75}, /* ASSUMED: the Dec 2025 launch price */
    {"gpt-5.1", 1.25, 10.0, 0.125, 1.25},
    {"gpt-5-mini", 0.25, 2.0, 0.025, 0.25},
    {"gpt-5-nano", 0.05, 0.4, 0.005, 0.05},
    {"gpt-5", 1.25, 10.0, 0.125, 1.25},
    {"gpt-4.1-mini", 0.4, 1.6, 0.1, 0.4},
    {"gpt-4.1-nano", 0.1, 0.4, 0.025, 0.1},
    {"gpt-4.1", 2.0, 8.0, 0.5, 2.0},
    {"gpt-4o-mini", 0.15, 0.6, 0.075, 0.15},
    {"gpt-4o", 2.5, 10.0, 1.25, 2.5},
    {"o3-mini", 1.1, 4.4, 0.55, 1.1},
    {"o3", 2.0, 8.0, 0.5, 2.0},
    {"o4-mini", 1.1, 4.4, 0.275, 1.1},
    /* DeepSeek (V3.2 behind both names): cache hit / cache miss / output */
    {"deepseek-chat", 0.28, 0.42, 0.028, 0.28},
    {"deepseek-reasoner", 0.28, 0.42, 0.028, 0.28},
    /* Google: prompts up to 200K tokens; cache storage per hour not counted */
    {"gemini-3.1-pro", 2.0, 12.0, 0.2, 2.0},
    {"gemini-3-pro", 2.0, 12.0, 0.2, 2.0},
    {"gemini-3-flash", 0.5, 3.0, 0.05, 0.5},
    {"gemini-3.1-flash-lite", 0.25, 1.5, 0.025, 0.25}, /* cache read ASSUMED 10 % */
    {"gemini-2.5-pro", 1.25, 10.0, 0.125, 1.25},
    {"gemini-2.5-flash-lite", 0.1, 0.4, 0.01, 0.1},
    {"gemini-2.5-flash", 0.3, 2.5, 0.03, 0.3},
    /* Zhipu (Z.ai international). ASSUMED: its late-2025 price page. */
    {"glm-4.6", 0.6, 2.2, 0.11, 0.6},
    {"glm-4.5-air", 0.2, 1.1, 0.03, 0.2},
    {"glm-4.5", 0.6, 2.2, 0.11, 0.6},
    /* Alibaba (Model Studio international, the lowest input tier, 0-32K).
     * ASSUMED: cache read at 20 % of input (implicit cache), late-2025 list. */
    {"qwen3-max", 1.2, 6.0, 0.24, 1.2},
    {"qwen3-coder-plus", 1.0, 5.0, 0.2, 1.0},
    {"qwen3-coder-flash", 0.3, 1.5, 0.06, 0.3},
    {"qwen-plus", 0.4, 1.2, 0.08, 0.4},
    {"qwen-flash", 0.05, 0.4, 0.01, 0.05},
    /* Mistral: no cache discount billed. ASSUMED: its late-2025 list
     * (mistral-large-latest is Large 3; the dated 2411 is Large 2.1). */
    {"mistral-large-2411", 2.0, 6.0, 2.0, 2.0},
    {"mistral-large", 0.5, 1.5, 0.5, 0.5},
    {"mistral-medium", 0.4, 2.0, 0.4, 0.4},
    {"mistral-small", 0.1, 0.3, 0.1, 0.1},
    {"devstral-medium", 0.4, 2.0, 0.4, 0.4},
    {"devstral-small", 0.1, 0.3, 0.1, 0.1},
    {"codestral", 0.3, 0.9, 0.3, 0.3},
};

const size_t prices_table_len = sizeof(prices_table) / sizeof(prices_table[0]);
