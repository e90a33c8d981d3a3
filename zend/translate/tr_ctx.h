/* tr_ctx.h -- the per-request translation context (struct tr_ctx in
 * tr_types.h) and the error-class vocabulary every translate module shares. */
#ifndef ZEND_TR_CTX_H
#define ZEND_TR_CTX_H

#include <stddef.h>

#include "tr_types.h"

void tr_ctx_init(struct tr_ctx *c, enum tr_format client, enum tr_format wire);
/* Frees what the context owns and zeroes it (formats are kept). */
void tr_ctx_fini(struct tr_ctx *c);
/* Drops what one attempt's emit added (names, custom tools, model), keeping
 * the formats and flags: the next attempt emits afresh. */
void tr_ctx_reset_attempt(struct tr_ctx *c);

/* Records that the client's tool `client` is called `wire` upstream.
 * Returns 0, or -1 out of memory. */
int tr_ctx_add_name(struct tr_ctx *c, const char *wire, const char *client);
/* The client's name for a wire tool name (the name itself when it was not
 * shortened). wire need not be NUL-terminated. Returns a pointer into the
 * context or into wire; *out_len gets its length. */
const char *tr_ctx_client_name(const struct tr_ctx *c, const char *wire, size_t wire_len,
                               size_t *out_len);
int tr_ctx_add_custom_tool(struct tr_ctx *c, const char *client_name);
/* Is this client tool name of kind custom? */
int tr_ctx_is_custom(const struct tr_ctx *c, const char *name, size_t len);

const char *tr_format_name(enum tr_format f);   /* "anthropic", "chat", "responses" */

/* ---- error classes (docs/translate.md, errors) ---- */

/* The class of an HTTP status when the upstream's type is unknown. */
enum tr_err_class tr_err_class_from_status(int status);
/* The class of an upstream error type of either family ("overloaded_error",
 * "rate_limit_exceeded", "server_error" ...); fallback when the type is
 * NULL or unknown. */
enum tr_err_class tr_err_class_from_type(const char *type, enum tr_err_class fallback);
/* The Anthropic error.type of a class. */
const char *tr_err_class_a_type(enum tr_err_class c);
/* The OpenAI error.type and error.code (code NULL when none) of a class. */
const char *tr_err_class_c_type(enum tr_err_class c);
const char *tr_err_class_c_code(enum tr_err_class c);
/* Does an upstream type belong to the family of format f (A vs C/R)? Then it
 * is kept as it is rather than mapped through its class. */
int tr_err_type_in_family(const char *type, enum tr_format f);

#endif
