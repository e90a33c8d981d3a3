/* attempt.h -- the attempt loop (docs/operations.md, "Failover"): provider selection,
 * the rewritten request, the upstream transfer, failover and same-provider
 * retries by the forwarding policy (policy.h), and the relay of the answer
 * that ends it. Every way out goes through proxy_request_end. */
#ifndef ZEND_ATTEMPT_H
#define ZEND_ATTEMPT_H

#include "proxy_request.h"

/* What the translation of an answer tells the attempt loop (xlate.h);
 * proxy.c hands it to each request's xlate. */
extern const struct xlate_hooks attempt_xlate_hooks;

/* pr holds a slot of the limiter: runs its first attempt. */
void attempt_begin(struct proxy_request *pr);

#endif
