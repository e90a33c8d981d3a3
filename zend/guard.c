#include "guard.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "secret.h"

#define BEARER_PREFIX "Bearer "

/* "127.0.0.1:19841" -> "127.0.0.1", "[::1]:19841" -> "[::1]", "localhost". */
static void host_without_port(const char *host, char *out, size_t outlen)
{
    size_t n = strlen(host);
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        n = close ? (size_t)(close - host) + 1 : n;
    } else {
        const char *colon = strchr(host, ':');
        if (colon && !strchr(colon + 1, ':'))
            n = (size_t)(colon - host);
    }
    if (n >= outlen)
        n = outlen - 1;
    memcpy(out, host, n);
    out[n] = '\0';
}

static int host_allowed(const struct zcfg_daemon *d, const char *host)
{
    char name[ZCFG_HOST_MAX];
    host_without_port(host, name, sizeof(name));
    for (size_t i = 0; i < d->n_allowed_hosts; i++)
        if (strcasecmp(d->allowed_hosts[i], name) == 0)
            return 1;
    return 0;
}

static int origin_allowed(const struct zcfg_daemon *d, const char *origin)
{
    for (size_t i = 0; i < d->n_allowed_origins; i++)
        if (strcasecmp(d->allowed_origins[i], origin) == 0)
            return 1;
    return 0;
}

static int key_matches(const struct zcfg_daemon *d, const char *key)
{
    uint8_t h[ZSEC_KEY_HASH_BYTES];
    zsec_hash_key(key, h);
    int ok = 0;
    /* Compare against every key, constant-time each, without stopping early. */
    for (size_t i = 0; i < d->n_access_keys; i++)
        ok |= sodium_memcmp(h, d->access_key_hashes[i], sizeof(h)) == 0;
    sodium_memzero(h, sizeof(h));
    return ok;
}

static void deny(struct guard_verdict *v, int status, const char *type, const char *msg)
{
    v->status = status;
    v->error_type = type;
    snprintf(v->message, sizeof(v->message), "%s", msg);
}

void guard_check(const struct zcfg *cfg, const struct http_request *req,
                 struct guard_verdict *v)
{
    const struct zcfg_daemon *d = &cfg->daemon;
    memset(v, 0, sizeof(*v));
    const char *host = http_request_header(req, "host");
    if (!host) {
        deny(v, 400, "invalid_request_error", "missing Host header");
        return;
    }
    if (!host_allowed(d, host)) {
        deny(v, 403, "permission_error",
             "Host not allowed (add it to daemon.allowed_hosts if this is intended)");
        return;
    }
    const char *origin = http_request_header(req, "origin");
    if (origin && !origin_allowed(d, origin)) {
        deny(v, 403, "permission_error",
             "requests from web pages are refused (Origin not in daemon.allowed_origins)");
        return;
    }
    if (d->n_access_keys == 0)
        return;
    const char *key = http_request_header(req, "x-api-key");
    if (key && key_matches(d, key)) {
        v->key_header = "x-api-key";
        return;
    }
    const char *auth = http_request_header(req, "authorization");
    size_t plen = strlen(BEARER_PREFIX);
    if (auth && strncasecmp(auth, BEARER_PREFIX, plen) == 0 && key_matches(d, auth + plen)) {
        v->key_header = "authorization";
        return;
    }
    deny(v, 401, "authentication_error",
         "a zend access key is required (x-api-key or Authorization: Bearer)");
}
