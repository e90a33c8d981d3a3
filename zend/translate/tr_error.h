/* tr_error.h -- error bodies in the client's format (docs/translate.md,
 * errors): an upstream's non-2xx answer translated across families, and
 * zend's own errors (bad request, all providers failed ...) rendered as the
 * client's SDK expects them. */
#ifndef ZEND_TR_ERROR_H
#define ZEND_TR_ERROR_H

#include <jansson.h>
#include <stddef.h>

#include "tr_types.h"

#define TR_ERROR_MESSAGE_MAX 2048

/* An upstream error, whatever its envelope. */
struct tr_error {
    enum tr_err_class cls;
    char type[64];                     /* the upstream's own type, "" if none */
    char code[64];                     /* the upstream's code (string or number), "" if none */
    char message[TR_ERROR_MESSAGE_MAX];
};

/* Reads an error body: Anthropic {"type":"error","error":{type,message}},
 * OpenAI {"error":{message,type,code}}, {"error":"s"}, {"message":..},
 * {"detail":..}, else the trimmed text (at most 2 KiB), else "upstream
 * returned HTTP <status>". The class comes from a known type, else from the
 * status. */
void tr_error_parse(int status, const char *body, size_t len, struct tr_error *out);

/* The error body for a client of format f (malloc'd compact JSON), and the
 * status to send (*status in: the upstream's; out: 402 becomes 429 for C/R).
 * Types of the client's family are kept, others mapped through the class;
 * context-length messages get code context_length_exceeded (C/R) or the
 * "prompt is too long: " prefix (A). */
char *tr_error_render(enum tr_format f, const struct tr_error *e, int *status);

/* zend's own error in the client's envelope: A {"type":"error","error":{type,
 * message, <extra...>}}, C/R {"error":{message,type,param:null,code, <extra...>}}.
 * code may be NULL (C/R: null; A: unused). extra (may be NULL, borrowed) is
 * an object whose members are added inside `error` (the attempts of an all-
 * providers-failed answer, disabled_providers ...). Malloc'd compact JSON. */
char *tr_error_own(enum tr_format f, const char *type, const char *code, const char *message,
                   const json_t *extra);
/* The same as a document (a new reference; NULL out of memory), for a
 * caller that adds members of its own. */
json_t *tr_error_own_doc(enum tr_format f, const char *type, const char *code,
                         const char *message, const json_t *extra);

#endif
