/* config_read.c -- typed readers of zen.json members: each checks the JSON
 * type and range and, on a mismatch, fails with the member's JSON path
 * (`providers.relay.base_url: must be a string, not an integer`). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config_load.h"
#include "log.h"

int zcfgl_fail(struct zcfg_loader *L, const char *path, const char *fmt, ...)
{
    char msg[ZEN_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(L->err, L->errlen, "%s: %s: %s", L->file, path, msg);
    return ZEN_ERR;
}

void zcfgl_warn(struct zcfg_loader *L, const char *path, const char *fmt, ...)
{
    char msg[ZEN_ERRLEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    zcfgl_note(L, ZLOG_WARN, "config_warning", json_pack("{s:s, s:s}", "path", path, "message",
                                                         msg));
}

void zcfgl_note(struct zcfg_loader *L, int level, const char *event, json_t *fields)
{
    json_array_append_new(L->cfg->notes, json_pack("{s:s, s:s, s:o}", "level",
                                                   zlog_level_name(level), "event", event,
                                                   "fields", fields));
}

void zcfgl_mark_set(struct zcfg_loader *L, const char *parent, const char *key)
{
    char path[ZCFG_PATH_LEN];
    zcfgl_subpath(path, parent, key);
    json_object_set_new(L->cfg->file_keys, path, json_true());
}

char *zcfgl_xstrdup(const char *s)
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

void *zcfgl_xcalloc(size_t n, size_t size)
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
void zcfgl_subpath(char *out, const char *parent, const char *key)
{
    int n = parent[0] ? snprintf(out, ZCFG_PATH_LEN, "%s.%s", parent, key)
                      : snprintf(out, ZCFG_PATH_LEN, "%s", key);
    if (n >= ZCFG_PATH_LEN)
        memcpy(out + ZCFG_PATH_LEN - 4, "...", 4);
}

const char *zcfgl_type_name(const json_t *v)
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
int zcfgl_opt_string(struct zcfg_loader *L, const json_t *obj, const char *key, const char *parent,
                     char **out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v || json_is_null(v))
        return ZEN_OK;
    zcfgl_mark_set(L, parent, key);
    zcfgl_subpath(path, parent, key);
    if (!json_is_string(v))
        return zcfgl_fail(L, path, "must be a string, not %s", zcfgl_type_name(v));
    const char *s = json_string_value(v);
    for (size_t i = 0; i < json_string_length(v); i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return zcfgl_fail(L, path, "contains a control character");
    *out = zcfgl_xstrdup(s);
    return ZEN_OK;
}

/* Optional string that counts as unset when empty (GoZen writes "" a lot). */
int zcfgl_opt_nonempty_string(struct zcfg_loader *L, const json_t *obj, const char *key,
                              const char *parent, char **out)
{
    if (zcfgl_opt_string(L, obj, key, parent, out) != ZEN_OK)
        return ZEN_ERR;
    if (*out && !**out) {
        free(*out); *out = NULL;
    }
    return ZEN_OK;
}

int zcfgl_opt_int(struct zcfg_loader *L, const json_t *obj, const char *key, const char *parent,
                  int64_t *out, int64_t min, int64_t max)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ZEN_OK;
    zcfgl_mark_set(L, parent, key);
    zcfgl_subpath(path, parent, key);
    if (!json_is_integer(v))
        return zcfgl_fail(L, path, "must be an integer, not %s", zcfgl_type_name(v));
    json_int_t n = json_integer_value(v);
    if (n < min || n > max)
        return zcfgl_fail(L, path, "must be between %lld and %lld, not %lld", (long long)min,
                          (long long)max, (long long)n);
    *out = n;
    return ZEN_OK;
}

int zcfgl_opt_bool(struct zcfg_loader *L, const json_t *obj, const char *key, const char *parent,
                   int *out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *v = json_object_get(obj, key);
    if (!v)
        return ZEN_OK;
    zcfgl_mark_set(L, parent, key);
    zcfgl_subpath(path, parent, key);
    if (!json_is_boolean(v))
        return zcfgl_fail(L, path, "must be true or false, not %s", zcfgl_type_name(v));
    *out = json_is_true(v);
    return ZEN_OK;
}

int zcfgl_expect_object(struct zcfg_loader *L, const json_t *v, const char *path)
{
    if (!json_is_object(v))
        return zcfgl_fail(L, path, "must be an object, not %s", zcfgl_type_name(v));
    return ZEN_OK;
}

/* Optional array of strings; absent leaves *out untouched. */
int zcfgl_opt_string_array(struct zcfg_loader *L, const json_t *obj, const char *key,
                           const char *parent, char ***out, size_t *n_out)
{
    char path[ZCFG_PATH_LEN];
    const json_t *arr = json_object_get(obj, key);
    if (!arr)
        return ZEN_OK;
    zcfgl_mark_set(L, parent, key);
    zcfgl_subpath(path, parent, key);
    if (!json_is_array(arr))
        return zcfgl_fail(L, path, "must be an array of strings, not %s", zcfgl_type_name(arr));
    size_t n = json_array_size(arr);
    char **items = zcfgl_xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        if (!json_is_string(v) || json_string_length(v) == 0) {
            for (size_t j = 0; j < i; j++)
                free(items[j]);
            free(items);
            char ipath[ZCFG_PATH_LEN + 32];
            snprintf(ipath, sizeof(ipath), "%s[%zu]", path, i);
            return zcfgl_fail(L, ipath, "must be a non-empty string");
        }
        items[i] = zcfgl_xstrdup(json_string_value(v));
    }
    *out = items;
    *n_out = n;
    return ZEN_OK;
}
