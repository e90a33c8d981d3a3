/* tr_decode_int.h -- what the answer decoders (tr_decode*.c) share: the
 * decoder object, the event emitters that keep the IR invariants, and JSON
 * helpers. Private to the decoders. */
#ifndef ZEND_TR_DECODE_INT_H
#define ZEND_TR_DECODE_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_sse.h"
#include "tr_types.h"

/* What a decoder keeps across events (tool ids and names, arguments that
 * wait for their name, item ids) stays under this, however long the stream. */
#define TR_DEC_KEEP_MAX (16u * 1024 * 1024)

/* Blocks one answer may open: more is an error, never unbounded state (the
 * invariant checker watches as many). */
#define TR_DEC_MAX_BLOCKS 4096

enum { BLK_OPEN = 1, BLK_CLOSED = 2 };

struct tr_dec_blk {
    unsigned char state;
    enum tr_block_kind kind;
    const char *close_sig; /* a fabricated signature SIG'd at CLOSE (static), or NULL */
};

/* A growable byte string (p NUL-terminated once anything was appended). */
struct tr_dec_buf {
    char *p;
    size_t len, cap;
};
/* Appends; -1 (and nothing appended) when out of memory or past max bytes. */
int tr_dec_buf_add(struct tr_dec_buf *b, const char *s, size_t n, size_t max);
void tr_dec_buf_free(struct tr_dec_buf *b);

struct tr_decoder;

/* One wire format's half of a decoder. */
struct tr_dec_ops {
    int (*init)(struct tr_decoder *d);       /* -1 out of memory */
    void (*free)(struct tr_decoder *d);
    /* A dispatched SSE event: name may be NULL, data is NUL-terminated. */
    void (*sse_event)(struct tr_decoder *d, const char *name, const char *data, size_t len);
    /* The stream ended (SSE mode), not yet done. */
    void (*sse_end)(struct tr_decoder *d, int transport_ok, const char *why);
    /* A whole JSON body (an object that is not an error object). */
    void (*json)(struct tr_decoder *d, json_t *root);
};

struct tr_decoder {
    enum tr_format wire;
    int sse;
    tr_event_fn fn;
    void *ud;
    const struct tr_dec_ops *ops;
    void *st;                     /* the format's own state */
    struct tr_sse parser;         /* SSE mode */
    struct tr_dec_buf body;       /* JSON mode: the body so far */
    int started, done;
    int seen_json;                /* a JSON event arrived (an empty stream vs an interrupted one) */
    int tree_only;                /* tr_decoder_tree_only: no chunk scanner */
    struct tr_dec_blk *blks;      /* by block number, 0.. in OPEN order */
    size_t n_blks, cap_blks;
    int n_tools;                  /* tool blocks opened: call_zend_<n> */
    size_t kept;                  /* bytes kept across events (TR_DEC_KEEP_MAX) */
};

extern const struct tr_dec_ops tr_dec_ops_a, tr_dec_ops_c, tr_dec_ops_r;

/* A C stream past its finish_reason, waiting for usage or [DONE]; and its end. */
int tr_dec_c_awaiting(const struct tr_decoder *d);
void tr_dec_c_finalize(struct tr_decoder *d);
/* A Chat finish_reason as an IR stop (before the adjustments). */
enum tr_stop tr_dec_c_stop(const char *finish_reason);

/* ---- emitters: each is a no-op once the decoder is done ---- */
void tr_dec_keepalive(struct tr_decoder *d);
/* START once; id/model may be NULL; usage NULL when unknown. */
void tr_dec_start(struct tr_decoder *d, const char *id, const char *model,
                  const struct tr_usage *usage);
/* Opens the next block (START first if need be); a tool without an id gets
 * call_zend_<n>. Returns the block number, or -1 (done, or too many blocks:
 * then an ERROR was emitted). close_sig: a static signature for CLOSE. */
int tr_dec_open(struct tr_decoder *d, enum tr_block_kind kind, const char *id, size_t id_len,
                const char *name, size_t name_len, const char *close_sig);
/* DELTA / SIG for an open block; empty text is skipped. */
void tr_dec_delta(struct tr_decoder *d, int b, const char *s, size_t n);
void tr_dec_sig(struct tr_decoder *d, int b, const char *s, size_t n);
int tr_dec_is_open(const struct tr_decoder *d, int b);
void tr_dec_close(struct tr_decoder *d, int b);
void tr_dec_close_all(struct tr_decoder *d);
/* CLOSE what is open, apply the stop adjustments (END_TURN with a tool block
 * -> TOOL_USE, TOOL_USE without one -> END_TURN), FINISH. */
void tr_dec_finish(struct tr_decoder *d, enum tr_stop stop, const char *seq, size_t seq_len,
                   const struct tr_usage *usage);
void tr_dec_error(struct tr_decoder *d, enum tr_err_class cls, const char *type,
                  const char *msg);
/* An error the upstream sent: class from its type (fallback TR_ERR_API). */
void tr_dec_error_upstream(struct tr_decoder *d, const char *type, const char *msg);
/* The stream ended before its answer was complete: empty or interrupted. */
void tr_dec_error_ended(struct tr_decoder *d, int transport_ok, const char *why);


/* Room for element n of a growing array (*arrp: its pointer, *cap: its
 * size): -1 past TR_DEC_MAX_BLOCKS elements or out of memory. */
int tr_dec_room(void *arrp, size_t *cap, size_t n, size_t elem);

/* Counts n more bytes kept across events: 0, or -1 (and an ERROR) past the
 * budget. tr_dec_dup: a NUL-terminated copy so counted, or NULL. */
int tr_dec_keep(struct tr_decoder *d, size_t n);
char *tr_dec_dup(struct tr_decoder *d, const char *s, size_t n);

/* ---- JSON helpers ---- */
/* A string member (NULL when absent or not a string); *len its length (0 then). */
const char *tr_dec_str(const json_t *o, const char *key, size_t *len);
/* A non-empty string member, else NULL. */
const char *tr_dec_str_ne(const json_t *o, const char *key, size_t *len);
/* A number member: 1 and *out, or 0. */
int tr_dec_int(const json_t *o, const char *key, int64_t *out);
/* Compact JSON of v (malloc'd), or NULL. */
char *tr_dec_dump(const json_t *v);
/* Parses data as JSON (any value); NULL when it is not JSON. */
json_t *tr_dec_parse(const char *data, size_t len);
/* The event's type: its SSE name, else the JSON "type". */
const char *tr_dec_event_type(const char *name, const json_t *root);

/* OpenAI usage objects into IR usage; return 1 when v was an object. *u is
 * always written (zeros when v is no object): read into a local, never over
 * counts an earlier chunk gave. */
int tr_dec_usage_c(const json_t *v, struct tr_usage *u);
int tr_dec_usage_r(const json_t *v, struct tr_usage *u);

#endif
