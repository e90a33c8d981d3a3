#include "request_log.h"

#include "error_type.h"
#include "log.h"

int request_log_level(const struct request_outcome *o)
{
    if (o->error_type == ZERR_STREAM_INTERRUPTED)
        return ZLOG_WARN;
    if (o->success)
        return o->access_log || o->slow ? ZLOG_INFO : ZLOG_DEBUG;
    if (o->error_type == ZERR_CLIENT_CLOSED)
        return ZLOG_INFO;
    if (o->status >= 500)
        /* A provider failed zend, or zend is at a limit it was told to
         * keep -- unless zend answered the 5xx on its own. */
        return o->failed_attempts > 0 || o->error_type == ZERR_CONCURRENCY || o->status == 503
                   ? ZLOG_WARN
                   : ZLOG_ERROR;
    return o->status < 100 ? ZLOG_WARN : ZLOG_INFO; /* nothing sent, unexplained */
}
