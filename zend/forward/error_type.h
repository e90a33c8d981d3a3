/* error_type.h -- why an attempt or a request failed (docs/operations.md, "Failover").
 *
 * A types header of its own so that the policy, provider state and answer
 * modules can name an outcome without pulling in the metrics module. */
#ifndef ZEND_ERROR_TYPE_H
#define ZEND_ERROR_TYPE_H

/* The first six and stream are attempt outcomes (stream: a provider broke
 * an answer after its commit point; last so that the older values keep
 * their numbers); concurrency (refused by a limit before any provider),
 * stream_interrupted and client_closed belong to the request as a whole. */
enum zen_error_type {
    ZERR_NONE = 0,
    ZERR_AUTH,
    ZERR_RATE_LIMIT,
    ZERR_REQUEST,
    ZERR_SERVER,
    ZERR_NETWORK,
    ZERR_TIMEOUT,
    ZERR_CONCURRENCY,
    ZERR_STREAM_INTERRUPTED,
    ZERR_CLIENT_CLOSED,
    ZERR_STREAM,
    ZERR__COUNT
};

/* "auth", "rate_limit", "request", "server", "network", "timeout",
 * "concurrency", "stream_interrupted", "client_closed", "stream"; "none" for ZERR_NONE
 * and "unknown" for a value outside the enum. Never NULL. */
const char *zen_error_type_name(int type);

#endif
