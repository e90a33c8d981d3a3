/* tr_models.h -- GET /v1/models across families (docs/translate.md,
 * models): an OpenAI list shown to an Anthropic client and the reverse. */
#ifndef ZEND_TR_MODELS_H
#define ZEND_TR_MODELS_H

#include <stddef.h>

#include "tr_types.h"

/* Translates a models list body from `wire`'s family to `client`'s.
 * Returns a malloc'd compact JSON body (*out_len set), or NULL when the body
 * is not a list of that family (the caller relays it unchanged). */
char *tr_models_translate(enum tr_format wire, enum tr_format client, const char *body,
                          size_t len, size_t *out_len);

#endif
