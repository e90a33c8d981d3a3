/* route.c -- request-target -> (profile, session, upstream path), and the
 * upstream URL join. See route.h for the contract. */
#include "route.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* The /v1 extension: a target whose first segment is "v1". */
#define ROUTE_V1_SEGMENT "v1"
#define ROUTE_V1_SEGMENT_LEN (sizeof(ROUTE_V1_SEGMENT) - 1)
#define ROUTE_V1_SUFFIX "/" ROUTE_V1_SEGMENT
#define ROUTE_V1_SUFFIX_LEN (sizeof(ROUTE_V1_SUFFIX) - 1)
/* What the client is told to send instead. */
#define ROUTE_EXPECTED_FORM "/<profile>/<session>/<path>"
/* How much of a client-supplied string an error message echoes back. */
#define ROUTE_ECHO_MAX 200
#define ROUTE_ECHO_ELLIPSIS "..."

static const char route_root_path[] = "/";

/* A path segment ends at '/', at '?' (the query), or at the end. */
static size_t segment_len(const char *s)
{
    return strcspn(s, "/?");
}

/* True when s (no leading '/') is "v1" exactly or starts "v1/" or "v1?". */
static int is_v1_segment(const char *s)
{
    if (strncmp(s, ROUTE_V1_SEGMENT, ROUTE_V1_SEGMENT_LEN) != 0)
        return 0;
    char next = s[ROUTE_V1_SEGMENT_LEN];
    return next == '\0' || next == '/' || next == '?';
}

/* Copies at most ROUTE_ECHO_MAX bytes of s[0..n) for an error message,
 * with control bytes and quotes made harmless: the message ends up in a
 * JSON body and in log records, and the target is whatever a client sent. */
static void echo_for_message(const char *s, size_t n, char *out, size_t outlen)
{
    size_t keep = n > ROUTE_ECHO_MAX ? ROUTE_ECHO_MAX : n;
    size_t o = 0;
    if (outlen == 0)
        return;
    for (size_t i = 0; i < keep && o + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f || c == '"' || c == '\\') ? '?' : (char)c;
    }
    out[o] = '\0';
    if (keep < n && o + sizeof(ROUTE_ECHO_ELLIPSIS) <= outlen)
        memcpy(out + o, ROUTE_ECHO_ELLIPSIS, sizeof(ROUTE_ECHO_ELLIPSIS));
}

/* Fills err (when given) and returns status. */
__attribute__((format(printf, 4, 5)))
static int fail(int status, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return status;
}

static int invalid_path(const char *target, char *err, size_t errlen)
{
    char echo[ROUTE_ECHO_MAX + sizeof(ROUTE_ECHO_ELLIPSIS)];
    echo_for_message(target ? target : "", target ? strlen(target) : 0, echo, sizeof(echo));
    return fail(ROUTE_INVALID_PATH, err, errlen,
                "expected " ROUTE_EXPECTED_FORM ", got \"%s\"", echo);
}

/* Length of a separator at s: '/', '\\', or their percent-encoded forms
 * (%2F, %5C, any case); 0 when s is not at one. An upstream server or a
 * framework behind it may decode "%2F" before splitting the path, so for
 * the dot-segment check these separate segments too. */
static size_t separator_len(const char *s)
{
    if (*s == '/' || *s == '\\')
        return 1;
    if (s[0] == '%' && ((s[1] == '2' && (s[2] == 'f' || s[2] == 'F')) ||
                        (s[1] == '5' && (s[2] == 'c' || s[2] == 'C'))))
        return 3;
    return 0;
}

/* True when the path part of p (up to '?' or '#') has a "." or ".."
 * segment, written plainly or percent-encoded ("%2e", ".%2E", ...).
 * curl is told not to normalise (CURLOPT_PATH_AS_IS), but the provider, a
 * gateway or a CDN in front of it would, and "/p/s/../../admin" would then
 * leave base_url's path prefix with the provider's token attached. Other
 * percent-escapes, "%2F" included (Bedrock-style ARNs in the path), pass. */
static int has_dot_segment(const char *p)
{
    size_t dots = 0, others = 0;
    for (;;) {
        size_t sep = separator_len(p);
        if (sep || *p == '\0' || *p == '?' || *p == '#') {
            if (others == 0 && (dots == 1 || dots == 2))
                return 1;
            if (!sep)
                return 0;
            dots = others = 0;
            p += sep;
            continue;
        }
        if (*p == '.') {
            dots++;
            p++;
        } else if (p[0] == '%' && p[1] == '2' && (p[2] == 'e' || p[2] == 'E')) {
            dots++;
            p += 3;
        } else {
            others++;
            p++;
        }
    }
}

static int dot_segment_path(const char *target, char *err, size_t errlen)
{
    char echo[ROUTE_ECHO_MAX + sizeof(ROUTE_ECHO_ELLIPSIS)];
    echo_for_message(target, strlen(target), echo, sizeof(echo));
    return fail(ROUTE_INVALID_PATH, err, errlen,
                "\".\" and \"..\" path segments (also percent-encoded) are not allowed, "
                "got \"%s\"", echo);
}

/* zcfg_find_profile for a name that is not NUL-terminated (a segment). */
static const struct zcfg_profile *find_profile_n(const struct zcfg *cfg, const char *name,
                                                 size_t n)
{
    for (size_t i = 0; i < cfg->n_profiles; i++) {
        const char *p = cfg->profiles[i].name;
        if (strlen(p) == n && memcmp(p, name, n) == 0)
            return &cfg->profiles[i];
    }
    return NULL;
}

/* Writes "<profile>:<session>"; ZEN_ERR when it does not fit. */
static int format_session_key(char *out, const char *profile, size_t plen, const char *session,
                              size_t slen)
{
    if (plen + 1 + slen + 1 > ROUTE_SESSION_KEY_MAX)
        return ZEN_ERR;
    memcpy(out, profile, plen);
    out[plen] = ':';
    memcpy(out + plen + 1, session, slen);
    out[plen + 1 + slen] = '\0';
    return ZEN_OK;
}

/* /v1[...] -> the default profile, session "-", the target unchanged. */
static int route_default(const struct zcfg *cfg, const char *target, struct route *out,
                         char *err, size_t errlen)
{
    const struct zcfg_profile *prof =
        cfg->default_profile ? zcfg_find_profile(cfg, cfg->default_profile) : NULL;
    if (!prof)
        return fail(ROUTE_PROFILE_NOT_FOUND, err, errlen,
                    "no default profile for \"%s\": set default_profile (or a profile named "
                    "\"default\") or use " ROUTE_EXPECTED_FORM,
                    ROUTE_V1_SUFFIX);
    if (format_session_key(out->session_key, prof->name, strlen(prof->name),
                           ROUTE_DEFAULT_SESSION, strlen(ROUTE_DEFAULT_SESSION)) != ZEN_OK)
        return invalid_path(target, err, errlen);
    out->profile = prof;
    out->upstream_path = target;
    return ROUTE_OK;
}

int route_parse(const struct zcfg *cfg, const char *target, struct route *out, char *err,
                size_t errlen)
{
    if (err && errlen > 0)
        err[0] = '\0';
    if (!cfg || !out || !target || target[0] != '/')
        return invalid_path(target, err, errlen);
    if (is_v1_segment(target + 1)) {
        if (has_dot_segment(target))
            return dot_segment_path(target, err, errlen);
        return route_default(cfg, target, out, err, errlen);
    }

    const char *profile = target + 1;
    size_t plen = segment_len(profile);
    if (plen == 0 || profile[plen] != '/')
        return invalid_path(target, err, errlen);
    const char *session = profile + plen + 1;
    size_t slen = segment_len(session);
    if (slen == 0)
        return invalid_path(target, err, errlen);

    const struct zcfg_profile *prof = find_profile_n(cfg, profile, plen);
    if (!prof) {
        char echo[ROUTE_ECHO_MAX + sizeof(ROUTE_ECHO_ELLIPSIS)];
        echo_for_message(profile, plen, echo, sizeof(echo));
        return fail(ROUTE_PROFILE_NOT_FOUND, err, errlen, "profile \"%s\" not found", echo);
    }
    if (format_session_key(out->session_key, profile, plen, session, slen) != ZEN_OK)
        return fail(ROUTE_INVALID_PATH, err, errlen,
                    "profile and session in \"%s\" are too long", prof->name);

    /* What follows the session is "/rest...", "?query" or nothing. */
    const char *rest = session + slen;
    if (has_dot_segment(rest))
        return dot_segment_path(target, err, errlen);
    out->profile = prof;
    out->upstream_path = *rest ? rest : route_root_path;
    return ROUTE_OK;
}

/* Where the path of an absolute URL starts ("https://h/api" -> "/api"), or
 * the end of the string when it has none. */
static const char *url_path(const char *url)
{
    const char *authority = strstr(url, "://");
    authority = authority ? authority + strlen("://") : url;
    return authority + strcspn(authority, "/?#");
}

/* True when base[0..len) has a path ending in "/v1" (not "https://v1"). */
static int base_path_ends_v1(const char *base, size_t len)
{
    const char *bpath = url_path(base);
    size_t plen = bpath < base + len ? (size_t)(base + len - bpath) : 0;
    return plen >= ROUTE_V1_SUFFIX_LEN &&
           memcmp(bpath + plen - ROUTE_V1_SUFFIX_LEN, ROUTE_V1_SUFFIX, ROUTE_V1_SUFFIX_LEN) == 0;
}

int route_upstream_url(const char *base_url, const char *path, char *out, size_t outlen)
{
    if (out && outlen > 0)
        out[0] = '\0';
    if (!base_url || !path || !out || outlen == 0)
        return ZEN_ERR;

    /* A base with a query ("https://h/x?api-version=2024") keeps it, after
     * the joined path, merged with the client's query. */
    const char *bquery = strchr(base_url, '?');
    size_t blen = bquery ? (size_t)(bquery - base_url) : strlen(base_url);
    size_t bqlen = bquery ? strlen(bquery + 1) : 0;
    while (blen > 0 && base_url[blen - 1] == '/')
        blen--;
    while (*path == '/')
        path++;
    /* path is now "rest...", "?query" or "": one '/' goes between, unless
     * the base already ends in the /v1 the path starts with. */
    const char *sep = "/";
    if (base_path_ends_v1(base_url, blen) && is_v1_segment(path)) {
        path += ROUTE_V1_SEGMENT_LEN; /* "v1/m" -> "/m", "v1?q" -> "?q", "v1" -> "" */
        sep = "";
    }
    const char *pquery = strchr(path, '?');
    size_t plen = pquery ? (size_t)(pquery - path) : strlen(path);
    size_t slen = strlen(sep);
    /* "?" + base query, then the client's query after '&' (or '?' alone). */
    const char *qsep = "";
    size_t pqlen = 0;
    if (pquery) {
        pqlen = strlen(pquery + 1);
        qsep = bqlen ? (pqlen ? "&" : "") : "?";
    }
    size_t need = blen + slen + plen + (bqlen ? 1 + bqlen : 0) + strlen(qsep) + pqlen + 1;
    if (need > outlen)
        return ZEN_ERR;
    char *o = out;
    memcpy(o, base_url, blen);
    o += blen;
    memcpy(o, sep, slen);
    o += slen;
    memcpy(o, path, plen);
    o += plen;
    if (bqlen) {
        *o++ = '?';
        memcpy(o, bquery + 1, bqlen);
        o += bqlen;
    }
    memcpy(o, qsep, strlen(qsep));
    o += strlen(qsep);
    if (pquery) {
        memcpy(o, pquery + 1, pqlen);
        o += pqlen;
    }
    *o = '\0';
    return ZEN_OK;
}

const char *route_session(const struct route *r)
{
    return r->session_key + strlen(r->profile->name) + 1;
}
