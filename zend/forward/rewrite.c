/* rewrite.c -- model mapping rules and the one-field body rewrite.
 * See rewrite.h for the contract. */
#include "rewrite.h"

#include <jansson.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "common.h"
#include "zjson.h"

/* Client JSON must survive the round trip: JSON_ALLOW_NUL keeps "\u0000"
 * in strings; no JSON_DECODE_INT_AS_REAL (it would round big integers);
 * no JSON_REJECT_DUPLICATES (a duplicate key is the client's business, and
 * jansson keeps the last value, as upstream parsers do). Integers beyond
 * int64 make jansson refuse the document, and then the body goes out
 * untouched rather than altered. */
#define REWRITE_LOAD_FLAGS ZJSON_ALLOW_NUL
/* Compact, UTF-8 as is (no JSON_ENSURE_ASCII), keys in insertion order
 * (jansson keeps it since 2.8). Reals go out with 17 significant digits,
 * enough to round-trip any double: 0.7 becomes 0.69999999999999996, which
 * every parser reads back as the same number. */
#define REWRITE_DUMP_FLAGS JSON_COMPACT

#define REWRITE_THINKING_ENABLED "enabled"
/* Rule 2: OpenAI reasoning models are "o" followed by a digit (o1, o3-mini). */
#define REWRITE_O_SERIES_PREFIX 'o'

/* Whether a model name (any letter case) falls under one rule. */
typedef int (*rewrite_match_fn)(const char *model, int thinking);

struct rewrite_rule {
    rewrite_match_fn matches;
    size_t tier;                /* offsetof the tier in struct zcfg_provider */
};

static const char *const haiku_prefixes[] = {"gpt-4o-mini", "gpt-4.1-mini", "gpt-4.1-nano"};
static const char *const sonnet_prefixes[] = {"gpt-4o", "gpt-4.1", "gpt-4-turbo", "gpt-4.5"};

/* Model names are ASCII identifiers; comparing without the C locale keeps
 * a UTF-8 byte from ever matching a letter. */
static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

/* s starts with prefix, ignoring ASCII case in s (prefix is lowercase). */
static int starts_with_ci(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (ascii_lower(*s) != *prefix)
            return 0;
    return 1;
}

/* s contains needle, ignoring ASCII case in s (needle is lowercase). */
static int contains_ci(const char *s, const char *needle)
{
    for (; *s; s++)
        if (starts_with_ci(s, needle))
            return 1;
    return 0;
}

static int starts_with_any_ci(const char *s, const char *const *prefixes, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (starts_with_ci(s, prefixes[i]))
            return 1;
    return 0;
}

static int match_thinking(const char *model, int thinking)
{
    (void)model;
    return thinking;
}

static int match_o_series(const char *model, int thinking)
{
    (void)thinking;
    return ascii_lower(model[0]) == REWRITE_O_SERIES_PREFIX && model[1] >= '0' && model[1] <= '9';
}

static int match_haiku(const char *model, int thinking)
{
    (void)thinking;
    return contains_ci(model, "haiku") ||
           starts_with_any_ci(model, haiku_prefixes, ZEN_ARRAY_LEN(haiku_prefixes));
}

static int match_opus(const char *model, int thinking)
{
    (void)thinking;
    return contains_ci(model, "opus");
}

static int match_sonnet(const char *model, int thinking)
{
    (void)thinking;
    return contains_ci(model, "sonnet") ||
           starts_with_any_ci(model, sonnet_prefixes, ZEN_ARRAY_LEN(sonnet_prefixes));
}

static int match_any(const char *model, int thinking)
{
    (void)model;
    (void)thinking;
    return 1;
}

/* In order: the first rule that matches and has its tier set wins. */
static const struct rewrite_rule rewrite_rules[] = {
    {match_thinking, offsetof(struct zcfg_provider, reasoning_model)},
    {match_o_series, offsetof(struct zcfg_provider, reasoning_model)},
    {match_haiku, offsetof(struct zcfg_provider, haiku_model)},
    {match_opus, offsetof(struct zcfg_provider, opus_model)},
    {match_sonnet, offsetof(struct zcfg_provider, sonnet_model)},
    {match_any, offsetof(struct zcfg_provider, model)},
};

/* The tier at `offset`, or NULL when unset. The loader turns "" into NULL;
 * "" is treated as unset here too so the rule holds for any caller. */
static const char *tier_at(const struct zcfg_provider *p, size_t offset)
{
    const char *tier = *(char *const *)(const void *)((const char *)p + offset);
    return tier && *tier ? tier : NULL;
}

static int has_any_tier(const struct zcfg_provider *p)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(rewrite_rules); i++)
        if (tier_at(p, rewrite_rules[i].tier))
            return 1;
    return 0;
}

const char *rewrite_pick_model(const struct zcfg_provider *p, const char *model, int thinking)
{
    if (!p || !model)
        return NULL;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(rewrite_rules); i++) {
        const char *tier = tier_at(p, rewrite_rules[i].tier);
        if (tier && rewrite_rules[i].matches(model, thinking))
            return tier;
    }
    return NULL;
}

/* The Claude defaults of a translated request (docs/translate.md). */
static const struct zcfg_provider claude_defaults = {
    .model = "claude-sonnet-4-5",
    .sonnet_model = "claude-sonnet-4-5",
    .opus_model = "claude-opus-4-5",
    .haiku_model = "claude-haiku-4-5",
    .reasoning_model = "claude-sonnet-4-5",
};

const char *rewrite_pick_model_translated(const struct zcfg_provider *p, const char *model,
                                          int thinking, int to_anthropic, int *defaulted)
{
    *defaulted = 0;
    const char *picked = rewrite_pick_model(p, model, thinking);
    if (picked || !to_anthropic || !model)
        return picked ? picked : model;
    *defaulted = 1;
    return rewrite_pick_model(&claude_defaults, model, thinking);
}

/* An OpenAI effort that asks for reasoning: anything but none/minimal. */
static int effort_wants_thinking(const json_t *effort)
{
    const char *e = json_string_value(effort);
    return e && strcmp(e, "none") != 0 && strcmp(e, "minimal") != 0;
}

/* "thinking": true, or "thinking": {"type": "enabled"|"adaptive", ...}
 * (Anthropic); "reasoning_effort" (Chat) or "reasoning": {"effort"}
 * (Responses) other than none/minimal (docs/translate.md, "Model mapping"). */
static int body_wants_thinking(const json_t *root)
{
    const json_t *t = json_object_get(root, "thinking");
    if (json_is_true(t))
        return 1;
    const char *type = json_string_value(json_object_get(t, "type"));
    if (type && (strcmp(type, REWRITE_THINKING_ENABLED) == 0 || strcmp(type, "adaptive") == 0))
        return 1;
    return effort_wants_thinking(json_object_get(root, "reasoning_effort")) ||
           effort_wants_thinking(json_object_get(json_object_get(root, "reasoning"), "effort"));
}

/* Copies n bytes of src as a C string, truncated to fit dst. */
static void copy_name(char *dst, size_t dst_len, const char *src, size_t n)
{
    if (!dst || dst_len == 0)
        return;
    if (n >= dst_len)
        n = dst_len - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static int dump_to_zbuf(const char *buffer, size_t size, void *data)
{
    return zbuf_append(data, buffer, size) == ZEN_OK ? 0 : -1;
}

/* Encodes root into a malloc'd buffer (not NUL-terminated); NULL on error. */
static char *encode(const json_t *root, size_t *out_len)
{
    zbuf b;
    zbuf_init(&b);
    if (json_dump_callback(root, dump_to_zbuf, &b, REWRITE_DUMP_FLAGS) != 0 || zbuf_len(&b) == 0) {
        zbuf_free(&b);
        return NULL;
    }
    *out_len = zbuf_len(&b); /* nothing was consumed: the data starts at b.data */
    return (char *)b.data;
}

/* The body with `model` replaced by override, or, override NULL, by p's
 * mapping of it (rewrite_model_body's contract). */
static char *model_body(const struct zcfg_provider *p, const char *override, const char *body,
                        size_t len, size_t *out_len, char *from, size_t from_len, char *to,
                        size_t to_len)
{

    json_t *root = zjson_load(body, len, REWRITE_LOAD_FLAGS);
    json_t *model = NULL;
    char *out = NULL;
    if (!json_is_object(root))
        goto done;
    model = json_incref(json_object_get(root, "model")); /* outlives its replacement */
    if (!json_is_string(model))
        goto done;
    const char *orig = json_string_value(model);
    size_t orig_len = json_string_length(model);
    const char *mapped = override ? override
                                  : rewrite_pick_model(p, orig, body_wants_thinking(root));
    if (!mapped || (strlen(mapped) == orig_len && memcmp(mapped, orig, orig_len) == 0))
        goto done;

    json_t *replacement = json_string(mapped);
    if (!replacement || json_object_set_new(root, "model", replacement) != 0)
        goto done;
    size_t n = 0;
    out = encode(root, &n);
    if (out) {
        *out_len = n;
        copy_name(from, from_len, orig, orig_len);
        copy_name(to, to_len, mapped, strlen(mapped));
    }
done:
    json_decref(model);
    json_decref(root);
    return out;
}

char *rewrite_model_body(const struct zcfg_provider *p, const char *body, size_t len,
                         size_t *out_len, char *from, size_t from_len, char *to, size_t to_len)
{
    if (!p || !body || !out_len || !has_any_tier(p))
        return NULL;
    return model_body(p, NULL, body, len, out_len, from, from_len, to, to_len);
}

char *rewrite_model_body_to(const char *model, const char *body, size_t len, size_t *out_len,
                            char *from, size_t from_len, char *to, size_t to_len)
{
    if (!model || !body || !out_len)
        return NULL;
    return model_body(NULL, model, body, len, out_len, from, from_len, to, to_len);
}
