/* tr_parse_rules.c -- included by test_tr_parse.c (it uses that file's
 * helpers): one test per parse rule of docs/translate.md, requests, plus
 * the IR validator, the checks against a wire and the token estimate. */

/* ---- R grouping, C hoisting and tool messages ---- */

static void test_r_grouping(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[{'role':'user','content':'q'},"
              "{'type':'reasoning','summary':[]},"
              "{'type':'message','role':'assistant','content':[{'type':'output_text','text':'a'}]},"
              "{'type':'web_search_call','id':'ws_1','status':'completed'},"
              "{'type':'function_call','call_id':'c1','name':'f','arguments':'{}'},"
              "{'type':'custom_tool_call','call_id':'c2','name':'apply_patch','input':'p'},"
              "{'type':'function_call_output','call_id':'c1','output':'o1'},"
              "{'type':'custom_tool_call_output','call_id':'c2','output':'o2'},"
              "{'role':'user','content':[{'type':'input_text','text':'next'}]},"
              "{'type':'function_call','call_id':'c3','name':'f','arguments':'{}'},"
              "{'role':'developer','content':'dev'},"
              "{'type':'function_call','call_id':'c4','name':'f','arguments':'{}'}]}",
              "{'system':[{'text':'dev'}],'messages':["
              "{'role':'user','parts':[{'type':'text','text':'q'}]},"
              "{'role':'assistant','parts':[{'type':'thinking','text':'','signature':'',"
              "'origin':'R'},{'type':'text','text':'a'},{'type':'tool_call','id':'c1',"
              "'name':'f','args':'{}'},{'type':'tool_call','id':'c2','name':'apply_patch',"
              "'args':'{\\'input\\':\\'p\\'}','custom':true}]},"
              "{'role':'user','parts':[{'type':'tool_result','call_id':'c1','content':["
              "{'type':'text','text':'o1'}]},{'type':'tool_result','call_id':'c2','content':["
              "{'type':'text','text':'o2'}],'custom':true}]},"
              "{'role':'user','parts':[{'type':'text','text':'next'}]},"
              "{'role':'assistant','parts':[{'type':'tool_call','id':'c3','name':'f',"
              "'args':'{}'},{'type':'tool_call','id':'c4','name':'f','args':'{}'}]}]}");
}

static void test_r_reasoning_summary_join(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[{'type':'reasoning','summary':[{'type':'summary_text','text':'t1'},"
              "{'type':'other','text':'x'},{'type':'summary_text','text':'t2'}],"
              "'encrypted_content':'E'}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'thinking',"
              "'text':'t1\\n\\nt2','signature':'E','origin':'R'}]}]}");
}

static void test_c_hoisting_anywhere(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'user','content':'u1'},{'role':'system','content':'s1'},"
              "{'role':'assistant','content':'a1'},{'role':'developer','content':[{'type':"
              "'text','text':'d1','cache_control':{'type':'ephemeral'}},{'type':'text',"
              "'text':'d2'}]},{'role':'user','content':'u2'},{'role':'user','content':'u3'}]}",
              "{'system':[{'text':'s1'},{'text':'d1','cache_control':{'type':'ephemeral'}},"
              "{'text':'d2'}],'messages':[{'role':'user','parts':[{'type':'text','text':'u1'}]},"
              "{'role':'assistant','parts':[{'type':'text','text':'a1'}]},"
              "{'role':'user','parts':[{'type':'text','text':'u2'}]},"
              "{'role':'user','parts':[{'type':'text','text':'u3'}]}]}");
}

/* Claude Code's in-conversation system entries join the system prompt
 * after the top-level one, in order, cache_control kept. */
static void test_a_system_in_messages_hoisted(void)
{
    expect_ir(TR_FORMAT_A,
              "{'system':'top','messages':[{'role':'user','content':'u1'},{'role':'system',"
              "'content':[{'type':'text','text':'env','cache_control':{'type':'ephemeral'}}]},"
              "{'role':'assistant','content':'a1'},{'role':'system','content':'later'}]}",
              "{'system':[{'text':'top'},{'text':'env','cache_control':{'type':'ephemeral'}},"
              "{'text':'later'}],'messages':[{'role':'user','parts':[{'type':'text','text':'u1'}]},"
              "{'role':'assistant','parts':[{'type':'text','text':'a1'}]}]}");
}

static void test_c_tool_messages_grouped(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'assistant','content':null,'tool_calls':["
              "{'id':'t1','type':'function','function':{'name':'f','arguments':''}},"
              "{'id':'t2','type':'function','function':{'name':'g','arguments':'{bad'}}]},"
              "{'role':'tool','tool_call_id':'t1','content':'r1'},"
              "{'role':'tool','tool_call_id':'t2','content':[{'type':'text','text':'x'},"
              "{'type':'text','text':'y'}]},{'role':'user','content':'after'},"
              "{'role':'tool','tool_call_id':'t3','content':''}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'tool_call','id':'t1',"
              "'name':'f','args':''},{'type':'tool_call','id':'t2','name':'g','args':'{bad'}]},"
              "{'role':'user','parts':[{'type':'tool_result','call_id':'t1','content':["
              "{'type':'text','text':'r1'}]},{'type':'tool_result','call_id':'t2','content':["
              "{'type':'text','text':'x'},{'type':'text','text':'y'}]}]},"
              "{'role':'user','parts':[{'type':'text','text':'after'}]},"
              "{'role':'user','parts':[{'type':'tool_result','call_id':'t3','content':[]}]}]}");
}

/* Tool outputs hold text and images only, whatever else a client put in. */
static void test_tool_output_content_filtered(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'tool','tool_call_id':'t','content':[{'type':'text',"
              "'text':'a'},{'type':'file','file':{'file_data':'data:application/pdf;base64,JVBE'}},"
              "{'type':'image_url',"
              "'image_url':{'url':'https://h/i.png'}}]}]}",
              "{'messages':[{'role':'user','parts':[{'type':'tool_result','call_id':'t',"
              "'content':[{'type':'text','text':'a'},{'type':'image','source':'url',"
              "'url':'https://h/i.png'}]}]}]}");
    /* An image without a source does not split a run of texts. */
    expect_ir(TR_FORMAT_R,
              "{'input':[{'type':'function_call_output','call_id':'c','output':[{'type':"
              "'input_text','text':'a'},{'type':'input_image'},{'type':'input_text','text':"
              "'b'}]}]}",
              "{'messages':[{'role':'user','parts':[{'type':'tool_result','call_id':'c',"
              "'content':[{'type':'text','text':'a\\nb'}]}]}]}");
}

static void test_c_reasoning_content(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'assistant','reasoning_content':'why','content':'ans'},"
              "{'role':'assistant','reasoning':'r2','content':[{'type':'text','text':'x'},"
              "{'type':'refusal','refusal':'no'}]},"
              "{'role':'assistant','reasoning_content':'','content':null,'refusal':'nope'}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'thinking','text':'why',"
              "'signature':'zend1.c','origin':'C'},{'type':'text','text':'ans'}]},"
              "{'role':'assistant','parts':[{'type':'thinking','text':'r2','signature':"
              "'zend1.c','origin':'C'},{'type':'text','text':'x'},{'type':'text','text':'no'}]},"
              "{'role':'assistant','parts':[{'type':'text','text':'nope'}]}]}");
}

static void test_a_blocks(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[{'role':'assistant','content':[{'type':'thinking','thinking':'t'},"
              "{'type':'redacted_thinking','data':'D'},{'type':'text','text':'x'},"
              "{'type':'tool_use','id':'u1','name':'f'}]},{'role':'user','content':["
              "{'type':'tool_result','tool_use_id':'u1','is_error':true,'content':'boom'},"
              "{'type':'tool_result','tool_use_id':'u2'},{'type':'tool_result','tool_use_id':"
              "'u3','is_error':false,'content':[{'type':'document','source':{'type':'text',"
              "'data':'d'}},{'type':'text','text':'k','cache_control':{'type':'ephemeral'}}]}]}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'thinking','text':'t',"
              "'signature':'','origin':'A'},{'type':'redacted','data':'D'},{'type':'text',"
              "'text':'x'},{'type':'tool_call','id':'u1','name':'f','args':'{}'}]},"
              "{'role':'user','parts':[{'type':'tool_result','call_id':'u1','is_error':true,"
              "'content':[{'type':'text','text':'boom'}]},{'type':'tool_result','call_id':'u2',"
              "'content':[]},{'type':'tool_result','call_id':'u3','content':[{'type':'text',"
              "'text':'k','cache_control':{'type':'ephemeral'}}]}]}]}");
}

/* ---- images, documents, data URLs ---- */

static void test_data_urls_c(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'user','content':["
              "{'type':'image_url','image_url':'data:image/png;name=a.png;base64,QUJD'},"
              "{'type':'image_url','image_url':{'url':'data:image/png,abc'}},"
              "{'type':'image_url','image_url':{'url':'https://h/i.png','detail':'high'}},"
              "{'type':'file','file':{'filename':'r.pdf','file_data':"
              "'data:application/pdf;base64,JVBE'}},"
              "{'type':'file','file':{'file_data':'data:text/plain;base64,QQ=='}},"
              "{'type':'file','file':{'file_id':'file-9'}}]}]}",
              "{'messages':[{'role':'user','parts':["
              "{'type':'image','source':'base64','media_type':'image/png','data':'QUJD'},"
              "{'type':'image','source':'url','url':'data:image/png,abc'},"
              "{'type':'image','source':'url','url':'https://h/i.png'},"
              "{'type':'document','source':'pdf','data':'JVBE','title':'r.pdf'},"
              "{'type':'text','text':'[file omitted: file-9]'}]}]}");
}

static void test_data_urls_r(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[{'role':'user','content':["
              "{'type':'input_image','image_url':'data:image/webp;base64,UklG','detail':'auto'},"
              "{'type':'input_image','file_id':'file-1'},"
              "{'type':'input_file','filename':'a.pdf','file_data':"
              "'data:application/pdf;base64,JVBE'},"
              "{'type':'input_file','file_url':'https://h/d.pdf'},"
              "{'type':'input_file','file_id':'file-2'}]}]}",
              "{'messages':[{'role':'user','parts':["
              "{'type':'image','source':'base64','media_type':'image/webp','data':'UklG'},"
              "{'type':'image','source':'file','file_id':'file-1','family':'R'},"
              "{'type':'document','source':'pdf','data':'JVBE','title':'a.pdf'},"
              "{'type':'document','source':'url','url':'https://h/d.pdf'},"
              "{'type':'text','text':'[file omitted: file-2]'}]}]}");
}

static void test_a_sources(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[{'role':'user','content':["
              "{'type':'image','source':{'type':'base64','media_type':'image/gif','data':'R0'},"
              "'cache_control':{'type':'ephemeral'}},"
              "{'type':'image','source':{'type':'file','file_id':'file_011'}},"
              "{'type':'document','title':'T','source':{'type':'text','media_type':'text/plain',"
              "'data':'plain'}},{'type':'document','source':{'type':'url','url':'https://h/p'}},"
              "{'type':'document','source':{'type':'file','file_id':'file_012'}},"
              "{'type':'document','source':{'type':'base64','media_type':'image/png','data':'x'}}"
              "]}]}",
              "{'messages':[{'role':'user','parts':["
              "{'type':'image','source':'base64','media_type':'image/gif','data':'R0',"
              "'cache_control':{'type':'ephemeral'}},"
              "{'type':'image','source':'file','file_id':'file_011','family':'A'},"
              "{'type':'document','source':'text','data':'plain','title':'T'},"
              "{'type':'document','source':'url','url':'https://h/p'},"
              "{'type':'text','text':'[file omitted: file_012]'}]}]}");
}

static void test_r_output_arrays(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[{'type':'function_call_output','call_id':'c','output':["
              "{'type':'input_text','text':'a'},{'type':'input_text','text':'b'},"
              "{'type':'input_image','image_url':'data:image/png;base64,AAA'},"
              "{'type':'input_text','text':'c'},{'type':'input_file','file_id':'f'}]},"
              "{'type':'function_call_output','call_id':'d','output':[{'type':'input_image',"
              "'file_id':'file-3'}]}]}",
              "{'messages':[{'role':'user','parts':[{'type':'tool_result','call_id':'c',"
              "'content':[{'type':'text','text':'a\\nb'},{'type':'image','source':'base64',"
              "'media_type':'image/png','data':'AAA'},{'type':'text','text':'c'}]},"
              "{'type':'tool_result','call_id':'d','content':[{'type':'image','source':'file',"
              "'file_id':'file-3','family':'R'}]}]}]}");
}

/* ---- tools ---- */

#define CUSTOM_SCHEMA                                                                        \
    "{'type':'object','properties':{'input':{'type':'string'}},'required':['input']}"

static void test_custom_tools(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[],'tool_choice':{'type':'custom','name':'apply_patch'},'tools':["
              "{'type':'custom','name':'apply_patch','format':{'type':'grammar','syntax':'lark',"
              "'definition':'start: x'}}]}",
              "{'tool_choice':{'mode':'tool','name':'apply_patch'},'tools':[{'name':"
              "'apply_patch','kind':'custom','schema':" CUSTOM_SCHEMA ",'format':{'type':"
              "'grammar','syntax':'lark','definition':'start: x'}}]}");
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'assistant','tool_calls':[{'id':'k','type':'custom',"
              "'custom':{'name':'p','input':'diff'}}]}],'tools':[{'type':'custom','custom':{"
              "'name':'p','description':'d','format':{'type':'text'}}}]}",
              "{'messages':[{'role':'assistant','parts':[{'type':'tool_call','id':'k','name':'p',"
              "'args':'{\\'input\\':\\'diff\\'}','custom':true}]}],'tools':[{'name':'p',"
              "'description':'d','kind':'custom','schema':" CUSTOM_SCHEMA ",'format':{'type':"
              "'text'}}]}");
}

static void test_tool_schemas_and_builtins(void)
{
    expect_ir(TR_FORMAT_A,
              "{'messages':[],'tools':[{'type':'web_search_20250305','name':'web_search'},"
              "{'type':'bash_20250124','name':'bash'},{'type':'text_editor_20250429',"
              "'name':'str_replace_based_edit_tool'},{'type':'computer_20250124','name':'c'},"
              "{'name':'a','input_schema':{'properties':{'x':{}}},'strict':true,"
              "'cache_control':{'type':'ephemeral'}},{'type':'custom','name':'b',"
              "'description':'d'},{'description':'nameless'}]}",
              "{'tools':[{'name':'a','schema':{'type':'object','properties':{'x':{}}},"
              "'strict':true,'kind':'function','cache_control':{'type':'ephemeral'}},"
              "{'name':'b','description':'d','schema':{'type':'object','properties':{}},"
              "'kind':'function'}]}");
    expect_ir(TR_FORMAT_R,
              "{'input':[],'tools':[{'type':'web_search'},{'type':'file_search'},"
              "{'type':'local_shell'},{'type':'mcp','server_label':'s'},"
              "{'type':'image_generation'},{'type':'function','name':'f','strict':false,"
              "'parameters':{'type':'object','additionalProperties':false}}]}",
              "{'tools':[{'name':'f','strict':false,'kind':'function','schema':{'type':"
              "'object','additionalProperties':false}}]}");
}

/* The choice as each format spells it, and what the IR holds (NULL: no
 * tool_choice member). One function tool `f` is declared each time. */
struct choice_case {
    enum tr_format f;
    const char *fields;
    const char *want;
};

static void test_tool_choice_table(void)
{
    static const struct choice_case cases[] = {
        {TR_FORMAT_A, "'tool_choice':{'type':'auto'}", "'tool_choice':{'mode':'auto'}"},
        {TR_FORMAT_A, "'tool_choice':{'type':'any'}", "'tool_choice':{'mode':'any'}"},
        {TR_FORMAT_A, "'tool_choice':{'type':'none'}", "'tool_choice':{'mode':'none'}"},
        {TR_FORMAT_A, "'tool_choice':{'type':'tool','name':'f'}",
         "'tool_choice':{'mode':'tool','name':'f'}"},
        {TR_FORMAT_A, "'tool_choice':{'type':'tool'}", NULL},
        {TR_FORMAT_A, "'tool_choice':{'type':'bogus'}", NULL},
        {TR_FORMAT_A, "'tool_choice':{'type':'auto','disable_parallel_tool_use':false}",
         "'tool_choice':{'mode':'auto'},'parallel':true"},
        {TR_FORMAT_C, "'tool_choice':'auto'", "'tool_choice':{'mode':'auto'}"},
        {TR_FORMAT_C, "'tool_choice':'required'", "'tool_choice':{'mode':'any'}"},
        {TR_FORMAT_C, "'tool_choice':'none'", "'tool_choice':{'mode':'none'}"},
        {TR_FORMAT_C, "'tool_choice':{'type':'function','function':{'name':'f'}}",
         "'tool_choice':{'mode':'tool','name':'f'}"},
        {TR_FORMAT_C, "'tool_choice':{'type':'allowed_tools','allowed_tools':{}}",
         "'tool_choice':{'mode':'auto'}"},
        {TR_FORMAT_C, "'tool_choice':'bogus','parallel_tool_calls':true", "'parallel':true"},
        {TR_FORMAT_R, "'tool_choice':'auto'", "'tool_choice':{'mode':'auto'}"},
        {TR_FORMAT_R, "'tool_choice':'required'", "'tool_choice':{'mode':'any'}"},
        {TR_FORMAT_R, "'tool_choice':'none'", "'tool_choice':{'mode':'none'}"},
        {TR_FORMAT_R, "'tool_choice':{'type':'function','name':'f'}",
         "'tool_choice':{'mode':'tool','name':'f'}"},
        {TR_FORMAT_R, "'tool_choice':{'type':'allowed_tools','mode':'auto','tools':[]}",
         "'tool_choice':{'mode':'auto'}"},
        {TR_FORMAT_R, "'tool_choice':{'type':'web_search_preview'}",
         "'tool_choice':{'mode':'auto'}"},
        {TR_FORMAT_R, "'tool_choice':{'type':'mcp','server_label':'s'},'parallel_tool_calls':false",
         "'tool_choice':{'mode':'auto'},'parallel':false"},
    };
    static const char *const tools[] = {
        "'messages':[],'tools':[{'name':'f'}]",
        "'messages':[],'tools':[{'type':'function','function':{'name':'f'}}]",
        "'input':[],'tools':[{'type':'function','name':'f'}]"};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[512], want[512];
        snprintf(body, sizeof(body), "{%s,%s}", tools[cases[i].f], cases[i].fields);
        snprintf(want, sizeof(want),
                 "{'tools':[{'name':'f','schema':{'type':'object','properties':{}},"
                 "'kind':'function'}]%s%s}",
                 cases[i].want ? "," : "", cases[i].want ? cases[i].want : "");
        expect_ir(cases[i].f, body, want);
    }
}

/* ---- reasoning, parameters, state ---- */

struct reasoning_case {
    enum tr_format f;
    const char *fields;
    const char *want;
    int wants;
};

static void test_reasoning_table(void)
{
    static const struct reasoning_case cases[] = {
        {TR_FORMAT_A, "'thinking':{'type':'enabled','budget_tokens':2048}",
         "{'mode':'budget','budget':2048}", 1},
        {TR_FORMAT_A, "'thinking':{'type':'adaptive'},'output_config':{'effort':'high'}",
         "{'mode':'adaptive','effort':'high'}", 1},
        {TR_FORMAT_A, "'thinking':{'type':'adaptive'}", "{'mode':'adaptive'}", 1},
        {TR_FORMAT_A, "'thinking':{'type':'enabled'}", "{'mode':'off'}", 0},
        {TR_FORMAT_A, "'thinking':{'type':'disabled'}", "{'mode':'off'}", 0},
        {TR_FORMAT_A, "'output_config':{'effort':'high'}", "{'mode':'off'}", 0},
        {TR_FORMAT_C, "'reasoning_effort':'none'", "{'mode':'off'}", 0},
        {TR_FORMAT_C, "'reasoning_effort':'minimal'", "{'mode':'effort','effort':'minimal'}", 0},
        {TR_FORMAT_C, "'reasoning_effort':'low'", "{'mode':'effort','effort':'low'}", 1},
        {TR_FORMAT_C, "'reasoning_effort':'xhigh'", "{'mode':'effort','effort':'xhigh'}", 1},
        {TR_FORMAT_R, "'reasoning':{'effort':'none'}", "{'mode':'off'}", 0},
        {TR_FORMAT_R, "'reasoning':{'effort':'high','summary':'auto'}",
         "{'mode':'effort','effort':'high'}", 1},
        {TR_FORMAT_R, "'reasoning':{'summary':'auto'}", "{'mode':'off'}", 0},
        {TR_FORMAT_R, "'reasoning':{'effort':null}", "{'mode':'off'}", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char body[256], want[256];
        snprintf(body, sizeof(body), "{%s,%s}",
                 cases[i].f == TR_FORMAT_R ? "'input':[]" : "'messages':[]", cases[i].fields);
        snprintf(want, sizeof(want), "{'reasoning':%s}", cases[i].want);
        expect_ir(cases[i].f, body, want);
        json_t *ir = parse(cases[i].f, body);
        CU_ASSERT_EQUAL(tr_request_wants_reasoning(ir), cases[i].wants);
        json_decref(ir);
    }
}

static void test_stateful(void)
{
    expect_ir(TR_FORMAT_R, "{'input':[],'conversation':'conv_1'}", "{'stateful':'conversation'}");
    expect_ir(TR_FORMAT_R, "{'input':[],'conversation':{'id':'conv_1'}}",
              "{'stateful':'conversation'}");
    expect_ir(TR_FORMAT_R, "{'input':[],'background':true}", "{'stateful':'background'}");
    expect_ir(TR_FORMAT_R, "{'input':[],'background':false,'previous_response_id':null}", "{}");
    json_t *ir = parse(TR_FORMAT_R, "{'input':[],'background':true}");
    char err[256];
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_C, err, sizeof(err)), -1);
    CU_ASSERT_STRING_EQUAL(err, "`background` needs state kept by an OpenAI Responses server, "
                                "and this provider speaks the chat API: send the full "
                                "conversation in `input` instead");
    CU_ASSERT_EQUAL(tr_request_check(ir, TR_FORMAT_R, err, sizeof(err)), 0);
    json_decref(ir);
}

static void test_n_checks(void)
{
    expect_ir(TR_FORMAT_C, "{'messages':[],'n':1}", "{'n':1}");
    json_t *ir = parse(TR_FORMAT_C, "{'messages':[],'n':1}");
    char err[256];
    for (int w = TR_FORMAT_A; w <= TR_FORMAT_R; w++)
        CU_ASSERT_EQUAL(tr_request_check(ir, (enum tr_format)w, err, sizeof(err)), 0);
    json_decref(ir);
}

static void test_c_params(void)
{
    expect_ir(TR_FORMAT_C,
              "{'model':'g','messages':[],'max_completion_tokens':null,'max_tokens':7,"
              "'stop':'x','stream':true,'stream_options':{'include_usage':true},'user':'u',"
              "'top_k':3,'temperature':1,'seed':4,'logprobs':true}",
              "{'model':'g','max_tokens':7,'stop':['x'],'stream':true,'include_usage':true,"
              "'user':'u','top_k':3,'temperature':1.0}");
    expect_ir(TR_FORMAT_C, "{'messages':[],'max_completion_tokens':9,'max_tokens':7,'stop':[]}",
              "{'max_tokens':9}");
}

static void test_r_params(void)
{
    expect_ir(TR_FORMAT_R,
              "{'input':[],'max_output_tokens':100,'temperature':0.5,'top_p':1,'user':'u',"
              "'stream':true,'store':true,'truncation':'auto','include':['x']}",
              "{'max_tokens':100,'temperature':0.5,'top_p':1.0,'user':'u','stream':true}");
}

static void test_response_format(void)
{
    expect_ir(TR_FORMAT_C,
              "{'messages':[],'response_format':{'type':'json_schema','json_schema':{'name':'n',"
              "'schema':{'type':'object'},'strict':true}}}",
              "{'response_format':{'type':'json_schema','name':'n','schema':{'type':'object'},"
              "'strict':true}}");
    expect_ir(TR_FORMAT_C, "{'messages':[],'response_format':{'type':'json_schema'}}",
              "{'response_format':{'type':'json_schema','name':'response','schema':{}}}");
    expect_ir(TR_FORMAT_C, "{'messages':[],'response_format':{'type':'json_object'}}",
              "{'response_format':{'type':'json_object'}}");
    expect_ir(TR_FORMAT_C, "{'messages':[],'response_format':{'type':'grammar'}}", "{}");
    expect_ir(TR_FORMAT_R,
              "{'input':[],'text':{'format':{'type':'json_schema','name':'n','schema':{'type':"
              "'object'},'strict':false},'verbosity':'low'}}",
              "{'response_format':{'type':'json_schema','name':'n','schema':{'type':'object'},"
              "'strict':false}}");
    expect_ir(TR_FORMAT_R, "{'input':[],'text':{'format':{'type':'text'}}}",
              "{'response_format':{'type':'text'}}");
}

/* ---- dropping and refusing ---- */

static void test_unknown_parts_dropped(void)
{
    expect_ir(TR_FORMAT_A,
              "{'system':[{'type':'text','text':'s'},{'type':'image'}],'messages':["
              "{'role':'user','content':[{'type':'text','text':'a'},{'type':'search_result'},"
              "{'type':'container_upload','file_id':'f'},{'text':'typeless'}]},"
              "{'role':'assistant','content':[{'type':'server_tool_use','id':'s','name':'w'},"
              "{'type':'web_search_tool_result','tool_use_id':'s','content':[]}]},"
              "{'role':'user','content':'','x':1}]}",
              "{'system':[{'text':'s'}],'messages':[{'role':'user','parts':[{'type':'text',"
              "'text':'a'}]}]}");
    expect_ir(TR_FORMAT_C,
              "{'messages':[{'role':'user','content':[{'type':'input_audio','input_audio':{}},"
              "{'type':'text','text':'t'}]},{'role':'function','name':'f','content':'x'},"
              "{'content':'roleless'},{'role':'assistant','content':''}]}",
              "{'messages':[{'role':'user','parts':[{'type':'text','text':'t'}]}]}");
    expect_ir(TR_FORMAT_R,
              "{'instructions':'','input':[{'type':'web_search_call','id':'w'},"
              "{'type':'local_shell_call','call_id':'l'},7,"
              "{'type':'message','role':'user','content':[{'type':'input_audio'},"
              "{'type':'input_text','text':'x'}]},{'type':'message','content':'roleless'}]}",
              "{'messages':[{'role':'user','parts':[{'type':'text','text':'x'}]}]}");
}

/* A block type no API defines is a malformed request, not something to
 * drop quietly: 400 naming it (the known ones above are dropped). */
static void test_unknown_block_type_refused(void)
{
    expect_refusal(TR_FORMAT_A,
                   "{'messages':[{'role':'user','content':[{'type':'text','text':'a'},"
                   "{'type':'hologram','data':'x'}]}]}",
                   0, "unknown content block type \"hologram\" in the request's messages");
    expect_refusal(TR_FORMAT_C,
                   "{'messages':[{'role':'user','content':[{'type':'txet','text':'a'}]}]}",
                   0, "unknown content block type \"txet\" in the request's messages");
    expect_refusal(TR_FORMAT_R,
                   "{'input':[{'type':'message','role':'user','content':[{'type':'input_txt',"
                   "'text':'x'}]}]}",
                   0, "unknown content block type \"input_txt\" in the request's messages");
}

static void test_item_reference_refused(void)
{
    expect_refusal(TR_FORMAT_R,
                   "{'input':[{'role':'user','content':'hi'},"
                   "{'type':'item_reference','id':'msg_abc'}]}",
                   0,
                   "input item_reference \"msg_abc\" cannot be resolved: zend does not keep "
                   "earlier response items; send the full conversation items instead by "
                   "setting \"store\": false");
}

static void test_refusals(void)
{
    expect_refusal(TR_FORMAT_C, "[]", 1, "request body must be a JSON object");
    expect_refusal(TR_FORMAT_C, "{\"messages\":[", 1,
                   "request body is not valid JSON: ']' expected near end of file "
                   "(line 1, column 13)");
    expect_refusal(TR_FORMAT_A, "{'model':'m'}", 0,
                   "`messages` is missing: it must be an array of messages");
    expect_refusal(TR_FORMAT_C, "{'messages':'hi'}", 0,
                   "`messages` is not an array: it must be an array of messages");
    expect_refusal(TR_FORMAT_R, "{'model':'m'}", 0,
                   "`input` is missing: it must be a string or an array of items");
    expect_refusal(TR_FORMAT_R, "{'input':{'role':'user'}}", 0,
                   "`input` is of the wrong type: it must be a string or an array of items");
    char err[64];
    CU_ASSERT_PTR_NULL(tr_request_parse((enum tr_format)7, "{}", 2, err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err, "unknown request format");
}

/* ---- the token estimate ---- */

static void test_count_estimate(void)
{
    /* B = sys 3 + abcd 4 + th 2 + nm 2 + {"a":1} 7 + res 3 + t 1 + dd 2
     * + {"type":"object"} 17 = 41 -> 11; 2 images + 1 document; 3 messages. */
    json_t *ir = parse(TR_FORMAT_A,
                       "{'system':'sys','tools':[{'name':'t','description':'dd','input_schema':{"
                       "'type':'object'}}],'messages':[{'role':'user','content':[{'type':'text',"
                       "'text':'abcd'},{'type':'image','source':{'type':'url','url':'u'}},"
                       "{'type':'document','source':{'type':'url','url':'d'}}]},{'role':"
                       "'assistant','content':[{'type':'thinking','thinking':'th','signature':"
                       "'s'},{'type':'tool_use','id':'i','name':'nm','input':{'a': 1}}]},"
                       "{'role':'user','content':[{'type':'tool_result','tool_use_id':'i',"
                       "'content':[{'type':'text','text':'res'},{'type':'image','source':{"
                       "'type':'url','url':'u'}}]}]}]}");
    CU_ASSERT_EQUAL(tr_count_tokens_estimate(ir), 11 + 3 * 1600 + 3 * 4 + 8);
    json_decref(ir);
    /* Args count in compact form when they parse ({"a":10}: 8 + g 1 = 9 ->
     * 3, where the 13 bytes as sent would give 4), as sent when not
     * (21 + g 1 = 22 -> 6). */
    ir = parse(TR_FORMAT_C, "{'messages':[{'role':'assistant','tool_calls':[{'id':'i',"
                            "'function':{'name':'g','arguments':'{ \\'a\\' :  10 }'}}]}]}");
    CU_ASSERT_EQUAL(tr_count_tokens_estimate(ir), 3 + 4 + 8);
    json_decref(ir);
    ir = parse(TR_FORMAT_C, "{'messages':[{'role':'assistant','tool_calls':[{'id':'i',"
                            "'function':{'name':'g','arguments':'{ \\'a\\' : bad json here'}}]}]}");
    CU_ASSERT_EQUAL(tr_count_tokens_estimate(ir), 6 + 4 + 8);
    json_decref(ir);
}

/* ---- the IR validator ---- */

#define VALID_IR                                                                             \
    "{'source':'R','model':'m','system':[{'text':'s','cache_control':{}}],'messages':["      \
    "{'role':'user','parts':[{'type':'text','text':'t'},{'type':'image','source':'url',"    \
    "'url':'u'},{'type':'document','source':'text','data':'d','title':'T'},"                \
    "{'type':'tool_result','call_id':'c','content':[{'type':'image','source':'file',"       \
    "'file_id':'f','family':'R'}],'is_error':true,'custom':true}]},{'role':'assistant',"    \
    "'parts':[{'type':'thinking','text':'x','signature':'','origin':'C'},{'type':"          \
    "'redacted','data':'D'},{'type':'tool_call','id':'i','name':'n','args':'{}',"           \
    "'custom':true}]}],'tools':[{'name':'n','schema':{},'kind':'custom','format':{}}],"     \
    "'tool_choice':{'mode':'tool','name':'n'},'parallel':false,'max_tokens':1,"             \
    "'temperature':0.5,'top_p':1.0,'top_k':2,'stop':['x'],'stream':true,"                  \
    "'include_usage':true,'user':'u','reasoning':{'mode':'adaptive','effort':'high'},"     \
    "'response_format':{'type':'json_schema','name':'n','schema':{},'strict':true},"       \
    "'n':1,'stateful':'conversation'}"

/* VALID_IR with path (a JSON pointer-like list of keys/indices, '/'
 * separated) set to value (a literal; NULL deletes) is refused with msg. */
static void expect_invalid(const char *path, const char *value, const char *msg)
{
    json_t *ir = jq(VALID_IR), *at = ir;
    char *p = strdup(path), *save = NULL, *key = strtok_r(p, "/", &save);
    while (key) {
        char *next = strtok_r(NULL, "/", &save);
        if (!next) {
            if (!value)
                json_object_del(at, key);
            else if (json_is_array(at))
                json_array_set_new(at, (size_t)atoi(key), jq(value));
            else
                json_object_set_new(at, key, jq(value));
        }
        at = json_is_array(at) ? json_array_get(at, (size_t)atoi(key)) : json_object_get(at, key);
        key = next;
    }
    char err[256];
    CU_ASSERT_EQUAL(tr_ir_valid(ir, err, sizeof(err)), 0);
    if (strcmp(err, msg))
        fprintf(stderr, "\n  %s: got \"%s\"", path, err);
    CU_ASSERT_STRING_EQUAL(err, msg);
    free(p);
    json_decref(ir);
}

static void test_validator(void)
{
    json_t *ir = jq(VALID_IR);
    char err[256];
    CU_ASSERT_EQUAL(tr_ir_valid(ir, err, sizeof(err)), 1);
    CU_ASSERT_STRING_EQUAL(err, "");
    json_decref(ir);
    json_t *arr = json_array();
    CU_ASSERT_EQUAL(tr_ir_valid(arr, err, sizeof(err)), 0);
    CU_ASSERT_STRING_EQUAL(err, "ir: not an object");
    json_decref(arr);

    expect_invalid("foo", "1", "ir.foo: not a member of the IR shape");
    expect_invalid("temperature", "1", "ir.temperature: wrong type");
    expect_invalid("source", "'X'", "ir.source: value not allowed");
    expect_invalid("stream", NULL, "ir.stream: missing");
    expect_invalid("stop/0", "1", "stop[0]: not a string");
    expect_invalid("system/0/type", "'text'", "system[0].type: not a member of the IR shape");
    expect_invalid("messages/0/role", "'tool'", "messages[0].role: value not allowed");
    expect_invalid("messages/0/parts/0/type", "'audio'",
                   "messages[0].parts[0]: unknown part type");
    expect_invalid("messages/0/parts/1/url", NULL, "messages[0].parts[1].url: missing");
    expect_invalid("messages/0/parts/1/source", "'file'",
                   "messages[0].parts[1].url: not a member of the IR shape");
    expect_invalid("messages/0/parts/2/source", "'doc'",
                   "messages[0].parts[2]: document source must be pdf, text or url");
    expect_invalid("messages/0/parts/3/content/0",
                   "{'type':'thinking','text':'','signature':'','origin':'A'}",
                   "messages[0].parts[3].content[0]: tool_result content holds text and image "
                   "parts only");
    expect_invalid("messages/0/parts/3/content/0/family", "'C'",
                   "messages[0].parts[3].content[0].family: value not allowed");
    expect_invalid("messages/0/parts/3/is_error", "false",
                   "messages[0].parts[3].is_error: wrong type");
    expect_invalid("messages/1/parts/0/origin", "'X'",
                   "messages[1].parts[0].origin: value not allowed");
    expect_invalid("messages/1/parts/2/args", "{}", "messages[1].parts[2].args: wrong type");
    expect_invalid("tools/0/kind", "'builtin'", "tools[0].kind: value not allowed");
    expect_invalid("tools/0/schema", NULL, "tools[0].schema: missing");
    expect_invalid("tool_choice/name", NULL,
                   "tool_choice.name: present exactly when mode is tool");
    expect_invalid("tool_choice/mode", "'auto'",
                   "tool_choice.name: present exactly when mode is tool");
    expect_invalid("reasoning/mode", "'budget'",
                   "reasoning.budget: present exactly when mode is budget");
    expect_invalid("reasoning/mode", "'off'",
                   "reasoning.effort: required with mode effort, allowed with adaptive, else "
                   "absent");
}

static void test_validator_modes(void)
{
    expect_invalid("response_format/type", "'json_object'",
                   "response_format.name: not a member of the IR shape");
    expect_invalid("response_format/schema", NULL, "response_format.schema: missing");
    expect_invalid("stateful", "'store'", "ir.stateful: value not allowed");
    expect_invalid("reasoning", "{'mode':'effort'}",
                   "reasoning.effort: required with mode effort, allowed with adaptive, else "
                   "absent");
}

static void register_rule_tests(void)
{
    CU_pSuite s = CU_add_suite("tr_parse_rules", NULL, NULL);
    TU_ADD(s, test_r_grouping);
    TU_ADD(s, test_r_reasoning_summary_join);
    TU_ADD(s, test_c_hoisting_anywhere);
    TU_ADD(s, test_a_system_in_messages_hoisted);
    TU_ADD(s, test_c_tool_messages_grouped);
    TU_ADD(s, test_tool_output_content_filtered);
    TU_ADD(s, test_c_reasoning_content);
    TU_ADD(s, test_a_blocks);
    TU_ADD(s, test_data_urls_c);
    TU_ADD(s, test_data_urls_r);
    TU_ADD(s, test_a_sources);
    TU_ADD(s, test_r_output_arrays);
    TU_ADD(s, test_custom_tools);
    TU_ADD(s, test_tool_schemas_and_builtins);
    TU_ADD(s, test_tool_choice_table);
    TU_ADD(s, test_reasoning_table);
    TU_ADD(s, test_stateful);
    TU_ADD(s, test_n_checks);
    TU_ADD(s, test_c_params);
    TU_ADD(s, test_r_params);
    TU_ADD(s, test_response_format);
    TU_ADD(s, test_unknown_parts_dropped);
    TU_ADD(s, test_unknown_block_type_refused);
    TU_ADD(s, test_item_reference_refused);
    TU_ADD(s, test_refusals);
    TU_ADD(s, test_count_estimate);
    TU_ADD(s, test_validator);
    TU_ADD(s, test_validator_modes);
}
