/* Unit tests for the answer decoders (zend/translate/tr_decode*.c, tr_sse.c,
 * tr_check.c): every event sequence is rendered as one compact trace, e.g.
 *   START(c1,g) OPEN(0,text) DELTA(0,`Hello`) CLOSE(0) FINISH(end_turn,in=10,out=2)
 * and compared exactly. Every stream input is also fed whole, in pieces of
 * 1, 2 and 3 bytes, split in two at every position and in random 1-3 byte
 * pieces, and must give the same trace every time; every trace passes the
 * invariant checker (a violation is appended to the trace, so it fails the
 * comparison).
 *
 * Inputs and expected traces are written with ' for " (tu_q()), so JSON reads
 * plainly; DELTA/SIG/ERROR texts are shown between backquotes. */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"
#include "tr_check.h"
#include "tr_decode.h"
#include "tr_sse.h"

#define RANDOM_SPLITS 500
#define SEED 0x7dec0de5ULL
/* Texts longer than this are shown as their length and a hash. */
#define TRACE_TEXT_MAX 256

/* ---- strings ---- */

struct sb {
    char *p;
    size_t len, cap;
};

static void sb_addn(struct sb *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->p = realloc(b->p, cap);
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
}

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    sb_addn(b, tmp, n < 0 ? 0 : (size_t)n >= sizeof(tmp) ? sizeof(tmp) - 1 : (size_t)n);
}

static void sb_text(struct sb *b, const char *s, size_t n)
{
    if (n > TRACE_TEXT_MAX) {
        uint32_t h = 2166136261u;
        for (size_t i = 0; i < n; i++)
            h = (h ^ (unsigned char)s[i]) * 16777619u;
        sb_printf(b, "#%zu:%08x", n, h);
        return;
    }
    sb_addn(b, "`", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            sb_addn(b, "\\n", 2);
        else if (c == '\\' || c == '`')
            sb_printf(b, "\\%c", c);
        else if (c < 0x20)
            sb_printf(b, "\\x%02x", c);
        else
            sb_addn(b, (const char *)&c, 1);
    }
    sb_addn(b, "`", 1);
}

/* ---- traces ---- */

static const char *stop_name(enum tr_stop s)
{
    static const char *names[] = {"end_turn", "stop_seq", "max_tokens", "tool_use", "refusal",
                                  "context"};
    return names[s];
}

static const char *class_name(enum tr_err_class c)
{
    static const char *names[] = {"invalid_request", "authentication", "billing", "permission",
                                  "not_found", "timeout", "too_large", "rate_limit",
                                  "overloaded", "api"};
    return names[c];
}

static const char *kind_name(enum tr_block_kind k)
{
    static const char *names[] = {"text", "thinking", "redacted", "tool"};
    return names[k];
}

struct trace {
    struct sb out;
    struct tr_checker k;
    int opened;       /* OPENs so far: block numbers go 0, 1, 2 ... */
    int n_events;
};

static void usage_str(struct sb *b, const struct tr_usage *u)
{
    if (u->has_input)
        sb_printf(b, ",in=%lld", (long long)u->input_total);
    if (u->cache_read)
        sb_printf(b, ",cr=%lld", (long long)u->cache_read);
    if (u->cache_write)
        sb_printf(b, ",cw=%lld", (long long)u->cache_write);
    if (u->has_output)
        sb_printf(b, ",out=%lld", (long long)u->output);
}

static void on_event(void *ud, const struct tr_event *ev)
{
    struct trace *t = ud;
    struct sb *b = &t->out;
    if (t->n_events++)
        sb_addn(b, " ", 1);
    switch (ev->kind) {
    case TR_EV_START:
        sb_printf(b, "START(%.*s,%.*s", (int)ev->id_len, ev->id ? ev->id : "",
                  (int)ev->model_len, ev->model ? ev->model : "");
        if (ev->has_usage)
            usage_str(b, &ev->usage);
        sb_addn(b, ")", 1);
        break;
    case TR_EV_OPEN:
        sb_printf(b, "OPEN(%d,%s", ev->block, kind_name(ev->block_kind));
        if (ev->block_kind == TR_BLOCK_TOOL)
            sb_printf(b, ",%.*s,%.*s", (int)ev->id_len, ev->id, (int)ev->name_len, ev->name);
        sb_addn(b, ")", 1);
        if (ev->block != t->opened++)
            sb_printf(b, " !NUMBERING");
        if (ev->block_kind == TR_BLOCK_TOOL && ev->id_len == 0)
            sb_printf(b, " !TOOL_WITHOUT_ID");
        break;
    case TR_EV_DELTA:
    case TR_EV_SIG:
        sb_printf(b, "%s(%d,", ev->kind == TR_EV_DELTA ? "DELTA" : "SIG", ev->block);
        sb_text(b, ev->text, ev->text_len);
        sb_addn(b, ")", 1);
        if (ev->text_len == 0)
            sb_printf(b, " !EMPTY");
        break;
    case TR_EV_CLOSE:
        sb_printf(b, "CLOSE(%d)", ev->block);
        break;
    case TR_EV_FINISH:
        sb_printf(b, "FINISH(%s", stop_name(ev->stop));
        if (ev->stop_sequence) {
            sb_addn(b, ",seq=", 5);
            sb_text(b, ev->stop_sequence, ev->stop_sequence_len);
        }
        if (ev->has_usage)
            usage_str(b, &ev->usage);
        sb_addn(b, ")", 1);
        break;
    case TR_EV_ERROR:
        sb_printf(b, "ERROR(%s,%s,", class_name(ev->err_class),
                  ev->err_type ? ev->err_type : "-");
        sb_text(b, ev->text, ev->text_len);
        sb_addn(b, ")", 1);
        break;
    case TR_EV_KEEPALIVE:
        sb_addn(b, "KEEPALIVE", 9);
        break;
    }
    if (tr_checker_event(&t->k, ev) < 0 && !strstr(b->p, "!CHECK"))
        sb_printf(b, " !CHECK(%s)", t->k.violation);
}

/* ---- feeding plans ---- */

/* A decoder run: wire, mode and how the body ends. */
struct dcfg {
    enum tr_format wire;
    int sse;
    int end_ok;           /* the body ended cleanly (EOF) or by a transport error */
    const char *why;
    int no_end;           /* do not call tr_decoder_end */
    int finalize;         /* call tr_decoder_finalize before the end (the caller's timer) */
    int tree_only;        /* decoder C without its chunk scanner (tr_decoder_tree_only) */
};

static void feed_decoder(void *ctx, const char *p, size_t n)
{
    tr_decoder_feed(ctx, p, n);
}

static char *run_decoder(const void *cfgp, const char *in, size_t n, const struct tu_plan *p)
{
    const struct dcfg *cfg = cfgp;
    struct trace t = {0};
    tr_checker_init(&t.k);
    sb_addn(&t.out, "", 0);
    struct tr_decoder *d = tr_decoder_new(cfg->wire, cfg->sse, on_event, &t);
    if (cfg->tree_only)
        tr_decoder_tree_only(d);
    tu_feed_plan(in, n, p, feed_decoder, d);
    if (cfg->finalize) {
        if (!tr_decoder_awaiting_end(d))
            sb_printf(&t.out, " !NOT_AWAITING");
        tr_decoder_finalize(d);
    }
    if (!cfg->no_end) {
        tr_decoder_end(d, cfg->end_ok, cfg->why);
        if (!tr_decoder_done(d))
            sb_printf(&t.out, " !NOT_DONE");
        if (tr_checker_end(&t.k, 1) < 0)
            sb_printf(&t.out, " !CHECK(%s)", t.k.violation);
    }
    tr_decoder_free(d);
    return t.out.p;
}

typedef char *(*run_fn)(const void *cfg, const char *in, size_t n, const struct tu_plan *p);

/* Runs one plan and compares with the expectation; prints the first miss. */
static int same(run_fn run, const void *cfg, const char *in, size_t n, const struct tu_plan *p,
                const char *want, int *reported)
{
    char *got = run(cfg, in, n, p);
    int ok = strcmp(got, want) == 0;
    if (!ok && !(*reported)++)
        fprintf(stderr, "\n  plan %d/%zu gave:\n    %s\n  expected:\n    %s\n", (int)p->mode,
                p->arg, got, want);
    free(got);
    return ok;
}

/* The trace of every feeding plan must be `want`. every_split: split in two
 * at every position (skipped for huge inputs); randoms: random-split runs. */
static void expect_plans(run_fn run, const void *cfg, const char *in, size_t n,
                         const char *want, int every_split, int randoms)
{
    int reported = 0;
    struct tu_plan whole = {TU_PLAN_WHOLE, 0};
    CU_ASSERT_TRUE(same(run, cfg, in, n, &whole, want, &reported));
    for (size_t k = 1; k <= 3; k++) {
        struct tu_plan p = {TU_PLAN_FIXED, k};
        CU_ASSERT_TRUE(same(run, cfg, in, n, &p, want, &reported));
    }
    int bad = 0;
    size_t step = every_split ? 1 : n / 16 + 1;
    for (size_t at = 0; at <= n; at += step) {
        struct tu_plan p = {TU_PLAN_SPLIT, at};
        bad += !same(run, cfg, in, n, &p, want, &reported);
    }
    for (int r = 0; r < randoms; r++) {
        struct tu_plan p = {TU_PLAN_RANDOM, SEED + (uint64_t)r};
        bad += !same(run, cfg, in, n, &p, want, &reported);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* A stream: the input and the expectation in tu_q() notation. */
static void expect_stream_cfg(const struct dcfg *cfg, const char *input, const char *want)
{
    char *in = strdup(tu_q(input));
    char *w = strdup(tu_q(want));
    expect_plans(run_decoder, cfg, in, strlen(in), w, 1, RANDOM_SPLITS);
    free(in);
    free(w);
}

static void expect_stream(enum tr_format wire, const char *input, const char *want)
{
    struct dcfg cfg = {.wire = wire, .sse = 1, .end_ok = 1};
    expect_stream_cfg(&cfg, input, want);
}

/* A whole body: fed whole and in a few piece sizes (bytes are only buffered). */
static void expect_json(enum tr_format wire, const char *body, const char *want)
{
    struct dcfg cfg = {.wire = wire, .sse = 0, .end_ok = 1};
    char *in = strdup(tu_q(body));
    char *w = strdup(tu_q(want));
    int reported = 0;
    struct tu_plan plans[] = {{TU_PLAN_WHOLE, 0}, {TU_PLAN_FIXED, 1}, {TU_PLAN_FIXED, 7}, {TU_PLAN_RANDOM, SEED}};
    for (size_t i = 0; i < sizeof(plans) / sizeof(plans[0]); i++)
        CU_ASSERT_TRUE(same(run_decoder, &cfg, in, strlen(in), &plans[i], w, &reported));
    free(in);
    free(w);
}

#define D(x) "data: " x "\n\n"
#define C_CHUNK(delta) D("{'id':'c1','model':'g','choices':[{'index':0,'delta':" delta "}]}")
#define C_FINISH(reason) \
    D("{'id':'c1','model':'g','choices':[{'index':0,'delta':{},'finish_reason':'" reason "'}]}")
#define C_TOOL(entry) C_CHUNK("{'tool_calls':[" entry "]}")

#include "test_tr_decode_sse.inc"
#include "test_tr_decode_c.inc"
#include "test_tr_decode_ar.inc"
#include "test_tr_decode_json.inc"

void register_tests(void)
{
    register_sse_tests();
    register_c_tests();
    register_ar_tests();
    register_json_tests();
}
