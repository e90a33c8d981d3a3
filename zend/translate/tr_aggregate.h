/* tr_aggregate.h -- collects a response's IR events (tr_types.h) into blocks
 * with their text, args, signature, and the response's id, model, stop and
 * usage. JSON-mode encoders render it at FINISH; stream encoders use it as
 * their memory (the Anthropic queue's held deltas, the full text that
 * Responses done events repeat, tool ordinals). */
#ifndef ZEND_TR_AGGREGATE_H
#define ZEND_TR_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "tr_types.h"

struct tr_agg_block {
    int ir_block;                 /* the decoder's block number */
    enum tr_block_kind kind;
    zbuf text;                    /* text, thinking, args, or redacted data */
    zbuf sig;                     /* thinking: the SIG received (may be empty) */
    int has_sig;
    char *id;                     /* tool: call id as the wire sent it (NUL-terminated) */
    char *name;                   /* tool: the client's name (restored) */
    int closed;
    int tool_ordinal;             /* tool: 0-based among this response's tool blocks */
    /* Per-encoder bookkeeping, owned by the stream encoders. */
    int started;                  /* A: content_block_start written */
    int out_index;                /* A: content block index; R: output_index */
    int custom;                   /* R: a custom_tool_call item */
    char item_id[32];             /* R: msg_/rs_/fc_/ctc_ + 24 hex */
};

struct tr_agg {
    char *id;                     /* START id, "" when none */
    char *model;                  /* START model, "" when none */
    int started;
    int finished;
    struct tr_usage usage;        /* START usage merged with FINISH usage */
    enum tr_stop stop;
    char *stop_sequence;          /* NULL when none */
    struct tr_agg_block **blocks; /* in OPEN order */
    size_t n_blocks, cap_blocks;
    int32_t *by_ir;               /* ir block number -> index + 1 (0: none) */
    size_t n_by_ir;
    int n_tools;
};

void tr_agg_init(struct tr_agg *a);
void tr_agg_fini(struct tr_agg *a);

/* Records the event. Returns the block it concerns (OPEN, DELTA, SIG, CLOSE),
 * or NULL for other kinds and for an event on an unknown block (ignored).
 * ctx restores tool names. At FINISH the §3.2 stop adjustments are applied
 * (END_TURN with a tool call -> TOOL_USE; TOOL_USE without one -> END_TURN). */
struct tr_agg_block *tr_agg_event(struct tr_agg *a, const struct tr_ctx *ctx,
                                  const struct tr_event *ev);
struct tr_agg_block *tr_agg_find(const struct tr_agg *a, int ir_block);

/* Anthropic's input_tokens: max(0, input_total - cache_read - cache_write). */
int64_t tr_usage_a_input(const struct tr_usage *u);

#endif
