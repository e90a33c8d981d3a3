/* config_ignored.c -- which GoZen keys of a zen.json zend does not use.
 *
 * zend reads GoZen's file as it is, so keys only GoZen's other parts use (web
 * UI, bot, sync, a provider's icon) are accepted and
 * ignored. A migrating user must see what will not take effect: every such
 * key, at any depth of the sections zend reads, becomes one JSON path in a
 * config_ignored_keys note (`zend --check-config` prints each as a `note:`
 * line). The `daemon` section is zend's own and strict (config_daemon.c);
 * free-form maps (a provider's env_vars) have no unknown keys. */
#include <string.h>

#include "common.h"
#include "config_load.h"
#include "log.h"

struct known_keys {
    const char *const *keys;
    size_t n;
};

#define KNOWN(list) {list, ZEN_ARRAY_LEN(list)}

static const char *const top_keys[] = {
    "version", "proxy_port", "default_profile", "providers", "profiles",
    "disabled_providers", "health_check", "daemon", "pricing", "budgets",
};
static const char *const provider_keys[] = {
    "type", "base_url", "auth_token", "auth_header", "model", "sonnet_model", "opus_model",
    "haiku_model", "reasoning_model", "proxy_url", "ca_file", "env_vars", "openai_api",
    "max_tokens_field", "thinking_mode", "default_max_tokens", "drop_sampling", "weight",
};
static const char *const profile_keys[] = {
    "providers", "strategy", "provider_weights", "long_context_threshold", "scenario_priority",
    "session_affinity", "routing",
};
/* created_at is GoZen's bookkeeping: read by nobody, but not a setting either. */
static const char *const disabled_keys[] = {"type", "created_at", "expires_at"};
static const char *const health_check_keys[] = {"enabled", "interval_secs", "timeout_secs"};
/* The cache rates are zend's additions to GoZen's pricing entry. */
static const char *const price_keys[] = {"input_per_million", "output_per_million",
                                         "cache_read_per_million", "cache_write_per_million"};
static const char *const budget_limit_keys[] = {"amount", "action"};

static int is_known(const struct known_keys *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++)
        if (strcmp(key, k->keys[i]) == 0)
            return 1;
    return 0;
}

/* Appends parent.key for every key of obj (when it is an object) not in k. */
static void collect(json_t *out, const json_t *obj, const char *parent,
                    const struct known_keys *k)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (is_known(k, key))
            continue;
        char path[ZCFG_PATH_LEN];
        zcfgl_subpath(path, parent, key);
        json_array_append_new(out, json_string(path));
    }
}

/* The same for each member of a section that maps names to objects. */
static void collect_each(json_t *out, const json_t *root, const char *section,
                         const struct known_keys *k)
{
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(root, section), name, v) {
        char path[ZCFG_PATH_LEN];
        zcfgl_subpath(path, section, name);
        collect(out, v, path, k);
    }
}

void zcfgl_note_ignored_keys(struct zcfg_loader *L, const json_t *root)
{
    static const struct known_keys top = KNOWN(top_keys), provider = KNOWN(provider_keys),
                                   profile = KNOWN(profile_keys),
                                   disabled = KNOWN(disabled_keys),
                                   health_check = KNOWN(health_check_keys),
                                   price = KNOWN(price_keys),
                                   budget_limit = KNOWN(budget_limit_keys);
    json_t *ignored = json_array();
    collect(ignored, root, "", &top);
    collect_each(ignored, root, "providers", &provider);
    collect_each(ignored, root, "profiles", &profile);
    collect_each(ignored, root, "disabled_providers", &disabled);
    collect(ignored, json_object_get(root, "health_check"), "health_check", &health_check);
    collect_each(ignored, root, "pricing", &price);
    /* budgets' own keys are checked by its loader (an unknown period is an
     * error); only inside a limit may GoZen-side extras be ignored. */
    static const char *const periods[] = {"daily", "weekly", "monthly"};
    const json_t *budgets = json_object_get(root, "budgets");
    for (size_t i = 0; i < ZEN_ARRAY_LEN(periods); i++) {
        char path[ZCFG_PATH_LEN];
        zcfgl_subpath(path, "budgets", periods[i]);
        collect(ignored, json_object_get(budgets, periods[i]), path, &budget_limit);
    }
    if (json_array_size(ignored) > 0)
        zcfgl_note(L, ZLOG_INFO, "config_ignored_keys", json_pack("{s:o}", "keys", ignored));
    else
        json_decref(ignored);
}
