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

#include "tr_emit_rules.inc"

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
