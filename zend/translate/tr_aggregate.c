#include "tr_aggregate.h"

#include <stdlib.h>
#include <string.h>

#include "tr_ctx.h"

/* Block numbers are the decoder's small counters; a number past this is a
 * decoder bug and its events are ignored rather than sizing a huge table. */
#define TR_AGG_MAX_IR_BLOCK (1 << 20)

void tr_agg_init(struct tr_agg *a)
{
    memset(a, 0, sizeof(*a));
}

static void block_free(struct tr_agg_block *b)
{
    zbuf_free(&b->text);
    zbuf_free(&b->sig);
    free(b->id);
    free(b->name);
    free(b);
}

void tr_agg_fini(struct tr_agg *a)
{
    for (size_t i = 0; i < a->n_blocks; i++)
        block_free(a->blocks[i]);
    free(a->blocks);
    free(a->by_ir);
    free(a->id);
    free(a->model);
    free(a->stop_sequence);
    memset(a, 0, sizeof(*a));
}

static char *dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

struct tr_agg_block *tr_agg_find(const struct tr_agg *a, int ir_block)
{
    if (ir_block < 0 || (size_t)ir_block >= a->n_by_ir || !a->by_ir[ir_block])
        return NULL;
    return a->blocks[a->by_ir[ir_block] - 1];
}

static struct tr_agg_block *agg_open(struct tr_agg *a, const struct tr_ctx *ctx,
                                     const struct tr_event *ev)
{
    if (ev->block < 0 || ev->block >= TR_AGG_MAX_IR_BLOCK || tr_agg_find(a, ev->block))
        return NULL;
    if ((size_t)ev->block >= a->n_by_ir) {
        size_t n = (size_t)ev->block + 16;
        int32_t *v = realloc(a->by_ir, n * sizeof(*v));
        if (!v)
            return NULL;
        memset(v + a->n_by_ir, 0, (n - a->n_by_ir) * sizeof(*v));
        a->by_ir = v;
        a->n_by_ir = n;
    }
    if (a->n_blocks == a->cap_blocks) {
        size_t n = a->cap_blocks ? a->cap_blocks * 2 : 8;
        struct tr_agg_block **v = realloc(a->blocks, n * sizeof(*v));
        if (!v)
            return NULL;
        a->blocks = v;
        a->cap_blocks = n;
    }
    struct tr_agg_block *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    b->ir_block = ev->block;
    b->kind = ev->block_kind;
    zbuf_init(&b->text);
    zbuf_init(&b->sig);
    if (b->kind == TR_BLOCK_TOOL) {
        size_t nlen = 0;
        const char *n = tr_ctx_client_name(ctx, ev->name ? ev->name : "", ev->name_len, &nlen);
        b->id = dupn(ev->id ? ev->id : "", ev->id ? ev->id_len : 0);
        b->name = dupn(n, nlen);
        if (!b->id || !b->name) {
            block_free(b);
            return NULL;
        }
        b->tool_ordinal = a->n_tools++;
    }
    a->blocks[a->n_blocks++] = b;
    a->by_ir[ev->block] = (int32_t)a->n_blocks;
    return b;
}

/* FINISH usage wins field by field where it is known; what only START knew
 * (Anthropic's input tokens in message_start) is kept. */
static void merge_usage(struct tr_usage *u, const struct tr_usage *f)
{
    int flagged = f->has_input || f->has_output;
    if (f->has_input || !flagged) {
        u->input_total = f->input_total;
        u->cache_read = f->cache_read;
        u->cache_write = f->cache_write;
        u->has_cache_read = f->has_cache_read;
        u->has_cache_write = f->has_cache_write;
        u->has_input = 1;
    }
    if (f->has_output || !flagged) {
        u->output = f->output;
        u->has_output = 1;
    }
}

static void agg_finish(struct tr_agg *a, const struct tr_event *ev)
{
    a->finished = 1;
    a->stop = ev->stop;
    if (ev->stop_sequence)
        a->stop_sequence = dupn(ev->stop_sequence, ev->stop_sequence_len);
    if (ev->has_usage)
        merge_usage(&a->usage, &ev->usage);
    /* docs/translate.md, stop reasons: an agent hangs on tool_use without a
     * call, and ignores a call that ends with end_turn. */
    if (a->stop == TR_STOP_END_TURN && a->n_tools > 0)
        a->stop = TR_STOP_TOOL_USE;
    else if (a->stop == TR_STOP_TOOL_USE && a->n_tools == 0)
        a->stop = TR_STOP_END_TURN;
}

struct tr_agg_block *tr_agg_event(struct tr_agg *a, const struct tr_ctx *ctx,
                                  const struct tr_event *ev)
{
    struct tr_agg_block *b;
    switch (ev->kind) {
    case TR_EV_START:
        if (a->started)
            return NULL;
        a->started = 1;
        free(a->id);
        free(a->model);
        a->id = dupn(ev->id ? ev->id : "", ev->id ? ev->id_len : 0);
        a->model = dupn(ev->model ? ev->model : "", ev->model ? ev->model_len : 0);
        if (ev->has_usage)
            a->usage = ev->usage;
        return NULL;
    case TR_EV_OPEN:
        return agg_open(a, ctx, ev);
    case TR_EV_DELTA:
        b = tr_agg_find(a, ev->block);
        if (b && !b->closed && ev->text_len)
            zbuf_append(&b->text, ev->text, ev->text_len);
        return b && !b->closed ? b : NULL;
    case TR_EV_SIG:
        b = tr_agg_find(a, ev->block);
        if (!b || b->closed)
            return NULL;
        if (ev->text_len)
            zbuf_append(&b->sig, ev->text, ev->text_len);
        b->has_sig = 1;
        return b;
    case TR_EV_CLOSE:
        b = tr_agg_find(a, ev->block);
        if (!b || b->closed)
            return NULL;
        b->closed = 1;
        return b;
    case TR_EV_FINISH:
        agg_finish(a, ev);
        return NULL;
    case TR_EV_ERROR:
    case TR_EV_KEEPALIVE:
        return NULL;
    }
    return NULL;
}

int64_t tr_usage_a_input(const struct tr_usage *u)
{
    int64_t v = u->input_total - u->cache_read - u->cache_write;
    return v < 0 ? 0 : v;
}
