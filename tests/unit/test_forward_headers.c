/* Unit tests for zend/forward/forward_headers.c: which request headers go upstream,
 * how the provider's token replaces the client's credentials, which response
 * headers are relayed, and what a failed allocation does.
 *
 * White-box: the module is included with malloc, calloc, strdup and
 * curl_slist_append replaced by versions that fail on the n-th call, so every
 * allocation is made to fail once. A request must then either get its whole
 * header list or none at all (the attempt fails): never a list without the
 * provider's credentials. */
#include <CUnit/CUnit.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "config.h"
#include "http_server.h"
#include "secret.h"
#include "testutil.h"

static long alloc_calls;
static long alloc_fail_at; /* 0: no allocation fails */

static int alloc_fails(void) { return ++alloc_calls == alloc_fail_at; }
static void *failing_malloc(size_t n) { return alloc_fails() ? NULL : malloc(n); }
static void *failing_calloc(size_t n, size_t m) { return alloc_fails() ? NULL : calloc(n, m); }
static char *failing_strdup(const char *s) { return alloc_fails() ? NULL : strdup(s); }
static struct curl_slist *failing_slist_append(struct curl_slist *l, const char *s)
{
    return alloc_fails() ? NULL : curl_slist_append(l, s);
}

static void fail_allocation(long n)
{
    alloc_calls = 0;
    alloc_fail_at = n;
}

#undef strdup
#define malloc failing_malloc
#define calloc failing_calloc
#define strdup failing_strdup
#define curl_slist_append failing_slist_append
#include "forward_headers.c"
#undef malloc
#undef calloc
#undef strdup
#undef curl_slist_append

/* More than the allocations of any list built here. */
#define MAX_ALLOCATIONS 200

static const char cfg_json[] =
    "{\"providers\": {"
    "  \"tok\": {\"base_url\": \"https://t.example\", \"auth_token\": \"tok-123\","
    "            \"env_vars\": {\"TEAM_ID\": \"t1\"}},"
    "  \"bearer\": {\"base_url\": \"https://b.example\", \"auth_token\": \"tok-b\","
    "               \"auth_header\": \"bearer\"},"
    "  \"pass\": {\"base_url\": \"https://p.example\"}},"
    " \"profiles\": {\"default\": [\"tok\", \"bearer\", \"pass\"]},"
    " \"daemon\": {\"access_keys\": [\"zen-key-1\"]}}";

static struct zcfg *cfg;

static int suite_init(void)
{
    if (zsec_init() != 0)
        return 1;
    char err[512];
    cfg = zcfg_load_buffer("zen.json", cfg_json, strlen(cfg_json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "\n  config did not load: %s\n", err);
    return cfg ? 0 : 1;
}

static int suite_clean(void)
{
    zcfg_unref(cfg);
    cfg = NULL;
    return 0;
}

static struct http_header client_headers[] = {
    {"Host", "127.0.0.1:19841"},
    {"Content-Type", "application/json"},
    {"Content-Length", "12"},
    {"Connection", "keep-alive, x-hop"},
    {"x-hop", "1"},
    {"Keep-Alive", "timeout=5"},
    {"Proxy-Authorization", "Basic abc"},
    {"Accept-Encoding", "gzip"},
    {"Expect", "100-continue"},
    {"x-zen-debug", "1"},
    {"anthropic-version", "2023-06-01"},
    {"x-api-key", "client-key"},
    {"Authorization", "Bearer client-key"},
};

static struct http_request make_request(struct http_header *h, size_t n)
{
    struct http_request r;
    memset(&r, 0, sizeof(r));
    snprintf(r.method, sizeof(r.method), "POST");
    r.target = "/default/s1/v1/messages";
    r.headers = h;
    r.n_headers = n;
    return r;
}

/* The list as "a\nb\n...", for whole-list comparisons; caller frees. */
static char *joined(const struct curl_slist *l)
{
    zbuf b;
    zbuf_init(&b);
    for (; l; l = l->next) {
        zbuf_append_str(&b, l->data);
        zbuf_append_str(&b, "\n");
    }
    zbuf_append(&b, "", 1);
    char *s = strdup((const char *)zbuf_head(&b));
    zbuf_free(&b);
    return s;
}

static int has_line(const struct curl_slist *l, const char *line)
{
    for (; l; l = l->next)
        if (strcasecmp(l->data, line) == 0)
            return 1;
    return 0;
}

static int has_name(const struct curl_slist *l, const char *name)
{
    size_t n = strlen(name);
    for (; l; l = l->next)
        if (strncasecmp(l->data, name, n) == 0 && (l->data[n] == ':' || l->data[n] == ';'))
            return 1;
    return 0;
}

static struct curl_slist *build(const char *provider, struct http_header *h, size_t n,
                                const char *key_header)
{
    struct http_request r = make_request(h, n);
    return fwdh_upstream_request(&r, cfg, zcfg_find_provider(cfg, provider), key_header);
}

static void test_request_headers_dropped_and_kept(void)
{
    fail_allocation(0);
    struct curl_slist *l = build("tok", client_headers, ZEN_ARRAY_LEN(client_headers), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    const char *const dropped[] = {"Host", "Content-Length", "Connection", "x-hop",
                                   "Keep-Alive", "Proxy-Authorization", "x-zen-debug"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(dropped); i++)
        CU_ASSERT_FALSE(has_name(l, dropped[i]));
    CU_ASSERT_TRUE(has_line(l, "Content-Type: application/json"));
    CU_ASSERT_TRUE(has_line(l, "anthropic-version: 2023-06-01"));
    /* the client's Accept-Encoding and Expect are replaced */
    CU_ASSERT_TRUE(has_line(l, "Accept-Encoding: identity"));
    CU_ASSERT_FALSE(has_line(l, "Accept-Encoding: gzip"));
    CU_ASSERT_TRUE(has_line(l, "Expect:"));
    /* no Accept from the client: curl must not add its own */
    CU_ASSERT_TRUE(has_line(l, "Accept:"));
    CU_ASSERT_TRUE(has_line(l, "x-env-team-id: t1"));
    curl_slist_free_all(l);
}

static void test_provider_token_replaces_client_credentials(void)
{
    fail_allocation(0);
    struct curl_slist *l = build("tok", client_headers, ZEN_ARRAY_LEN(client_headers), NULL);
    CU_ASSERT_TRUE(has_line(l, "x-api-key: tok-123"));
    CU_ASSERT_TRUE(has_line(l, "Authorization: Bearer tok-123"));
    CU_ASSERT_FALSE(has_line(l, "x-api-key: client-key"));
    CU_ASSERT_FALSE(has_line(l, "Authorization: Bearer client-key"));
    curl_slist_free_all(l);
    /* auth_header bearer: no x-api-key at all */
    l = build("bearer", client_headers, ZEN_ARRAY_LEN(client_headers), NULL);
    CU_ASSERT_TRUE(has_line(l, "Authorization: Bearer tok-b"));
    CU_ASSERT_FALSE(has_name(l, "x-api-key"));
    curl_slist_free_all(l);
    /* passthrough: the client's own credentials go up */
    l = build("pass", client_headers, ZEN_ARRAY_LEN(client_headers), NULL);
    CU_ASSERT_TRUE(has_line(l, "x-api-key: client-key"));
    CU_ASSERT_TRUE(has_line(l, "Authorization: Bearer client-key"));
    curl_slist_free_all(l);
}

static void test_access_key_never_forwarded(void)
{
    fail_allocation(0);
    struct http_header h[] = {{"x-api-key", "zen-key-1"}, {"Authorization", "Bearer zen-key-1"},
                              {"Accept", "*/*"}};
    struct curl_slist *l = build("pass", h, ZEN_ARRAY_LEN(h), "x-api-key");
    CU_ASSERT_FALSE(has_name(l, "x-api-key"));
    CU_ASSERT_FALSE(has_name(l, "Authorization"));
    CU_ASSERT_TRUE(has_line(l, "Accept: */*"));
    CU_ASSERT_FALSE(has_line(l, "Accept:"));
    curl_slist_free_all(l);
}

static struct curl_slist *build_translated(const char *provider, struct http_header *h,
                                           size_t n, const char *key_header, int to_anthropic,
                                           int stream)
{
    struct http_request r = make_request(h, n);
    return fwdh_translated_request(&r, cfg, zcfg_find_provider(cfg, provider), key_header,
                                   to_anthropic, stream);
}

/* A translated request: the other family's headers go, the format's own
 * come in, and a passthrough x-api-key becomes OpenAI's Bearer. */
static void test_translated_request_headers(void)
{
    fail_allocation(0);
    struct http_header to_openai[] = {
        {"x-api-key", "client-key"}, {"anthropic-version", "2023-06-01"},
        {"anthropic-beta", "x"}, {"Content-Type", "text/plain"}, {"Accept", "*/*"},
        {"User-Agent", "claude-cli"}};
    struct curl_slist *l = build_translated("pass", to_openai, ZEN_ARRAY_LEN(to_openai), NULL,
                                            0, 1);
    CU_ASSERT_FALSE(has_name(l, "anthropic-version"));
    CU_ASSERT_FALSE(has_name(l, "anthropic-beta"));
    CU_ASSERT_FALSE(has_name(l, "x-api-key"));
    CU_ASSERT_TRUE(has_line(l, "Authorization: Bearer client-key"));
    CU_ASSERT_TRUE(has_line(l, "Content-Type: application/json"));
    CU_ASSERT_FALSE(has_line(l, "Content-Type: text/plain"));
    CU_ASSERT_TRUE(has_line(l, "Accept: text/event-stream"));
    CU_ASSERT_TRUE(has_line(l, "User-Agent: claude-cli"));
    curl_slist_free_all(l);
    /* a zend access key in x-api-key is never moved into Authorization */
    l = build_translated("pass", to_openai, ZEN_ARRAY_LEN(to_openai), "x-api-key", 0, 0);
    CU_ASSERT_FALSE(has_name(l, "Authorization"));
    CU_ASSERT_TRUE(has_line(l, "Accept: application/json"));
    curl_slist_free_all(l);
    /* the provider's token wins over any move */
    l = build_translated("tok", to_openai, ZEN_ARRAY_LEN(to_openai), NULL, 0, 0);
    CU_ASSERT_TRUE(has_line(l, "Authorization: Bearer tok-123"));
    CU_ASSERT_FALSE(has_line(l, "Authorization: Bearer client-key"));
    curl_slist_free_all(l);
    struct http_header to_anthropic[] = {
        {"Authorization", "Bearer oauth-tok"}, {"openai-organization", "org"},
        {"originator", "codex_exec"}, {"session_id", "s"}, {"chatgpt-account-id", "a"},
        {"OpenAI-Beta", "responses=v1"}};
    l = build_translated("pass", to_anthropic, ZEN_ARRAY_LEN(to_anthropic), NULL, 1, 0);
    CU_ASSERT_TRUE(has_line(l, "anthropic-version: 2023-06-01"));
    CU_ASSERT_TRUE(has_line(l, "Authorization: Bearer oauth-tok"));
    const char *const gone[] = {"openai-organization", "originator", "session_id",
                                "chatgpt-account-id", "OpenAI-Beta"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(gone); i++)
        CU_ASSERT_FALSE(has_name(l, gone[i]));
    curl_slist_free_all(l);
}

/* A line longer than the stack buffer is built on the heap, whole; an empty
 * value is sent as "Name;" (curl would drop "Name:"). */
static void test_long_and_empty_values(void)
{
    fail_allocation(0);
    static char long_value[2000];
    memset(long_value, 'v', sizeof(long_value) - 1);
    struct http_header h[] = {{"x-long", long_value}, {"x-empty", ""}};
    struct curl_slist *l = build("tok", h, ZEN_ARRAY_LEN(h), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    static char want[2100];
    snprintf(want, sizeof(want), "x-long: %s", long_value);
    CU_ASSERT_TRUE(has_line(l, want));
    CU_ASSERT_TRUE(has_line(l, "x-empty;"));
    curl_slist_free_all(l);
}

/* Every allocation made to fail in turn: the list is whole or absent. */
static void check_all_or_nothing(const char *provider)
{
    fail_allocation(0);
    struct curl_slist *full = build(provider, client_headers, ZEN_ARRAY_LEN(client_headers),
                                    NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    long total = alloc_calls;
    char *want = joined(full);
    curl_slist_free_all(full);
    for (long k = 1; k <= total && k < MAX_ALLOCATIONS; k++) {
        fail_allocation(k);
        struct curl_slist *l = build(provider, client_headers, ZEN_ARRAY_LEN(client_headers),
                                     NULL);
        fail_allocation(0);
        if (!l)
            continue; /* the attempt fails: fine */
        char *got = joined(l);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "\n  %s, allocation %ld failed, sent:\n%s", provider, k, got);
        CU_ASSERT_STRING_EQUAL(got, want);
        free(got);
        curl_slist_free_all(l);
    }
    free(want);
}

static void test_failed_allocation_never_drops_credentials(void)
{
    check_all_or_nothing("tok");
    check_all_or_nothing("bearer");
    check_all_or_nothing("pass");
}

static void test_relay_response_filter(void)
{
    struct http_header h[] = {{"Content-Type", "text/event-stream"}, {"Content-Length", "5"},
                              {"Connection", "close, x-drop"}, {"x-drop", "1"},
                              {"Transfer-Encoding", "chunked"}, {"x-zen-provider", "evil"},
                              {"request-id", "r1"}};
    struct http_header out[8];
    size_t n = fwdh_relay_response(h, ZEN_ARRAY_LEN(h), out, 8);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_STRING_EQUAL(out[0].name, "Content-Type");
    CU_ASSERT_STRING_EQUAL(out[1].name, "request-id");
    CU_ASSERT_EQUAL(fwdh_relay_response(h, ZEN_ARRAY_LEN(h), out, 1), 1);
}

/* A copied head never holds a header whose copy failed. */
static void test_copy_survives_failed_allocations(void)
{
    struct http_header h[] = {{"retry-after", "3"}, {"content-type", "application/json"},
                              {"request-id", "r1"}};
    for (long k = 0; k <= 7; k++) {
        fail_allocation(k);
        struct http_header *c = NULL;
        size_t n = 99;
        fwdh_copy(h, ZEN_ARRAY_LEN(h), &c, &n);
        fail_allocation(0);
        CU_ASSERT_TRUE(n <= ZEN_ARRAY_LEN(h));
        CU_ASSERT_TRUE(k == 0 || k > 7 || n < ZEN_ARRAY_LEN(h));
        for (size_t i = 0; i < n; i++) {
            CU_ASSERT_PTR_NOT_NULL(c[i].name);
            CU_ASSERT_PTR_NOT_NULL(c[i].value);
            if (c[i].name && c[i].value)
                CU_ASSERT_STRING_EQUAL(fwdh_find(h, ZEN_ARRAY_LEN(h), c[i].name), c[i].value);
        }
        fwdh_free_copy(c, n);
    }
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("forward_headers", suite_init, suite_clean);
    TU_ADD(s, test_request_headers_dropped_and_kept);
    TU_ADD(s, test_provider_token_replaces_client_credentials);
    TU_ADD(s, test_access_key_never_forwarded);
    TU_ADD(s, test_translated_request_headers);
    TU_ADD(s, test_failed_allocation_never_drops_credentials);
    TU_ADD(s, test_long_and_empty_values);
    TU_ADD(s, test_relay_response_filter);
    TU_ADD(s, test_copy_survives_failed_allocations);
}
