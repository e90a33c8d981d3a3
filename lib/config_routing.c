/* config_routing.c -- a profile's routing keys (docs/routing.md): strategy,
 * provider_weights, long_context_threshold, scenario_priority,
 * session_affinity and the scenario routes.
 *
 * GoZen silently ignored what it could not use; here a typo in a routing key
 * would silently send traffic elsewhere, so an unknown strategy, scenario key
 * or provider, and a negative weight or threshold, are errors naming the
 * JSON path (the previous config stays in force on reload). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config_load.h"

static const char *const strategy_names[] = {"failover", "round-robin", "weighted",
                                             "least-latency", "least-cost"};
static const char *const scenario_names[] = {"webSearch", "think", "image", "longContext",
                                             "code", "background", "default"};

const char *zcfg_strategy_name(int strategy)
{
    if (strategy < 0 || (size_t)strategy >= ZEN_ARRAY_LEN(strategy_names))
        return "failover";
    return strategy_names[strategy];
}

int zcfg_strategy_parse(const char *name)
{
    if (!*name)
        return ZCFG_STRATEGY_FAILOVER; /* GoZen: empty means failover */
    for (size_t i = 0; i < ZEN_ARRAY_LEN(strategy_names); i++)
        if (strcmp(name, strategy_names[i]) == 0)
            return (int)i;
    return -1;
}

const char *zcfg_scenario_name(int scenario)
{
    if (scenario < 0 || scenario >= ZCFG_N_SCENARIOS)
        return "default";
    return scenario_names[scenario];
}

int zcfg_scenario_parse(const char *key)
{
    static const struct {
        const char *key;
        int scenario;
    } aliases[] = {
        {"long_context", ZCFG_SCENARIO_LONG_CONTEXT}, {"long-context", ZCFG_SCENARIO_LONG_CONTEXT},
        {"longcontext", ZCFG_SCENARIO_LONG_CONTEXT},  {"web_search", ZCFG_SCENARIO_WEB_SEARCH},
        {"web-search", ZCFG_SCENARIO_WEB_SEARCH},     {"websearch", ZCFG_SCENARIO_WEB_SEARCH},
    };
    for (int i = 0; i < ZCFG_N_SCENARIOS; i++)
        if (strcmp(key, scenario_names[i]) == 0)
            return i;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(aliases); i++)
        if (strcmp(key, aliases[i].key) == 0)
            return aliases[i].scenario;
    return -1;
}

static int load_strategy(struct zcfg_loader *L, const json_t *obj, const char *parent, int *out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, "strategy");
    if (!v || json_is_null(v))
        return ZEN_OK;
    zcfgl_mark_set(L, parent, "strategy");
    zcfgl_subpath(path, parent, "strategy");
    if (!json_is_string(v))
        return zcfgl_fail(L, path, "must be a string, not %s", zcfgl_type_name(v));
    int s = zcfg_strategy_parse(json_string_value(v));
    if (s < 0)
        return zcfgl_fail(L, path, "unknown strategy \"%s\" (failover, round-robin, weighted, "
                          "least-latency or least-cost)", json_string_value(v));
    *out = s;
    return ZEN_OK;
}

/* provider_weights: {name: integer >= 0}; *out is allocated with one slot per
 * configured provider, -1 where the map says nothing. */
static int load_weights(struct zcfg_loader *L, const json_t *obj, const char *parent,
                        int64_t **out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *w = json_object_get(obj, "provider_weights");
    if (!w || json_is_null(w))
        return ZEN_OK;
    zcfgl_subpath(path, parent, "provider_weights");
    if (zcfgl_expect_object(L, w, path) != ZEN_OK)
        return ZEN_ERR;
    size_t n = L->cfg->n_providers;
    *out = zcfgl_xcalloc(n ? n : 1, sizeof(int64_t));
    for (size_t i = 0; i < n; i++)
        (*out)[i] = -1;
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)w, name, v) {
        char ipath[ZCFG_PATH_LEN];
        zcfgl_subpath(ipath, path, name);
        size_t idx;
        if (zcfgl_provider_index(L->cfg, name, &idx) != ZEN_OK)
            return zcfgl_fail(L, ipath, "unknown provider \"%s\"", name);
        if (zcfgl_opt_int(L, w, name, path, &(*out)[idx], 0, INT32_MAX) != ZEN_OK)
            return ZEN_ERR;
    }
    return ZEN_OK;
}

/* A route's providers: names or {name, model}. */
static int load_route_providers(struct zcfg_loader *L, struct zcfg_route *r, const json_t *obj,
                                const char *parent)
{
    char path[ZCFG_PATH_LEN];
    const json_t *list = json_object_get(obj, "providers");
    zcfgl_subpath(path, parent, "providers");
    if (!json_is_array(list))
        return zcfgl_fail(L, path, "must be an array of provider names or {name, model}, not %s",
                          list ? zcfgl_type_name(list) : "missing");
    size_t n = json_array_size(list);
    if (n == 0)
        return zcfgl_fail(L, path, "names no provider");
    if (n > ZCFG_MAX_PROFILE_PROVIDERS)
        return zcfgl_fail(L, path, "names %zu providers; a request tries at most %d", n,
                          ZCFG_MAX_PROFILE_PROVIDERS);
    r->providers = zcfgl_xcalloc(n, sizeof(*r->providers));
    for (size_t i = 0; i < n; i++) {
        const json_t *item = json_array_get(list, i);
        char ipath[ZCFG_PATH_LEN + 32], npath[ZCFG_PATH_LEN + 40];
        snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
        const json_t *name = item;
        char *model = NULL;
        if (json_is_object(item)) {
            name = json_object_get(item, "name");
            snprintf(npath, sizeof(npath), "%s.name", ipath);
            if (zcfgl_opt_nonempty_string(L, item, "model", ipath, &model) != ZEN_OK)
                return ZEN_ERR;
        } else {
            snprintf(npath, sizeof(npath), "%s", ipath);
        }
        size_t idx;
        if (!json_is_string(name)) {
            free(model);
            return zcfgl_fail(L, npath, "must be a provider name, not %s",
                              name ? zcfgl_type_name(name) : "missing");
        }
        if (zcfgl_provider_index(L->cfg, json_string_value(name), &idx) != ZEN_OK) {
            free(model);
            return zcfgl_fail(L, npath, "unknown provider \"%s\"", json_string_value(name));
        }
        for (size_t j = 0; j < r->n_providers; j++) {
            if (r->providers[j].provider == idx) {
                free(model);
                return zcfgl_fail(L, npath, "provider \"%s\" is listed twice",
                                  json_string_value(name));
            }
        }
        r->providers[r->n_providers].provider = idx;
        r->providers[r->n_providers++].model = model;
    }
    return ZEN_OK;
}

static int load_route(struct zcfg_loader *L, struct zcfg_route *r, const json_t *obj,
                      const char *path)
{
    r->present = 1;
    r->strategy = ZCFG_STRATEGY_FAILOVER;
    r->long_context_threshold = -1;
    r->fallback_to_default = 1;
    r->session_affinity = -1;
    if (zcfgl_expect_object(L, obj, path) != ZEN_OK ||
        load_route_providers(L, r, obj, path) != ZEN_OK ||
        load_strategy(L, obj, path, &r->strategy) != ZEN_OK ||
        load_weights(L, obj, path, &r->weights) != ZEN_OK ||
        zcfgl_opt_int(L, obj, "long_context_threshold", path, &r->long_context_threshold, 0,
                      INT64_MAX) != ZEN_OK ||
        zcfgl_opt_bool(L, obj, "fallback_to_default", path, &r->fallback_to_default) != ZEN_OK ||
        zcfgl_opt_bool(L, obj, "session_affinity", path, &r->session_affinity) != ZEN_OK)
        return ZEN_ERR;
    return ZEN_OK;
}

static int load_routes(struct zcfg_loader *L, struct zcfg_profile *prof, const json_t *obj,
                       const char *parent)
{
    char path[ZCFG_PATH_LEN];
    const json_t *routing = json_object_get(obj, "routing");
    if (!routing || json_is_null(routing))
        return ZEN_OK;
    zcfgl_subpath(path, parent, "routing");
    if (zcfgl_expect_object(L, routing, path) != ZEN_OK)
        return ZEN_ERR;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)routing, key, v) {
        char rpath[ZCFG_PATH_LEN];
        zcfgl_subpath(rpath, path, key);
        int sc = zcfg_scenario_parse(key);
        if (sc < 0)
            return zcfgl_fail(L, rpath, "unknown scenario \"%s\" (webSearch, think, image, "
                              "longContext, code, background or default)", key);
        if (prof->routes[sc].present)
            return zcfgl_fail(L, rpath, "a second route for scenario %s",
                              zcfg_scenario_name(sc));
        if (load_route(L, &prof->routes[sc], v, rpath) != ZEN_OK)
            return ZEN_ERR;
        prof->has_routes = 1;
    }
    return ZEN_OK;
}

/* scenario_priority: listed keys first, in order, then the rest in the
 * default order. */
static int load_priority(struct zcfg_loader *L, struct zcfg_profile *prof, const json_t *obj,
                         const char *parent)
{
    char path[ZCFG_PATH_LEN];
    int seen[ZCFG_N_SCENARIOS] = {0};
    size_t n = 0;
    const json_t *list = json_object_get(obj, "scenario_priority");
    if (list && !json_is_null(list)) {
        zcfgl_subpath(path, parent, "scenario_priority");
        if (!json_is_array(list))
            return zcfgl_fail(L, path, "must be an array of scenario keys, not %s",
                              zcfgl_type_name(list));
        size_t i;
        const json_t *item;
        json_array_foreach(list, i, item) {
            char ipath[ZCFG_PATH_LEN + 32];
            snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
            int sc = json_is_string(item) ? zcfg_scenario_parse(json_string_value(item)) : -1;
            if (sc < 0)
                return zcfgl_fail(L, ipath, "not a scenario key (webSearch, think, image, "
                                  "longContext, code, background or default)");
            if (!seen[sc]) {
                seen[sc] = 1;
                prof->scenario_order[n++] = sc;
            }
        }
    }
    for (int sc = 0; sc < ZCFG_N_SCENARIOS; sc++)
        if (!seen[sc])
            prof->scenario_order[n++] = sc;
    return ZEN_OK;
}

int zcfgl_load_profile_routing(struct zcfg_loader *L, struct zcfg_profile *prof,
                               const json_t *obj, const char *path)
{
    prof->strategy_kind = ZCFG_STRATEGY_FAILOVER;
    prof->long_context_threshold = ZCFG_DEFAULT_LONG_CONTEXT_THRESHOLD;
    prof->session_affinity = 1;
    if (!json_is_object(obj))
        return load_priority(L, prof, NULL, path);
    if (load_strategy(L, obj, path, &prof->strategy_kind) != ZEN_OK ||
        load_weights(L, obj, path, &prof->weights) != ZEN_OK ||
        zcfgl_opt_int(L, obj, "long_context_threshold", path, &prof->long_context_threshold, 0,
                      INT64_MAX) != ZEN_OK ||
        zcfgl_opt_bool(L, obj, "session_affinity", path, &prof->session_affinity) != ZEN_OK ||
        load_priority(L, prof, obj, path) != ZEN_OK || load_routes(L, prof, obj, path) != ZEN_OK)
        return ZEN_ERR;
    return ZEN_OK;
}

void zcfgl_free_profile_routing(struct zcfg_profile *prof)
{
    free(prof->weights);
    for (int sc = 0; sc < ZCFG_N_SCENARIOS; sc++) {
        struct zcfg_route *r = &prof->routes[sc];
        for (size_t i = 0; i < r->n_providers; i++)
            free(r->providers[i].model);
        free(r->providers);
        free(r->weights);
    }
}
