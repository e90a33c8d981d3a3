/* route.h -- which profile and session a proxied request belongs to, and
 * where it goes upstream (README "How the proxy behaves": "Routing").
 *
 * Launchers point clients at http://127.0.0.1:19841/<profile>/<session>, so
 * the first two path segments are zend's and everything after them is the
 * provider's. The split is done on the raw request-target: the query string
 * is never parsed, decoded or re-encoded, because providers sign and compare
 * it byte for byte (`?beta=true`, `%2F` in ids).
 *
 * Pure functions over the config and the target: no allocation, no logging. */
#ifndef ZEND_ROUTE_H
#define ZEND_ROUTE_H

#include <stddef.h>

#include "config.h"

/* "<profile>:<session>" plus NUL; a longer pair is refused as invalid_path. */
#define ROUTE_SESSION_KEY_MAX 512
/* Session name of the plain /v1/... form, which carries no session segment. */
#define ROUTE_DEFAULT_SESSION "-"

enum route_status { ROUTE_OK = 0, ROUTE_INVALID_PATH, ROUTE_PROFILE_NOT_FOUND };

struct route {
    const struct zcfg_profile *profile;         /* owned by the config */
    char session_key[ROUTE_SESSION_KEY_MAX];    /* "<profile>:<session>"; never sent upstream */
    /* The path to send upstream, always pointing into `target` (so the
     * struct may be copied freely while the target lives), or at a static
     * "/" for a bare "/p/s". For "/p/s?query" it is the "?query" tail of the
     * target: route_upstream_url() supplies the '/' ("https://h" + "?x=1" ->
     * "https://h/?x=1"), which keeps this struct free of pointers into
     * itself. */
    const char *upstream_path;
};

/* Parses a raw request-target ("/work/s1/v1/messages?beta=true").
 *
 * Accepts /<profile>/<session>[/<rest>][?query] and the extension
 * /v1[/...][?query], which goes to cfg->default_profile with session "-" and
 * upstream_path = target. Segments end at '/' or '?' and are compared as
 * written (no percent-decoding); a profile named "v1" is therefore reachable
 * only as the default profile.
 *
 * Refuses with ROUTE_INVALID_PATH: a NULL or empty target, one that does not
 * start with '/' ("*", absolute-form), fewer than two segments, an empty
 * profile or session, a profile:session pair too long for session_key, and
 * an upstream path with a "." or ".." segment, plain or percent-encoded
 * ("%2e%2e", ".%2E"), where '\\', "%2F" and "%5C" also count as
 * separators: such a path would climb out of the provider's base_url.
 * Refuses with ROUTE_PROFILE_NOT_FOUND: an unknown profile, or /v1 when the
 * config has no default profile. On refusal `err` gets a message fit for the
 * client ("profile \"nope\" not found"); `out` is then unspecified. */
int route_parse(const struct zcfg *cfg, const char *target, struct route *out, char *err,
                size_t errlen);

/* Joins base_url (may carry a path prefix, e.g. https://h/api; trailing '/'
 * ignored) and path (leading '/' ignored) with exactly one '/' between. When
 * the base path ends in "/v1" and the path is "/v1", "/v1/..." or "/v1?...",
 * the duplicate is dropped: "https://h/v1" + "/v1/messages" ->
 * "https://h/v1/messages". A query in base_url ("https://h/x?api-version=1")
 * stays after the joined path, and the path's own query follows it after
 * '&': "https://h/x/v1/m?api-version=1&beta=true". Nothing is decoded or
 * re-encoded.
 * Returns ZEN_OK, or ZEN_ERR when an argument is NULL or the URL (with its
 * NUL) does not fit in outlen; out is then "" if outlen > 0. */
int route_upstream_url(const char *base_url, const char *path, char *out, size_t outlen);

/* The session part of r->session_key (after "<profile>:"). */
const char *route_session(const struct route *r);

#endif
