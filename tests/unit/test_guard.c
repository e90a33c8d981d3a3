/* Unit tests for zend/serve/guard.c: the checks every proxied request passes first
 * (Host, Origin, Sec-Fetch-Site, access keys). Pure functions and
 * security-relevant: each refusal below is an attack someone can mount from
 * a web page or another host, each acceptance a client that must work. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "guard.h"
#include "http_server.h"
#include "secret.h"
#include "testutil.h"

#define PROVIDERS "\"providers\": {\"p\": {\"base_url\": \"https://p\"}}, " \
                  "\"profiles\": {\"default\": [\"p\"]}"

static struct zcfg *cfg_plain;  /* defaults: loopback hosts, no origins, no keys */
static struct zcfg *cfg_keys;   /* two access keys, an allowed host and origin */

static struct zcfg *load(const char *json)
{
    char lerr[ZEN_ERRLEN];
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), lerr, sizeof(lerr));
    if (!cfg)
        fprintf(stderr, "\n  config did not load: %s\n", lerr);
    return cfg;
}

/* A request with the given headers: name, value pairs ending in NULL. */
#define MAX_TEST_HEADERS 8
struct test_request {
    struct http_request req;
    struct http_header h[MAX_TEST_HEADERS];
};

static void build(struct test_request *t, const char *const *pairs)
{
    memset(t, 0, sizeof(*t));
    snprintf(t->req.method, sizeof(t->req.method), "POST");
    t->req.target = (char *)"/default/s1/v1/messages";
    size_t n = 0;
    for (; pairs[2 * n] && n < MAX_TEST_HEADERS; n++) {
        t->h[n].name = (char *)pairs[2 * n];
        t->h[n].value = (char *)pairs[2 * n + 1];
    }
    t->req.headers = t->h;
    t->req.n_headers = n;
}

/* Runs the guard; returns the verdict's status (0 = allowed). */
static int check(const struct zcfg *cfg, const char *const *pairs, struct guard_verdict *v)
{
    struct test_request t;
    build(&t, pairs);
    guard_check(cfg, &t.req, v);
    return v->status;
}

static int status_of(const struct zcfg *cfg, const char *const *pairs)
{
    struct guard_verdict v;
    return check(cfg, pairs, &v);
}

#define H(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_host_loopback_names_any_port(void)
{
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost")), 0);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("host", "127.0.0.1:19841")), 0);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("HOST", "[::1]:8080")), 0);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "LocalHost:1")), 0); /* names: any case */
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost:65535")), 0);
}

/* DNS rebinding: a page on evil.com resolved to 127.0.0.1 still sends its
 * own name as Host. */
static void test_host_foreign_name_refused(void)
{
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_plain, H("Host", "evil.com"), &v), 403);
    CU_ASSERT_STRING_EQUAL(v.error_type, "permission_error");
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "evil.com:19841")), 403);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost.evil.com")), 403);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "127.0.0.2")), 403);
    /* A name listed in daemon.allowed_hosts passes. */
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "zen.local:19841", "x-api-key", "key-one")),
                    0);
}

static void test_host_malformed_refused(void)
{
    static const char *const bad[] = {
        "",               /* empty name */
        ":19841",         /* no name */
        "localhost:",     /* empty port */
        "localhost:0",    /* port out of range */
        "localhost:65536",
        "localhost:99999",
        "localhost:123456",
        "localhost:evil",
        "localhost:80x",
        "localhost:+80",
        "a:b:c",
        "[::1]evil.com",  /* junk after the bracket */
        "[]",
        "[::1",           /* unclosed */
        "localhost/x",
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bad); i++) {
        struct guard_verdict v;
        int st = check(cfg_plain, H("Host", bad[i]), &v);
        if (st != 400 && st != 403)
            fprintf(stderr, "\n  Host \"%s\" got %d\n", bad[i], st);
        CU_ASSERT(st == 400 || st == 403);
    }
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_plain, H("Host", "localhost:evil"), &v), 400);
    CU_ASSERT_STRING_EQUAL(v.error_type, "invalid_request_error");
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "[::1]evil.com")), 400);
}

static void test_host_missing_or_repeated(void)
{
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_plain, H("Content-Type", "application/json"), &v), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.message, "missing Host"));
    /* Two Host headers: the guard would check one, a later hop use the other. */
    CU_ASSERT_EQUAL(check(cfg_plain, H("Host", "localhost", "host", "evil.com"), &v), 400);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.message, "more than one Host"));
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "Host", "localhost")), 400);
}

/* A browser page can POST to localhost; its Origin gives it away. */
static void test_origin(void)
{
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_plain, H("Host", "localhost", "Origin", "https://evil.com"), &v),
                    403);
    CU_ASSERT_STRING_EQUAL(v.error_type, "permission_error");
    CU_ASSERT_PTR_NOT_NULL(strstr(v.message, "Origin"));
    /* Even an Origin that looks local is refused unless listed. */
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "Origin", "http://localhost")),
                    403);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "Origin", "null")), 403);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "Origin", "")), 403);
    /* A listed Origin passes (case-insensitive), a near miss does not. */
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "localhost", "Origin", "https://app.example",
                                          "x-api-key", "key-one")), 0);
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "localhost", "Origin", "HTTPS://APP.EXAMPLE",
                                          "x-api-key", "key-one")), 0);
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "localhost", "Origin",
                                          "https://app.example.evil.com", "x-api-key",
                                          "key-one")), 403);
}

/* Sec-Fetch-Site comes from browsers even where Origin is left out. */
static void test_sec_fetch_site(void)
{
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_plain, H("Host", "localhost", "Sec-Fetch-Site", "cross-site"), &v),
                    403);
    CU_ASSERT_PTR_NOT_NULL(strstr(v.message, "Sec-Fetch-Site"));
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "sec-fetch-site", "Same-Site")),
                    403);
    /* Typed in, a bookmark, or the same origin: not another page. */
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "Sec-Fetch-Site", "none")), 0);
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost", "Sec-Fetch-Site",
                                           "same-origin")), 0);
    /* A page whose Origin the user allowed is cross-site by nature. */
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "localhost", "Origin", "https://app.example",
                                          "Sec-Fetch-Site", "cross-site", "x-api-key",
                                          "key-one")), 0);
}

static void test_no_keys_configured_allows_any_credential(void)
{
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_plain, H("Host", "localhost", "x-api-key", "sk-ant-anything"), &v),
                    0);
    CU_ASSERT_PTR_NULL(v.key_header); /* nothing to strip: it is the provider's key */
    CU_ASSERT_EQUAL(status_of(cfg_plain, H("Host", "localhost")), 0);
}

static void test_access_keys(void)
{
    struct guard_verdict v;
    CU_ASSERT_EQUAL(check(cfg_keys, H("Host", "localhost"), &v), 401);
    CU_ASSERT_STRING_EQUAL(v.error_type, "authentication_error");
    CU_ASSERT_EQUAL(check(cfg_keys, H("Host", "localhost", "x-api-key", "key-one"), &v), 0);
    CU_ASSERT_STRING_EQUAL(v.key_header, "x-api-key");
    CU_ASSERT_EQUAL(check(cfg_keys, H("Host", "localhost", "X-Api-Key", "key-two"), &v), 0);
    CU_ASSERT_EQUAL(check(cfg_keys, H("Host", "localhost", "Authorization", "Bearer key-two"),
                          &v), 0);
    CU_ASSERT_STRING_EQUAL(v.key_header, "authorization");
    /* Wrong, partial, padded, or in the wrong scheme: refused. */
    static const char *const wrong[][2] = {
        {"x-api-key", "key-three"}, {"x-api-key", "key-on"},   {"x-api-key", "key-one "},
        {"x-api-key", ""},          {"x-api-key", "KEY-ONE"},  {"authorization", "key-one"},
        {"authorization", "Basic key-one"}, {"authorization", "Bearer"},
        {"authorization", "Bearer key-one-and-more"},
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(wrong); i++) {
        int st = status_of(cfg_keys, H("Host", "localhost", wrong[i][0], wrong[i][1]));
        if (st != 401)
            fprintf(stderr, "\n  %s: %s got %d\n", wrong[i][0], wrong[i][1], st);
        CU_ASSERT_EQUAL(st, 401);
    }
    /* A wrong x-api-key next to a right Bearer: the Bearer one admits, and
     * it is the header the proxy must strip. */
    CU_ASSERT_EQUAL(check(cfg_keys, H("Host", "localhost", "x-api-key", "sk-provider",
                                      "Authorization", "Bearer key-one"), &v), 0);
    CU_ASSERT_STRING_EQUAL(v.key_header, "authorization");
    /* Host and Origin are judged before the key: a key does not open the
     * door to a foreign page or name. */
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "evil.com", "x-api-key", "key-one")), 403);
    CU_ASSERT_EQUAL(status_of(cfg_keys, H("Host", "localhost", "Origin", "https://evil.com",
                                          "x-api-key", "key-one")), 403);
}

static void test_is_access_key(void)
{
    CU_ASSERT_TRUE(guard_is_access_key(cfg_keys, "x-api-key", "key-one"));
    CU_ASSERT_TRUE(guard_is_access_key(cfg_keys, "X-API-KEY", "key-two"));
    CU_ASSERT_TRUE(guard_is_access_key(cfg_keys, "Authorization", "Bearer key-one"));
    CU_ASSERT_TRUE(guard_is_access_key(cfg_keys, "authorization", "bearer key-one"));
    CU_ASSERT_FALSE(guard_is_access_key(cfg_keys, "x-api-key", "sk-provider"));
    CU_ASSERT_FALSE(guard_is_access_key(cfg_keys, "authorization", "key-one"));
    CU_ASSERT_FALSE(guard_is_access_key(cfg_keys, "x-other", "key-one"));
    CU_ASSERT_FALSE(guard_is_access_key(cfg_keys, NULL, "key-one"));
    CU_ASSERT_FALSE(guard_is_access_key(cfg_keys, "x-api-key", NULL));
    /* Without keys configured nothing is a zend key. */
    CU_ASSERT_FALSE(guard_is_access_key(cfg_plain, "x-api-key", "key-one"));
}

static int suite_init(void)
{
    if (zsec_init() != ZEN_OK)
        return 1;
    cfg_plain = load("{" PROVIDERS "}");
    cfg_keys = load("{" PROVIDERS ", \"daemon\": {\"access_keys\": [\"key-one\", \"key-two\"],"
                    " \"allowed_hosts\": [\"localhost\", \"zen.local\"],"
                    " \"allowed_origins\": [\"https://app.example\"]}}");
    return !cfg_plain || !cfg_keys;
}

static int suite_clean(void)
{
    zcfg_unref(cfg_plain);
    cfg_plain = NULL;
    zcfg_unref(cfg_keys);
    cfg_keys = NULL;
    return 0;
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("guard", suite_init, suite_clean);
    TU_ADD(s, test_host_loopback_names_any_port);
    TU_ADD(s, test_host_foreign_name_refused);
    TU_ADD(s, test_host_malformed_refused);
    TU_ADD(s, test_host_missing_or_repeated);
    TU_ADD(s, test_origin);
    TU_ADD(s, test_sec_fetch_site);
    TU_ADD(s, test_no_keys_configured_allows_any_credential);
    TU_ADD(s, test_access_keys);
    TU_ADD(s, test_is_access_key);
}
