/* config.c -- `zenctl config`: the config the running zend uses (the
 * config.get RPC), a row per key with its value and where it came from:
 * zen.json, a default, the environment (an env:NAME token) or a flag of
 * zend's (--home, --config). Tokens arrive as fingerprints only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "common.h"
#include "methods.h"
#include "view.h"

/* A value as a cell: strings as they are, null as "-", a list of strings
 * joined by ", ", anything else as compact JSON. */
static char *value_text(const json_t *v)
{
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (!v || json_is_null(v))
        return strdup("-");
    if (json_is_array(v) && json_array_size(v) > 0) {
        size_t i, len = 0;
        json_t *item;
        json_array_foreach(v, i, item) {
            if (!json_is_string(item))
                return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            len += json_string_length(item) + 2;
        }
        char *out = calloc(len + 1, 1);
        json_array_foreach(v, i, item)
            if (out)
                strcat(strcat(out, i ? ", " : ""), json_string_value(item));
        return out;
    }
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(10));
}

/* An auth_token's cell: "fingerprint 9f0c3e1a2b4d5e6f", or "passthrough"
 * (with the variable that was unset). Its source: "env:NAME" or the usual. */
static void token_cells(const json_t *e, char *value, size_t vlen, char *source, size_t slen)
{
    const char *fp = zv_str(e, "fingerprint", NULL);
    const char *var = zv_str(e, "variable", NULL);
    if (fp)
        snprintf(value, vlen, "fingerprint %s", fp);
    else if (var)
        snprintf(value, vlen, "passthrough (%s is unset)", var);
    else
        snprintf(value, vlen, "passthrough");
    if (var)
        snprintf(source, slen, "env:%s", var);
    else
        snprintf(source, slen, "%s", zv_str(e, "source", "?"));
}

static void path_row(struct zv_table *t, const char *key, const json_t *where)
{
    zv_table_cell(t, NULL, "%s", key);
    zv_table_cell(t, NULL, "%s", zv_str(where, "path", "?"));
    zv_table_cell(t, NULL, "%s", zv_str(where, "source", "?"));
}

int zc_cmd_config(struct zc_ctx *ctx)
{
    json_t *res;
    int rc = zc_call_for_view(ctx, RPC_CONFIG_GET, &res);
    if (rc != ZEN_EXIT_OK || !res)
        return rc; /* a failure, or -o json already printed */
    const json_t *file = json_object_get(res, "file");
    printf("%s (hash %s, loaded %s)\n\n", zv_str(file, "path", "?"), zv_str(file, "hash", "?"),
           zv_str(file, "loaded_at", "?"));
    struct zv_table t;
    zv_table_init(&t, 3, 0);
    zv_table_cell(&t, NULL, "KEY");
    zv_table_cell(&t, NULL, "VALUE");
    zv_table_cell(&t, NULL, "SOURCE");
    path_row(&t, "(home)", json_object_get(res, "home"));
    path_row(&t, "(config file)", file);
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(res, "values"), i, e) {
        const char *source = zv_str(e, "source", "?");
        char token[128], token_source[128];
        char *text = NULL;
        if (json_object_get(e, "auth")) {
            token_cells(e, token, sizeof(token), token_source, sizeof(token_source));
            source = token_source;
        } else {
            text = value_text(json_object_get(e, "value"));
        }
        zv_table_cell(&t, NULL, "%s", zv_str(e, "key", "?"));
        zv_table_cell(&t, NULL, "%s", text ? text : json_object_get(e, "auth") ? token : "?");
        /* Defaults dimmed: what the file set stands out. */
        zv_table_cell(&t, strcmp(source, "default") == 0 ? ZV_DIM : NULL, "%s", source);
        free(text);
    }
    zv_table_print(&t, stdout, ctx->color);
    zv_table_free(&t);
    json_decref(res);
    return ZEN_EXIT_OK;
}
