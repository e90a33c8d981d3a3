/* tr_emit_int.h -- private to the request emitters (tr_emit*.c): the state of
 * one emit and the helpers the three wire emitters share (docs/translate.md,
 * requests). Nothing outside zend/translate/ includes it; the unit tests do,
 * to reach the helpers directly. */
#ifndef ZEND_TR_EMIT_INT_H
#define ZEND_TR_EMIT_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "tr_request.h"
#include "tr_types.h"

/* Tool names and R call ids are capped at 64 bytes by OpenAI. */
#define TR_NAME_MAX 64
/* A shortened name keeps this many leading bytes, then "_" and 8 hex. */
#define TR_NAME_KEEP 55
#define TR_CALL_ID_MAX 64
/* A's smallest thinking budget. */
#define TR_MIN_BUDGET 1024
/* A's max_tokens when neither the client nor the provider gave one. */
#define TR_DEFAULT_MAX_TOKENS 32000
/* R rejects max_output_tokens below this (integer_below_min_value). */
#define TR_R_MIN_OUTPUT 16
/* C/R: `user` is sent only up to this many bytes (OpenAI's cap). */
#define TR_USER_MAX 64
/* C: at most this many stop sequences. */
#define TR_C_STOP_MAX 4

/* One emit in progress. */
struct tr_emit {
    const json_t *ir;
    enum tr_format wire;
    const struct tr_emit_opts *o;
    struct tr_ctx *ctx;
    int keep_cache;        /* C: cache_control survives (the model is a claude) */
    unsigned empty_ids;    /* A: ids minted for empty tool ids so far */
    int oom;               /* a set or append failed: the emit returns NULL */
};

/* ---- building (each records an allocation failure in e->oom; v is stolen) ---- */
void tr_emit_set(struct tr_emit *e, json_t *obj, const char *key, json_t *v);
void tr_emit_push(struct tr_emit *e, json_t *arr, json_t *v);
/* Copies key from src to dst when present (a new reference). */
void tr_emit_copy(struct tr_emit *e, json_t *dst, const json_t *src, const char *key);

/* ---- reading the IR ---- */
const char *tr_ir_str(const json_t *o, const char *key);   /* NULL unless a string */
int tr_ir_true(const json_t *o, const char *key);          /* a JSON true */
int tr_ir_is(const json_t *part, const char *type);        /* part["type"] == type */
/* The IR's tools array when it holds at least one tool, else NULL. */
const json_t *tr_ir_tools(const json_t *ir);
/* Is the tool called `name` of kind custom? */
int tr_ir_tool_is_custom(const json_t *ir, const char *name);

/* ---- identifiers ---- */
uint32_t tr_fnv1a32(const void *p, size_t n);
/* A tool id with every byte outside [A-Za-z0-9_-] replaced by '_'; an empty
 * id becomes toolu_zend_<n> (n counts per emit). malloc'd; NULL out of memory. */
char *tr_sanitize_id(struct tr_emit *e, const char *id);
/* An R call_id: ids over 64 bytes become "call_" + 8 hex FNV-1a-32. */
json_t *tr_r_call_id(const char *id);
/* A tool name as C and R see it: unchanged when it fits and is clean, else
 * its first 55 bytes sanitised + "_" + 8 hex FNV-1a-32 of the whole name.
 * Writes into out (at least TR_NAME_MAX + 1 bytes); returns 1 if shortened. */
int tr_short_name(const char *name, char *out);
/* tr_short_name as a JSON string, recording a shortened pair in the context. */
json_t *tr_emit_wire_name(struct tr_emit *e, const char *name);

/* ---- reasoning (docs/translate.md, reasoning) ---- */
/* The OpenAI effort of a thinking budget: <= 1024 low, <= 8192 medium, else high. */
const char *tr_budget_to_effort(int64_t budget);
/* The A budget of an effort: 0 for none/minimal (off) and for an unknown
 * effort, low 2048, medium 8192, high 16384, xhigh 24576, max 31999. */
int64_t tr_effort_to_budget(const char *effort);
/* reasoning_effort / reasoning.effort for C and R, or NULL to omit it. */
const char *tr_emit_oa_effort(const json_t *ir);

/* ---- content ---- */
/* The concatenation of NUL-terminated pieces (the list ends with NULL) as a
 * JSON string. */
json_t *tr_json_cat(const char *first, ...);
/* "data:<mt>;base64,<data>" as a JSON string. */
json_t *tr_data_url(const char *media_type, const char *data);
/* "[file omitted: <id>]" or "[document omitted: <url>]". */
json_t *tr_omitted(const char *what, const char *id);
/* A text document as one text: title + "\n\n" + data, or data alone. */
json_t *tr_text_document(const json_t *part);
/* The text parts of a list joined by sep (empty parts skipped); a part
 * without "type" (a system part) is text. */
char *tr_join_text(const json_t *parts, const char *sep);
/* A tool schema with the emit fixes: missing -> {"type":"object",
 * "properties":{}}, no "type" -> "type":"object". A new reference. */
json_t *tr_tool_schema(const json_t *tool);
/* The schema a custom tool (free-form input) gets as a function. */
json_t *tr_custom_schema(void);
/* Does a model name contain "claude" (any case)? */
int tr_is_claude(const char *model);
/* An IR part's cache_control when the wire keeps it, else NULL. */
const json_t *tr_emit_cache(const struct tr_emit *e, const json_t *part);

/* A message content array that is one text part without cache_control
 * becomes that text as a string (stealing content); else content itself. */
json_t *tr_lone_text(json_t *content);

/* ---- the three wires ---- */
/* Emits each IR message through the function of its role, appending to out. */
typedef void (*tr_emit_msg_fn)(struct tr_emit *e, const json_t *msg, json_t *out);
void tr_emit_messages(struct tr_emit *e, json_t *out, tr_emit_msg_fn user,
                      tr_emit_msg_fn assistant);
json_t *tr_emit_a(struct tr_emit *e);
json_t *tr_emit_c(struct tr_emit *e);
json_t *tr_emit_r(struct tr_emit *e);

/* The A thinking-with-tools invariant: may thinking stay on, given A
 * messages (the last assistant message's tool_use must follow a thinking
 * block)? Shared by emit A and the A passthrough. */
int tr_a_thinking_allowed(const json_t *messages);

#endif
