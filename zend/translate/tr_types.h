/* tr_types.h -- the shared vocabulary of format translation (docs/translate.md).
 *
 * zend speaks three API formats: Anthropic Messages (A), OpenAI Chat
 * Completions (C) and OpenAI Responses (R). A translated request goes
 *   client body -> parser -> canonical request (IR, tr_request.h) -> emitter -> wire body
 * and its answer goes
 *   wire bytes -> decoder -> IR events (below) -> encoder -> client bytes
 * where a decoder reads either a stream (SSE) or a whole JSON body and an
 * encoder writes either a stream or a whole JSON body, so every pairing
 * (stream to stream, JSON to JSON, and the two mismatches) is one decoder
 * wired to one encoder.
 *
 * This header holds only types and tiny inline helpers: any translate module
 * can include it without pulling in another. */
#ifndef ZEND_TR_TYPES_H
#define ZEND_TR_TYPES_H

#include <stddef.h>
#include <stdint.h>

/* The three formats; also the three wires a provider may be spoken to in. */
enum tr_format {
    TR_FORMAT_A,   /* Anthropic Messages */
    TR_FORMAT_C,   /* OpenAI Chat Completions */
    TR_FORMAT_R,   /* OpenAI Responses */
};

/* Why a response stopped (docs/translate.md, stop reasons). */
enum tr_stop {
    TR_STOP_END_TURN,
    TR_STOP_STOP_SEQ,
    TR_STOP_MAX_TOKENS,
    TR_STOP_TOOL_USE,
    TR_STOP_REFUSAL,
    TR_STOP_CONTEXT,
};

enum tr_block_kind {
    TR_BLOCK_TEXT,
    TR_BLOCK_THINKING,
    TR_BLOCK_REDACTED,   /* redacted thinking: its data arrives as one DELTA */
    TR_BLOCK_TOOL,
};

/* Error classes (docs/translate.md, errors): what a failure means, whatever
 * vocabulary the upstream used. Each renders as a type (and for OpenAI a
 * code) in the client's family: tr_error_class.c. */
enum tr_err_class {
    TR_ERR_INVALID_REQUEST,  /* 400, 422, other 4xx */
    TR_ERR_AUTHENTICATION,   /* 401 */
    TR_ERR_BILLING,          /* 402 / quota */
    TR_ERR_PERMISSION,       /* 403 */
    TR_ERR_NOT_FOUND,        /* 404 */
    TR_ERR_TIMEOUT,          /* 408, 504 */
    TR_ERR_TOO_LARGE,        /* 413 */
    TR_ERR_RATE_LIMIT,       /* 429 */
    TR_ERR_OVERLOADED,       /* 529 */
    TR_ERR_API,              /* 500, 502, 503, other 5xx, and unknown mid-stream */
};

/* Token counts in OpenAI's sense: input_total includes cached tokens.
 * Anthropic's input_tokens is input_total - cache_read - cache_write. */
struct tr_usage {
    int64_t input_total;
    int64_t cache_read;
    int64_t cache_write;
    int64_t output;
    int has_input;           /* input_total (or a cache field) is known */
    int has_output;          /* output is known */
    int has_cache_read;      /* cache_read was reported (else 0 means "not said") */
    int has_cache_write;     /* cache_write was reported */
};

/* The events a decoder emits and an encoder consumes. Invariants (checked by
 * tr_check.c, in tests and the fuzzer):
 *   - START comes first (KEEPALIVE may precede it) and only once;
 *   - OPEN b only once per b; DELTA and SIG only for an open b; CLOSE once;
 *   - several blocks may be open at once;
 *   - every open block is CLOSEd before FINISH;
 *   - exactly one FINISH or ERROR, and it is the last event.
 * Strings are borrowed for the duration of the callback only and are not
 * NUL-terminated unless stated: use the _len fields. */
enum tr_ev_kind {
    TR_EV_START,     /* id, model, usage (if known: has_usage) */
    TR_EV_OPEN,      /* block, block_kind; tool: id, name */
    TR_EV_DELTA,     /* block, text: text, thinking, args fragment, or redacted data */
    TR_EV_SIG,       /* block, text: the signature of a thinking block */
    TR_EV_CLOSE,     /* block */
    TR_EV_FINISH,    /* stop, stop_sequence (may be NULL), usage */
    TR_EV_ERROR,     /* err_class, err_type (upstream's own type or NULL), text: message */
    TR_EV_KEEPALIVE,
};

struct tr_event {
    enum tr_ev_kind kind;
    int block;                      /* the decoder's block number, 0.. */
    enum tr_block_kind block_kind;  /* OPEN */
    const char *id;    size_t id_len;     /* START: response id; OPEN tool: call id */
    const char *name;  size_t name_len;   /* OPEN tool: the name as the wire spelt it */
    const char *model; size_t model_len;  /* START */
    const char *text;  size_t text_len;   /* DELTA, SIG, ERROR */
    enum tr_stop stop;                    /* FINISH */
    const char *stop_sequence; size_t stop_sequence_len; /* FINISH, may be NULL */
    int has_usage;                        /* START, FINISH */
    struct tr_usage usage;
    enum tr_err_class err_class;          /* ERROR */
    const char *err_type;                 /* ERROR: NUL-terminated, or NULL */
};

typedef void (*tr_event_fn)(void *ud, const struct tr_event *ev);

/* One tool name as the wire spells it and as the client wrote it. */
struct tr_name_pair {
    char *wire;
    char *client;
};

/* What the answer's translation needs to know about its request. Filled by
 * tr_request_emit (names, custom tools, model) and the caller (formats,
 * stream flags, created). Owned by the request; tr_ctx_fini frees it. */
struct tr_ctx {
    enum tr_format client;          /* the format the client speaks */
    enum tr_format wire;            /* the format this attempt's provider speaks */
    int client_stream;              /* the client asked for a stream */
    int include_usage;              /* C client: stream_options.include_usage */
    char *model;                    /* the model sent upstream (fallback for answers) */
    struct tr_name_pair *names;     /* shortened tool names (wire -> client) */
    size_t n_names;
    char **custom_tools;            /* client tool names of kind custom (Codex apply_patch) */
    size_t n_custom_tools;
    int64_t created;                /* unix seconds: C `created`, R `created_at` */
};

#endif
