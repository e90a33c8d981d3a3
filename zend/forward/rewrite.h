/* rewrite.h -- per-provider model mapping of a request body (docs/config.md,
 * the model keys of a provider).
 *
 * A profile may fail over from Anthropic to a relay that names the same
 * model differently, so each attempt maps the client's `model` through that
 * provider's tiers (model, sonnet_model, opus_model, haiku_model,
 * reasoning_model). zend adds no implicit defaults: a provider without tiers
 * gets the client's bytes untouched, and so does any body this module cannot
 * rewrite without risk (not JSON, no string `model`, numbers jansson cannot
 * hold exactly). Mapping always starts from the client's original body, so
 * attempt N never sees attempt N-1's rewrite. */
#ifndef ZEND_REWRITE_H
#define ZEND_REWRITE_H

#include <stddef.h>

#include "config.h"

/* The model name provider p maps `model` to, or NULL to keep the original.
 * First match wins on the lowercased (ASCII) model; a rule whose tier is
 * unset (NULL) falls through to the next:
 *   1. thinking and reasoning_model;
 *   2. "o<digit>..." (o1, o3-mini) and reasoning_model;
 *   3. contains "haiku", or starts gpt-4o-mini / gpt-4.1-mini / gpt-4.1-nano -> haiku_model;
 *   4. contains "opus" -> opus_model;
 *   5. contains "sonnet", or starts gpt-4o / gpt-4.1 / gpt-4-turbo / gpt-4.5 -> sonnet_model;
 *   6. model.
 * `thinking` is non-zero when the request has "thinking": true,
 * thinking.type "enabled" or "adaptive", or an OpenAI reasoning_effort /
 * reasoning.effort other than "none" and "minimal". The result may equal `model`; it points into
 * the provider (lives as long as the config). NULL p or model -> NULL. */
const char *rewrite_pick_model(const struct zcfg_provider *p, const char *model, int thinking);

/* The model for a request translated to provider p (docs/translate.md,
 * "Model mapping"): rewrite_pick_model first; when that finds no tier and the
 * request crosses into Anthropic (to_anthropic), the Claude default of the
 * same rules (sonnet and plain models -> claude-sonnet-4-5, haiku ->
 * claude-haiku-4-5, opus -> claude-opus-4-5, reasoning -> claude-sonnet-4-5),
 * with *defaulted set: a gpt-* name means nothing to an Anthropic endpoint.
 * Otherwise the client's model (may be NULL). */
const char *rewrite_pick_model_translated(const struct zcfg_provider *p, const char *model,
                                          int thinking, int to_anthropic, int *defaulted);

/* The body to send provider p for this attempt, or NULL to forward the
 * original bytes unchanged. NULL when: p configures no tier, the body is not
 * a JSON object (or is JSON jansson cannot hold exactly, e.g. an integer
 * beyond int64, or nested deeper than its parser allows), `model` is absent
 * or not a string, the mapped model equals the original, or re-encoding
 * fails (memory). Otherwise returns a malloc'd compact JSON document with
 * only `model` changed (key order kept, NUL in strings kept), sets *out_len,
 * and copies the original and new model names into from/to (NUL-terminated,
 * truncated to their sizes; either may be NULL). The caller frees it. */
char *rewrite_model_body(const struct zcfg_provider *p, const char *body, size_t len,
                         size_t *out_len, char *from, size_t from_len, char *to, size_t to_len);

/* The same with `model` set to exactly this name (a route's model override,
 * docs/routing.md): no tier mapping. NULL when the body is not a JSON object
 * with a string `model`, or already names it. */
char *rewrite_model_body_to(const char *model, const char *body, size_t len, size_t *out_len,
                            char *from, size_t from_len, char *to, size_t to_len);

#endif
