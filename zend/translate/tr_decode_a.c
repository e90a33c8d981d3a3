/* tr_decode_a.c -- Anthropic Messages answers -> IR events (docs/translate.md,
 * decoder A): the event stream and the whole body. */
#include <stdlib.h>
#include <string.h>

#include "tr_decode.h"
#include "tr_decode_int.h"

/* Anthropic's own counts: input excludes the cache, so the IR total is the sum. */
struct a_usage {
    int64_t in, cr, cw, out;
    int has_in, has_out, has_cr, has_cw;
};

struct a_map {
    int64_t idx; /* the upstream block index */
    int b;       /* our block, -1 for a block type that is not carried */
};

struct ast {
    struct a_map *map;
    size_t n_map, cap_map;
    int has_stop;
    enum tr_stop stop;
    char *stop_seq;
    size_t stop_seq_len;
    int has_usage;
    struct a_usage u;
};

/* message_delta's counts override message_start's when present. */
static int a_usage_merge(struct a_usage *u, const json_t *v)
{
    if (!json_is_object(v))
        return 0;
    int64_t x;
    if (tr_dec_int(v, "input_tokens", &x))
        u->in = x, u->has_in = 1;
    if (tr_dec_int(v, "cache_read_input_tokens", &x))
        u->cr = x, u->has_in = u->has_cr = 1;
    if (tr_dec_int(v, "cache_creation_input_tokens", &x))
        u->cw = x, u->has_in = u->has_cw = 1;
    if (tr_dec_int(v, "output_tokens", &x))
        u->out = x, u->has_out = 1;
    return 1;
}

/* Saturating: a hostile count must not overflow. */
static int64_t add_sat(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static struct tr_usage a_usage_ir(const struct a_usage *u)
{
    return (struct tr_usage){.input_total = add_sat(add_sat(u->in, u->cr), u->cw),
                             .cache_read = u->cr,
                             .cache_write = u->cw,
                             .output = u->out,
                             .has_input = u->has_in,
                             .has_output = u->has_out,
                             .has_cache_read = u->has_cr,
                             .has_cache_write = u->has_cw};
}

static enum tr_stop a_stop(const char *s)
{
    if (!s)
        return TR_STOP_END_TURN;
    if (!strcmp(s, "stop_sequence"))
        return TR_STOP_STOP_SEQ;
    if (!strcmp(s, "max_tokens"))
        return TR_STOP_MAX_TOKENS;
    if (!strcmp(s, "tool_use"))
        return TR_STOP_TOOL_USE;
    if (!strcmp(s, "refusal"))
        return TR_STOP_REFUSAL;
    if (!strcmp(s, "model_context_window_exceeded"))
        return TR_STOP_CONTEXT;
    return TR_STOP_END_TURN; /* end_turn, pause_turn, unknown */
}

static int a_init(struct tr_decoder *d)
{
    d->st = calloc(1, sizeof(struct ast));
    return d->st ? 0 : -1;
}

static void a_free(struct tr_decoder *d)
{
    struct ast *st = d->st;
    free(st->map);
    free(st->stop_seq);
    free(st);
}

/* Opens one content block as IR: its kind and any content it starts with
 * (relays put a whole tool input or text there). Returns the block or -1
 * for a type that is not carried (server tools, search results ...). */
static int a_open_block(struct tr_decoder *d, const json_t *cb, int with_empty_input)
{
    const char *type = tr_dec_str(cb, "type", NULL);
    size_t n = 0, n2 = 0;
    const char *s;
    int b;
    if (!type)
        return -1;
    if (!strcmp(type, "text")) {
        b = tr_dec_open(d, TR_BLOCK_TEXT, NULL, 0, NULL, 0, NULL);
        s = tr_dec_str(cb, "text", &n);
        tr_dec_delta(d, b, s, n);
    } else if (!strcmp(type, "thinking")) {
        b = tr_dec_open(d, TR_BLOCK_THINKING, NULL, 0, NULL, 0, NULL);
        s = tr_dec_str(cb, "thinking", &n);
        tr_dec_delta(d, b, s, n);
        s = tr_dec_str(cb, "signature", &n);
        tr_dec_sig(d, b, s, n);
    } else if (!strcmp(type, "redacted_thinking")) {
        b = tr_dec_open(d, TR_BLOCK_REDACTED, NULL, 0, NULL, 0, NULL);
        s = tr_dec_str(cb, "data", &n);
        tr_dec_delta(d, b, s, n);
    } else if (!strcmp(type, "tool_use")) {
        s = tr_dec_str(cb, "id", &n);
        const char *name = tr_dec_str(cb, "name", &n2);
        b = tr_dec_open(d, TR_BLOCK_TOOL, s, n, name, n2, NULL);
        const json_t *input = json_object_get(cb, "input");
        if (json_is_object(input) && (with_empty_input || json_object_size(input) > 0)) {
            char *js = tr_dec_dump(input);
            if (js)
                tr_dec_delta(d, b, js, strlen(js));
            free(js);
        }
    } else {
        return -1;
    }
    return b;
}

/* ---- the stream ---- */

static int map_find(const struct ast *st, int64_t idx)
{
    for (size_t i = st->n_map; i-- > 0;)
        if (st->map[i].idx == idx)
            return (int)i;
    return -1;
}

static int block_of(struct tr_decoder *d, const json_t *root)
{
    const struct ast *st = d->st;
    int64_t idx;
    if (!tr_dec_int(root, "index", &idx))
        return -1;
    int m = map_find(st, idx);
    return m >= 0 ? st->map[m].b : -1;
}

static void block_start(struct tr_decoder *d, struct ast *st, const json_t *root)
{
    int64_t idx;
    if (!tr_dec_int(root, "index", &idx))
        return;
    int m = map_find(st, idx);
    if (m >= 0 && tr_dec_is_open(d, st->map[m].b))
        return; /* a repeated start of an open block */
    if (m < 0) {
        if (tr_dec_room(&st->map, &st->cap_map, st->n_map, sizeof(*st->map)) < 0)
            return;
        m = (int)st->n_map++;
        st->map[m].idx = idx;
    }
    st->map[m].b = a_open_block(d, json_object_get(root, "content_block"), 0);
}

static void block_delta(struct tr_decoder *d, const json_t *root)
{
    int b = block_of(d, root);
    if (!tr_dec_is_open(d, b))
        return; /* deltas of blocks not carried, or of no block */
    const json_t *delta = json_object_get(root, "delta");
    const char *type = tr_dec_str(delta, "type", NULL);
    enum tr_block_kind k = d->blks[b].kind;
    /* each delta type, the block kind it belongs to and the member it carries */
    static const struct {
        const char *type;
        enum tr_block_kind kind;
        const char *key;
        int sig;
    } kinds[] = {
        {"text_delta", TR_BLOCK_TEXT, "text", 0},
        {"input_json_delta", TR_BLOCK_TOOL, "partial_json", 0},
        {"thinking_delta", TR_BLOCK_THINKING, "thinking", 0},
        {"signature_delta", TR_BLOCK_THINKING, "signature", 1},
    };
    if (!type)
        return;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(type, kinds[i].type) != 0 || k != kinds[i].kind)
            continue;
        size_t n = 0;
        const char *s = tr_dec_str(delta, kinds[i].key, &n);
        if (kinds[i].sig)
            tr_dec_sig(d, b, s, n);
        else
            tr_dec_delta(d, b, s, n);
    }
    /* citations_delta and unknown deltas carry nothing the IR holds */
}

static void a_finish(struct tr_decoder *d, struct ast *st)
{
    struct tr_usage u = a_usage_ir(&st->u);
    tr_dec_finish(d, st->has_stop ? st->stop : TR_STOP_END_TURN, st->stop_seq,
                  st->stop_seq_len, st->has_usage ? &u : NULL);
}

static void message_delta(struct ast *st, const json_t *root)
{
    const json_t *delta = json_object_get(root, "delta");
    size_t n = 0;
    const char *s = tr_dec_str(delta, "stop_reason", NULL);
    if (s) {
        st->has_stop = 1;
        st->stop = a_stop(s);
    }
    if ((s = tr_dec_str(delta, "stop_sequence", &n))) {
        char *copy = malloc(n + 1);
        if (copy) {
            memcpy(copy, s, n);
            copy[n] = 0;
            free(st->stop_seq);
            st->stop_seq = copy;
            st->stop_seq_len = n;
        }
    }
    if (a_usage_merge(&st->u, json_object_get(root, "usage")))
        st->has_usage = 1;
}

static void a_sse_event(struct tr_decoder *d, const char *name, const char *data, size_t len)
{
    struct ast *st = d->st;
    json_t *root = tr_dec_parse(data, len);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    d->seen_json = 1;
    const char *type = tr_dec_event_type(name, root);
    if (!strcmp(type, "message_start")) {
        const json_t *msg = json_object_get(root, "message");
        if (a_usage_merge(&st->u, json_object_get(msg, "usage")))
            st->has_usage = 1;
        struct tr_usage u = a_usage_ir(&st->u);
        tr_dec_start(d, tr_dec_str(msg, "id", NULL), tr_dec_str(msg, "model", NULL),
                     st->has_usage ? &u : NULL);
    } else if (!strcmp(type, "content_block_start")) {
        block_start(d, st, root);
    } else if (!strcmp(type, "content_block_delta")) {
        block_delta(d, root);
    } else if (!strcmp(type, "content_block_stop")) {
        tr_dec_close(d, block_of(d, root));
    } else if (!strcmp(type, "message_delta")) {
        message_delta(st, root);
    } else if (!strcmp(type, "message_stop")) {
        a_finish(d, st);
    } else if (!strcmp(type, "ping")) {
        tr_dec_keepalive(d);
    } else if (!strcmp(type, "error")) {
        const json_t *err = json_object_get(root, "error");
        tr_dec_error_upstream(d, tr_dec_str(err, "type", NULL), tr_dec_str(err, "message", NULL));
    }
    json_decref(root);
}

static void a_sse_end(struct tr_decoder *d, int transport_ok, const char *why)
{
    (void)transport_ok;
    (void)why;
    struct ast *st = d->st;
    if (st->has_stop)
        a_finish(d, st); /* only message_stop was missing */
}

/* ---- the whole body ---- */

static void a_json(struct tr_decoder *d, json_t *root)
{
    struct ast *st = d->st;
    const json_t *content = json_object_get(root, "content"), *cb;
    if (!json_is_array(content)) {
        tr_dec_error(d, TR_ERR_API, NULL, "upstream returned an answer without content");
        return;
    }
    st->has_usage = a_usage_merge(&st->u, json_object_get(root, "usage"));
    struct tr_usage u = a_usage_ir(&st->u);
    tr_dec_start(d, tr_dec_str(root, "id", NULL), tr_dec_str(root, "model", NULL),
                 st->has_usage ? &u : NULL);
    size_t i;
    json_array_foreach(content, i, cb) {
        int b = a_open_block(d, cb, 1);
        tr_dec_close(d, b);
    }
    const char *s = tr_dec_str(root, "stop_reason", NULL);
    size_t n = 0;
    const char *seq = tr_dec_str(root, "stop_sequence", &n);
    tr_dec_finish(d, a_stop(s), seq, n, st->has_usage ? &u : NULL);
}

const struct tr_dec_ops tr_dec_ops_a = {
    .init = a_init,
    .free = a_free,
    .sse_event = a_sse_event,
    .sse_end = a_sse_end,
    .json = a_json,
};
