/* config.c -- zen.json as a whole: reading the file, the providers, profiles
 * and disabled list, and the object's lifetime. The typed member readers
 * live in config_read.c and the `daemon` section in config_daemon.c; what
 * they share is config_load.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "config_load.h"
#include "log.h"
#include "paths.h"
#include "timeutil.h"

/* A zen.json larger than this is not a config file someone wrote by hand. */
#define ZCFG_MAX_FILE_BYTES (16u * 1024 * 1024)

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
    char *h = zcfgl_xcalloc(n + 7, 1);
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

static int load_env_headers(struct zcfg_loader *L, struct zcfg_provider *p, const json_t *obj,
                            const char *parent)
{
    char path[ZCFG_PATH_LEN];
    const json_t *env = json_object_get(obj, "env_vars");
    if (!env || json_is_null(env))
        return ZEN_OK;
    zcfgl_subpath(path, parent, "env_vars");
    if (zcfgl_expect_object(L, env, path) != ZEN_OK)
        return ZEN_ERR;
    zcfgl_mark_set(L, parent, "env_vars");
    p->env_headers = zcfgl_xcalloc(json_object_size(env), sizeof(struct zcfg_header));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)env, key, v) {
        char kpath[ZCFG_PATH_LEN];
        zcfgl_subpath(kpath, path, key);
        if (!header_name_ok(key))
            return zcfgl_fail(L, kpath, "not usable as a header name");
        char *value = NULL;
        if (json_is_string(v)) {
            value = zcfgl_xstrdup(json_string_value(v));
        } else if (json_is_number(v) || json_is_boolean(v)) {
            /* GoZen configs sometimes write numbers here; keep them as text. */
            value = json_dumps(v, JSON_ENCODE_ANY);
        } else {
            return zcfgl_fail(L, kpath, "must be a string, not %s", zcfgl_type_name(v));
        }
        for (const char *c = value; *c; c++) {
            if ((unsigned char)*c < 0x20 && *c != '\t') {
                free(value);
                return zcfgl_fail(L, kpath, "contains a control character");
            }
        }
        struct zcfg_header *h = &p->env_headers[p->n_env_headers++];
        h->name = env_header_name(key);
        h->value = value;
    }
    return ZEN_OK;
}

/* auth_token: literal, "env:NAME", or empty for passthrough auth. */
static int load_token(struct zcfg_loader *L, struct zcfg_provider *p, const json_t *obj,
                      const char *parent)
{
    char *raw = NULL;
    if (zcfgl_opt_string(L, obj, "auth_token", parent, &raw) != ZEN_OK)
        return ZEN_ERR;
    if (!raw || !*raw) {
        zsec_free(raw);
        return ZEN_OK;
    }
    if (strncmp(raw, "env:", 4) == 0) {
        p->token_env = zcfgl_xstrdup(raw + 4);
        zsec_free(raw);
        const char *v = getenv(p->token_env);
        if (!v || !*v) {
            zcfgl_note(L, ZLOG_WARN, "provider_token_missing",
                       json_pack("{s:s, s:s, s:s}", "provider", p->name, "variable",
                                 p->token_env, "fallback", "passthrough"));
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

/* An optional string key that must be one of `names`; its index goes to
 * *out (left alone when the key is absent). */
static int load_choice(struct zcfg_loader *L, const json_t *obj, const char *key,
                       const char *parent, const char *const *names, size_t n, int *out)
{
    char *v = NULL;
    if (zcfgl_opt_nonempty_string(L, obj, key, parent, &v) != ZEN_OK)
        return ZEN_ERR;
    if (!v)
        return ZEN_OK;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v, names[i]) == 0) {
            *out = (int)i;
            free(v);
            return ZEN_OK;
        }
    }
    free(v);
    char kpath[ZCFG_PATH_LEN], list[160] = "";
    zcfgl_subpath(kpath, parent, key);
    for (size_t i = 0; i < n; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s\"%s\"",
                 i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
    return zcfgl_fail(L, kpath, "must be %s", list);
}

/* The keys of format translation (docs/translate.md, provider keys). */
static int load_translation_keys(struct zcfg_loader *L, struct zcfg_provider *p,
                                 const json_t *obj, const char *path)
{
    /* Indexed by the enums of config.h. */
    static const char *const openai_apis[] = {"auto", "chat", "responses"};
    static const char *const max_tokens_fields[] = {"max_completion_tokens", "max_tokens"};
    static const char *const thinking_modes[] = {"budget", "adaptive"};
    p->default_max_tokens = ZCFG_DEFAULT_MAX_TOKENS;
    if (load_choice(L, obj, "openai_api", path, openai_apis, ZEN_ARRAY_LEN(openai_apis),
                    &p->openai_api) != ZEN_OK ||
        load_choice(L, obj, "max_tokens_field", path, max_tokens_fields,
                    ZEN_ARRAY_LEN(max_tokens_fields), &p->max_tokens_legacy) != ZEN_OK ||
        load_choice(L, obj, "thinking_mode", path, thinking_modes, ZEN_ARRAY_LEN(thinking_modes),
                    &p->thinking_mode) != ZEN_OK ||
        zcfgl_opt_int(L, obj, "default_max_tokens", path, &p->default_max_tokens, 1,
                      ZCFG_MAX_DEFAULT_MAX_TOKENS) != ZEN_OK ||
        zcfgl_opt_bool(L, obj, "drop_sampling", path, &p->drop_sampling) != ZEN_OK ||
        zcfgl_opt_int(L, obj, "weight", path, &p->weight, 0, INT32_MAX) != ZEN_OK)
        return ZEN_ERR;
    return ZEN_OK;
}

static int load_provider(struct zcfg_loader *L, struct zcfg_provider *p, const char *name,
                         const json_t *obj)
{
    static const char *const base_schemes[] = {"http", "https"};
    static const char *const proxy_schemes[] = {"http", "https", "socks5", "socks5h",
                                                "socks4", "socks4a"};
    char path[ZCFG_PATH_LEN];
    zcfgl_subpath(path, "providers", name);
    p->name = zcfgl_xstrdup(name);
    if (!*name)
        return zcfgl_fail(L, "providers", "a provider name cannot be empty");
    if (zcfgl_expect_object(L, obj, path) != ZEN_OK)
        return ZEN_ERR;

    char *type = NULL;
    if (zcfgl_opt_nonempty_string(L, obj, "type", path, &type) != ZEN_OK)
        return ZEN_ERR;
    p->type = ZCFG_TYPE_ANTHROPIC;
    if (type && strcmp(type, "openai") == 0) {
        p->type = ZCFG_TYPE_OPENAI;
    } else if (type && strcmp(type, "anthropic") != 0) {
        char tpath[ZCFG_PATH_LEN];
        zcfgl_subpath(tpath, path, "type");
        free(type);
        return zcfgl_fail(L, tpath, "must be \"anthropic\" or \"openai\"");
    }
    free(type);

    if (zcfgl_opt_string(L, obj, "base_url", path, &p->base_url) != ZEN_OK)
        return ZEN_ERR;
    char upath[ZCFG_PATH_LEN];
    zcfgl_subpath(upath, path, "base_url");
    if (!p->base_url)
        return zcfgl_fail(L, upath, "required");
    if (check_url(p->base_url, base_schemes, ZEN_ARRAY_LEN(base_schemes)) != ZEN_OK)
        return zcfgl_fail(L, upath, "not an http(s) URL: \"%s\"", p->base_url);
    size_t ulen = strlen(p->base_url);
    while (ulen > 0 && p->base_url[ulen - 1] == '/')
        p->base_url[--ulen] = '\0';

    if (load_token(L, p, obj, path) != ZEN_OK)
        return ZEN_ERR;

    char *auth_header = NULL;
    if (zcfgl_opt_nonempty_string(L, obj, "auth_header", path, &auth_header) != ZEN_OK)
        return ZEN_ERR;
    p->auth_header = ZCFG_AUTH_BOTH;
    if (auth_header) {
        if (strcmp(auth_header, "x-api-key") == 0) {
            p->auth_header = ZCFG_AUTH_X_API_KEY;
        } else if (strcmp(auth_header, "bearer") == 0) {
            p->auth_header = ZCFG_AUTH_BEARER;
        } else if (strcmp(auth_header, "both") != 0) {
            free(auth_header);
            zcfgl_subpath(upath, path, "auth_header");
            return zcfgl_fail(L, upath, "must be \"both\", \"x-api-key\" or \"bearer\"");
        }
        free(auth_header);
    }

    if (zcfgl_opt_nonempty_string(L, obj, "model", path, &p->model) ||
        zcfgl_opt_nonempty_string(L, obj, "sonnet_model", path, &p->sonnet_model) ||
        zcfgl_opt_nonempty_string(L, obj, "opus_model", path, &p->opus_model) ||
        zcfgl_opt_nonempty_string(L, obj, "haiku_model", path, &p->haiku_model) ||
        zcfgl_opt_nonempty_string(L, obj, "reasoning_model", path, &p->reasoning_model) ||
        zcfgl_opt_nonempty_string(L, obj, "proxy_url", path, &p->proxy_url) ||
        zcfgl_opt_nonempty_string(L, obj, "ca_file", path, &p->ca_file))
        return ZEN_ERR;
    if (p->proxy_url &&
        check_url(p->proxy_url, proxy_schemes, ZEN_ARRAY_LEN(proxy_schemes)) != ZEN_OK) {
        zcfgl_subpath(upath, path, "proxy_url");
        return zcfgl_fail(L, upath, "not an http, https or socks5 URL: \"%s\"", p->proxy_url);
    }
    if (p->ca_file && access(p->ca_file, R_OK) != 0) {
        zcfgl_subpath(upath, path, "ca_file");
        return zcfgl_fail(L, upath, "cannot read %s: %s", p->ca_file, strerror(errno));
    }
    if (load_translation_keys(L, p, obj, path) != ZEN_OK)
        return ZEN_ERR;
    return load_env_headers(L, p, obj, path);
}

static int load_providers(struct zcfg_loader *L, const json_t *root)
{
    const json_t *providers = json_object_get(root, "providers");
    if (!providers || json_is_null(providers))
        return ZEN_OK;
    if (zcfgl_expect_object(L, providers, "providers") != ZEN_OK)
        return ZEN_ERR;
    struct zcfg *cfg = L->cfg;
    if (json_object_size(providers) > ZCFG_MAX_PROVIDERS)
        return zcfgl_fail(L, "providers", "%zu providers; at most %d are supported",
                          json_object_size(providers), ZCFG_MAX_PROVIDERS);
    cfg->providers = zcfgl_xcalloc(json_object_size(providers), sizeof(struct zcfg_provider));
    const char *name;
    json_t *obj;
    json_object_foreach((json_t *)providers, name, obj) {
        if (load_provider(L, &cfg->providers[cfg->n_providers++], name, obj) != ZEN_OK)
            return ZEN_ERR;
    }
    return ZEN_OK;
}

/* ---- profiles ---- */

int zcfgl_provider_index(const struct zcfg *cfg, const char *name, size_t *idx)
{
    for (size_t i = 0; i < cfg->n_providers; i++) {
        if (strcmp(cfg->providers[i].name, name) == 0) {
            *idx = i;
            return ZEN_OK;
        }
    }
    return ZEN_ERR;
}

/* GoZen only warns about a profile it cannot use, and its own tooling writes
 * an empty `default` profile: unknown and repeated names are dropped with a
 * config_warning, and a profile left with no provider loads (its requests
 * get 503 profile_empty). A wrong JSON type, or more names than a request
 * can try, is still an error. */
static int load_profile(struct zcfg_loader *L, struct zcfg_profile *prof, const char *name,
                        const json_t *v)
{
    char path[ZCFG_PATH_LEN], lpath[ZCFG_PATH_LEN];
    zcfgl_subpath(path, "profiles", name);
    prof->name = zcfgl_xstrdup(name);
    if (!*name || strchr(name, '/'))
        return zcfgl_fail(L, path, "a profile name must be non-empty and contain no '/'");

    /* Old GoZen form: a plain array. New form: {providers, strategy, ...}. */
    const json_t *list = v;
    snprintf(lpath, sizeof(lpath), "%s", path);
    if (json_is_object(v)) {
        list = json_object_get(v, "providers");
        zcfgl_subpath(lpath, path, "providers");
    } else if (!json_is_array(v)) {
        return zcfgl_fail(L, path, "must be an array of provider names or an object, not %s",
                          zcfgl_type_name(v));
    }
    if (zcfgl_load_profile_routing(L, prof, v, path) != ZEN_OK)
        return ZEN_ERR;
    prof->strategy = zcfgl_xstrdup(zcfg_strategy_name(prof->strategy_kind));
    if (list && !json_is_null(list) && !json_is_array(list))
        return zcfgl_fail(L, lpath, "must be an array of provider names, not %s",
                          zcfgl_type_name(list));
    size_t n = json_array_size(list); /* 0 when absent or null */
    if (n > ZCFG_MAX_PROFILE_PROVIDERS)
        return zcfgl_fail(L, lpath, "names %zu providers; a request tries at most %d", n,
                          ZCFG_MAX_PROFILE_PROVIDERS);
    prof->providers = zcfgl_xcalloc(n, sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        char ipath[ZCFG_PATH_LEN + 32];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", lpath, i);
        if (!json_is_string(item))
            return zcfgl_fail(L, ipath, "must be a provider name, not %s", zcfgl_type_name(item));
        const char *pname = json_string_value(item);
        size_t idx, j;
        if (zcfgl_provider_index(L->cfg, pname, &idx) != ZEN_OK) {
            zcfgl_warn(L, ipath, "unknown provider \"%s\" (dropped from the profile)", pname);
            continue;
        }
        for (j = 0; j < prof->n_providers && prof->providers[j] != idx; j++)
            ;
        if (j < prof->n_providers) {
            zcfgl_warn(L, ipath, "provider \"%s\" is listed twice (the repeat is dropped)",
                       pname);
            continue;
        }
        prof->providers[prof->n_providers++] = idx;
    }
    if (prof->n_providers == 0)
        zcfgl_warn(L, lpath, "names no %sprovider: requests for profile \"%s\" get 503 "
                   "profile_empty", n ? "known " : "", name);
    return ZEN_OK;
}

static int load_profiles(struct zcfg_loader *L, const json_t *root)
{
    const json_t *profiles = json_object_get(root, "profiles");
    struct zcfg *cfg = L->cfg;
    if (profiles && !json_is_null(profiles)) {
        if (zcfgl_expect_object(L, profiles, "profiles") != ZEN_OK)
            return ZEN_ERR;
        cfg->profiles = zcfgl_xcalloc(json_object_size(profiles), sizeof(struct zcfg_profile));
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)profiles, name, v) {
            if (load_profile(L, &cfg->profiles[cfg->n_profiles++], name, v) != ZEN_OK)
                return ZEN_ERR;
        }
    }
    char *def = NULL;
    if (zcfgl_opt_nonempty_string(L, root, "default_profile", "", &def) != ZEN_OK)
        return ZEN_ERR;
    if (def && !zcfg_find_profile(cfg, def)) {
        zcfgl_warn(L, "default_profile", "unknown profile \"%s\" (ignored: %s)", def,
                   zcfg_find_profile(cfg, "default") ? "profile \"default\" serves /v1"
                                                      : "/v1 has no default profile");
        free(def);
        def = NULL;
    }
    if (!def && zcfg_find_profile(cfg, "default"))
        def = zcfgl_xstrdup("default");
    cfg->default_profile = def;
    return ZEN_OK;
}

/* ---- disabled_providers, health_check ---- */

static int load_disabled(struct zcfg_loader *L, const json_t *root)
{
    const json_t *dis = json_object_get(root, "disabled_providers");
    if (!dis || json_is_null(dis))
        return ZEN_OK;
    if (zcfgl_expect_object(L, dis, "disabled_providers") != ZEN_OK)
        return ZEN_ERR;
    struct zcfg *cfg = L->cfg;
    cfg->disabled = zcfgl_xcalloc(json_object_size(dis), sizeof(struct zcfg_disabled));
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)dis, name, v) {
        char path[ZCFG_PATH_LEN];
        zcfgl_subpath(path, "disabled_providers", name);
        struct zcfg_disabled *d = &cfg->disabled[cfg->n_disabled++];
        d->name = zcfgl_xstrdup(name);
        if (zcfgl_expect_object(L, v, path) != ZEN_OK)
            return ZEN_ERR;
        char *expires = NULL;
        if (zcfgl_opt_nonempty_string(L, v, "type", path, &d->type) != ZEN_OK ||
            zcfgl_opt_nonempty_string(L, v, "expires_at", path, &expires) != ZEN_OK)
            return ZEN_ERR;
        if (expires) {
            int rc = ztime_parse_rfc3339(expires, &d->expires_at);
            free(expires);
            if (rc != ZEN_OK) {
                char epath[ZCFG_PATH_LEN];
                zcfgl_subpath(epath, path, "expires_at");
                return zcfgl_fail(L, epath, "not an RFC 3339 time (2026-11-28T23:59:59Z)");
            }
        }
    }
    return ZEN_OK;
}

/* ---- top level ---- */

static int load_root(struct zcfg_loader *L, const json_t *root)
{
    int64_t version = 0, proxy_port = ZCFG_DEFAULT_PORT;
    if (zcfgl_opt_int(L, root, "version", "", &version, 0, INT32_MAX) ||
        zcfgl_opt_int(L, root, "proxy_port", "", &proxy_port, 0, 65535))
        return ZEN_ERR;
    L->cfg->proxy_port = (int)proxy_port;
    zcfgl_note_ignored_keys(L, root);
    if (load_providers(L, root) || load_profiles(L, root) || load_disabled(L, root) ||
        zcfgl_load_health_check(L, root) || zcfgl_load_daemon(L, root, proxy_port) ||
        zcfgl_load_pricing(L, root) || zcfgl_load_budgets(L, root))
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
    struct zcfg *cfg = zcfgl_xcalloc(1, sizeof(*cfg));
    cfg->refs = 1;
    cfg->path = zcfgl_xstrdup(name);
    cfg->notes = json_array();
    cfg->file_keys = json_object();
    zsec_fingerprint(data, len, cfg->hash);

    json_error_t jerr;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        redact_near_text(jerr.text);
        snprintf(err, errlen, "%s:%d:%d: %s", name, jerr.line, jerr.column, jerr.text);
        zcfg_unref(cfg);
        return NULL;
    }
    struct zcfg_loader L = {.file = name, .err = err, .errlen = errlen, .cfg = cfg};
    int rc = json_is_object(root) ? load_root(&L, root)
                                  : zcfgl_fail(&L, "(top level)", "must be a JSON object");
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
    char *data = zcfgl_xcalloc(len + 1, 1);
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
        zcfgl_free_profile_routing(&cfg->profiles[i]);
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
    free_string_list(d->control_readers, d->n_control_readers);
    free(d->control_read_socket);
    if (d->access_key_hashes)
        zsec_wipe(d->access_key_hashes, d->n_access_keys * sizeof(*d->access_key_hashes));
    free(d->access_key_hashes);
    zcfgl_free_pricing(cfg);
    free(cfg->default_profile);
    free(cfg->path);
    json_decref(cfg->notes);
    json_decref(cfg->file_keys);
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

const char *zcfg_auth_mode(const struct zcfg_provider *p)
{
    if (!p->auth_token)
        return "passthrough";
    return p->token_env ? "env" : "token";
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
