/* usage.c -- `zenctl usage`: what requests cost, from zend's ledger
 * (docs/usage.md, "zenctl usage"). Three forms: the query (usage.query,
 * grouped by --by), `usage budget` (usage.budget) and `usage --repair`
 * (usage.repair). Every argument is checked before zend is asked, so a
 * typo is a usage error (64) whether zend runs or not. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "commands.h"
#include "common.h"
#include "methods.h"
#include "rpc.h"
#include "timeutil.h"
#include "usage_view.h"
#include "view.h"

#define DEFAULT_SINCE "7d"
#define DEFAULT_BY "day"

/* The flags only the query takes. */
static const char *const query_flags[] = {"since", "until", "by", "profile", "provider"};

/* One call. A zend without the ledger's methods (older than this zenctl)
 * answers "unknown method": said in words, exit 1. */
static int call(const struct zc_ctx *ctx, const char *method, const json_t *params,
                json_t **result)
{
    struct zc_client c;
    char err[ZEN_ERRLEN];
    int code = 0;
    int st = zc_connect(&c, ctx->sock_path, ctx->timeout_ms, err, sizeof(err));
    if (st == ZC_OK)
        st = zc_call(&c, method, params, result, &code, err, sizeof(err));
    zc_close(&c);
    if (st == ZC_REMOTE_ERROR && code == RPC_ERR_UNKNOWN_METHOD) {
        zc_error("this zend has no usage ledger (it does not know %s: %s); "
                 "is it older than zenctl?", method, err);
        return ZEN_EXIT_FAILURE;
    }
    return st == ZC_OK ? ZEN_EXIT_OK : zc_fail(st, err);
}

/* --since/--until: ZEN_OK with *out_ms set, ZEN_OK leaving it when the flag
 * is absent, ZEN_ERR after saying why. */
static int when_flag(const struct zc_ctx *ctx, const char *flag, int64_t now_ms,
                     int64_t *out_ms)
{
    const char *v = zc_flag_value(ctx, flag);
    if (!v)
        return ZEN_OK;
    if (zu_parse_when(v, now_ms, out_ms) == ZEN_OK)
        return ZEN_OK;
    zc_error("--%s takes a duration before now (30m, 24h, 7d) or a local date or time "
             "(2026-11-01, 2026-11-01T08:00), not '%s'", flag, v);
    return ZEN_ERR;
}

/* Builds usage.query's params from the flags; NULL after a usage error. */
static json_t *query_params(const struct zc_ctx *ctx, const char **by)
{
    int64_t now_ms = ztime_wall_ms(), since_ms = 0, until_ms = 0;
    if (zu_parse_when(DEFAULT_SINCE, now_ms, &since_ms) != ZEN_OK ||
        when_flag(ctx, "since", now_ms, &since_ms) != ZEN_OK)
        return NULL;
    int has_until = zc_flag_value(ctx, "until") != NULL;
    if (when_flag(ctx, "until", now_ms, &until_ms) != ZEN_OK)
        return NULL;
    if (has_until && until_ms <= since_ms) {
        zc_error("--until must be after --since (the range is since <= t < until)");
        return NULL;
    }
    *by = zc_flag_value(ctx, "by");
    if (!*by)
        *by = DEFAULT_BY;
    if (!zu_by_valid(*by)) {
        zc_error("--by must be day, hour, provider, model, profile, session or scenario, "
                 "not '%s'", *by);
        return NULL;
    }
    static const char *const filters[] = {"profile", "provider"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(filters); i++) {
        const char *v = zc_flag_value(ctx, filters[i]);
        if (v && !*v) {
            zc_error("--%s needs a name", filters[i]);
            return NULL;
        }
    }
    json_t *params = json_pack("{s:I, s:s}", "since_ms", (json_int_t)since_ms, "by", *by);
    if (params && has_until)
        json_object_set_new(params, "until_ms", json_integer((json_int_t)until_ms));
    for (size_t i = 0; params && i < ZEN_ARRAY_LEN(filters); i++) {
        const char *v = zc_flag_value(ctx, filters[i]);
        if (v)
            json_object_set_new(params, filters[i], json_string(v));
    }
    if (!params)
        zc_error("out of memory");
    return params;
}

static int run_query(struct zc_ctx *ctx)
{
    const char *by = DEFAULT_BY;
    json_t *params = query_params(ctx, &by);
    if (!params)
        return ZEN_EXIT_USAGE;
    json_t *res = NULL;
    int rc = call(ctx, RPC_USAGE_QUERY, params, &res);
    json_decref(params);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        json_t *rows = zu_rows_json(res, by);
        if (rows)
            zc_print_json(rows);
        else
            rc = zc_fail(ZC_REMOTE_ERROR, "out of memory");
        json_decref(rows);
    } else if (ctx->output == ZC_OUT_CSV) {
        zu_write_csv(stdout, res, by);
    } else {
        zu_write_table(stdout, res, by, ctx->color);
    }
    json_decref(res);
    return rc;
}

static int run_budget(struct zc_ctx *ctx)
{
    json_t *res = NULL;
    int rc = call(ctx, RPC_USAGE_BUDGET, NULL, &res);
    if (rc != ZEN_EXIT_OK)
        return rc;
    if (ctx->output == ZC_OUT_JSON) {
        json_t *limits = json_object_get(res, "limits");
        json_t *empty = limits ? NULL : json_array();
        zc_print_json(limits ? limits : empty);
        json_decref(empty);
    } else {
        zu_write_budget(stdout, res, ztime_wall_ms(), ctx->color);
    }
    json_decref(res);
    return ZEN_EXIT_OK;
}

/* zend moves a corrupt usage.db aside (never deletes it) and opens a new
 * one; exit 0 when the ledger is available afterwards. */
static int run_repair(struct zc_ctx *ctx)
{
    json_t *res = NULL;
    int rc = call(ctx, RPC_USAGE_REPAIR, NULL, &res);
    if (rc != ZEN_EXIT_OK)
        return rc;
    int available = json_is_true(json_object_get(res, "available"));
    if (ctx->output == ZC_OUT_JSON) {
        zc_print_json(res);
    } else {
        res = zv_escaped_take(res);
        printf("%s\n", zv_str(res, "message", available ? "usage ledger available"
                                                         : "usage ledger unavailable"));
        const char *renamed = zv_str(res, "renamed_to", NULL);
        if (renamed)
            printf("the old database is now %s\n", renamed);
    }
    json_decref(res);
    return available ? ZEN_EXIT_OK : ZEN_EXIT_FAILURE;
}

int zc_cmd_usage(struct zc_ctx *ctx)
{
    const char *sub = ctx->npositional ? ctx->positional[0] : NULL;
    int repair = zc_flag_value(ctx, "repair") != NULL;
    if (sub && strcmp(sub, "budget") != 0) {
        zc_error("usage takes 'budget' or nothing, not '%s' (see zenctl usage --help)", sub);
        return ZEN_EXIT_USAGE;
    }
    if (sub && repair) {
        zc_error("--repair and budget do not go together");
        return ZEN_EXIT_USAGE;
    }
    if (sub || repair) {
        const char *form = sub ? "usage budget" : "usage --repair";
        for (size_t i = 0; i < ZEN_ARRAY_LEN(query_flags); i++) {
            if (zc_flag_value(ctx, query_flags[i])) {
                zc_error("--%s only applies to the query, not to %s", query_flags[i], form);
                return ZEN_EXIT_USAGE;
            }
        }
        if (ctx->output == ZC_OUT_CSV) {
            zc_error("%s has no csv output; use -o table or -o json", form);
            return ZEN_EXIT_USAGE;
        }
        return sub ? run_budget(ctx) : run_repair(ctx);
    }
    return run_query(ctx);
}
