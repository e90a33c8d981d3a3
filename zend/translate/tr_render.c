/* tr_render.c -- the response shapes of the three formats (docs/translate.md,
 * output shapes), and JSON mode: the aggregated response rendered whole. */
#include <string.h>

#include "tr_ctx.h"
#include "tr_encode_int.h"
#include "zjson.h"

const char *tr_stop_a(enum tr_stop s)
{
    switch (s) {
    case TR_STOP_END_TURN: return "end_turn";
    case TR_STOP_STOP_SEQ: return "stop_sequence";
    case TR_STOP_MAX_TOKENS: return "max_tokens";
    case TR_STOP_TOOL_USE: return "tool_use";
    case TR_STOP_REFUSAL: return "refusal";
    case TR_STOP_CONTEXT: return "model_context_window_exceeded";
    }
    return "end_turn";
}

const char *tr_stop_c(enum tr_stop s)
{
    switch (s) {
    case TR_STOP_END_TURN:
    case TR_STOP_STOP_SEQ: return "stop";
    case TR_STOP_MAX_TOKENS:
    case TR_STOP_CONTEXT: return "length";
    case TR_STOP_TOOL_USE: return "tool_calls";
    case TR_STOP_REFUSAL: return "content_filter";
    }
    return "stop";
}

const char *tr_r_status(enum tr_stop s, json_t **incomplete_details)
{
    const char *reason = NULL;
    if (s == TR_STOP_MAX_TOKENS || s == TR_STOP_CONTEXT)
        reason = "max_output_tokens";
    else if (s == TR_STOP_REFUSAL)
        reason = "content_filter";
    *incomplete_details = reason ? json_pack("{ss}", "reason", reason) : json_null();
    return reason ? "incomplete" : "completed";
}

json_t *tr_usage_a_json(const struct tr_usage *u)
{
    return json_pack("{sIsIsIsI}", "input_tokens", (json_int_t)tr_usage_a_input(u),
                     "output_tokens", (json_int_t)u->output, "cache_creation_input_tokens",
                     (json_int_t)u->cache_write, "cache_read_input_tokens",
                     (json_int_t)u->cache_read);
}

json_t *tr_usage_c_json(const struct tr_usage *u)
{
    return json_pack("{sIsIsIs{sI}}", "prompt_tokens", (json_int_t)u->input_total,
                     "completion_tokens", (json_int_t)u->output, "total_tokens",
                     (json_int_t)(u->input_total + u->output), "prompt_tokens_details",
                     "cached_tokens", (json_int_t)u->cache_read);
}

json_t *tr_usage_r_json(const struct tr_usage *u)
{
    return json_pack("{sIs{sIsI}sIs{sI}sI}", "input_tokens", (json_int_t)u->input_total,
                     "input_tokens_details", "cached_tokens", (json_int_t)u->cache_read,
                     "cache_write_tokens", (json_int_t)u->cache_write, "output_tokens",
                     (json_int_t)u->output, "output_tokens_details", "reasoning_tokens",
                     (json_int_t)0, "total_tokens", (json_int_t)(u->input_total + u->output));
}

json_t *tr_r_envelope(struct tr_encoder *e, const char *status, json_t *incomplete_details,
                      json_t *output, json_t *usage)
{
    return json_pack("{sosssIsssososososnsbsss[]}", "id", tr_jstr(e->resp_id), "object",
                     "response", "created_at", (json_int_t)e->ctx->created, "status", status,
                     "incomplete_details", incomplete_details ? incomplete_details : json_null(),
                     "model", tr_jstr(tr_enc_model(e)), "output", output ? output : json_array(), "usage",
                     usage ? usage : json_null(), "error", "parallel_tool_calls", 1,
                     "tool_choice", "auto", "tools");
}

/* prefix + bytes as one JSON string. */
static json_t *prefixed(const char *prefix, const zbuf *b)
{
    zbuf t;
    zbuf_init(&t);
    zbuf_append_str(&t, prefix);
    zbuf_append(&t, zbuf_head(b), zbuf_len(b));
    json_t *j = tr_jbuf(&t);
    zbuf_free(&t);
    return j;
}

json_t *tr_r_carrier(const struct tr_encoder *e, const struct tr_agg_block *b)
{
    if (b->kind == TR_BLOCK_REDACTED)
        return prefixed("zend1.ar.", &b->text);
    switch (e->ctx->wire) {
    case TR_FORMAT_A:
        return b->has_sig && zbuf_len(&b->sig) ? prefixed("zend1.a.", &b->sig) : json_null();
    case TR_FORMAT_C:
    case TR_FORMAT_R:
        return json_string(tr_thinking_carrier(e->ctx->wire));
    }
    return json_null();
}

json_t *tr_r_message_part(json_t *text)
{
    return json_pack("{sssos[]s[]}", "type", "output_text", "text", text, "annotations",
                     "logprobs");
}

json_t *tr_r_message_item(const char *id, const char *status, json_t *text)
{
    return json_pack("{sssssssss[o]}", "type", "message", "id", id, "status", status, "role",
                     "assistant", "content", tr_r_message_part(text));
}

json_t *tr_r_reasoning_item(const struct tr_encoder *e, const char *id,
                            const struct tr_agg_block *b)
{
    json_t *summary = json_array();
    if (b->kind == TR_BLOCK_THINKING)
        json_array_append_new(summary, json_pack("{ssso}", "type", "summary_text", "text",
                                                 tr_jbuf(&b->text)));
    return json_pack("{sssssoso}", "type", "reasoning", "id", id, "summary", summary,
                     "encrypted_content", tr_r_carrier(e, b));
}

json_t *tr_r_custom_input(const zbuf *args)
{
    if (!zbuf_len(args))
        return NULL;
    json_t *j = zjson_load((const char *)zbuf_head(args), zbuf_len(args), 0);
    json_t *in = json_object_get(j, "input");
    json_t *r = json_is_string(in) ? json_incref(in) : NULL;
    json_decref(j);
    return r;
}

json_t *tr_r_item(const struct tr_encoder *e, const struct tr_agg_block *b)
{
    const char *status = b->closed ? "completed" : "in_progress";
    switch (b->kind) {
    case TR_BLOCK_TEXT:
        return tr_r_message_item(b->item_id, status, tr_jbuf(&b->text));
    case TR_BLOCK_THINKING:
    case TR_BLOCK_REDACTED:
        return tr_r_reasoning_item(e, b->item_id, b);
    case TR_BLOCK_TOOL:
        break;
    }
    if (b->custom) {
        json_t *input = tr_r_custom_input(&b->text);
        if (!input) /* not {"input":"..."}: the raw text is the best input there is */
            input = tr_jbuf(&b->text);
        json_t *it = json_pack("{sssssososo}", "type", "custom_tool_call", "id", b->item_id,
                               "call_id", tr_jstr(b->id), "name", tr_jstr(b->name), "input", input);
        if (b->closed)
            json_object_set_new(it, "status", json_string("completed"));
        return it;
    }
    return json_pack("{sssssssososo}", "type", "function_call", "id", b->item_id, "status", status,
                     "call_id", tr_jstr(b->id), "name", tr_jstr(b->name), "arguments",
                     b->closed ? tr_args_string(&b->text) : tr_jbuf(&b->text));
}

/* ---- JSON mode ---- */

static json_t *render_a(struct tr_encoder *e)
{
    const struct tr_agg *a = &e->agg;
    json_t *content = json_array();
    for (size_t i = 0; i < a->n_blocks; i++) {
        const struct tr_agg_block *b = a->blocks[i];
        json_t *c = NULL;
        switch (b->kind) {
        case TR_BLOCK_TEXT:
            if (zbuf_len(&b->text)) /* docs/translate.md: empty text is omitted */
                c = json_pack("{ssso}", "type", "text", "text", tr_jbuf(&b->text));
            break;
        case TR_BLOCK_THINKING:
            c = json_pack("{sssoso}", "type", "thinking", "thinking", tr_jbuf(&b->text),
                          "signature",
                          zbuf_len(&b->sig) ? tr_jbuf(&b->sig)
                                            : json_string(tr_thinking_carrier(e->ctx->wire)));
            break;
        case TR_BLOCK_REDACTED:
            c = json_pack("{ssso}", "type", "redacted_thinking", "data", tr_jbuf(&b->text));
            break;
        case TR_BLOCK_TOOL:
            c = json_pack("{sssososo}", "type", "tool_use", "id", tr_sanitized_id(b->id), "name",
                          tr_jstr(b->name), "input", tr_args_object(&b->text));
            break;
        }
        if (c)
            json_array_append_new(content, c);
    }
    return json_pack("{sosssssososssoso}", "id", tr_jstr(e->resp_id), "type", "message", "role",
                     "assistant", "model", tr_jstr(tr_enc_model(e)), "content", content,
                     "stop_reason", tr_stop_a(a->stop), "stop_sequence",
                     a->stop_sequence ? tr_jstr(a->stop_sequence) : json_null(), "usage",
                     tr_usage_a_json(&a->usage));
}

static json_t *render_c(struct tr_encoder *e)
{
    const struct tr_agg *a = &e->agg;
    zbuf text, thinking;
    zbuf_init(&text);
    zbuf_init(&thinking);
    int has_text = 0, has_thinking = 0;
    json_t *calls = json_array();
    for (size_t i = 0; i < a->n_blocks; i++) {
        const struct tr_agg_block *b = a->blocks[i];
        if (b->kind == TR_BLOCK_TEXT) {
            has_text = 1;
            zbuf_append(&text, zbuf_head(&b->text), zbuf_len(&b->text));
        } else if (b->kind == TR_BLOCK_THINKING) {
            has_thinking = 1;
            zbuf_append(&thinking, zbuf_head(&b->text), zbuf_len(&b->text));
        } else if (b->kind == TR_BLOCK_TOOL) {
            json_array_append_new(calls, json_pack("{sosss{soso}}", "id", tr_jstr(b->id), "type",
                                                   "function", "function", "name",
                                                   tr_jstr(b->name), "arguments",
                                                   tr_args_string(&b->text)));
        }
    }
    json_t *msg = json_pack("{ssso}", "role", "assistant", "content",
                            has_text ? tr_jbuf(&text) : json_null());
    if (has_thinking)
        json_object_set_new(msg, "reasoning_content", tr_jbuf(&thinking));
    if (json_array_size(calls))
        json_object_set(msg, "tool_calls", calls);
    json_decref(calls);
    zbuf_free(&text);
    zbuf_free(&thinking);
    return json_pack("{sosssIsos[{sisosnss}]so}", "id", tr_jstr(e->resp_id), "object",
                     "chat.completion", "created", (json_int_t)e->ctx->created, "model",
                     tr_jstr(tr_enc_model(e)), "choices", "index", 0, "message", msg, "logprobs",
                     "finish_reason", tr_stop_c(a->stop), "usage", tr_usage_c_json(&a->usage));
}

static json_t *render_r(struct tr_encoder *e)
{
    struct tr_agg *a = &e->agg;
    json_t *output = json_array();
    for (size_t i = 0; i < a->n_blocks; i++) {
        struct tr_agg_block *b = a->blocks[i];
        b->closed = 1;
        if (b->kind == TR_BLOCK_TEXT) {
            /* A maximal run of text blocks is one message item. */
            zbuf run;
            zbuf_init(&run);
            for (; i < a->n_blocks && a->blocks[i]->kind == TR_BLOCK_TEXT; i++)
                zbuf_append(&run, zbuf_head(&a->blocks[i]->text), zbuf_len(&a->blocks[i]->text));
            i--;
            char id[32];
            tr_enc_new_id(e, "msg_", id, sizeof(id));
            json_array_append_new(output, tr_r_message_item(id, "completed", tr_jbuf(&run)));
            zbuf_free(&run);
            continue;
        }
        const char *prefix = b->kind == TR_BLOCK_TOOL ? "fc_" : "rs_";
        json_t *input = NULL;
        if (b->kind == TR_BLOCK_TOOL && tr_ctx_is_custom(e->ctx, b->name, strlen(b->name)) &&
            (input = tr_r_custom_input(&b->text))) {
            b->custom = 1;
            prefix = "ctc_";
        }
        json_decref(input);
        tr_enc_new_id(e, prefix, b->item_id, sizeof(b->item_id));
        json_array_append_new(output, tr_r_item(e, b));
    }
    json_t *details;
    const char *status = tr_r_status(a->stop, &details);
    return tr_r_envelope(e, status, details, output, tr_usage_r_json(&a->usage));
}

void tr_render_json(struct tr_encoder *e, zbuf *out)
{
    switch (e->fmt) {
    case TR_FORMAT_A: tr_json_append(out, render_a(e)); break;
    case TR_FORMAT_C: tr_json_append(out, render_c(e)); break;
    case TR_FORMAT_R: tr_json_append(out, render_r(e)); break;
    }
}
