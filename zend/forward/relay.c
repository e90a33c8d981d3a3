#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "forward_headers.h"
#include "upstream.h"

void relay_zen_headers(const char *provider, const char *scenario, size_t n_attempts, char *buf,
                       size_t len, struct http_header out[RELAY_ZEN_HEADERS])
{
    snprintf(buf, len, "%zu", n_attempts);
    out[0] = (struct http_header){"x-zen-provider", (char *)provider};
    out[1] = (struct http_header){"x-zen-attempts", buf};
    out[2] = (struct http_header){"x-zen-scenario", (char *)scenario};
}

int relay_is_stream(const struct http_header *h, size_t n)
{
    const char *ctype = fwdh_find(h, n, "content-type");
    return ctype && strncasecmp(ctype, "text/event-stream", 17) == 0;
}

int64_t relay_content_length(const struct http_header *h, size_t n, const char *method,
                             int status, int is_stream)
{
    if (strcmp(method, "HEAD") == 0 || status == 204 || status == 304)
        return 0;
    const char *clen = fwdh_find(h, n, "content-length");
    if (clen && !is_stream && !fwdh_find(h, n, "transfer-encoding"))
        return strtoll(clen, NULL, 10);
    return -1;
}

void relay_begin(struct http_conn *c, int status, const struct http_header *h, size_t n,
                 int64_t content_length, const char *provider, const char *scenario,
                 size_t n_attempts)
{
    struct http_header out[RELAY_MAX_HEADERS + RELAY_ZEN_HEADERS];
    size_t k = fwdh_relay_response(h, n, out, RELAY_MAX_HEADERS);
    char attempts[16];
    relay_zen_headers(provider, scenario, n_attempts, attempts, sizeof(attempts), &out[k]);
    http_response_begin(c, status, out, k + RELAY_ZEN_HEADERS, content_length);
}

int relay_write(struct http_conn *c, struct sse_detector *sse, const char *data, size_t len)
{
    if (sse)
        sse_detector_feed(sse, data, len);
    switch (http_response_write(c, data, len)) {
    case HTTP_WRITE_FULL: return UPSTREAM_PAUSE;
    case HTTP_WRITE_DEAD: return UPSTREAM_ABORT;
    default: return UPSTREAM_CONTINUE;
    }
}
