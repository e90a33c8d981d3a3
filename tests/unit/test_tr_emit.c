/* Unit tests for the request emitters (zend/translate/tr_emit*.c) and the
 * passthrough strip (tr_passthrough.c): the request cases of
 * docs/translate.md's test list, each from the IR its parser would produce,
 * and one test per emit rule. Expected bodies are JSON literals written with
 * ' for " and compared with json_equal; a mismatch prints both. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tr_ctx.h"
#include "tr_emit_int.h"
#include "tr_request.h"

/* ---- helpers ---- */

/* Parses a literal written with ' for ". */
static json_t *jparse(const char *sq)
{
    char *s = strdup(sq);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t err;
    json_t *j = json_loads(s, JSON_DECODE_ANY, &err);
    if (!j)
        fprintf(stderr, "\nbad literal (%s): %s\n", err.text, s);
    free(s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

/* An IR: the parser's fixed keys with their empty values, then `fields`
 * (the inside of an object literal) on top. */
static json_t *ir_make(const char *fields)
{
    json_t *ir = jparse("{'source':'A','model':'m','system':[],'messages':[],'tools':[],"
                        "'stream':false,'reasoning':{'mode':'off'}}");
    size_t n = strlen(fields) + 3;
    char *obj = malloc(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(obj);
    snprintf(obj, n, "{%s}", fields);
    json_t *extra = jparse(obj);
    free(obj);
    json_object_update(ir, extra);
    json_decref(extra);
    return ir;
}

struct out {
    json_t *body;
    char *raw;
    struct tr_ctx ctx;
};

static const struct tr_emit_opts NO_OPTS;

static void emit_opts(struct out *o, const char *fields, enum tr_format wire,
                      const struct tr_emit_opts *opts)
{
    json_t *ir = ir_make(fields);
    size_t len = 0;
    tr_ctx_init(&o->ctx, TR_FORMAT_A, wire);
    o->raw = tr_request_emit(ir, wire, opts, &o->ctx, &len);
    json_decref(ir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->raw);
    CU_ASSERT_EQUAL(len, strlen(o->raw));
    o->body = json_loads(o->raw, 0, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(o->body);
}

static void emit(struct out *o, const char *fields, enum tr_format wire)
{
    emit_opts(o, fields, wire, &NO_OPTS);
}

static void out_free(struct out *o)
{
    json_decref(o->body);
    free(o->raw);
    tr_ctx_fini(&o->ctx);
}

/* root["a"][0]["b"] is written "a.0.b". */
static json_t *at(json_t *root, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = root;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = json_is_array(cur) ? json_array_get(cur, strtoul(tok, NULL, 10))
                                 : json_object_get(cur, tok);
    return cur;
}

static void check_eq(json_t *got, const char *expected, int line)
{
    json_t *want = jparse(expected);
    int ok = got && json_equal(got, want);
    if (!ok) {
        char *g = got ? json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        char *w = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        fprintf(stderr, "\nline %d:\n  got  %s\n  want %s\n", line, g ? g : "(absent)", w);
        free(g);
        free(w);
    }
    CU_ASSERT_TRUE(ok);
    json_decref(want);
}

#define EQ(body, path, expected) check_eq(at((body), (path)), (expected), __LINE__)
#define BODY_EQ(body, expected) check_eq((body), (expected), __LINE__)
#define ABSENT(body, path) CU_ASSERT_PTR_NULL(at((body), (path)))

/* Shorthands for IR parts. */
#define USER_HI "{'role':'user','parts':[{'type':'text','text':'hi'}]}"
#define TOOL_F "{'name':'f','schema':{'type':'object'},'kind':'function'}"

/* ---- the request cases of the test list ---- */

/* 1: A -> C, the whole body. */
static void test_case01_a_to_c_body(void)
{
    struct out o;
    emit(&o, "'model':'gpt-test','max_tokens':10,'messages':[" USER_HI "]", TR_FORMAT_C);
    BODY_EQ(o.body, "{'model':'gpt-test','messages':[{'role':'user','content':'hi'}],"
                    "'max_completion_tokens':10}");
    CU_ASSERT_STRING_EQUAL(o.ctx.model, "gpt-test");
    out_free(&o);
}

/* 2: R -> A, default max_tokens 32000, the whole body. */
static void test_case02_r_to_a_body(void)
{
    struct out o;
    emit(&o, "'source':'R','model':'gpt-5-codex','stream':true,'messages':[" USER_HI "]",
         TR_FORMAT_A);
    BODY_EQ(o.body, "{'model':'gpt-5-codex','messages':[{'role':'user','content':'hi'}],"
                    "'max_tokens':32000,'stream':true}");
    out_free(&o);
}

#define SYS_AB "'system':[{'text':'A','cache_control':{'type':'ephemeral'}},{'text':'B'}]"

/* 5: array system joined, cache_control stripped for a non-claude model. */
static void test_case05_system_join_no_cache(void)
{
    struct out o;
    emit(&o, "'model':'gpt-test'," SYS_AB ",'messages':[" USER_HI "]", TR_FORMAT_C);
    EQ(o.body, "messages.0", "{'role':'system','content':'A\\n\\nB'}");
    CU_ASSERT_PTR_NULL(strstr(o.raw, "cache_control"));
    out_free(&o);
}

/* 6: a claude model keeps the parts and their cache_control. */
static void test_case06_system_claude_keeps_cache(void)
{
    struct out o;
    emit(&o, "'model':'anthropic/claude-sonnet-4.5'," SYS_AB ",'messages':[" USER_HI "]",
         TR_FORMAT_C);
    EQ(o.body, "messages.0.content",
       "[{'type':'text','text':'A','cache_control':{'type':'ephemeral'}},"
       "{'type':'text','text':'B'}]");
    out_free(&o);
}

/* 7: tool messages first, then one user message with the tool-result image. */
static void test_case07_tool_result_image_moves(void)
{
    struct out o;
    emit(&o,
         "'messages':[{'role':'user','parts':[{'type':'text','text':'note'},"
         "{'type':'tool_result','call_id':'t1','content':[{'type':'text','text':'ok'},"
         "{'type':'image','source':'base64','media_type':'image/png','data':'AAA'}]}]}]",
         TR_FORMAT_C);
    EQ(o.body, "messages",
       "[{'role':'tool','tool_call_id':'t1','content':'ok'},{'role':'user','content':["
       "{'type':'text','text':'note'},{'type':'text','text':'Image returned by tool call t1:'},"
       "{'type':'image_url','image_url':{'url':'data:image/png;base64,AAA'}}]}]");
    out_free(&o);
}

#define ASSIST_THINK(sig)                                                                   \
    "'messages':[" USER_HI ",{'role':'assistant','parts':[{'type':'thinking','text':'x',"    \
    "'signature':'" sig "','origin':'A'},{'type':'tool_call','id':'toolu_1','name':'Read',"  \
    "'args':'{\\'p\\':\\'a\\'}'}]}]"

/* 8: content null beside tool_calls; reasoning_content only from zend1.c. */
static void test_case08_assistant_tool_calls(void)
{
    struct out o;
    emit(&o, ASSIST_THINK("Sreal"), TR_FORMAT_C);
    EQ(o.body, "messages.1",
       "{'role':'assistant','content':null,'tool_calls':[{'id':'toolu_1','type':'function',"
       "'function':{'name':'Read','arguments':'{\\'p\\':\\'a\\'}'}}]}");
    out_free(&o);
    emit(&o, ASSIST_THINK("zend1.c"), TR_FORMAT_C);
    EQ(o.body, "messages.1",
       "{'role':'assistant','content':null,'reasoning_content':'x','tool_calls':[{'id':"
       "'toolu_1','type':'function','function':{'name':'Read','arguments':'{\\'p\\':\\'a\\'}'}}]}");
    out_free(&o);
}

/* 9: any + no parallel -> required + parallel_tool_calls:false; none of the
 * three keys without tools. */
static void test_case09_tool_choice_c(void)
{
    struct out o;
    emit(&o,
         "'messages':[" USER_HI "],'tool_choice':{'mode':'any'},'parallel':false,"
         "'tools':[{'name':'Read','description':'d','schema':{'type':'object'},"
         "'kind':'function'}]",
         TR_FORMAT_C);
    EQ(o.body, "tool_choice", "'required'");
    EQ(o.body, "parallel_tool_calls", "false");
    EQ(o.body, "tools",
       "[{'type':'function','function':{'name':'Read','description':'d',"
       "'parameters':{'type':'object'}}}]");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'tool_choice':{'mode':'any'},'parallel':false",
         TR_FORMAT_C);
    ABSENT(o.body, "tool_choice");
    ABSENT(o.body, "parallel_tool_calls");
    ABSENT(o.body, "tools");
    out_free(&o);
}

#define A70 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define A55 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
/* FNV-1a-32 of 70 x 'a', computed independently. */
#define A70_SHORT A55 "_5904740b"

/* 10: a 70-byte name is shortened to 64 bytes and the pair is recorded. */
static void test_case10_long_tool_name(void)
{
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'tools':[{'name':'" A70 "','schema':{'type':'object'},"
             "'kind':'function'}]",
         TR_FORMAT_C);
    EQ(o.body, "tools.0.function.name", "'" A70_SHORT "'");
    CU_ASSERT_EQUAL(strlen(A70_SHORT), 64);
    CU_ASSERT_EQUAL_FATAL(o.ctx.n_names, 1);
    CU_ASSERT_STRING_EQUAL(o.ctx.names[0].wire, A70_SHORT);
    CU_ASSERT_STRING_EQUAL(o.ctx.names[0].client, A70);
    size_t n;
    const char *client = tr_ctx_client_name(&o.ctx, A70_SHORT, 64, &n);
    CU_ASSERT_EQUAL(n, 70);
    CU_ASSERT_NSTRING_EQUAL(client, A70, 70);
    out_free(&o);
}

/* 11: budget -> reasoning_effort; off -> absent. */
static void test_case11_budget_to_effort_c(void)
{
    static const struct {
        const char *ir, *effort;
    } cases[] = {
        {"'reasoning':{'mode':'budget','budget':1024}", "'low'"},
        {"'reasoning':{'mode':'budget','budget':5000}", "'medium'"},
        {"'reasoning':{'mode':'budget','budget':31999}", "'high'"},
    };
    char fields[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct out o;
        snprintf(fields, sizeof(fields), "'messages':[" USER_HI "],%s", cases[i].ir);
        emit(&o, fields, TR_FORMAT_C);
        EQ(o.body, "reasoning_effort", cases[i].effort);
        out_free(&o);
    }
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'off'}", TR_FORMAT_C);
    ABSENT(o.body, "reasoning_effort");
    out_free(&o);
}

/* 12: include_usage, the first 4 stops, no top_k, no long user, allow-list. */
static void test_case12_params_c(void)
{
    struct out o;
    emit(&o,
         "'messages':[" USER_HI "],'stream':true,'stop':['a','b','c','d','e'],'top_k':5,"
         "'user':'" A70 A70 "uuuuuuuuuu','context_management':{'x':1},'n':1",
         TR_FORMAT_C);
    EQ(o.body, "stream", "true");
    EQ(o.body, "stream_options", "{'include_usage':true}");
    EQ(o.body, "stop", "['a','b','c','d']");
    ABSENT(o.body, "top_k");
    ABSENT(o.body, "user");
    ABSENT(o.body, "context_management");
    ABSENT(o.body, "n");
    out_free(&o);
}

/* 13: URL image and PDF to C. */
static void test_case13_image_url_pdf_c(void)
{
    struct out o;
    emit(&o,
         "'messages':[{'role':'user','parts':[{'type':'image','source':'url',"
         "'url':'https://x/y.png'},{'type':'document','source':'pdf','data':'JVBE'}]}]",
         TR_FORMAT_C);
    EQ(o.body, "messages.0.content",
       "[{'type':'image_url','image_url':{'url':'https://x/y.png'}},{'type':'file','file':"
       "{'filename':'document.pdf','file_data':'data:application/pdf;base64,JVBE'}}]");
    out_free(&o);
}

/* 14: hoisted system to an A string; lone text as string content. */
static void test_case14_system_c_to_a(void)
{
    struct out o;
    emit(&o, "'source':'C','system':[{'text':'S1'},{'text':'S2'}],'messages':[" USER_HI "]",
         TR_FORMAT_A);
    EQ(o.body, "system", "'S1\\n\\nS2'");
    EQ(o.body, "messages", "[{'role':'user','content':'hi'}]");
    out_free(&o);
}

/* 15: sanitised ids on both sides, no empty text block, string tool content. */
static void test_case15_tool_turn_c_to_a(void)
{
    struct out o;
    emit(&o,
         "'source':'C','messages':[{'role':'assistant','parts':[{'type':'text','text':''},"
         "{'type':'tool_call','id':'call:1','name':'f','args':'{\\'a\\':1}'}]},"
         "{'role':'user','parts':[{'type':'tool_result','call_id':'call:1',"
         "'content':[{'type':'text','text':'r'}]}]}]",
         TR_FORMAT_A);
    EQ(o.body, "messages",
       "[{'role':'assistant','content':[{'type':'tool_use','id':'call_1','name':'f',"
       "'input':{'a':1}}]},{'role':'user','content':[{'type':'tool_result',"
       "'tool_use_id':'call_1','content':'r'}]}]");
    out_free(&o);
}

/* 16: default max_tokens, temperature capped at 1, top_p dropped beside it. */
static void test_case16_sampling_c_to_a(void)
{
    struct out o;
    emit(&o, "'source':'C','messages':[" USER_HI "],'temperature':1.5,'top_p':0.9,'n':1",
         TR_FORMAT_A);
    EQ(o.body, "max_tokens", "32000");
    EQ(o.body, "temperature", "1.0");
    ABSENT(o.body, "top_p");
    ABSENT(o.body, "n");
    out_free(&o);
}

/* 17: required + no parallel -> any + disable_parallel_tool_use; auto
 * without tools -> no tool_choice. */
static void test_case17_tool_choice_c_to_a(void)
{
    struct out o;
    emit(&o,
         "'source':'C','messages':[" USER_HI "],'tool_choice':{'mode':'any'},'parallel':false,"
         "'tools':[" TOOL_F "]",
         TR_FORMAT_A);
    EQ(o.body, "tool_choice", "{'type':'any','disable_parallel_tool_use':true}");
    out_free(&o);
    emit(&o, "'source':'C','messages':[" USER_HI "],'tool_choice':{'mode':'auto'}",
         TR_FORMAT_A);
    ABSENT(o.body, "tool_choice");
    ABSENT(o.body, "tools");
    out_free(&o);
}

/* 18: effort high clamped to max_tokens - 1, temperature dropped; forced tool
 * use turns thinking off. */
static void test_case18_effort_to_thinking(void)
{
    struct out o;
    emit(&o,
         "'source':'C','messages':[" USER_HI "],'reasoning':{'mode':'effort','effort':'high'},"
         "'max_tokens':4000,'temperature':0.2",
         TR_FORMAT_A);
    EQ(o.body, "thinking", "{'type':'enabled','budget_tokens':3999}");
    ABSENT(o.body, "temperature");
    out_free(&o);
    emit(&o,
         "'source':'C','messages':[" USER_HI "],'reasoning':{'mode':'effort','effort':'medium'},"
         "'tool_choice':{'mode':'any'},'tools':[" TOOL_F "]",
         TR_FORMAT_A);
    ABSENT(o.body, "thinking");
    out_free(&o);
}

/* 19: a data-URL image as an A base64 image. */
static void test_case19_image_c_to_a(void)
{
    struct out o;
    emit(&o,
         "'source':'C','messages':[{'role':'user','parts':[{'type':'image','source':'base64',"
         "'media_type':'image/jpeg','data':'QQ=='}]}]",
         TR_FORMAT_A);
    EQ(o.body, "messages.0.content",
       "[{'type':'image','source':{'type':'base64','media_type':'image/jpeg','data':'QQ=='}}]");
    out_free(&o);
}

/* 20: R -> A: instructions + developer, a tool turn, function and custom tools. */
static void test_case20_codex_to_a(void)
{
    struct out o;
    emit(&o,
         "'source':'R','system':[{'text':'I'},{'text':'D'}],'messages':[" USER_HI ","
         "{'role':'assistant','parts':[{'type':'tool_call','id':'c1','name':'shell',"
         "'args':'{\\'cmd\\':[\\'ls\\']}'}]},{'role':'user','parts':[{'type':'tool_result',"
         "'call_id':'c1','content':[{'type':'text','text':'a.txt'}]}]}],"
         "'tools':[{'name':'shell','description':'run','schema':{'type':'object',"
         "'properties':{'cmd':{'type':'array'}}},'kind':'function'},{'name':'apply_patch',"
         "'description':'patch','schema':{},'kind':'custom','format':{'type':'grammar'}}]",
         TR_FORMAT_A);
    EQ(o.body, "system", "'I\\n\\nD'");
    EQ(o.body, "messages",
       "[{'role':'user','content':'hi'},{'role':'assistant','content':[{'type':'tool_use',"
       "'id':'c1','name':'shell','input':{'cmd':['ls']}}]},{'role':'user','content':["
       "{'type':'tool_result','tool_use_id':'c1','content':'a.txt'}]}]");
    EQ(o.body, "tools",
       "[{'name':'shell','description':'run','input_schema':{'type':'object',"
       "'properties':{'cmd':{'type':'array'}}}},{'name':'apply_patch','description':'patch',"
       "'input_schema':{'type':'object','properties':{'input':{'type':'string'}},"
       "'required':['input']}}]");
    CU_ASSERT_EQUAL_FATAL(o.ctx.n_custom_tools, 1);
    CU_ASSERT_STRING_EQUAL(o.ctx.custom_tools[0], "apply_patch");
    CU_ASSERT_TRUE(tr_ctx_is_custom(&o.ctx, "apply_patch", 11));
    out_free(&o);
}

#define R_HISTORY(enc)                                                                      \
    "'source':'R','reasoning':{'mode':'effort','effort':'medium'},'tools':[" TOOL_F "],"     \
    "'messages':[" USER_HI ",{'role':'assistant','parts':[{'type':'thinking','text':'t',"    \
    "'signature':'" enc "','origin':'R'},{'type':'tool_call','id':'c1','name':'f',"          \
    "'args':'{}'}]},{'role':'user','parts':[{'type':'tool_result','call_id':'c1',"           \
    "'content':[{'type':'text','text':'ok'}]}]}]"

/* 22: zend's carrier becomes a signed thinking block and thinking stays on;
 * OpenAI's own reasoning is dropped, and then thinking must go too. */
static void test_case22_reasoning_carrier_to_a(void)
{
    struct out o;
    emit(&o, R_HISTORY("zend1.a.SIG"), TR_FORMAT_A);
    EQ(o.body, "messages.1.content",
       "[{'type':'thinking','thinking':'t','signature':'SIG'},"
       "{'type':'tool_use','id':'c1','name':'f','input':{}}]");
    EQ(o.body, "thinking", "{'type':'enabled','budget_tokens':8192}");
    out_free(&o);
    emit(&o, R_HISTORY("gAAAAopenai"), TR_FORMAT_A);
    EQ(o.body, "messages.1.content", "[{'type':'tool_use','id':'c1','name':'f','input':{}}]");
    ABSENT(o.body, "thinking");
    out_free(&o);
}

/* 23: A -> R (the fallback retry body). */
static void test_case23_a_to_r(void)
{
    struct out o;
    emit(&o,
         "'max_tokens':10,'tools':[" TOOL_F "],'messages':[{'role':'user','parts':["
         "{'type':'text','text':'look'}]},{'role':'assistant','parts':[{'type':'tool_call',"
         "'id':'toolu_1','name':'f','args':'{}'}]},{'role':'user','parts':[{'type':"
         "'tool_result','call_id':'toolu_1','content':[{'type':'text','text':'r'}]},"
         "{'type':'image','source':'base64','media_type':'image/png','data':'AAA'}]}]",
         TR_FORMAT_R);
    EQ(o.body, "input",
       "[{'type':'message','role':'user','content':[{'type':'input_text','text':'look'}]},"
       "{'type':'function_call','call_id':'toolu_1','name':'f','arguments':'{}'},"
       "{'type':'function_call_output','call_id':'toolu_1','output':'r'},"
       "{'type':'message','role':'user','content':[{'type':'input_image',"
       "'image_url':'data:image/png;base64,AAA'}]}]");
    EQ(o.body, "store", "false");
    EQ(o.body, "max_output_tokens", "16");
    EQ(o.body, "tools",
       "[{'type':'function','name':'f','parameters':{'type':'object'},'strict':false}]");
    ABSENT(o.body, "messages");
    CU_ASSERT_PTR_NULL(strstr(o.raw, "\"role\":\"tool\""));
    out_free(&o);
}

/* 24: R -> C: text and a custom tool call in one assistant message. */
static void test_case24_custom_call_r_to_c(void)
{
    struct out o;
    emit(&o,
         "'source':'R','messages':[{'role':'assistant','parts':[{'type':'text','text':'ok'},"
         "{'type':'tool_call','id':'c2','name':'apply_patch',"
         "'args':'{\\'input\\':\\'*** Begin Patch\\'}','custom':true}]}]",
         TR_FORMAT_C);
    EQ(o.body, "messages",
       "[{'role':'assistant','content':'ok','tool_calls':[{'id':'c2','type':'function',"
       "'function':{'name':'apply_patch','arguments':'{\\'input\\':\\'*** Begin Patch\\'}'}}]}]");
    out_free(&o);
}

/* 59: passthrough A -> A. */
static void test_case59_passthrough_a(void)
{
    static const char clean[] =
        "{\"model\":\"claude\",  \"messages\":[{\"role\":\"user\",\"content\":\"hi zend1.x\"},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"t\","
        "\"signature\":\"Sreal\"},{\"type\":\"text\",\"text\":\"a\"}]}]}";
    size_t n = 12345;
    CU_ASSERT_PTR_NULL(tr_passthrough_strip(TR_FORMAT_A, clean, strlen(clean), &n));
    CU_ASSERT_EQUAL(n, 12345);   /* untouched */
    static const char tagged[] =
        "{\"model\":\"claude\",\"temperature\":0.7,\"messages\":[{\"role\":\"user\","
        "\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
        "\"thinking\":\"r\",\"signature\":\"zend1.c\"},{\"type\":\"text\",\"text\":\"a\"}]},"
        "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"q\","
        "\"signature\":\"zend1.c\"}]}]}";
    char *out = tr_passthrough_strip(TR_FORMAT_A, tagged, strlen(tagged), &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(n, strlen(out));
    json_t *j = json_loads(out, 0, NULL);
    BODY_EQ(j, "{'model':'claude','temperature':0.7,'messages':[{'role':'user','content':'hi'},"
               "{'role':'assistant','content':[{'type':'text','text':'a'}]}]}");
    json_decref(j);
    free(out);
}

/* ---- the rules, one by one ---- */

static void test_fnv1a_vectors(void)
{
    CU_ASSERT_EQUAL(tr_fnv1a32("", 0), 0x811c9dc5u);
    CU_ASSERT_EQUAL(tr_fnv1a32("a", 1), 0xe40c292cu);
    CU_ASSERT_EQUAL(tr_fnv1a32("foobar", 6), 0xbf9cf968u);
}

static void test_sanitize_id(void)
{
    struct tr_emit e = {0};
    static const struct {
        const char *in, *out;
    } pairs[] = {
        {"functions.Bash:0", "functions_Bash_0"},
        {"toolu_01-AbZ", "toolu_01-AbZ"},
        {"a b/c\xc3\xa9", "a_b_c__"},
        {"", "toolu_zend_0"},
        {"", "toolu_zend_1"},
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char *s = tr_sanitize_id(&e, pairs[i].in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, pairs[i].out);
        free(s);
    }
}

/* tool_use and tool_result ids go through the same function, so they match. */
static void test_sanitize_id_pairs_in_a(void)
{
    struct out o;
    emit(&o,
         "'messages':[{'role':'assistant','parts':[{'type':'tool_call','id':'functions.Bash:0',"
         "'name':'Bash','args':''}]},{'role':'user','parts':[{'type':'tool_result',"
         "'call_id':'functions.Bash:0','content':[],'is_error':true}]}]",
         TR_FORMAT_A);
    EQ(o.body, "messages",
       "[{'role':'assistant','content':[{'type':'tool_use','id':'functions_Bash_0',"
       "'name':'Bash','input':{}}]},{'role':'user','content':[{'type':'tool_result',"
       "'tool_use_id':'functions_Bash_0','is_error':true}]}]");
    out_free(&o);
}

#define X64 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"

static void test_r_call_id_hash(void)
{
    json_t *j = tr_r_call_id(X64);
    CU_ASSERT_STRING_EQUAL(json_string_value(j), X64);   /* 64 bytes: kept */
    json_decref(j);
    j = tr_r_call_id(X64 "x");
    CU_ASSERT_STRING_EQUAL(json_string_value(j), "call_b42b1787");
    json_decref(j);
    struct out o;
    emit(&o,
         "'messages':[{'role':'assistant','parts':[{'type':'tool_call','id':'" X64 "x',"
         "'name':'f','args':'{}'}]},{'role':'user','parts':[{'type':'tool_result',"
         "'call_id':'" X64 "x','content':[{'type':'text','text':'r'}]}]}]",
         TR_FORMAT_R);
    EQ(o.body, "input.0.call_id", "'call_b42b1787'");
    EQ(o.body, "input.1.call_id", "'call_b42b1787'");
    out_free(&o);
}

static void test_short_names(void)
{
    char buf[TR_NAME_MAX + 1];
    CU_ASSERT_EQUAL(tr_short_name("Read", buf), 0);
    CU_ASSERT_STRING_EQUAL(buf, "Read");
    CU_ASSERT_EQUAL(tr_short_name(X64, buf), 0);   /* 64 clean bytes fit */
    CU_ASSERT_STRING_EQUAL(buf, X64);
    CU_ASSERT_EQUAL(tr_short_name("my.tool", buf), 1);   /* short but not clean */
    CU_ASSERT_STRING_EQUAL(buf, "my_tool_177d3031");
    CU_ASSERT_EQUAL(tr_short_name(A70, buf), 1);
    CU_ASSERT_STRING_EQUAL(buf, A70_SHORT);
}

#define MCP73 "mcp__server__tttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"
#define MCP73_SHORT "mcp__server__tttttttttttttttttttttttttttttttttttttttttt_df5eea4c"

/* The same name in a definition, a history call and tool_choice: one wire
 * name everywhere, one recorded pair. */
static void test_short_names_everywhere(void)
{
    static const char ir[] =
        "'tools':[{'name':'" MCP73 "','schema':{'type':'object'},'kind':'function'}],"
        "'tool_choice':{'mode':'tool','name':'" MCP73 "'},"
        "'messages':[" USER_HI ",{'role':'assistant','parts':[{'type':'tool_call','id':'c',"
        "'name':'" MCP73 "','args':'{}'}]}]";
    struct out o;
    emit(&o, ir, TR_FORMAT_C);
    EQ(o.body, "tools.0.function.name", "'" MCP73_SHORT "'");
    EQ(o.body, "messages.1.tool_calls.0.function.name", "'" MCP73_SHORT "'");
    EQ(o.body, "tool_choice", "{'type':'function','function':{'name':'" MCP73_SHORT "'}}");
    CU_ASSERT_EQUAL(o.ctx.n_names, 1);
    out_free(&o);
    emit(&o, ir, TR_FORMAT_R);
    EQ(o.body, "tools.0.name", "'" MCP73_SHORT "'");
    EQ(o.body, "input.1.name", "'" MCP73_SHORT "'");
    EQ(o.body, "tool_choice", "{'type':'function','name':'" MCP73_SHORT "'}");
    CU_ASSERT_EQUAL_FATAL(o.ctx.n_names, 1);
    CU_ASSERT_STRING_EQUAL(o.ctx.names[0].client, MCP73);
    out_free(&o);
    emit(&o, ir, TR_FORMAT_A);   /* A takes the name as it is */
    EQ(o.body, "tools.0.name", "'" MCP73 "'");
    EQ(o.body, "tool_choice", "{'type':'tool','name':'" MCP73 "'}");
    CU_ASSERT_EQUAL(o.ctx.n_names, 0);
    out_free(&o);
}

static void test_effort_tables(void)
{
    CU_ASSERT_STRING_EQUAL(tr_budget_to_effort(0), "low");
    CU_ASSERT_STRING_EQUAL(tr_budget_to_effort(1024), "low");
    CU_ASSERT_STRING_EQUAL(tr_budget_to_effort(1025), "medium");
    CU_ASSERT_STRING_EQUAL(tr_budget_to_effort(8192), "medium");
    CU_ASSERT_STRING_EQUAL(tr_budget_to_effort(8193), "high");
    CU_ASSERT_STRING_EQUAL(tr_budget_to_effort(24576), "high");
    CU_ASSERT_EQUAL(tr_effort_to_budget("none"), 0);
    CU_ASSERT_EQUAL(tr_effort_to_budget("minimal"), 0);
    CU_ASSERT_EQUAL(tr_effort_to_budget("low"), 2048);
    CU_ASSERT_EQUAL(tr_effort_to_budget("medium"), 8192);
    CU_ASSERT_EQUAL(tr_effort_to_budget("high"), 16384);
    CU_ASSERT_EQUAL(tr_effort_to_budget("xhigh"), 24576);
    CU_ASSERT_EQUAL(tr_effort_to_budget("max"), 31999);
    CU_ASSERT_EQUAL(tr_effort_to_budget("bogus"), 0);
}

/* Every effort to A with room: the table; none/minimal: no thinking. */
static void test_effort_to_a_budget(void)
{
    static const struct {
        const char *effort;
        const char *thinking; /* NULL: absent */
    } cases[] = {
        {"none", NULL},
        {"minimal", NULL},
        {"low", "{'type':'enabled','budget_tokens':2048}"},
        {"medium", "{'type':'enabled','budget_tokens':8192}"},
        {"high", "{'type':'enabled','budget_tokens':16384}"},
        {"xhigh", "{'type':'enabled','budget_tokens':24576}"},
        {"max", "{'type':'enabled','budget_tokens':31999}"},
    };
    char fields[256];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct out o;
        snprintf(fields, sizeof(fields),
                 "'messages':[" USER_HI "],'reasoning':{'mode':'effort','effort':'%s'}",
                 cases[i].effort);
        emit(&o, fields, TR_FORMAT_A);
        if (cases[i].thinking)
            EQ(o.body, "thinking", cases[i].thinking);
        else
            ABSENT(o.body, "thinking");
        out_free(&o);
    }
}

/* The budget is clamped to max_tokens - 1; below 1024 thinking is off and
 * sampling comes back. */
static void test_max_tokens_clamp(void)
{
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'max_tokens':20000,'reasoning':{'mode':'effort',"
             "'effort':'max'}",
         TR_FORMAT_A);
    EQ(o.body, "thinking", "{'type':'enabled','budget_tokens':19999}");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'max_tokens':1025,'reasoning':{'mode':'budget',"
             "'budget':5000}",
         TR_FORMAT_A);
    EQ(o.body, "thinking", "{'type':'enabled','budget_tokens':1024}");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'max_tokens':1024,'temperature':0.5,"
             "'reasoning':{'mode':'budget','budget':5000}",
         TR_FORMAT_A);
    ABSENT(o.body, "thinking");
    EQ(o.body, "temperature", "0.5");
    out_free(&o);
}

/* Provider thinking_mode adaptive: {type:adaptive} + output_config.effort,
 * and no thinking key at all when off. */
static void test_adaptive_mode(void)
{
    struct tr_emit_opts ad = {.thinking_adaptive = 1};
    struct out o;
    emit_opts(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'effort','effort':'high'}",
              TR_FORMAT_A, &ad);
    EQ(o.body, "thinking", "{'type':'adaptive'}");
    EQ(o.body, "output_config", "{'effort':'high'}");
    out_free(&o);
    emit_opts(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'budget','budget':5000}",
              TR_FORMAT_A, &ad);
    EQ(o.body, "thinking", "{'type':'adaptive'}");
    EQ(o.body, "output_config", "{'effort':'medium'}");
    out_free(&o);
    emit_opts(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'adaptive'}", TR_FORMAT_A, &ad);
    EQ(o.body, "thinking", "{'type':'adaptive'}");
    ABSENT(o.body, "output_config");
    out_free(&o);
    emit_opts(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'effort','effort':'minimal'}",
              TR_FORMAT_A, &ad);
    ABSENT(o.body, "thinking");
    ABSENT(o.body, "output_config");
    out_free(&o);
    emit_opts(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'off'}", TR_FORMAT_A, &ad);
    ABSENT(o.body, "thinking");
    out_free(&o);
}

/* Adaptive from the client towards C/R: its effort, xhigh/max as high. */
static void test_adaptive_to_openai(void)
{
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'adaptive','effort':'max'}",
         TR_FORMAT_R);
    EQ(o.body, "reasoning", "{'effort':'high'}");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'adaptive'}", TR_FORMAT_C);
    ABSENT(o.body, "reasoning_effort");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'reasoning':{'mode':'effort','effort':'minimal'}",
         TR_FORMAT_C);
    EQ(o.body, "reasoning_effort", "'minimal'");   /* C <-> R verbatim */
    out_free(&o);
}

static void test_drop_sampling(void)
{
    struct tr_emit_opts ds = {.drop_sampling = 1};
    static const char ir[] = "'messages':[" USER_HI "],'temperature':0.5,'top_k':3";
    struct out o;
    emit_opts(&o, ir, TR_FORMAT_A, &ds);
    ABSENT(o.body, "temperature");
    ABSENT(o.body, "top_k");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_A);
    EQ(o.body, "temperature", "0.5");
    EQ(o.body, "top_k", "3");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'top_p':0.9", TR_FORMAT_A);
    EQ(o.body, "top_p", "0.9");   /* without temperature it stays */
    out_free(&o);
    emit_opts(&o, "'messages':[" USER_HI "],'top_p':0.9", TR_FORMAT_A, &ds);
    ABSENT(o.body, "top_p");
    out_free(&o);
}

/* stream_options only with stream; no stream key when not streaming. */
static void test_include_usage_only_with_stream(void)
{
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'stream':false,'include_usage':true", TR_FORMAT_C);
    ABSENT(o.body, "stream");
    ABSENT(o.body, "stream_options");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'stream':true", TR_FORMAT_R);
    EQ(o.body, "stream", "true");
    ABSENT(o.body, "stream_options");
    out_free(&o);
}

static void test_user_length(void)
{
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'user':'" X64 "'", TR_FORMAT_C);
    EQ(o.body, "user", "'" X64 "'");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'user':'" X64 "'", TR_FORMAT_R);
    EQ(o.body, "user", "'" X64 "'");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'user':'" X64 "x'", TR_FORMAT_R);
    ABSENT(o.body, "user");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'user':'" X64 "x'", TR_FORMAT_A);
    EQ(o.body, "metadata", "{'user_id':'" X64 "x'}");
    out_free(&o);
}

#define CACHED_USER                                                                         \
    "'messages':[{'role':'user','parts':[{'type':'text','text':'hi',"                        \
    "'cache_control':{'type':'ephemeral'}}]}]"

static void test_cache_control_claude_rule(void)
{
    struct out o;
    emit(&o, "'model':'openrouter/Anthropic/CLAUDE-opus'," CACHED_USER, TR_FORMAT_C);
    EQ(o.body, "messages.0.content",
       "[{'type':'text','text':'hi','cache_control':{'type':'ephemeral'}}]");
    out_free(&o);
    emit(&o, "'model':'gpt-4o'," CACHED_USER, TR_FORMAT_C);
    EQ(o.body, "messages.0.content", "'hi'");
    out_free(&o);
    emit(&o, "'model':'claude-x'," SYS_AB "," CACHED_USER, TR_FORMAT_R);
    CU_ASSERT_PTR_NULL(strstr(o.raw, "cache_control"));
    EQ(o.body, "instructions", "'A\\n\\nB'");
    out_free(&o);
    emit(&o, "'model':'gpt-4o'," SYS_AB "," CACHED_USER, TR_FORMAT_A);
    EQ(o.body, "system",
       "[{'type':'text','text':'A','cache_control':{'type':'ephemeral'}},"
       "{'type':'text','text':'B'}]");
    EQ(o.body, "messages.0.content",
       "[{'type':'text','text':'hi','cache_control':{'type':'ephemeral'}}]");
    out_free(&o);
}

static void test_max_tokens_variants(void)
{
    struct tr_emit_opts legacy = {.max_tokens_legacy = 1};
    struct tr_emit_opts dflt = {.default_max_tokens = 4096};
    struct out o;
    emit_opts(&o, "'messages':[" USER_HI "],'max_tokens':100", TR_FORMAT_C, &legacy);
    EQ(o.body, "max_tokens", "100");
    ABSENT(o.body, "max_completion_tokens");
    out_free(&o);
    emit_opts(&o, "'messages':[" USER_HI "]", TR_FORMAT_A, &dflt);
    EQ(o.body, "max_tokens", "4096");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'max_tokens':100", TR_FORMAT_R);
    EQ(o.body, "max_output_tokens", "100");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "]", TR_FORMAT_R);
    ABSENT(o.body, "max_output_tokens");
    out_free(&o);
}

static void test_stop_per_wire(void)
{
    static const char ir[] = "'messages':[" USER_HI "],'stop':['a','b','c','d','e']";
    struct out o;
    emit(&o, ir, TR_FORMAT_A);
    EQ(o.body, "stop_sequences", "['a','b','c','d','e']");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_R);
    ABSENT(o.body, "stop");
    ABSENT(o.body, "stop_sequences");
    out_free(&o);
}

/* A: parallel=false without a choice, and never on none. */
static void test_parallel_to_a(void)
{
    struct out o;
    emit(&o, "'messages':[" USER_HI "],'parallel':false,'tools':[" TOOL_F "]", TR_FORMAT_A);
    EQ(o.body, "tool_choice", "{'type':'auto','disable_parallel_tool_use':true}");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'parallel':false,'tool_choice':{'mode':'none'},"
             "'tools':[" TOOL_F "]",
         TR_FORMAT_A);
    EQ(o.body, "tool_choice", "{'type':'none'}");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'parallel':true,'tool_choice':{'mode':'tool',"
             "'name':'f'},'tools':[" TOOL_F "]",
         TR_FORMAT_A);
    EQ(o.body, "tool_choice", "{'type':'tool','name':'f'}");
    out_free(&o);
}

/* Tools to R: strict false unless true; custom tools as custom; schema fixes. */
static void test_tools_to_r(void)
{
    struct out o;
    emit(&o,
         "'messages':[" USER_HI "],'tool_choice':{'mode':'tool','name':'apply_patch'},"
         "'parallel':true,'tools':[{'name':'f','kind':'function','strict':true,"
         "'schema':{'properties':{}}},{'name':'g','kind':'function','description':'G'},"
         "{'name':'apply_patch','description':'P','kind':'custom',"
         "'format':{'type':'grammar','syntax':'lark','definition':'x'},'schema':{}}]",
         TR_FORMAT_R);
    EQ(o.body, "tools",
       "[{'type':'function','name':'f','parameters':{'properties':{},'type':'object'},"
       "'strict':true},{'type':'function','name':'g','description':'G','parameters':"
       "{'type':'object','properties':{}},'strict':false},{'type':'custom',"
       "'name':'apply_patch','description':'P','format':{'type':'grammar','syntax':'lark',"
       "'definition':'x'}}]");
    EQ(o.body, "tool_choice", "{'type':'custom','name':'apply_patch'}");
    EQ(o.body, "parallel_tool_calls", "true");
    out_free(&o);
}

/* Custom tools to C are functions with the input schema; history custom
 * calls and outputs to R keep their custom item types. */
static void test_custom_tools_c_and_r(void)
{
    static const char ir[] =
        "'source':'R','tools':[{'name':'apply_patch','kind':'custom','schema':{}}],"
        "'messages':[" USER_HI ",{'role':'assistant','parts':[{'type':'tool_call','id':'c2',"
        "'name':'apply_patch','args':'{\\'input\\':\\'P\\'}','custom':true}]},"
        "{'role':'user','parts':[{'type':'tool_result','call_id':'c2','custom':true,"
        "'content':[{'type':'text','text':'done'}]}]}]";
    struct out o;
    emit(&o, ir, TR_FORMAT_C);
    EQ(o.body, "tools",
       "[{'type':'function','function':{'name':'apply_patch','parameters':{'type':'object',"
       "'properties':{'input':{'type':'string'}},'required':['input']}}}]");
    CU_ASSERT_TRUE(tr_ctx_is_custom(&o.ctx, "apply_patch", 11));
    out_free(&o);
    emit(&o, ir, TR_FORMAT_R);
    EQ(o.body, "input.1",
       "{'type':'custom_tool_call','call_id':'c2','name':'apply_patch','input':'P'}");
    EQ(o.body, "input.2", "{'type':'custom_tool_call_output','call_id':'c2','output':'done'}");
    out_free(&o);
}

static void test_response_format(void)
{
    static const char ir[] =
        "'messages':[" USER_HI "],'response_format':{'type':'json_schema','name':'n',"
        "'schema':{'type':'object'},'strict':true}";
    struct out o;
    emit(&o, ir, TR_FORMAT_C);
    EQ(o.body, "response_format",
       "{'type':'json_schema','json_schema':{'name':'n','schema':{'type':'object'},"
       "'strict':true}}");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_R);
    EQ(o.body, "text",
       "{'format':{'type':'json_schema','name':'n','schema':{'type':'object'},'strict':true}}");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_A);
    ABSENT(o.body, "response_format");
    ABSENT(o.body, "text");
    out_free(&o);
    emit(&o, "'messages':[" USER_HI "],'response_format':{'type':'json_object'}", TR_FORMAT_C);
    EQ(o.body, "response_format", "{'type':'json_object'}");
    out_free(&o);
}

/* The thinking-with-tools invariant on A. */
static void test_thinking_with_tools_invariant(void)
{
    static const char fmt[] =
        "'reasoning':{'mode':'budget','budget':4096},'tools':[" TOOL_F "],"
        "'messages':[" USER_HI ",{'role':'assistant','parts':[%s{'type':'tool_call','id':'c',"
        "'name':'f','args':'{}'}]},{'role':'user','parts':[{'type':'tool_result',"
        "'call_id':'c','content':[]}]}]";
    char fields[1024];
    struct out o;
    snprintf(fields, sizeof(fields), fmt, "");
    emit(&o, fields, TR_FORMAT_A);
    ABSENT(o.body, "thinking");
    out_free(&o);
    snprintf(fields, sizeof(fields), fmt,
             "{'type':'thinking','text':'t','signature':'Sreal','origin':'A'},");
    emit(&o, fields, TR_FORMAT_A);
    EQ(o.body, "thinking", "{'type':'enabled','budget_tokens':4096}");
    out_free(&o);
    /* a zend1.c carrier is dropped, so the turn has no thinking any more */
    snprintf(fields, sizeof(fields), fmt,
             "{'type':'thinking','text':'t','signature':'zend1.c','origin':'A'},");
    emit(&o, fields, TR_FORMAT_A);
    ABSENT(o.body, "thinking");
    out_free(&o);
}

/* Carriers per wire: A redacted from zend1.ar., C drops all but zend1.c,
 * R drops all thinking. */
static void test_carriers(void)
{
    static const char ir[] =
        "'messages':[" USER_HI ",{'role':'assistant','parts':[{'type':'text','text':'a'},"
        "{'type':'thinking','text':'','signature':'zend1.ar.DATA','origin':'R'},"
        "{'type':'thinking','text':'s','signature':'zend1.r','origin':'A'},"
        "{'type':'redacted','data':'RD'},"
        "{'type':'thinking','text':'c1','signature':'zend1.c','origin':'C'},"
        "{'type':'thinking','text':'c2','signature':'zend1.c','origin':'C'}]}]";
    struct out o;
    emit(&o, ir, TR_FORMAT_A);
    EQ(o.body, "messages.1.content",
       "[{'type':'redacted_thinking','data':'DATA'},{'type':'redacted_thinking','data':'RD'},"
       "{'type':'text','text':'a'}]");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_C);
    EQ(o.body, "messages.1", "{'role':'assistant','content':'a','reasoning_content':'c1c2'}");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_R);
    EQ(o.body, "input.1",
       "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'a',"
       "'annotations':[]}]}");
    CU_ASSERT_EQUAL(json_array_size(at(o.body, "input")), 2);
    CU_ASSERT_PTR_NULL(strstr(o.raw, "reasoning"));
    out_free(&o);
}

/* A structure: order thinking -> text -> tool_use, tool_result first, empty
 * text and empty messages dropped. */
static void test_a_structure(void)
{
    struct out o;
    emit(&o,
         "'messages':[{'role':'user','parts':[{'type':'text','text':'see'},"
         "{'type':'tool_result','call_id':'c','content':[{'type':'text','text':'r1'},"
         "{'type':'text','text':'r2'}]}]},{'role':'assistant','parts':[{'type':'text',"
         "'text':''}]},{'role':'assistant','parts':[{'type':'tool_call','id':'d','name':'f',"
         "'args':'\\'{\\\\\\'x\\\\\\':1}\\''},{'type':'text','text':'t'},{'type':'thinking',"
         "'text':'h','signature':'S','origin':'A'}]}]",
         TR_FORMAT_A);
    EQ(o.body, "messages",
       "[{'role':'user','content':[{'type':'tool_result','tool_use_id':'c','content':["
       "{'type':'text','text':'r1'},{'type':'text','text':'r2'}]},{'type':'text','text':'see'}]},"
       "{'role':'assistant','content':[{'type':'thinking','thinking':'h','signature':'S'},"
       "{'type':'text','text':'t'},{'type':'tool_use','id':'d','name':'f','input':{'x':1}}]}]");
    out_free(&o);
}

/* Documents and file ids on each wire. */
static void test_documents_and_files(void)
{
    static const char ir[] =
        "'messages':[{'role':'user','parts':[{'type':'document','source':'text','data':'body',"
        "'title':'T'},{'type':'document','source':'url','url':'https://d'},"
        "{'type':'image','source':'file','file_id':'file-1','family':'R'},"
        "{'type':'document','source':'pdf','data':'JVBE','title':'x.pdf'}]}]";
    struct out o;
    emit(&o, ir, TR_FORMAT_A);
    EQ(o.body, "messages.0.content",
       "[{'type':'document','source':{'type':'text','media_type':'text/plain','data':'body'},"
       "'title':'T'},{'type':'document','source':{'type':'url','url':'https://d'}},"
       "{'type':'text','text':'[file omitted: file-1]'},{'type':'document','source':{'type':"
       "'base64','media_type':'application/pdf','data':'JVBE'},'title':'x.pdf'}]");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_C);
    EQ(o.body, "messages.0.content",
       "[{'type':'text','text':'T\\n\\nbody'},{'type':'text','text':"
       "'[document omitted: https://d]'},{'type':'text','text':'[file omitted: file-1]'},"
       "{'type':'file','file':{'filename':'x.pdf','file_data':'data:application/pdf;base64,"
       "JVBE'}}]");
    out_free(&o);
    emit(&o, ir, TR_FORMAT_R);
    EQ(o.body, "input.0.content",
       "[{'type':'input_text','text':'T\\n\\nbody'},{'type':'input_file','file_url':"
       "'https://d'},{'type':'input_image','file_id':'file-1'},{'type':'input_file',"
       "'filename':'x.pdf','file_data':'data:application/pdf;base64,JVBE'}]");
    out_free(&o);
}

/* C: an assistant turn with neither text nor tool calls is dropped; a tool
 * result with images goes to R as an array. */
static void test_dropped_and_arrays(void)
{
    struct out o;
    emit(&o,
         "'messages':[" USER_HI ",{'role':'assistant','parts':[{'type':'thinking','text':'t',"
         "'signature':'S','origin':'A'}]}]",
         TR_FORMAT_C);
    CU_ASSERT_EQUAL(json_array_size(at(o.body, "messages")), 1);
    out_free(&o);
    emit(&o,
         "'messages':[{'role':'user','parts':[{'type':'tool_result','call_id':'c','content':["
         "{'type':'text','text':'t'},{'type':'image','source':'url','url':'https://i'}]}]}]",
         TR_FORMAT_R);
    EQ(o.body, "input",
       "[{'type':'function_call_output','call_id':'c','output':[{'type':'input_text',"
       "'text':'t'},{'type':'input_image','image_url':'https://i'}]}]");
    out_free(&o);
}

/* ctx->model follows the last emit (the old one is freed: ASan/valgrind). */
static void test_ctx_model_replaced(void)
{
    json_t *ir1 = ir_make("'model':'one','messages':[" USER_HI "]");
    json_t *ir2 = ir_make("'model':'two','messages':[" USER_HI "]");
    struct tr_ctx ctx;
    tr_ctx_init(&ctx, TR_FORMAT_A, TR_FORMAT_C);
    size_t len;
    char *a = tr_request_emit(ir1, TR_FORMAT_C, NULL, &ctx, &len);
    CU_ASSERT_STRING_EQUAL(ctx.model, "one");
    char *b = tr_request_emit(ir2, TR_FORMAT_C, NULL, &ctx, &len);
    CU_ASSERT_STRING_EQUAL(ctx.model, "two");
    CU_ASSERT_STRING_EQUAL(b, "{\"model\":\"two\",\"messages\":[{\"role\":\"user\","
                              "\"content\":\"hi\"}]}");
    free(a);
    free(b);
    tr_ctx_fini(&ctx);
    json_decref(ir1);
    json_decref(ir2);
}

/* Reals are printed short: 0.2 as 0.2. */
static void test_real_format(void)
{
    struct out o;
    emit(&o, "'model':'g','messages':[],'temperature':0.2", TR_FORMAT_C);
    CU_ASSERT_STRING_EQUAL(o.raw, "{\"model\":\"g\",\"messages\":[],\"temperature\":0.2}");
    out_free(&o);
}

/* R passthrough: zend's reasoning items go, others stay; untagged bodies
 * and other formats are left alone. */
static void test_passthrough_r(void)
{
    static const char tagged[] =
        "{\"model\":\"gpt-5\",\"input\":[{\"type\":\"reasoning\",\"summary\":[],"
        "\"encrypted_content\":\"zend1.a.SIG\"},{\"type\":\"reasoning\",\"summary\":[],"
        "\"encrypted_content\":\"gAAAA\"},{\"role\":\"user\",\"content\":\"hi\"}]}";
    size_t n = 0;
    char *out = tr_passthrough_strip(TR_FORMAT_R, tagged, strlen(tagged), &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    CU_ASSERT_EQUAL(n, strlen(out));
    json_t *j = json_loads(out, 0, NULL);
    BODY_EQ(j, "{'model':'gpt-5','input':[{'type':'reasoning','summary':[],"
               "'encrypted_content':'gAAAA'},{'role':'user','content':'hi'}]}");
    json_decref(j);
    free(out);
    static const char clean[] = "{\"input\":\"zend1.a.x is just text\"}";
    CU_ASSERT_PTR_NULL(tr_passthrough_strip(TR_FORMAT_R, clean, strlen(clean), &n));
    CU_ASSERT_PTR_NULL(tr_passthrough_strip(TR_FORMAT_C, tagged, strlen(tagged), &n));
    static const char bad[] = "not json zend1.";
    CU_ASSERT_PTR_NULL(tr_passthrough_strip(TR_FORMAT_A, bad, strlen(bad), &n));
}

/* A passthrough: stripping re-checks the invariant and turns thinking off
 * when the last tool turn lost its thinking. */
static void test_passthrough_a_invariant(void)
{
    static const char body[] =
        "{\"thinking\":{\"type\":\"enabled\",\"budget_tokens\":2048},\"messages\":["
        "{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":["
        "{\"type\":\"thinking\",\"thinking\":\"r\",\"signature\":\"zend1.c\"},"
        "{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":{}}]}]}";
    size_t n = 0;
    char *out = tr_passthrough_strip(TR_FORMAT_A, body, strlen(body), &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    json_t *j = json_loads(out, 0, NULL);
    BODY_EQ(j, "{'messages':[{'role':'user','content':'hi'},{'role':'assistant','content':["
               "{'type':'tool_use','id':'t','name':'f','input':{}}]}]}");
    json_decref(j);
    free(out);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("tr_emit_cases", NULL, NULL);
    TU_ADD(s, test_case01_a_to_c_body);
    TU_ADD(s, test_case02_r_to_a_body);
    TU_ADD(s, test_case05_system_join_no_cache);
    TU_ADD(s, test_case06_system_claude_keeps_cache);
    TU_ADD(s, test_case07_tool_result_image_moves);
    TU_ADD(s, test_case08_assistant_tool_calls);
    TU_ADD(s, test_case09_tool_choice_c);
    TU_ADD(s, test_case10_long_tool_name);
    TU_ADD(s, test_case11_budget_to_effort_c);
    TU_ADD(s, test_case12_params_c);
    TU_ADD(s, test_case13_image_url_pdf_c);
    TU_ADD(s, test_case14_system_c_to_a);
    TU_ADD(s, test_case15_tool_turn_c_to_a);
    TU_ADD(s, test_case16_sampling_c_to_a);
    TU_ADD(s, test_case17_tool_choice_c_to_a);
    TU_ADD(s, test_case18_effort_to_thinking);
    TU_ADD(s, test_case19_image_c_to_a);
    TU_ADD(s, test_case20_codex_to_a);
    TU_ADD(s, test_case22_reasoning_carrier_to_a);
    TU_ADD(s, test_case23_a_to_r);
    TU_ADD(s, test_case24_custom_call_r_to_c);
    TU_ADD(s, test_case59_passthrough_a);

    CU_pSuite r = CU_add_suite("tr_emit_rules", NULL, NULL);
    TU_ADD(r, test_fnv1a_vectors);
    TU_ADD(r, test_sanitize_id);
    TU_ADD(r, test_sanitize_id_pairs_in_a);
    TU_ADD(r, test_r_call_id_hash);
    TU_ADD(r, test_short_names);
    TU_ADD(r, test_short_names_everywhere);
    TU_ADD(r, test_effort_tables);
    TU_ADD(r, test_effort_to_a_budget);
    TU_ADD(r, test_max_tokens_clamp);
    TU_ADD(r, test_adaptive_mode);
    TU_ADD(r, test_adaptive_to_openai);
    TU_ADD(r, test_drop_sampling);
    TU_ADD(r, test_include_usage_only_with_stream);
    TU_ADD(r, test_user_length);
    TU_ADD(r, test_cache_control_claude_rule);
    TU_ADD(r, test_max_tokens_variants);
    TU_ADD(r, test_stop_per_wire);
    TU_ADD(r, test_parallel_to_a);
    TU_ADD(r, test_tools_to_r);
    TU_ADD(r, test_custom_tools_c_and_r);
    TU_ADD(r, test_response_format);
    TU_ADD(r, test_thinking_with_tools_invariant);
    TU_ADD(r, test_carriers);
    TU_ADD(r, test_a_structure);
    TU_ADD(r, test_documents_and_files);
    TU_ADD(r, test_dropped_and_arrays);
    TU_ADD(r, test_ctx_model_replaced);
    TU_ADD(r, test_real_format);
    TU_ADD(r, test_passthrough_r);
    TU_ADD(r, test_passthrough_a_invariant);
}
