/* End-to-end golden tests of the translator (zend/translate/) through its
 * public API, in the order zend/forward/xlate.c drives it:
 *   requests: client body -> tr_request_parse -> tr_request_check -> model
 *             mapping -> tr_request_emit -> the exact wire body;
 *   answers:  wire bytes -> tr_decoder (stream or JSON) -> tr_encoder (the
 *             client's format, stream or JSON) -> the exact client bytes;
 *   errors:   tr_error_parse + tr_error_render, tr_models_translate.
 * One test per case of docs/translate.md's test list that the translator
 * decides. Cases about the daemon (failover, commit point, retries, the
 * attempts list, no upstream call) are tested through the real daemon in
 * tests/integration/test_translate.py; here only their translator part.
 *
 * Every stream answer is also fed split anywhere: whole, in pieces of 1, 2
 * and 3 bytes, split in two at every position, and 300 random splits into
 * 1-3 byte pieces; the client bytes must be the same every time.
 *
 * Literals are written with ' for " (tu_q()); a JSON string that holds a quote
 * is written \\'. A mismatch prints what the code gave, in that notation. */
#include <CUnit/CUnit.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testutil.h"
#include "tr_check.h"
#include "tr_ctx.h"
#include "tr_decode.h"
#include "tr_detect.h"
#include "tr_encode.h"
#include "tr_error.h"
#include "tr_models.h"
#include "tr_request.h"

#define CREATED 1700000000
#define SEED 42
#define RANDOM_SPLITS 300

/* ---- notation ---- */

/* Prints s as a C literal in tu_q() notation, one line per SSE event. */
static void dump(const char *label, const char *s, size_t n)
{
    fprintf(stderr, "%s:\n    \"", label);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"')
            fputc('\'', stderr);
        else if (c == '\\')
            fputs("\\\\", stderr);
        else if (c == '\n')
            fputs(i + 1 < n && s[i + 1] != '\n' && i > 0 && s[i - 1] == '\n' ? "\\n\"\n    \""
                                                                                : "\\n",
                  stderr);
        else if (c < 0x20 || c == '\'')
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs("\"\n", stderr);
}

/* Parses a literal in tu_q() notation. */
static json_t *jq(const char *sq)
{
    json_error_t err;
    json_t *j = json_loads(tu_q(sq), JSON_DECODE_ANY, &err);
    if (!j)
        fprintf(stderr, "\nbad literal (%s): %s\n", err.text, tu_q(sq));
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    return j;
}

/* got (compact JSON text) equals the literal want, as JSON. */
static int json_same(const char *got, size_t len, const char *want, int line)
{
    json_t *g = json_loadb(got, len, 0, NULL);
    json_t *w = jq(want);
    int ok = g && json_equal(g, w);
    if (!ok) {
        fprintf(stderr, "\nline %d: JSON differs\n", line);
        dump("got", got, len);
    }
    json_decref(g);
    json_decref(w);
    return ok;
}
#define EXPECT_JSON(got, len, want) CU_ASSERT_TRUE(json_same(got, len, want, __LINE__))

/* ---- requests ---- */

struct req {
    enum tr_format client, wire;
    const char *model;                /* the mapped model; NULL keeps the client's */
    struct tr_emit_opts opts;
    struct tr_ctx ctx;                /* filled by the emit; req_fini frees it */
    char *body;                       /* the wire body */
    size_t len;
};

/* Parses, checks, maps and emits a client body (tu_q() notation); fails the
 * test when the translator refuses it. */
static void req_run(struct req *r, const char *client_body)
{
    char err[512];
    const char *b = tu_q(client_body);
    json_t *ir = tr_request_parse(r->client, b, strlen(b), err, sizeof(err));
    if (!ir)
        fprintf(stderr, "\nrefused: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ir);
    int rc = tr_request_check(ir, r->wire, err, sizeof(err));
    if (rc)
        fprintf(stderr, "\ncheck refused: %s\n", err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    if (r->model)
        json_object_set_new(ir, "model", json_string(r->model));
    tr_ctx_init(&r->ctx, r->client, r->wire);
    r->ctx.client_stream = json_is_true(json_object_get(ir, "stream"));
    r->ctx.include_usage = json_is_true(json_object_get(ir, "include_usage"));
    r->ctx.created = CREATED;
    r->body = tr_request_emit(ir, r->wire, &r->opts, &r->ctx, &r->len);
    json_decref(ir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r->body);
    CU_ASSERT_EQUAL(r->len, strlen(r->body));
}

static void req_fini(struct req *r)
{
    free(r->body);
    r->body = NULL;
    tr_ctx_fini(&r->ctx);
}

/* The whole wire body of one request equals want. */
static void req_expect(enum tr_format client, enum tr_format wire, const char *model,
                       const char *client_body, const char *want, int line)
{
    struct req r = {.client = client, .wire = wire, .model = model};
    req_run(&r, client_body);
    CU_ASSERT_TRUE(json_same(r.body, r.len, want, line));
    req_fini(&r);
}
#define REQ(client, wire, model, body, want) req_expect(client, wire, model, body, want, __LINE__)

/* A refused request: the translator's message rendered as zend's own error
 * in the client's envelope equals want. */
static void req_refused(enum tr_format client, enum tr_format wire, const char *client_body,
                        const char *want, int line)
{
    char err[512];
    const char *b = tu_q(client_body);
    json_t *ir = tr_request_parse(client, b, strlen(b), err, sizeof(err));
    if (ir) {
        int rc = tr_request_check(ir, wire, err, sizeof(err));
        json_decref(ir);
        CU_ASSERT_NOT_EQUAL_FATAL(rc, 0);
    }
    char *body = tr_error_own(client, "invalid_request_error", NULL, err, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(body);
    CU_ASSERT_TRUE(json_same(body, strlen(body), want, line));
    free(body);
}
#define REFUSED(client, wire, body, want) req_refused(client, wire, body, want, __LINE__)

/* ---- answers ---- */

/* One answer's translation: how it is sent, received and how it ends. */
struct ans {
    enum tr_format client, wire;
    int up_sse;            /* the upstream streams (text/event-stream) */
    int cl_sse;            /* the client asked for a stream */
    int include_usage;     /* C client: stream_options.include_usage */
    int cut;               /* the body ends by a transport error (why below) */
    int open_end;          /* the body has not ended: what the client has so far */
    const char *why;
    struct tr_ctx *ctx;    /* a request's context (names, custom tools), or NULL */
};

struct sink {
    struct tr_encoder *enc;
    struct tr_checker k;
    zbuf out;
    int json_error;        /* an ERROR reached a JSON encoder: rendered after */
    enum tr_err_class cls;
    char msg[512];
};

static void on_event(void *ud, const struct tr_event *ev)
{
    struct sink *s = ud;
    if (tr_checker_event(&s->k, ev) < 0)
        return;
    if (ev->kind == TR_EV_ERROR) {
        s->cls = ev->err_class;
        snprintf(s->msg, sizeof(s->msg), "%.*s", (int)ev->text_len, ev->text ? ev->text : "");
        s->json_error = 1;
    }
    tr_encoder_event(s->enc, ev, &s->out);
}

static void feed_decoder(void *d, const char *p, size_t n)
{
    tr_decoder_feed(d, p, n);
}

/* Runs one answer through decoder and encoder as xlate.c does. Returns the
 * client bytes (malloc'd, *len set); an ERROR that reached a JSON client
 * (which then gets an error response instead: tr_error.h) is appended as
 * "!ERROR(<type in the client's family>,<message>)" (the status is the
 * daemon's: the attempt fails over); a broken
 * event invariant as "!CHECK(...)". */
static char *run_answer(const struct ans *a, const char *in, size_t n, const struct tu_plan *p,
                        size_t *len)
{
    struct tr_ctx own;
    struct tr_ctx *ctx = a->ctx;
    if (!ctx) {
        ctx = &own;
        tr_ctx_init(ctx, a->client, a->wire);
        ctx->model = strdup("gpt-test");
    }
    ctx->client = a->client;
    ctx->wire = a->wire;
    ctx->client_stream = a->cl_sse;
    ctx->include_usage = a->include_usage;
    ctx->created = CREATED;
    struct sink s = {0};
    tr_checker_init(&s.k);
    zbuf_init(&s.out);
    s.enc = tr_encoder_new(ctx, a->cl_sse);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s.enc);
    tr_encoder_set_id_seed(s.enc, SEED);
    struct tr_decoder *d = tr_decoder_new(a->wire, a->up_sse, on_event, &s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    tu_feed_plan(in, n, p, feed_decoder, d);
    if (!a->open_end && !tr_decoder_done(d))
        tr_decoder_end(d, !a->cut, a->why);
    tr_decoder_free(d);
    tr_encoder_free(s.enc);
    if (tr_checker_end(&s.k, !a->open_end) < 0) {
        char t[200];
        snprintf(t, sizeof(t), "!CHECK(%s)", s.k.violation);
        zbuf_append(&s.out, t, strlen(t));
    }
    if (s.json_error && !a->cl_sse) {
        const char *type = a->client == TR_FORMAT_A ? tr_err_class_a_type(s.cls)
                                                    : tr_err_class_c_type(s.cls);
        char t[700];
        snprintf(t, sizeof(t), "!ERROR(%s,%s)", type, s.msg);
        zbuf_append(&s.out, t, strlen(t));
    }
    if (ctx == &own)
        tr_ctx_fini(ctx);
    *len = zbuf_len(&s.out);
    char *r = malloc(*len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    if (*len)
        memcpy(r, zbuf_head(&s.out), *len);
    r[*len] = '\0';
    zbuf_free(&s.out);
    return r;
}

/* One plan's client bytes equal want; the first miss of a case is shown. */
static int plan_same(const struct ans *a, const char *in, size_t n, const struct tu_plan *p,
                     const char *want, int json, int *reported, int line)
{
    size_t len;
    char *got = run_answer(a, in, n, p, &len);
    int ok;
    if (json) {
        /* JSON bodies: parsed and compared, so key order is not the test */
        json_t *g = json_loadb(got, len, 0, NULL), *w = json_loads(want, 0, NULL);
        ok = g && w && json_equal(g, w);
        json_decref(g);
        json_decref(w);
    } else {
        ok = strlen(want) == len && memcmp(got, want, len) == 0;
    }
    if (!ok && !(*reported)++) {
        fprintf(stderr, "\nline %d: plan %d/%zu gave\n", line, (int)p->mode, p->arg);
        dump("got", got, len);
    }
    free(got);
    return ok;
}

/* The answer `in` (tu_q() notation) gives `want` (tu_q() notation) whole; a
 * stream also in every split (splits 0, for huge inputs: split in two at
 * 17 positions and 3 random splits). A JSON client body is compared as
 * JSON. */
static void answer_expect(const struct ans *a, const char *input, const char *expected,
                          int splits, int line)
{
    char *in = strdup(tu_q(input));
    char *want = strdup(tu_q(expected));
    size_t n = strlen(in);
    int json = !a->cl_sse && !strstr(want, "!ERROR");
    int reported = 0, bad = 0;
    struct tu_plan whole = {TU_PLAN_WHOLE, 0};
    bad += !plan_same(a, in, n, &whole, want, json, &reported, line);
    if (a->up_sse) {
        for (size_t k = 1; k <= 3; k++) {
            struct tu_plan p = {TU_PLAN_FIXED, k};
            bad += !plan_same(a, in, n, &p, want, json, &reported, line);
        }
        for (size_t at = 0; at <= n; at += splits ? 1 : n / 16 + 1) {
            struct tu_plan p = {TU_PLAN_SPLIT, at};
            bad += !plan_same(a, in, n, &p, want, json, &reported, line);
        }
        for (int r = 0; r < (splits ? RANDOM_SPLITS : 3); r++) {
            struct tu_plan p = {TU_PLAN_RANDOM, SEED + (uint64_t)r};
            bad += !plan_same(a, in, n, &p, want, json, &reported, line);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(in);
    free(want);
}
#define ANSWER(a, in, want) answer_expect(a, in, want, 1, __LINE__)

/* Shorthands: stream to stream, JSON to JSON, and the two mismatches. */
#define SS(cl, wi) (&(struct ans){.client = cl, .wire = wi, .up_sse = 1, .cl_sse = 1})
#define JJ(cl, wi) (&(struct ans){.client = cl, .wire = wi})
#define SJ(cl, wi) (&(struct ans){.client = cl, .wire = wi, .cl_sse = 1})
#define JS(cl, wi) (&(struct ans){.client = cl, .wire = wi, .up_sse = 1})

/* ---- golden pieces ---- */

/* Anthropic client events (what an A encoder writes). */
#define AE(type, x) "event: " type "\ndata: " x "\n\n"
#define AC_START(id, model, in)                                                               \
    AE("message_start", "{'type':'message_start','message':{'id':'" id "','type':'message',"  \
                        "'role':'assistant','model':'" model "','content':[],"               \
                        "'stop_reason':null,'stop_sequence':null,'usage':{'input_tokens':"   \
                        #in ",'output_tokens':0,'cache_creation_input_tokens':0,"            \
                        "'cache_read_input_tokens':0}}}")
#define AC_OPEN_TEXT(i)                                                                       \
    AE("content_block_start", "{'type':'content_block_start','index':" #i                    \
                              ",'content_block':{'type':'text','text':''}}")
#define AC_OPEN_TOOL(i, id, name)                                                             \
    AE("content_block_start", "{'type':'content_block_start','index':" #i                    \
                              ",'content_block':{'type':'tool_use','id':'" id "','name':'"   \
                              name "','input':{}}}")
#define AC_TEXT(i, t)                                                                         \
    AE("content_block_delta", "{'type':'content_block_delta','index':" #i                    \
                              ",'delta':{'type':'text_delta','text':'" t "'}}")
#define AC_JSON(i, j)                                                                         \
    AE("content_block_delta", "{'type':'content_block_delta','index':" #i                    \
                              ",'delta':{'type':'input_json_delta','partial_json':'" j "'}}")
#define AC_CLOSE(i) AE("content_block_stop", "{'type':'content_block_stop','index':" #i "}")
#define AC_END(stop, in, out)                                                                 \
    AE("message_delta", "{'type':'message_delta','delta':{'stop_reason':'" stop               \
                        "','stop_sequence':null},'usage':{'input_tokens':" #in               \
                        ",'output_tokens':" #out ",'cache_creation_input_tokens':0,"         \
                        "'cache_read_input_tokens':0}}")                                     \
    AE("message_stop", "{'type':'message_stop'}")

/* A Chat client chunk of the answers to msg_1 (fin: null or 'reason'). */
#define CC_CHUNK(delta, fin)                                                                  \
    "data: {'id':'msg_1','object':'chat.completion.chunk','created':1700000000,"             \
    "'model':'claude-x','choices':[{'index':0,'delta':" delta ",'logprobs':null,"            \
    "'finish_reason':" fin "}]}\n\n"

/* The first two events of a Responses client stream for msg_1. */
#define RC_ENVELOPE(seq)                                                                      \
    "'response':{'id':'resp_msg_1','object':'response','created_at':1700000000,"             \
    "'status':'in_progress','incomplete_details':null,'model':'claude-x','output':[],"       \
    "'usage':null,'error':null,'parallel_tool_calls':true,'tool_choice':'auto','tools':[]},"  \
    "'sequence_number':" #seq "}"
#define RC_HEAD                                                                               \
    AE("response.created", "{'type':'response.created'," RC_ENVELOPE(0))                     \
    AE("response.in_progress", "{'type':'response.in_progress'," RC_ENVELOPE(1))

#define A TR_FORMAT_A
#define C TR_FORMAT_C
#define R TR_FORMAT_R

#include "test_tr_golden_req.inc"
#include "test_tr_golden_json.inc"
#include "test_tr_golden_sse.inc"
#include "test_tr_golden_err.inc"

void register_tests(void)
{
    register_req();
    register_json();
    register_sse();
    register_err();
}
