/* config_daemon.c -- the `health_check` and `daemon` sections of zen.json:
 * zend's own keys, so unlike GoZen's sections an unknown key is an error.
 * Every key, default and range here is listed in docs/config.md. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "config_load.h"
#include "log.h"

#define BLAKE2B_PREFIX "blake2b:"

int zcfgl_load_health_check(struct zcfg_loader *L, const json_t *root)
{
    struct zcfg_health_check *hc = &L->cfg->health_check;
    hc->enabled = 0;
    hc->interval_secs = 60;
    hc->timeout_secs = 10;
    const json_t *obj = json_object_get(root, "health_check");
    if (!obj || json_is_null(obj))
        return ZEN_OK;
    if (zcfgl_expect_object(L, obj, "health_check") != ZEN_OK)
        return ZEN_ERR;
    if (zcfgl_opt_bool(L, obj, "enabled", "health_check", &hc->enabled) ||
        zcfgl_opt_int(L, obj, "interval_secs", "health_check", &hc->interval_secs, 1, 86400) ||
        zcfgl_opt_int(L, obj, "timeout_secs", "health_check", &hc->timeout_secs, 1, 3600))
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
    DKEY(commit_timeout_ms, 10000, 1, 600000),
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
    "allowed_origins", "access_keys", "allow_remote_without_keys", "control_readers",
    "control_read_socket", "access_log", "usage",
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
static int parse_listen(struct zcfg_loader *L, const char *s, struct zcfg_daemon *d)
{
    const char *colon;
    char host[ZCFG_HOST_MAX];
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return zcfgl_fail(L, "daemon.listen", "expected [address]:port, got \"%s\"", s);
        snprintf(host, sizeof(host), "%.*s", (int)(close - s - 1), s + 1);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon || strchr(s, ':') != colon)
            return zcfgl_fail(L, "daemon.listen", "expected address:port, got \"%s\"", s);
        snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
    }
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] == '\0' || *end || errno || port < 0 || port > 65535)
        return zcfgl_fail(L, "daemon.listen", "bad port in \"%s\"", s);
    if (strcmp(host, "localhost") == 0)
        snprintf(host, sizeof(host), "127.0.0.1");
    unsigned char addr[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, addr) != 1 && inet_pton(AF_INET6, host, addr) != 1)
        return zcfgl_fail(L, "daemon.listen", "\"%s\" is not a numeric IP address", host);
    snprintf(d->listen_host, sizeof(d->listen_host), "%s", host);
    d->listen_port = (int)port;
    return ZEN_OK;
}

static int load_access_keys(struct zcfg_loader *L, const json_t *obj, struct zcfg_daemon *d)
{
    const json_t *arr = json_object_get(obj, "access_keys");
    if (!arr)
        return ZEN_OK;
    zcfgl_mark_set(L, "daemon", "access_keys");
    if (!json_is_array(arr))
        return zcfgl_fail(L, "daemon.access_keys", "must be an array of strings, not %s",
                          zcfgl_type_name(arr));
    size_t n = json_array_size(arr);
    d->access_key_hashes = zcfgl_xcalloc(n, sizeof(*d->access_key_hashes));
    for (size_t i = 0; i < n; i++) {
        const json_t *v = json_array_get(arr, i);
        char path[ZCFG_PATH_LEN];
        snprintf(path, sizeof(path), "daemon.access_keys[%zu]", i);
        if (!json_is_string(v) || json_string_length(v) == 0)
            return zcfgl_fail(L, path, "must be a non-empty string");
        const char *s = json_string_value(v);
        uint8_t *out = d->access_key_hashes[d->n_access_keys++];
        size_t plen = strlen(BLAKE2B_PREFIX);
        if (strncmp(s, BLAKE2B_PREFIX, plen) == 0) {
            const char *hex = s + plen;
            if (strlen(hex) != 2 * ZSEC_KEY_HASH_BYTES)
                return zcfgl_fail(L, path, "blake2b: must be followed by %d hex digits",
                                  2 * ZSEC_KEY_HASH_BYTES);
            for (int b = 0; b < ZSEC_KEY_HASH_BYTES; b++) {
                unsigned int byte;
                if (!isxdigit((unsigned char)hex[2 * b]) ||
                    !isxdigit((unsigned char)hex[2 * b + 1]) ||
                    sscanf(hex + 2 * b, "%2x", &byte) != 1)
                    return zcfgl_fail(L, path, "blake2b: hash is not hex");
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

/* control_readers and control_read_socket come together; the socket is an
 * absolute path (it lives outside the 0700 ZEN_HOME, where its readers can
 * reach it). A name that is neither a user nor a group here is a warning: it
 * may be created later, and matches nobody until then. */
static int load_control_readers(struct zcfg_loader *L, const json_t *obj, struct zcfg_daemon *d)
{
    if (zcfgl_opt_string_array(L, obj, "control_readers", "daemon", &d->control_readers,
                               &d->n_control_readers) ||
        zcfgl_opt_nonempty_string(L, obj, "control_read_socket", "daemon",
                                  &d->control_read_socket))
        return ZEN_ERR;
    if (d->n_control_readers && !d->control_read_socket)
        return zcfgl_fail(L, "daemon.control_read_socket",
                          "required with control_readers (where their socket is)");
    if (d->control_read_socket && !d->n_control_readers)
        return zcfgl_fail(L, "daemon.control_readers",
                          "required with control_read_socket (who may use it)");
    if (d->control_read_socket && d->control_read_socket[0] != '/')
        return zcfgl_fail(L, "daemon.control_read_socket", "must be an absolute path, not \"%s\"",
                          d->control_read_socket);
    for (size_t i = 0; i < d->n_control_readers; i++) {
        const char *name = d->control_readers[i];
        if (!getpwnam(name) && !getgrnam(name)) {
            char path[ZCFG_PATH_LEN];
            snprintf(path, sizeof(path), "daemon.control_readers[%zu]", i);
            zcfgl_warn(L, path, "no user or group is named \"%s\" (it matches nobody)", name);
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
static int check_remote_listen(struct zcfg_loader *L, const struct zcfg_daemon *d)
{
    if (zcfg_listen_is_loopback(d))
        return ZEN_OK;
    char listen[ZCFG_HOST_MAX + 16];
    zcfg_format_listen(d->listen_host, d->listen_port, listen, sizeof(listen));
    if (d->n_access_keys == 0 && !d->allow_remote_without_keys)
        return zcfgl_fail(L, "daemon.listen",
                          "%s is not a loopback address and daemon.access_keys is empty: "
                          "anyone who can reach it could spend your provider keys. Set "
                          "daemon.access_keys, listen on 127.0.0.1, or set "
                          "daemon.allow_remote_without_keys: true",
                          listen);
    zcfgl_note(L, ZLOG_WARN, "listen_not_loopback",
               json_pack("{s:s, s:b, s:s}", "listen", listen, "access_keys",
                         d->n_access_keys > 0, "message",
                         d->n_access_keys ? "listening on a non-loopback address (access_keys "
                                            "required)"
                                          : "listening on a non-loopback address without "
                                            "access_keys"));
    return ZEN_OK;
}

int zcfgl_load_daemon(struct zcfg_loader *L, const json_t *root, int64_t proxy_port)
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
        if (zcfgl_expect_object(L, obj, "daemon") != ZEN_OK)
            return ZEN_ERR;
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)obj, key, v) {
            /* zend's own section: a typo must not silently become a default. */
            if (!known_daemon_key(key)) {
                char path[ZCFG_PATH_LEN];
                zcfgl_subpath(path, "daemon", key);
                return zcfgl_fail(L, path, "unknown key");
            }
        }
        for (size_t i = 0; i < ZEN_ARRAY_LEN(daemon_int_keys); i++) {
            const struct int_key *k = &daemon_int_keys[i];
            if (zcfgl_opt_int(L, obj, k->key, "daemon", daemon_int_field(d, k), k->min, k->max))
                return ZEN_ERR;
        }
        char *s = NULL;
        if (zcfgl_opt_nonempty_string(L, obj, "listen", "daemon", &s) != ZEN_OK)
            return ZEN_ERR;
        if (s) {
            int rc = parse_listen(L, s, d);
            free(s);
            if (rc != ZEN_OK)
                return ZEN_ERR;
        }
        if (zcfgl_opt_nonempty_string(L, obj, "log_level", "daemon", &s) != ZEN_OK)
            return ZEN_ERR;
        if (s) {
            int rc = zlog_level_parse(s, &d->log_level);
            free(s);
            if (rc != ZEN_OK)
                return zcfgl_fail(L, "daemon.log_level", "must be debug, info, warn or error");
        }
        if (zcfgl_opt_string(L, obj, "log_file", "daemon", &d->log_file) != ZEN_OK)
            return ZEN_ERR;
        const json_t *ratio = json_object_get(obj, "health_max_fd_ratio");
        if (ratio) {
            zcfgl_mark_set(L, "daemon", "health_max_fd_ratio");
            if (!json_is_number(ratio) || json_number_value(ratio) <= 0 ||
                json_number_value(ratio) > 1)
                return zcfgl_fail(L, "daemon.health_max_fd_ratio", "must be a number in (0, 1]");
            d->health_max_fd_ratio = json_number_value(ratio);
        }
        if (zcfgl_opt_string_array(L, obj, "allowed_hosts", "daemon", &d->allowed_hosts,
                                   &d->n_allowed_hosts) ||
            zcfgl_opt_string_array(L, obj, "allowed_origins", "daemon", &d->allowed_origins,
                                   &d->n_allowed_origins) ||
            load_access_keys(L, obj, d) || load_control_readers(L, obj, d) ||
            zcfgl_opt_bool(L, obj, "allow_remote_without_keys", "daemon",
                           &d->allow_remote_without_keys) ||
            zcfgl_opt_bool(L, obj, "access_log", "daemon", &d->access_log))
            return ZEN_ERR;
        if (d->cooldown_max_ms < d->cooldown_initial_ms)
            return zcfgl_fail(L, "daemon.cooldown_max_ms", "is below cooldown_initial_ms");
        if (d->auth_cooldown_max_ms < d->auth_cooldown_initial_ms)
            return zcfgl_fail(L, "daemon.auth_cooldown_max_ms",
                              "is below auth_cooldown_initial_ms");
        if (d->restart_backoff_max_ms < d->restart_backoff_initial_ms)
            return zcfgl_fail(L, "daemon.restart_backoff_max_ms",
                              "is below restart_backoff_initial_ms");
    }
    if (zcfgl_load_daemon_usage(L, obj) != ZEN_OK)
        return ZEN_ERR;
    if (check_remote_listen(L, d) != ZEN_OK)
        return ZEN_ERR;
    if (!d->log_file)
        d->log_file = zcfgl_xstrdup("zend.log");
    if (!d->allowed_hosts) {
        d->n_allowed_hosts = ZEN_ARRAY_LEN(default_allowed_hosts);
        d->allowed_hosts = zcfgl_xcalloc(d->n_allowed_hosts, sizeof(char *));
        for (size_t i = 0; i < d->n_allowed_hosts; i++)
            d->allowed_hosts[i] = zcfgl_xstrdup(default_allowed_hosts[i]);
    }
    return ZEN_OK;
}

static json_t *string_list_json(char *const *items, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_string(items[i]));
    return arr;
}

void zcfgl_effective_daemon(const struct zcfg *cfg, json_t *list)
{
    const struct zcfg_daemon *d = &cfg->daemon;
    char listen[ZCFG_HOST_MAX + 16];
    zcfg_format_listen(d->listen_host, d->listen_port, listen, sizeof(listen));
    zcfgl_effective_add(list, cfg, "daemon.listen", json_string(listen));
    for (size_t i = 0; i < ZEN_ARRAY_LEN(daemon_int_keys); i++) {
        char key[ZCFG_PATH_LEN];
        zcfgl_subpath(key, "daemon", daemon_int_keys[i].key);
        const int64_t *v = (const int64_t *)((const char *)d + daemon_int_keys[i].offset);
        zcfgl_effective_add(list, cfg, key, json_integer(*v));
    }
    zcfgl_effective_add(list, cfg, "daemon.log_level",
                        json_string(zlog_level_name(d->log_level)));
    zcfgl_effective_add(list, cfg, "daemon.log_file", json_string(d->log_file));
    zcfgl_effective_add(list, cfg, "daemon.health_max_fd_ratio",
                        json_real(d->health_max_fd_ratio));
    zcfgl_effective_add(list, cfg, "daemon.allowed_hosts",
                        string_list_json(d->allowed_hosts, d->n_allowed_hosts));
    zcfgl_effective_add(list, cfg, "daemon.allowed_origins",
                        string_list_json(d->allowed_origins, d->n_allowed_origins));
    /* Only hashes are kept, and not even those are shown: how many. */
    zcfgl_effective_add(list, cfg, "daemon.access_keys", json_integer((json_int_t)d->n_access_keys));
    zcfgl_effective_add(list, cfg, "daemon.allow_remote_without_keys",
                        json_boolean(d->allow_remote_without_keys));
    zcfgl_effective_add(list, cfg, "daemon.control_readers",
                        string_list_json(d->control_readers, d->n_control_readers));
    zcfgl_effective_add(list, cfg, "daemon.control_read_socket",
                        d->control_read_socket ? json_string(d->control_read_socket)
                                               : json_null());
    zcfgl_effective_add(list, cfg, "daemon.access_log", json_boolean(d->access_log));
    zcfgl_effective_add(list, cfg, "daemon.usage.enabled", json_boolean(d->usage_enabled));
    zcfgl_effective_add(list, cfg, "daemon.usage.retention_days",
                        json_integer(d->usage_retention_days));
    const struct zcfg_health_check *hc = &cfg->health_check;
    zcfgl_effective_add(list, cfg, "health_check.enabled", json_boolean(hc->enabled));
    zcfgl_effective_add(list, cfg, "health_check.interval_secs", json_integer(hc->interval_secs));
    zcfgl_effective_add(list, cfg, "health_check.timeout_secs", json_integer(hc->timeout_secs));
}
