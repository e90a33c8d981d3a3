#include "error_type.h"

/* These names are on the wire (metrics, error bodies, logs): never rename. */
static const char *const error_type_names[ZERR__COUNT] = {
    [ZERR_NONE] = "none",
    [ZERR_AUTH] = "auth",
    [ZERR_RATE_LIMIT] = "rate_limit",
    [ZERR_REQUEST] = "request",
    [ZERR_SERVER] = "server",
    [ZERR_NETWORK] = "network",
    [ZERR_TIMEOUT] = "timeout",
    [ZERR_CONCURRENCY] = "concurrency",
    [ZERR_STREAM_INTERRUPTED] = "stream_interrupted",
    [ZERR_CLIENT_CLOSED] = "client_closed",
    [ZERR_STREAM] = "stream",
};

const char *zen_error_type_name(int type)
{
    if (type < 0 || type >= ZERR__COUNT)
        return "unknown";
    return error_type_names[type];
}
