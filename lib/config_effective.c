/* config_effective.c -- the config zend runs with, key by key, for
 * `zenctl config` (the config.get RPC): every value after defaults, and
 * whether zen.json set it (cfg->file_keys) or zend filled it in. A token is
 * never shown, only its fingerprint and where it came from; URLs lose any
 * user:password part. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "config_load.h"
#include "timeutil.h"

void zcfgl_effective_add(json_t *list, const struct zcfg *cfg, const char *key, json_t *value)
{
    const char *source = json_object_get(cfg->file_keys, key) ? "zen.json" : "default";
    json_array_append_new(list, json_pack("{s:s, s:o, s:s}", "key", key, "value",
                                          value ? value : json_null(), "source", source));
}

char *zcfg_url_redacted(const char *url)
{
    const char *scheme = strstr(url, "://");
    const char *host = scheme ? scheme + 3 : url;
    size_t hostpart = strcspn(host, "/?#");
    const char *at = memchr(host, '@', hostpart);
    if (!at)
        return zcfgl_xstrdup(url);
    size_t head = (size_t)(host - url);
    size_t len = head + strlen("***") + strlen(at) + 1;
    char *out = zcfgl_xcalloc(len, 1);
    snprintf(out, len, "%.*s***%s", (int)head, url, at);
    return out;
}

static json_t *url_json(const char *url)
{
    if (!url)
        return json_null();
    char *safe = zcfg_url_redacted(url);
    json_t *v = json_string(safe);
    free(safe);
    return v;
}

/* NULL stays null: "unset" is a value too. */
static json_t *opt_string(const char *s) { return s ? json_string(s) : json_null(); }

/* auth_token: where the token came from and its fingerprint, never it. */
static void add_token(json_t *list, const struct zcfg *cfg, const struct zcfg_provider *p,
                      const char *key)
{
    const char *source = p->token_env                           ? "env"
                         : json_object_get(cfg->file_keys, key) ? "zen.json"
                                                                : "default";
    json_t *e = json_pack("{s:s, s:n, s:s, s:s, s:o}", "key", key, "value", "source", source,
                          "auth", zcfg_auth_mode(p), "fingerprint",
                          p->token_fingerprint[0] ? json_string(p->token_fingerprint)
                                                  : json_null());
    if (e && p->token_env)
        json_object_set_new(e, "variable", json_string(p->token_env));
    json_array_append_new(list, e);
}

/* The entry of base.name. */
static void add_under(json_t *list, const struct zcfg *cfg, const char *base, const char *name,
                      json_t *value)
{
    char key[ZCFG_PATH_LEN];
    zcfgl_subpath(key, base, name);
    zcfgl_effective_add(list, cfg, key, value);
}

static void add_provider(json_t *list, const struct zcfg *cfg, const struct zcfg_provider *p)
{
    static const char *const auth_headers[] = {"both", "x-api-key", "bearer"};
    static const char *const openai_apis[] = {"auto", "chat", "responses"};
    static const char *const thinking_modes[] = {"budget", "adaptive"};
    char base[ZCFG_PATH_LEN], key[ZCFG_PATH_LEN];
    zcfgl_subpath(base, "providers", p->name);
    add_under(list, cfg, base, "type", json_string(p->type == ZCFG_TYPE_OPENAI ? "openai" : "anthropic"));
    add_under(list, cfg, base, "base_url", url_json(p->base_url));
    zcfgl_subpath(key, base, "auth_token");
    add_token(list, cfg, p, key);
    add_under(list, cfg, base, "auth_header", json_string(auth_headers[p->auth_header]));
    add_under(list, cfg, base, "model", opt_string(p->model));
    add_under(list, cfg, base, "sonnet_model", opt_string(p->sonnet_model));
    add_under(list, cfg, base, "opus_model", opt_string(p->opus_model));
    add_under(list, cfg, base, "haiku_model", opt_string(p->haiku_model));
    add_under(list, cfg, base, "reasoning_model", opt_string(p->reasoning_model));
    add_under(list, cfg, base, "proxy_url", url_json(p->proxy_url));
    add_under(list, cfg, base, "ca_file", opt_string(p->ca_file));
    add_under(list, cfg, base, "openai_api", json_string(openai_apis[p->openai_api]));
    add_under(list, cfg, base, "max_tokens_field",
        json_string(p->max_tokens_legacy ? "max_tokens" : "max_completion_tokens"));
    add_under(list, cfg, base, "thinking_mode", json_string(thinking_modes[p->thinking_mode]));
    add_under(list, cfg, base, "default_max_tokens", json_integer(p->default_max_tokens));
    add_under(list, cfg, base, "drop_sampling", json_boolean(p->drop_sampling));
    add_under(list, cfg, base, "weight", json_integer(p->weight));
    /* The headers they become, not their values (a header may carry a key). */
    json_t *headers = json_array();
    for (size_t i = 0; i < p->n_env_headers; i++)
        json_array_append_new(headers, json_string(p->env_headers[i].name));
    add_under(list, cfg, base, "env_vars", headers);
}

static void add_profile(json_t *list, const struct zcfg *cfg, const struct zcfg_profile *prof)
{
    char base[ZCFG_PATH_LEN], key[ZCFG_PATH_LEN];
    zcfgl_subpath(base, "profiles", prof->name);
    json_t *names = json_array();
    for (size_t i = 0; i < prof->n_providers; i++)
        json_array_append_new(names, json_string(cfg->providers[prof->providers[i]].name));
    /* Both forms of a profile (a bare array, or {providers, ...}) name them. */
    zcfgl_subpath(key, base, "providers");
    json_array_append_new(list, json_pack("{s:s, s:o, s:s}", "key", key, "value", names,
                                          "source", "zen.json"));
    zcfgl_subpath(key, base, "strategy");
    zcfgl_effective_add(list, cfg, key, json_string(prof->strategy));
}

json_t *zcfg_effective(const struct zcfg *cfg)
{
    json_t *list = json_array();
    zcfgl_effective_add(list, cfg, "proxy_port", json_integer(cfg->proxy_port));
    zcfgl_effective_add(list, cfg, "default_profile", opt_string(cfg->default_profile));
    for (size_t i = 0; i < cfg->n_providers; i++)
        add_provider(list, cfg, &cfg->providers[i]);
    for (size_t i = 0; i < cfg->n_profiles; i++)
        add_profile(list, cfg, &cfg->profiles[i]);
    for (size_t i = 0; i < cfg->n_disabled; i++) {
        const struct zcfg_disabled *d = &cfg->disabled[i];
        char key[ZCFG_PATH_LEN], until[ZTIME_RFC3339_LEN];
        zcfgl_subpath(key, "disabled_providers", d->name);
        if (d->expires_at)
            ztime_format_rfc3339_ms(d->expires_at * 1000, until);
        json_array_append_new(list, json_pack("{s:s, s:{s:s?, s:s?}, s:s}", "key", key, "value",
                                              "type", d->type, "expires_at",
                                              d->expires_at ? until : NULL, "source", "zen.json"));
    }
    zcfgl_effective_daemon(cfg, list);
    zcfgl_effective_usage(cfg, list);
    return list;
}
