/* request_log.h -- the level of a request's `request_completed` record
 * (docs/operations.md, "Log events"): whose problem it was decides it.
 *
 *   success               debug; info with daemon.access_log or when slower
 *                         than slow_request_ms
 *   a client error        info: a 4xx relayed from the provider or from
 *                         zend's own checks (a 400, an unknown profile's
 *                         404), or a client that went away
 *   a failure zend met    warn: a 5xx after failed attempts, zend's own 503s
 *                         (concurrency, draining, every provider disabled),
 *                         a stream interrupted after it was relayed
 *   zend's own fault      error: any other 5xx zend answered itself (out of
 *                         memory translating a request)
 *
 * Pure, so a unit test covers the whole table. */
#ifndef ZEND_REQUEST_LOG_H
#define ZEND_REQUEST_LOG_H

#include <stddef.h>

struct request_outcome {
    int status;             /* the final status; 0 when none was sent */
    int success;            /* a 1xx-3xx answer relayed whole */
    int error_type;         /* request-level enum zen_error_type (metrics.h) */
    size_t failed_attempts; /* attempts whose error_type is not ZERR_NONE */
    int access_log;         /* daemon.access_log */
    int slow;               /* took longer than daemon.slow_request_ms */
};

/* The record's level: ZLOG_DEBUG .. ZLOG_ERROR. */
int request_log_level(const struct request_outcome *o);

#endif
