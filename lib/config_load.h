/* config_load.h -- what the parts of the zen.json loader share (config.c,
 * config_read.c, config_daemon.c); not for use outside lib/config*.c.
 *
 * Every reader fills L->err with "file: json.path: message" and returns
 * ZEN_ERR on a bad value; absent (or null) members leave defaults alone. */
#ifndef ZEN_CONFIG_LOAD_H
#define ZEN_CONFIG_LOAD_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define ZCFG_PATH_LEN 512

struct zcfg_loader {
    const char *file;
    char *err;
    size_t errlen;
    struct zcfg *cfg;
    int has_literal_token; /* for the config_permissions warning */
};

/* Records that the file set parent.key (cfg->file_keys); the typed readers
 * below do it for every member they find, so only keys read by hand need
 * a call. */
void zcfgl_mark_set(struct zcfg_loader *L, const char *parent, const char *key);

/* Fills L->err as "file: path: message"; always returns ZEN_ERR. */
int zcfgl_fail(struct zcfg_loader *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Something zend runs with but the user should fix (an unknown provider in
 * a profile, an empty profile): a warn note config_warning {path, message}. */
void zcfgl_warn(struct zcfg_loader *L, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Appends {level, event, fields} to the config's notes; takes fields. */
void zcfgl_note(struct zcfg_loader *L, int level, const char *event, json_t *fields);
/* Allocators that abort on failure: a half-built config is worse. */
char *zcfgl_xstrdup(const char *s);
void *zcfgl_xcalloc(size_t n, size_t size);
/* parent.key into out (ZCFG_PATH_LEN bytes). */
void zcfgl_subpath(char *out, const char *parent, const char *key);
/* The index of the provider called name in cfg->providers (ZEN_OK), or ZEN_ERR. */
int zcfgl_provider_index(const struct zcfg *cfg, const char *name, size_t *idx);
/* "an object", "a string", ... for error messages. */
const char *zcfgl_type_name(const json_t *v);

int zcfgl_opt_string(struct zcfg_loader *L, const json_t *obj, const char *key,
                     const char *parent, char **out);
int zcfgl_opt_nonempty_string(struct zcfg_loader *L, const json_t *obj, const char *key,
                              const char *parent, char **out);
int zcfgl_opt_int(struct zcfg_loader *L, const json_t *obj, const char *key, const char *parent,
                  int64_t *out, int64_t min, int64_t max);
int zcfgl_opt_bool(struct zcfg_loader *L, const json_t *obj, const char *key, const char *parent,
                   int *out);
int zcfgl_expect_object(struct zcfg_loader *L, const json_t *v, const char *path);
int zcfgl_opt_string_array(struct zcfg_loader *L, const json_t *obj, const char *key,
                           const char *parent, char ***out, size_t *n_out);

/* Notes config_ignored_keys (info, {keys: [JSON paths]}): every GoZen key
 * zend does not use, at any depth (config_ignored.c). */
void zcfgl_note_ignored_keys(struct zcfg_loader *L, const json_t *root);

/* A profile's routing keys (config_routing.c): defaults for the array form
 * (v not an object), else strategy, provider_weights, long_context_threshold,
 * session_affinity, scenario_priority and routing, each error naming its
 * path under `path`. The free releases what it allocated. */
int zcfgl_load_profile_routing(struct zcfg_loader *L, struct zcfg_profile *prof,
                               const json_t *v, const char *path);
void zcfgl_free_profile_routing(struct zcfg_profile *prof);

/* `zenctl config`'s entry {key, value, source}: source "zen.json" when the
 * file set key (cfg->file_keys), else "default". Takes value. */
void zcfgl_effective_add(json_t *list, const struct zcfg *cfg, const char *key, json_t *value);
/* The daemon and health_check entries (config_daemon.c); budgets and the
 * file's pricing entries (config_usage.c). */
void zcfgl_effective_daemon(const struct zcfg *cfg, json_t *list);
void zcfgl_effective_usage(const struct zcfg *cfg, json_t *list);

/* The sections config_daemon.c owns: defaults first, then the file's values. */
int zcfgl_load_health_check(struct zcfg_loader *L, const json_t *root);
int zcfgl_load_daemon(struct zcfg_loader *L, const json_t *root, int64_t proxy_port);

/* config_usage.c: GoZen's `pricing` and `budgets`, and daemon.usage (its
 * defaults too, from zcfgl_load_daemon; daemon_obj may be NULL). The free
 * releases the pricing entries. */
int zcfgl_load_pricing(struct zcfg_loader *L, const json_t *root);
int zcfgl_load_budgets(struct zcfg_loader *L, const json_t *root);
int zcfgl_load_daemon_usage(struct zcfg_loader *L, const json_t *daemon_obj);
void zcfgl_free_pricing(struct zcfg *cfg);

#endif
