/* Unit tests for zend/forward/routing.c (docs/routing.md): each scenario rule
 * in the three client formats, priority and scenario_priority, the sticky
 * longContext rule and its reset, each strategy's order with cooling and
 * disabled providers, exact smooth weighted counts, round-robin across a
 * reload, least-latency exploration, least-cost prices, session affinity,
 * route model overrides and fallback_to_default. */
#include "routing.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "config.h"
#include "prices.h"
#include "secret.h"
#include "testutil.h"
#include "tr_types.h"
#include "zjson.h"

#define MAXC (ZCFG_MAX_PROFILE_PROVIDERS * 2)

static struct zcfg *load(const char *json_q)
{
    char err[ZEN_ERRLEN];
    const char *json = tu_q(json_q);
    struct zcfg *cfg = zcfg_load_buffer("test.json", json, strlen(json), err, sizeof(err));
    if (!cfg)
        fprintf(stderr, "\n  config: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    return cfg;
}

/* The scan's facts are the tree's whenever it does not give up; returns
 * whether it gave up. */
static int scan_like_tree(int format, const char *body, size_t len)
{
    struct routing_facts scan, tree;
    int rc = routing_scan_facts(format, body, len, &scan);
    json_t *doc = zjson_load(body, len, 0);
    routing_facts_from_doc(format, doc, 0, &tree);
    json_decref(doc);
    if (rc == 0) {
        CU_ASSERT_STRING_EQUAL(scan.model, tree.model);
        CU_ASSERT_EQUAL(scan.matches, tree.matches);
        CU_ASSERT_EQUAL(scan.input_tokens, tree.input_tokens);
        if (strcmp(scan.model, tree.model) != 0 || scan.matches != tree.matches)
            fprintf(stderr, "\n  scan and tree differ on: %.*s\n", (int)len, body);
    }
    return rc != 0;
}

static unsigned facts_of(int format, const char *body_q, int want_tokens, struct routing_facts *f)
{
    const char *body = tu_q(body_q);
    /* every case here is a plain object, or not one: the scan reads the former */
    CU_ASSERT_EQUAL(scan_like_tree(format, body, strlen(body)), body[0] != '{');
    routing_read_facts(format, body, strlen(body), want_tokens, f);
    return f->matches;
}

#define BIT(sc) (1u << (sc))

/* ---- classification ---- */

static void test_scenario_rules_anthropic(void)
{
    struct routing_facts f;
    CU_ASSERT_EQUAL(facts_of(TR_FORMAT_A, "{'model': 'claude-sonnet-4-5', 'messages': []}", 0, &f),
                    BIT(ZCFG_SCENARIO_CODE) | BIT(ZCFG_SCENARIO_DEFAULT));
    CU_ASSERT_STRING_EQUAL(f.model, "claude-sonnet-4-5");
    CU_ASSERT_EQUAL(f.input_tokens, -1);
    CU_ASSERT_EQUAL(facts_of(TR_FORMAT_A, "{'model': 'Claude-3-5-Haiku', 'messages': []}", 0, &f),
                    BIT(ZCFG_SCENARIO_BACKGROUND) | BIT(ZCFG_SCENARIO_DEFAULT));
    CU_ASSERT_EQUAL(facts_of(TR_FORMAT_A, "{'model': 'haiku', 'messages': []}", 0, &f),
                    BIT(ZCFG_SCENARIO_CODE) | BIT(ZCFG_SCENARIO_DEFAULT));
    CU_ASSERT_EQUAL(facts_of(TR_FORMAT_A, "{'messages': []}", 0, &f), BIT(ZCFG_SCENARIO_DEFAULT));
    CU_ASSERT_EQUAL(facts_of(TR_FORMAT_A, "not json", 0, &f), BIT(ZCFG_SCENARIO_DEFAULT));
    CU_ASSERT_EQUAL(facts_of(TR_FORMAT_A, "[1]", 1, &f), BIT(ZCFG_SCENARIO_DEFAULT));
    CU_ASSERT_EQUAL(f.input_tokens, -1);
    facts_of(TR_FORMAT_A, "{'model': 'm', 'thinking': {'type': 'enabled', 'budget_tokens': 9}}",
             0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_A, "{'model': 'm', 'thinking': {'type': 'adaptive'}}", 0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_A, "{'model': 'm', 'thinking': {'type': 'disabled'}}", 0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_A, "{'model': 'm', 'tools': [{'name': 'x', 'input_schema': {}},"
             " {'type': 'web_search_20250305', 'name': 'web_search'}]}", 0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_WEB_SEARCH));
    facts_of(TR_FORMAT_A, "{'model': 'm', 'tools': [{'name': 'web_search', 'input_schema': {}}]}",
             0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_WEB_SEARCH));
    /* An image in the last user turn (also inside a tool_result) counts... */
    facts_of(TR_FORMAT_A, "{'model': 'm', 'messages': [{'role': 'user', 'content': ["
             "{'type': 'image', 'source': {'type': 'base64', 'media_type': 'image/png',"
             " 'data': 'AA=='}}]}]}", 0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
    facts_of(TR_FORMAT_A, "{'model': 'm', 'messages': [{'role': 'user', 'content': ["
             "{'type': 'tool_result', 'tool_use_id': 't', 'content': [{'type': 'image',"
             " 'source': {'type': 'base64', 'media_type': 'image/png', 'data': 'AA=='}}]}]}]}",
             0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
    /* ...one in an earlier turn does not. */
    facts_of(TR_FORMAT_A, "{'model': 'm', 'messages': [{'role': 'user', 'content': ["
             "{'type': 'image', 'source': {'type': 'base64', 'media_type': 'image/png',"
             " 'data': 'AA=='}}]}, {'role': 'assistant', 'content': 'seen'},"
             " {'role': 'user', 'content': 'and now?'}]}", 0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
}

static void test_scenario_rules_openai(void)
{
    struct routing_facts f;
    facts_of(TR_FORMAT_C, "{'model': 'gpt-5', 'reasoning_effort': 'high', 'messages': []}", 0,
             &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_CODE));
    facts_of(TR_FORMAT_C, "{'model': 'gpt-5', 'reasoning_effort': 'minimal', 'messages': []}", 0,
             &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_C, "{'model': 'gpt-5', 'reasoning_effort': 'none', 'messages': []}", 0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_R, "{'model': 'gpt-5', 'reasoning': {'effort': 'low'}, 'input': 'hi'}", 0,
             &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_R, "{'model': 'gpt-5', 'reasoning': {'effort': 'minimal'}, 'input': 'x'}",
             0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_THINK));
    facts_of(TR_FORMAT_R, "{'model': 'gpt-5', 'tools': [{'type': 'web_search_preview'}]}", 0,
             &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_WEB_SEARCH));
    facts_of(TR_FORMAT_C, "{'model': 'gpt-5', 'web_search_options': {}, 'messages': []}", 0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_WEB_SEARCH));
    facts_of(TR_FORMAT_C, "{'model': 'gpt-5', 'messages': [{'role': 'user', 'content': ["
             "{'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,AA=='}}]}]}", 0,
             &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
    facts_of(TR_FORMAT_C, "{'model': 'gpt-5', 'messages': [{'role': 'user', 'content': ["
             "{'type': 'image_url', 'image_url': {'url': 'data:image/png;base64,AA=='}}]},"
             " {'role': 'user', 'content': 'text only'}]}", 0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
    facts_of(TR_FORMAT_R, "{'model': 'gpt-5', 'input': [{'role': 'user', 'content': ["
             "{'type': 'input_image', 'image_url': 'data:image/png;base64,AA=='}]}]}", 0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
    facts_of(TR_FORMAT_R, "{'model': 'gpt-5', 'input': [{'role': 'user', 'content': ["
             "{'type': 'input_image', 'image_url': 'x'}]}, {'type': 'message', 'role': 'user',"
             " 'content': [{'type': 'input_text', 'text': 'hi'}]}]}", 0, &f);
    CU_ASSERT_FALSE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
}

/* The estimate is count_tokens' (bytes / 4 plus flat costs), only when asked. */
static void test_token_estimate_shared(void)
{
    char body[9000];
    memset(body, 0, sizeof(body));
    char text[8001];
    memset(text, 'a', 8000);
    text[8000] = '\0';
    snprintf(body, sizeof(body), "{\"model\": \"m\", \"messages\": [{\"role\": \"user\","
             " \"content\": \"%s\"}]}", text);
    struct routing_facts f;
    routing_read_facts(TR_FORMAT_A, body, strlen(body), 1, &f);
    CU_ASSERT_EQUAL(f.input_tokens, 2000 + 4 + 8); /* bytes/4 + per message + base */
    routing_read_facts(TR_FORMAT_A, body, strlen(body), 0, &f);
    CU_ASSERT_EQUAL(f.input_tokens, -1);
}

/* The scan beside the tree on bodies that test the rules' edges: duplicate
 * keys (the last wins), values of the wrong type, escapes (the scan gives
 * up, the facts do not change), long models, nesting, and texts that are
 * not JSON for reasons only a full check sees. */
static void test_scan_matches_tree(void)
{
    static const char *const bodies[] = {
        "{'model': 'a', 'model': 'claude-haiku-4'}",
        "{'model': 'claude-haiku-4', 'model': 7}",
        "{'model': ''}",
        "{'model': 'x\\u0041'}",
        "{'mod\\u0065l': 'claude-haiku'}",
        "{'model': 'Claude-3-5-HAIKU-latest-with-a-very-long-name-that-goes-on-and-on-and-on-"
        "past-one-hundred-and-twenty-eight-bytes-of-model-name-claude-haiku-xxxxxxxxxxxxxxxx'}",
        "{'model': 'c\xc3\xa9-haiku-claude'}",
        "{'model': 'm', 'tools': [{'type': 'web_search_1'}], 'tools': [{'type': 'x'}]}",
        "{'model': 'm', 'tools': [{'type': 'x', 'type': 'web_searchy'}, 3, 'web_search']}",
        "{'model': 'm', 'tools': {'type': 'web_search'}}",
        "{'model': 'm', 'tools': [{'type': 'web_searc'}]}",
        "{'model': 'm', 'web_search_options': {}, 'web_search_options': null}",
        "{'model': 'm', 'web_search_options': []}",
        "{'model': 'm', 'thinking': true}",
        "{'model': 'm', 'thinking': true, 'thinking': false}",
        "{'model': 'm', 'thinking': {'type': 'enabled', 'type': 'off'}}",
        "{'model': 'm', 'thinking': {'type': ['enabled']}}",
        "{'model': 'm', 'reasoning_effort': 'high', 'reasoning_effort': 'none'}",
        "{'model': 'm', 'reasoning_effort': 5}",
        "{'model': 'm', 'reasoning': {'effort': 'high'}, 'reasoning': 'high'}",
        "{'model': 'm', 'reasoning': {'effort': null}}",
        "{'messages': [{'role': 'user', 'content': [{'type': 'image'}]}, 5, {'content': []}]}",
        "{'messages': [{'role': 'user', 'content': [{'type': 'image'}], 'role': 'assistant'}]}",
        "{'messages': [{'role': 'user', 'content': [{'type': 'image'}], 'content': 'x'}]}",
        "{'messages': [{'content': [{'type': 'image'}], 'role': 'user'}], 'messages': []}",
        "{'messages': [{'role': 'user', 'content': [{'type': 'tool_result', 'content': ["
        "{'type': 'tool_result', 'content': [{'type': 'image'}]}]}]}]}",
        "{'messages': [{'role': 'user', 'content': [{'content': [{'type': 'image'}],"
        " 'type': 'tool_result'}]}]}",
        "{'messages': [{'role': 'user', 'content': [{'type': 'text', 'content': ["
        "{'type': 'image'}]}]}]}",
        "{'messages': [{'role': 'user', 'content': [{'type': 'image_url'}, {'type': 'input_image'}]}],"
        " 'input': [{'role': 'user', 'content': [{'type': 'image'}]}]}",
        "{'messages': {'role': 'user'}}",
        " \t{'model' : 'claude-haiku' , 'x' : [ 1 , -2.5e3 , true , null , { } , [ ] ] }\r\n",
        "{'model': 'claude-haiku', 'x': 1e400}",
        "{'model': 'claude-haiku', 'x': 12345678901234567890}",
        "{'model': 'claude-haiku', 'x': -9223372036854775808, 'y': 9223372036854775807}",
        "{'model': 'claude-haiku', 'x': 01}",
        "{'model': 'claude-haiku', 'x': '\\ud800'}",
        "{'model': 'claude-haiku', 'x': '\\ud83d\\ude00 \\u00e9 \\n\\\\'}",
        "{'model': 'claude-haiku', 'x': '\\u0000'}",
        "{'model': 'claude-haiku', 'x': '\xc0\xaf'}",
        "{'model': 'claude-haiku', 'x': '\xed\xa0\x80'}",
        "{'model': 'claude-haiku', 'x': '\x01'}",
        "{'model': 'claude-haiku', 'x': tru}",
        "{'model': 'claude-haiku'} x",
        "{'model': 'claude-haiku',}",
        "{'model': 'claude-haiku' 'x': 1}",
        "{'model': 'claude-haiku', 'x': [1 2]}",
        "{'model': 'claude-haiku', 'x': [1}",
        "{'model': 'claude-haiku'",
        "[{'model': 'claude-haiku'}]",
        "'claude-haiku'",
        "",
    };
    for (size_t i = 0; i < ZEN_ARRAY_LEN(bodies); i++) {
        const char *b = tu_q(bodies[i]);
        for (int format = TR_FORMAT_A; format <= TR_FORMAT_R; format++) {
            scan_like_tree(format, b, strlen(b));
            /* and routing_read_facts, scan or not, gives the tree's facts */
            struct routing_facts got, tree;
            routing_read_facts(format, b, strlen(b), 0, &got);
            json_t *doc = zjson_load(b, strlen(b), 0);
            routing_facts_from_doc(format, doc, 0, &tree);
            json_decref(doc);
            CU_ASSERT_STRING_EQUAL(got.model, tree.model);
            CU_ASSERT_EQUAL(got.matches, tree.matches);
        }
    }
    /* a NUL byte is never JSON; a plain body is read by the scan */
    static const char nul[] = "{\"model\": \"claude-haiku\"}\0";
    CU_ASSERT_TRUE(scan_like_tree(TR_FORMAT_A, nul, sizeof(nul) - 1));
    CU_ASSERT_FALSE(scan_like_tree(TR_FORMAT_A, nul, sizeof(nul) - 2));
    /* nesting: deeper than the scan follows gives up; deeper than jansson
     * takes is not JSON */
    char deep[6000];
    size_t n = 0;
    n += (size_t)snprintf(deep, sizeof(deep), "{\"x\":");
    for (int i = 0; i < 2100; i++)
        deep[n++] = '[';
    for (int i = 0; i < 2100; i++)
        deep[n++] = ']';
    deep[n++] = '}';
    CU_ASSERT_TRUE(scan_like_tree(TR_FORMAT_A, deep, n));
    n = (size_t)snprintf(deep, sizeof(deep), "{\"messages\": [{\"role\": \"user\", \"content\": ");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[{\"type\": \"tool_result\", \"content\": ");
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[{\"type\": \"image\"}]");
    for (int i = 0; i < 40; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}]");
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}]}");
    struct routing_facts f;
    CU_ASSERT_TRUE(scan_like_tree(TR_FORMAT_A, deep, n));
    routing_read_facts(TR_FORMAT_A, deep, n, 0, &f);
    CU_ASSERT_TRUE(f.matches & BIT(ZCFG_SCENARIO_IMAGE));
}

static const char routed_cfg[] =
    "{'providers': {'a': {'base_url': 'http://a'}, 'b': {'base_url': 'http://b'},"
    "               'c': {'base_url': 'http://c'}, 'd': {'base_url': 'http://d'}},"
    " 'profiles': {"
    "  'p': {'providers': ['a', 'b'], 'long_context_threshold': 1000,"
    "        'routing': {'think': {'providers': [{'name': 'c', 'model': 'deep'}]},"
    "                    'long_context': {'providers': ['d']},"
    "                    'background': {'providers': ['b'], 'fallback_to_default': false}}},"
    "  'q': {'providers': ['a'], 'scenario_priority': ['longContext', 'background'],"
    "        'routing': {'think': {'providers': ['c']}, 'longContext': {'providers': ['d'],"
    "                    'long_context_threshold': 100}}},"
    "  'plain': ['a', 'b']}}";

static void classify(const struct zcfg *cfg, const char *profile, unsigned matches,
                     int64_t tokens, const struct routing_session *s, struct routing_choice *c)
{
    struct routing_facts f;
    memset(&f, 0, sizeof(f));
    f.matches = matches;
    f.input_tokens = tokens;
    routing_classify(zcfg_find_profile(cfg, profile), &f, s, c);
}

static void test_priority_and_routes(void)
{
    struct zcfg *cfg = load(routed_cfg);
    struct routing_choice c;
    /* webSearch > think: webSearch has no route, think has. */
    classify(cfg, "p", BIT(ZCFG_SCENARIO_WEB_SEARCH) | BIT(ZCFG_SCENARIO_THINK), -1, NULL, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_THINK);
    CU_ASSERT_EQUAL(c.scenario, ZCFG_SCENARIO_THINK);
    /* think > longContext in the default order. */
    classify(cfg, "p", BIT(ZCFG_SCENARIO_THINK), 5000, NULL, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_THINK);
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 1000, NULL, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_LONG_CONTEXT);
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 999, NULL, &c);
    CU_ASSERT_EQUAL(c.route, -1);
    CU_ASSERT_EQUAL(c.scenario, ZCFG_SCENARIO_CODE); /* reported, served by the profile */
    classify(cfg, "p", BIT(ZCFG_SCENARIO_BACKGROUND), 10, NULL, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_BACKGROUND);
    classify(cfg, "p", BIT(ZCFG_SCENARIO_WEB_SEARCH), 10, NULL, &c);
    CU_ASSERT_EQUAL(c.route, -1);
    CU_ASSERT_EQUAL(c.scenario, ZCFG_SCENARIO_WEB_SEARCH);
    classify(cfg, "p", 0, -1, NULL, &c);
    CU_ASSERT_EQUAL(c.route, -1);
    CU_ASSERT_EQUAL(c.scenario, ZCFG_SCENARIO_DEFAULT);
    /* scenario_priority puts longContext first; the route's own threshold applies. */
    classify(cfg, "q", BIT(ZCFG_SCENARIO_THINK), 100, NULL, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_LONG_CONTEXT);
    classify(cfg, "q", BIT(ZCFG_SCENARIO_THINK), 99, NULL, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_THINK);
    CU_ASSERT_EQUAL(routing_long_context_threshold(zcfg_find_profile(cfg, "q")), 100);
    CU_ASSERT_EQUAL(routing_long_context_threshold(zcfg_find_profile(cfg, "plain")), 32000);
    zcfg_unref(cfg);
}

/* A conversation that crossed T stays longContext while it goes on above
 * 5,000 tokens; shrinking below a fifth of its last size clears it. */
static void test_sticky_long_context(void)
{
    struct zcfg *cfg = load("{'providers': {'a': {'base_url': 'http://a'}},"
                            " 'profiles': {'p': {'providers': ['a'],"
                            "  'routing': {'longContext': {'providers': ['a']}}}}}");
    struct routing_choice c;
    struct routing_session s = {1, 40000, "a"};
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 9000, &s, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_LONG_CONTEXT);
    CU_ASSERT_FALSE(c.forget_session);
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 5000, &s, &c);
    CU_ASSERT_EQUAL(c.route, -1); /* not above 5,000 */
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 9000, NULL, &c);
    CU_ASSERT_EQUAL(c.route, -1); /* no memory */
    s.input_tokens = 31999;
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 9000, &s, &c);
    CU_ASSERT_EQUAL(c.route, -1); /* memory below T */
    s.input_tokens = 50000;
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 9999, &s, &c); /* < 0.2 x 50,000 */
    CU_ASSERT_EQUAL(c.route, -1);
    CU_ASSERT_TRUE(c.forget_session);
    classify(cfg, "p", BIT(ZCFG_SCENARIO_CODE), 10000, &s, &c);
    CU_ASSERT_EQUAL(c.route, ZCFG_SCENARIO_LONG_CONTEXT);
    CU_ASSERT_FALSE(c.forget_session);
    zcfg_unref(cfg);
}

/* ---- ordering ---- */

struct env {
    struct zcfg *cfg;
    struct routing_state *st;
    struct routing_provider_view views[8];
};

static void env_init(struct env *e, const char *json_q)
{
    memset(e, 0, sizeof(*e));
    e->cfg = load(json_q);
    e->st = routing_state_new();
}

static void env_free(struct env *e)
{
    zcfg_unref(e->cfg);
    routing_state_free(e->st);
}

static size_t idx(const struct env *e, const char *name)
{
    return (size_t)(zcfg_find_provider(e->cfg, name) - e->cfg->providers);
}

/* The order for one request as "a,b,c" (model overrides as "c=deep"). */
static const char *order_for(struct env *e, const char *profile, int route, const char *model,
                             const char *affinity)
{
    static char out[256];
    struct routing_facts f;
    memset(&f, 0, sizeof(f));
    snprintf(f.model, sizeof(f.model), "%s", model ? model : "");
    f.input_tokens = -1;
    struct routing_choice c = {route < 0 ? ZCFG_SCENARIO_DEFAULT : route, route, 0};
    struct routing_candidate cand[MAXC];
    size_t n = routing_order(e->st, e->cfg, zcfg_find_profile(e->cfg, profile), &c, &f, e->views,
                             affinity, cand, MAXC);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(out);
        snprintf(out + len, sizeof(out) - len, "%s%s%s%s", i ? "," : "",
                 e->cfg->providers[cand[i].provider].name, cand[i].model ? "=" : "",
                 cand[i].model ? cand[i].model : "");
    }
    return out;
}

static const char three_cfg_fmt[] =
    "{'providers': {'a': {'base_url': 'http://a'}, 'b': {'base_url': 'http://b'},"
    "               'c': {'base_url': 'http://c'}},"
    " 'profiles': {'p': {'providers': ['a', 'b', 'c'], 'strategy': '%s'}}}";

static void env_three(struct env *e, const char *strategy)
{
    char json[512];
    snprintf(json, sizeof(json), three_cfg_fmt, strategy);
    env_init(e, json);
}

static void test_failover_cooling_and_disabled(void)
{
    struct env e;
    env_three(&e, "failover");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,b,c");
    e.views[idx(&e, "a")].cooling = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "b,c,a");
    e.views[idx(&e, "b")].cooling = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "c,a,b");
    e.views[idx(&e, "c")].disabled = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,b");
    env_free(&e);
}

static void test_round_robin(void)
{
    struct env e;
    env_three(&e, "round-robin");
    /* Starts at index 0 and advances by one. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,b,c");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "b,c,a");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "c,a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,b,c");
    /* A cooling provider leaves the rotation and goes last. */
    e.views[idx(&e, "b")].cooling = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,c,b"); /* counter 4 % 2 */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "c,a,b");
    env_free(&e);
}

/* A reload keeps the counters: the rotation goes on where it was. */
static void test_round_robin_across_reload(void)
{
    struct env e;
    env_three(&e, "round-robin");
    int count[3] = {0, 0, 0};
    for (int i = 0; i < 30; i++) {
        if (i == 10 || i == 20) {
            char json[512];
            snprintf(json, sizeof(json), three_cfg_fmt, "round-robin");
            zcfg_unref(e.cfg);
            e.cfg = load(json); /* a reload: new config, same state */
        }
        count[order_for(&e, "p", -1, NULL, NULL)[0] - 'a']++;
    }
    CU_ASSERT_EQUAL(count[0], 10);
    CU_ASSERT_EQUAL(count[1], 10);
    CU_ASSERT_EQUAL(count[2], 10);
    env_free(&e);
}

static void count_firsts(struct env *e, const char *profile, int n, int *count)
{
    for (int i = 0; i < n; i++)
        count[order_for(e, profile, -1, NULL, NULL)[0] - 'a']++;
}

static void test_weighted_exact_counts(void)
{
    struct env e;
    env_init(&e, "{'providers': {'a': {'base_url': 'http://a', 'weight': 1},"
                 "               'b': {'base_url': 'http://b'}, 'c': {'base_url': 'http://c'}},"
                 " 'profiles': {'p': {'providers': ['a', 'b'], 'strategy': 'weighted',"
                 "                    'provider_weights': {'a': 3, 'b': 1}},"
                 "              'q': {'providers': ['a', 'b', 'c'], 'strategy': 'weighted',"
                 "                    'provider_weights': {'a': 5, 'b': 1, 'c': 1}},"
                 "              'z': {'providers': ['b', 'c'], 'strategy': 'weighted'},"
                 "              'w': {'providers': ['a', 'b', 'c'], 'strategy': 'weighted'}}}");
    int c1[3] = {0}, c2[3] = {0}, c3[3] = {0}, c4[3] = {0};
    count_firsts(&e, "p", 40, c1);
    CU_ASSERT_EQUAL(c1[0], 30);
    CU_ASSERT_EQUAL(c1[1], 10);
    /* nginx's sequence for 5:1:1 is a a b a c a a: spread, not bunched. */
    const char *seq = "aabacaa";
    for (int i = 0; i < 7; i++)
        CU_ASSERT_EQUAL(order_for(&e, "q", -1, NULL, NULL)[0], seq[i]);
    count_firsts(&e, "q", 993, c2); /* 1,000 picks in all */
    c2[0] += 5, c2[1] += 1, c2[2] += 1;
    CU_ASSERT_EQUAL(c2[0], 714);
    CU_ASSERT_EQUAL(c2[1], 143);
    CU_ASSERT_EQUAL(c2[2], 143);
    /* All weights 0 or missing: each counts 1. */
    count_firsts(&e, "z", 10, c3);
    CU_ASSERT_EQUAL(c3[1], 5);
    CU_ASSERT_EQUAL(c3[2], 5);
    /* Only a has a weight (the provider's own): b and c are never picked... */
    count_firsts(&e, "w", 10, c4);
    CU_ASSERT_EQUAL(c4[0], 10);
    /* ...but still follow as fallbacks, in configured order. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "w", -1, NULL, NULL), "a,b,c");
    /* The pick first, then the rest in configured order; cooling last. */
    e.views[idx(&e, "a")].cooling = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "b,a");
    env_free(&e);
}

static void test_least_latency_and_exploration(void)
{
    struct env e;
    env_three(&e, "least-latency");
    /* No data: configured order. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,b,c");
    e.views[idx(&e, "a")] = (struct routing_provider_view){0, 0, 300, 5};
    e.views[idx(&e, "b")] = (struct routing_provider_view){0, 0, 50, 9};
    e.views[idx(&e, "c")] = (struct routing_provider_view){0, 0, 10, 4}; /* too few samples */
    int explored = 0;
    for (int i = 1; i < 40; i++) { /* requests 2..40: explore on the 20th and 40th */
        const char *o = order_for(&e, "p", -1, NULL, NULL);
        if (strcmp(o, "c,b,a") == 0)
            explored++;
        else
            CU_ASSERT_STRING_EQUAL(o, "b,a,c");
    }
    CU_ASSERT_EQUAL(explored, 2);
    /* Cooling ones last even when fastest. */
    e.views[idx(&e, "b")].cooling = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,c,b");
    CU_ASSERT_DOUBLE_EQUAL(routing_ewma(0, 0, 150), 150, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(routing_ewma(100, 3, 200), 120, 1e-9);
    env_free(&e);
}

static void test_least_cost(void)
{
    struct env e;
    env_init(&e, "{'providers': {'a': {'base_url': 'http://a', 'model': 'claude-opus-4-1'},"
                 "  'b': {'base_url': 'http://b', 'model': 'mystery-model'},"
                 "  'c': {'base_url': 'http://c', 'model': 'claude-haiku-4-5-20251001'},"
                 "  'd': {'base_url': 'http://d'}},"
                 " 'profiles': {'p': {'providers': ['a', 'b', 'c', 'd'], 'strategy': 'least-cost'},"
                 "  'r': {'providers': ['d'], 'routing': {'think': {'strategy': 'least-cost',"
                 "        'providers': [{'name': 'a', 'model': 'deepseek-chat'}, 'd']}}}}}");
    /* d sends the client's model (sonnet 18), c haiku (6), a opus 4.1 (90), b unknown. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, "claude-sonnet-4-5-20250929", NULL),
                           "c,d,a,b");
    e.views[idx(&e, "c")].cooling = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, "claude-sonnet-4-5", NULL), "d,a,b,c");
    /* A route's model override is what is priced. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "r", ZCFG_SCENARIO_THINK, "claude-opus-4-5", NULL),
                           "a=deepseek-chat,d");
    CU_ASSERT_PTR_NOT_NULL(prices_lookup("gpt-4o-mini-2024-07-18"));
    CU_ASSERT_DOUBLE_EQUAL(prices_lookup("gpt-4o-mini-2024-07-18")->input_per_million, 0.15,
                           1e-9);
    CU_ASSERT_DOUBLE_EQUAL(prices_lookup("gpt-4o")->input_per_million, 2.5, 1e-9);
    CU_ASSERT_PTR_NULL(prices_lookup("llama-3"));
    env_free(&e);
}

/* 30 sessions spread 10/10/10 over round-robin; each session's later turns
 * stay on its provider while it is available, and move when it cools. */
static void test_session_affinity(void)
{
    struct env e;
    env_three(&e, "round-robin");
    char last[30];
    int count[3] = {0};
    for (int s = 0; s < 30; s++) {
        last[s] = order_for(&e, "p", -1, NULL, NULL)[0];
        count[last[s] - 'a']++;
    }
    CU_ASSERT_EQUAL(count[0], 10);
    CU_ASSERT_EQUAL(count[1], 10);
    CU_ASSERT_EQUAL(count[2], 10);
    for (int turn = 0; turn < 3; turn++) {
        for (int s = 0; s < 30; s++) {
            char name[2] = {last[s], 0};
            CU_ASSERT_EQUAL(order_for(&e, "p", -1, NULL, name)[0], last[s]);
        }
    }
    /* Moved when cooling, and the strategy picks among the rest. */
    e.views[idx(&e, "b")].cooling = 1;
    CU_ASSERT_NOT_EQUAL(order_for(&e, "p", -1, NULL, "b")[0], 'b');
    /* A provider no longer a candidate: the strategy picks. */
    e.views[idx(&e, "b")].cooling = 0;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, "ghost"), "b,c,a"); /* counter 31 */
    env_free(&e);

    /* Off when configured; failover and least-cost never use it. */
    env_init(&e, "{'providers': {'a': {'base_url': 'http://a'}, 'b': {'base_url': 'http://b'}},"
                 " 'profiles': {'off': {'providers': ['a', 'b'], 'strategy': 'round-robin',"
                 "                      'session_affinity': false},"
                 "              'f': {'providers': ['a', 'b']}}}");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "off", -1, NULL, "b"), "a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "off", -1, NULL, "b"), "b,a");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "off", -1, NULL, "b"), "a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "f", -1, NULL, "b"), "a,b");
    env_free(&e);

    /* No affinity for the session "-", nor for one memory does not know. */
    struct routing_session known = {1, 10, "b"}, unknown = {0, 0, NULL};
    CU_ASSERT_PTR_NULL(routing_affinity_provider("-", &known));
    CU_ASSERT_STRING_EQUAL(routing_affinity_provider("s1", &known), "b");
    CU_ASSERT_PTR_NULL(routing_affinity_provider("s1", &unknown));
    CU_ASSERT_PTR_NULL(routing_affinity_provider("s1", NULL));
}

static void test_routes_models_and_fallback(void)
{
    struct env e;
    env_init(&e, routed_cfg);
    /* The route first with its model, then the profile's untried providers. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", ZCFG_SCENARIO_THINK, "m", NULL), "c=deep,a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", ZCFG_SCENARIO_LONG_CONTEXT, "m", NULL), "d,a,b");
    /* fallback_to_default false: the route alone. */
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", ZCFG_SCENARIO_BACKGROUND, "m", NULL), "b");
    /* A profile provider already in the route is not tried twice. */
    e.views[idx(&e, "c")].disabled = 1;
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", ZCFG_SCENARIO_THINK, "m", NULL), "a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, "m", NULL), "a,b");
    env_free(&e);

    /* Each route has its own round-robin counter (profile:scenario). */
    env_init(&e, "{'providers': {'a': {'base_url': 'http://a'}, 'b': {'base_url': 'http://b'}},"
                 " 'profiles': {'p': {'providers': ['a', 'b'], 'strategy': 'round-robin',"
                 "  'routing': {'think': {'providers': ['a', 'b'], 'strategy': 'round-robin',"
                 "                        'fallback_to_default': false}}}}}");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", ZCFG_SCENARIO_THINK, NULL, NULL), "a,b");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", ZCFG_SCENARIO_THINK, NULL, NULL), "b,a");
    CU_ASSERT_STRING_EQUAL(order_for(&e, "p", -1, NULL, NULL), "b,a");
    env_free(&e);
}

static int collect_counter_n;
static void on_counter(void *ud, const char *key, uint64_t counter, uint64_t explore)
{
    struct routing_state *copy = ud;
    routing_state_restore_counter(copy, key, counter, explore);
    collect_counter_n++;
}

static void on_weight(void *ud, const char *key, const char *provider, int64_t current)
{
    routing_state_restore_weight(ud, key, provider, current);
}

/* The state walks out and back in (state.json) and goes on identically. */
static void test_state_round_trip(void)
{
    struct env e;
    env_init(&e, "{'providers': {'a': {'base_url': 'http://a'}, 'b': {'base_url': 'http://b'}},"
                 " 'profiles': {'w': {'providers': ['a', 'b'], 'strategy': 'weighted',"
                 "                    'provider_weights': {'a': 2, 'b': 1}},"
                 "              'r': {'providers': ['a', 'b'], 'strategy': 'round-robin'}}}");
    order_for(&e, "w", -1, NULL, NULL);
    order_for(&e, "r", -1, NULL, NULL);
    struct routing_state *copy = routing_state_new();
    collect_counter_n = 0;
    routing_state_each(e.st, on_counter, on_weight, copy);
    CU_ASSERT_EQUAL(collect_counter_n, 2);
    char a[64], b[64];
    for (int i = 0; i < 6; i++) {
        snprintf(a, sizeof(a), "%s", order_for(&e, i % 2 ? "w" : "r", -1, NULL, NULL));
        struct routing_state *orig = e.st;
        e.st = copy;
        snprintf(b, sizeof(b), "%s", order_for(&e, i % 2 ? "w" : "r", -1, NULL, NULL));
        e.st = orig;
        CU_ASSERT_STRING_EQUAL(a, b);
    }
    routing_state_free(copy);
    env_free(&e);
}

static int suite_init(void)
{
    return tu_suite_init() || zsec_init();
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("routing", suite_init, tu_suite_clean);
    TU_ADD(s, test_scenario_rules_anthropic);
    TU_ADD(s, test_scenario_rules_openai);
    TU_ADD(s, test_token_estimate_shared);
    TU_ADD(s, test_scan_matches_tree);
    TU_ADD(s, test_priority_and_routes);
    TU_ADD(s, test_sticky_long_context);
    TU_ADD(s, test_failover_cooling_and_disabled);
    TU_ADD(s, test_round_robin);
    TU_ADD(s, test_round_robin_across_reload);
    TU_ADD(s, test_weighted_exact_counts);
    TU_ADD(s, test_least_latency_and_exploration);
    TU_ADD(s, test_least_cost);
    TU_ADD(s, test_session_affinity);
    TU_ADD(s, test_routes_models_and_fallback);
    TU_ADD(s, test_state_round_trip);
}
