/* answer.h -- the bodies zend writes itself (docs/operations.md, "Failover"): the
 * Anthropic-style error envelope, and the all_providers_failed report that
 * lists every attempt. The caller sends them; these only compose them. */
#ifndef ZEND_ANSWER_H
#define ZEND_ANSWER_H

#include <stddef.h>

#include "buf.h"
#include "policy.h"

/* Milliseconds as every report and log record shows them: rounded to the
 * microsecond. */
double answer_round_ms(double ms);

/* {"type":"error","error":{"type":type,"message":message}}, malloc'd; NULL
 * when out of memory. */
char *answer_error_body(const char *type, const char *message);

/* The report when every attempt failed: writes the one-line message
 * ("all providers failed: [name] <status or error> (<ms>ms) ...",
 * NUL-terminated) into msg (initialised by the caller) and returns the JSON
 * body with the `attempts` array, malloc'd; NULL when out of memory. */
char *answer_exhausted_body(const struct policy_attempt *a, size_t n, zbuf *msg);

#endif
