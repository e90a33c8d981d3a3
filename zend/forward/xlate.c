/* xlate.c -- format translation in the attempt loop. See xlate.h. */
#include "xlate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "forward_headers.h"
#include "log.h"
#include "rewrite.h"
#include "timeutil.h"
#include "tr_ctx.h"
#include "tr_decode.h"
#include "tr_encode.h"
#include "tr_error.h"
#include "tr_models.h"
#include "tr_request.h"
#include "usage_reader.h"
#include "wire.h"

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

void xlate_init(struct xlate *x, struct ev_loop *loop, struct http_conn *conn,
                const struct xlate_hooks *hooks, void *ud)
{
    memset(x, 0, sizeof(*x));
    x->loop = loop;
    x->conn = conn;
    x->hooks = hooks;
    x->hooks_ud = ud;
    zbuf_init(&x->out);
    ev_timer_init(&x->timer, timer_cb, 0., 0.);
    x->timer.data = x;
    tr_ctx_init(&x->ctx, TR_FORMAT_A, TR_FORMAT_A);
    x->usage = USAGE_TOKENS_NONE;
}

void xlate_end_attempt(struct xlate *x)
{
    ev_timer_stop(x->loop, &x->timer);
    commit_watch_fini(&x->watch);
    x->holding = 0;
    tr_decoder_free(x->dec);
    x->dec = NULL;
    tr_encoder_free(x->enc);
    x->enc = NULL;
    zbuf_free(&x->out);
    zbuf_init(&x->out);
    x->committed = x->finished = x->failed = x->broken = 0;
    x->err_msg[0] = '\0';
}

void xlate_keep_doc(struct xlate *x, json_t *doc)
{
    json_decref(x->doc);
    x->doc = doc;
}

void xlate_fini(struct xlate *x)
{
    xlate_end_attempt(x);
    xlate_keep_doc(x, NULL);
    tr_ctx_fini(&x->ctx);
    json_decref(x->ir);
    x->ir = NULL;
    free(x->client_model);
    x->client_model = NULL;
}

void xlate_detect(struct xlate *x, const struct http_request *req, const char *upstream_path)
{
    tr_detect(upstream_path, req->method, http_request_header(req, "x-zen-client"),
              http_request_header(req, "anthropic-version") != NULL, &x->fmt);
}

/* ---- the request side ---- */

static int endpoint_translates(enum tr_endpoint ep)
{
    return ep == TR_EP_MESSAGES || ep == TR_EP_CHAT || ep == TR_EP_RESPONSES;
}

/* Same family: Anthropic, or either OpenAI API. */
static int same_family(enum tr_format a, enum tr_format b)
{
    return (a == TR_FORMAT_A) == (b == TR_FORMAT_A);
}

static void reject(struct xlate *x, struct xlate_attempt *out, int status, const char *type,
                   const char *msg)
{
    out->plan = XLATE_REJECT;
    out->status = status;
    out->body = xlate_own_error(x, type, msg, NULL);
    out->body_len = out->body ? strlen(out->body) : 0;
}

/* count_tokens on a provider that cannot count: zend's estimate
 * (docs/translate.md, "count_tokens"). */
static void count_locally(struct xlate *x, const char *body, size_t len,
                          struct xlate_attempt *out)
{
    char err[256];
    json_t *ir = tr_request_parse(TR_FORMAT_A, body, len, err, sizeof(err));
    if (!ir) {
        reject(x, out, 400, "invalid_request_error", err);
        return;
    }
    char text[64];
    snprintf(text, sizeof(text), "{\"input_tokens\":%lld}",
             (long long)tr_count_tokens_estimate(ir));
    json_decref(ir);
    out->plan = XLATE_LOCAL_ANSWER;
    out->status = 200;
    out->body = strdup(text);
    out->body_len = out->body ? strlen(out->body) : 0;
}

/* Passthrough: the body is forwarded as it is, unless it carries zend's own
 * reasoning carriers, which the provider's real API would refuse. */
static void passthrough(enum tr_format f, const char *body, size_t len,
                        struct xlate_attempt *out)
{
    out->plan = XLATE_PASSTHROUGH;
    if (f != TR_FORMAT_C && tr_passthrough_tagged(body, len))
        out->body = tr_passthrough_strip(f, body, len, &out->body_len);
}

/* The canonical request, parsed at the first attempt that needs it. */
static json_t *request_ir(struct xlate *x, const char *body, size_t len, char *err,
                          size_t errlen)
{
    if (!x->ir)
        x->ir = x->doc ? tr_request_parse_doc(x->fmt.format, x->doc, err, errlen)
                       : tr_request_parse(x->fmt.format, body, len, err, errlen);
    return x->ir;
}

static void emit_opts(const struct zcfg_provider *p, struct tr_emit_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->max_tokens_legacy = p->max_tokens_legacy;
    o->default_max_tokens = p->default_max_tokens;
    o->thinking_adaptive = p->thinking_mode == ZCFG_THINKING_ADAPTIVE;
    o->drop_sampling = p->drop_sampling;
}

static void translate_request(struct xlate *x, const struct zcfg_provider *p, const char *body,
                              size_t len, struct xlate_attempt *out)
{
    char err[512];
    json_t *ir = request_ir(x, body, len, err, sizeof(err));
    if (!ir) {
        reject(x, out, 400, "invalid_request_error", err);
        return;
    }
    if (tr_request_check(ir, x->wire, err, sizeof(err)) != 0) {
        reject(x, out, 400, "invalid_request_error", err);
        return;
    }
    /* Mapping runs per attempt on the client's model, never on an earlier
     * attempt's mapping (docs/translate.md, "Model mapping"). */
    if (!x->client_model) {
        const char *m = json_string_value(json_object_get(ir, "model"));
        if (!(x->client_model = strdup(m ? m : ""))) {
            reject(x, out, 500, "api_error", "out of memory translating the request");
            return;
        }
    }
    const char *model = x->client_model;
    const char *mapped = x->model_override;
    out->model_defaulted = 0;
    if (!mapped)
        mapped = rewrite_pick_model_translated(p, model, tr_request_wants_reasoning(ir),
                                               x->wire == TR_FORMAT_A, &out->model_defaulted);
    json_object_set_new(ir, "model", json_string(mapped ? mapped : ""));
    out->model_from = model;
    out->model_to = mapped;
    struct tr_emit_opts o;
    emit_opts(p, &o);
    tr_ctx_reset_attempt(&x->ctx);
    x->ctx.client = x->fmt.format;
    x->ctx.wire = x->wire;
    x->ctx.client_stream = json_is_true(json_object_get(ir, "stream"));
    x->ctx.include_usage = json_is_true(json_object_get(ir, "include_usage"));
    x->ctx.created = ztime_wall_ms() / 1000;
    out->body = tr_request_emit(ir, x->wire, &o, &x->ctx, &out->body_len);
    if (!out->body) {
        reject(x, out, 500, "api_error", "out of memory translating the request");
        return;
    }
    out->plan = XLATE_TRANSLATE;
    out->path = tr_wire_path(x->wire, x->fmt.endpoint);
    x->active = 1;
}

void xlate_begin_attempt(struct xlate *x, const struct zcfg_provider *p, int learned_wire,
                         const char *body, size_t len, struct xlate_attempt *out)
{
    memset(out, 0, sizeof(*out));
    xlate_end_attempt(x);
    x->active = x->models = 0;
    x->usage = USAGE_TOKENS_NONE;
    enum tr_format client = x->fmt.format;
    enum tr_endpoint ep = x->fmt.endpoint;
    x->wire = x->fallback ? x->fallback_wire : wire_for(p, learned_wire, client);
    if (ep == TR_EP_COUNT_TOKENS) {
        if (x->wire == TR_FORMAT_A)
            passthrough(TR_FORMAT_A, body, len, out);
        else
            count_locally(x, body, len, out);
        return;
    }
    if (ep == TR_EP_MODELS) {
        out->plan = XLATE_PASSTHROUGH;
        if (!same_family(client, x->wire)) {
            out->plan = XLATE_TRANSLATE;
            out->path = tr_wire_path(x->wire, ep);
            x->active = x->models = 1;
        }
        return;
    }
    if (!endpoint_translates(ep) || client == x->wire)
        passthrough(client, body, len, out);
    else
        translate_request(x, p, body, len, out);
    xlate_keep_doc(x, NULL);
}

/* ---- the answer side ---- */

int xlate_client_stream(const struct xlate *x)
{
    return x->active && !x->models && x->ctx.client_stream;
}

size_t xlate_head_headers(const struct xlate *x, struct http_header *out)
{
    size_t n = 0;
    if (xlate_client_stream(x)) {
        out[n++] = (struct http_header){"Content-Type", "text/event-stream"};
        out[n++] = (struct http_header){"Cache-Control", "no-cache"};
    } else {
        out[n++] = (struct http_header){"Content-Type", "application/json"};
    }
    return n;
}

/* XLATE_KEEPALIVE_MS, or the test override, in seconds (read once). */
static double keepalive_s(void)
{
    static double s;
    if (s == 0) {
        const char *t = getenv(XLATE_KEEPALIVE_TEST_ENV);
        long ms = t ? strtol(t, NULL, 10) : 0;
        s = (ms > 0 ? (double)ms : XLATE_KEEPALIVE_MS) / 1000.0;
    }
    return s;
}

static void arm_timer(struct xlate *x, double after_s)
{
    ev_timer_stop(x->loop, &x->timer);
    ev_timer_set(&x->timer, after_s, 0.);
    ev_timer_start(x->loop, &x->timer);
}

static double commit_timeout_s(const struct xlate *x)
{
    return (double)x->commit_timeout_ms / 1000.0;
}

static void on_event(void *ud, const struct tr_event *ev)
{
    struct xlate *x = ud;
    if (x->finished || x->failed || x->broken)
        return;
    if (ev->has_usage) { /* later counts replace earlier ones (FINISH after START) */
        struct usage_tokens t = usage_tokens_from_tr(&ev->usage);
        usage_tokens_merge(&x->usage, &t);
    }
    switch (ev->kind) {
    case TR_EV_ERROR:
        x->err_class = ev->err_class;
        snprintf(x->err_msg, sizeof(x->err_msg), "%.*s", (int)ev->text_len,
                 ev->text ? ev->text : "");
        if (!x->committed || !xlate_client_stream(x)) {
            /* Before the commit point the client sees none of it. */
            x->failed = 1;
            return;
        }
        x->broken = 1;
        break;
    case TR_EV_FINISH:
        x->finished = 1;
        break;
    default:
        break;
    }
    tr_encoder_event(x->enc, ev, &x->out);
    if (ev->kind == TR_EV_OPEN && !x->committed && xlate_client_stream(x))
        x->committed = -1; /* commit once the decoder returns */
}

int xlate_on_head(struct xlate *x, const struct http_header *h, size_t n)
{
    if (x->models)
        return 0; /* the whole body is collected in out */
    const char *ctype = fwdh_find(h, n, "content-type");
    int sse = ctype && strncasecmp(ctype, "text/event-stream", 17) == 0;
    x->dec = tr_decoder_new(x->wire, sse, on_event, x);
    x->enc = tr_encoder_new(&x->ctx, x->ctx.client_stream);
    if (!x->dec || !x->enc)
        return -1;
    if (xlate_client_stream(x))
        arm_timer(x, commit_timeout_s(x));
    return 0;
}

/* Writes what is encoded to the client. */
static enum xlate_step flush_out(struct xlate *x)
{
    if (zbuf_len(&x->out) == 0)
        return XLATE_GOING;
    int rc = http_response_write(x->conn, zbuf_head(&x->out), zbuf_len(&x->out));
    zbuf_clear(&x->out);
    x->last_write_s = ztime_mono_s();
    if (rc == HTTP_WRITE_DEAD)
        return XLATE_CLIENT_GONE;
    return rc == HTTP_WRITE_FULL ? XLATE_PAUSE : XLATE_GOING;
}

static void commit(struct xlate *x)
{
    x->committed = 1;
    x->hooks->on_commit(x->hooks_ud);
    x->last_write_s = ztime_mono_s();
    arm_timer(x, keepalive_s());
}

/* After the decoder ran: commit, write, and say what happened. */
static enum xlate_step after_events(struct xlate *x)
{
    if (x->failed)
        return XLATE_FAILED;
    if (x->finished)
        arm_timer(x, XLATE_END_GRACE_MS / 1000.0); /* for the upstream to end */
    if (!xlate_client_stream(x))
        return x->finished ? XLATE_FINISHED : XLATE_GOING;
    if (x->committed == -1 || (!x->committed && (x->finished ||
                                                  zbuf_len(&x->out) > XLATE_HOLD_MAX)))
        commit(x);
    if (!x->committed)
        return XLATE_GOING;
    enum xlate_step st = flush_out(x);
    if (st == XLATE_CLIENT_GONE)
        return st;
    if (x->broken)
        return XLATE_BROKEN;
    if (x->finished)
        return XLATE_FINISHED;
    return st;
}

enum xlate_step xlate_on_body(struct xlate *x, const char *data, size_t len)
{
    if (x->models) {
        if (zbuf_len(&x->out) + len > TR_JSON_BODY_MAX)
            return XLATE_GOING; /* a list that big is not one: relayed as cut */
        zbuf_append(&x->out, data, len);
        return XLATE_GOING;
    }
    if (x->finished) /* the answer is whole: what follows is discarded */
        return XLATE_GOING;
    tr_decoder_feed(x->dec, data, len);
    enum xlate_step st = after_events(x);
    if (st == XLATE_GOING && !x->finished && tr_decoder_awaiting_end(x->dec))
        arm_timer(x, TR_FINISH_GRACE_MS / 1000.0);
    return st;
}

static enum xlate_step models_end(struct xlate *x, int ok)
{
    size_t n = 0;
    char *body = ok ? tr_models_translate(x->wire, x->fmt.format, (const char *)zbuf_head(&x->out),
                                          zbuf_len(&x->out), &n)
                    : NULL;
    if (body) {
        zbuf_clear(&x->out);
        zbuf_append(&x->out, body, n);
        free(body);
    }
    x->finished = 1;
    return XLATE_FINISHED;
}

enum xlate_step xlate_on_end(struct xlate *x, int ok, const char *why)
{
    ev_timer_stop(x->loop, &x->timer);
    if (x->models)
        return models_end(x, ok);
    if (!tr_decoder_done(x->dec))
        tr_decoder_end(x->dec, ok, why);
    return after_events(x);
}

enum xlate_step xlate_on_writable(struct xlate *x)
{
    return x->committed == 1 ? flush_out(x) : XLATE_GOING;
}

const char *xlate_whole_body(const struct xlate *x, size_t *len)
{
    *len = zbuf_len(&x->out);
    return (const char *)zbuf_head(&x->out);
}

/* Commit deadline, keep-alive, finish grace. The timer only writes: what it
 * means for the request is read by the attempt loop from the next step. */
static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct xlate *x = w->data;
    if (x->holding) {
        /* A held passthrough stream's commit deadline. */
        x->hooks->on_timer_step(x->hooks_ud, XLATE_COMMIT);
        return;
    }
    if (x->finished) {
        /* Whole, but the upstream never ended: the request ends anyway. */
        x->hooks->on_timer_step(x->hooks_ud, XLATE_FINISHED);
        return;
    }
    if (x->dec && tr_decoder_awaiting_end(x->dec)) {
        tr_decoder_finalize(x->dec);
        enum xlate_step st = after_events(x);
        if (st == XLATE_FINISHED || st == XLATE_FAILED || st == XLATE_BROKEN)
            x->hooks->on_timer_step(x->hooks_ud, st);
        return;
    }
    if (!x->committed && xlate_client_stream(x)) {
        /* The commit deadline: what is held goes out, the stream is the client's. */
        commit(x);
        flush_out(x);
        return;
    }
    if (x->committed == 1 && !x->finished && !x->broken) {
        double idle = ztime_mono_s() - x->last_write_s;
        if (idle >= keepalive_s() - 0.001) {
            struct tr_event ka = {.kind = TR_EV_KEEPALIVE};
            tr_encoder_event(x->enc, &ka, &x->out);
            flush_out(x);
            idle = 0;
        }
        arm_timer(x, keepalive_s() - idle);
    }
}

/* ---- the commit point of a passthrough stream ---- */

int xlate_hold_begin(struct xlate *x, const struct http_header *h, size_t n)
{
    if (x->active || !endpoint_translates(x->fmt.endpoint))
        return 0;
    const char *ctype = fwdh_find(h, n, "content-type");
    if (!ctype || strncasecmp(ctype, "text/event-stream", 17) != 0)
        return 0;
    /* Passthrough: the wire is the client's own format. */
    if (commit_watch_init(&x->watch, x->wire) != 0) {
        commit_watch_fini(&x->watch);
        return -1;
    }
    x->holding = 1;
    arm_timer(x, commit_timeout_s(x));
    return 1;
}

static enum xlate_step hold_step(struct xlate *x, enum commit_verdict v)
{
    switch (v) {
    case COMMIT_NOW:
        return XLATE_COMMIT;
    case COMMIT_FAILED:
        x->failed = 1;
        x->err_class = x->watch.err_class;
        snprintf(x->err_msg, sizeof(x->err_msg), "%s", x->watch.err_msg);
        return XLATE_FAILED;
    default:
        return XLATE_GOING;
    }
}

enum xlate_step xlate_hold_body(struct xlate *x, const char *data, size_t len)
{
    if (x->failed)
        return XLATE_FAILED;
    if (zbuf_append(&x->out, data, len) != ZEN_OK) {
        x->failed = 1;
        x->err_class = TR_ERR_API;
        snprintf(x->err_msg, sizeof(x->err_msg), "out of memory holding the stream");
        return XLATE_FAILED;
    }
    return hold_step(x, commit_watch_feed(&x->watch, data, len, zbuf_len(&x->out)));
}

enum xlate_step xlate_hold_end(struct xlate *x, int ok, const char *why)
{
    ev_timer_stop(x->loop, &x->timer);
    if (x->failed)
        return XLATE_FAILED;
    return hold_step(x, commit_watch_end(&x->watch, ok, why));
}

int xlate_holding(const struct xlate *x) { return x->holding; }

const char *xlate_held(const struct xlate *x, size_t *len)
{
    *len = zbuf_len(&x->out);
    return (const char *)zbuf_head(&x->out);
}

void xlate_hold_release(struct xlate *x)
{
    ev_timer_stop(x->loop, &x->timer);
    commit_watch_fini(&x->watch);
    x->holding = 0;
    zbuf_clear(&x->out);
}

/* ---- failures and errors ---- */

void xlate_stream_error(struct xlate *x, const char *why)
{
    char msg[512];
    snprintf(msg, sizeof(msg), "upstream stream interrupted: %.400s", why);
    struct tr_event ev = {.kind = TR_EV_ERROR, .err_class = TR_ERR_API, .text = msg,
                          .text_len = strlen(msg)};
    if (x->enc && x->committed == 1 && xlate_client_stream(x) && !x->finished && !x->broken) {
        x->broken = 1;
        tr_encoder_event(x->enc, &ev, &x->out);
        flush_out(x);
        return;
    }
    if (x->active)
        return; /* a translated answer that never committed: nothing was sent */
    /* A passthrough stream: an encoder of the client's own format says it. */
    struct tr_ctx ctx;
    tr_ctx_init(&ctx, x->fmt.format, x->fmt.format);
    ctx.client_stream = 1;
    struct tr_encoder *enc = tr_encoder_new(&ctx, 1);
    if (enc) {
        tr_encoder_event(enc, &ev, &x->out);
        tr_encoder_free(enc);
        flush_out(x);
    }
    tr_ctx_fini(&ctx);
}

int xlate_fallback_wire(const struct xlate *x, const struct zcfg_provider *p, int status,
                        const char *body, size_t len)
{
    if (x->fallback || !wire_may_fall_back(p))
        return -1;
    int translating = endpoint_translates(x->fmt.endpoint);
    /* T1: a Chat request on a relay that only speaks Responses. */
    if (translating && x->wire == TR_FORMAT_C && status >= 500 && body &&
        memmem(body, len, "input is required", 17))
        return TR_FORMAT_R;
    /* T2: a Responses client on a provider without /responses. */
    if (x->fmt.endpoint == TR_EP_RESPONSES && x->wire == TR_FORMAT_R &&
        (status == 404 || status == 405 || status == 501))
        return TR_FORMAT_C;
    return -1;
}

char *xlate_error_body(const struct xlate *x, int *status, const char *body, size_t len)
{
    if (!endpoint_translates(x->fmt.endpoint) && x->fmt.endpoint != TR_EP_MODELS)
        return NULL;
    if (same_family(x->fmt.format, x->wire))
        return NULL;
    struct tr_error e;
    tr_error_parse(*status, body, len, &e);
    return tr_error_render(x->fmt.format, &e, status);
}

/* zend's own Anthropic-family error types in OpenAI's words
 * (docs/translate.md, "zend's own errors"); a type not listed is kept. */
static const struct {
    const char *type, *c_type, *c_code;
} own_openai_types[] = {
    {"all_providers_failed", "all_providers_failed", "all_providers_failed"},
    {"all_providers_unavailable", "all_providers_unavailable", "all_providers_unavailable"},
    {"profile_empty", "profile_empty", "profile_empty"},
    {"overloaded_error", "server_error", "server_is_overloaded"},
    {"api_error", "server_error", NULL},
    {"not_found_error", "not_found_error", NULL},
    {"invalid_request_error", "invalid_request_error", NULL},
};

static void own_openai_type(const char *type, const char **c_type, const char **c_code)
{
    *c_type = type;
    *c_code = NULL;
    for (size_t i = 0; i < ZEN_ARRAY_LEN(own_openai_types); i++) {
        if (strcmp(type, own_openai_types[i].type) == 0) {
            *c_type = own_openai_types[i].c_type;
            *c_code = own_openai_types[i].c_code;
            return;
        }
    }
}

char *xlate_own_error(const struct xlate *x, const char *type, const char *message,
                      json_t *top_extra)
{
    const char *c_type = type, *c_code = NULL;
    if (x->fmt.format != TR_FORMAT_A)
        own_openai_type(type, &c_type, &c_code);
    json_t *doc = tr_error_own_doc(x->fmt.format, c_type, c_code, message, NULL);
    if (doc && top_extra)
        json_object_update(doc, top_extra);
    char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
    json_decref(doc);
    return text;
}
