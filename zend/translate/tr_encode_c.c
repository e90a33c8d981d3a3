/* tr_encode_c.c -- IR events -> Chat Completions chunks (docs/translate.md,
 * streaming to Chat clients). Chat lets tool calls interleave (each delta
 * names its call by index), so nothing is buffered. */
#include "tr_ctx.h"
#include "tr_encode_int.h"

/* The chunk envelope: same id, created and model on every chunk. choices is
 * stolen. */
static json_t *chunk(struct tr_encoder *e, json_t *choices)
{
    return json_pack("{sosssIsoso}", "id", tr_jstr(e->resp_id), "object",
                     "chat.completion.chunk", "created", (json_int_t)e->ctx->created, "model",
                     tr_jstr(tr_enc_model(e)), "choices", choices);
}

static void write_delta(struct tr_encoder *e, zbuf *out, json_t *delta, const char *finish)
{
    json_t *choice = json_pack("{s:i, s:o, s:n, s:s?}", "index", 0, "delta", delta, "logprobs",
                               "finish_reason", finish);
    tr_sse_data(out, chunk(e, json_pack("[o]", choice)));
}

void tr_enc_c_event(struct tr_encoder *e, const struct tr_event *ev, struct tr_agg_block *b,
                    zbuf *out)
{
    switch (ev->kind) {
    case TR_EV_START:
        write_delta(e, out, json_pack("{ssss}", "role", "assistant", "content", ""), NULL);
        break;
    case TR_EV_OPEN:
        if (b->kind == TR_BLOCK_TOOL)
            write_delta(e, out,
                        json_pack("{s[{sisosss{sos s}}]}", "tool_calls", "index",
                                  b->tool_ordinal, "id", tr_jstr(b->id), "type", "function",
                                  "function", "name", tr_jstr(b->name), "arguments", ""),
                        NULL);
        break;
    case TR_EV_DELTA:
        if (!ev->text_len)
            break;
        if (b->kind == TR_BLOCK_TEXT)
            write_delta(e, out, json_pack("{so}", "content", tr_jstrn(ev->text, ev->text_len)),
                        NULL);
        else if (b->kind == TR_BLOCK_THINKING)
            write_delta(e, out,
                        json_pack("{so}", "reasoning_content", tr_jstrn(ev->text, ev->text_len)),
                        NULL);
        else if (b->kind == TR_BLOCK_TOOL)
            write_delta(e, out,
                        json_pack("{s[{sis{so}}]}", "tool_calls", "index", b->tool_ordinal,
                                  "function", "arguments", tr_jstrn(ev->text, ev->text_len)),
                        NULL);
        break; /* redacted thinking has no Chat form */
    case TR_EV_SIG:
    case TR_EV_CLOSE:
    case TR_EV_KEEPALIVE:
        break;
    case TR_EV_FINISH:
        write_delta(e, out, json_object(), tr_stop_c(e->agg.stop));
        if (e->ctx->include_usage) {
            json_t *c = chunk(e, json_array());
            json_object_set_new(c, "usage", tr_usage_c_json(&e->agg.usage));
            tr_sse_data(out, c);
        }
        zbuf_append_str(out, "data: [DONE]\n\n");
        break;
    case TR_EV_ERROR:
        tr_sse_data(out, json_pack("{s:{s:o, s:s, s:n, s:s?}}", "error", "message",
                                   tr_jstrn(ev->text, ev->text_len), "type",
                                   tr_enc_err_type(ev, TR_FORMAT_C), "param", "code",
                                   tr_err_class_c_code(ev->err_class)));
        break;
    }
}
