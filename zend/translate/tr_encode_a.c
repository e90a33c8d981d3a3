/* tr_encode_a.c -- IR events -> Anthropic SSE (docs/translate.md, streaming
 * to Anthropic clients).
 *
 * Anthropic clients accept one open content block at a time, while the IR
 * lets several be open (parallel tool calls interleave in Chat streams). The
 * blocks therefore go through a FIFO in OPEN order: the head is live (start,
 * deltas, stop as they come); the others keep their deltas (in the
 * aggregator) and, when they reach the head, are released as start + one
 * delta with all they hold + live deltas + stop. No fragment is lost and the
 * client never sees two open blocks. */
#include <stdlib.h>
#include <string.h>

#include "tr_encode_int.h"
#include "zjson.h"

static void q_push(struct tr_encoder *e, size_t idx)
{
    if (e->q_head + e->q_len == e->q_cap) {
        if (e->q_head) { /* compact before growing */
            memmove(e->queue, e->queue + e->q_head, e->q_len * sizeof(*e->queue));
            e->q_head = 0;
        }
        if (e->q_len == e->q_cap) {
            size_t n = e->q_cap ? e->q_cap * 2 : 8;
            size_t *v = realloc(e->queue, n * sizeof(*v));
            if (!v)
                return;
            e->queue = v;
            e->q_cap = n;
        }
    }
    e->queue[e->q_head + e->q_len++] = idx;
}

static struct tr_agg_block *q_front(struct tr_encoder *e)
{
    return e->q_len ? e->agg.blocks[e->queue[e->q_head]] : NULL;
}

static void q_pop(struct tr_encoder *e)
{
    if (e->q_len) {
        e->q_head++;
        e->q_len--;
    }
}

/* A delta of block b: text (len bytes) is the block's text, thinking or
 * partial JSON. Written straight from the bytes -- it is most of a
 * stream's events -- the same bytes the json_pack tree gave; text that is
 * not valid UTF-8 goes through that tree, which replaces the bad bytes. */
static void write_delta(zbuf *out, const struct tr_agg_block *b, const char *text, size_t len)
{
    const char *type = NULL, *field = NULL;
    switch (b->kind) {
    case TR_BLOCK_TEXT: type = "text_delta"; field = "text"; break;
    case TR_BLOCK_THINKING: type = "thinking_delta"; field = "thinking"; break;
    case TR_BLOCK_TOOL: type = "input_json_delta"; field = "partial_json"; break;
    case TR_BLOCK_REDACTED: return; /* its data goes in its start */
    }
    size_t before = zbuf_len(out);
    if (zbuf_append_str(out, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
                             "\"index\":") == 0 &&
        zbuf_append_int(out, b->out_index) == 0 &&
        zbuf_append_str(out, ",\"delta\":{\"type\":\"") == 0 && zbuf_append_str(out, type) == 0 &&
        zbuf_append_str(out, "\",\"") == 0 && zbuf_append_str(out, field) == 0 &&
        zbuf_append_str(out, "\":") == 0 && zjson_dump_string(len ? text : "", len, out) == 0 &&
        zbuf_append_str(out, "}}\n\n") == 0)
        return;
    out->end = out->start + before;
    json_t *d = json_pack("{ssso}", "type", type, field, tr_jstrn(text, len));
    tr_sse_event(out, "content_block_delta",
                 json_pack("{sssiso}", "type", "content_block_delta", "index", b->out_index,
                           "delta", d));
}

static void write_start(struct tr_encoder *e, struct tr_agg_block *b, zbuf *out)
{
    json_t *cb = NULL;
    switch (b->kind) {
    case TR_BLOCK_TEXT: cb = json_pack("{ssss}", "type", "text", "text", ""); break;
    case TR_BLOCK_THINKING:
        cb = json_pack("{ssssss}", "type", "thinking", "thinking", "", "signature", "");
        break;
    case TR_BLOCK_REDACTED:
        /* Anthropic has no delta for redacted thinking: the block is started
         * only once its data is complete (see block_stop). */
        if (!b->closed)
            return;
        cb = json_pack("{ssso}", "type", "redacted_thinking", "data", tr_jbuf(&b->text));
        break;
    case TR_BLOCK_TOOL:
        cb = json_pack("{sssososo}", "type", "tool_use", "id", tr_sanitized_id(b->id), "name",
                       tr_jstr(b->name), "input", json_object());
        break;
    }
    b->started = 1;
    b->out_index = e->a_next_index++;
    tr_sse_event(out, "content_block_start",
                 json_pack("{sssiso}", "type", "content_block_start", "index", b->out_index,
                           "content_block", cb));
}

static void write_stop(struct tr_encoder *e, struct tr_agg_block *b, zbuf *out)
{
    if (!b->started)
        write_start(e, b, out);
    if (b->kind == TR_BLOCK_THINKING) {
        json_t *sig = zbuf_len(&b->sig) ? tr_jbuf(&b->sig)
                                        : json_string(tr_thinking_carrier(e->ctx->wire));
        if (json_string_length(sig))
            tr_sse_event(out, "content_block_delta",
                         json_pack("{sssis{ssso}}", "type", "content_block_delta", "index",
                                   b->out_index, "delta", "type", "signature_delta", "signature",
                                   sig));
        else
            json_decref(sig);
    }
    tr_sse_event(out, "content_block_stop",
                 json_pack("{sssi}", "type", "content_block_stop", "index", b->out_index));
}

/* The head changed: release every block now at the head, stopping those
 * already closed, until one that is still open (it goes live). */
static void promote(struct tr_encoder *e, zbuf *out)
{
    struct tr_agg_block *b;
    while ((b = q_front(e))) {
        if (!b->started) {
            write_start(e, b, out);
            if (b->started && zbuf_len(&b->text))
                write_delta(out, b, (const char *)zbuf_head(&b->text), zbuf_len(&b->text));
        }
        if (!b->closed)
            return;
        write_stop(e, b, out);
        q_pop(e);
    }
}

static void write_message_start(struct tr_encoder *e, zbuf *out)
{
    const struct tr_usage *u = &e->agg.usage;
    json_t *msg = json_pack("{sosssssos[]snsnso}", "id", tr_jstr(e->resp_id), "type", "message",
                            "role", "assistant", "model", tr_jstr(tr_enc_model(e)), "content",
                            "stop_reason", "stop_sequence", "usage",
                            json_pack("{sIsisIsI}", "input_tokens",
                                      (json_int_t)tr_usage_a_input(u), "output_tokens", 0,
                                      "cache_creation_input_tokens", (json_int_t)u->cache_write,
                                      "cache_read_input_tokens", (json_int_t)u->cache_read));
    tr_sse_event(out, "message_start", json_pack("{ssso}", "type", "message_start", "message", msg));
}

static void write_finish(struct tr_encoder *e, zbuf *out)
{
    /* Every block is closed by now (IR invariant); a decoder that broke it
     * still gets its blocks released rather than lost. */
    for (size_t i = 0; i < e->agg.n_blocks; i++)
        e->agg.blocks[i]->closed = 1;
    promote(e, out);
    const struct tr_agg *a = &e->agg;
    tr_sse_event(out, "message_delta",
                 json_pack("{sss{ssso}so}", "type", "message_delta", "delta", "stop_reason",
                           tr_stop_a(a->stop), "stop_sequence",
                           a->stop_sequence ? tr_jstr(a->stop_sequence) : json_null(), "usage",
                           tr_usage_a_json(&a->usage)));
    tr_sse_event(out, "message_stop", json_pack("{ss}", "type", "message_stop"));
}

void tr_enc_a_event(struct tr_encoder *e, const struct tr_event *ev, struct tr_agg_block *b,
                    zbuf *out)
{
    switch (ev->kind) {
    case TR_EV_START:
        write_message_start(e, out);
        break;
    case TR_EV_OPEN:
        q_push(e, e->agg.n_blocks - 1);
        if (q_front(e) == b)
            promote(e, out);
        break;
    case TR_EV_DELTA:
        /* Non-head blocks keep theirs in the aggregator until released. */
        if (q_front(e) == b && b->started && ev->text_len)
            write_delta(out, b, ev->text, ev->text_len);
        break;
    case TR_EV_SIG:
        break; /* written at CLOSE */
    case TR_EV_CLOSE:
        if (q_front(e) == b)
            promote(e, out);
        break;
    case TR_EV_FINISH:
        write_finish(e, out);
        break;
    case TR_EV_ERROR:
        tr_sse_event(out, "error",
                     json_pack("{sss{ssso}}", "type", "error", "error", "type",
                               tr_enc_err_type(ev, TR_FORMAT_A), "message",
                               tr_jstrn(ev->text, ev->text_len)));
        break;
    case TR_EV_KEEPALIVE:
        break;
    }
}
