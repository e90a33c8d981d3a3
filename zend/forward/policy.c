#include "policy.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "forward_headers.h"
#include "upstream.h"

int policy_is_failure_status(int status)
{
    return status == 401 || status == 402 || status == 403 || status == 429 || status >= 500;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    return 0;
}

int policy_request_related(const char *body, size_t len)
{
    json_t *doc = json_loadb(body ? body : "", body ? len : 0, 0, NULL);
    json_t *err = json_object_get(doc, "error");
    const char *type = json_string_value(json_object_get(err, "type"));
    const char *msg = json_string_value(json_object_get(err, "message"));
    if (!msg)
        msg = json_string_value(err);
    static const char *const phrases[] = {"too long", "too large", "exceeds maximum",
                                          "context length", "maximum context"};
    int related = type && strcmp(type, "invalid_request_error") == 0;
    for (size_t i = 0; !related && msg && i < ZEN_ARRAY_LEN(phrases); i++)
        related = contains_ci(msg, phrases[i]);
    json_decref(doc);
    return related;
}

enum zen_error_type policy_classify_status(int status, const char *body, size_t len)
{
    if (status == 401 || status == 402 || status == 403)
        return ZERR_AUTH;
    if (status == 429)
        return ZERR_RATE_LIMIT;
    return policy_request_related(body, len) ? ZERR_REQUEST : ZERR_SERVER;
}

enum zen_error_type policy_classify_result(int upstream_result)
{
    switch (upstream_result) {
    case UPSTREAM_ERR_CONNECT_TIMEOUT:
    case UPSTREAM_ERR_FIRST_BYTE_TIMEOUT:
    case UPSTREAM_ERR_TOTAL_TIMEOUT:
    case UPSTREAM_ERR_IDLE_TIMEOUT:
        return ZERR_TIMEOUT;
    default:
        return ZERR_NETWORK;
    }
}

int64_t policy_retry_after_ms(const struct http_header *h, size_t n, int64_t now_wall_ms)
{
    const char *ms = fwdh_find(h, n, "retry-after-ms");
    if (ms && isdigit((unsigned char)*ms))
        return strtoll(ms, NULL, 10);
    const char *ra = fwdh_find(h, n, "retry-after");
    if (!ra)
        return -1;
    if (isdigit((unsigned char)*ra)) {
        double secs = strtod(ra, NULL);
        return (int64_t)(secs * 1000.0);
    }
    time_t when = curl_getdate(ra, NULL);
    if (when < 0)
        return -1;
    int64_t delta = ((int64_t)when * 1000) - now_wall_ms;
    return delta > 0 ? delta : 0;
}

int policy_transient(int error_type, int status, int64_t retry_after_ms, int64_t max_wait_ms)
{
    if (error_type == ZERR_NETWORK)
        return 1;
    if (error_type == ZERR_SERVER)
        return status == 500 || status == 502 || status == 503 || status == 504 ||
               status == 529;
    if (error_type == ZERR_RATE_LIMIT)
        return retry_after_ms <= max_wait_ms;
    return 0; /* never auth, request errors, or a silent provider (timeout) */
}

int policy_client_credential_refused(int status, int passthrough)
{
    return passthrough && (status == 401 || status == 403);
}

int policy_probe_up(int status) { return status >= 200 && status < 500 && status != 429; }

int policy_cooled_earlier(const struct policy_attempt *a, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++)
        if (a[i].provider == a[n - 1].provider && a[i].error_type != ZERR_NONE &&
            a[i].error_type != ZERR_REQUEST)
            return 1;
    return 0;
}

int policy_skip_candidate(int cooling, int is_last) { return cooling && !is_last; }

static int all_one_provider(const struct policy_attempt *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i].provider != a[0].provider)
            return 0;
    return n > 0;
}

static int all_of_type(const struct policy_attempt *a, size_t n, int type)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].error_type != type)
            return 0;
    return n > 0;
}

int policy_exhausted_status(const struct policy_attempt *a, size_t n, int *own_answer)
{
    *own_answer = 0;
    if (n > 0 && all_one_provider(a, n) && a[n - 1].status > 0) {
        /* Stay transparent: the client sees the provider's own answer. */
        *own_answer = 1;
        return a[n - 1].status;
    }
    if (all_of_type(a, n, ZERR_TIMEOUT))
        return 504;
    if (all_of_type(a, n, ZERR_RATE_LIMIT))
        return 429;
    return 502;
}
