/* xlate.h -- format translation inside the attempt loop (docs/translate.md).
 *
 * A request is detected once (which format the client speaks, which
 * endpoint it calls); each attempt then speaks its provider's wire. When the
 * two differ the attempt translates: the client body is parsed once into the
 * canonical request and emitted for every attempt's wire (a failover from an
 * openai provider to an anthropic one re-emits it), and the answer runs
 * through a decoder (the wire's format, stream or JSON) into an encoder (the
 * client's format, stream or JSON), event by event as bytes arrive.
 *
 * The commit point: a translated stream sends the client nothing -- no
 * status line -- until its first content block opens (or the answer
 * finishes, or the daemon's commit_timeout_ms passes, or XLATE_HOLD_MAX
 * bytes are held). Until then an error event, a cut or an empty stream is a failed
 * attempt like any other and the next provider gets the request; after it,
 * the client gets an in-band error in its own format and the stream never
 * looks complete. A non-streamed translated answer commits only when whole.
 *
 * A passthrough stream has the same commit point (xlate_hold_*): its head
 * and first bytes are held, watched by commit.h, and sent unchanged when it
 * commits; a failure before that is a failed attempt too.
 *
 * This module owns the translation state and the bytes it writes; the
 * attempt loop (attempt.c) owns the attempt: it records outcomes, blames
 * providers and starts the next attempt when xlate says so. */
#ifndef ZEND_XLATE_H
#define ZEND_XLATE_H

#include <ev.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "commit.h"
#include "config.h"
#include "http_server.h"
#include "tr_detect.h"
#include "tr_types.h"
#include "usage_tokens.h"

/* docs/translate.md, "Streaming": the bytes held before the commit point at
 * most (its deadline is the daemon's commit_timeout_ms), a keep-alive after
 * this much client silence, and how long a finished answer waits for its
 * upstream to end before zend ends it. */
#define XLATE_HOLD_MAX COMMIT_HOLD_MAX
#define XLATE_KEEPALIVE_MS 15000
#define XLATE_END_GRACE_MS 2000
/* Tests shorten the keep-alive interval (milliseconds) through this. */
#define XLATE_KEEPALIVE_TEST_ENV "ZEND_TEST_XLATE_KEEPALIVE_MS"

/* What an attempt does (xlate_begin_attempt). */
enum xlate_plan {
    XLATE_PASSTHROUGH,    /* forward as is (body may still be stripped: out->body) */
    XLATE_TRANSLATE,      /* send out->body to out->path, in the wire's format */
    XLATE_LOCAL_ANSWER,   /* answer now with out->status / out->body (count_tokens estimate) */
    XLATE_REJECT,         /* answer now with out->status / out->body: the request is bad */
};

struct xlate_attempt {
    enum xlate_plan plan;
    const char *path;     /* TRANSLATE: the upstream path (no query) */
    char *body;           /* malloc'd, or NULL (passthrough unchanged); caller frees */
    size_t body_len;
    int status;           /* LOCAL_ANSWER, REJECT */
    const char *model_from, *model_to; /* TRANSLATE: the model mapping (to may equal from) */
    int model_defaulted;  /* TRANSLATE: a Claude default was applied */
};

/* What the answer side asks of the attempt loop after each step. */
enum xlate_step {
    XLATE_GOING,          /* nothing to do */
    XLATE_PAUSE,          /* client output full: pause the transfer */
    XLATE_FINISHED,       /* the answer is complete (the request may end) */
    XLATE_FAILED,         /* a failure before the commit point: a failed attempt */
    XLATE_BROKEN,         /* a failure after it: the in-band error is written */
    XLATE_CLIENT_GONE,    /* the client went away */
    XLATE_COMMIT,         /* a held passthrough answer commits: send its head and
                             the held bytes (xlate_held), then relay as usual */
};

/* What xlate tells the attempt loop on its own (not as a step's result):
 * on_commit -- the answer is committed: record the attempt as served and
 * send the head (xlate_head_headers gives the headers); on_timer_step -- a
 * timer moved the answer on (XLATE_FINISHED: a finished answer whose
 * upstream did not end in time, or a Chat stream that waited its grace for
 * usage; the request should end now; XLATE_COMMIT: a held passthrough
 * stream reached its commit deadline). */
struct xlate_hooks {
    void (*on_commit)(void *ud);
    void (*on_timer_step)(void *ud, enum xlate_step st);
};

struct xlate {
    struct ev_loop *loop;
    struct http_conn *conn;
    struct tr_detected fmt;      /* the client's format and endpoint */
    json_t *ir;                  /* the canonical request, parsed at the first need */
    json_t *doc;                 /* the client body as routing parsed it (xlate_keep_doc),
                                  * until the first attempt is planned */
    int ir_failed;               /* the body could not be parsed (400 sent) */
    /* the attempt in progress */
    int active;                  /* it translates */
    enum tr_format wire;
    int fallback;                /* it is a wire fallback retry (docs/translate.md) */
    enum tr_format fallback_wire; /* ... in this wire */
    int models;                  /* it is a models list crossing families */
    struct tr_ctx ctx;
    struct tr_decoder *dec;
    struct tr_encoder *enc;
    zbuf out;                    /* client bytes encoded, not yet written */
    int committed;
    int finished, failed, broken;
    enum tr_err_class err_class; /* failed / broken: what the upstream said */
    char err_msg[512];
    const struct xlate_hooks *hooks;
    void *hooks_ud;
    char *client_model;          /* the model the client asked for (mapping input) */
    const char *model_override;  /* the attempt's route model: sent verbatim, no mapping */
    struct usage_tokens usage;   /* the translated answer's usage (its decoder's
                                  * START and FINISH), for the ledger and the
                                  * session memory; USAGE_UNKNOWN = not seen */
    ev_timer timer;              /* commit deadline, keep-alive, finish grace */
    double last_write_s;         /* monotonic: the last bytes to the client */
    int64_t commit_timeout_ms;   /* the daemon's commit_timeout_ms (set per attempt) */
    int holding;                 /* a passthrough stream held before its commit point */
    struct commit_watch watch;   /* ... and what watches it; out holds its bytes */
};

void xlate_init(struct xlate *x, struct ev_loop *loop, struct http_conn *conn,
                const struct xlate_hooks *hooks, void *ud);
/* Frees everything; stops the timer. */
/* Takes doc (a reference): the client body already parsed for routing, so a
 * translated first attempt builds its IR without parsing the body again.
 * Dropped once the first attempt is planned, so a passthrough stream does
 * not hold a parsed copy of its body. */
void xlate_keep_doc(struct xlate *x, json_t *doc);
void xlate_fini(struct xlate *x);

/* Detects the client's format and endpoint from the request. */
void xlate_detect(struct xlate *x, const struct http_request *req, const char *upstream_path);

/* Plans an attempt on provider p (learned_wire: its state's, -1 none) for a
 * client body; fills out. A REJECT carries a 400 body in the client's format
 * (not JSON, not the client's format, or a request the wire cannot serve). */
void xlate_begin_attempt(struct xlate *x, const struct zcfg_provider *p, int learned_wire,
                         const char *body, size_t len, struct xlate_attempt *out);
/* Drops what the attempt's answer side holds (decoder, encoder, bytes). */
void xlate_end_attempt(struct xlate *x);

/* A 2xx head of a translated attempt: sets up the answer's decoder and
 * encoder. Returns 0, or -1 out of memory. */
int xlate_on_head(struct xlate *x, const struct http_header *h, size_t n);
/* Answer bytes and the end of the transfer (ok: it ended cleanly). */
enum xlate_step xlate_on_body(struct xlate *x, const char *data, size_t len);
enum xlate_step xlate_on_end(struct xlate *x, int ok, const char *why);
/* The client can take more output: writes what waits. */
enum xlate_step xlate_on_writable(struct xlate *x);

/* The head of a committed answer: Content-Type of the client's format (a
 * stream or JSON), Cache-Control for a stream. out has room for 4. */
size_t xlate_head_headers(const struct xlate *x, struct http_header *out);
/* Is the committed answer a stream (chunked) or a whole body? */
int xlate_client_stream(const struct xlate *x);
/* A finished non-streamed answer's body (valid until xlate_end_attempt). */
const char *xlate_whole_body(const struct xlate *x, size_t *len);

/* Should a failed openai attempt be retried once on the same provider in
 * the other wire (docs/translate.md, "Which OpenAI API")? Returns the wire
 * to retry with, or -1. */
int xlate_fallback_wire(const struct xlate *x, const struct zcfg_provider *p, int status,
                        const char *body, size_t len);

/* The commit point of a passthrough stream (commit.h). xlate_hold_begin:
 * a passthrough 2xx head on a Messages, Chat or Responses endpoint; returns
 * 1 when the stream is held (the commit deadline runs from now), 0 when it
 * is not a stream to hold, -1 out of memory (relay it unheld). Then each
 * body chunk and the end of the transfer: XLATE_GOING (still held),
 * XLATE_COMMIT (send the head and xlate_held now), XLATE_FAILED (a failed
 * attempt: err_class / err_msg). Once committed, xlate_hold_release drops
 * the held bytes and the watch. */
int xlate_hold_begin(struct xlate *x, const struct http_header *h, size_t n);
enum xlate_step xlate_hold_body(struct xlate *x, const char *data, size_t len);
enum xlate_step xlate_hold_end(struct xlate *x, int ok, const char *why);
int xlate_holding(const struct xlate *x);
const char *xlate_held(const struct xlate *x, size_t *len);
void xlate_hold_release(struct xlate *x);

/* Ends a stream that broke after its head went out (a cut passthrough
 * stream, a drain): writes the in-band error of the client's format,
 * "upstream stream interrupted: <why>" (Anthropic `event: error`, Chat
 * `data: {"error":...}`, Responses `response.failed`), through the live
 * encoder of a translated stream so it follows what was sent. */
void xlate_stream_error(struct xlate *x, const char *why);

/* An upstream error answer relayed to the client in its own format when
 * the attempt crossed families; NULL when it is relayed unchanged.
 * *status may change (402 -> 429 for OpenAI clients). */
char *xlate_error_body(const struct xlate *x, int *status, const char *body, size_t len);

/* zend's own error in the client's format: `type` is the Anthropic-family
 * type (all_providers_failed, all_providers_unavailable, overloaded_error,
 * invalid_request_error ...); extra members (may be NULL) go at the top. */
char *xlate_own_error(const struct xlate *x, const char *type, const char *message,
                      json_t *top_extra);

#endif
