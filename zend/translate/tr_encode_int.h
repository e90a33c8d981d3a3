/* tr_encode_int.h -- private to the encoders (tr_encode*.c, tr_render.c):
 * the encoder's state, the SSE/JSON writing helpers and the shapes the
 * stream and JSON encoders of one format share. */
#ifndef ZEND_TR_ENCODE_INT_H
#define ZEND_TR_ENCODE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tr_aggregate.h"
#include "tr_types.h"

struct tr_encoder {
    const struct tr_ctx *ctx;
    enum tr_format fmt;
    int sse;
    int done;                 /* FINISH or ERROR seen: later events are ignored */
    uint64_t rng;             /* id generator state (splitmix64) */
    struct tr_agg agg;
    char resp_id[96];         /* the client-visible response id (after START) */
    /* A stream: the serialization queue (indexes into agg.blocks, OPEN order). */
    size_t *queue;
    size_t q_head, q_len, q_cap;
    int a_next_index;
    /* R stream. */
    int64_t seq;
    int r_items;              /* output items opened so far */
};

/* ---- tr_encode.c: shared helpers ---- */

/* Appends prefix + 24 lowercase hex of the encoder's id generator. */
void tr_enc_new_id(struct tr_encoder *e, const char *prefix, char *out, size_t outlen);
/* Sets e->resp_id from the START id (or prefix + 24 hex when empty); the R
 * id gets `resp_` in front unless it has it. */
void tr_enc_set_resp_id(struct tr_encoder *e, const char *prefix);
/* The START model if non-empty, else ctx->model, else "". */
const char *tr_enc_model(const struct tr_encoder *e);
/* A JSON string of n bytes; invalid UTF-8 becomes U+FFFD (jansson refuses it). */
json_t *tr_jstrn(const char *s, size_t n);
json_t *tr_jbuf(const zbuf *b);
json_t *tr_jstr(const char *s);
/* `event: <type>\ndata: <compact json>\n\n`; steals obj. */
void tr_sse_event(zbuf *out, const char *type, json_t *obj);
/* `data: <compact json>\n\n`; steals obj. */
void tr_sse_data(zbuf *out, json_t *obj);
/* Compact JSON appended to out; steals obj. */
void tr_json_append(zbuf *out, json_t *obj);
/* Anthropic tool ids: bytes outside [A-Za-z0-9_-] become '_'. */
json_t *tr_sanitized_id(const char *id);
/* The §2.7 tag of thinking with no signature of its own, per wire. */
const char *tr_thinking_carrier(enum tr_format wire);
/* Tool args as an object: "" -> {}, a JSON string holding an object -> that
 * object, anything unparsable or not an object -> {}. */
json_t *tr_args_object(const zbuf *args);
/* Tool args as a string for OpenAI clients ("" -> "{}"). */
json_t *tr_args_string(const zbuf *args);
/* The error type/code for the client's family, keeping the upstream's own
 * type when it is of that family. */
const char *tr_enc_err_type(const struct tr_event *ev, enum tr_format client);

/* ---- tr_render.c: shapes ---- */

const char *tr_stop_a(enum tr_stop s);
const char *tr_stop_c(enum tr_stop s);
json_t *tr_usage_a_json(const struct tr_usage *u);
json_t *tr_usage_c_json(const struct tr_usage *u);
json_t *tr_usage_r_json(const struct tr_usage *u);
/* The Responses envelope (docs/translate.md): status; incomplete_details,
 * output and usage are stolen, NULL giving null, [] and null. */
json_t *tr_r_envelope(struct tr_encoder *e, const char *status, json_t *incomplete_details,
                      json_t *output, json_t *usage);
/* R status and incomplete_details of a stop (incomplete_details: new ref or json_null). */
const char *tr_r_status(enum tr_stop s, json_t **incomplete_details);
/* R reasoning encrypted_content of a thinking/redacted block (json_null when none). */
json_t *tr_r_carrier(const struct tr_encoder *e, const struct tr_agg_block *b);
/* R items, the finished form. */
json_t *tr_r_message_part(json_t *text);
json_t *tr_r_message_item(const char *id, const char *status, json_t *text);
json_t *tr_r_reasoning_item(const struct tr_encoder *e, const char *id,
                            const struct tr_agg_block *b);
/* An R output item for a block, in its current state (in_progress while
 * open); b->item_id and b->custom must be set. */
json_t *tr_r_item(const struct tr_encoder *e, const struct tr_agg_block *b);
/* custom_tool_call input: the string in {"input":"..."}, NULL when the args
 * are not that shape. */
json_t *tr_r_custom_input(const zbuf *args);

/* JSON mode: the whole body at FINISH. */
void tr_render_json(struct tr_encoder *e, zbuf *out);

/* ---- per-format stream encoders ---- */

void tr_enc_a_event(struct tr_encoder *e, const struct tr_event *ev,
                    struct tr_agg_block *b, zbuf *out);
void tr_enc_c_event(struct tr_encoder *e, const struct tr_event *ev,
                    struct tr_agg_block *b, zbuf *out);
void tr_enc_r_event(struct tr_encoder *e, const struct tr_event *ev,
                    struct tr_agg_block *b, zbuf *out);

#endif
