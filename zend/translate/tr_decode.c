/* tr_decode.c -- the decoder object (tr_decode.h): SSE or whole-body input,
 * the per-format halves (tr_decode_a.c, _c.c, _r.c), and the emitters that
 * keep the IR event invariants (tr_types.h) whatever the upstream sends. */
#include "tr_decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tr_ctx.h"
#include "tr_decode_int.h"
#include "zjson.h"

/* ---- emitters ---- */

static void emit(struct tr_decoder *d, struct tr_event *ev)
{
    if (d->done)
        return;
    if (ev->kind == TR_EV_FINISH || ev->kind == TR_EV_ERROR)
        d->done = 1;
    d->fn(d->ud, ev);
}

void tr_dec_keepalive(struct tr_decoder *d)
{
    struct tr_event ev = {.kind = TR_EV_KEEPALIVE};
    emit(d, &ev);
}

void tr_dec_start(struct tr_decoder *d, const char *id, const char *model,
                  const struct tr_usage *usage)
{
    if (d->started || d->done)
        return;
    d->started = 1;
    struct tr_event ev = {.kind = TR_EV_START};
    if (id && *id) {
        ev.id = id;
        ev.id_len = strlen(id);
    }
    if (model && *model) {
        ev.model = model;
        ev.model_len = strlen(model);
    }
    if (usage) {
        ev.has_usage = 1;
        ev.usage = *usage;
    }
    emit(d, &ev);
}

int tr_dec_open(struct tr_decoder *d, enum tr_block_kind kind, const char *id, size_t id_len,
                const char *name, size_t name_len, const char *close_sig)
{
    if (d->done)
        return -1;
    if (d->n_blks >= TR_DEC_MAX_BLOCKS) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream answer has too many content blocks");
        return -1;
    }
    if (tr_dec_room(&d->blks, &d->cap_blks, d->n_blks, sizeof(*d->blks)) < 0) {
        tr_dec_error(d, TR_ERR_API, NULL, "out of memory decoding the upstream answer");
        return -1;
    }
    tr_dec_start(d, NULL, NULL, NULL);
    int b = (int)d->n_blks++;
    d->blks[b] = (struct tr_dec_blk){BLK_OPEN, kind, close_sig};
    struct tr_event ev = {.kind = TR_EV_OPEN, .block = b, .block_kind = kind};
    char synth[32];
    if (kind == TR_BLOCK_TOOL) {
        if (!id || id_len == 0) {
            snprintf(synth, sizeof(synth), "call_zend_%d", d->n_tools);
            id = synth;
            id_len = strlen(synth);
        }
        d->n_tools++;
        ev.id = id;
        ev.id_len = id_len;
        ev.name = name ? name : "";
        ev.name_len = name ? name_len : 0;
    }
    emit(d, &ev);
    return b;
}

int tr_dec_is_open(const struct tr_decoder *d, int b)
{
    return !d->done && b >= 0 && (size_t)b < d->n_blks && d->blks[b].state == BLK_OPEN;
}

static void emit_text(struct tr_decoder *d, enum tr_ev_kind kind, int b, const char *s, size_t n)
{
    if (!s || n == 0 || !tr_dec_is_open(d, b))
        return;
    struct tr_event ev = {.kind = kind, .block = b, .text = s, .text_len = n};
    emit(d, &ev);
}

void tr_dec_delta(struct tr_decoder *d, int b, const char *s, size_t n)
{
    emit_text(d, TR_EV_DELTA, b, s, n);
}

void tr_dec_sig(struct tr_decoder *d, int b, const char *s, size_t n)
{
    emit_text(d, TR_EV_SIG, b, s, n);
}

void tr_dec_close(struct tr_decoder *d, int b)
{
    if (!tr_dec_is_open(d, b))
        return;
    if (d->blks[b].close_sig)
        tr_dec_sig(d, b, d->blks[b].close_sig, strlen(d->blks[b].close_sig));
    d->blks[b].state = BLK_CLOSED;
    struct tr_event ev = {.kind = TR_EV_CLOSE, .block = b};
    emit(d, &ev);
}

void tr_dec_close_all(struct tr_decoder *d)
{
    for (size_t b = 0; b < d->n_blks; b++)
        tr_dec_close(d, (int)b);
}

void tr_dec_finish(struct tr_decoder *d, enum tr_stop stop, const char *seq, size_t seq_len,
                   const struct tr_usage *usage)
{
    if (d->done)
        return;
    tr_dec_start(d, NULL, NULL, NULL);
    tr_dec_close_all(d);
    /* docs/translate.md, stop reasons: agents run a tool only on tool_use,
     * and hang on a tool_use with nothing to run. */
    if (stop == TR_STOP_END_TURN && d->n_tools > 0)
        stop = TR_STOP_TOOL_USE;
    else if (stop == TR_STOP_TOOL_USE && d->n_tools == 0)
        stop = TR_STOP_END_TURN;
    struct tr_event ev = {.kind = TR_EV_FINISH, .stop = stop};
    if (seq && stop == TR_STOP_STOP_SEQ) {
        ev.stop_sequence = seq;
        ev.stop_sequence_len = seq_len;
    }
    if (usage) {
        ev.has_usage = 1;
        ev.usage = *usage;
    }
    emit(d, &ev);
}

void tr_dec_error(struct tr_decoder *d, enum tr_err_class cls, const char *type,
                  const char *msg)
{
    struct tr_event ev = {.kind = TR_EV_ERROR, .err_class = cls, .err_type = type};
    ev.text = msg ? msg : "";
    ev.text_len = strlen(ev.text);
    emit(d, &ev);
}

void tr_dec_error_upstream(struct tr_decoder *d, const char *type, const char *msg)
{
    if (type && !*type)
        type = NULL;
    tr_dec_error(d, tr_err_class_from_type(type, TR_ERR_API), type,
                 msg && *msg ? msg : "upstream error");
}

void tr_dec_error_ended(struct tr_decoder *d, int transport_ok, const char *why)
{
    if (!d->seen_json) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned an empty stream");
        return;
    }
    char msg[512];
    snprintf(msg, sizeof(msg), "upstream stream interrupted: ended before completion (%.400s)",
             why && *why ? why : transport_ok ? "EOF" : "transport error");
    tr_dec_error(d, TR_ERR_API, NULL, msg);
}

int tr_dec_buf_add(struct tr_dec_buf *b, const char *s, size_t n, size_t max)
{
    if (n > max - b->len)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > max + 1)
            cap = max + 1; /* a body at the limit does not cost twice the limit */
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

void tr_dec_buf_free(struct tr_dec_buf *b)
{
    free(b->p);
    *b = (struct tr_dec_buf){0};
}

int tr_dec_room(void *arrp, size_t *cap, size_t n, size_t elem)
{
    if (n >= TR_DEC_MAX_BLOCKS)
        return -1;
    if (n < *cap)
        return 0;
    void *old;
    memcpy(&old, arrp, sizeof(old));
    size_t want = *cap ? *cap * 2 : 8;
    void *v = realloc(old, want * elem);
    if (!v)
        return -1;
    memcpy(arrp, &v, sizeof(v));
    *cap = want;
    return 0;
}

int tr_dec_keep(struct tr_decoder *d, size_t n)
{
    if (n > TR_DEC_KEEP_MAX - d->kept) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream answer keeps too much state to decode");
        return -1;
    }
    d->kept += n;
    return 0;
}

char *tr_dec_dup(struct tr_decoder *d, const char *s, size_t n)
{
    char *p = tr_dec_keep(d, n) < 0 ? NULL : malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* ---- JSON helpers ---- */

const char *tr_dec_str(const json_t *o, const char *key, size_t *len)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (len)
        *len = json_is_string(v) ? json_string_length(v) : 0;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

const char *tr_dec_str_ne(const json_t *o, const char *key, size_t *len)
{
    size_t n = 0;
    const char *s = tr_dec_str(o, key, &n);
    if (len)
        *len = n;
    return n ? s : NULL;
}

int tr_dec_int(const json_t *o, const char *key, int64_t *out)
{
    json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;
    if (json_is_integer(v))
        *out = (int64_t)json_integer_value(v);
    else if (json_is_real(v) && json_real_value(v) > -9e18 && json_real_value(v) < 9e18)
        *out = (int64_t)json_real_value(v);
    else
        return 0;
    return 1;
}

char *tr_dec_dump(const json_t *v)
{
    return zjson_dumps(v, 0, NULL);
}

json_t *tr_dec_parse(const char *data, size_t len)
{
    return zjson_load(data, len, ZJSON_DECODE_ANY | ZJSON_ALLOW_NUL);
}

const char *tr_dec_event_type(const char *name, const json_t *root)
{
    if (name && *name)
        return name;
    const char *t = tr_dec_str(root, "type", NULL);
    return t ? t : "";
}

/* Missing numbers are 0; has_* say which were there. */
int tr_dec_usage_c(const json_t *v, struct tr_usage *u)
{
    memset(u, 0, sizeof(*u));
    if (!json_is_object(v))
        return 0;
    const json_t *det = json_object_get(v, "prompt_tokens_details");
    if (tr_dec_int(v, "prompt_tokens", &u->input_total))
        u->has_input = 1;
    if (tr_dec_int(det, "cached_tokens", &u->cache_read) ||
        tr_dec_int(v, "prompt_cache_hit_tokens", &u->cache_read)) /* DeepSeek */
        u->has_input = u->has_cache_read = 1;
    if (tr_dec_int(v, "cache_creation_input_tokens", &u->cache_write) ||
        tr_dec_int(det, "cache_write_tokens", &u->cache_write))
        u->has_input = u->has_cache_write = 1;
    if (tr_dec_int(v, "completion_tokens", &u->output))
        u->has_output = 1;
    return 1;
}

int tr_dec_usage_r(const json_t *v, struct tr_usage *u)
{
    memset(u, 0, sizeof(*u));
    if (!json_is_object(v))
        return 0;
    const json_t *det = json_object_get(v, "input_tokens_details");
    if (tr_dec_int(v, "input_tokens", &u->input_total))
        u->has_input = 1;
    if (tr_dec_int(det, "cached_tokens", &u->cache_read))
        u->has_input = u->has_cache_read = 1;
    if (tr_dec_int(det, "cache_write_tokens", &u->cache_write))
        u->has_input = u->has_cache_write = 1;
    if (tr_dec_int(v, "output_tokens", &u->output))
        u->has_output = 1;
    return 1;
}

/* ---- the decoder ---- */

static int on_sse(void *ud, enum tr_sse_kind kind, const char *name, const char *data,
                  size_t len)
{
    struct tr_decoder *d = ud;
    switch (kind) {
    case TR_SSE_COMMENT:
        tr_dec_keepalive(d);
        break;
    case TR_SSE_TOO_LARGE:
        tr_dec_error(d, TR_ERR_API, NULL, "upstream event too large");
        break;
    case TR_SSE_EVENT:
        d->ops->sse_event(d, name, data, len);
        break;
    }
    return d->done;
}

struct tr_decoder *tr_decoder_new(enum tr_format wire, int sse, tr_event_fn fn, void *ud)
{
    struct tr_decoder *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->wire = wire;
    d->sse = sse;
    d->fn = fn;
    d->ud = ud;
    d->ops = wire == TR_FORMAT_A ? &tr_dec_ops_a : wire == TR_FORMAT_C ? &tr_dec_ops_c
                                                                        : &tr_dec_ops_r;
    /* Only Chat relays are known to leave out the blank lines between events. */
    tr_sse_init(&d->parser, TR_SSE_EVENT_MAX, wire == TR_FORMAT_C, on_sse, d);
    if (d->ops->init(d) < 0) {
        free(d);
        return NULL;
    }
    return d;
}

void tr_decoder_free(struct tr_decoder *d)
{
    if (!d)
        return;
    d->ops->free(d);
    tr_sse_fini(&d->parser);
    tr_dec_buf_free(&d->body);
    free(d->blks);
    free(d);
}

static void body_append(struct tr_decoder *d, const char *data, size_t len)
{
    if (tr_dec_buf_add(&d->body, data, len, TR_JSON_BODY_MAX) < 0)
        tr_dec_error(d, TR_ERR_API, NULL, "upstream body too large");
}

void tr_decoder_feed(struct tr_decoder *d, const char *data, size_t len)
{
    if (d->done || len == 0)
        return;
    if (d->sse)
        tr_sse_feed(&d->parser, data, len);
    else
        body_append(d, data, len);
}

/* docs/translate.md, 2xx bodies that are errors: an `error` and no answer. */
static int json_error_body(struct tr_decoder *d, json_t *root)
{
    json_t *err = json_object_get(root, "error");
    if (!err || json_is_null(err) || json_object_get(root, "choices") ||
        json_object_get(root, "content") || json_object_get(root, "output"))
        return 0;
    if (json_is_string(err)) {
        tr_dec_error_upstream(d, NULL, json_string_value(err));
        return 1;
    }
    const char *type = tr_dec_str_ne(err, "type", NULL);
    if (!type)
        type = tr_dec_str_ne(err, "code", NULL);
    tr_dec_error_upstream(d, type, tr_dec_str(err, "message", NULL));
    return 1;
}

static void end_json(struct tr_decoder *d, int transport_ok, const char *why)
{
    if (!transport_ok) {
        char msg[512];
        snprintf(msg, sizeof(msg), "upstream response interrupted: ended before completion (%.400s)",
                 why && *why ? why : "transport error");
        tr_dec_error(d, TR_ERR_API, NULL, msg);
        return;
    }
    size_t i = 0;
    while (i < d->body.len && (d->body.p[i] == ' ' || d->body.p[i] == '\t' ||
                               d->body.p[i] == '\r' || d->body.p[i] == '\n'))
        i++;
    if (i == d->body.len) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned an empty body");
        return;
    }
    json_t *root = tr_dec_parse(d->body.p, d->body.len);
    if (!json_is_object(root))
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned a body that is not a JSON object");
    else if (!json_error_body(d, root))
        d->ops->json(d, root);
    json_decref(root);
    /* Whatever the body held, the answer ends here. */
    if (!d->done)
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned an incomplete answer");
}

void tr_decoder_end(struct tr_decoder *d, int transport_ok, const char *why)
{
    if (d->done)
        return;
    if (!d->sse) {
        end_json(d, transport_ok, why);
        return;
    }
    tr_sse_finish(&d->parser);
    if (!d->done)
        d->ops->sse_end(d, transport_ok, why);
    if (!d->done)
        tr_dec_error_ended(d, transport_ok, why);
}

int tr_decoder_done(const struct tr_decoder *d)
{
    return d->done;
}

int tr_decoder_awaiting_end(const struct tr_decoder *d)
{
    return d->sse && d->wire == TR_FORMAT_C && !d->done && tr_dec_c_awaiting(d);
}

void tr_decoder_tree_only(struct tr_decoder *d)
{
    d->tree_only = 1;
}

void tr_decoder_finalize(struct tr_decoder *d)
{
    if (tr_decoder_awaiting_end(d))
        tr_dec_c_finalize(d);
}
