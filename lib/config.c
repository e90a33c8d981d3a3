#include "config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "paths.h"
#include "timeutil.h"

/* A zen.json larger than this is not a config file someone wrote by hand. */
#define ZCFG_MAX_FILE_BYTES (16u * 1024 * 1024)
#define ZCFG_PATH_LEN 512
#define BLAKE2B_PREFIX "blake2b:"

struct loader {
    const char *file;
    char *err;
    size_t errlen;
    struct zcfg *cfg;
    int has_literal_token; /* for the config_permissions warning */
};

static int fail(struct loader *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(struct loader *L, const char *path, const char *fmt, ...)
{
    char msg[ZEN_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "%s: %s: %s", L->file, path, msg);
    return ZEN_ERR;
}

static void note(struct loader *L, int level, const char *event, json_t *fields)
{
    json_array_append_new(L->cfg->notes, json_pack("{s:s, s:s, s:o}", "level",
                                                   zlog_level_name(level), "event", event,
                                                   "fields", fields));
}

static char *xstrdup(const char *s)
{
    char *d = strdup(s);
    if (!d) {
        /* Config loading happens at start and reload; failing loudly beats
         * carrying on with a half-built object. */
        fprintf(stderr, "zend: out of memory while loading config\n");
        abort();
    }
    return d;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "zend: out of memory while loading config\n");
        abort();
    }
    return p;
}

/* parent.key into out (ZCFG_PATH_LEN bytes). An absurdly deep path is cut
 * short, which only shortens an error message. */
static void subpath(char *out, const char *parent, const char *key)
{
    int n = parent[0] ? snprintf(out, ZCFG_PATH_LEN, "%s.%s", parent, key)
                      : snprintf(out, ZCFG_PATH_LEN, "%s", key);
    if (n >= ZCFG_PATH_LEN)
        memcpy(out + ZCFG_PATH_LEN - 4, "...", 4);
}

static const char *json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* Optional string member: absent or null leaves *out NULL. Strings holding
 * control characters are refused (they would end up in HTTP headers). */
static int opt_string(struct loader *L, const json_t *obj, const char *key, const char *parent,
                      char **out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return ZEN_OK;
    subpath(path, parent, key);
    if (!json_is_string(v))
        return fail(L, path, "must be a string, not %s", json_type_name(v));
    const char *s = json_string_value(v);
    for (size_t i = 0; i < json_string_length(v); i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return fail(L, path, "contains a control character");
    *out = xstrdup(s);
    return ZEN_OK;
}

/* Optional string that counts as unset when empty (GoZen writes "" a lot). */
static int opt_nonempty_string(struct loader *L, const json_t *obj, const char *key,
                               const char *parent, char **out)
{
    if (opt_string(L, obj, key, parent, out) != ZEN_OK)
        return ZEN_ERR;
    if (*out && !**out) {
        free(*out); *out = NULL;
    }
    return ZEN_OK;
}

static int opt_int(struct loader *L, const json_t *obj, const char *key, const char *parent,
                   int64_t *out, int64_t min, int64_t max)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ZEN_OK;
    subpath(path, parent, key);
    if (!json_is_integer(v))
        return fail(L, path, "must be an integer, not %s", json_type_name(v));
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return fail(L, path, "must be between %lld and %lld, not %lld", (long long)min,
                    (long long)max, (long long)n);
    *out = n;
    return ZEN_OK;
}

static int opt_bool(struct loader *L, const json_t *obj, const char *key, const char *parent,
                    int *out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ZEN_OK;
    subpath(path, parent, key);
    if (!json_is_boolean(v))
        return fail(L, path, "must be true or false, not %s", json_type_name(v));
    *out = json_is_true(v);
    return ZEN_OK;
}

static int expect_object(struct loader *L, const json_t *v, const char *path)
{
    if (!json_is_object(v))
        return fail(L, path, "must be an object, not %s", json_type_name(v));
    return ZEN_OK;
}

/* Optional array of strings; absent leaves *out untouched. */
static int opt_string_array(struct loader *L, const json_t *obj, const char *key,
                            const char *parent, char ***out, size_t *n_out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *arr = json_object_get(obj, key);
    if (!arr)
        return ZEN_OK;
    subpath(path, parent, key);
    if (!json_is_array(arr))
        return fail(L, path, "must be an array of strings, not %s", json_type_name(arr));
    size_t n = json_array_size(arr);
    char **items = xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            for (size_t j = 0; j < i; j++)
                free(items[j]);
            free(items);
            char ipath[ZCFG_PATH_LEN + 32];
            snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
            return fail(L, ipath, "must be a non-empty string");
        }
        items[i] = xstrdup(json_string_value(v));
    }
    *out = items;
    *n_out = n;
    return ZEN_OK;
}

/* ---- providers ---- */

static int check_url(const char *url, const char *const *schemes, size_t nschemes)
{
    for (size_t i = 0; i < nschemes; i++) {
        size_t n = strlen(schemes[i]);
        if (strncasecmp(url, schemes[i], n) == 0 && strncmp(url + n, "://", 3) == 0) {
            const char *host = url + n + 3;
            if (*host == '\0' || *host == '/' || *host == ':')
                return ZEN_ERR;
            for (const char *p = url; *p; p++)
                if (isspace((unsigned char)*p))
                    return ZEN_ERR;
            return ZEN_OK;
        }
    }
    return ZEN_ERR;
}

/* CLAUDE_CODE_MAX_OUTPUT_TOKENS -> x-env-claude-code-max-output-tokens */
static char *env_header_name(const char *var)
{
    size_t n = strlen(var);
    char *h = xcalloc(n + 7, 1);
    memcpy(h, "x-env-", 6);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)var[i]);
        h[6 + i] = c == '_' ? '-' : c;
    }
    return h;
}

static int header_name_ok(const char *name)
{
    if (!*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("!#$%&'*+-.^_`|~", *p))
            return 0;
    return 1;
}

static int load_env_headers(struct loader *L, struct zcfg_provider *p, const json_t *obj,
                            const char *parent)
{
    char path[ZCFG_PATH_LEN];
    const json_t *env = json_object_get(obj, "env_vars");
    if (!env || json_is_null(env))
        return ZEN_OK;
    subpath(path, parent, "env_vars");
    if (expect_object(L, env, path) != ZEN_OK)
        return ZEN_ERR;
    p->env_headers = xcalloc(json_object_size(env), sizeof(struct zcfg_header));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)env, key, v) {
        char kpath[ZCFG_PATH_LEN];
        subpath(kpath, path, key);
        if (!header_name_ok(key))
            return fail(L, kpath, "not usable as a header name");
        char *value = NULL;
        if (json_is_string(v)) {
            value = xstrdup(json_string_value(v));
        } else if (json_is_number(v) || json_is_boolean(v)) {
            /* GoZen configs sometimes write numbers here; keep them as text. */
            value = json_dumps(v, JSON_ENCODE_ANY);
        } else {
            return fail(L, kpath, "must be a string, not %s", json_type_name(v));
        }
        for (const char *c = value; *c; c++) {
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                free(value);
                return fail(L, kpath, "contains a control character");
            }
        }
        struct zcfg_header *h = &p->env_headers[p->n_env_headers++];
        h->name = env_header_name(key);
        h->value = value;
    }
    return ZEN_OK;
}

/* auth_token: literal, "env:NAME", or empty for passthrough auth. */
static int load_token(struct loader *L, struct zcfg_provider *p, const json_t *obj,
                      const char *parent)
{
    char *raw = NULL;
    if (opt_string(L, obj, "auth_token", parent, &raw) != ZEN_OK)
        return ZEN_ERR;
    if (!raw || !*raw) {
        zsec_free(raw);
        return ZEN_OK;
    }
    if (strncmp(raw, "env:", 4) == 0) {
        p->token_env = xstrdup(raw + 4);
        zsec_free(raw);
        const char *v = getenv(p->token_env);
        if (!v || !*v) {
            note(L, ZLOG_WARN, "provider_token_missing",
                 json_pack("{s:s, s:s, s:s}", "provider", p->name, "variable", p->token_env,
                           "fallback", "passthrough"));
            return ZEN_OK;
        }
        p->auth_token = zsec_secure_strdup(v);
    } else {
        p->auth_token = zsec_secure_strdup(raw);
        zsec_free(raw);
        L->has_literal_token = 1;
    }
    zsec_fingerprint(p->auth_token, strlen(p->auth_token), p->token_fingerprint);
    return ZEN_OK;
}

static int load_provider(struct loader *L, struct zcfg_provider *p, const char *name,
                         const json_t *obj)
{
    static const char *const base_schemes[] = {"http", "https"};
    static const char *const proxy_schemes[] = {"http", "https", "socks5", "socks5h",
                                                "socks4", "socks4a"};
    char path[ZCFG_PATH_LEN];
    subpath(path, "providers", name);
    p->name = xstrdup(name);
    if (!*name)
        return fail(L, "providers", "a provider name cannot be empty");
    if (expect_object(L, obj, path) != ZEN_OK)
        return ZEN_ERR;

    char *type = NULL;
    if (opt_nonempty_string(L, obj, "type", path, &type) != ZEN_OK)
        return ZEN_ERR;
    p->type = ZCFG_TYPE_ANTHROPIC;
    if (type && strcmp(type, "openai") == 0) {
        p->type = ZCFG_TYPE_OPENAI;
        note(L, ZLOG_INFO, "provider_format_passthrough",
             json_pack("{s:s, s:s}", "provider", name, "detail",
                       "openai provider receives requests unchanged"));
    } else if (type && strcmp(type, "anthropic") != 0) {
        char tpath[ZCFG_PATH_LEN];
        subpath(tpath, path, "type");
        free(type);
        return fail(L, tpath, "must be \"anthropic\" or \"openai\"");
    }
    free(type);

    if (opt_string(L, obj, "base_url", path, &p->base_url) != ZEN_OK)
        return ZEN_ERR;
    char upath[ZCFG_PATH_LEN];
    subpath(upath, path, "base_url");
    if (!p->base_url)
        return fail(L, upath, "required");
    if (check_url(p->base_url, base_schemes, ZEN_ARRAY_LEN(base_schemes)) != ZEN_OK)
        return fail(L, upath, "not an http(s) URL: \"%s\"", p->base_url);
    size_t ulen = strlen(p->base_url);
    while (ulen > 0 && p->base_url[ulen - 1] == '/')
        p->base_url[--ulen] = '\0';

    if (load_token(L, p, obj, path) != ZEN_OK)
        return ZEN_ERR;

    char *auth_header = NULL;
    if (opt_nonempty_string(L, obj, "auth_header", path, &auth_header) != ZEN_OK)
        return ZEN_ERR;
    p->auth_header = ZCFG_AUTH_BOTH;
    if (auth_header) {
        if (strcmp(auth_header, "x-api-key") == 0) {
            p->auth_header = ZCFG_AUTH_X_API_KEY;
        } else if (strcmp(auth_header, "bearer") == 0) {
            p->auth_header = ZCFG_AUTH_BEARER;
        } else if (strcmp(auth_header, "both") != 0) {
            free(auth_header);
            subpath(upath, path, "auth_header");
            return fail(L, upath, "must be \"both\", \"x-api-key\" or \"bearer\"");
        }
        free(auth_header);
    }

    if (opt_nonempty_string(L, obj, "model", path, &p->model) ||
        opt_nonempty_string(L, obj, "sonnet_model", path, &p->sonnet_model) ||
        opt_nonempty_string(L, obj, "opus_model", path, &p->opus_model) ||
        opt_nonempty_string(L, obj, "haiku_model", path, &p->haiku_model) ||
        opt_nonempty_string(L, obj, "reasoning_model", path, &p->reasoning_model) ||
        opt_nonempty_string(L, obj, "proxy_url", path, &p->proxy_url) ||
        opt_nonempty_string(L, obj, "ca_file", path, &p->ca_file))
        return ZEN_ERR;
    if (p->proxy_url &&
        check_url(p->proxy_url, proxy_schemes, ZEN_ARRAY_LEN(proxy_schemes)) != ZEN_OK) {
        subpath(upath, path, "proxy_url");
        return fail(L, upath, "not an http, https or socks5 URL: \"%s\"", p->proxy_url);
    }
    if (p->ca_file && access(p->ca_file, R_OK) != 0) {
        subpath(upath, path, "ca_file");
        return fail(L, upath, "cannot read %s: %s", p->ca_file, strerror(errno));
    }
    return load_env_headers(L, p, obj, path);
}

static int load_providers(struct loader *L, const json_t *root)
{
    const json_t *providers = json_object_get(root, "providers");
    if (!providers || json_is_null(providers))
        return ZEN_OK;
    if (expect_object(L, providers, "providers") != ZEN_OK)
        return ZEN_ERR;
    struct zcfg *cfg = L->cfg;
    if (json_object_size(providers) > ZCFG_MAX_PROVIDERS)
        return fail(L, "providers", "%zu providers; at most %d are supported",
                    json_object_size(providers), ZCFG_MAX_PROVIDERS);
    cfg->providers = xcalloc(json_object_size(providers), sizeof(struct zcfg_provider));
    const char *name;
    json_t *obj;
    json_object_foreach((json_t *)providers, name, obj) {
        if (load_provider(L, &cfg->providers[cfg->n_providers++], name, obj) != ZEN_OK)
            return ZEN_ERR;
    }
    return ZEN_OK;
}

/* ---- profiles ---- */

static int provider_index(const struct zcfg *cfg, const char *name, size_t *idx)
{
    for (size_t i = 0; i < cfg->n_providers; i++) {
        if (strcmp(cfg->providers[i].name, name) == 0) {
            *idx = i;
            return ZEN_OK;
        }
    }
    return ZEN_ERR;
}

static int load_profile(struct loader *L, struct zcfg_profile *prof, const char *name,
                        const json_t *v)
{
    char path[ZCFG_PATH_LEN], lpath[ZCFG_PATH_LEN];
    subpath(path, "profiles", name);
    prof->name = xstrdup(name);
    if (!*name || strchr(name, '/'))
        return fail(L, path, "a profile name must be non-empty and contain no '/'");

    /* Old GoZen form: a plain array. New form: {providers, strategy, ...}. */
    const json_t *list = v;
    snprintf(lpath, sizeof(lpath), "%s", path);
    if (json_is_object(v)) {
        list = json_object_get(v, "providers");
        subpath(lpath, path, "providers");
        if (!list)
            return fail(L, lpath, "required");
        if (opt_nonempty_string(L, v, "strategy", path, &prof->strategy) != ZEN_OK)
            return ZEN_ERR;
        if (prof->strategy && strcmp(prof->strategy, "failover") != 0)
            note(L, ZLOG_WARN, "profile_strategy_unsupported",
                 json_pack("{s:s, s:s, s:s}", "profile", name, "strategy", prof->strategy,
                           "detail", "behaves as failover"));
    } else if (!json_is_array(v)) {
        return fail(L, path, "must be an array of provider names or an object, not %s",
                    json_type_name(v));
    }
    if (!prof->strategy)
        prof->strategy = xstrdup("failover");
    if (!json_is_array(list))
        return fail(L, lpath, "must be an array of provider names, not %s",
                    json_type_name(list));
    size_t n = json_array_size(list);
    if (n == 0)
        return fail(L, lpath, "must name at least one provider");
    if (n > ZCFG_MAX_PROFILE_PROVIDERS)
        return fail(L, lpath, "names %zu providers; a request tries at most %d", n,
                    ZCFG_MAX_PROFILE_PROVIDERS);
    prof->providers = xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        char ipath[ZCFG_PATH_LEN + 32];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", lpath, i);
        if (!json_is_string(item))
            return fail(L, ipath, "must be a provider name, not %s", json_type_name(item));
        size_t idx;
        if (provider_index(L->cfg, json_string_value(item), &idx) != ZEN_OK)
            return fail(L, ipath, "unknown provider \"%s\"", json_string_value(item));
        for (size_t j = 0; j < prof->n_providers; j++)
            if (prof->providers[j] == idx)
                return fail(L, ipath, "provider \"%s\" is listed twice",
                            json_string_value(item));
        prof->providers[prof->n_providers++] = idx;
    }
    return ZEN_OK;
}

static int load_profiles(struct loader *L, const json_t *root)
{
    const json_t *profiles = json_object_get(root, "profiles");
    struct zcfg *cfg = L->cfg;
    if (profiles && !json_is_null(profiles)) {
        if (expect_object(L, profiles, "profiles") != ZEN_OK)
            return ZEN_ERR;
        cfg->profiles = xcalloc(json_object_size(profiles), sizeof(struct zcfg_profile));
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)profiles, name, v) {
            if (load_profile(L, &cfg->profiles[cfg->n_profiles++], name, v) != ZEN_OK)
                return ZEN_ERR;
        }
    }
    char *def = NULL;
    if (opt_nonempty_string(L, root, "default_profile", "", &def) != ZEN_OK)
        return ZEN_ERR;
    if (def && !zcfg_find_profile(cfg, def)) {
        fail(L, "default_profile", "unknown profile \"%s\"", def);
        free(def);
        return ZEN_ERR;
    }
    if (!def && zcfg_find_profile(cfg, "default"))
        def = xstrdup("default");
    cfg->default_profile = def;
    return ZEN_OK;
}

/* ---- disabled_providers, health_check ---- */

static int load_disabled(struct loader *L, const json_t *root)
{
    const json_t *dis = json_object_get(root, "disabled_providers");
    if (!dis || json_is_null(dis))
        return ZEN_OK;
    if (expect_object(L, dis, "disabled_providers") != ZEN_OK)
        return ZEN_ERR;
    struct zcfg *cfg = L->cfg;
    cfg->disabled = xcalloc(json_object_size(dis), sizeof(struct zcfg_disabled));
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)dis, name, v) {
        char path[ZCFG_PATH_LEN];
        subpath(path, "disabled_providers", name);
        struct zcfg_disabled *d = &cfg->disabled[cfg->n_disabled++];
        d->name = xstrdup(name);
        if (expect_object(L, v, path) != ZEN_OK)
            return ZEN_ERR;
        char *expires = NULL;
        if (opt_nonempty_string(L, v, "type", path, &d->type) != ZEN_OK ||
            opt_nonempty_string(L, v, "expires_at", path, &expires) != ZEN_OK)
            return ZEN_ERR;
        if (expires) {
            int rc = ztime_parse_rfc3339(expires, &d->expires_at);
            free(expires);
            if (rc != ZEN_OK) {
                char epath[ZCFG_PATH_LEN];
                subpath(epath, path, "expires_at");
                return fail(L, epath, "not an RFC 3339 time (2026-11-28T23:59:59Z)");
            }
        }
    }
    return ZEN_OK;
}

static int load_health_check(struct loader *L, const json_t *root)
{
    struct zcfg_health_check *hc = &L->cfg->health_check;
    hc->enabled = 0;
    hc->interval_secs = 60;
    hc->timeout_secs = 10;
    const json_t *obj = json_object_get(root, "health_check");
    if (!obj || json_is_null(obj))
        return ZEN_OK;
    if (expect_object(L, obj, "health_check") != ZEN_OK)
        return ZEN_ERR;
    if (opt_bool(L, obj, "enabled", "health_check", &hc->enabled) ||
        opt_int(L, obj, "interval_secs", "health_check", &hc->interval_secs, 1, 86400) ||
        opt_int(L, obj, "timeout_secs", "health_check", &hc->timeout_secs, 1, 3600))
        return ZEN_ERR;
    return ZEN_OK;
}

/* ---- daemon ---- */

struct int_key {
    const char *key;
    size_t offset;
    int64_t def, min, max;
};

#define DKEY(name, def, min, max) {#name, offsetof(struct zcfg_daemon, name), def, min, max}
#define DAY_MS (86400LL * 1000)
static const struct int_key daemon_int_keys[] = {
    DKEY(max_concurrent, 100, 1, 1000000),
    DKEY(queue_timeout_ms, 5000, 0, DAY_MS),
    DKEY(connect_timeout_ms, 10000, 1, DAY_MS),
    DKEY(first_byte_timeout_ms, 120000, 1, DAY_MS),
    DKEY(idle_timeout_ms, 60000, 1, DAY_MS),
    DKEY(total_timeout_ms, 0, 0, DAY_MS),
    DKEY(retry_same_provider, 1, 0, 10),
    DKEY(max_retry_wait_ms, 10000, 0, DAY_MS),
    DKEY(cooldown_initial_ms, 60000, 0, DAY_MS),
    DKEY(cooldown_max_ms, 300000, 0, DAY_MS),
    DKEY(auth_cooldown_initial_ms, 1800000, 0, DAY_MS),
    DKEY(auth_cooldown_max_ms, 7200000, 0, DAY_MS),
    DKEY(probe_interval_ms, 5000, 100, DAY_MS),
    DKEY(max_header_bytes, 65536, 1024, 16 * 1024 * 1024),
    DKEY(max_body_bytes, 33554432, 0, 4LL * 1024 * 1024 * 1024),
    DKEY(max_body_bytes_total, 268435456, 1, 1LL << 40),
    DKEY(client_header_timeout_ms, 15000, 1, DAY_MS),
    DKEY(client_body_timeout_ms, 60000, 1, DAY_MS),
    DKEY(client_body_total_timeout_ms, 60000, 1, DAY_MS),
    DKEY(keepalive_timeout_ms, 90000, 1, DAY_MS),
    DKEY(drain_timeout_ms, 30000, 0, DAY_MS),
    DKEY(slow_request_ms, 1000, 0, DAY_MS),
    DKEY(log_max_bytes, 10485760, 0, 1LL << 40),
    DKEY(log_keep, 5, 0, 100),
    DKEY(log_ring, 2000, 0, 1000000),
    DKEY(restart_max, 5, 0, 1000),
    DKEY(restart_window_s, 600, 1, 86400 * 7),
    DKEY(restart_backoff_initial_ms, 1000, 1, DAY_MS),
    DKEY(restart_backoff_max_ms, 30000, 1, DAY_MS),
    DKEY(health_max_rss_mb, 500, 1, 1 << 20),
};
#undef DKEY

static const char *const daemon_other_keys[] = {
    "listen", "log_level", "log_file", "health_max_fd_ratio", "allowed_hosts",
    "allowed_origins", "access_keys", "allow_remote_without_keys",
};

static const char *const default_allowed_hosts[] = {"127.0.0.1", "localhost", "[::1]"};

static int64_t *daemon_int_field(struct zcfg_daemon *d, const struct int_key *k)
{
    return (int64_t *)((char *)d + k->offset);
}

static int known_daemon_key(const char *key)
{
    for (size_t i = 0; i < ZEN_ARRAY_LEN(daemon_int_keys); i++)
        if (strcmp(key, daemon_int_keys[i].key) == 0)
            return 1;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(daemon_other_keys); i++)
        if (strcmp(key, daemon_other_keys[i]) == 0)
            return 1;
    return 0;
}

/* "127.0.0.1:19841", "[::1]:19841", "localhost:19841" (-> 127.0.0.1). Only
 * numeric addresses otherwise: a daemon must not depend on DNS to start. */
static int parse_listen(struct loader *L, const char *s, struct zcfg_daemon *d)
{
    const char *colon;
    char host[ZCFG_HOST_MAX];
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return fail(L, "daemon.listen", "expected [address]:port, got \"%s\"", s);
        snprintf(host, sizeof(host), "%.*s", (int)(close - s - 1), s + 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return fail(L, "daemon.listen", "expected address:port, got \"%s\"", s);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || errno || port < 0 || port > 65535)
        return fail(L, "daemon.listen", "bad port in \"%s\"", s);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
        return fail(L, "daemon.listen", "\"%s\" is not a numeric IP address", host);
    snprintf(d->listen_host, sizeof(d->listen_host), "%s", host);
    d->listen_port = (int)port;
    return ZEN_OK;
}

static int load_access_keys(struct loader *L, const json_t *obj, struct zcfg_daemon *d)
{
    const json_t *arr = json_object_get(obj, "access_keys");
    if (!arr)
        return ZEN_OK;
    if (!json_is_array(arr))
        return fail(L, "daemon.access_keys", "must be an array of strings, not %s",
                    json_type_name(arr));
    size_t n = json_array_size(arr);
    d->access_key_hashes = xcalloc(n, sizeof(*d->access_key_hashes));
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        char path[ZCFG_PATH_LEN];
        snprintf(path, sizeof(path), "daemon.access_keys[%zu]", i);
        if (!json_is_string(v) || json_string_length(v) == 0)
            return fail(L, path, "must be a non-empty string");
        const char *s = json_string_value(v);
        uint8_t *out = d->access_key_hashes[d->n_access_keys++];
        size_t plen = strlen(BLAKE2B_PREFIX);
        if (strncmp(s, BLAKE2B_PREFIX, plen) == 0) {
            const char *hex = s + plen;
            if (strlen(hex) != 2 * ZSEC_KEY_HASH_BYTES)
                return fail(L, path, "blake2b: must be followed by %d hex digits",
                            2 * ZSEC_KEY_HASH_BYTES);
            for (int b = 0; b < ZSEC_KEY_HASH_BYTES; b++) {
                unsigned int byte;
                if (!isxdigit((unsigned char)hex[2 * b]) ||
                    !isxdigit((unsigned char)hex[2 * b + 1]) ||
                    sscanf(hex + 2 * b, "%2x", &byte) != 1)
                    return fail(L, path, "blake2b: hash is not hex");
                out[b] = (uint8_t)byte;
            }
        } else {
            /* A literal key in the file: hash it now, keep only the hash. */
            zsec_hash_key(s, out);
            L->has_literal_token = 1;
        }
    }
    return ZEN_OK;
}

int zcfg_listen_is_loopback(const struct zcfg_daemon *d)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, d->listen_host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, d->listen_host, &a6) != 1)
        return 0;
    if (IN6_IS_ADDR_LOOPBACK(&a6))
        return 1;
    return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

/* Beyond loopback, the Host guard alone stands between the network and the
 * user's provider keys: refused without access_keys unless the user says
 * so, and noted (logged at start and reload) either way. */
static int check_remote_listen(struct loader *L, const struct zcfg_daemon *d)
{
    if (zcfg_listen_is_loopback(d))
        return ZEN_OK;
    char listen[ZCFG_HOST_MAX + 16];
    zcfg_format_listen(d->listen_host, d->listen_port, listen, sizeof(listen));
    if (d->n_access_keys == 0 && !d->allow_remote_without_keys)
        return fail(L, "daemon.listen",
                    "%s is not a loopback address and daemon.access_keys is empty: anyone "
                    "who can reach it could spend your provider keys. Set daemon.access_keys, "
                    "listen on 127.0.0.1, or set daemon.allow_remote_without_keys: true",
                    listen);
    note(L, ZLOG_WARN, "listen_not_loopback",
         json_pack("{s:s, s:b, s:s}", "listen", listen, "access_keys", d->n_access_keys > 0,
                   "message",
                   d->n_access_keys ? "listening on a non-loopback address (access_keys "
                                      "required)"
                                    : "listening on a non-loopback address without "
                                      "access_keys"));
    return ZEN_OK;
}

static int load_daemon(struct loader *L, const json_t *root, int64_t proxy_port)
{
    struct zcfg_daemon *d = &L->cfg->daemon;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(daemon_int_keys); i++)
        *daemon_int_field(d, &daemon_int_keys[i]) = daemon_int_keys[i].def;
    d->log_level = ZLOG_INFO;
    d->health_max_fd_ratio = 0.8;
    snprintf(d->listen_host, sizeof(d->listen_host), "127.0.0.1");
    d->listen_port = (int)proxy_port;

    const json_t *obj = json_object_get(root, "daemon");
    if (obj && !json_is_null(obj)) {
        if (expect_object(L, obj, "daemon") != ZEN_OK)
            return ZEN_ERR;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
            /* zend's own section: a typo must not silently become a default. */
            if (!known_daemon_key(key)) {
                char path[ZCFG_PATH_LEN];
                subpath(path, "daemon", key);
                return fail(L, path, "unknown key");
            }
        }
        for (size_t i = 0; i < ZEN_ARRAY_LEN(daemon_int_keys); i++) {
            const struct int_key *k = &daemon_int_keys[i];
            if (opt_int(L, obj, k->key, "daemon", daemon_int_field(d, k), k->min, k->max))
                return ZEN_ERR;
        }
        char *s = NULL;
        if (opt_nonempty_string(L, obj, "listen", "daemon", &s) != ZEN_OK)
            return ZEN_ERR;
        if (s) {
            int rc = parse_listen(L, s, d);
            free(s);
            if (rc != ZEN_OK)
                return ZEN_ERR;
        }
        if (opt_nonempty_string(L, obj, "log_level", "daemon", &s) != ZEN_OK)
            return ZEN_ERR;
        if (s) {
            int rc = zlog_level_parse(s, &d->log_level);
            free(s);
            if (rc != ZEN_OK)
                return fail(L, "daemon.log_level", "must be debug, info, warn or error");
        }
        if (opt_string(L, obj, "log_file", "daemon", &d->log_file) != ZEN_OK)
            return ZEN_ERR;
        const json_t *ratio = json_object_get(obj, "health_max_fd_ratio");
        if (ratio) {
            if (!json_is_number(ratio) || json_number_value(ratio) <= 0 ||
                json_number_value(ratio) > 1)
                return fail(L, "daemon.health_max_fd_ratio", "must be a number in (0, 1]");
            d->health_max_fd_ratio = json_number_value(ratio);
        }
        if (opt_string_array(L, obj, "allowed_hosts", "daemon", &d->allowed_hosts,
                             &d->n_allowed_hosts) ||
            opt_string_array(L, obj, "allowed_origins", "daemon", &d->allowed_origins,
                             &d->n_allowed_origins) ||
            load_access_keys(L, obj, d) ||
            opt_bool(L, obj, "allow_remote_without_keys", "daemon",
                     &d->allow_remote_without_keys))
            return ZEN_ERR;
        if (d->cooldown_max_ms < d->cooldown_initial_ms)
            return fail(L, "daemon.cooldown_max_ms", "is below cooldown_initial_ms");
        if (d->auth_cooldown_max_ms < d->auth_cooldown_initial_ms)
            return fail(L, "daemon.auth_cooldown_max_ms", "is below auth_cooldown_initial_ms");
        if (d->restart_backoff_max_ms < d->restart_backoff_initial_ms)
            return fail(L, "daemon.restart_backoff_max_ms",
                        "is below restart_backoff_initial_ms");
    }
    if (check_remote_listen(L, d) != ZEN_OK)
        return ZEN_ERR;
    if (!d->log_file)
        d->log_file = xstrdup("zend.log");
    if (!d->allowed_hosts) {
        d->n_allowed_hosts = ZEN_ARRAY_LEN(default_allowed_hosts);
        d->allowed_hosts = xcalloc(d->n_allowed_hosts, sizeof(char *));
        for (size_t i = 0; i < d->n_allowed_hosts; i++)
            d->allowed_hosts[i] = xstrdup(default_allowed_hosts[i]);
    }
    return ZEN_OK;
}

/* ---- top level ---- */

static const char *const known_top_keys[] = {
    "version", "proxy_port", "default_profile", "providers", "profiles",
    "disabled_providers", "health_check", "daemon",
};

static void note_ignored_keys(struct loader *L, const json_t *root)
{
    json_t *ignored = json_array();
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        int known = 0;
        for (size_t i = 0; i < ZEN_ARRAY_LEN(known_top_keys); i++)
            known |= strcmp(key, known_top_keys[i]) == 0;
        if (!known)
            json_array_append_new(ignored, json_string(key));
    }
    if (json_array_size(ignored) > 0)
        note(L, ZLOG_DEBUG, "config_ignored_keys", json_pack("{s:o}", "keys", ignored));
    else
        json_decref(ignored);
}

static int load_root(struct loader *L, const json_t *root)
{
    int64_t version = 0, proxy_port = ZCFG_DEFAULT_PORT;
    if (opt_int(L, root, "version", "", &version, 0, INT32_MAX) ||
        opt_int(L, root, "proxy_port", "", &proxy_port, 0, 65535))
        return ZEN_ERR;
    L->cfg->proxy_port = (int)proxy_port;
    note_ignored_keys(L, root);
    if (load_providers(L, root) || load_profiles(L, root) || load_disabled(L, root) ||
        load_health_check(L, root) || load_daemon(L, root, proxy_port))
        return ZEN_ERR;
    return ZEN_OK;
}

/* jansson cannot be told to wipe, so scrub the parsed token strings in place
 * before the tree is freed. */
static void wipe_json_string(json_t *s)
{
    if (json_is_string(s))
        zsec_wipe((char *)json_string_value(s), json_string_length(s));
}

static void wipe_secrets_in_tree(json_t *root)
{
    const char *name;
    json_t *p;
    json_object_foreach(json_object_get(root, "providers"), name, p)
        wipe_json_string(json_object_get(p, "auth_token"));
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(json_object_get(root, "daemon"), "access_keys"), i, k)
        wipe_json_string(k);
}

/* jansson ends a syntax error with "near '<text>'", the text read so far of
 * the token it choked on. Inside a string that is the start of the string,
 * an auth_token's first characters say, and the message goes to zend.log,
 * the log ring and `zenctl reload`: the string's text is replaced. */
static void redact_near_text(char text[JSON_ERROR_TEXT_LENGTH])
{
    static const char marker[] = " near '";
    char *near = strstr(text, marker);
    if (near && near[sizeof(marker) - 1] == '"') {
        size_t room = JSON_ERROR_TEXT_LENGTH - (size_t)(near - text);
        snprintf(near, room, " (inside a string)");
    }
}

struct zcfg *zcfg_load_buffer(const char *name, const char *data, size_t len, char *err,
                              size_t errlen)
{
    struct zcfg *cfg = xcalloc(1, sizeof(*cfg));
    cfg->refs = 1;
    cfg->path = xstrdup(name);
    cfg->notes = json_array();
    zsec_fingerprint(data, len, cfg->hash);

    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        redact_near_text(jerr.text);
        snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        zcfg_unref(cfg);
        return NULL;
    }
    struct loader L = {.file = name, .err = err, .errlen = errlen, .cfg = cfg};
    int rc = json_is_object(root) ? load_root(&L, root)
                                  : fail(&L, "(top level)", "must be a JSON object");
    wipe_secrets_in_tree(root);
    json_decref(root);
    if (rc != ZEN_OK) {
        zcfg_unref(cfg);
        return NULL;
    }
    cfg->has_literal_secret = L.has_literal_token;
    return cfg;
}

struct zcfg *zcfg_load_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > ZCFG_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: not a regular file of at most %u bytes", path,
                 ZCFG_MAX_FILE_BYTES);
        close(fd);
        return NULL;
    }
    /* Checked on the file actually opened, at every load: a reload of a
     * file someone made group-writable is refused like a start. */
    if (zpaths_check_config_file(path, &st, err, errlen) != ZEN_OK ||
        zpaths_check_config_dir(path, err, errlen) != ZEN_OK) {
        close(fd);
        return NULL;
    }
    size_t len = (size_t)st.st_size;
    char *data = xcalloc(len + 1, 1);
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, data + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    struct zcfg *cfg = zcfg_load_buffer(path, data, got, err, errlen);
    zsec_wipe(data, got);
    free(data);
    /* Like ssh with a private key: start anyway, but say so. */
    if (cfg && cfg->has_literal_secret && (st.st_mode & (S_IRWXG | S_IRWXO))) {
        char mode[8];
        snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
        json_array_append_new(
            cfg->notes, json_pack("{s:s, s:s, s:{s:s, s:s, s:s}}", "level", "warn", "event",
                                  "config_permissions", "fields", "path", path, "mode", mode,
                                  "fix", "chmod 600 the file: it holds a literal secret"));
    }
    return cfg;
}

struct zcfg *zcfg_ref(struct zcfg *cfg)
{
    cfg->refs++;
    return cfg;
}

static void free_string_list(char **items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(items[i]);
    free(items);
}

static void free_provider(struct zcfg_provider *p)
{
    free(p->name);
    free(p->base_url);
    zsec_secure_free(p->auth_token);
    free(p->token_env);
    free(p->model);
    free(p->sonnet_model);
    free(p->opus_model);
    free(p->haiku_model);
    free(p->reasoning_model);
    free(p->proxy_url);
    free(p->ca_file);
    for (size_t i = 0; i < p->n_env_headers; i++) {
        free(p->env_headers[i].name);
        free(p->env_headers[i].value);
    }
    free(p->env_headers);
}

void zcfg_unref(struct zcfg *cfg)
{
    if (!cfg || --cfg->refs > 0)
        return;
    for (size_t i = 0; i < cfg->n_providers; i++)
        free_provider(&cfg->providers[i]);
    free(cfg->providers);
    for (size_t i = 0; i < cfg->n_profiles; i++) {
        free(cfg->profiles[i].name);
        free(cfg->profiles[i].providers);
        free(cfg->profiles[i].strategy);
    }
    free(cfg->profiles);
    for (size_t i = 0; i < cfg->n_disabled; i++) {
        free(cfg->disabled[i].name);
        free(cfg->disabled[i].type);
    }
    free(cfg->disabled);
    struct zcfg_daemon *d = &cfg->daemon;
    free(d->log_file);
    free_string_list(d->allowed_hosts, d->n_allowed_hosts);
    free_string_list(d->allowed_origins, d->n_allowed_origins);
    if (d->access_key_hashes)
        zsec_wipe(d->access_key_hashes, d->n_access_keys * sizeof(*d->access_key_hashes));
    free(d->access_key_hashes);
    free(cfg->default_profile);
    free(cfg->path);
    json_decref(cfg->notes);
    free(cfg);
}

const struct zcfg_provider *zcfg_find_provider(const struct zcfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_providers; i++)
        if (strcmp(cfg->providers[i].name, name) == 0)
            return &cfg->providers[i];
    return NULL;
}

const struct zcfg_profile *zcfg_find_profile(const struct zcfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_profiles; i++)
        if (strcmp(cfg->profiles[i].name, name) == 0)
            return &cfg->profiles[i];
    return NULL;
}

int zcfg_provider_disabled(const struct zcfg *cfg, const char *name, int64_t now_s)
{
    for (size_t i = 0; i < cfg->n_disabled; i++) {
        const struct zcfg_disabled *d = &cfg->disabled[i];
        if (strcmp(d->name, name) == 0 && (d->expires_at == 0 || now_s <= d->expires_at))
            return 1;
    }
    return 0;
}

static const char starter_config[] =
    "{\n"
    "  \"version\": 15,\n"
    "  \"proxy_port\": 19841,\n"
    "  \"default_profile\": \"default\",\n"
    "  \"providers\": {\n"
    "    \"anthropic\": {\n"
    "      \"type\": \"anthropic\",\n"
    "      \"base_url\": \"https://api.anthropic.com\",\n"
    "      \"auth_token\": \"env:ANTHROPIC_API_KEY\"\n"
    "    }\n"
    "  },\n"
    "  \"profiles\": {\n"
    "    \"default\": { \"providers\": [\"anthropic\"], \"strategy\": \"failover\" }\n"
    "  }\n"
    "}\n";

int zcfg_write_starter(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return ZEN_ERR;
    }
    size_t len = sizeof(starter_config) - 1;
    ssize_t w = write(fd, starter_config, len);
    int ok = w == (ssize_t)len && fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!ok) {
        unlink(path);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        return ZEN_ERR;
    }
    return ZEN_OK;
}

void zcfg_format_listen(const char *host, int port, char *out, size_t outlen)
{
    if (strchr(host, ':'))
        snprintf(out, outlen, "[%s]:%d", host, port);
    else
        snprintf(out, outlen, "%s:%d", host, port);
}
