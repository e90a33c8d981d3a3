/* wire.h -- which API format an attempt speaks to its provider
 * (docs/translate.md, "Which OpenAI API"): the provider's type, its
 * openai_api setting, what a fallback taught zend, and the client's format.
 * Pure functions. */
#ifndef ZEND_WIRE_H
#define ZEND_WIRE_H

#include "config.h"
#include "tr_types.h"

/* The wire for a client of format `client` on provider p; learned is a
 * provider state's learned_wire (-1: none). anthropic -> A; openai "chat" ->
 * C, "responses" -> R; openai "auto" -> the learned wire, else R for a
 * Responses client (passthrough) and C for the others. */
enum tr_format wire_for(const struct zcfg_provider *p, int learned, enum tr_format client);

/* May an attempt on p switch wire after a telling failure (openai "auto")? */
int wire_may_fall_back(const struct zcfg_provider *p);

/* What `zenctl providers` shows: "anthropic", "chat", "responses", or
 * "auto" (nothing learned yet); *learned says the wire was learned. */
const char *wire_name(const struct zcfg_provider *p, int learned, int *is_learned);

#endif
