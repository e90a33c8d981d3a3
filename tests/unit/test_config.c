/* Unit tests for the zen.json loader (lib/config.c, config_read.c,
 * config_daemon.c): GoZen configs that must load, and each kind of error
 * with the location it must name. White-box: includes config.c to reach the
 * secret-wiping helpers; the other two parts come from zenlib. */
#include "../../lib/config.c"

#include <CUnit/CUnit.h>
#include <stdlib.h>

#include "testutil.h"

static char err[ZEN_ERRLEN];

static struct zcfg *load_str(const char *json)
{
    err[0] = '\0';
    return zcfg_load_buffer("zen.json", json, strlen(json), err, sizeof(err));
}

/* The load must fail and the message must contain `want`. */
static void expect_error(const char *json, const char *want)
{
    struct zcfg *cfg = load_str(json);
    CU_ASSERT_PTR_NULL(cfg);
    if (!strstr(err, want))
        fprintf(stderr, "\n  expected \"%s\" in: %s\n", want, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    zcfg_unref(cfg);
}

static int has_note(const struct zcfg *cfg, const char *event)
{
    size_t i;
    json_t *n;
    json_array_foreach(cfg->notes, i, n)
        if (strcmp(json_string_value(json_object_get(n, "event")), event) == 0)
            return 1;
    return 0;
}

static const char gozen_config[] =
    "{\n"
    "  \"version\": 15,\n"
    "  \"proxy_port\": 19999,\n"
    "  \"default_profile\": \"work\",\n"
    "  \"web_port\": 19840,\n"
    "  \"bot\": {\"enabled\": false},\n"
    "  \"providers\": {\n"
    "    \"anthropic\": {\n"
    "      \"type\": \"anthropic\",\n"
    "      \"base_url\": \"https://api.anthropic.com/\",\n"
    "      \"auth_token\": \"sk-ant-literal\",\n"
    "      \"auth_header\": \"x-api-key\",\n"
    "      \"model\": \"\", \"sonnet_model\": \"claude-sonnet-4-5\", \"opus_model\": \"\",\n"
    "      \"env_vars\": {\"CLAUDE_CODE_MAX_OUTPUT_TOKENS\": \"64000\", \"N\": 3},\n"
    "      \"icon\": \"whatever GoZen keeps here\"\n"
    "    },\n"
    "    \"relay\": {\"type\": \"openai\", \"base_url\": \"http://relay.example/v1\",\n"
    "               \"proxy_url\": \"socks5://127.0.0.1:1080\"}\n"
    "  },\n"
    "  \"profiles\": {\n"
    "    \"work\": {\"providers\": [\"anthropic\", \"relay\"], \"strategy\": \"failover\",\n"
    "             \"routing\": {\"think\": {\"providers\": [\"relay\"]}}},\n"
    "    \"cheap\": [\"relay\"]\n"
    "  },\n"
    "  \"disabled_providers\": {\"relay\": {\"type\": \"today\",\n"
    "      \"created_at\": \"2026-11-28T00:00:00Z\", \"expires_at\": \"2026-11-28T23:59:59Z\"}},\n"
    "  \"health_check\": {\"enabled\": true, \"interval_secs\": 30, \"timeout_secs\": 5}\n"
    "}\n";

static void test_gozen_config_loads(void)
{
    struct zcfg *cfg = load_str(gozen_config);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->proxy_port, 19999);
    CU_ASSERT_EQUAL(cfg->daemon.listen_port, 19999);
    CU_ASSERT_STRING_EQUAL(cfg->daemon.listen_host, "127.0.0.1");
    CU_ASSERT_STRING_EQUAL(cfg->default_profile, "work");
    CU_ASSERT_EQUAL_FATAL(cfg->n_providers, 2);
    const struct zcfg_provider *a = zcfg_find_provider(cfg, "anthropic");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_STRING_EQUAL(a->base_url, "https://api.anthropic.com"); /* trailing / dropped */
    CU_ASSERT_STRING_EQUAL(a->auth_token, "sk-ant-literal");
    CU_ASSERT_EQUAL(strlen(a->token_fingerprint), 16);
    CU_ASSERT_EQUAL(a->auth_header, ZCFG_AUTH_X_API_KEY);
    CU_ASSERT_PTR_NULL(a->model); /* "" means unset: no implicit defaults */
    CU_ASSERT_PTR_NULL(a->opus_model);
    CU_ASSERT_STRING_EQUAL(a->sonnet_model, "claude-sonnet-4-5");
    CU_ASSERT_EQUAL_FATAL(a->n_env_headers, 2);
    CU_ASSERT_STRING_EQUAL(a->env_headers[0].name, "x-env-claude-code-max-output-tokens");
    CU_ASSERT_STRING_EQUAL(a->env_headers[0].value, "64000");
    CU_ASSERT_STRING_EQUAL(a->env_headers[1].value, "3");
    const struct zcfg_provider *r = zcfg_find_provider(cfg, "relay");
    CU_ASSERT_EQUAL(r->type, ZCFG_TYPE_OPENAI);
    CU_ASSERT_PTR_NULL(r->auth_token); /* passthrough auth */
    CU_ASSERT_STRING_EQUAL(r->proxy_url, "socks5://127.0.0.1:1080");

    /* Both profile forms, order kept. */
    const struct zcfg_profile *w = zcfg_find_profile(cfg, "work");
    CU_ASSERT_EQUAL_FATAL(w->n_providers, 2);
    CU_ASSERT_STRING_EQUAL(cfg->providers[w->providers[0]].name, "anthropic");
    CU_ASSERT_STRING_EQUAL(cfg->providers[w->providers[1]].name, "relay");
    const struct zcfg_profile *c = zcfg_find_profile(cfg, "cheap");
    CU_ASSERT_EQUAL_FATAL(c->n_providers, 1);
    CU_ASSERT_STRING_EQUAL(c->strategy, "failover");

    CU_ASSERT_EQUAL_FATAL(cfg->n_disabled, 1);
    CU_ASSERT_EQUAL(cfg->disabled[0].expires_at, 1795910399); /* 2026-11-28T23:59:59Z */
    CU_ASSERT_TRUE(cfg->health_check.enabled);
    CU_ASSERT_EQUAL(cfg->health_check.interval_secs, 30);

    /* Defaults of the daemon section. */
    CU_ASSERT_EQUAL(cfg->daemon.max_concurrent, 100);
    CU_ASSERT_EQUAL(cfg->daemon.first_byte_timeout_ms, 120000);
    CU_ASSERT_EQUAL(cfg->daemon.commit_timeout_ms, 10000);
    CU_ASSERT_EQUAL(cfg->daemon.log_ring, 2000);
    CU_ASSERT_STRING_EQUAL(cfg->daemon.log_file, "zend.log");
    CU_ASSERT_EQUAL(cfg->daemon.n_allowed_hosts, 3);

    CU_ASSERT_TRUE(has_note(cfg, "config_ignored_keys"));
    CU_ASSERT_EQUAL(strlen(cfg->hash), 16);
    zcfg_unref(cfg);
}

static void test_daemon_section(void)
{
    struct zcfg *cfg = load_str(
        "{\"providers\": {\"p\": {\"base_url\": \"http://127.0.0.1:1\"}},\n"
        " \"profiles\": {\"default\": [\"p\"]},\n"
        " \"daemon\": {\"listen\": \"[::1]:0\", \"max_concurrent\": 2, \"log_level\": \"debug\",\n"
        "   \"health_max_fd_ratio\": 0.5, \"allowed_hosts\": [\"zen.local\"],\n"
        "   \"access_keys\": [\"secret-key\", \"blake2b:"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->daemon.listen_host, "::1");
    CU_ASSERT_EQUAL(cfg->daemon.listen_port, 0);
    CU_ASSERT_EQUAL(cfg->daemon.max_concurrent, 2);
    CU_ASSERT_EQUAL(cfg->daemon.log_level, ZLOG_DEBUG);
    CU_ASSERT_DOUBLE_EQUAL(cfg->daemon.health_max_fd_ratio, 0.5, 1e-9);
    CU_ASSERT_EQUAL(cfg->daemon.n_allowed_hosts, 1);
    CU_ASSERT_STRING_EQUAL(cfg->default_profile, "default"); /* implied by name */
    CU_ASSERT_EQUAL_FATAL(cfg->daemon.n_access_keys, 2);
    uint8_t want[ZSEC_KEY_HASH_BYTES];
    zsec_hash_key("secret-key", want);
    CU_ASSERT_EQUAL(memcmp(cfg->daemon.access_key_hashes[0], want, sizeof(want)), 0);
    CU_ASSERT_EQUAL(cfg->daemon.access_key_hashes[1][0], 0x00);
    CU_ASSERT_EQUAL(cfg->daemon.access_key_hashes[1][31], 0xff);
    char listen[ZCFG_HOST_MAX + 16];
    zcfg_format_listen(cfg->daemon.listen_host, 19841, listen, sizeof(listen));
    CU_ASSERT_STRING_EQUAL(listen, "[::1]:19841");
    zcfg_unref(cfg);
}

#define REMOTE_CFG(daemon) \
    "{\"providers\": {\"p\": {\"base_url\": \"http://127.0.0.1:1\"}}," \
    " \"profiles\": {\"default\": [\"p\"]}, \"daemon\": " daemon "}"

/* Listening beyond loopback: refused without access_keys (the message says
 * how to fix it), allowed with keys or the explicit opt-out, noted always. */
static void test_remote_listen(void)
{
    static const char *const refused[] = {
        REMOTE_CFG("{\"listen\": \"0.0.0.0:19841\"}"),
        REMOTE_CFG("{\"listen\": \"[::]:19841\"}"),
        REMOTE_CFG("{\"listen\": \"192.168.1.5:19841\", \"access_keys\": []}"),
        REMOTE_CFG("{\"listen\": \"0.0.0.0:1\", \"allow_remote_without_keys\": false}"),
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(refused); i++) {
        expect_error(refused[i], "daemon.listen: ");
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "is not a loopback address"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "daemon.allow_remote_without_keys: true"));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "daemon.access_keys"));
    }
    expect_error(REMOTE_CFG("{\"listen\": \"0.0.0.0:1\", \"allow_remote_without_keys\": 1}"),
                 "daemon.allow_remote_without_keys: must be true or false");

    struct zcfg *cfg = load_str(REMOTE_CFG("{\"listen\": \"0.0.0.0:1\", \"access_keys\": [\"k\"]}"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_FALSE(zcfg_listen_is_loopback(&cfg->daemon));
    CU_ASSERT_TRUE(has_note(cfg, "listen_not_loopback"));
    zcfg_unref(cfg);
    cfg = load_str(REMOTE_CFG("{\"listen\": \"[::]:1\", \"allow_remote_without_keys\": true}"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_TRUE(cfg->daemon.allow_remote_without_keys);
    CU_ASSERT_TRUE(has_note(cfg, "listen_not_loopback"));
    zcfg_unref(cfg);

    static const char *const loopback[] = {
        REMOTE_CFG("{\"listen\": \"127.0.0.1:1\"}"), REMOTE_CFG("{\"listen\": \"127.8.9.10:1\"}"),
        REMOTE_CFG("{\"listen\": \"[::1]:1\"}"), REMOTE_CFG("{\"listen\": \"localhost:1\"}"),
        REMOTE_CFG("{\"listen\": \"[::ffff:127.0.0.1]:1\"}"), REMOTE_CFG("{}"),
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(loopback); i++) {
        cfg = load_str(loopback[i]);
        if (!cfg)
            fprintf(stderr, "\n  %s: %s\n", loopback[i], err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
        CU_ASSERT_TRUE(zcfg_listen_is_loopback(&cfg->daemon));
        CU_ASSERT_FALSE(has_note(cfg, "listen_not_loopback"));
        CU_ASSERT_FALSE(cfg->daemon.allow_remote_without_keys);
        zcfg_unref(cfg);
    }
}

static void test_env_tokens(void)
{
    setenv("ZEN_TEST_TOKEN", "sk-from-env", 1);
    unsetenv("ZEN_TEST_MISSING");
    struct zcfg *cfg = load_str(
        "{\"providers\": {\"a\": {\"base_url\": \"https://a.example\", \"auth_token\": "
        "\"env:ZEN_TEST_TOKEN\"}, \"b\": {\"base_url\": \"https://b.example\", "
        "\"auth_token\": \"env:ZEN_TEST_MISSING\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->providers[0].auth_token, "sk-from-env");
    CU_ASSERT_STRING_EQUAL(cfg->providers[0].token_env, "ZEN_TEST_TOKEN");
    /* An unset variable is not fatal: passthrough auth plus a warning. */
    CU_ASSERT_PTR_NULL(cfg->providers[1].auth_token);
    CU_ASSERT_TRUE(has_note(cfg, "provider_token_missing"));
    CU_ASSERT_FALSE(cfg->has_literal_secret);
    zcfg_unref(cfg);
}

static void test_starter_config(void)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/starter.json", tu_tmpdir);
    CU_ASSERT_EQUAL(zcfg_write_starter(path, err, sizeof(err)), ZEN_OK);
    struct stat st;
    CU_ASSERT_EQUAL(stat(path, &st), 0);
    CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
    /* Never overwrites. */
    CU_ASSERT_EQUAL(zcfg_write_starter(path, err, sizeof(err)), ZEN_ERR);
    struct zcfg *cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->providers[0].name, "anthropic");
    CU_ASSERT_STRING_EQUAL(cfg->providers[0].base_url, "https://api.anthropic.com");
    CU_ASSERT_STRING_EQUAL(cfg->default_profile, "default");
    CU_ASSERT_EQUAL(cfg->daemon.listen_port, ZCFG_DEFAULT_PORT);
    zcfg_unref(cfg);
}

static void test_syntax_errors_have_line_col(void)
{
    /* Missing comma: jansson reports where the next token starts. */
    expect_error("{\n  \"version\": 15\n  \"proxy_port\": 1\n}", "zen.json:3:14:");
    /* Trailing garbage and truncation. */
    expect_error("{\"version\": 15}}", "zen.json:1:16:");
    expect_error("{\n\"providers\": {", "zen.json:2:");
    /* Duplicate keys are an error, with their location. */
    expect_error("{\n  \"version\": 1,\n  \"version\": 2\n}", "zen.json:3:");
    expect_error("{\n  \"version\": 1,\n  \"version\": 2\n}", "duplicate");
    expect_error("[1, 2]", "zen.json: (top level): must be a JSON object");
}

static void test_validation_errors_have_json_path(void)
{
    const char *prov = "\"providers\": {\"p\": {\"base_url\": \"https://p.example\"}}";
    char buf[1024];
    snprintf(buf, sizeof(buf), "{%s, \"profiles\": {\"work\": \"p\"}}", prov);
    expect_error(buf, "profiles.work: must be an array of provider names or an object");
    snprintf(buf, sizeof(buf), "{%s, \"profiles\": {\"work\": {\"providers\": \"p\"}}}", prov);
    expect_error(buf, "profiles.work.providers: must be an array of provider names, not a string");
    snprintf(buf, sizeof(buf), "{%s, \"profiles\": {\"work\": [\"p\", 7]}}", prov);
    expect_error(buf, "profiles.work[1]: must be a provider name, not an integer");
    expect_error("{\"providers\": {\"relay\": {\"base_url\": \"ftp://x\"}}}",
                 "providers.relay.base_url: not an http(s) URL");
    expect_error("{\"providers\": {\"relay\": {}}}", "providers.relay.base_url: required");
    expect_error("{\"providers\": {\"r\": {\"base_url\": \"http://x\", \"type\": \"gemini\"}}}",
                 "providers.r.type: must be");
    expect_error("{\"providers\": {\"r\": {\"base_url\": \"http://x\", \"proxy_url\": \"x\"}}}",
                 "providers.r.proxy_url:");
    expect_error("{\"proxy_port\": \"19841\"}", "proxy_port: must be an integer, not a string");
    expect_error("{\"proxy_port\": 70000}", "proxy_port: must be between 0 and 65535");
    expect_error("{\"daemon\": {\"max_concurent\": 5}}", "daemon.max_concurent: unknown key");
    expect_error("{\"daemon\": {\"commit_timeout_ms\": 0}}",
                 "daemon.commit_timeout_ms: must be between 1 and 600000");
    expect_error("{\"daemon\": {\"queue_timeout_ms\": 1.5}}",
                 "daemon.queue_timeout_ms: must be an integer, not a number");
    expect_error("{\"daemon\": {\"listen\": \"localhost\"}}", "daemon.listen: expected");
    expect_error("{\"daemon\": {\"listen\": \"example.com:80\"}}", "not a numeric IP address");
    expect_error("{\"daemon\": {\"log_level\": \"loud\"}}", "daemon.log_level:");
    expect_error("{\"daemon\": {\"access_keys\": [\"blake2b:abc\"]}}", "daemon.access_keys[0]:");
    expect_error("{\"daemon\": {\"cooldown_initial_ms\": 10, \"cooldown_max_ms\": 5}}",
                 "daemon.cooldown_max_ms:");
    expect_error("{\"disabled_providers\": {\"x\": {\"expires_at\": \"tomorrow\"}}}",
                 "disabled_providers.x.expires_at: not an RFC 3339 time");
    expect_error("{\"health_check\": {\"enabled\": \"yes\"}}",
                 "health_check.enabled: must be true or false");
    snprintf(buf, sizeof(buf), "{%s, \"profiles\": {\"a/b\": [\"p\"]}}", prov);
    expect_error(buf, "profiles.a/b: a profile name must be non-empty");
}

/* The config_warning notes of cfg as "path: message" lines, in order. */
static char *warnings_of(const struct zcfg *cfg)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    size_t i;
    json_t *n;
    json_array_foreach(cfg->notes, i, n) {
        if (strcmp(json_string_value(json_object_get(n, "event")), "config_warning") != 0)
            continue;
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(n, "level")), "warn");
        const json_t *fields = json_object_get(n, "fields");
        fprintf(f, "%s: %s\n", json_string_value(json_object_get(fields, "path")),
                json_string_value(json_object_get(fields, "message")));
    }
    fclose(f);
    return text;
}

/* zend starts on every config GoZen starts on: a profile naming an unknown
 * provider, naming one twice, or naming none (GoZen's own end-to-end tests
 * write "default": {"providers": []}) loads with a config_warning naming the
 * JSON path, and the profile keeps only what it can use. */
static void test_profile_problems_are_warnings(void)
{
    static const char json[] =
        "{\"providers\": {\"p\": {\"base_url\": \"https://p.example\"},\n"
        "               \"q\": {\"base_url\": \"https://q.example\"}},\n"
        " \"default_profile\": \"gone\",\n"
        " \"profiles\": {\"default\": {\"providers\": []},\n"
        "              \"work\": [\"ghost\", \"p\", \"p\", \"q\"],\n"
        "              \"stale\": {\"providers\": [\"nope\"]},\n"
        "              \"bare\": {\"strategy\": \"failover\"},\n"
        "              \"nul\": {\"providers\": null}}}";
    struct zcfg *cfg = load_str(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->n_profiles, 5);
    CU_ASSERT_EQUAL(zcfg_find_profile(cfg, "default")->n_providers, 0);
    const struct zcfg_profile *w = zcfg_find_profile(cfg, "work");
    CU_ASSERT_EQUAL_FATAL(w->n_providers, 2);
    CU_ASSERT_STRING_EQUAL(cfg->providers[w->providers[0]].name, "p");
    CU_ASSERT_STRING_EQUAL(cfg->providers[w->providers[1]].name, "q");
    CU_ASSERT_EQUAL(zcfg_find_profile(cfg, "stale")->n_providers, 0);
    CU_ASSERT_EQUAL(zcfg_find_profile(cfg, "bare")->n_providers, 0);
    /* An unknown default_profile falls back on the profile named default. */
    CU_ASSERT_STRING_EQUAL(cfg->default_profile, "default");
    char *got = warnings_of(cfg);
    CU_ASSERT_STRING_EQUAL(
        got,
        "profiles.default.providers: names no provider: requests for profile \"default\" get "
        "503 profile_empty\n"
        "profiles.work[0]: unknown provider \"ghost\" (dropped from the profile)\n"
        "profiles.work[2]: provider \"p\" is listed twice (the repeat is dropped)\n"
        "profiles.stale.providers[0]: unknown provider \"nope\" (dropped from the profile)\n"
        "profiles.stale.providers: names no known provider: requests for profile \"stale\" "
        "get 503 profile_empty\n"
        "profiles.bare.providers: names no provider: requests for profile \"bare\" get 503 "
        "profile_empty\n"
        "profiles.nul.providers: names no provider: requests for profile \"nul\" get 503 "
        "profile_empty\n"
        "default_profile: unknown profile \"gone\" (ignored: profile \"default\" serves /v1)\n");
    free(got);
    zcfg_unref(cfg);

    /* Without a profile named default, /v1 is left without one. */
    cfg = load_str("{\"default_profile\": \"gone\", \"profiles\": {\"a\": []}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_PTR_NULL(cfg->default_profile);
    got = warnings_of(cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(got, "default_profile: unknown profile \"gone\" (ignored: "
                                       "/v1 has no default profile)\n"));
    free(got);
    zcfg_unref(cfg);

    /* A clean config has no warning at all. */
    cfg = load_str(gozen_config);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    got = warnings_of(cfg);
    CU_ASSERT_STRING_EQUAL(got, "");
    free(got);
    zcfg_unref(cfg);
}

/* Every GoZen key zend does not use, at any depth of the sections it reads,
 * is one JSON path in a single info note; keys zend reads are never listed,
 * nor is what lies below an ignored key, nor env_vars' free-form names. */
static void test_ignored_keys_at_any_depth(void)
{
    struct zcfg *cfg = load_str(gozen_config);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const json_t *note = NULL;
    size_t i, count = 0;
    json_t *n;
    json_array_foreach(cfg->notes, i, n) {
        if (strcmp(json_string_value(json_object_get(n, "event")), "config_ignored_keys") == 0) {
            note = n;
            count++;
        }
    }
    CU_ASSERT_EQUAL(count, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(note);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(note, "level")), "info");
    char *keys = json_dumps(json_object_get(json_object_get(note, "fields"), "keys"),
                            JSON_COMPACT);
    CU_ASSERT_STRING_EQUAL(keys, "[\"web_port\",\"bot\",\"providers.anthropic.icon\"]");
    free(keys);
    zcfg_unref(cfg);

    cfg = load_str("{\"providers\": {\"p\": {\"base_url\": \"http://p\", \"icon\": 2}},\n"
                   " \"profiles\": {\"d\": {\"providers\": [\"p\"], \"sync_id\": {}}},\n"
                   " \"disabled_providers\": {\"p\": {\"type\": \"today\", \"created_at\": \"x\",\n"
                   "                                  \"reason\": \"slow\"}},\n"
                   " \"health_check\": {\"enabled\": false, \"model\": \"m\"},\n"
                   " \"sync\": {\"gist\": {\"token\": \"t\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    json_array_foreach(cfg->notes, i, n)
        if (strcmp(json_string_value(json_object_get(n, "event")), "config_ignored_keys") == 0)
            note = n;
    keys = json_dumps(json_object_get(json_object_get(note, "fields"), "keys"), JSON_COMPACT);
    CU_ASSERT_STRING_EQUAL(keys, "[\"sync\",\"providers.p.icon\","
                                 "\"profiles.d.sync_id\","
                                 "\"disabled_providers.p.reason\",\"health_check.model\"]");
    free(keys);
    zcfg_unref(cfg);

    /* Nothing ignored: no note. */
    cfg = load_str("{\"providers\": {\"p\": {\"base_url\": \"http://p\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_FALSE(has_note(cfg, "config_ignored_keys"));
    zcfg_unref(cfg);
}

/* daemon.control_readers and control_read_socket: together or not at all,
 * an absolute path, and a name the system does not know is a warning. */
static void test_control_read_keys(void)
{
    struct zcfg *cfg = load_str("{\"daemon\": {\"control_readers\": [\"root\", "
                                "\"zend-no-such-name-42\"], \"control_read_socket\": "
                                "\"/run/zend/read.sock\"}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL_FATAL(cfg->daemon.n_control_readers, 2);
    CU_ASSERT_STRING_EQUAL(cfg->daemon.control_readers[0], "root");
    CU_ASSERT_STRING_EQUAL(cfg->daemon.control_read_socket, "/run/zend/read.sock");
    char *got = warnings_of(cfg);
    CU_ASSERT_STRING_EQUAL(got, "daemon.control_readers[1]: no user or group is named "
                                "\"zend-no-such-name-42\" (it matches nobody)\n");
    free(got);
    zcfg_unref(cfg);

    cfg = load_str("{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->daemon.n_control_readers, 0);
    CU_ASSERT_PTR_NULL(cfg->daemon.control_read_socket);
    zcfg_unref(cfg);

    expect_error("{\"daemon\": {\"control_readers\": [\"root\"]}}",
                 "daemon.control_read_socket: required with control_readers");
    expect_error("{\"daemon\": {\"control_read_socket\": \"/run/zend/read.sock\"}}",
                 "daemon.control_readers: required with control_read_socket");
    expect_error("{\"daemon\": {\"control_readers\": [\"root\"], \"control_read_socket\": "
                 "\"read.sock\"}}",
                 "daemon.control_read_socket: must be an absolute path, not \"read.sock\"");
    expect_error("{\"daemon\": {\"control_readers\": \"root\"}}",
                 "daemon.control_readers: must be an array of strings, not a string");
    expect_error("{\"daemon\": {\"control_readers\": [\"\"], \"control_read_socket\": "
                 "\"/r.sock\"}}",
                 "daemon.control_readers[0]: must be a non-empty string");
}

/* Writes a config with n_providers providers p0..p{n-1} and one profile
 * listing the first n_listed of them. Returns a malloc'd string. */
static char *many_providers_config(size_t n_providers, size_t n_listed)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return NULL;
    fputs("{\"providers\": {", f);
    for (size_t i = 0; i < n_providers; i++)
        fprintf(f, "%s\"p%zu\": {\"base_url\": \"http://127.0.0.1:1\"}", i ? ", " : "", i);
    fputs("}, \"profiles\": {\"default\": [", f);
    for (size_t i = 0; i < n_listed; i++)
        fprintf(f, "%s\"p%zu\"", i ? ", " : "", i);
    fputs("]}}", f);
    fclose(f);
    return text;
}

/* Provider state and the attempt loop have fixed tables: a config beyond
 * them is refused with the limit named, never silently cut short; exactly
 * at the limits it loads. */
static void test_provider_limits(void)
{
    char *at_limits = many_providers_config(ZCFG_MAX_PROVIDERS, ZCFG_MAX_PROFILE_PROVIDERS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(at_limits);
    struct zcfg *cfg = load_str(at_limits);
    CU_ASSERT_PTR_NOT_NULL(cfg);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->n_providers, ZCFG_MAX_PROVIDERS);
        CU_ASSERT_EQUAL(cfg->profiles[0].n_providers, ZCFG_MAX_PROFILE_PROVIDERS);
    }
    zcfg_unref(cfg);
    free(at_limits);

    char want[128];
    char *long_profile = many_providers_config(40, ZCFG_MAX_PROFILE_PROVIDERS + 1);
    snprintf(want, sizeof(want), "profiles.default: names %d providers; a request tries at most %d",
             ZCFG_MAX_PROFILE_PROVIDERS + 1, ZCFG_MAX_PROFILE_PROVIDERS);
    expect_error(long_profile, want);
    free(long_profile);

    char *too_many = many_providers_config(2000, 1);
    snprintf(want, sizeof(want), "providers: 2000 providers; at most %d are supported",
             ZCFG_MAX_PROVIDERS);
    expect_error(too_many, want);
    free(too_many);
}

/* The in-flight body budget and the whole-body deadline: defaults, and
 * the range check every daemon integer gets. */
static void test_body_budget_keys(void)
{
    struct zcfg *cfg = load_str("{\"daemon\": {}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->daemon.max_body_bytes_total, 256LL * 1024 * 1024);
    CU_ASSERT_EQUAL(cfg->daemon.client_body_total_timeout_ms, 60000);
    zcfg_unref(cfg);
    cfg = load_str("{\"daemon\": {\"max_body_bytes_total\": 1048576, "
                   "\"client_body_total_timeout_ms\": 1500}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->daemon.max_body_bytes_total, 1048576);
    CU_ASSERT_EQUAL(cfg->daemon.client_body_total_timeout_ms, 1500);
    zcfg_unref(cfg);
    expect_error("{\"daemon\": {\"max_body_bytes_total\": 0}}", "daemon.max_body_bytes_total:");
    expect_error("{\"daemon\": {\"client_body_total_timeout_ms\": 0}}",
                 "daemon.client_body_total_timeout_ms:");
}

/* The provider keys of format translation: defaults, every value, and a
 * clear error for a wrong one. */
static void test_translation_keys(void)
{
    struct zcfg *cfg = load_str("{\"providers\": {\"p\": {\"base_url\": \"http://x\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct zcfg_provider *p = zcfg_find_provider(cfg, "p");
    CU_ASSERT_EQUAL(p->openai_api, ZCFG_OPENAI_AUTO);
    CU_ASSERT_EQUAL(p->max_tokens_legacy, 0);
    CU_ASSERT_EQUAL(p->default_max_tokens, 32000);
    CU_ASSERT_EQUAL(p->thinking_mode, ZCFG_THINKING_BUDGET);
    CU_ASSERT_EQUAL(p->drop_sampling, 0);
    zcfg_unref(cfg);
    cfg = load_str("{\"providers\": {\"p\": {\"base_url\": \"http://x\", \"type\": \"openai\","
                   " \"openai_api\": \"responses\", \"max_tokens_field\": \"max_tokens\","
                   " \"default_max_tokens\": 4096, \"thinking_mode\": \"adaptive\","
                   " \"drop_sampling\": true}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    p = zcfg_find_provider(cfg, "p");
    CU_ASSERT_EQUAL(p->openai_api, ZCFG_OPENAI_RESPONSES);
    CU_ASSERT_EQUAL(p->max_tokens_legacy, 1);
    CU_ASSERT_EQUAL(p->default_max_tokens, 4096);
    CU_ASSERT_EQUAL(p->thinking_mode, ZCFG_THINKING_ADAPTIVE);
    CU_ASSERT_EQUAL(p->drop_sampling, 1);
    zcfg_unref(cfg);
    expect_error("{\"providers\": {\"r\": {\"base_url\": \"http://x\", \"openai_api\": \"rest\"}}}",
                 "providers.r.openai_api: must be \"auto\", \"chat\" or \"responses\"");
    expect_error("{\"providers\": {\"r\": {\"base_url\": \"http://x\", \"max_tokens_field\": 1}}}",
                 "providers.r.max_tokens_field: must be a string");
    expect_error("{\"providers\": {\"r\": {\"base_url\": \"http://x\", \"default_max_tokens\": 0}}}",
                 "providers.r.default_max_tokens: must be between 1 and 1000000");
    expect_error("{\"providers\": {\"r\": {\"base_url\": \"http://x\", \"drop_sampling\": 1}}}",
                 "providers.r.drop_sampling: must be true or false");
}

static void test_file_errors_and_permissions(void)
{
    char path[4200];
    struct zcfg *cfg = zcfg_load_file("/nonexistent/zen.json", err, sizeof(err));
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/zen.json: cannot open"));

    tu_write_file(tu_tmpdir, "bad.json", "{\n  \"providers\": {\n    \"a\": {,}\n  }\n}\n", 0600,
                  path, sizeof(path));
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(cfg);
    char want[4300];
    snprintf(want, sizeof(want), "%s:3:11:", path);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));

    /* A literal token in a world-readable file: loads, with a warning. */
    const char *lit = "{\"providers\": {\"a\": {\"base_url\": \"http://a\", \"auth_token\": "
                      "\"sk-literal\"}}}";
    tu_write_file(tu_tmpdir, "open.json", lit, 0644, path, sizeof(path));
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_TRUE(has_note(cfg, "config_permissions"));
    zcfg_unref(cfg);
    tu_write_file(tu_tmpdir, "closed.json", lit, 0600, path, sizeof(path));
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_FALSE(has_note(cfg, "config_permissions"));
    zcfg_unref(cfg);
}

/* A syntax error inside a string: jansson's "near" text would be the
 * string's first characters, here a token's. */
static void test_syntax_error_in_token_not_echoed(void)
{
    /* A newline inside the string, then a string cut off by the end. */
    expect_error("{\"providers\": {\"a\": {\"auth_token\": \"sk-SECRET\n\"}}}",
                 "(inside a string)");
    CU_ASSERT_PTR_NULL(strstr(err, "SECRET"));
    CU_ASSERT_PTR_NULL(strstr(err, "sk-"));
    expect_error("{\"providers\": {\"a\": {\"auth_token\": \"sk-SECRET", "zen.json:1:");
    CU_ASSERT_PTR_NULL(strstr(err, "SECRET"));
    expect_error("{\"a\": \"sk-SECRET\\u00zz\"}", "(inside a string)");
    CU_ASSERT_PTR_NULL(strstr(err, "SECRET"));
    /* Outside strings the context stays: it is a brace, a keyword. */
    expect_error("{\"a\": 1,}", "near '}'");
}

/* The ssh rule: a config another user could change is refused, at every
 * load (a reload goes through zcfg_load_file too). */
static void test_file_owner_and_mode_checked(void)
{
    char path[4200];
    const char *ok = "{}";
    tu_write_file(tu_tmpdir, "gw.json", ok, 0620, path, sizeof(path));
    struct zcfg *cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "writable by group or others (mode 0620)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "chmod 600"));
    tu_write_file(tu_tmpdir, "ow.json", ok, 0602, path, sizeof(path));
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL(chmod(path, 0644), 0); /* readable is only a warning matter */
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(cfg);
    zcfg_unref(cfg);
    if (geteuid() == 0) {
        CU_ASSERT_EQUAL(chown(path, 65534, 65534), 0);
        cfg = zcfg_load_file(path, err, sizeof(err));
        CU_ASSERT_PTR_NULL(cfg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "owned by uid 65534"));
    }
    /* The directory counts too: whoever writes there can swap the file. */
    char dir[4200];
    snprintf(dir, sizeof(dir), "%s/shared", tu_tmpdir);
    CU_ASSERT_EQUAL_FATAL(mkdir(dir, 0700), 0);
    tu_write_file(dir, "zen.json", ok, 0600, path, sizeof(path));
    CU_ASSERT_EQUAL(chmod(dir, 0777), 0);
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "its directory"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "chmod go-w"));
    CU_ASSERT_EQUAL(chmod(dir, 01777), 0); /* sticky, like /tmp: others cannot swap it */
    cfg = zcfg_load_file(path, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(cfg);
    zcfg_unref(cfg);
    CU_ASSERT_EQUAL(chmod(dir, 0700), 0);
}

/* Is addr inside a mapping whose VmFlags carry "dd" (MADV_DONTDUMP)? */
static int in_dontdump_mapping(const void *addr)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    if (!f)
        return -1;
    char line[512];
    int inside = 0, found = 0;
    uintptr_t a = (uintptr_t)addr;
    while (fgets(line, sizeof(line), f)) {
        unsigned long lo, hi;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' ')) {
            inside = a >= lo && a < hi;
        } else if (inside && strncmp(line, "VmFlags:", 8) == 0) {
            found = strstr(line, " dd") != NULL;
            break;
        }
    }
    fclose(f);
    return found;
}

static void test_tokens_kept_out_of_core_dumps(void)
{
    setenv("ZEN_TEST_DD_TOKEN", "sk-from-env-dd", 1);
    struct zcfg *cfg = load_str("{\"providers\": {\"a\": {\"base_url\": \"http://a\", "
                                "\"auth_token\": \"sk-literal-dd\"}, \"b\": {\"base_url\": "
                                "\"http://b\", \"auth_token\": \"env:ZEN_TEST_DD_TOKEN\"}}}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->providers[0].auth_token, "sk-literal-dd");
    CU_ASSERT_STRING_EQUAL(cfg->providers[1].auth_token, "sk-from-env-dd");
    CU_ASSERT_EQUAL(in_dontdump_mapping(cfg->providers[0].auth_token), 1);
    CU_ASSERT_EQUAL(in_dontdump_mapping(cfg->providers[1].auth_token), 1);
    /* The loader's own plain-heap copy is not: the check can tell them apart. */
    CU_ASSERT_EQUAL(in_dontdump_mapping(cfg->path), 0);
    zcfg_unref(cfg);
    unsetenv("ZEN_TEST_DD_TOKEN");
}

static void test_secrets_wiped_in_parse_tree(void)
{
    json_t *root = json_loads("{\"providers\": {\"a\": {\"auth_token\": \"sk-secret\"}},"
                              " \"daemon\": {\"access_keys\": [\"k1\"]}}", 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    json_t *tok = json_object_get(json_object_get(json_object_get(root, "providers"), "a"),
                                  "auth_token");
    json_t *key = json_array_get(json_object_get(json_object_get(root, "daemon"),
                                                 "access_keys"), 0);
    wipe_secrets_in_tree(root);
    const char *t = json_string_value(tok);
    for (size_t i = 0; i < strlen("sk-secret"); i++)
        CU_ASSERT_EQUAL(t[i], '\0');
    CU_ASSERT_EQUAL(json_string_value(key)[0], '\0');
    json_decref(root);
}

static void test_refcount(void)
{
    struct zcfg *cfg = load_str("{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->n_providers, 0);
    CU_ASSERT_PTR_NULL(cfg->default_profile);
    zcfg_ref(cfg);
    CU_ASSERT_EQUAL(cfg->refs, 2);
    zcfg_unref(cfg);
    CU_ASSERT_EQUAL(cfg->refs, 1);
    zcfg_unref(cfg); /* valgrind/ASan check the release */
}

static void test_rfc3339(void)
{
    int64_t t;
    CU_ASSERT_EQUAL(ztime_parse_rfc3339("1970-01-01T00:00:00Z", &t), ZEN_OK);
    CU_ASSERT_EQUAL(t, 0);
    CU_ASSERT_EQUAL(ztime_parse_rfc3339("2026-11-28T23:59:59.5+01:00", &t), ZEN_OK);
    CU_ASSERT_EQUAL(t, 1795910399 - 3600);
    CU_ASSERT_EQUAL(ztime_parse_rfc3339("2026-11-28", &t), ZEN_ERR);
    CU_ASSERT_EQUAL(ztime_parse_rfc3339("2026-13-01T00:00:00Z", &t), ZEN_ERR);
    CU_ASSERT_EQUAL(ztime_parse_rfc3339("2026-11-28T00:00:00Zjunk", &t), ZEN_ERR);
}

/* Routing keys (docs/routing.md): strategies, weights, threshold, priority,
 * affinity and scenario routes, with GoZen's spellings of scenario keys. */
static void test_routing_keys(void)
{
    static const char json[] =
        "{\"providers\": {\"a\": {\"base_url\": \"http://a\", \"weight\": 5},\n"
        "                 \"b\": {\"base_url\": \"http://b\"}, \"c\": {\"base_url\": \"http://c\"}},\n"
        " \"profiles\": {\n"
        "  \"plain\": [\"a\", \"b\"],\n"
        "  \"r\": {\"providers\": [\"a\", \"b\"], \"strategy\": \"weighted\",\n"
        "        \"provider_weights\": {\"a\": 3, \"b\": 1}, \"long_context_threshold\": 1000,\n"
        "        \"scenario_priority\": [\"image\", \"long-context\"], \"session_affinity\": false,\n"
        "        \"routing\": {\"long_context\": {\"providers\": [{\"name\": \"c\", \"model\": \"big\"},\n"
        "                                                   \"b\"], \"strategy\": \"round-robin\",\n"
        "                                     \"long_context_threshold\": 500,\n"
        "                                     \"fallback_to_default\": false},\n"
        "                    \"web-search\": {\"providers\": [\"c\"], \"strategy\": \"\",\n"
        "                                   \"provider_weights\": {\"c\": 0},\n"
        "                                   \"session_affinity\": true},\n"
        "                    \"think\": {\"providers\": [\"b\"], \"strategy\": \"least-cost\"}}},\n"
        "  \"l\": {\"providers\": [\"a\"], \"strategy\": \"least-latency\"}}}";
    struct zcfg *cfg = load_str(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_FALSE(has_note(cfg, "config_ignored_keys"));
    CU_ASSERT_EQUAL(zcfg_find_provider(cfg, "a")->weight, 5);
    CU_ASSERT_EQUAL(zcfg_find_provider(cfg, "b")->weight, 0);

    const struct zcfg_profile *plain = zcfg_find_profile(cfg, "plain");
    CU_ASSERT_EQUAL(plain->strategy_kind, ZCFG_STRATEGY_FAILOVER);
    CU_ASSERT_EQUAL(plain->long_context_threshold, 32000);
    CU_ASSERT_TRUE(plain->session_affinity);
    CU_ASSERT_FALSE(plain->has_routes);
    CU_ASSERT_PTR_NULL(plain->weights);
    for (int i = 0; i < ZCFG_N_SCENARIOS; i++)
        CU_ASSERT_EQUAL(plain->scenario_order[i], i);

    const struct zcfg_profile *r = zcfg_find_profile(cfg, "r");
    CU_ASSERT_EQUAL(r->strategy_kind, ZCFG_STRATEGY_WEIGHTED);
    CU_ASSERT_STRING_EQUAL(r->strategy, "weighted");
    CU_ASSERT_EQUAL(r->weights[0], 3);
    CU_ASSERT_EQUAL(r->weights[1], 1);
    CU_ASSERT_EQUAL(r->weights[2], -1);
    CU_ASSERT_EQUAL(r->long_context_threshold, 1000);
    CU_ASSERT_FALSE(r->session_affinity);
    static const int order[] = {ZCFG_SCENARIO_IMAGE, ZCFG_SCENARIO_LONG_CONTEXT,
                                ZCFG_SCENARIO_WEB_SEARCH, ZCFG_SCENARIO_THINK,
                                ZCFG_SCENARIO_CODE, ZCFG_SCENARIO_BACKGROUND,
                                ZCFG_SCENARIO_DEFAULT};
    for (int i = 0; i < ZCFG_N_SCENARIOS; i++)
        CU_ASSERT_EQUAL(r->scenario_order[i], order[i]);
    CU_ASSERT_TRUE(r->has_routes);
    const struct zcfg_route *lc = &r->routes[ZCFG_SCENARIO_LONG_CONTEXT];
    CU_ASSERT_TRUE(lc->present);
    CU_ASSERT_EQUAL_FATAL(lc->n_providers, 2);
    CU_ASSERT_STRING_EQUAL(cfg->providers[lc->providers[0].provider].name, "c");
    CU_ASSERT_STRING_EQUAL(lc->providers[0].model, "big");
    CU_ASSERT_STRING_EQUAL(cfg->providers[lc->providers[1].provider].name, "b");
    CU_ASSERT_PTR_NULL(lc->providers[1].model);
    CU_ASSERT_EQUAL(lc->strategy, ZCFG_STRATEGY_ROUND_ROBIN);
    CU_ASSERT_EQUAL(lc->long_context_threshold, 500);
    CU_ASSERT_FALSE(lc->fallback_to_default);
    CU_ASSERT_EQUAL(lc->session_affinity, -1);
    const struct zcfg_route *ws = &r->routes[ZCFG_SCENARIO_WEB_SEARCH];
    CU_ASSERT_TRUE(ws->present);
    CU_ASSERT_EQUAL(ws->strategy, ZCFG_STRATEGY_FAILOVER);
    CU_ASSERT_EQUAL(ws->weights[2], 0);
    CU_ASSERT_TRUE(ws->fallback_to_default);
    CU_ASSERT_EQUAL(ws->session_affinity, 1);
    CU_ASSERT_EQUAL(ws->long_context_threshold, -1);
    CU_ASSERT_EQUAL(r->routes[ZCFG_SCENARIO_THINK].strategy, ZCFG_STRATEGY_LEAST_COST);
    CU_ASSERT_FALSE(r->routes[ZCFG_SCENARIO_IMAGE].present);
    CU_ASSERT_EQUAL(zcfg_find_profile(cfg, "l")->strategy_kind, ZCFG_STRATEGY_LEAST_LATENCY);
    zcfg_unref(cfg);

    CU_ASSERT_EQUAL(zcfg_scenario_parse("longcontext"), ZCFG_SCENARIO_LONG_CONTEXT);
    CU_ASSERT_EQUAL(zcfg_scenario_parse("longContext"), ZCFG_SCENARIO_LONG_CONTEXT);
    CU_ASSERT_EQUAL(zcfg_scenario_parse("web_search"), ZCFG_SCENARIO_WEB_SEARCH);
    CU_ASSERT_EQUAL(zcfg_scenario_parse("background"), ZCFG_SCENARIO_BACKGROUND);
    CU_ASSERT_EQUAL(zcfg_scenario_parse("thinking"), -1);
    CU_ASSERT_STRING_EQUAL(zcfg_scenario_name(ZCFG_SCENARIO_WEB_SEARCH), "webSearch");
    CU_ASSERT_EQUAL(zcfg_strategy_parse("round-robin"), ZCFG_STRATEGY_ROUND_ROBIN);
    CU_ASSERT_EQUAL(zcfg_strategy_parse("random"), -1);
    CU_ASSERT_STRING_EQUAL(zcfg_strategy_name(ZCFG_STRATEGY_LEAST_COST), "least-cost");
}

/* Every bad routing input is an error naming its JSON path. */
static void test_routing_errors_name_the_path(void)
{
    static const char *const cases[][2] = {
        {"\"strategy\": \"random\"", "profiles.w.strategy: unknown strategy \"random\""},
        {"\"strategy\": 3", "profiles.w.strategy: must be a string"},
        {"\"provider_weights\": {\"a\": -1}", "profiles.w.provider_weights.a: must be between 0"},
        {"\"provider_weights\": {\"zz\": 1}", "profiles.w.provider_weights.zz: unknown provider"},
        {"\"long_context_threshold\": -5", "profiles.w.long_context_threshold: must be between 0"},
        {"\"scenario_priority\": [\"think\", \"vision\"]",
         "profiles.w.scenario_priority[1]: not a scenario key"},
        {"\"session_affinity\": 1", "profiles.w.session_affinity: must be true or false"},
        {"\"routing\": {\"vision\": {\"providers\": [\"a\"]}}",
         "profiles.w.routing.vision: unknown scenario \"vision\""},
        {"\"routing\": {\"think\": {\"providers\": [\"ghost\"]}}",
         "profiles.w.routing.think.providers[0]: unknown provider \"ghost\""},
        {"\"routing\": {\"think\": {\"providers\": [{\"name\": \"ghost\", \"model\": \"m\"}]}}",
         "profiles.w.routing.think.providers[0].name: unknown provider \"ghost\""},
        {"\"routing\": {\"think\": {\"providers\": []}}",
         "profiles.w.routing.think.providers: names no provider"},
        {"\"routing\": {\"think\": {}}", "profiles.w.routing.think.providers: must be an array"},
        {"\"routing\": {\"think\": {\"providers\": [\"a\"], \"strategy\": \"fastest\"}}",
         "profiles.w.routing.think.strategy: unknown strategy \"fastest\""},
        {"\"routing\": {\"think\": {\"providers\": [\"a\"], \"provider_weights\": {\"a\": -2}}}",
         "profiles.w.routing.think.provider_weights.a: must be between 0"},
        {"\"routing\": {\"long_context\": {\"providers\": [\"a\"], "
         "\"long_context_threshold\": -1}}",
         "profiles.w.routing.long_context.long_context_threshold: must be between 0"},
        {"\"routing\": {\"long_context\": {\"providers\": [\"a\"]}, "
         "\"longContext\": {\"providers\": [\"a\"]}}",
         "profiles.w.routing.longContext: a second route for scenario longContext"},
        {"\"routing\": {\"think\": {\"providers\": [\"a\", \"a\"]}}",
         "profiles.w.routing.think.providers[1]: provider \"a\" is listed twice"},
        {"\"routing\": {\"think\": {\"providers\": [\"a\"], \"fallback_to_default\": \"no\"}}",
         "profiles.w.routing.think.fallback_to_default: must be true or false"},
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(cases); i++) {
        char buf[1024];
        snprintf(buf, sizeof(buf),
                 "{\"providers\": {\"a\": {\"base_url\": \"http://a\"}},"
                 " \"profiles\": {\"w\": {\"providers\": [\"a\"], %s}}}", cases[i][0]);
        expect_error(buf, cases[i][1]);
    }
    expect_error("{\"providers\": {\"a\": {\"base_url\": \"http://a\", \"weight\": -3}}}",
                 "providers.a.weight: must be between 0");
}

/* The config_ignored_keys paths of cfg as compact JSON ("[]" when none). */
static char *ignored_keys_json(const struct zcfg *cfg)
{
    size_t i;
    json_t *n;
    json_array_foreach(cfg->notes, i, n)
        if (strcmp(json_string_value(json_object_get(n, "event")), "config_ignored_keys") == 0)
            return json_dumps(json_object_get(json_object_get(n, "fields"), "keys"),
                              JSON_COMPACT);
    return strdup("[]");
}

/* pricing (GoZen's, plus zend's cache rates), budgets and daemon.usage: every
 * key, its default, and GoZen-side extras as ignored-key notes. */
static void test_usage_keys(void)
{
    struct zcfg *cfg = load_str(tu_q(
        "{'pricing': {"
        "   'claude-sonnet-4-5': {'input_per_million': 3, 'output_per_million': 15.5,"
        "      'cache_read_per_million': 0.2, 'cache_write_per_million': 4, 'note': 'x'},"
        "   'relay-m': {'input_per_million': 2.0, 'output_per_million': 0}},"
        " 'budgets': {'daily': {'amount': 10, 'action': 'warn'},"
        "   'weekly': {'amount': 50.5, 'action': 'downgrade', 'notify': true},"
        "   'monthly': {'amount': 200, 'action': 'block'}, 'per_project': true},"
        " 'daemon': {'usage': {'enabled': false, 'retention_days': 0}}}"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL_FATAL(cfg->n_pricing, 2);
    const struct zcfg_price *p = &cfg->pricing[0];
    CU_ASSERT_STRING_EQUAL(p->model, "claude-sonnet-4-5");
    CU_ASSERT_DOUBLE_EQUAL(p->input_per_million, 3.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p->output_per_million, 15.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p->cache_read_per_million, 0.2, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p->cache_write_per_million, 4.0, 1e-12);
    p = &cfg->pricing[1];
    CU_ASSERT_STRING_EQUAL(p->model, "relay-m");
    CU_ASSERT_DOUBLE_EQUAL(p->output_per_million, 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(p->cache_read_per_million, 0.2, 1e-12);  /* 10 % of input */
    CU_ASSERT_DOUBLE_EQUAL(p->cache_write_per_million, 2.5, 1e-12); /* 125 % of input */
    const struct zcfg_budgets *b = &cfg->budgets;
    CU_ASSERT_TRUE(b->period[0].set && b->period[1].set && b->period[2].set);
    CU_ASSERT_DOUBLE_EQUAL(b->period[0].amount, 10.0, 1e-12);
    CU_ASSERT_EQUAL(b->period[0].action, ZCFG_BUDGET_WARN);
    CU_ASSERT_DOUBLE_EQUAL(b->period[1].amount, 50.5, 1e-12);
    CU_ASSERT_EQUAL(b->period[1].action, ZCFG_BUDGET_DOWNGRADE);
    CU_ASSERT_EQUAL(b->period[2].action, ZCFG_BUDGET_BLOCK);
    CU_ASSERT_EQUAL(b->per_project, 1);
    CU_ASSERT_EQUAL(cfg->daemon.usage_enabled, 0);
    CU_ASSERT_EQUAL(cfg->daemon.usage_retention_days, 0);
    char *keys = ignored_keys_json(cfg);
    CU_ASSERT_STRING_EQUAL(keys, "[\"pricing.claude-sonnet-4-5.note\",\"budgets.weekly.notify\"]");
    free(keys);
    zcfg_unref(cfg);

    /* Defaults: no pricing, no budgets, the ledger on for 90 days; a limit
     * without action warns (GoZen's default), one written null is unset. */
    cfg = load_str(tu_q("{'budgets': {'daily': {'amount': 0.5}, 'weekly': null,"
                        " 'monthly': {'amount': 1, 'action': ''}}}"));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(cfg->n_pricing, 0);
    CU_ASSERT_PTR_NULL(cfg->pricing);
    CU_ASSERT_TRUE(cfg->budgets.period[0].set);
    CU_ASSERT_EQUAL(cfg->budgets.period[0].action, ZCFG_BUDGET_WARN);
    CU_ASSERT_FALSE(cfg->budgets.period[1].set);
    CU_ASSERT_EQUAL(cfg->budgets.period[2].action, ZCFG_BUDGET_WARN);
    CU_ASSERT_EQUAL(cfg->budgets.per_project, 0);
    CU_ASSERT_EQUAL(cfg->daemon.usage_enabled, 1);
    CU_ASSERT_EQUAL(cfg->daemon.usage_retention_days, 90);
    keys = ignored_keys_json(cfg);
    CU_ASSERT_STRING_EQUAL(keys, "[]"); /* pricing and budgets are known top-level keys */
    free(keys);
    zcfg_unref(cfg);

    cfg = load_str("{}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_FALSE(cfg->budgets.period[0].set || cfg->budgets.period[1].set ||
                    cfg->budgets.period[2].set);
    CU_ASSERT_EQUAL(cfg->daemon.usage_enabled, 1);
    CU_ASSERT_EQUAL(cfg->daemon.usage_retention_days, 90);
    zcfg_unref(cfg);

    CU_ASSERT_STRING_EQUAL(zcfg_budget_action_name(ZCFG_BUDGET_DOWNGRADE), "downgrade");
    CU_ASSERT_STRING_EQUAL(zcfg_budget_action_name(ZCFG_BUDGET_BLOCK), "block");
}

/* Every bad pricing, budgets or daemon.usage value is an error naming its path. */
static void test_usage_errors_name_the_path(void)
{
    static const char *const cases[][2] = {
        {"'pricing': []", "pricing: must be an object"},
        {"'pricing': {'m': 3}", "pricing.m: must be an object"},
        {"'pricing': {'': {'input_per_million': 1, 'output_per_million': 1}}",
         "pricing.: a model name may not be empty"},
        {"'pricing': {'m': {'input_per_million': -1, 'output_per_million': 1}}",
         "pricing.m.input_per_million: must be a finite number >= 0"},
        {"'pricing': {'m': {'input_per_million': 1, 'output_per_million': '2'}}",
         "pricing.m.output_per_million: must be a number"},
        {"'pricing': {'m': {'input_per_million': 1, 'output_per_million': 1,"
         " 'cache_read_per_million': -0.1}}",
         "pricing.m.cache_read_per_million: must be a finite number >= 0"},
        {"'pricing': {'m': {'input_per_million': 1, 'output_per_million': 1,"
         " 'cache_write_per_million': true}}",
         "pricing.m.cache_write_per_million: must be a number"},
        {"'pricing': {'m': {'output_per_million': 1}}",
         "pricing.m.input_per_million: required"},
        {"'pricing': {'m': {'input_per_million': 1}}", "pricing.m.output_per_million: required"},
        {"'budgets': 5", "budgets: must be an object"},
        {"'budgets': {'hourly': {'amount': 1}}", "budgets.hourly: unknown period"},
        {"'budgets': {'daily': 10}", "budgets.daily: must be an object"},
        {"'budgets': {'daily': {'amount': 0}}", "budgets.daily.amount: must be a finite number above 0"},
        {"'budgets': {'weekly': {'amount': -5, 'action': 'warn'}}",
         "budgets.weekly.amount: must be a finite number above 0"},
        {"'budgets': {'monthly': {'action': 'block'}}", "budgets.monthly.amount: required"},
        {"'budgets': {'daily': {'amount': '10'}}", "budgets.daily.amount: must be a number"},
        {"'budgets': {'daily': {'amount': 1, 'action': 'stop'}}",
         "budgets.daily.action: unknown action \"stop\" (warn, downgrade or block)"},
        {"'budgets': {'daily': {'amount': 1, 'action': 2}}",
         "budgets.daily.action: must be a string"},
        {"'budgets': {'per_project': 'yes'}", "budgets.per_project: must be true or false"},
        {"'daemon': {'usage': true}", "daemon.usage: must be an object"},
        {"'daemon': {'usage': {'enabled': 1}}", "daemon.usage.enabled: must be true or false"},
        {"'daemon': {'usage': {'retention_days': -1}}",
         "daemon.usage.retention_days: must be between 0 and 36500"},
        {"'daemon': {'usage': {'retention_days': 36501}}",
         "daemon.usage.retention_days: must be between 0 and 36500"},
        {"'daemon': {'usage': {'retention_days': 1.5}}",
         "daemon.usage.retention_days: must be an integer"},
        {"'daemon': {'usage': {'path': 'x.db'}}", "daemon.usage.path: unknown key"},
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(cases); i++) {
        char buf[1024];
        snprintf(buf, sizeof(buf), "{%s}", cases[i][0]);
        expect_error(tu_q(buf), cases[i][1]);
    }
    /* Not finite: 1e999 is no JSON number jansson accepts, so the file fails
     * to parse rather than price anything at infinity. */
    expect_error(tu_q("{'pricing': {'m': {'input_per_million': 1e999, "
                      "'output_per_million': 1}}}"), "zen.json:");
}

static int suite_init(void)
{
    return tu_suite_init() || zsec_init();
}

/* The file's JSON at a dotted path (names here hold no dots), or NULL. */
static const json_t *at_path(const json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    const json_t *v = root;
    for (char *save = NULL, *part = strtok_r(buf, ".", &save); part && v;
         part = strtok_r(NULL, ".", &save))
        v = json_object_get(v, part);
    return v && !json_is_null(v) ? v : NULL;
}

static const json_t *entry(const json_t *list, const char *key)
{
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        if (strcmp(json_string_value(json_object_get(e, "key")), key) == 0)
            return e;
    return NULL;
}

static const char *source_of(const json_t *list, const char *key)
{
    return json_string_value(json_object_get(entry(list, key), "source"));
}

/* zenctl config's list: each value's source agrees with the file (a key
 * the file has is "zen.json", every other "default"), no key comes twice,
 * and no token is in it, only fingerprints. */
static void test_effective_config(void)
{
    setenv("ZEN_TEST_EFFECTIVE", "sk-env-secret-value", 1);
    unsetenv("ZEN_TEST_EFFECTIVE_UNSET");
    static const char doc[] =
        "{\"proxy_port\": 19999,"
        " \"providers\": {\"lit\": {\"base_url\": \"https://user:pw@a.example/v1/\","
        "   \"auth_token\": \"sk-literal-secret-value\", \"model\": \"m\","
        "   \"proxy_url\": \"http://bob:hunter2@proxy:3128\", \"env_vars\": {\"A_B\": \"1\"}},"
        "  \"env\": {\"base_url\": \"https://b.example\", \"auth_token\": \"env:ZEN_TEST_EFFECTIVE\","
        "   \"type\": \"openai\", \"weight\": 3},"
        "  \"gone\": {\"base_url\": \"https://c.example\", \"auth_token\": \"env:ZEN_TEST_EFFECTIVE_UNSET\"},"
        "  \"pass\": {\"base_url\": \"https://d.example\"}},"
        " \"profiles\": {\"default\": {\"providers\": [\"lit\", \"env\"], \"strategy\": \"round-robin\"}},"
        " \"health_check\": {\"enabled\": true},"
        " \"budgets\": {\"weekly\": {\"amount\": 20, \"action\": \"block\"}},"
        " \"daemon\": {\"listen\": \"127.0.0.1:0\", \"max_concurrent\": 9,"
        "   \"health_max_fd_ratio\": 0.5, \"access_keys\": [\"ak-1\"], \"log_level\": \"debug\","
        "   \"usage\": {\"retention_days\": 7}}}";
    struct zcfg *cfg = load_str(doc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    json_t *list = zcfg_effective(cfg);
    json_t *root = json_loads(doc, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(list);
    CU_ASSERT_PTR_NOT_NULL_FATAL(root);
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *key = json_string_value(json_object_get(e, "key"));
        const char *source = json_string_value(json_object_get(e, "source"));
        CU_ASSERT_PTR_NOT_NULL_FATAL(key);
        CU_ASSERT_PTR_NOT_NULL_FATAL(source);
        CU_ASSERT_TRUE(json_object_get(e, "value") != NULL);
        CU_ASSERT_PTR_EQUAL(entry(list, key), e); /* the first with its key is this one */
        if (strcmp(source, "env") == 0)
            continue;
        int in_file = at_path(root, key) != NULL;
        if (in_file != (strcmp(source, "zen.json") == 0))
            fprintf(stderr, "\n  %s: source %s\n", key, source);
        CU_ASSERT_EQUAL(in_file, strcmp(source, "zen.json") == 0);
    }
    CU_ASSERT_STRING_EQUAL(source_of(list, "daemon.max_concurrent"), "zen.json");
    CU_ASSERT_STRING_EQUAL(source_of(list, "daemon.queue_timeout_ms"), "default");
    CU_ASSERT_EQUAL(json_integer_value(json_object_get(entry(list, "daemon.queue_timeout_ms"),
                                                       "value")), 5000);
    CU_ASSERT_STRING_EQUAL(source_of(list, "daemon.health_max_fd_ratio"), "zen.json");
    CU_ASSERT_STRING_EQUAL(source_of(list, "daemon.access_keys"), "zen.json");
    CU_ASSERT_STRING_EQUAL(source_of(list, "daemon.usage.retention_days"), "zen.json");
    CU_ASSERT_STRING_EQUAL(source_of(list, "daemon.usage.enabled"), "default");
    CU_ASSERT_STRING_EQUAL(source_of(list, "budgets.weekly"), "zen.json");
    CU_ASSERT_STRING_EQUAL(source_of(list, "budgets.daily"), "default");
    CU_ASSERT_STRING_EQUAL(source_of(list, "providers.lit.env_vars"), "zen.json");
    CU_ASSERT_STRING_EQUAL(source_of(list, "providers.env.auth_header"), "default");
    CU_ASSERT_STRING_EQUAL(source_of(list, "providers.env.weight"), "zen.json");
    /* Tokens: where they came from and a fingerprint, never the value. */
    const json_t *lit = entry(list, "providers.lit.auth_token");
    const json_t *env = entry(list, "providers.env.auth_token");
    const json_t *gone = entry(list, "providers.gone.auth_token");
    const json_t *pass = entry(list, "providers.pass.auth_token");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(lit, "source")), "zen.json");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(lit, "auth")), "token");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(lit, "fingerprint")),
                           cfg->providers[0].token_fingerprint);
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(env, "source")), "env");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(env, "variable")),
                           "ZEN_TEST_EFFECTIVE");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(env, "auth")), "env");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(gone, "auth")), "passthrough");
    CU_ASSERT_TRUE(json_is_null(json_object_get(gone, "fingerprint")));
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(pass, "source")), "default");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               entry(list, "providers.lit.base_url"), "value")),
                           "https://***@a.example/v1");
    CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(
                               entry(list, "providers.lit.proxy_url"), "value")),
                           "http://***@proxy:3128");
    char *text = json_dumps(list, JSON_COMPACT);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    static const char *const secrets[] = {"sk-literal-secret-value", "sk-env-secret-value",
                                          "ak-1", "hunter2", "user:pw"};
    for (size_t k = 0; k < ZEN_ARRAY_LEN(secrets); k++)
        CU_ASSERT_PTR_NULL(strstr(text, secrets[k]));
    free(text);
    json_decref(root);
    json_decref(list);
    zcfg_unref(cfg);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("config", suite_init, tu_suite_clean);
    TU_ADD(s, test_gozen_config_loads);
    TU_ADD(s, test_daemon_section);
    TU_ADD(s, test_remote_listen);
    TU_ADD(s, test_env_tokens);
    TU_ADD(s, test_effective_config);
    TU_ADD(s, test_starter_config);
    TU_ADD(s, test_syntax_errors_have_line_col);
    TU_ADD(s, test_validation_errors_have_json_path);
    TU_ADD(s, test_profile_problems_are_warnings);
    TU_ADD(s, test_ignored_keys_at_any_depth);
    TU_ADD(s, test_control_read_keys);
    TU_ADD(s, test_provider_limits);
    TU_ADD(s, test_body_budget_keys);
    TU_ADD(s, test_translation_keys);
    TU_ADD(s, test_file_errors_and_permissions);
    TU_ADD(s, test_secrets_wiped_in_parse_tree);
    TU_ADD(s, test_syntax_error_in_token_not_echoed);
    TU_ADD(s, test_file_owner_and_mode_checked);
    TU_ADD(s, test_tokens_kept_out_of_core_dumps);
    TU_ADD(s, test_refcount);
    TU_ADD(s, test_rfc3339);
    TU_ADD(s, test_routing_keys);
    TU_ADD(s, test_routing_errors_name_the_path);
    TU_ADD(s, test_usage_keys);
    TU_ADD(s, test_usage_errors_name_the_path);
}
