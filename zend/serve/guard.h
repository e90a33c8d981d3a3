/* guard.h -- the security checks every proxied request passes first
 * (README "How the proxy behaves": "Guards").
 *
 * - Host must be an allowed name (loopback names by default, any port):
 *   stops DNS-rebinding pages from spending the user's provider keys.
 * - A request carrying an Origin not explicitly allowed is refused: browsers
 *   send Origin, CLI clients and SDKs do not, so no web page can POST
 *   through the proxy.
 * - With access_keys configured, the client must present one (x-api-key or
 *   Authorization: Bearer); hashes are compared with sodium_memcmp.
 * - Host is parsed strictly (one header, host[:port], port 1..65535), and a
 *   browser's Sec-Fetch-Site of cross-site or same-site is refused like a
 *   foreign Origin. */
#ifndef ZEND_GUARD_H
#define ZEND_GUARD_H

#include <stddef.h>

#include "config.h"
#include "http_server.h"

struct guard_verdict {
    int status;                /* 0 = allowed; else 400, 401 or 403 */
    const char *error_type;    /* for the error envelope */
    char message[256];
    const char *key_header;    /* header that carried a zend access key (never forwarded) */
};

void guard_check(const struct zcfg *cfg, const struct http_request *req,
                 struct guard_verdict *v);

/* True when the header `name: value` carries one of cfg's access keys
 * (x-api-key: <key>, or Authorization: Bearer <key>). The proxy asks this of
 * every credential header it forwards: a zend key never goes upstream, in
 * whichever header, order or repetition the client sent it. */
int guard_is_access_key(const struct zcfg *cfg, const char *name, const char *value);

#endif
