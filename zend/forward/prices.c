/* prices.c -- the built-in price table (prices.h). USD per million tokens,
 * list prices as of PRICES_AS_OF; cache reads and writes are not ranked. */
#include "prices.h"

#include <stddef.h>
#include <string.h>

#include "common.h"

static const struct model_price prices[] = {
    /* Anthropic */
    {"claude-opus-4-5", 5.0, 25.0},
    {"claude-opus-4-1", 15.0, 75.0},
    {"claude-opus-4", 15.0, 75.0},
    {"claude-sonnet-4-5", 3.0, 15.0},
    {"claude-sonnet-4", 3.0, 15.0},
    {"claude-3-7-sonnet", 3.0, 15.0},
    {"claude-haiku-4-5", 1.0, 5.0},
    {"claude-3-5-haiku", 0.8, 4.0},
    {"claude-3-haiku", 0.25, 1.25},
    /* OpenAI */
    {"gpt-5", 1.25, 10.0},
    {"gpt-5-mini", 0.25, 2.0},
    {"gpt-5-nano", 0.05, 0.4},
    {"gpt-4.1", 2.0, 8.0},
    {"gpt-4.1-mini", 0.4, 1.6},
    {"gpt-4.1-nano", 0.1, 0.4},
    {"gpt-4o", 2.5, 10.0},
    {"gpt-4o-mini", 0.15, 0.6},
    {"o3", 2.0, 8.0},
    {"o4-mini", 1.1, 4.4},
    /* DeepSeek */
    {"deepseek-chat", 0.28, 0.42},
    {"deepseek-reasoner", 0.28, 0.42},
    /* Google */
    {"gemini-2.5-pro", 1.25, 10.0},
    {"gemini-2.5-flash", 0.3, 2.5},
    /* Zhipu, Alibaba, Mistral */
    {"glm-4.6", 0.6, 2.2},
    {"glm-4.5-air", 0.2, 1.1},
    {"qwen3-coder-plus", 1.0, 5.0},
    {"qwen3-max", 1.2, 6.0},
    {"mistral-large", 2.0, 6.0},
    {"mistral-medium", 0.4, 2.0},
    {"codestral", 0.3, 0.9},
};

const struct model_price *prices_lookup(const char *model)
{
    if (!model)
        return NULL;
    const struct model_price *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(prices); i++) {
        size_t n = strlen(prices[i].model);
        if (strncmp(model, prices[i].model, n) != 0)
            continue;
        if (model[n] == '\0')
            return &prices[i];
        if (n > best_len) {
            best = &prices[i];
            best_len = n;
        }
    }
    return best;
}
