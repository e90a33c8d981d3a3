/* Unit tests for zend/forward/route.c: the /<profile>/<session>/<rest> grammar, the
 * /v1 extension, refusals and their messages, the raw query kept verbatim,
 * and the upstream URL join. A randomised test checks that every accepted
 * target splits back into exactly what it was made of. */
#include "route.h"

#include <CUnit/CUnit.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "secret.h"
#include "testutil.h"

#define ROUTE_TEST_SEED 0x70a7e5eedULL
#define RANDOM_TARGETS 20000
#define RANDOM_TARGET_MAX 24
#define URL_MAX 2048

static char err[ZEN_ERRLEN];

/* Profiles "work", "default", "a", "ab"; default_profile resolves to "default". */
static const char cfg_with_default[] =
    "{\"providers\": {\"p\": {\"base_url\": \"https://p.example\"}},"
    " \"profiles\": {\"work\": [\"p\"], \"default\": [\"p\"], \"a\": [\"p\"], \"ab\": [\"p\"],"
    "               \"v1x\": [\"p\"]}}";
/* default_profile names "work" explicitly. */
static const char cfg_named_default[] =
    "{\"default_profile\": \"work\", \"providers\": {\"p\": {\"base_url\": \"https://p\"}},"
    " \"profiles\": {\"work\": [\"p\"], \"default\": [\"p\"]}}";
/* No default profile at all. */
static const char cfg_no_default[] =
    "{\"providers\": {\"p\": {\"base_url\": \"https://p\"}}, \"profiles\": {\"work\": [\"p\"]}}";

static struct zcfg *load(const char *json)
{
    char lerr[ZEN_ERRLEN];
    struct zcfg *cfg = zcfg_load_buffer("zen.json", json, strlen(json), lerr, sizeof(lerr));
    if (!cfg)
        fprintf(stderr, "\n  config did not load: %s\n", lerr);
    return cfg;
}

static int parse(const struct zcfg *cfg, const char *target, struct route *r)
{
    err[0] = '\0';
    memset(r, 0xAB, sizeof(*r)); /* no field may be left over from before */
    return route_parse(cfg, target, r, err, sizeof(err));
}

/* Accepted: profile, session key and upstream path as expected. */
static void expect_route(const struct zcfg *cfg, const char *target, const char *profile,
                         const char *session_key, const char *upstream_path)
{
    struct route r;
    int rc = parse(cfg, target, &r);
    if (rc != ROUTE_OK)
        fprintf(stderr, "\n  %s refused: %s\n", target, err);
    CU_ASSERT_EQUAL_FATAL(rc, ROUTE_OK);
    CU_ASSERT_STRING_EQUAL(err, "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.profile);
    CU_ASSERT_STRING_EQUAL(r.profile->name, profile);
    CU_ASSERT_PTR_EQUAL(r.profile, zcfg_find_profile(cfg, profile));
    CU_ASSERT_STRING_EQUAL(r.session_key, session_key);
    CU_ASSERT_STRING_EQUAL(r.upstream_path, upstream_path);
}

static void expect_refused(const struct zcfg *cfg, const char *target, int status,
                           const char *want_err)
{
    struct route r;
    CU_ASSERT_EQUAL(parse(cfg, target, &r), status);
    if (!strstr(err, want_err))
        fprintf(stderr, "\n  expected \"%s\" in: %s\n", want_err, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want_err));
}

static void test_session_form(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    expect_route(cfg, "/work/s1/v1/messages?beta=true", "work", "work:s1",
                 "/v1/messages?beta=true");
    expect_route(cfg, "/work/s1/v1/messages", "work", "work:s1", "/v1/messages");
    expect_route(cfg, "/a/-/x", "a", "a:-", "/x");
    expect_route(cfg, "/ab/a/b/c/d", "ab", "ab:a", "/b/c/d");
    expect_route(cfg, "/default/s/v1/messages", "default", "default:s", "/v1/messages");
    /* Only a first segment of exactly "v1" is the extension. */
    expect_route(cfg, "/v1x/s/v1/m", "v1x", "v1x:s", "/v1/m");
    /* Session names are the launcher's business: anything but '/' and '?'. */
    expect_route(cfg, "/work/sess%20ion:1@x/v1", "work", "work:sess%20ion:1@x", "/v1");
    /* Extra slashes after the session go upstream as sent. */
    expect_route(cfg, "/work/s//v1//messages", "work", "work:s", "//v1//messages");

    /* upstream_path points into the target, so the struct may be copied. */
    const char *target = "/work/s1/v1/messages?beta=true";
    struct route r;
    CU_ASSERT_EQUAL_FATAL(parse(cfg, target, &r), ROUTE_OK);
    CU_ASSERT_PTR_EQUAL(r.upstream_path, target + strlen("/work/s1"));
    zcfg_unref(cfg);
}

static void test_bare_profile_session(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    expect_route(cfg, "/work/s1", "work", "work:s1", "/");
    expect_route(cfg, "/work/s1/", "work", "work:s1", "/");
    /* A query right after the session: the '/' comes from the URL join. */
    expect_route(cfg, "/work/s1?x=1", "work", "work:s1", "?x=1");
    expect_route(cfg, "/work/s1/?x=1", "work", "work:s1", "/?x=1");
    char url[URL_MAX];
    struct route r;
    CU_ASSERT_EQUAL_FATAL(parse(cfg, "/work/s1?x=1", &r), ROUTE_OK);
    CU_ASSERT_EQUAL(route_upstream_url("https://h", r.upstream_path, url, sizeof(url)), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(url, "https://h/?x=1");
    CU_ASSERT_EQUAL(route_upstream_url("https://h/api", r.upstream_path, url, sizeof(url)),
                    ZEN_OK);
    CU_ASSERT_STRING_EQUAL(url, "https://h/api/?x=1");
    CU_ASSERT_EQUAL_FATAL(parse(cfg, "/work/s1", &r), ROUTE_OK);
    CU_ASSERT_EQUAL(route_upstream_url("https://h/api", r.upstream_path, url, sizeof(url)),
                    ZEN_OK);
    CU_ASSERT_STRING_EQUAL(url, "https://h/api/");
    zcfg_unref(cfg);
}

/* The query is never parsed: '?' ends the session segment, and everything
 * from the first '?' on goes upstream byte for byte, %2F and '?' included. */
static void test_query_verbatim(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    expect_route(cfg, "/work/s1/v1/models/a%2Fb?x=a%2Fb&y=?z/w&&q=%zz#f", "work", "work:s1",
                 "/v1/models/a%2Fb?x=a%2Fb&y=?z/w&&q=%zz#f");
    expect_route(cfg, "/work/s1?next=/a/b/c?d", "work", "work:s1", "?next=/a/b/c?d");
    expect_route(cfg, "/v1/messages?beta=true&p=%2F%3F", "default", "default:-",
                 "/v1/messages?beta=true&p=%2F%3F");
    expect_route(cfg, "/work/s%3F1/x", "work", "work:s%3F1", "/x");
    zcfg_unref(cfg);
}

static void test_v1_goes_to_default_profile(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    expect_route(cfg, "/v1/messages", "default", "default:-", "/v1/messages");
    expect_route(cfg, "/v1/messages/count_tokens?beta=true", "default", "default:-",
                 "/v1/messages/count_tokens?beta=true");
    expect_route(cfg, "/v1", "default", "default:-", "/v1");
    expect_route(cfg, "/v1/", "default", "default:-", "/v1/");
    expect_route(cfg, "/v1?x=1", "default", "default:-", "/v1?x=1");
    const char *target = "/v1/models";
    struct route r;
    CU_ASSERT_EQUAL_FATAL(parse(cfg, target, &r), ROUTE_OK);
    CU_ASSERT_PTR_EQUAL(r.upstream_path, target);
    zcfg_unref(cfg);

    cfg = load(cfg_named_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    expect_route(cfg, "/v1/messages", "work", "work:-", "/v1/messages");
    zcfg_unref(cfg);

    cfg = load(cfg_no_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NULL(cfg->default_profile);
    expect_refused(cfg, "/v1/messages", ROUTE_PROFILE_NOT_FOUND, "no default profile");
    expect_refused(cfg, "/v1", ROUTE_PROFILE_NOT_FOUND, "default_profile");
    /* The session form still works without a default. */
    expect_route(cfg, "/work/s/v1/messages", "work", "work:s", "/v1/messages");
    zcfg_unref(cfg);
}

static void test_invalid_paths(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct route r;
    CU_ASSERT_EQUAL(parse(cfg, "/onlyone", &r), ROUTE_INVALID_PATH);
    CU_ASSERT_STRING_EQUAL(err, "expected /<profile>/<session>/<path>, got \"/onlyone\"");

    static const char *const invalid[] = {
        "/work",        /* one segment */
        "/work/",       /* empty session */
        "/work//x",     /* empty session */
        "/work/?x=1",   /* empty session */
        "/work?x=/s/y", /* the query starts in the profile segment */
        "//s/x",        /* empty profile */
        "//",           /* empty both */
        "/",
        "/?x",
        "",
        "*",
        "work/s/x",                     /* no leading '/' */
        "http://127.0.0.1/work/s/x",    /* absolute-form */
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(invalid); i++) {
        CU_ASSERT_EQUAL(parse(cfg, invalid[i], &r), ROUTE_INVALID_PATH);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "expected /<profile>/<session>/<path>"));
    }
    CU_ASSERT_EQUAL(parse(cfg, NULL, &r), ROUTE_INVALID_PATH);
    CU_ASSERT_EQUAL(route_parse(NULL, "/work/s/x", &r, err, sizeof(err)), ROUTE_INVALID_PATH);
    zcfg_unref(cfg);
}

/* Dot segments would let a client climb out of base_url's path prefix
 * ("/p/s/../../admin" -> https://h/admin with the provider's token). */
static void test_dot_segments_refused(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    static const char *const refused[] = {
        "/work/s/../../admin", "/work/s/..", "/work/s/.", "/work/s/./x", "/work/s/v1/../x",
        "/work/s/%2e%2e/x", "/work/s/%2E%2E/x", "/work/s/.%2e/x", "/work/s/%2e./x",
        "/work/s/%2e/x", "/work/s/x/..?q=1", "/work/s/x/..%2fadmin", "/work/s/x%2F..%2Fy",
        "/work/s/x%5c..", "/work/s/x\\..\\y", "/v1/../admin", "/v1/%2e%2e", "/work/s/..#f",
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(refused); i++) {
        struct route r;
        int rc = parse(cfg, refused[i], &r);
        if (rc != ROUTE_INVALID_PATH)
            fprintf(stderr, "\n  %s was accepted\n", refused[i]);
        CU_ASSERT_EQUAL(rc, ROUTE_INVALID_PATH);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "path segments"));
    }
    /* Dots that are not whole segments, dots in the query, and %2F alone. */
    expect_route(cfg, "/work/s/v1/a..b/.x/x./...", "work", "work:s", "/v1/a..b/.x/x./...");
    expect_route(cfg, "/work/s/v1/m?x=../..&y=%2e%2e", "work", "work:s",
                 "/v1/m?x=../..&y=%2e%2e");
    expect_route(cfg, "/work/s/model/arn%3Aaws%2Fprofile/invoke", "work", "work:s",
                 "/model/arn%3Aaws%2Fprofile/invoke");
    expect_route(cfg, "/work/s/%2e%2e%2e", "work", "work:s", "/%2e%2e%2e");
    /* The session segment is zend's own and never sent upstream. */
    expect_route(cfg, "/work/../v1/m", "work", "work:..", "/v1/m");
    zcfg_unref(cfg);
}

static void test_unknown_profile(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct route r;
    CU_ASSERT_EQUAL(parse(cfg, "/nope/s/v1/messages", &r), ROUTE_PROFILE_NOT_FOUND);
    CU_ASSERT_STRING_EQUAL(err, "profile \"nope\" not found");
    /* Segments are compared as written: no percent-decoding, no case folding. */
    expect_refused(cfg, "/wor%6B/s/x", ROUTE_PROFILE_NOT_FOUND, "profile \"wor%6B\" not found");
    expect_refused(cfg, "/Work/s/x", ROUTE_PROFILE_NOT_FOUND, "\"Work\"");
    expect_refused(cfg, "/wor/s/x", ROUTE_PROFILE_NOT_FOUND, "\"wor\""); /* no prefix match */
    expect_refused(cfg, "/workx/s/x", ROUTE_PROFILE_NOT_FOUND, "\"workx\"");
    expect_refused(cfg, "/v2/s/x", ROUTE_PROFILE_NOT_FOUND, "\"v2\"");
    zcfg_unref(cfg);
}

/* What a client sent is echoed bounded and without control bytes or quotes. */
static void test_error_messages_are_safe(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct route r;
    char target[4096];
    target[0] = '/';
    memset(target + 1, 'q', sizeof(target) - 2);
    target[sizeof(target) - 1] = '\0';
    CU_ASSERT_EQUAL(parse(cfg, target, &r), ROUTE_INVALID_PATH);
    CU_ASSERT(strlen(err) < 300);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "...\""));

    target[0] = '/';
    memset(target + 1, 'q', sizeof(target) - 2);
    target[2000] = '/';
    CU_ASSERT_EQUAL(parse(cfg, target, &r), ROUTE_PROFILE_NOT_FOUND);
    CU_ASSERT(strlen(err) < 300);

    CU_ASSERT_EQUAL(parse(cfg, "/x\"y\\z\x01\x7f", &r), ROUTE_INVALID_PATH);
    CU_ASSERT_STRING_EQUAL(err, "expected /<profile>/<session>/<path>, got \"/x?y?z??\"");

    /* err may be absent or tiny. */
    CU_ASSERT_EQUAL(route_parse(cfg, "/x", &r, NULL, 0), ROUTE_INVALID_PATH);
    char tiny[4] = "abc";
    CU_ASSERT_EQUAL(route_parse(cfg, "/nope/s", &r, tiny, sizeof(tiny)), ROUTE_PROFILE_NOT_FOUND);
    CU_ASSERT_STRING_EQUAL(tiny, "pro");
    CU_ASSERT_EQUAL(route_parse(cfg, "/work/s", &r, tiny, 0), ROUTE_OK);
    zcfg_unref(cfg);
}

static void test_session_key_limit(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    char target[ROUTE_SESSION_KEY_MAX * 2];
    struct route r;
    /* "work:" + session + NUL fills the key exactly. */
    size_t fit = ROUTE_SESSION_KEY_MAX - strlen("work:") - 1;
    int n = snprintf(target, sizeof(target), "/work/");
    memset(target + n, 's', fit);
    strcpy(target + n + fit, "/v1/messages");
    CU_ASSERT_EQUAL(parse(cfg, target, &r), ROUTE_OK);
    CU_ASSERT_EQUAL(strlen(r.session_key), ROUTE_SESSION_KEY_MAX - 1);
    CU_ASSERT_STRING_EQUAL(r.upstream_path, "/v1/messages");
    memset(target + n, 's', fit + 1);
    strcpy(target + n + fit + 1, "/v1/messages");
    CU_ASSERT_EQUAL(parse(cfg, target, &r), ROUTE_INVALID_PATH);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "too long"));
    zcfg_unref(cfg);
}

static void expect_url(const char *base, const char *path, const char *want)
{
    char url[URL_MAX];
    int rc = route_upstream_url(base, path, url, sizeof(url));
    CU_ASSERT_EQUAL(rc, ZEN_OK);
    if (rc != ZEN_OK || strcmp(url, want) != 0)
        fprintf(stderr, "\n  %s + %s: expected %s, got %s\n", base, path, want, url);
    CU_ASSERT_STRING_EQUAL(url, want);
}

static void test_upstream_url_join(void)
{
    expect_url("https://h", "/v1/messages", "https://h/v1/messages");
    expect_url("https://h/", "/v1/messages", "https://h/v1/messages");
    expect_url("https://h//", "/v1/messages", "https://h/v1/messages");
    expect_url("https://h", "v1/messages", "https://h/v1/messages");
    expect_url("https://h:8443", "/v1/messages", "https://h:8443/v1/messages");
    expect_url("https://h/api/anthropic", "/v1/messages", "https://h/api/anthropic/v1/messages");
    expect_url("https://h/api/anthropic/", "/v1/messages", "https://h/api/anthropic/v1/messages");
    expect_url("https://h", "/", "https://h/");
    expect_url("https://h", "", "https://h/");
    expect_url("https://h/api", "/", "https://h/api/");
    expect_url("https://h", "?x=1", "https://h/?x=1");
    expect_url("https://h/api", "/?x=1", "https://h/api/?x=1");
    /* Nothing is decoded or re-encoded. */
    expect_url("https://h", "/v1/m/a%2Fb?x=%2F&y=?z/w", "https://h/v1/m/a%2Fb?x=%2F&y=?z/w");
}

static void test_upstream_url_v1_dedup(void)
{
    expect_url("https://h/v1", "/v1/messages", "https://h/v1/messages");
    expect_url("https://h/v1/", "/v1/messages", "https://h/v1/messages");
    expect_url("https://relay.example/v1", "/v1/chat/completions?x=1",
               "https://relay.example/v1/chat/completions?x=1");
    expect_url("https://h/api/v1", "/v1/messages", "https://h/api/v1/messages");
    expect_url("https://h/v1", "/v1", "https://h/v1");
    expect_url("https://h/v1", "/v1/", "https://h/v1/");
    expect_url("https://h/v1", "/v1?beta=true", "https://h/v1?beta=true");
    expect_url("https://h/v1", "/chat/completions", "https://h/v1/chat/completions");
    /* Only a whole /v1 segment on both sides. */
    expect_url("https://h/v1", "/v1beta/models", "https://h/v1/v1beta/models");
    expect_url("https://h/xv1", "/v1/messages", "https://h/xv1/v1/messages");
    expect_url("https://h/v1x", "/v1/messages", "https://h/v1x/v1/messages");
    expect_url("https://h/v2", "/v1/messages", "https://h/v2/v1/messages");
    /* A host named v1 is not a path. */
    expect_url("https://v1", "/v1/messages", "https://v1/v1/messages");
    expect_url("http://user@v1:80", "/v1/messages", "http://user@v1:80/v1/messages");
}

/* A base_url with a query (Azure's ?api-version=): the path goes before it,
 * the client's query is merged after it. */
static void test_upstream_url_base_query(void)
{
    expect_url("http://h/x?api-version=2024", "/v1/messages?beta=true",
               "http://h/x/v1/messages?api-version=2024&beta=true");
    expect_url("http://h/x?api-version=2024", "/v1/messages",
               "http://h/x/v1/messages?api-version=2024");
    expect_url("http://h/x/?api-version=2024", "/v1/messages",
               "http://h/x/v1/messages?api-version=2024");
    expect_url("http://h?a=1", "/v1/m?b=2", "http://h/v1/m?a=1&b=2");
    expect_url("http://h/v1?a=1", "/v1/m?b=2", "http://h/v1/m?a=1&b=2");
    expect_url("http://h/x?a=1", "/v1/m?", "http://h/x/v1/m?a=1");
    expect_url("http://h/x?", "/v1/m?b=2", "http://h/x/v1/m?b=2");
    expect_url("http://h/x?a=1", "?b=2", "http://h/x/?a=1&b=2");
    char url[32];
    const char *want = "http://h/x/m?a=1&b=2";
    CU_ASSERT_EQUAL(route_upstream_url("http://h/x?a=1", "/m?b=2", url, strlen(want) + 1), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(url, want);
    CU_ASSERT_EQUAL(route_upstream_url("http://h/x?a=1", "/m?b=2", url, strlen(want)), ZEN_ERR);
}

static void test_upstream_url_limits(void)
{
    const char *want = "https://h/v1/messages";
    size_t need = strlen(want) + 1;
    char url[64];
    CU_ASSERT_EQUAL(route_upstream_url("https://h", "/v1/messages", url, need), ZEN_OK);
    CU_ASSERT_STRING_EQUAL(url, want);
    strcpy(url, "junk");
    CU_ASSERT_EQUAL(route_upstream_url("https://h", "/v1/messages", url, need - 1), ZEN_ERR);
    CU_ASSERT_STRING_EQUAL(url, "");
    CU_ASSERT_EQUAL(route_upstream_url("https://h", "/v1/messages", url, 1), ZEN_ERR);
    CU_ASSERT_STRING_EQUAL(url, "");
    /* The base alone does not fit. */
    CU_ASSERT_EQUAL(route_upstream_url("https://a-much-longer-host.example", "/", url, 8),
                    ZEN_ERR);
    CU_ASSERT_EQUAL(route_upstream_url("https://h", "/v1/messages", url, 0), ZEN_ERR);
    CU_ASSERT_EQUAL(route_upstream_url(NULL, "/x", url, sizeof(url)), ZEN_ERR);
    CU_ASSERT_EQUAL(route_upstream_url("https://h", NULL, url, sizeof(url)), ZEN_ERR);
    CU_ASSERT_EQUAL(route_upstream_url("https://h", "/x", NULL, sizeof(url)), ZEN_ERR);
    /* Exactly full with the /v1 de-duplication. */
    CU_ASSERT_EQUAL(route_upstream_url("https://h/v1", "/v1/m", url, strlen("https://h/v1/m") + 1),
                    ZEN_OK);
    CU_ASSERT_STRING_EQUAL(url, "https://h/v1/m");
    CU_ASSERT_EQUAL(route_upstream_url("https://h/v1", "/v1/m", url, strlen("https://h/v1/m")),
                    ZEN_ERR);
}

/* ---- randomised: accepted targets reassemble exactly ---- */

static void check_invariants(const struct zcfg *cfg, const char *target, int rc,
                             const struct route *r)
{
    size_t tlen = strlen(target);
    if (rc != ROUTE_OK) {
        CU_ASSERT(rc == ROUTE_INVALID_PATH || rc == ROUTE_PROFILE_NOT_FOUND);
        CU_ASSERT(err[0] != '\0');
        return;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->profile);
    int in_target = r->upstream_path >= target && r->upstream_path <= target + tlen;
    CU_ASSERT(in_target || strcmp(r->upstream_path, "/") == 0);
    if (strncmp(target, "/v1", 3) == 0 && strchr("/?", target[3])) {
        CU_ASSERT_PTR_EQUAL(r->upstream_path, target);
        CU_ASSERT_STRING_EQUAL(r->profile->name, cfg->default_profile);
        return;
    }
    /* "/" + profile + "/" + session + rest == target, where rest is the
     * upstream path unless that is the synthesised "/". */
    char rebuilt[RANDOM_TARGET_MAX * 2];
    const char *colon = strchr(r->session_key, ':');
    CU_ASSERT_PTR_NOT_NULL_FATAL(colon);
    const char *session = colon + 1;
    CU_ASSERT(strlen(session) > 0);
    CU_ASSERT_PTR_NULL(strpbrk(session, "/?"));
    CU_ASSERT_EQUAL((size_t)(colon - r->session_key), strlen(r->profile->name));
    snprintf(rebuilt, sizeof(rebuilt), "/%s/%s%s", r->profile->name, session,
             in_target ? r->upstream_path : "");
    if (strcmp(rebuilt, target) != 0) {
        /* Only "/p/s/" may lose its trailing '/', into the synthesised "/". */
        CU_ASSERT(!in_target && tlen > 0 && target[tlen - 1] == '/');
        CU_ASSERT_EQUAL(strlen(rebuilt) + 1, tlen);
    }
}

static void test_random_targets(void)
{
    struct zcfg *cfg = load(cfg_with_default);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    /* Tokens, so that profiles, sessions and /v1 come up often. */
    static const char *const tokens[] = {"/", "/", "/", "?", "a", "ab", "b", "v1", "-", "%2F", "x"};
    char target[RANDOM_TARGET_MAX + 1];
    unsigned ok = 0;
    for (int round = 0; round < RANDOM_TARGETS; round++) {
        static const char *const starts[] = {"/", "/a/", "/ab/", "/v1", "/nope/"};
        const char *start = starts[tu_rng_next() % ZEN_ARRAY_LEN(starts)];
        size_t n = strlen(start), want = (size_t)(tu_rng_next() % RANDOM_TARGET_MAX);
        memcpy(target, start, n);
        while (n < want) {
            const char *tok = tokens[tu_rng_next() % ZEN_ARRAY_LEN(tokens)];
            size_t l = strlen(tok);
            if (n + l > RANDOM_TARGET_MAX)
                break;
            memcpy(target + n, tok, l);
            n += l;
        }
        target[n] = '\0';
        struct route r;
        int rc = parse(cfg, target, &r);
        ok += rc == ROUTE_OK;
        check_invariants(cfg, target, rc, &r);
    }
    CU_ASSERT(ok > RANDOM_TARGETS / 20); /* the generator reaches both outcomes */
    CU_ASSERT(ok < RANDOM_TARGETS - RANDOM_TARGETS / 20);
    zcfg_unref(cfg);
}

static int suite_init(void)
{
    return zsec_init();
}

void register_tests(void)
{
    tu_rng_seed(ROUTE_TEST_SEED);
    CU_pSuite s = CU_add_suite("route", suite_init, NULL);
    TU_ADD(s, test_session_form);
    TU_ADD(s, test_bare_profile_session);
    TU_ADD(s, test_query_verbatim);
    TU_ADD(s, test_v1_goes_to_default_profile);
    TU_ADD(s, test_invalid_paths);
    TU_ADD(s, test_dot_segments_refused);
    TU_ADD(s, test_unknown_profile);
    TU_ADD(s, test_error_messages_are_safe);
    TU_ADD(s, test_session_key_limit);
    TU_ADD(s, test_upstream_url_join);
    TU_ADD(s, test_upstream_url_v1_dedup);
    TU_ADD(s, test_upstream_url_base_query);
    TU_ADD(s, test_upstream_url_limits);
    TU_ADD(s, test_random_targets);
}
