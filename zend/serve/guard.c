#include "guard.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "secret.h"

#define BEARER_PREFIX "Bearer "

/* Splits a Host value strictly: "name", "name:port", "[v6]" or "[v6]:port",
 * port 1..65535 in digits only. Writes the name part ("[::1]" keeps its
 * brackets, as allowed_hosts lists it) and returns ZEN_OK, or ZEN_ERR for
 * anything else ("[::1]evil.com", "localhost:evil", "localhost:99999",
 * "a:b:c", an empty name). */
static int host_name(const char *host, char *out, size_t outlen)
{
    size_t n;
    const char *port;
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        if (!close || close == host + 1)
            return ZEN_ERR;
        n = (size_t)(close - host) + 1;
        port = close + 1;
    } else {
        n = strcspn(host, ":");
        port = host + n;
        if (n == 0)
            return ZEN_ERR;
    }
    if (*port == ':') {
        port++;
        size_t digits = strspn(port, "0123456789");
        if (digits == 0 || digits > 5 || port[digits] != '\0' || atoi(port) < 1 ||
            atoi(port) > 65535)
            return ZEN_ERR;
    } else if (*port != '\0') {
        return ZEN_ERR;
    }
    if (n >= outlen)
        return ZEN_ERR;
    memcpy(out, host, n);
    out[n] = '\0';
    return ZEN_OK;
}

static int host_allowed(const struct zcfg_daemon *d, const char *name)
{
    for (size_t i = 0; i < d->n_allowed_hosts; i++)
        if (strcasecmp(d->allowed_hosts[i], name) == 0)
            return 1;
    return 0;
}

static size_t header_count(const struct http_request *req, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < req->n_headers; i++)
        n += strcasecmp(req->headers[i].name, name) == 0;
    return n;
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

int guard_is_access_key(const struct zcfg *cfg, const char *name, const char *value)
{
    const struct zcfg_daemon *d = &cfg->daemon;
    if (d->n_access_keys == 0 || !name || !value)
        return 0;
    if (strcasecmp(name, "x-api-key") == 0)
        return key_matches(d, value);
    size_t plen = strlen(BEARER_PREFIX);
    if (strcasecmp(name, "authorization") == 0 && strncasecmp(value, BEARER_PREFIX, plen) == 0)
        return key_matches(d, value + plen);
    return 0;
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
    /* Two Host headers: the guard would check one and a later hop might
     * use the other. */
    if (header_count(req, "host") > 1) {
        deny(v, 400, "invalid_request_error", "more than one Host header");
        return;
    }
    char name[ZCFG_HOST_MAX];
    if (host_name(host, name, sizeof(name)) != ZEN_OK) {
        deny(v, 400, "invalid_request_error",
             "invalid Host header (expected host[:port] with a port of 1-65535)");
        return;
    }
    if (!host_allowed(d, name)) {
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
    /* Browsers send Sec-Fetch-Site even where they leave Origin out (a
     * no-cors GET): "cross-site" and "same-site" come from another page;
     * "same-origin" and "none" (typed in, a bookmark) do not. A page whose
     * Origin the user allowed is cross-site by nature and passes. */
    const char *site = http_request_header(req, "sec-fetch-site");
    if (site && !origin &&
        (strcasecmp(site, "cross-site") == 0 || strcasecmp(site, "same-site") == 0)) {
        deny(v, 403, "permission_error",
             "requests from web pages are refused (Sec-Fetch-Site: cross-site or same-site)");
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
    if (auth && guard_is_access_key(cfg, "authorization", auth)) {
        v->key_header = "authorization";
        return;
    }
    deny(v, 401, "authentication_error",
         "a zend access key is required (x-api-key or Authorization: Bearer)");
}
