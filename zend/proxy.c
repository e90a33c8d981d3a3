#include "proxy.h"

#include <ctype.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "guard.h"
#include "http_server.h"
#include "log.h"
#include "provider_state.h"
#include "rewrite.h"
#include "route.h"
#include "secret.h"
#include "sse.h"
#include "timeutil.h"
#include "upstream.h"

/* The config refuses longer profiles, so every listed provider gets a turn. */
#define PROXY_MAX_ATTEMPTS ZCFG_MAX_PROFILE_PROVIDERS
/* A failed response not relayed is kept (bounded) for the error report. */
#define PROXY_ERROR_BODY_MAX (64u * 1024)
#define PROXY_DETAIL_MAX 512
#define PROXY_MODEL_NAME_MAX 128
/* Same-provider retry without a Retry-After waits 250-500 ms of jitter. */
#define PROXY_RETRY_JITTER_MIN_MS 250
#define PROXY_RETRY_JITTER_SPAN_MS 250
#define PROXY_MAX_RESPONSE_HEADERS 256
/* Distinct sessions remembered for health's active_sessions. */
#define PROXY_SESSION_SLOTS 4096
#define PROXY_SESSION_WINDOW_MS (2LL * 3600 * 1000)

enum phase { PHASE_ATTEMPT, PHASE_RELAY };

struct attempt {
    const struct zcfg_provider *provider;
    int status;       /* 0: no HTTP response */
    int error_type;   /* ZERR_NONE for the attempt that was relayed */
    double duration_ms;
    char detail[PROXY_DETAIL_MAX];
};

struct proxy {
    struct ev_loop *loop;
    struct zcfg *cfg;
    struct metrics *metrics;
    struct http_server *http;
    struct upstream *upstream;
    struct provider_states *states;
    struct proxy_request *requests; /* in flight (holding a slot or queued) */
    size_t in_flight;
    /* the global limiter (operations.md §8): it lives here, not in the
     * config, so a reload never resets it */
    size_t slots_used;
    struct proxy_request *queue_head, *queue_tail;
    size_t queued;
    ev_timer admit_timer;           /* admits waiting requests from the loop */
    /* draining (operations.md §6) */
    int draining;
    unsigned drained, aborted;
    ev_timer drain_timer;
    ev_timer drained_timer;         /* reports "nothing left" from the loop */
    proxy_drained_fn on_drained;
    void *drained_ctx;
    /* sessions seen recently, for health's active_sessions */
    struct { uint64_t key; int64_t seen_ms; } sessions[PROXY_SESSION_SLOTS];
};

struct proxy_request {
    struct proxy *px;
    struct proxy_request *prev, *next;
    struct http_conn *conn;
    struct http_request *req;       /* valid until the response ends */
    struct zcfg *cfg;               /* the config this request started with */
    struct route route;
    const char *key_header;         /* carried a zend access key: never forwarded */
    size_t candidates[PROXY_MAX_ATTEMPTS];
    size_t n_candidates, next_candidate;
    int64_t retries_left;
    struct attempt attempts[PROXY_MAX_ATTEMPTS];
    size_t n_attempts;
    /* the attempt in progress */
    const struct zcfg_provider *provider;
    struct provider_state *pstate;
    struct upstream_transfer *transfer;
    struct curl_slist *up_headers;
    char *url;
    char *body;                     /* model-rewritten body, or NULL */
    size_t body_len;
    double attempt_start_s;
    enum phase phase;
    int status;
    struct http_header *resp_headers; /* the upstream head, copied */
    size_t n_resp_headers;
    zbuf err_body;
    int64_t retry_after_ms;
    int is_stream;
    struct sse_detector sse;
    double ttfb_ms;
    uint64_t bytes_out;             /* body bytes sent to the client */
    ev_timer retry_timer;
    int has_slot;
    int is_queued;
    struct proxy_request *qnext, *qprev;
    ev_timer queue_timer;
    int in_drain;                   /* was in flight when draining began */
    int aborted_by_drain;
};

/* What the client is told when a request ends. finish_request hands it to
 * the HTTP server after the record and before the request is freed, so a
 * reply may point into the request and its config. */
enum reply_kind {
    REPLY_NONE,     /* the client is gone: nothing to send */
    REPLY_WHOLE,    /* a complete response: status, headers, body */
    REPLY_ERROR,    /* a complete JSON error response: status, type, message */
    REPLY_END,      /* the relayed response is complete: end it */
    REPLY_ABORT,    /* the relayed response broke: close without ending it */
};

struct reply {
    enum reply_kind kind;
    int status;
    const struct http_header *headers;
    size_t n_headers;
    const char *body;
    size_t body_len;
    const char *type, *message;
};

static void start_attempt(struct proxy_request *pr);
static void dequeue(struct proxy_request *pr);
static void schedule_admission(struct proxy *px);
static void drain_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void drained_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* ---- small helpers ---- */

static int is_hop_by_hop(const char *name)
{
    static const char *const hop[] = {"connection", "keep-alive", "te", "trailer",
                                      "transfer-encoding", "upgrade"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(hop); i++)
        if (strcasecmp(name, hop[i]) == 0)
            return 1;
    return strncasecmp(name, "proxy-", 6) == 0;
}

/* Is `name` listed in a Connection header ("Connection: close, x-foo")? */
static int nominated_by_connection(const char *connection, const char *name)
{
    if (!connection)
        return 0;
    size_t n = strlen(name);
    for (const char *p = connection; *p;) {
        while (*p == ' ' || *p == ',' || *p == '\t')
            p++;
        const char *end = p;
        while (*end && *end != ',')
            end++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t'))
            last--;
        if ((size_t)(last - p) == n && strncasecmp(p, name, n) == 0)
            return 1;
        p = end;
    }
    return 0;
}

static const char *find_header(const struct http_header *h, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(h[i].name, name) == 0)
            return h[i].value;
    return NULL;
}

static double elapsed_ms(double since_s) { return (ztime_mono_s() - since_s) * 1000.0; }

static double round_ms(double ms) { return (double)(int64_t)(ms * 1000.0 + 0.5) / 1000.0; }

static struct curl_slist *add_header(struct curl_slist *list, const char *name,
                                     const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return list;
    /* curl drops "Name:" (it means "remove"); "Name;" sends an empty value. */
    if (*value)
        snprintf(line, n, "%s: %s", name, value);
    else
        snprintf(line, n, "%s;", name);
    struct curl_slist *l = curl_slist_append(list, line);
    free(line);
    return l ? l : list;
}

/* ---- request rewriting (proxy.md §4) ---- */

static int forwarded_request_header(const struct proxy_request *pr, const char *name,
                                    const char *value, const char *connection)
{
    if (is_hop_by_hop(name) || nominated_by_connection(connection, name))
        return 0;
    static const char *const dropped[] = {"host", "expect", "content-length",
                                          "accept-encoding"};
    for (size_t i = 0; i < ZEN_ARRAY_LEN(dropped); i++)
        if (strcasecmp(name, dropped[i]) == 0)
            return 0;
    if (strncasecmp(name, "x-zen-", 6) == 0)
        return 0;
    int is_auth = strcasecmp(name, "x-api-key") == 0 || strcasecmp(name, "authorization") == 0;
    if (is_auth && pr->provider->auth_token)
        return 0; /* replaced by the provider's token */
    if (is_auth && pr->key_header && strcasecmp(name, pr->key_header) == 0)
        return 0; /* a zend access key never leaves zend */
    if (is_auth && guard_is_access_key(pr->cfg, name, value))
        return 0; /* ... nor does a second copy of it in the other header */
    return 1;
}

static struct curl_slist *build_upstream_headers(const struct proxy_request *pr)
{
    const struct http_request *req = pr->req;
    const struct zcfg_provider *p = pr->provider;
    const char *connection = http_request_header(req, "connection");
    struct curl_slist *list = NULL;
    for (size_t i = 0; i < req->n_headers; i++)
        if (forwarded_request_header(pr, req->headers[i].name, req->headers[i].value,
                                     connection))
            list = add_header(list, req->headers[i].name, req->headers[i].value);
    if (p->auth_token) {
        if (p->auth_header != ZCFG_AUTH_BEARER)
            list = add_header(list, "x-api-key", p->auth_token);
        if (p->auth_header != ZCFG_AUTH_X_API_KEY) {
            size_t n = strlen(p->auth_token) + 8;
            char *bearer = malloc(n);
            if (bearer) {
                snprintf(bearer, n, "Bearer %s", p->auth_token);
                list = add_header(list, "Authorization", bearer);
                zsec_free(bearer);
            }
        }
    }
    /* identity: zend must see stream events to know when a stream is whole. */
    list = add_header(list, "Accept-Encoding", "identity");
    for (size_t i = 0; i < p->n_env_headers; i++)
        list = add_header(list, p->env_headers[i].name, p->env_headers[i].value);
    /* Keep curl from adding headers the client did not send. */
    list = curl_slist_append(list, "Expect:");
    if (!http_request_header(req, "accept"))
        list = curl_slist_append(list, "Accept:");
    if (!http_request_header(req, "content-type"))
        list = curl_slist_append(list, "Content-Type:");
    return list;
}

/* ---- outcome classification (proxy.md §5) ---- */

static int is_failure_status(int status)
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

/* A 5xx that is really about the request (too long, invalid) must not cool
 * the provider down: another provider may still take it. */
static int is_request_related(const zbuf *body)
{
    json_t *doc = json_loadb((const char *)zbuf_head(body), zbuf_len(body), 0, NULL);
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

static int classify_status(int status, const zbuf *body)
{
    if (status == 401 || status == 402 || status == 403)
        return ZERR_AUTH;
    if (status == 429)
        return ZERR_RATE_LIMIT;
    return is_request_related(body) ? ZERR_REQUEST : ZERR_SERVER;
}

static int classify_result(int result)
{
    switch (result) {
    case UPSTREAM_ERR_CONNECT_TIMEOUT:
    case UPSTREAM_ERR_FIRST_BYTE_TIMEOUT:
    case UPSTREAM_ERR_TOTAL_TIMEOUT:
    case UPSTREAM_ERR_IDLE_TIMEOUT:
        return ZERR_TIMEOUT;
    default:
        return ZERR_NETWORK;
    }
}

/* Retry-After (seconds or HTTP date) or retry-after-ms; -1 when absent. */
static int64_t parse_retry_after(const struct http_header *h, size_t n)
{
    const char *ms = find_header(h, n, "retry-after-ms");
    if (ms && isdigit((unsigned char)*ms))
        return strtoll(ms, NULL, 10);
    const char *ra = find_header(h, n, "retry-after");
    if (!ra)
        return -1;
    if (isdigit((unsigned char)*ra)) {
        double secs = strtod(ra, NULL);
        return (int64_t)(secs * 1000.0);
    }
    time_t when = curl_getdate(ra, NULL);
    if (when < 0)
        return -1;
    int64_t delta = ((int64_t)when * 1000) - ztime_wall_ms();
    return delta > 0 ? delta : 0;
}

/* ---- the record (proxy.md §8) ---- */

static void free_resp_headers(struct proxy_request *pr)
{
    for (size_t i = 0; i < pr->n_resp_headers; i++) {
        free(pr->resp_headers[i].name);
        free(pr->resp_headers[i].value);
    }
    free(pr->resp_headers);
    pr->resp_headers = NULL;
    pr->n_resp_headers = 0;
}

static void release_attempt(struct proxy_request *pr)
{
    pstate_unref(pr->pstate);
    pr->pstate = NULL;
    curl_slist_free_all(pr->up_headers);
    pr->up_headers = NULL;
    free(pr->url);
    pr->url = NULL;
    free(pr->body);
    pr->body = NULL;
}

static json_t *attempts_json(const struct proxy_request *pr)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < pr->n_attempts; i++) {
        const struct attempt *a = &pr->attempts[i];
        json_array_append_new(
            arr, json_pack("{s:s, s:i, s:s, s:f, s:s}", "provider", a->provider->name,
                           "status", a->status, "error_type",
                           a->error_type ? zen_error_type_name(a->error_type) : "none",
                           "duration_ms", round_ms(a->duration_ms), "detail", a->detail));
    }
    return arr;
}

static void send_reply(struct http_conn *c, const struct reply *r)
{
    switch (r->kind) {
    case REPLY_NONE:
        break;
    case REPLY_WHOLE:
        http_respond(c, r->status, r->headers, r->n_headers, r->body, r->body_len);
        break;
    case REPLY_ERROR:
        http_respond_error(c, r->status, r->type, r->message);
        break;
    case REPLY_END:
        http_response_end(c);
        break;
    case REPLY_ABORT:
        http_response_abort(c);
        break;
    }
}

/* The one end of every request: writes the record, stops what runs for it,
 * tells the client (reply), then unlinks and frees the request and drops its
 * references. Every way a request ends passes through here exactly once.
 * The record comes first because ending the response frees the
 * http_request it reads; nothing after send_reply reads pr->req. */
static void finish_request(struct proxy_request *pr, int status, int success, int error_type,
                           const char *error, const struct reply *reply)
{
    struct proxy *px = pr->px;
    struct metrics_attempt ma[PROXY_MAX_ATTEMPTS];
    for (size_t i = 0; i < pr->n_attempts; i++) {
        ma[i].provider = pr->attempts[i].provider->name;
        ma[i].status = pr->attempts[i].status;
        ma[i].error_type = pr->attempts[i].error_type;
        ma[i].duration_ms = pr->attempts[i].duration_ms;
    }
    double duration = elapsed_ms(pr->req->start_s);
    const char *served = success && pr->provider ? pr->provider->name : NULL;
    if (!served && pr->phase == PHASE_RELAY && pr->provider)
        served = pr->provider->name;
    struct metrics_record rec = {
        .status = status,
        .success = success,
        .provider = served,
        .duration_ms = duration,
        .ttfb_ms = pr->ttfb_ms,
        .attempts = ma,
        .n_attempts = pr->n_attempts,
        .error_type = error_type,
        .bytes_in = zbuf_len(&pr->req->body),
        .bytes_out = pr->bytes_out,
    };
    metrics_record(px->metrics, &rec);
    if (!success || duration > (double)pr->cfg->daemon.slow_request_ms) {
        zlog_pack(success ? ZLOG_INFO : ZLOG_ERROR, "request_received",
                  "{s:s, s:s, s:s, s:s, s:s, s:i, s:s?, s:i, s:f, s:f, s:s?}", "request_id",
                  pr->req->request_id, "session", pr->route.session_key, "profile",
                  pr->route.profile ? pr->route.profile->name : "", "method", pr->req->method,
                  "path", pr->req->target, "status", status, "provider", served, "attempts",
                  (int)pr->n_attempts, "ttfb_ms", round_ms(pr->ttfb_ms < 0 ? 0 : pr->ttfb_ms),
                  "duration_ms", round_ms(duration), "error", error);
    }
    if (pr->transfer)
        upstream_cancel(pr->transfer);
    pr->transfer = NULL;
    send_reply(pr->conn, reply);
    pr->req = NULL;
    ev_timer_stop(px->loop, &pr->retry_timer);
    ev_timer_stop(px->loop, &pr->queue_timer);
    if (pr->is_queued)
        dequeue(pr);
    if (pr->has_slot) {
        px->slots_used--;
        schedule_admission(px);
    }
    if (pr->in_drain) {
        if (pr->aborted_by_drain)
            px->aborted++;
        else
            px->drained++;
    }
    release_attempt(pr);
    free_resp_headers(pr);
    zbuf_free(&pr->err_body);
    zcfg_unref(pr->cfg);
    if (pr->prev)
        pr->prev->next = pr->next;
    else
        px->requests = pr->next;
    if (pr->next)
        pr->next->prev = pr->prev;
    px->in_flight--;
    metrics_set_in_flight(px->metrics, (int64_t)px->in_flight);
    free(pr);
    if (px->draining && px->in_flight == 0 && !ev_is_active(&px->drained_timer))
        ev_timer_start(px->loop, &px->drained_timer);
}

/* ---- answering ---- */

static void zen_headers(const struct proxy_request *pr, char *attempts, size_t len,
                        struct http_header out[2])
{
    snprintf(attempts, len, "%zu", pr->n_attempts);
    out[0] = (struct http_header){"x-zen-provider", (char *)pr->provider->name};
    out[1] = (struct http_header){"x-zen-attempts", attempts};
}

/* Relays a head: upstream headers minus hop-by-hop and framing, plus ours. */
static void relay_head(struct proxy_request *pr, int status, const struct http_header *h,
                       size_t n, int64_t content_length)
{
    struct http_header out[PROXY_MAX_RESPONSE_HEADERS + 2];
    size_t k = 0;
    const char *connection = find_header(h, n, "connection");
    for (size_t i = 0; i < n && k < PROXY_MAX_RESPONSE_HEADERS; i++) {
        if (is_hop_by_hop(h[i].name) || nominated_by_connection(connection, h[i].name) ||
            strcasecmp(h[i].name, "content-length") == 0 ||
            strncasecmp(h[i].name, "x-zen-", 6) == 0)
            continue;
        out[k++] = h[i];
    }
    char attempts[16];
    zen_headers(pr, attempts, sizeof(attempts), &out[k]);
    http_response_begin(pr->conn, status, out, k + 2, content_length);
    pr->ttfb_ms = elapsed_ms(pr->req->start_s);
}

static int all_attempts_one_provider(const struct proxy_request *pr)
{
    for (size_t i = 1; i < pr->n_attempts; i++)
        if (pr->attempts[i].provider != pr->attempts[0].provider)
            return 0;
    return pr->n_attempts > 0;
}

static int all_attempts_of_type(const struct proxy_request *pr, int type)
{
    for (size_t i = 0; i < pr->n_attempts; i++)
        if (pr->attempts[i].error_type != type)
            return 0;
    return pr->n_attempts > 0;
}

/* Every candidate failed (proxy.md §5, last bullet). */
static void answer_exhausted(struct proxy_request *pr)
{
    const struct attempt *last = &pr->attempts[pr->n_attempts - 1];
    if (all_attempts_one_provider(pr) && last->status > 0) {
        /* Stay transparent: the client sees the provider's own answer. */
        struct http_conn *c = pr->conn;
        relay_head(pr, last->status, pr->resp_headers, pr->n_resp_headers,
                   (int64_t)zbuf_len(&pr->err_body));
        http_response_write(c, zbuf_head(&pr->err_body), zbuf_len(&pr->err_body));
        pr->bytes_out = zbuf_len(&pr->err_body);
        finish_request(pr, last->status, 0, ZERR_NONE, last->detail,
                       &(struct reply){.kind = REPLY_END});
        return;
    }
    int status = 502;
    char retry_after[32] = "";
    if (all_attempts_of_type(pr, ZERR_TIMEOUT)) {
        status = 504;
    } else if (all_attempts_of_type(pr, ZERR_RATE_LIMIT)) {
        status = 429;
        int64_t wait = pr->retry_after_ms > 0 ? pr->retry_after_ms : 1000;
        snprintf(retry_after, sizeof(retry_after), "%lld", (long long)((wait + 999) / 1000));
    }
    zbuf msg;
    zbuf_init(&msg);
    zbuf_append_str(&msg, "all providers failed:");
    for (size_t i = 0; i < pr->n_attempts; i++) {
        const struct attempt *a = &pr->attempts[i];
        char part[160];
        if (a->status)
            snprintf(part, sizeof(part), " [%s] %d (%.0fms)", a->provider->name, a->status,
                     a->duration_ms);
        else
            snprintf(part, sizeof(part), " [%s] %s (%.0fms)", a->provider->name,
                     zen_error_type_name(a->error_type), a->duration_ms);
        zbuf_append_str(&msg, part);
    }
    zbuf_append(&msg, "", 1);
    json_t *doc = json_pack("{s:s, s:{s:s, s:s}, s:o}", "type", "error", "error", "type",
                            "all_providers_failed", "message", (const char *)zbuf_head(&msg),
                            "attempts", attempts_json(pr));
    char *body = json_dumps(doc, JSON_COMPACT | JSON_REAL_PRECISION(10));
    json_decref(doc);
    struct http_header h[4] = {{"Content-Type", "application/json"}};
    size_t nh = 1;
    if (retry_after[0])
        h[nh++] = (struct http_header){"retry-after", retry_after};
    char attempts[16];
    zen_headers(pr, attempts, sizeof(attempts), &h[nh]);
    nh += 2;
    const char *text = body ? body : "{}";
    pr->bytes_out = strlen(text);
    /* h names the provider from pr's config: it is sent before that goes. */
    finish_request(pr, status, 0, ZERR_NONE, (const char *)zbuf_head(&msg),
                   &(struct reply){.kind = REPLY_WHOLE, .status = status, .headers = h,
                                   .n_headers = nh, .body = text, .body_len = strlen(text)});
    free(body);
    zbuf_free(&msg);
}

/* ---- the attempt loop ---- */

static void record_attempt(struct proxy_request *pr, int status, int error_type,
                           const char *detail)
{
    if (pr->n_attempts >= PROXY_MAX_ATTEMPTS)
        return;
    struct attempt *a = &pr->attempts[pr->n_attempts++];
    a->provider = pr->provider;
    a->status = status;
    a->error_type = error_type;
    a->duration_ms = elapsed_ms(pr->attempt_start_s);
    snprintf(a->detail, sizeof(a->detail), "%s", detail ? detail : "");
}

static void retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    start_attempt(w->data);
}

static int transient(const struct attempt *a, int64_t retry_after_ms, int64_t max_wait_ms)
{
    if (a->error_type == ZERR_NETWORK)
        return 1;
    if (a->error_type == ZERR_SERVER)
        return a->status == 500 || a->status == 502 || a->status == 503 ||
               a->status == 504 || a->status == 529;
    if (a->error_type == ZERR_RATE_LIMIT)
        return retry_after_ms <= max_wait_ms;
    return 0; /* never auth, request errors, or a silent provider (timeout) */
}

/* Picks the next provider index, skipping cooling ones unless last. */
static int next_candidate(struct proxy_request *pr, size_t *idx)
{
    int64_t now = ztime_mono_ms();
    while (pr->next_candidate < pr->n_candidates) {
        size_t i = pr->candidates[pr->next_candidate++];
        int last = pr->next_candidate == pr->n_candidates;
        struct provider_state *s = pstates_lookup(pr->px->states, &pr->cfg->providers[i]);
        if (!last && s && pstate_cooling(s, now))
            continue;
        *idx = i;
        return 1;
    }
    return 0;
}

/* After a failed attempt: the next provider, a same-provider retry, or the
 * final answer. */
static void after_failure(struct proxy_request *pr)
{
    size_t idx;
    if (pr->n_attempts < PROXY_MAX_ATTEMPTS && next_candidate(pr, &idx)) {
        pr->provider = &pr->cfg->providers[idx];
        start_attempt(pr);
        return;
    }
    const struct attempt *last = &pr->attempts[pr->n_attempts - 1];
    const struct zcfg_daemon *d = &pr->cfg->daemon;
    int64_t wait = pr->retry_after_ms;
    if (pr->retries_left > 0 && pr->n_attempts < PROXY_MAX_ATTEMPTS &&
        transient(last, wait, d->max_retry_wait_ms)) {
        pr->retries_left--;
        if (wait < 0)
            wait = PROXY_RETRY_JITTER_MIN_MS + (int64_t)randombytes_uniform(PROXY_RETRY_JITTER_SPAN_MS);
        ev_timer_init(&pr->retry_timer, retry_cb, (double)wait / 1000.0, 0.);
        pr->retry_timer.data = pr;
        ev_timer_start(pr->px->loop, &pr->retry_timer);
        return;
    }
    answer_exhausted(pr);
}

static void fail_attempt(struct proxy_request *pr, int status, int error_type,
                         const char *detail)
{
    record_attempt(pr, status, error_type, detail);
    const struct attempt *a = &pr->attempts[pr->n_attempts - 1];
    zlog_pack(ZLOG_WARN, "provider_failed", "{s:s, s:s, s:s, s:s, s:i, s:f, s:s}",
              "request_id", pr->req->request_id, "session", pr->route.session_key, "provider",
              pr->provider->name, "error_type", zen_error_type_name(error_type), "status",
              status, "duration_ms", round_ms(a->duration_ms), "detail", a->detail);
    if (pr->pstate)
        pstate_failure(pr->pstate, error_type, status, a->detail,
                       error_type == ZERR_RATE_LIMIT ? pr->retry_after_ms : -1);
    release_attempt(pr);
    after_failure(pr);
}

static void on_up_head(void *ud, int status, const struct http_header *h, size_t n)
{
    struct proxy_request *pr = ud;
    pr->status = status;
    free_resp_headers(pr);
    zbuf_clear(&pr->err_body);
    if (is_failure_status(status)) {
        /* Keep the head: with a single provider it is relayed as it is. */
        pr->resp_headers = calloc(n ? n : 1, sizeof(*pr->resp_headers));
        for (size_t i = 0; pr->resp_headers && i < n; i++) {
            pr->resp_headers[i].name = strdup(h[i].name);
            pr->resp_headers[i].value = strdup(h[i].value);
            pr->n_resp_headers++;
        }
        pr->retry_after_ms = status == 429 ? parse_retry_after(h, n) : -1;
        return;
    }
    if (pr->pstate)
        pstate_success(pr->pstate, "success");
    record_attempt(pr, status, ZERR_NONE, "");
    const char *ctype = find_header(h, n, "content-type");
    pr->is_stream = ctype && strncasecmp(ctype, "text/event-stream", 17) == 0;
    sse_detector_init(&pr->sse);
    const char *clen = find_header(h, n, "content-length");
    int64_t length = -1;
    if (clen && !pr->is_stream && !find_header(h, n, "transfer-encoding"))
        length = strtoll(clen, NULL, 10);
    if (strcmp(pr->req->method, "HEAD") == 0 || status == 204 || status == 304)
        length = 0;
    pr->phase = PHASE_RELAY;
    relay_head(pr, status, h, n, length);
}

static int on_up_body(void *ud, const char *data, size_t len)
{
    struct proxy_request *pr = ud;
    if (pr->phase == PHASE_ATTEMPT) {
        size_t room = PROXY_ERROR_BODY_MAX - zbuf_len(&pr->err_body);
        zbuf_append(&pr->err_body, data, len < room ? len : room);
        return UPSTREAM_CONTINUE;
    }
    if (pr->is_stream)
        sse_detector_feed(&pr->sse, data, len);
    pr->bytes_out += len;
    switch (http_response_write(pr->conn, data, len)) {
    case HTTP_WRITE_FULL: return UPSTREAM_PAUSE;
    case HTTP_WRITE_DEAD: return UPSTREAM_ABORT;
    default: return UPSTREAM_CONTINUE;
    }
}

/* The in-band error event of proxy.md §6: a client reading the stream can
 * never take a cut-off answer for a complete one. */
static void interrupt_stream(struct proxy_request *pr, const char *why)
{
    if (pr->is_stream) {
        json_t *ev = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
                               "api_error", "message", "");
        char msg[PROXY_DETAIL_MAX];
        snprintf(msg, sizeof(msg), "upstream stream interrupted: %.400s", why);
        json_object_set_new(json_object_get(ev, "error"), "message", json_string(msg));
        char *data = json_dumps(ev, JSON_COMPACT);
        json_decref(ev);
        if (data) {
            zbuf out;
            zbuf_init(&out);
            zbuf_append_str(&out, "event: error\ndata: ");
            zbuf_append_str(&out, data);
            zbuf_append_str(&out, "\n\n");
            http_response_write(pr->conn, zbuf_head(&out), zbuf_len(&out));
            zbuf_free(&out);
            free(data);
        }
    }
}

static void on_up_done(void *ud, int result, const char *detail)
{
    struct proxy_request *pr = ud;
    pr->transfer = NULL;
    if (pr->phase == PHASE_RELAY) {
        pr->attempts[pr->n_attempts - 1].duration_ms = elapsed_ms(pr->attempt_start_s);
        int whole = result == UPSTREAM_OK && (!pr->is_stream || sse_detector_complete(&pr->sse));
        if (whole) {
            finish_request(pr, pr->status, pr->status < 400, ZERR_NONE, NULL,
                           &(struct reply){.kind = REPLY_END});
            return;
        }
        if (result == UPSTREAM_ERR_ABORTED) {
            /* Our write failed: the client is gone; on_abort follows. */
            return;
        }
        char why[300];
        if (result == UPSTREAM_OK)
            snprintf(why, sizeof(why), "stream ended before its end marker");
        else
            snprintf(why, sizeof(why), "%s%s%s", upstream_result_name(result),
                     detail && *detail ? ": " : "", detail ? detail : "");
        zlog_pack(ZLOG_WARN, "stream_interrupted", "{s:s, s:s, s:s, s:I}", "request_id",
                  pr->req->request_id, "provider", pr->provider->name, "detail", why,
                  "bytes_out", (json_int_t)http_response_bytes(pr->conn));
        interrupt_stream(pr, why);
        /* No terminating chunk: the client must not take it as complete. */
        finish_request(pr, pr->status, 0, ZERR_STREAM_INTERRUPTED, why,
                       &(struct reply){.kind = REPLY_ABORT});
        return;
    }
    if (pr->status > 0) {
        int type = classify_status(pr->status, &pr->err_body);
        char detail_body[PROXY_DETAIL_MAX];
        size_t n = zbuf_len(&pr->err_body) < sizeof(detail_body) - 1 ? zbuf_len(&pr->err_body)
                                                                     : sizeof(detail_body) - 1;
        memcpy(detail_body, zbuf_head(&pr->err_body), n);
        detail_body[n] = '\0';
        fail_attempt(pr, pr->status, type, detail_body);
        return;
    }
    fail_attempt(pr, 0, classify_result(result), detail && *detail ? detail
                                                                   : upstream_result_name(result));
}

static void start_attempt(struct proxy_request *pr)
{
    static const struct upstream_callbacks cb = {on_up_head, on_up_body, on_up_done};
    const struct zcfg_provider *p = pr->provider;
    const struct zcfg_daemon *d = &pr->cfg->daemon;
    pr->phase = PHASE_ATTEMPT;
    pr->status = 0;
    pr->retry_after_ms = -1;
    pr->attempt_start_s = ztime_mono_s();
    pr->pstate = pstate_ref(pstates_lookup(pr->px->states, p));
    size_t url_len = strlen(p->base_url) + strlen(pr->route.upstream_path) + 2;
    pr->url = malloc(url_len);
    if (!pr->url || route_upstream_url(p->base_url, pr->route.upstream_path, pr->url,
                                       url_len) != ZEN_OK) {
        fail_attempt(pr, 0, ZERR_NETWORK, "upstream URL too long");
        return;
    }
    char from[PROXY_MODEL_NAME_MAX], to[PROXY_MODEL_NAME_MAX];
    pr->body = rewrite_model_body(p, (const char *)zbuf_head(&pr->req->body),
                                  zbuf_len(&pr->req->body), &pr->body_len, from, sizeof(from),
                                  to, sizeof(to));
    if (pr->body)
        zlog_pack(ZLOG_DEBUG, "model_mapped", "{s:s, s:s, s:s, s:s}", "request_id",
                  pr->req->request_id, "provider", p->name, "from", from, "to", to);
    pr->up_headers = build_upstream_headers(pr);
    struct upstream_request ureq = {
        .method = pr->req->method,
        .url = pr->url,
        .headers = pr->up_headers,
        .body = pr->body ? pr->body : (const char *)zbuf_head(&pr->req->body),
        .body_len = pr->body ? pr->body_len : zbuf_len(&pr->req->body),
        .proxy_url = p->proxy_url,
        .ca_file = p->ca_file,
        .connect_timeout_ms = (long)d->connect_timeout_ms,
        .first_byte_timeout_ms = (long)d->first_byte_timeout_ms,
        .idle_timeout_ms = (long)d->idle_timeout_ms,
        .total_timeout_ms = (long)d->total_timeout_ms,
    };
    char err[256];
    pr->transfer = upstream_start(pr->px->upstream, &ureq, &cb, pr, err, sizeof(err));
    if (!pr->transfer)
        fail_attempt(pr, 0, ZERR_NETWORK, err);
}

/* ---- the limiter (operations.md §8) ---- */

static void begin_attempts(struct proxy_request *pr)
{
    pr->retries_left = pr->cfg->daemon.retry_same_provider;
    size_t idx = 0;
    next_candidate(pr, &idx); /* the last candidate is never skipped: always found */
    pr->provider = &pr->cfg->providers[idx];
    start_attempt(pr);
}

static void dequeue(struct proxy_request *pr)
{
    struct proxy *px = pr->px;
    if (pr->qprev)
        pr->qprev->qnext = pr->qnext;
    else
        px->queue_head = pr->qnext;
    if (pr->qnext)
        pr->qnext->qprev = pr->qprev;
    else
        px->queue_tail = pr->qprev;
    pr->qnext = pr->qprev = NULL;
    pr->is_queued = 0;
    px->queued--;
    metrics_set_queued(px->metrics, (int64_t)px->queued);
}

static int slot_free(const struct proxy *px)
{
    return px->slots_used < (size_t)px->cfg->daemon.max_concurrent;
}

/* Gives freed slots to waiting requests, oldest first. Runs from a timer so
 * a request ending deep inside another's callbacks never starts the next. */
static void admit_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *px = w->data;
    while (px->queue_head && slot_free(px) && !px->draining) {
        struct proxy_request *pr = px->queue_head;
        dequeue(pr);
        ev_timer_stop(loop, &pr->queue_timer);
        pr->has_slot = 1;
        px->slots_used++;
        begin_attempts(pr);
    }
}

static void schedule_admission(struct proxy *px)
{
    if (px->queue_head && !ev_is_active(&px->admit_timer))
        ev_timer_start(px->loop, &px->admit_timer);
}

static void respond_overloaded(struct proxy_request *pr, const char *msg)
{
    const struct http_header h[] = {{"Content-Type", "application/json"},
                                    {"retry-after", "1"}};
    json_t *doc = json_pack("{s:s, s:{s:s, s:s}}", "type", "error", "error", "type",
                            "overloaded_error", "message", msg);
    char *body = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    const char *text = body ? body : "{}";
    pr->bytes_out = strlen(text);
    finish_request(pr, 503, 0, ZERR_CONCURRENCY, msg,
                   &(struct reply){.kind = REPLY_WHOLE, .status = 503, .headers = h,
                                   .n_headers = ZEN_ARRAY_LEN(h), .body = text,
                                   .body_len = strlen(text)});
    free(body);
}

static void queue_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy_request *pr = w->data;
    char msg[160];
    snprintf(msg, sizeof(msg), "zend is at daemon.max_concurrent (%lld) and the request "
             "waited %lld ms for a slot", (long long)pr->cfg->daemon.max_concurrent,
             (long long)pr->cfg->daemon.queue_timeout_ms);
    zlog_pack(ZLOG_WARN, "concurrency_limited", "{s:s, s:s, s:I, s:I}", "request_id",
              pr->req->request_id, "session", pr->route.session_key, "max_concurrent",
              (json_int_t)pr->cfg->daemon.max_concurrent, "queue_timeout_ms",
              (json_int_t)pr->cfg->daemon.queue_timeout_ms);
    respond_overloaded(pr, msg);
}

/* Takes a slot now, or waits in FIFO order for one up to queue_timeout_ms. */
static void admit(struct proxy_request *pr)
{
    struct proxy *px = pr->px;
    if (slot_free(px) && !px->queue_head) {
        pr->has_slot = 1;
        px->slots_used++;
        begin_attempts(pr);
        return;
    }
    pr->is_queued = 1;
    pr->qprev = px->queue_tail;
    if (px->queue_tail)
        px->queue_tail->qnext = pr;
    else
        px->queue_head = pr;
    px->queue_tail = pr;
    px->queued++;
    metrics_set_queued(px->metrics, (int64_t)px->queued);
    ev_timer_init(&pr->queue_timer, queue_timeout_cb,
                  (double)pr->cfg->daemon.queue_timeout_ms / 1000.0, 0.);
    pr->queue_timer.data = pr;
    ev_timer_start(px->loop, &pr->queue_timer);
}

/* ---- entry: one request from the HTTP server ---- */

static int provider_disabled(struct proxy *px, const struct zcfg *cfg, const char *name,
                             int64_t now_s)
{
    if (zcfg_provider_disabled(cfg, name, now_s))
        return 1;
    struct provider_state *s = pstates_get(px->states, name);
    return s && pstate_disabled(s, ztime_mono_ms());
}

static void note_session(struct proxy *px, const char *key)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a: enough to tell sessions apart */
    for (const char *p = key; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    int64_t now = ztime_mono_ms();
    size_t slot = h % PROXY_SESSION_SLOTS;
    px->sessions[slot].key = h;
    px->sessions[slot].seen_ms = now;
}

/* A request zend will not finish because it is shutting down. */
static void refuse_draining(struct proxy_request *pr)
{
    respond_overloaded(pr, "zend is shutting down");
}

/* Answers before any attempt (guards, routing, nothing to try). */
static void refuse(struct proxy_request *pr, int status, const char *type, const char *msg)
{
    metrics_note_rejected(pr->px->metrics);
    finish_request(pr, status, 0, ZERR_NONE, msg,
                   &(struct reply){.kind = REPLY_ERROR, .status = status, .type = type,
                                   .message = msg});
}

static void on_request(void *ctx, struct http_conn *c, struct http_request *req)
{
    struct proxy *px = ctx;
    struct proxy_request *pr = calloc(1, sizeof(*pr));
    if (!pr) {
        http_respond_error(c, 503, "overloaded_error", "out of memory");
        return;
    }
    pr->px = px;
    pr->conn = c;
    pr->req = req;
    pr->cfg = zcfg_ref(px->cfg);
    pr->ttfb_ms = -1;
    zbuf_init(&pr->err_body);
    ev_timer_init(&pr->retry_timer, retry_cb, 0., 0.);
    pr->next = px->requests;
    if (px->requests)
        px->requests->prev = pr;
    px->requests = pr;
    px->in_flight++;
    metrics_set_in_flight(px->metrics, (int64_t)px->in_flight);
    http_conn_set_handler_data(c, pr);
    ev_timer_init(&pr->queue_timer, queue_timeout_cb, 0., 0.);
    if (px->draining) {
        refuse(pr, 503, "overloaded_error", "zend is shutting down");
        return;
    }

    struct guard_verdict v;
    guard_check(pr->cfg, req, &v);
    if (v.status) {
        refuse(pr, v.status, v.error_type, v.message);
        return;
    }
    pr->key_header = v.key_header;
    char err[512];
    int rs = route_parse(pr->cfg, req->target, &pr->route, err, sizeof(err));
    if (rs != ROUTE_OK) {
        refuse(pr, rs == ROUTE_INVALID_PATH ? 400 : 404,
               rs == ROUTE_INVALID_PATH ? "invalid_path" : "profile_not_found", err);
        return;
    }
    const struct zcfg_profile *prof = pr->route.profile;
    int64_t now_s = ztime_wall_ms() / 1000;
    zbuf disabled;
    zbuf_init(&disabled);
    for (size_t i = 0; i < prof->n_providers && pr->n_candidates < PROXY_MAX_ATTEMPTS; i++) {
        const char *name = pr->cfg->providers[prof->providers[i]].name;
        if (provider_disabled(px, pr->cfg, name, now_s)) {
            zbuf_append_str(&disabled, zbuf_len(&disabled) ? ", " : "");
            zbuf_append_str(&disabled, name);
            continue;
        }
        pr->candidates[pr->n_candidates++] = prof->providers[i];
    }
    if (pr->n_candidates == 0) {
        zbuf_append(&disabled, "", 1);
        snprintf(err, sizeof(err), "every provider of profile \"%s\" is disabled: %s",
                 prof->name, (const char *)zbuf_head(&disabled));
        zbuf_free(&disabled);
        refuse(pr, 503, "all_providers_unavailable", err);
        return;
    }
    zbuf_free(&disabled);
    note_session(px, pr->route.session_key);
    admit(pr);
}

static void on_abort(void *ctx, struct http_conn *c, void *handler_data)
{
    struct proxy_request *pr = handler_data;
    if (!pr)
        return;
    finish_request(pr, http_response_started(c) ? pr->status : 0, 0, ZERR_CLIENT_CLOSED,
                   "client closed the connection", &(struct reply){.kind = REPLY_NONE});
}

static void on_writable(void *ctx, struct http_conn *c, void *handler_data)
{
    struct proxy_request *pr = handler_data;
    if (pr && pr->transfer)
        upstream_resume(pr->transfer);
}

static void on_rejected(void *ctx, int status)
{
    struct proxy *px = ctx;
    metrics_note_rejected(px->metrics);
}

static void on_connections(void *ctx, size_t count)
{
    struct proxy *px = ctx;
    metrics_set_client_connections(px->metrics, (int64_t)count);
}

/* ---- lifecycle ---- */

static void limits_from_config(const struct zcfg *cfg, struct http_limits *l)
{
    const struct zcfg_daemon *d = &cfg->daemon;
    l->max_header_bytes = (size_t)d->max_header_bytes;
    l->max_body_bytes = (size_t)d->max_body_bytes;
    l->header_timeout_s = (double)d->client_header_timeout_ms / 1000.0;
    l->body_timeout_s = (double)d->client_body_timeout_ms / 1000.0;
    l->max_body_bytes_total = (size_t)d->max_body_bytes_total;
    l->body_total_timeout_s = (double)d->client_body_total_timeout_ms / 1000.0;
    l->keepalive_timeout_s = (double)d->keepalive_timeout_ms / 1000.0;
    /* A client that reads nothing for as long as an idle keep-alive
     * connection may live is gone for our purposes. */
    l->write_stall_timeout_s = l->keepalive_timeout_s;
}

struct proxy *proxy_new(struct ev_loop *loop, int listen_fd, struct zcfg *cfg,
                        struct metrics *metrics, char *err, size_t errlen)
{
    static const struct http_callbacks cb = {on_request, on_abort, on_writable, on_rejected,
                                             on_connections};
    struct proxy *px = calloc(1, sizeof(*px));
    if (!px) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    px->loop = loop;
    px->metrics = metrics;
    px->cfg = zcfg_ref(cfg);
    ev_timer_init(&px->admit_timer, admit_cb, 0., 0.);
    ev_timer_init(&px->drain_timer, drain_timeout_cb, 0., 0.);
    ev_timer_init(&px->drained_timer, drained_cb, 0., 0.);
    px->admit_timer.data = px->drain_timer.data = px->drained_timer.data = px;
    struct http_limits limits;
    limits_from_config(cfg, &limits);
    px->upstream = upstream_new(loop);
    px->states = px->upstream ? pstates_new(loop, px->upstream) : NULL;
    px->http = http_server_new(loop, listen_fd, &limits, &cb, px);
    if (!px->upstream || !px->states || !px->http) {
        snprintf(err, errlen, "cannot set up the proxy (out of memory or curl failed)");
        proxy_free(px);
        return NULL;
    }
    pstates_apply_config(px->states, cfg);
    return px;
}

void proxy_start(struct proxy *px) { http_server_start(px->http); }

void proxy_set_config(struct proxy *px, struct zcfg *cfg)
{
    struct zcfg *old = px->cfg;
    px->cfg = zcfg_ref(cfg);
    zcfg_unref(old);
    struct http_limits limits;
    limits_from_config(cfg, &limits);
    http_server_set_limits(px->http, &limits);
    pstates_apply_config(px->states, cfg);
}

void proxy_stop_accepting(struct proxy *px) { http_server_stop_accepting(px->http); }

size_t proxy_queued(const struct proxy *px) { return px->queued; }

struct provider_states *proxy_provider_states(const struct proxy *px) { return px->states; }

size_t proxy_active_sessions(const struct proxy *px)
{
    int64_t now = ztime_mono_ms();
    size_t n = 0;
    for (size_t i = 0; i < PROXY_SESSION_SLOTS; i++)
        n += px->sessions[i].seen_ms > 0 && now - px->sessions[i].seen_ms <= PROXY_SESSION_WINDOW_MS;
    return n;
}

/* Ends a request the drain budget ran out on. */
static void abort_for_drain(struct proxy_request *pr)
{
    struct http_conn *c = pr->conn;
    pr->aborted_by_drain = 1;
    if (pr->phase == PHASE_RELAY && http_response_started(c)) {
        interrupt_stream(pr, "zend is shutting down");
        finish_request(pr, pr->status, 0, ZERR_STREAM_INTERRUPTED, "drain timeout",
                       &(struct reply){.kind = REPLY_ABORT});
        return;
    }
    refuse_draining(pr);
}

static void drain_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *px = w->data;
    while (px->requests)
        abort_for_drain(px->requests);
}

static void drained_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct proxy *px = w->data;
    ev_timer_stop(loop, &px->drain_timer);
    if (px->on_drained) {
        proxy_drained_fn done = px->on_drained;
        px->on_drained = NULL;
        done(px->drained_ctx, px->drained, px->aborted);
    }
}

void proxy_drain(struct proxy *px, double timeout_s, proxy_drained_fn done, void *ctx)
{
    if (px->draining)
        return;
    px->draining = 1;
    px->on_drained = done;
    px->drained_ctx = ctx;
    for (struct proxy_request *pr = px->requests; pr; pr = pr->next)
        pr->in_drain = 1;
    http_server_drain(px->http);
    /* Requests still waiting for a slot never started: they get 503 now. */
    while (px->queue_head) {
        struct proxy_request *pr = px->queue_head;
        pr->aborted_by_drain = 1;
        refuse_draining(pr);
    }
    if (px->in_flight == 0) {
        ev_timer_start(px->loop, &px->drained_timer);
        return;
    }
    ev_timer_set(&px->drain_timer, timeout_s, 0.);
    ev_timer_start(px->loop, &px->drain_timer);
}

void proxy_free(struct proxy *px)
{
    if (!px)
        return;
    /* Closing the connections aborts their requests (finish_request). */
    px->on_drained = NULL;
    http_server_free(px->http);
    ev_timer_stop(px->loop, &px->admit_timer);
    ev_timer_stop(px->loop, &px->drain_timer);
    ev_timer_stop(px->loop, &px->drained_timer);
    pstates_free(px->states);
    upstream_free(px->upstream);
    zcfg_unref(px->cfg);
    free(px);
}

size_t proxy_in_flight(const struct proxy *px) { return px->in_flight; }

size_t proxy_client_connections(const struct proxy *px)
{
    return http_server_connection_count(px->http);
}

size_t proxy_body_bytes_held(const struct proxy *px)
{
    return http_server_body_bytes_held(px->http);
}

size_t proxy_upstream_transfers(const struct proxy *px)
{
    return upstream_active_count(px->upstream);
}
