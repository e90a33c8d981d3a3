/* answer.h -- the parts of the bodies zend writes itself (docs/operations.md,
 * "Failover"): the all_providers_failed report that lists every attempt.
 * The envelope is the client's format's (xlate_own_error); these only
 * compose what goes in it. */
#ifndef ZEND_ANSWER_H
#define ZEND_ANSWER_H

#include <jansson.h>
#include <stddef.h>

#include "buf.h"
#include "policy.h"

/* Milliseconds as every report and log record shows them: rounded to the
 * microsecond. */
double answer_round_ms(double ms);

/* The one-line message when every attempt failed ("all providers failed:
 * [name] <status or error> (<ms>ms) ...", NUL-terminated), into msg
 * (initialised by the caller). */
void answer_exhausted_message(const struct policy_attempt *a, size_t n, zbuf *msg);

/* {"attempts": [{provider, status, error_type, duration_ms, detail}, ...]},
 * the members added beside the error of an all_providers_failed answer. */
json_t *answer_attempts(const struct policy_attempt *a, size_t n);

#endif
