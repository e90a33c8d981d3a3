/* config_usage.c -- GoZen's `pricing` and `budgets`, and zend's
 * `daemon.usage` (docs/usage.md, docs/config.md).
 *
 * pricing and budgets are GoZen's keys, read as GoZen wrote them: a key
 * GoZen would not know inside a pricing entry or a budget limit is noted as
 * ignored (config_ignored.c), not refused. What zend acts on is strict: a
 * price that is negative or not a number, an amount that is not above zero,
 * an action or period zend does not know would quietly bill or block the
 * wrong thing, so each is an error naming its JSON path. daemon.usage is
 * zend's own section, strict like the rest of `daemon`. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config_load.h"

/* Anthropic's ratios, the default for an entry that names no cache rate. */
#define CACHE_READ_RATIO 0.10
#define CACHE_WRITE_RATIO 1.25

static const char *const period_keys[ZCFG_BUDGET_PERIODS] = {"daily", "weekly", "monthly"};
static const char *const action_names[] = {"warn", "downgrade", "block"};

const char *zcfg_budget_action_name(int action)
{
    if (action < 0 || (size_t)action >= ZEN_ARRAY_LEN(action_names))
        return "warn";
    return action_names[action];
}

/* A price: absent leaves *out alone (*present 0); else a finite number >= 0. */
static int opt_price(struct zcfg_loader *L, const json_t *obj, const char *key,
                     const char *parent, double *out, int *present)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    *present = 0;
    if (!v || json_is_null(v))
        return ZEN_OK;
    zcfgl_subpath(path, parent, key);
    if (!json_is_number(v))
        return zcfgl_fail(L, path, "must be a number (USD per million tokens), not %s",
                          zcfgl_type_name(v));
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0)
        return zcfgl_fail(L, path, "must be a finite number >= 0, not %g", d);
    *out = d;
    *present = 1;
    return ZEN_OK;
}

static int load_price(struct zcfg_loader *L, struct zcfg_price *p, const char *model,
                      const json_t *v)
{
    char path[ZCFG_PATH_LEN];
    zcfgl_subpath(path, "pricing", model);
    if (zcfgl_expect_object(L, v, path) != ZEN_OK)
        return ZEN_ERR;
    if (!*model)
        return zcfgl_fail(L, path, "a model name may not be empty");
    p->model = zcfgl_xstrdup(model);
    int has_in, has_out, has_cr, has_cw;
    if (opt_price(L, v, "input_per_million", path, &p->input_per_million, &has_in) ||
        opt_price(L, v, "output_per_million", path, &p->output_per_million, &has_out) ||
        opt_price(L, v, "cache_read_per_million", path, &p->cache_read_per_million, &has_cr) ||
        opt_price(L, v, "cache_write_per_million", path, &p->cache_write_per_million, &has_cw))
        return ZEN_ERR;
    /* Both are needed: an entry wins over the built-in one as a whole, and a
     * forgotten rate would silently price that side at zero. */
    if (!has_in || !has_out) {
        char key[ZCFG_PATH_LEN];
        zcfgl_subpath(key, path, has_in ? "output_per_million" : "input_per_million");
        return zcfgl_fail(L, key, "required (USD per million tokens)");
    }
    if (!has_cr)
        p->cache_read_per_million = p->input_per_million * CACHE_READ_RATIO;
    if (!has_cw)
        p->cache_write_per_million = p->input_per_million * CACHE_WRITE_RATIO;
    return ZEN_OK;
}

int zcfgl_load_pricing(struct zcfg_loader *L, const json_t *root)
{
    const json_t *obj = json_object_get(root, "pricing");
    if (!obj || json_is_null(obj))
        return ZEN_OK;
    if (zcfgl_expect_object(L, obj, "pricing") != ZEN_OK)
        return ZEN_ERR;
    struct zcfg *cfg = L->cfg;
    cfg->pricing = zcfgl_xcalloc(json_object_size(obj) + 1, sizeof(*cfg->pricing));
    const char *model;
    json_t *v;
    json_object_foreach((json_t *)obj, model, v) {
        if (load_price(L, &cfg->pricing[cfg->n_pricing++], model, v) != ZEN_OK)
            return ZEN_ERR;
    }
    return ZEN_OK;
}

void zcfgl_free_pricing(struct zcfg *cfg)
{
    for (size_t i = 0; i < cfg->n_pricing; i++)
        free(cfg->pricing[i].model);
    free(cfg->pricing);
    cfg->pricing = NULL;
    cfg->n_pricing = 0;
}

static int load_limit(struct zcfg_loader *L, struct zcfg_budget *b, const json_t *v,
                      const char *path)
{
    if (zcfgl_expect_object(L, v, path) != ZEN_OK)
        return ZEN_ERR;
    char sub[ZCFG_PATH_LEN];
    zcfgl_subpath(sub, path, "amount");
    const json_t *amount = json_object_get(v, "amount");
    if (!amount || json_is_null(amount))
        return zcfgl_fail(L, sub, "required (USD, above 0)");
    if (!json_is_number(amount))
        return zcfgl_fail(L, sub, "must be a number (USD), not %s", zcfgl_type_name(amount));
    double d = json_number_value(amount);
    if (!isfinite(d) || d <= 0)
        return zcfgl_fail(L, sub, "must be a finite number above 0, not %g", d);
    b->amount = d;
    b->action = ZCFG_BUDGET_WARN; /* GoZen's default, absent or "" */
    const json_t *action = json_object_get(v, "action");
    zcfgl_subpath(sub, path, "action");
    if (action && !json_is_null(action)) {
        if (!json_is_string(action))
            return zcfgl_fail(L, sub, "must be a string, not %s", zcfgl_type_name(action));
        const char *s = json_string_value(action);
        int found = !*s;
        for (size_t i = 0; i < ZEN_ARRAY_LEN(action_names) && !found; i++)
            if (strcmp(s, action_names[i]) == 0) {
                b->action = (int)i;
                found = 1;
            }
        if (!found)
            return zcfgl_fail(L, sub, "unknown action \"%s\" (warn, downgrade or block)", s);
    }
    b->set = 1;
    return ZEN_OK;
}

static int period_index(const char *key)
{
    for (int i = 0; i < ZCFG_BUDGET_PERIODS; i++)
        if (strcmp(key, period_keys[i]) == 0)
            return i;
    return -1;
}

int zcfgl_load_budgets(struct zcfg_loader *L, const json_t *root)
{
    struct zcfg_budgets *bs = &L->cfg->budgets;
    memset(bs, 0, sizeof(*bs));
    const json_t *obj = json_object_get(root, "budgets");
    if (!obj || json_is_null(obj))
        return ZEN_OK;
    if (zcfgl_expect_object(L, obj, "budgets") != ZEN_OK)
        return ZEN_ERR;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        char path[ZCFG_PATH_LEN];
        zcfgl_subpath(path, "budgets", key);
        if (strcmp(key, "per_project") == 0)
            continue;
        int p = period_index(key);
        if (p < 0)
            return zcfgl_fail(L, path, "unknown period (daily, weekly, monthly or per_project)");
        if (json_is_null(v))
            continue; /* GoZen writes an unset limit as null */
        zcfgl_mark_set(L, "budgets", key);
        if (load_limit(L, &bs->period[p], v, path) != ZEN_OK)
            return ZEN_ERR;
    }
    return zcfgl_opt_bool(L, obj, "per_project", "budgets", &bs->per_project);
}

int zcfgl_load_daemon_usage(struct zcfg_loader *L, const json_t *daemon_obj)
{
    struct zcfg_daemon *d = &L->cfg->daemon;
    d->usage_enabled = 1;
    d->usage_retention_days = 90;
    const json_t *obj = daemon_obj ? json_object_get(daemon_obj, "usage") : NULL;
    if (!obj || json_is_null(obj))
        return ZEN_OK;
    if (zcfgl_expect_object(L, obj, "daemon.usage") != ZEN_OK)
        return ZEN_ERR;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        if (strcmp(key, "enabled") != 0 && strcmp(key, "retention_days") != 0) {
            char path[ZCFG_PATH_LEN];
            zcfgl_subpath(path, "daemon.usage", key);
            return zcfgl_fail(L, path, "unknown key");
        }
    }
    if (zcfgl_opt_bool(L, obj, "enabled", "daemon.usage", &d->usage_enabled) ||
        zcfgl_opt_int(L, obj, "retention_days", "daemon.usage", &d->usage_retention_days, 0,
                      36500))
        return ZEN_ERR;
    return ZEN_OK;
}

void zcfgl_effective_usage(const struct zcfg *cfg, json_t *list)
{
    for (int p = 0; p < ZCFG_BUDGET_PERIODS; p++) {
        const struct zcfg_budget *b = &cfg->budgets.period[p];
        char key[ZCFG_PATH_LEN];
        zcfgl_subpath(key, "budgets", period_keys[p]);
        zcfgl_effective_add(list, cfg, key,
                            b->set ? json_pack("{s:f, s:s}", "amount", b->amount, "action",
                                               zcfg_budget_action_name(b->action))
                                   : json_null());
    }
    zcfgl_effective_add(list, cfg, "budgets.per_project",
                        json_boolean(cfg->budgets.per_project));
    for (size_t i = 0; i < cfg->n_pricing; i++) {
        const struct zcfg_price *pr = &cfg->pricing[i];
        char key[ZCFG_PATH_LEN];
        zcfgl_subpath(key, "pricing", pr->model);
        json_t *v = json_pack("{s:f, s:f, s:f, s:f}", "input_per_million", pr->input_per_million,
                              "output_per_million", pr->output_per_million,
                              "cache_read_per_million", pr->cache_read_per_million,
                              "cache_write_per_million", pr->cache_write_per_million);
        json_array_append_new(list, json_pack("{s:s, s:o, s:s}", "key", key, "value", v,
                                              "source", "zen.json"));
    }
}
