/* Unit tests for the request parsers (zend/translate/tr_parse*.c): the
 * docs/translate.md test cases whose input is a client body, asserted as
 * the exact IR each body parses to (or the exact refusal), and one test per
 * parse rule. Every IR a test obtains also passes tr_ir_valid.
 *
 * JSON literals use ' for " (jq() swaps them) so they stay readable; a \'
 * in a literal is an escaped quote inside a JSON string. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tr_request.h"

/* ---- helpers ---- */

static char *unquote(const char *s)
{
    char *t = strdup(s);
    for (char *p = t; *p; p++)
        if (*p == '\'')
            *p = '"';
    return t;
}

static json_t *jq(const char *s)
{
    char *t = unquote(s);
    json_error_t e;
    json_t *v = json_loads(t, JSON_DECODE_ANY, &e);
    if (!v)
        fprintf(stderr, "\n  bad test literal (%s): %s\n", e.text, t);
    free(t);
    return v;
}

static void dump(const char *label, const json_t *v)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
    fprintf(stderr, "\n  %s: %s", label, s ? s : "(null)");
    free(s);
}

static const char *const SRC[] = {"A", "C", "R"};

/* Parses a body (quotes swapped unless raw) and checks the result is of the
 * IR shape; NULL (and a failed assertion) when it was refused. */
static json_t *parse(enum tr_format f, const char *body)
{
    char *t = unquote(body), err[512];
    json_t *ir = tr_request_parse(f, t, strlen(t), err, sizeof(err));
    if (!ir)
        fprintf(stderr, "\n  refused: %s\n  body: %s", err, t);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ir);
    char verr[256];
    int ok = tr_ir_valid(ir, verr, sizeof(verr));
    if (!ok) {
        fprintf(stderr, "\n  not of the IR shape: %s", verr);
        dump("ir", ir);
    }
    CU_ASSERT_TRUE(ok);
    free(t);
    return ir;
}

/* The whole IR equals the defaults (empty lists, no stream, reasoning off,
 * model "") updated with `want`'s members. */
static void expect_ir(enum tr_format f, const char *body, const char *want)
{
    json_t *ir = parse(f, body);
    json_t *exp = json_pack("{s:s, s:s, s:[], s:[], s:[], s:b, s:{s:s}}", "source", SRC[f],
                            "model", "", "system", "messages", "tools", "stream", 0, "reasoning",
                            "mode", "off");
    json_t *w = jq(want);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    json_object_update(exp, w);
    int eq = json_equal(ir, exp);
    if (!eq) {
        dump("got ", ir);
        dump("want", exp);
    }
    CU_ASSERT_TRUE(eq);
    json_decref(w);
    json_decref(exp);
    json_decref(ir);
}

/* The body is refused with exactly this message. raw: the body as is. */
static void expect_refusal(enum tr_format f, const char *body, int raw, const char *msg)
{
    char *t = raw ? strdup(body) : unquote(body), err[512] = "x";
    json_t *ir = tr_request_parse(f, t, strlen(t), err, sizeof(err));
    CU_ASSERT_PTR_NULL(ir);
    if (strcmp(err, msg))
        fprintf(stderr, "\n  refusal: %s\n  wanted:  %s", err, msg);
    CU_ASSERT_STRING_EQUAL(err, msg);
    json_decref(ir);
    free(t);
}

/* expect_ir once per signature, with @S in body and want replaced by it. */
static void expect_ir_per_sig(enum tr_format f, const char *body, const char *want,
                              const char *const *sigs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char *bw[2];
        const char *src[2] = {body, want};
        for (int k = 0; k < 2; k++) {
            const char *at = strstr(src[k], "@S");
            size_t pre = (size_t)(at - src[k]), len = strlen(src[k]) + strlen(sigs[i]);
            bw[k] = malloc(len + 1);
            snprintf(bw[k], len + 1, "%.*s%s%s", (int)pre, src[k], sigs[i], at + 2);
        }
        expect_ir(f, bw[0], bw[1]);
        free(bw[0]);
        free(bw[1]);
    }
}

/* ---- docs/translate.md test cases (client bodies) ---- */

static void test_case01_a_minimal(void)
{
    expect_ir(TR_FORMAT_A,
              "{'model':'claude-sonnet-4-5','max_tokens':10,"
              "'messages':[{'role':'user','content':'hi'}]}",
              "{'model':'claude-sonnet-4-5','max_tokens':10,"
              "'messages':[{'role':'user','parts':[{'type':'text','text':'hi'}]}]}");
}

static void test_case02_r_string_input(void)
{
    expect_ir(TR_FORMAT_R, "{'model':'gpt-5-codex','input':'hi','stream':true}",
              "{'model':'gpt-5-codex','stream':true,"
              "'messages':[{'role':'user','parts':[{'type':'text','text':'hi'}]}]}");
}

static void test_case03_not_json(void)
{
    expect_refusal(TR_FORMAT_A, "not json", 1,
                   "request body is not valid JSON: '[' or '{' expected near 'not' "
                   "(line 1, column 3)");
}

/* Cases 5 and 6 share their client body: the emit side differs only. */
static void test_case05_06_system_array(void)
{
    expect_ir(TR_FORMAT_A,
              "{'max_tokens':5,'system':[{'type':'text','text':'A','cache_control':{'type':"
              "'ephemeral'}},{'type':'text','text':'B'}],'messages':[]}",
              "{'max_tokens':5,'system':[{'text':'A','cache_control':{'type':'ephemeral'}},"
              "{'text':'B'}]}");
}

static void test_case07_tool_result_image(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[{'role':'user','content':[{'type':'text','text':'note'},"
              "{'type':'tool_result','tool_use_id':'t1','content':[{'type':'text','text':'ok'},"
              "{'type':'image','source':{'type':'base64','media_type':'image/png','data':'AAA'}}"
              "]}]}]}",
              "{'messages':[{'role':'user','parts':[{'type':'text','text':'note'},"
              "{'type':'tool_result','call_id':'t1','content':[{'type':'text','text':'ok'},"
              "{'type':'image','source':'base64','media_type':'image/png','data':'AAA'}]}]}]}");
}

#define CASE08_BODY                                                                          \
    "{'messages':[{'role':'assistant','content':[{'type':'thinking',"                        \
    "'thinking':'x','signature':'@S'},{'type':'tool_use','id':'toolu_1',"                    \
    "'name':'Read','input':{'p':'a'}}]}]}"
#define CASE08_WANT                                                                          \
    "{'messages':[{'role':'assistant','parts':[{'type':'thinking','text':'x',"               \
    "'signature':'@S','origin':'A'},{'type':'tool_call','id':'toolu_1',"                     \
    "'name':'Read','args':'{\\'p\\':\\'a\\'}'}]}]}"

static void test_case08_thinking_tool_use(void)
{
    static const char *const sigs[] = {"Sreal", "zend1.c"};
    expect_ir_per_sig(TR_FORMAT_A, CASE08_BODY, CASE08_WANT, sigs, 2);
}

static void test_case09_tool_choice_any(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[],'tool_choice':{'type':'any','disable_parallel_tool_use':true},"
              "'tools':[{'name':'Read','description':'d','input_schema':{'type':'object'}}]}",
              "{'tool_choice':{'mode':'any'},'parallel':false,'tools':[{'name':'Read',"
              "'description':'d','schema':{'type':'object'},'kind':'function'}]}");
    /* Without tools the choice and the parallel flag mean nothing. */
    expect_ir(TR_FORMAT_A,
              "{'messages':[],'tool_choice':{'type':'any','disable_parallel_tool_use':true}}",
              "{}");
}

static void test_case10_long_tool_name(void)
{
    char name[71], body[256], want[256];
    memset(name, 'a', 70);
    name[70] = '\0';
    snprintf(body, sizeof(body), "{'messages':[],'tools':[{'name':'%s'}]}", name);
    snprintf(want, sizeof(want),
             "{'tools':[{'name':'%s','schema':{'type':'object','properties':{}},"
             "'kind':'function'}]}",
             name);
    expect_ir(TR_FORMAT_A, body, want);
}

static void test_case11_thinking_budgets(void)
{
    const int budgets[] = {1024, 5000, 31999};
    for (int i = 0; i < 3; i++) {
        char body[160], want[160];
        snprintf(body, sizeof(body),
                 "{'messages':[],'thinking':{'type':'enabled','budget_tokens':%d}}",
                 budgets[i]);
        snprintf(want, sizeof(want), "{'reasoning':{'mode':'budget','budget':%d}}", budgets[i]);
        expect_ir(TR_FORMAT_A, body, want);
    }
    expect_ir(TR_FORMAT_A, "{'messages':[],'thinking':{'type':'disabled'}}", "{}");
}

static void test_case12_params(void)
{
    char uid[151], body[512], want[512];
    memset(uid, 'u', 150);
    uid[150] = '\0';
    snprintf(body, sizeof(body),
             "{'messages':[],'stream':true,'stop_sequences':['a','b','c','d','e'],'top_k':5,"
             "'metadata':{'user_id':'%s'},'context_management':{'edits':[]}}",
             uid);
    snprintf(want, sizeof(want),
             "{'stream':true,'stop':['a','b','c','d','e'],'top_k':5,'user':'%s'}", uid);
    expect_ir(TR_FORMAT_A, body, want);
}

static void test_case13_url_image_pdf(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[{'role':'user','content':[{'type':'image','source':{'type':'url',"
              "'url':'https://x/y.png'}},{'type':'document','source':{'type':'base64',"
              "'media_type':'application/pdf','data':'JVBE'}}]}]}",
              "{'messages':[{'role':'user','parts':[{'type':'image','source':'url',"
              "'url':'https://x/y.png'},{'type':'document','source':'pdf','data':'JVBE'}]}]}");
}

static void test_case14_c_system_hoisting(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'system','content':'S1'},{'role':'developer','content':'S2'},"
              "{'role':'user','content':'hi'}]}",
              "{'system':[{'text':'S1'},{'text':'S2'}],"
              "'messages':[{'role':'user','parts':[{'type':'text','text':'hi'}]}]}");
}

static void test_case15_c_tool_call_and_result(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'assistant','content':'','tool_calls':[{'id':'call:1',"
              "'type':'function','function':{'name':'f','arguments':'{\\'a\\':1}'}}]},"
              "{'role':'tool','tool_call_id':'call:1','content':'r'}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'tool_call','id':'call:1',"
              "'name':'f','args':'{\\'a\\':1}'}]},{'role':'user','parts':[{'type':"
              "'tool_result','call_id':'call:1','content':[{'type':'text','text':'r'}]}]}]}");
}

static void test_case16_c_sampling_and_n(void)
{
    expect_ir(TR_FORMAT_C, "{'messages':[],'temperature':1.5,'top_p':0.9,'n':2}",
              "{'temperature':1.5,'top_p':0.9,'n':2}");
    json_t *ir = parse(TR_FORMAT_C, "{'messages':[],'n':2}");
    char err[256];
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_A, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "n > 1 is not supported by this provider (anthropic API): "
                                "ask for one choice per request");
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_R, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "n > 1 is not supported by this provider (responses API): "
                                "ask for one choice per request");
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_C, err, sizeof(err)), 0);
    json_decref(ir);
}

static void test_case17_c_required_parallel(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[],'tool_choice':'required','parallel_tool_calls':false,"
              "'tools':[{'type':'function','function':{'name':'f'}}]}",
              "{'tool_choice':{'mode':'any'},'parallel':false,'tools':[{'name':'f',"
              "'schema':{'type':'object','properties':{}},'kind':'function'}]}");
    expect_ir(TR_FORMAT_C, "{'messages':[],'tool_choice':'auto'}", "{}");
}

static void test_case18_c_effort(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[],'reasoning_effort':'high','max_completion_tokens':4000,"
              "'temperature':0.2}",
              "{'reasoning':{'mode':'effort','effort':'high'},'max_tokens':4000,"
              "'temperature':0.2}");
    expect_ir(TR_FORMAT_C,
              "{'messages':[],'reasoning_effort':'medium','tool_choice':'required',"
              "'tools':[{'type':'function','function':{'name':'f','parameters':{}}}]}",
              "{'reasoning':{'mode':'effort','effort':'medium'},'tool_choice':{'mode':'any'},"
              "'tools':[{'name':'f','schema':{'type':'object'},'kind':'function'}]}");
}

static void test_case19_c_data_url_image(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'user','content':[{'type':'image_url','image_url':{"
              "'url':'data:image/jpeg;base64,QQ=='}}]}]}",
              "{'messages':[{'role':'user','parts':[{'type':'image','source':'base64',"
              "'media_type':'image/jpeg','data':'QQ=='}]}]}");
}

static void test_case20_r_codex_turn(void)
{
    expect_ir(TR_FORMAT_R,
              "{'instructions':'I','input':[{'role':'developer','content':[{'type':'input_text',"
              "'text':'D'}]},{'role':'user','content':'hi'},{'type':'function_call',"
              "'call_id':'c1','name':'shell','arguments':'{\\'cmd\\':[\\'ls\\']}'},"
              "{'type':'function_call_output','call_id':'c1','output':'a.txt'}],"
              "'tools':[{'type':'function','name':'shell','parameters':{'type':'object'}},"
              "{'type':'custom','name':'apply_patch','description':'p'},"
              "{'type':'web_search'}]}",
              "{'system':[{'text':'I'},{'text':'D'}],'messages':["
              "{'role':'user','parts':[{'type':'text','text':'hi'}]},"
              "{'role':'assistant','parts':[{'type':'tool_call','id':'c1','name':'shell',"
              "'args':'{\\'cmd\\':[\\'ls\\']}'}]},"
              "{'role':'user','parts':[{'type':'tool_result','call_id':'c1','content':["
              "{'type':'text','text':'a.txt'}]}]}],"
              "'tools':[{'name':'shell','schema':{'type':'object'},'kind':'function'},"
              "{'name':'apply_patch','description':'p','kind':'custom','schema':{'type':"
              "'object','properties':{'input':{'type':'string'}},'required':['input']}}]}");
}

static void test_case21_r_previous_response_id(void)
{
    expect_ir(TR_FORMAT_R, "{'input':[],'previous_response_id':'resp_1'}",
              "{'stateful':'previous_response_id'}");
    json_t *ir = parse(TR_FORMAT_R, "{'input':[],'previous_response_id':'resp_1'}");
    char err[256];
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_A, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "`previous_response_id` needs state kept by an OpenAI Responses "
                                "server, and this provider speaks the anthropic API: send the "
                                "full conversation in `input` instead");
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_C, err, sizeof(err)), -1);
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_R, err, sizeof(err)), 0);
    json_decref(ir);
}

#define CASE22_BODY                                                                          \
    "{'reasoning':{'effort':'medium'},'input':[{'role':'user','content':'q'},"               \
    "{'type':'reasoning','summary':[{'type':'summary_text','text':'t'}],"                    \
    "'encrypted_content':'@S'},{'type':'function_call','call_id':'c','name':'f',"            \
    "'arguments':'{}'},{'type':'function_call_output','call_id':'c','output':'r'}]}"
#define CASE22_WANT                                                                          \
    "{'reasoning':{'mode':'effort','effort':'medium'},'messages':["                          \
    "{'role':'user','parts':[{'type':'text','text':'q'}]},"                                  \
    "{'role':'assistant','parts':[{'type':'thinking','text':'t','signature':'@S',"           \
    "'origin':'R'},{'type':'tool_call','id':'c','name':'f','args':'{}'}]},"                  \
    "{'role':'user','parts':[{'type':'tool_result','call_id':'c','content':["                \
    "{'type':'text','text':'r'}]}]}]}"

static void test_case22_r_reasoning_items(void)
{
    /* The carrier zend minted and OpenAI's own: both kept for the emitter,
     * which decodes the first and drops the second. */
    static const char *const sigs[] = {"zend1.a.SIG", "gAAAAB"};
    expect_ir_per_sig(TR_FORMAT_R, CASE22_BODY, CASE22_WANT, sigs, 2);
}

static void test_case23_a_history_for_r(void)
{
    expect_ir(TR_FORMAT_A,
              "{'max_tokens':10,'tools':[{'name':'f','input_schema':{'type':'object'}}],"
              "'messages':[{'role':'user','content':'go'},{'role':'assistant','content':[{"
              "'type':'tool_use','id':'toolu_1','name':'f','input':{}}]},{'role':'user',"
              "'content':[{'type':'tool_result','tool_use_id':'toolu_1','content':'r'},"
              "{'type':'image','source':{'type':'base64','media_type':'image/png','data':'AAA'}}"
              "]}]}",
              "{'max_tokens':10,'tools':[{'name':'f','schema':{'type':'object'},"
              "'kind':'function'}],'messages':[{'role':'user','parts':[{'type':'text',"
              "'text':'go'}]},{'role':'assistant','parts':[{'type':'tool_call','id':'toolu_1',"
              "'name':'f','args':'{}'}]},{'role':'user','parts':[{'type':'tool_result',"
              "'call_id':'toolu_1','content':[{'type':'text','text':'r'}]},{'type':'image',"
              "'source':'base64','media_type':'image/png','data':'AAA'}]}]}");
}

static void test_case24_r_message_and_custom_call(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[{'type':'message','role':'assistant','content':[{'type':'output_text',"
              "'text':'ok'}]},{'type':'custom_tool_call','call_id':'c2','name':'apply_patch',"
              "'input':'*** Begin Patch'}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'text','text':'ok'},"
              "{'type':'tool_call','id':'c2','name':'apply_patch',"
              "'args':'{\\'input\\':\\'*** Begin Patch\\'}','custom':true}]}]}");
}

static void test_case59_zend_signature_kept(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[{'role':'assistant','content':[{'type':'thinking','thinking':'r',"
              "'signature':'zend1.c'},{'type':'text','text':'a'}]}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'thinking','text':'r',"
              "'signature':'zend1.c','origin':'A'},{'type':'text','text':'a'}]}]}");
}

static void test_case64_count_tokens(void)
{
    json_t *ir = parse(TR_FORMAT_A, "{'model':'m','system':'abcd','messages':[{'role':'user',"
                                    "'content':'hello world!'}]}");
    CU_ASSERT_EQUAL(tr_count_tokens_estimate(ir), 16);
    json_decref(ir);
}

/* The rule-by-rule tests, kept in their own file for length. */
#include "tr_parse_rules.c"

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("tr_parse_cases", NULL, NULL);
    TU_ADD(s, test_case01_a_minimal);
    TU_ADD(s, test_case02_r_string_input);
    TU_ADD(s, test_case03_not_json);
    TU_ADD(s, test_case05_06_system_array);
    TU_ADD(s, test_case07_tool_result_image);
    TU_ADD(s, test_case08_thinking_tool_use);
    TU_ADD(s, test_case09_tool_choice_any);
    TU_ADD(s, test_case10_long_tool_name);
    TU_ADD(s, test_case11_thinking_budgets);
    TU_ADD(s, test_case12_params);
    TU_ADD(s, test_case13_url_image_pdf);
    TU_ADD(s, test_case14_c_system_hoisting);
    TU_ADD(s, test_case15_c_tool_call_and_result);
    TU_ADD(s, test_case16_c_sampling_and_n);
    TU_ADD(s, test_case17_c_required_parallel);
    TU_ADD(s, test_case18_c_effort);
    TU_ADD(s, test_case19_c_data_url_image);
    TU_ADD(s, test_case20_r_codex_turn);
    TU_ADD(s, test_case21_r_previous_response_id);
    TU_ADD(s, test_case22_r_reasoning_items);
    TU_ADD(s, test_case23_a_history_for_r);
    TU_ADD(s, test_case24_r_message_and_custom_call);
    TU_ADD(s, test_case59_zend_signature_kept);
    TU_ADD(s, test_case64_count_tokens);
    register_rule_tests();
}
