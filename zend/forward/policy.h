/* policy.h -- the forwarding policy (docs/operations.md, "Failover"): what an
 * attempt's outcome means, which failures are worth a same-provider retry, and
 * what the client is told when every candidate failed.
 *
 * Pure functions of their arguments (no clock, no loop, no state), so each row
 * of the outcome table is checked on its own by tests/unit/test_policy.c. The
 * attempt loop in attempt.c applies them. */
#ifndef ZEND_POLICY_H
#define ZEND_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "http_header.h"
#include "error_type.h"

/* The upstream body kept for an attempt's detail (error reports, logs). */
#define POLICY_DETAIL_MAX 512

/* One attempt of a request, as the final answer and the record report it. */
struct policy_attempt {
    const struct zcfg_provider *provider;
    int status;       /* 0: no HTTP response */
    int error_type;   /* enum zen_error_type; ZERR_NONE for the attempt that was relayed
                         (ZERR_STREAM when it broke after its commit point) */
    double duration_ms;
    char detail[POLICY_DETAIL_MAX];
};

/* A status that fails the attempt (401, 402, 403, 429, any 5xx): the next
 * provider gets the request. Every other status is the answer. */
int policy_is_failure_status(int status);

/* A failure body that blames the request, not the provider (error.type
 * "invalid_request_error", or a message saying it is too long / too large /
 * over the context): the provider is not cooled. Accepts any bytes. */
int policy_request_related(const char *body, size_t len);

/* The error type of a failure status (policy_is_failure_status) and its body. */
enum zen_error_type policy_classify_status(int status, const char *body, size_t len);

/* The error type of a transfer that ended without a response
 * (UPSTREAM_ERR_*): the timeouts are ZERR_TIMEOUT, the rest ZERR_NETWORK. */
enum zen_error_type policy_classify_result(int upstream_result);

/* The wait a response asks for: retry-after-ms (digits), else Retry-After in
 * seconds or as an HTTP date (relative to now_wall_ms, never negative);
 * -1 when absent or unreadable. */
int64_t policy_retry_after_ms(const struct http_header *h, size_t n, int64_t now_wall_ms);

/* Worth retrying on the same provider: a network failure, a 500, 502, 503,
 * 504 or 529, or a 429 whose wait is at most max_wait_ms. Never auth,
 * request-related errors, or a silent provider (timeout). */
int policy_transient(int error_type, int status, int64_t retry_after_ms, int64_t max_wait_ms);

/* A 401 or 403 from a provider with passthrough auth (no token of its own:
 * the credential is the client's): relayed to the client at once, with no
 * cooldown, no failover and no retry. A provider with its own token gets
 * the auth row as usual. */
int policy_client_credential_refused(int status, int passthrough);

/* Does an answer to a HEAD probe (cooldown probe or active health check)
 * show real health? 2xx-4xx other than 429; status 0 (no answer), 429 and
 * 5xx do not. */
int policy_probe_up(int status);

/* The last of n attempts failed on a provider an earlier attempt of the same
 * request already cooled (an error type that cools: not request, not none):
 * a same-provider retry, which must not double the cooldown again. */
int policy_cooled_earlier(const struct policy_attempt *a, size_t n);

/* A cooling provider is skipped, unless it is the last candidate. */
int policy_skip_candidate(int cooling, int is_last);

/* The answer when every attempt failed (n > 0). Sets *own_answer when the
 * client gets the provider's own response unchanged (every attempt went to
 * one provider and the last has an HTTP status) and returns that status;
 * otherwise 504 when every attempt timed out, 429 when every one was rate
 * limited, else 502. */
int policy_exhausted_status(const struct policy_attempt *a, size_t n, int *own_answer);

#endif
