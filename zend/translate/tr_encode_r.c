/* tr_encode_r.c -- IR events -> Responses events (docs/translate.md,
 * streaming to Responses clients).
 *
 * Every event carries its full field set and a sequence_number: openai-node's
 * accumulator throws unless output_item.added appends (output_index ==
 * output.length), each item-scoped event's item_id is the id of the item at
 * its output_index, and summary_index == summary.length when a summary part
 * is added; the AI SDK silently drops events that miss a field. Items get
 * output_index in OPEN order and carry their own ids, so several may be in
 * progress and nothing is buffered (custom tool input excepted: it is only
 * known whole, at CLOSE). */
#include <string.h>

#include "tr_ctx.h"
#include "tr_encode_int.h"

/* `event: <type>` with {"type", <fields...>, "sequence_number"}; steals fields. */
static void emit(struct tr_encoder *e, zbuf *out, const char *type, json_t *fields)
{
    json_t *ev = json_pack("{ss}", "type", type);
    json_object_update(ev, fields);
    json_decref(fields);
    json_object_set_new(ev, "sequence_number", json_integer(e->seq++));
    tr_sse_event(out, type, ev);
}

static void emit_response(struct tr_encoder *e, zbuf *out, const char *type, json_t *resp)
{
    emit(e, out, type, json_pack("{so}", "response", resp));
}

/* The fields every item-scoped event starts with. */
static json_t *scoped(const struct tr_agg_block *b)
{
    return json_pack("{sssi}", "item_id", b->item_id, "output_index", b->out_index);
}

static json_t *with(json_t *base, const char *key, json_t *value)
{
    json_object_set_new(base, key, value);
    return base;
}

static json_t *summary_part(json_t *text)
{
    return json_pack("{ssso}", "type", "summary_text", "text", text);
}

static json_t *empty_text_part(void)
{
    return tr_r_message_part(json_string(""));
}

static void item_event(struct tr_encoder *e, zbuf *out, const char *type,
                       const struct tr_agg_block *b, json_t *item)
{
    emit(e, out, type, json_pack("{siso}", "output_index", b->out_index, "item", item));
}

static void on_open(struct tr_encoder *e, struct tr_agg_block *b, zbuf *out)
{
    b->out_index = e->r_items++;
    switch (b->kind) {
    case TR_BLOCK_TEXT:
        tr_enc_new_id(e, "msg_", b->item_id, sizeof(b->item_id));
        item_event(e, out, "response.output_item.added", b,
                   json_pack("{sssssssss[]}", "type", "message", "id", b->item_id, "status",
                             "in_progress", "role", "assistant", "content"));
        emit(e, out, "response.content_part.added",
             with(with(scoped(b), "content_index", json_integer(0)), "part", empty_text_part()));
        break;
    case TR_BLOCK_THINKING:
    case TR_BLOCK_REDACTED:
        tr_enc_new_id(e, "rs_", b->item_id, sizeof(b->item_id));
        item_event(e, out, "response.output_item.added", b,
                   json_pack("{sssss[]}", "type", "reasoning", "id", b->item_id, "summary"));
        if (b->kind == TR_BLOCK_THINKING)
            emit(e, out, "response.reasoning_summary_part.added",
                 with(with(scoped(b), "summary_index", json_integer(0)), "part",
                      summary_part(json_string(""))));
        break;
    case TR_BLOCK_TOOL:
        b->custom = tr_ctx_is_custom(e->ctx, b->name, strlen(b->name));
        tr_enc_new_id(e, b->custom ? "ctc_" : "fc_", b->item_id, sizeof(b->item_id));
        item_event(e, out, "response.output_item.added", b, tr_r_item(e, b));
        break;
    }
}

static void on_delta(struct tr_encoder *e, struct tr_agg_block *b, const struct tr_event *ev,
                     zbuf *out)
{
    if (!ev->text_len)
        return;
    json_t *d = tr_jstrn(ev->text, ev->text_len);
    switch (b->kind) {
    case TR_BLOCK_TEXT:
        emit(e, out, "response.output_text.delta",
             with(with(with(scoped(b), "content_index", json_integer(0)), "delta", d),
                  "logprobs", json_array()));
        return;
    case TR_BLOCK_THINKING:
        emit(e, out, "response.reasoning_summary_text.delta",
             with(with(scoped(b), "summary_index", json_integer(0)), "delta", d));
        return;
    case TR_BLOCK_TOOL:
        if (!b->custom) {
            emit(e, out, "response.function_call_arguments.delta", with(scoped(b), "delta", d));
            return;
        }
        break;
    case TR_BLOCK_REDACTED:
        break;
    }
    json_decref(d); /* custom tool input and redacted data: whole at CLOSE */
}

static void on_close(struct tr_encoder *e, struct tr_agg_block *b, zbuf *out)
{
    switch (b->kind) {
    case TR_BLOCK_TEXT:
        emit(e, out, "response.output_text.done",
             with(with(with(scoped(b), "content_index", json_integer(0)), "text",
                       tr_jbuf(&b->text)),
                  "logprobs", json_array()));
        emit(e, out, "response.content_part.done",
             with(with(scoped(b), "content_index", json_integer(0)), "part",
                  tr_r_message_part(tr_jbuf(&b->text))));
        break;
    case TR_BLOCK_THINKING:
        emit(e, out, "response.reasoning_summary_text.done",
             with(with(scoped(b), "summary_index", json_integer(0)), "text", tr_jbuf(&b->text)));
        emit(e, out, "response.reasoning_summary_part.done",
             with(with(scoped(b), "summary_index", json_integer(0)), "part",
                  summary_part(tr_jbuf(&b->text))));
        break;
    case TR_BLOCK_REDACTED:
        break;
    case TR_BLOCK_TOOL:
        if (!b->custom && !zbuf_len(&b->text)) {
            /* No args at all: "{}" as a delta too, so that the done events
             * (which carry "{}", parseable) repeat what the deltas built. */
            zbuf_append_str(&b->text, "{}");
            emit(e, out, "response.function_call_arguments.delta",
                 with(scoped(b), "delta", json_string("{}")));
        }
        if (!b->custom)
            emit(e, out, "response.function_call_arguments.done",
                 with(with(scoped(b), "name", tr_jstr(b->name)), "arguments",
                      tr_args_string(&b->text)));
        break;
    }
    item_event(e, out, "response.output_item.done", b, tr_r_item(e, b));
}

static json_t *output_so_far(const struct tr_encoder *e)
{
    json_t *o = json_array();
    for (size_t i = 0; i < e->agg.n_blocks; i++)
        json_array_append_new(o, tr_r_item(e, e->agg.blocks[i]));
    return o;
}

static const char *error_code(const struct tr_event *ev)
{
    if (ev->err_type && tr_err_type_in_family(ev->err_type, TR_FORMAT_R))
        return ev->err_type;
    const char *code = tr_err_class_c_code(ev->err_class);
    return code ? code : tr_err_class_c_type(ev->err_class);
}

void tr_enc_r_event(struct tr_encoder *e, const struct tr_event *ev, struct tr_agg_block *b,
                    zbuf *out)
{
    switch (ev->kind) {
    case TR_EV_START:
        emit_response(e, out, "response.created", tr_r_envelope(e, "in_progress", NULL, NULL, NULL));
        emit_response(e, out, "response.in_progress",
                      tr_r_envelope(e, "in_progress", NULL, NULL, NULL));
        break;
    case TR_EV_OPEN:
        on_open(e, b, out);
        break;
    case TR_EV_DELTA:
        on_delta(e, b, ev, out);
        break;
    case TR_EV_CLOSE:
        on_close(e, b, out);
        break;
    case TR_EV_SIG:
    case TR_EV_KEEPALIVE:
        break;
    case TR_EV_FINISH: {
        /* Blocks a decoder left open are closed here, as the IR says they are. */
        for (size_t i = 0; i < e->agg.n_blocks; i++)
            e->agg.blocks[i]->closed = 1;
        json_t *details;
        const char *status = tr_r_status(e->agg.stop, &details);
        emit_response(e, out,
                      strcmp(status, "completed") == 0 ? "response.completed"
                                                       : "response.incomplete",
                      tr_r_envelope(e, status, details, output_so_far(e),
                                    tr_usage_r_json(&e->agg.usage)));
        break;
    }
    case TR_EV_ERROR: {
        json_t *resp = tr_r_envelope(e, "failed", NULL, output_so_far(e),
                                     e->agg.usage.has_input || e->agg.usage.has_output
                                         ? tr_usage_r_json(&e->agg.usage)
                                         : NULL);
        json_object_set_new(resp, "error",
                            json_pack("{ssso}", "code", error_code(ev), "message",
                                      tr_jstrn(ev->text, ev->text_len)));
        emit_response(e, out, "response.failed", resp);
        break;
    }
    }
}
