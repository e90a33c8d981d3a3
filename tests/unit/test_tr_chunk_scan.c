/* Unit tests for the Chat chunk scanner (zend/translate/tr_chunk_scan.c)
 * and its place in decoder C.
 *
 * The scanner must take the usual chunks of real providers (else the fast
 * path is dead code) and refuse every shape it does not read; and decoder C
 * must emit exactly the same IR events, and so the same Anthropic stream
 * bytes, with the scanner as through the tree alone (tr_chunk_diff.inc):
 * over streams made of real providers' chunks, random ones, and thousands
 * of byte-level mutations of both, fed in random pieces. The memo (the
 * last chunk, for a next one that differs in its text only) must answer
 * each chunk exactly as a scan of its own does. */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tr_chunk_scan.h"
#include "tr_chunk_diff.inc"
#include "zjson.h"

/* ---- chunks of real providers (' for ") ---- */

#define OA "'id':'chatcmpl-1','object':'chat.completion.chunk','created':1764547200," \
           "'model':'gpt-4.1-mini','service_tier':'default','system_fingerprint':'fp_1',"

static const char *const role_chunks[] = {
    "{" OA "'choices':[{'index':0,'delta':{'role':'assistant','content':'','refusal':null},"
    "'logprobs':null,'finish_reason':null}],'usage':null}",
    "{'id':'gen-1','provider':'OpenAI','model':'m','object':'chat.completion.chunk','created':1,"
    "'choices':[{'index':0,'delta':{'role':'assistant','content':'','reasoning':null},"
    "'finish_reason':null,'native_finish_reason':null,'logprobs':null}]}",
};

/* Chunks the scanner takes (after START). */
static const char *const usual_chunks[] = {
    /* OpenAI, as the bench's mock sends it */
    "{" OA "'choices':[{'index':0,'delta':{'content':'token 01 of a streamed answer '},"
    "'logprobs':null,'finish_reason':null}],'usage':null}",
    "{" OA "'choices':[{'index':0,'delta':{},'logprobs':null,'finish_reason':'stop'}],"
    "'usage':null}",
    "{" OA "'choices':[{'index':0,'delta':{'content':' a \\'quoted\\' line\\n\\tand a tab'},"
    "'logprobs':null,'finish_reason':null}],'obfuscation':'x1'}",
    /* DeepSeek reasoner */
    "{'id':'d1','object':'chat.completion.chunk','created':1,'model':'deepseek-reasoner',"
    "'system_fingerprint':'fp','choices':[{'index':0,'delta':{'content':null,"
    "'reasoning_content':'Let me think'},'logprobs':null,'finish_reason':null}]}",
    "{'id':'d1','object':'chat.completion.chunk','created':1,'model':'deepseek-reasoner',"
    "'choices':[{'index':0,'delta':{'content':'','reasoning_content':null},"
    "'logprobs':null,'finish_reason':'insufficient_system_resource'}]}",
    /* OpenRouter reasoning */
    "{'id':'gen-1','provider':'X','model':'m','object':'chat.completion.chunk','created':1,"
    "'choices':[{'index':0,'delta':{'role':'assistant','content':'','reasoning':'hmm \\u00e9'},"
    "'finish_reason':null,'native_finish_reason':null,'logprobs':null}]}",
    /* Ollama */
    "{'id':'chatcmpl-7','object':'chat.completion.chunk','created':1,'model':'llama3',"
    "'system_fingerprint':'fp_ollama','choices':[{'index':0,'delta':{'role':'assistant',"
    "'content':'\xe6\x97\xa5\xe6\x9c\xac \\ud83d\\ude00'},'finish_reason':null}]}",
    /* Gemini's OpenAI endpoint: keys in another order, no index first */
    "{'choices':[{'delta':{'content':'Hi','role':'assistant'},'index':0}],'created':1,"
    "'id':'g1','model':'gemini-2.5-flash','object':'chat.completion.chunk'}",
    /* vLLM */
    "{'id':'v1','object':'chat.completion.chunk','created':1,'model':'qwen','choices':"
    "[{'index':0,'delta':{'content':'x'},'logprobs':null,'finish_reason':'length',"
    "'stop_reason':null}]}",
    /* Groq */
    "{'id':'q1','object':'chat.completion.chunk','created':1,'model':'llama','choices':"
    "[{'index':0,'delta':{'content':'y'},'logprobs':null,'finish_reason':null}],"
    "'x_groq':{'id':'req_1'}}",
    /* only a choice that is not the client's, and none at all */
    "{'id':'c1','choices':[{'index':1,'delta':{'content':'other'}}]}",
    "{'id':'c1','choices':[]}",
    "{'id':'c1','choices':[{'index':1,'delta':{'content':'b'}},{'index':0,'delta':"
    "{'content':'a'},'finish_reason':'tool_calls'}]}",
    "{'choices':[{'index':0,'delta':{'content':'z','tool_calls':[],'refusal':''}}],"
    "'error':null}",
    /* usage: after the finish, with it, DeepSeek's and OpenRouter's cache fields */
    "{" OA "'choices':[],'usage':{'prompt_tokens':812,'completion_tokens':54,"
    "'total_tokens':866,'prompt_tokens_details':{'cached_tokens':0}}}",
    "{'id':'m1','choices':[{'index':0,'delta':{'content':''},'finish_reason':'stop'}],"
    "'usage':{'prompt_tokens':5,'completion_tokens':3}}",
    "{'id':'d1','choices':[],'usage':{'prompt_tokens':-0,'prompt_cache_hit_tokens':7,"
    "'prompt_tokens_details':null,'completion_tokens':null}}",
    "{'id':'o1','choices':[],'usage':{'prompt_tokens':9,'cache_creation_input_tokens':'x',"
    "'prompt_tokens_details':{'cached_tokens':2,'cache_write_tokens':3}},'model':'\\u00e9'}",
};

/* Chunks the scanner refuses: the tree reads them. */
static const char *const other_chunks[] = {
    "{'id':'c1','choices':[],'usage':{'prompt_tokens':5.0,'completion_tokens':3}}",
    "{'id':'c1','choices':[],'usage':{'prompt_tokens':1234567890123456789}}",
    "{'id':'c1','choices':[],'usage':{'completion_tokens':1,'completion_tokens':2}}",
    "{'id':'c1','id':'c2','choices':[]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'tool_calls':[{'index':0,'id':'call_1',"
    "'type':'function','function':{'name':'Read','arguments':''}}]}}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'tool_calls':[{'index':0,"
    "'function':{'arguments':'{\\'p\\':1}'}}]}}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'refusal':'I cannot'}}]}",
    "{'error':{'message':'overloaded','type':'server_error'}}",
    "{'error':'bad'}",
    "{'id':'c1','choices':[{'index':0,'message':{'content':'whole'},'finish_reason':'stop'}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'content':'a','content':'b'}}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'c\\u006fntent':'a'}}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'content':'a'},'finish_reason':'st\\u006fp'}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'content':'nul \\u0000'}}]}",
    "{'id':'c1','choices':[{'index':0,'delta':{'content':'a'}}]} x",
    "[{'id':'c1'}]",
};

static char *chunk_text(const char *q)
{
    return tu_q(q);
}

/* Every chunk of the list scans to want (1 taken, 0 refused). */
static void scan_each(const char *const *chunks, size_t n, int want)
{
    for (size_t i = 0; i < n; i++) {
        const char *t = chunk_text(chunks[i]);
        struct tr_chunk c;
        int rc = tr_chunk_scan(t, strlen(t), &c);
        if (rc != want)
            fprintf(stderr, "%s: %s\n", want ? "refused" : "taken", t);
        CU_ASSERT_EQUAL(rc, want);
    }
}

static void test_scan_takes_usual(void)
{
    scan_each(usual_chunks, sizeof(usual_chunks) / sizeof(usual_chunks[0]), 1);
    /* the facts */
    const char *t = chunk_text(usual_chunks[2]);
    struct tr_chunk c;
    CU_ASSERT_EQUAL_FATAL(tr_chunk_scan(t, strlen(t), &c), 1);
    CU_ASSERT_TRUE(c.has_choice && c.content.escaped && !c.reasoning.s && !c.finish[0]);
    char out[64];
    size_t n = zjson_reader_unescape(c.content.s, c.content.len, out);
    const char *want = " a \"quoted\" line\n\tand a tab";
    CU_ASSERT_TRUE(n == strlen(want) && memcmp(out, want, n) == 0);
    t = chunk_text(usual_chunks[12]); /* index 1 first: index 0 is the one */
    CU_ASSERT_EQUAL_FATAL(tr_chunk_scan(t, strlen(t), &c), 1);
    CU_ASSERT_TRUE(c.content.len == 1 && c.content.s[0] == 'a' && !strcmp(c.finish, "tool_calls"));
    t = chunk_text(usual_chunks[10]);
    CU_ASSERT_EQUAL_FATAL(tr_chunk_scan(t, strlen(t), &c), 1);
    CU_ASSERT_FALSE(c.has_choice);
    t = chunk_text(usual_chunks[3]);
    CU_ASSERT_EQUAL_FATAL(tr_chunk_scan(t, strlen(t), &c), 1);
    CU_ASSERT_TRUE(c.reasoning.len == 12 && !c.content.s);
    CU_ASSERT_TRUE(c.id.len == 2 && !memcmp(c.id.s, "d1", 2) && !c.has_usage);
    t = chunk_text(usual_chunks[17]);
    CU_ASSERT_EQUAL_FATAL(tr_chunk_scan(t, strlen(t), &c), 1);
    CU_ASSERT_TRUE(c.has_usage && c.usage.input_total == 9 && c.usage.cache_read == 2 &&
                   c.usage.cache_write == 3 && !c.usage.has_output && c.model.escaped);
}

static void test_scan_refuses_others(void)
{
    scan_each(other_chunks, sizeof(other_chunks) / sizeof(other_chunks[0]), 0);
}

/* ---- streams ---- */

struct sb {
    char *p;
    size_t len, cap;
};

static void sb_add(struct sb *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->p = realloc(b->p, b->cap);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b->p);
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_str(struct sb *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void add_event(struct sb *b, const char *data)
{
    sb_str(b, "data: ");
    sb_str(b, data);
    sb_str(b, "\n\n");
}

static int diff_failures;

static void check_diff(const struct sb *b, uint32_t seed)
{
    const char *what = "";
    size_t pieces[] = {b->len, 1, 7, 64};
    for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
        int rc = tr_chunk_diff(b->p, b->len, seed + (uint32_t)i, pieces[i], (seed & 1) == 0,
                               &what);
        CU_ASSERT_EQUAL(rc, 1);
        if (rc != 1 && diff_failures++ < 3)
            fprintf(stderr, "scanner and tree differ (%s), pieces of up to %zu:\n%s\n", what,
                    pieces[i], b->p);
    }
}

/* Every stream of fixture chunks: a role chunk, then each usual and other
 * chunk in turn, alone and after a text delta, with [DONE] or without. */
static void test_diff_fixtures(void)
{
    const size_t n_usual = sizeof(usual_chunks) / sizeof(usual_chunks[0]);
    const size_t n_other = sizeof(other_chunks) / sizeof(other_chunks[0]);
    for (size_t i = 0; i < n_usual + n_other; i++)
        for (int variant = 0; variant < 4; variant++) {
            struct sb b = {0};
            add_event(&b, chunk_text(role_chunks[variant & 1]));
            if (variant & 2)
                add_event(&b, chunk_text(usual_chunks[0]));
            add_event(&b, chunk_text(i < n_usual ? usual_chunks[i] : other_chunks[i - n_usual]));
            add_event(&b, chunk_text(usual_chunks[1]));
            add_event(&b, chunk_text(usual_chunks[14]));
            if (variant & 1)
                add_event(&b, "[DONE]");
            check_diff(&b, (uint32_t)(i * 4 + (size_t)variant));
            free(b.p);
        }
}

/* A random string value: plain words, escapes, UTF-8, now and then a
 * \u0000 (the tree's only) or nothing. */
static void random_string(struct sb *b)
{
    static const char *const pieces[] = {"the ", "code", " ", "\\n", "\\\"", "\\\\", "\\/",
                                         "\\t", "\\u00e9", "\\ud83d\\ude00", "\xc3\xa9",
                                         "\xe6\x97\xa5", "{", "}", "[", ",", ":", "\\u0000"};
    const size_t n_pieces = sizeof(pieces) / sizeof(pieces[0]);
    sb_str(b, "\"");
    size_t k = tu_rng_below(6);
    for (size_t i = 0; i < k; i++) {
        size_t j = tu_rng_below(n_pieces);
        if (j == n_pieces - 1 && tu_rng_below(8))
            j = 0;
        sb_str(b, pieces[j]);
    }
    sb_str(b, "\"");
}

/* A random chunk from the fields decoder C reads and some it does not. */
static void random_chunk(struct sb *b)
{
    static const char *const finishes[] = {"null", "\"stop\"", "\"length\"", "\"tool_calls\"",
                                           "\"content_filter\"", "\"\"", "\"eos\"",
                                           "\"insufficient_system_resource\"", "7"};
    sb_str(b, "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",");
    if (tu_rng_below(10) == 0)
        sb_str(b, "\"error\":null,");
    if (tu_rng_below(6) == 0) {
        static const char *const usages[] = {
            "null", "{\"prompt_tokens\":3}", "{\"prompt_tokens\":3,\"completion_tokens\":-2}",
            "{\"completion_tokens\":4,\"prompt_tokens_details\":{\"cached_tokens\":1}}",
            "{\"prompt_cache_hit_tokens\":5,\"cache_creation_input_tokens\":6}",
            "{\"prompt_tokens_details\":{\"cache_write_tokens\":7,\"cached_tokens\":8},"
            "\"cache_creation_input_tokens\":6,\"prompt_cache_hit_tokens\":5}",
            "{\"prompt_tokens_details\":{\"cache_write_tokens\":7},\"prompt_tokens\":1e2}",
            "[]"};
        sb_str(b, "\"usage\":");
        sb_str(b, usages[tu_rng_below(sizeof(usages) / sizeof(usages[0]))]);
        sb_str(b, ",");
    }
    if (tu_rng_below(6) == 0) {
        sb_str(b, "\"model\":");
        random_string(b);
        sb_str(b, ",");
    }
    sb_str(b, "\"choices\":[");
    size_t n_choices = tu_rng_below(8) == 0 ? 2 : 1;
    for (size_t i = 0; i < n_choices; i++) {
        if (i)
            sb_str(b, ",");
        sb_str(b, "{");
        static const char *const indexes[] = {"\"index\":0,", "\"index\":1,", "", "\"index\":-0,",
                                              "\"index\":0.0,", "\"index\":null,"};
        size_t ix = tu_rng_below(12);
        sb_str(b, indexes[ix < 6 ? ix : 0]);
        sb_str(b, "\"delta\":{");
        const char *sep = "";
        if (tu_rng_below(2)) {
            sb_str(b, "\"content\":");
            if (tu_rng_below(8) == 0)
                sb_str(b, "null");
            else
                random_string(b);
            sep = ",";
        }
        if (tu_rng_below(4) == 0) {
            sb_str(b, sep);
            sb_str(b, tu_rng_below(2) ? "\"reasoning_content\":" : "\"reasoning\":");
            random_string(b);
            sep = ",";
        }
        if (tu_rng_below(10) == 0) {
            sb_str(b, sep);
            sb_str(b, "\"role\":\"assistant\"");
        }
        sb_str(b, "}");
        if (tu_rng_below(3) == 0) {
            sb_str(b, ",\"finish_reason\":");
            sb_str(b, finishes[tu_rng_below(sizeof(finishes) / sizeof(finishes[0]))]);
        }
        sb_str(b, ",\"logprobs\":null}");
    }
    sb_str(b, "]}");
}

/* Byte-level damage: JSON's own bytes replaced, inserted, deleted, or a
 * stretch copied elsewhere (duplicate keys, nested values). */
static void mutate(struct sb *b, size_t from)
{
    static const char alphabet[] = "{}[]\",:\\0-1nulltruefalse \t\nuecontent";
    size_t k = 1 + tu_rng_below(3);
    for (size_t m = 0; m < k && b->len > from; m++) {
        size_t at = from + tu_rng_below(b->len - from);
        char c = alphabet[tu_rng_below(sizeof(alphabet) - 1)];
        switch (tu_rng_below(4)) {
        case 0:
            b->p[at] = c;
            break;
        case 1:
            sb_add(b, " ", 1);
            memmove(b->p + at + 1, b->p + at, b->len - at - 1);
            b->p[at] = c;
            break;
        case 2:
            memmove(b->p + at, b->p + at + 1, b->len - at - 1);
            b->p[--b->len] = 0;
            break;
        default: {
            size_t n = 1 + tu_rng_below(24);
            if (n > b->len - at)
                n = b->len - at;
            char tmp[24];
            memcpy(tmp, b->p + at, n);
            size_t to = from + tu_rng_below(b->len - from);
            sb_add(b, tmp, n); /* room, then move into place */
            memmove(b->p + to + n, b->p + to, b->len - n - to);
            memcpy(b->p + to, tmp, n);
            break;
        }
        }
    }
}

#define RANDOM_STREAMS 3000

static void test_diff_random(void)
{
    tu_rng_seed(0xc4a7c4a7ULL);
    size_t taken = 0, chunks = 0;
    for (int round = 0; round < RANDOM_STREAMS; round++) {
        struct sb b = {0};
        if (tu_rng_below(8))
            add_event(&b, chunk_text(role_chunks[tu_rng_below(2)]));
        size_t n = 1 + tu_rng_below(6);
        for (size_t i = 0; i < n; i++) {
            struct sb c = {0};
            if (tu_rng_below(4) == 0) {
                const char *f = tu_rng_below(2)
                                    ? usual_chunks[tu_rng_below(sizeof(usual_chunks) /
                                                                sizeof(usual_chunks[0]))]
                                    : other_chunks[tu_rng_below(sizeof(other_chunks) /
                                                                sizeof(other_chunks[0]))];
                sb_str(&c, chunk_text(f));
            } else {
                random_chunk(&c);
            }
            struct tr_chunk tc;
            chunks++;
            taken += (size_t)tr_chunk_scan(c.p, c.len, &tc);
            if (round % 2 && tu_rng_below(3) == 0)
                mutate(&c, 0);
            add_event(&b, c.p);
            free(c.p);
        }
        if (tu_rng_below(2))
            add_event(&b, "[DONE]");
        if (round % 5 == 0)
            mutate(&b, 0); /* the SSE framing too */
        check_diff(&b, (uint32_t)round);
        free(b.p);
    }
    /* the scanner took most of the chunks before damage: the diff compared
     * two paths, not one with itself */
    CU_ASSERT_TRUE(taken * 2 > chunks);
    fprintf(stderr, "\nchunk scanner: took %zu of %zu random chunks\n", taken, chunks);
}

/* ---- the memo ---- */

/* Envelopes whose one varying token (%s) the memo may swap. */
static const char *const envelopes[] = {
    "{'id':'c1','object':'chat.completion.chunk','created':1,'model':'m','choices':[{'index':0,"
    "'delta':{'content':%s},'logprobs':null,'finish_reason':null}],'usage':null}",
    "{'id':'c1','choices':[{'index':0,'delta':{'content':%s},'finish_reason':'stop'}],"
    "'usage':{'prompt_tokens':4,'completion_tokens':2}}",
    "{'choices':[{'index':0,'delta':{'reasoning_content':%s,'reasoning':'alt','content':null}}]}",
    "{'choices':[{'index':0,'delta':{'reasoning_content':null,'reasoning':%s}}],'model':'\\u00e9'}",
    "{'choices':[{'index':0,'delta':{'reasoning':'r','content':%s}}],'id':'c\\'2'}",
    "{'choices':[{'index':1,'delta':{'content':'o'}},{'index':0,'delta':{'content':%s}}]}",
    "{'choices':[{'delta':{'content':%s,'role':'assistant'},'index':1}],'id':'x'}",
};

/* A token for the varying place: mostly a valid string, else anything. */
static void random_token(struct sb *b)
{
    static const char *const odd[] = {"\"\"", "\"a\" ", " \"a\"", "\"a", "\"a\\x\"",
                                      "\"\\u0000\"", "\"a\",\"content\":\"b\"", "\"a\"}", "1",
                                      "null", "\"\x01\"", "\"\xff\"", "\"a\"\"b\"", "{}"};
    if (tu_rng_below(4))
        random_string(b);
    else
        sb_str(b, odd[tu_rng_below(sizeof(odd) / sizeof(odd[0]))]);
}

static int same_str(const struct tr_chunk_str *a, const struct tr_chunk_str *b)
{
    return (a->s == NULL) == (b->s == NULL) && a->len == b->len && a->escaped == b->escaped &&
           (!a->s || memcmp(a->s, b->s, a->len) == 0);
}

static int same_facts(const struct tr_chunk *a, const struct tr_chunk *b)
{
    const struct tr_usage *u = &a->usage, *v = &b->usage;
    return same_str(&a->id, &b->id) && same_str(&a->model, &b->model) &&
           same_str(&a->reasoning, &b->reasoning) && same_str(&a->content, &b->content) &&
           a->has_choice == b->has_choice && !strcmp(a->finish, b->finish) &&
           a->has_usage == b->has_usage && u->input_total == v->input_total &&
           u->cache_read == v->cache_read && u->cache_write == v->cache_write &&
           u->output == v->output && u->has_input == v->has_input &&
           u->has_output == v->has_output && u->has_cache_read == v->has_cache_read &&
           u->has_cache_write == v->has_cache_write;
}

/* Streams of one envelope with other tokens (and now and then other bytes
 * anywhere): through the memo the scanner answers exactly as without it,
 * and decoder C emits what the tree gives. */
static void test_memo(void)
{
    tu_rng_seed(0x3e3e3e3eULL);
    size_t hits = 0;
    for (int round = 0; round < 1500; round++) {
        const char *env = tu_q(envelopes[tu_rng_below(sizeof(envelopes) / sizeof(envelopes[0]))]);
        const char *hole = strstr(env, "%s");
        struct tr_chunk_memo m = {.buf = NULL};
        struct sb stream = {0};
        size_t n = 2 + tu_rng_below(6);
        for (size_t i = 0; i < n; i++) {
            struct sb c = {0};
            sb_add(&c, env, (size_t)(hole - env));
            random_token(&c);
            sb_str(&c, hole + 2);
            if (tu_rng_below(10) == 0)
                mutate(&c, 0);
            struct tr_chunk a, b;
            int ra = tr_chunk_scan_memo(&m, c.p, c.len, &a), rb = tr_chunk_scan(c.p, c.len, &b);
            CU_ASSERT_EQUAL(ra, rb);
            if (ra == 1 && rb == 1) {
                CU_ASSERT_TRUE(same_facts(&a, &b));
                if (!same_facts(&a, &b))
                    fprintf(stderr, "memo and scan differ on %s\n", c.p);
                hits += m.len != c.len || memcmp(m.buf, c.p, c.len) != 0;
            }
            add_event(&stream, c.p);
            free(c.p);
        }
        tr_chunk_memo_fini(&m);
        check_diff(&stream, (uint32_t)round);
        free(stream.p);
    }
    /* the memo answered many chunks: the comparison compared something */
    fprintf(stderr, "\nchunk memo: %zu hits\n", hits);
    CU_ASSERT_TRUE(hits > 1000);
}

void register_tests(void)
{
    CU_pSuite s = CU_add_suite("tr_chunk_scan", NULL, NULL);
    TU_ADD(s, test_scan_takes_usual);
    TU_ADD(s, test_scan_refuses_others);
    TU_ADD(s, test_diff_fixtures);
    TU_ADD(s, test_diff_random);
    TU_ADD(s, test_memo);
}
