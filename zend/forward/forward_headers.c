#include "forward_headers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "guard.h"
#include "secret.h"

/* A header name and its length: a list of names is searched by comparing
 * lengths first, so most names cost no strcasecmp at all. */
struct header_name {
    const char *name;
    size_t len;
};
#define HEADER_NAME(s) {s, sizeof(s) - 1}

static int name_in(const char *name, size_t len, const struct header_name *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].len == len && strcasecmp(name, list[i].name) == 0)
            return 1;
    return 0;
}

static int hop_by_hop(const char *name, size_t len)
{
    static const struct header_name hop[] = {
        HEADER_NAME("connection"), HEADER_NAME("keep-alive"), HEADER_NAME("te"),
        HEADER_NAME("trailer"), HEADER_NAME("transfer-encoding"), HEADER_NAME("upgrade"),
    };
    return name_in(name, len, hop, ZEN_ARRAY_LEN(hop)) || strncasecmp(name, "proxy-", 6) == 0;
}

int fwdh_is_hop_by_hop(const char *name) { return hop_by_hop(name, strlen(name)); }

int fwdh_nominated_by_connection(const char *connection, const char *name)
{
    if (!connection)
        return 0;
    size_t n = strlen(name);
    for (const char *p = connection; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - p) == n && strncasecmp(p, name, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

const char *fwdh_find(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

/* Appends one line to *list. Returns 0, or -1 when out of memory (then
 * *list is left as it was, for the caller to free). */
static int append_line(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l)
        return -1;
    *list = l;
    return 0;
}

/* Header lines up to this size are built on the stack, not malloc'd. */
#define HEADER_LINE_STACK 512

/* Appends "name: <prefix><value>" (prefix may be ""), or "name;" for an
 * empty value: curl drops "Name:" (it means "remove"); "Name;" sends an
 * empty value. The line is wiped after curl copied it: it may hold a token. */
static int add_header_with(struct curl_slist **list, const char *name, const char *prefix,
                           const char *value)
{
    size_t nl = strlen(name), pl = strlen(prefix), vl = strlen(value);
    size_t n = nl + 2 + pl + vl + 1;
    char stack[HEADER_LINE_STACK];
    char *line = n <= sizeof(stack) ? stack : malloc(n);
    if (!line)
        return -1;
    memcpy(line, name, nl);
    if (pl + vl) {
        memcpy(line + nl, ": ", 2);
        memcpy(line + nl + 2, prefix, pl);
        memcpy(line + nl + 2 + pl, value, vl + 1);
    } else {
        memcpy(line + nl, ";", 2);
    }
    int rc = append_line(list, line);
    zsec_wipe(line, n);
    if (line != stack)
        free(line);
    return rc;
}

static int add_header(struct curl_slist **list, const char *name, const char *value)
{
    return add_header_with(list, name, "", value);
}

static int add_provider_token(struct curl_slist **list, const struct zcfg_provider *p)
{
    if (p->auth_header != ZCFG_AUTH_BEARER && add_header(list, "x-api-key", p->auth_token) < 0)
        return -1;
    if (p->auth_header == ZCFG_AUTH_X_API_KEY)
        return 0;
    return add_header_with(list, "Authorization", "Bearer ", p->auth_token);
}

static int forwarded_request_header(const struct zcfg *cfg, const struct zcfg_provider *p,
                                    const char *key_header, const char *name,
                                    const char *value, const char *connection)
{
    static const struct header_name dropped[] = {
        HEADER_NAME("host"), HEADER_NAME("expect"), HEADER_NAME("content-length"),
        HEADER_NAME("accept-encoding"),
    };
    static const struct header_name auth[] = {HEADER_NAME("x-api-key"),
                                              HEADER_NAME("authorization")};
    size_t len = strlen(name);
    if (hop_by_hop(name, len) || fwdh_nominated_by_connection(connection, name))
        return 0;
    if (name_in(name, len, dropped, ZEN_ARRAY_LEN(dropped)))
        return 0;
    if (strncasecmp(name, "x-zen-", 6) == 0)
        return 0;
    int is_auth = name_in(name, len, auth, ZEN_ARRAY_LEN(auth));
    if (is_auth && p->auth_token)
        return 0; /* replaced by the provider's token */
    if (is_auth && key_header && strcasecmp(name, key_header) == 0)
        return 0; /* a zend access key never leaves zend */
    if (is_auth && guard_is_access_key(cfg, name, value))
        return 0; /* ... nor does a second copy of it in the other header */
    return 1;
}

/* How a translated request's headers differ (NULL: not translated). */
struct translation_headers {
    int to_anthropic;
    int stream;
};

/* A client header a translated request leaves behind: the body's format
 * changed (Content-Type, Accept are zend's) and the other family's
 * headers mean nothing to this provider. */
static int dropped_by_translation(const struct translation_headers *t, const char *name)
{
    static const char *const always[] = {"content-type", "accept"};
    static const char *const to_anthropic[] = {"chatgpt-account-id", "originator", "session_id"};
    static const char *const to_openai[] = {"anthropic-version", "anthropic-beta",
                                            "anthropic-dangerous-direct-browser-access"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(always); i++)
        if (strcasecmp(name, always[i]) == 0)
            return 1;
    if (t->to_anthropic) {
        if (strncasecmp(name, "openai-", 7) == 0)
            return 1;
        for (size_t i = 0; i < ZEN_ARRAY_LEN(to_anthropic); i++)
            if (strcasecmp(name, to_anthropic[i]) == 0)
                return 1;
        return 0;
    }
    for (size_t i = 0; i < ZEN_ARRAY_LEN(to_openai); i++)
        if (strcasecmp(name, to_openai[i]) == 0)
            return 1;
    return 0;
}

/* A passthrough credential crosses families in the header the provider's
 * API reads: an Anthropic client's x-api-key becomes Authorization: Bearer
 * towards OpenAI (which knows no x-api-key). Towards Anthropic a Bearer
 * token stays as it is: Anthropic takes OAuth tokens that way. */
static int moved_credential(const struct http_request *req, const struct zcfg_provider *p,
                            const char *key_header, const struct translation_headers *t,
                            const char *name)
{
    return !t->to_anthropic && !p->auth_token && strcasecmp(name, "x-api-key") == 0 &&
           !http_request_header(req, "authorization") &&
           !(key_header && strcasecmp(key_header, "x-api-key") == 0);
}

static int add_translation_headers(struct curl_slist **list, const struct http_request *req,
                                   const struct zcfg *cfg, const struct zcfg_provider *p,
                                   const char *key_header, const struct translation_headers *t)
{
    /* Only a credential that would have been forwarded is moved: never a
     * zend access key. */
    const char *key = http_request_header(req, "x-api-key");
    if (key && moved_credential(req, p, key_header, t, "x-api-key") &&
        forwarded_request_header(cfg, p, key_header, "x-api-key", key,
                                 http_request_header(req, "connection"))) {
        if (add_header_with(list, "Authorization", "Bearer ", key) < 0)
            return -1;
    }
    if (t->to_anthropic && !http_request_header(req, "anthropic-version") &&
        add_header(list, "anthropic-version", "2023-06-01") < 0)
        return -1;
    if (add_header(list, "Content-Type", "application/json") < 0 ||
        add_header(list, "Accept", t->stream ? "text/event-stream" : "application/json") < 0)
        return -1;
    return 0;
}

static struct curl_slist *upstream_headers(const struct http_request *req,
                                           const struct zcfg *cfg,
                                           const struct zcfg_provider *p,
                                           const char *key_header,
                                           const struct translation_headers *t)
{
    const char *connection = http_request_header(req, "connection");
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (forwarded_request_header(cfg, p, key_header, req->headers[i].name,
                                     req->headers[i].value, connection) &&
            !(t && (dropped_by_translation(t, req->headers[i].name) ||
                    moved_credential(req, p, key_header, t, req->headers[i].name))) &&
            add_header(&list, req->headers[i].name, req->headers[i].value) < 0)
            goto oom;
    if (t && add_translation_headers(&list, req, cfg, p, key_header, t) < 0)
        goto oom;
    if (p->auth_token && add_provider_token(&list, p) < 0)
        goto oom;
    /* identity: zend must see stream events to know when a stream is whole. */
    if (add_header(&list, "Accept-Encoding", "identity") < 0)
        goto oom;
    for (size_t i = 0; i < p->n_env_headers; i++)
        if (add_header(&list, p->env_headers[i].name, p->env_headers[i].value) < 0)
            goto oom;
    /* Keep curl from adding headers the client did not send. */
    if (append_line(&list, "Expect:") < 0 ||
        (!t && !http_request_header(req, "accept") && append_line(&list, "Accept:") < 0) ||
        (!t && !http_request_header(req, "content-type") &&
         append_line(&list, "Content-Type:") < 0))
        goto oom;
    return list;
oom:
    /* A list missing a line could be missing the provider's credentials. */
    curl_slist_free_all(list);
    return NULL;
}

struct curl_slist *fwdh_upstream_request(const struct http_request *req,
                                         const struct zcfg *cfg,
                                         const struct zcfg_provider *p,
                                         const char *key_header)
{
    return upstream_headers(req, cfg, p, key_header, NULL);
}

struct curl_slist *fwdh_translated_request(const struct http_request *req,
                                           const struct zcfg *cfg,
                                           const struct zcfg_provider *p,
                                           const char *key_header, int to_anthropic,
                                           int stream)
{
    const struct translation_headers t = {to_anthropic, stream};
    return upstream_headers(req, cfg, p, key_header, &t);
}

size_t fwdh_relay_response(const struct http_header *h, size_t n, struct http_header *out,
                           size_t max)
{
    size_t k = 0;
    const char *connection = fwdh_find(h, n, "connection");
    static const struct header_name framing[] = {HEADER_NAME("content-length")};
    for (size_t i = 0; i < n && k < max; i++) {
        size_t len = strlen(h[i].name);
        if (hop_by_hop(h[i].name, len) || fwdh_nominated_by_connection(connection, h[i].name) ||
            name_in(h[i].name, len, framing, ZEN_ARRAY_LEN(framing)) ||
            strncasecmp(h[i].name, "x-zen-", 6) == 0)
            continue;
        out[k++] = h[i];
    }
    return k;
}

void fwdh_copy(const struct http_header *h, size_t n, struct http_header **out,
               size_t *n_out)
{
    *n_out = 0;
    *out = calloc(n ? n : 1, sizeof(**out));
    for (size_t i = 0; *out && i < n; i++) {
        struct http_header *c = &(*out)[*n_out];
        c->name = strdup(h[i].name);
        c->value = strdup(h[i].value);
        if (!c->name || !c->value) {
            /* Out of memory: this header is left out, never kept half-made. */
            free(c->name);
            free(c->value);
            c->name = c->value = NULL;
            continue;
        }
        (*n_out)++;
    }
}

void fwdh_free_copy(struct http_header *h, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
}
