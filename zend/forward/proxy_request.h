/* proxy_request.h -- the proxy's own types, shared by its three files and
 * nobody else: proxy.c (entry, admission, draining, lifecycle), attempt.c
 * (the attempt loop and the relay of the answer) and proxy_request.c (the
 * one end of every request: record, free, then tell the client).
 *
 * Lifetime: a request owns a reference to the config it started with and to
 * the provider state of its running attempt; proxy_request_end drops them. */
#ifndef ZEND_PROXY_REQUEST_H
#define ZEND_PROXY_REQUEST_H

#include <curl/curl.h>
#include <ev.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "buf.h"
#include "config.h"
#include "http_server.h"
#include "limiter.h"
#include "metrics.h"
#include "policy.h"
#include "route.h"
#include "routing.h"
#include "session_memory.h"
#include "sse.h"
#include "usage_reader.h"
#include "xlate.h"

/* The config refuses longer profiles, so every listed provider gets a turn. */
#define PROXY_MAX_ATTEMPTS ZCFG_MAX_PROFILE_PROVIDERS
/* Idle sessions leave the session memory at most this long after they are due. */
#define PROXY_SMEM_SWEEP_MS (60 * 1000)
/* A failed response not relayed is kept (bounded) for the error report. */
#define PROXY_ERROR_BODY_MAX (64u * 1024)
#define PROXY_DETAIL_MAX POLICY_DETAIL_MAX
#define PROXY_MODEL_NAME_MAX 128
/* Same-provider retry without a Retry-After waits 250-500 ms of jitter. */
#define PROXY_RETRY_JITTER_MIN_MS 250
#define PROXY_RETRY_JITTER_SPAN_MS 250

/* Where a request is in its life. Only REQ_ATTEMPT and REQ_RELAY hold a slot
 * of the limiter; only REQ_QUEUED waits in its queue. */
enum request_state {
    REQ_ARRIVED,    /* being checked (guards, route, candidates): no slot yet */
    REQ_QUEUED,     /* waiting for a slot */
    REQ_ATTEMPT,    /* holds a slot; an attempt runs or a retry waits; nothing relayed */
    REQ_RELAY,      /* holds a slot; a provider's answer is going to the client */
};

/* What draining did to a request: the drained/aborted counts of proxy_drain. */
enum drain_mark {
    DRAIN_NONE,     /* arrived after draining began, or no drain */
    DRAIN_WAITED,   /* was in flight when draining began; may still finish */
    DRAIN_ABORTED,  /* ended by the drain (queued, or out of drain time) */
};

struct proxy {
    struct ev_loop *loop;
    struct zcfg *cfg;
    struct metrics *metrics;
    struct http_server *http;
    struct upstream *upstream;
    struct provider_states *states;
    LIST_HEAD(, proxy_request) requests; /* in flight (holding a slot or queued) */
    size_t in_flight;
    /* the global limiter (docs/operations.md): it lives here, not in the
     * config, so a reload never resets it */
    struct limiter limiter;
    /* draining (docs/operations.md, "Limiter and shutdown") */
    int draining;
    unsigned drained, aborted;
    ev_timer drain_timer;
    ev_timer drained_timer;         /* reports "nothing left" from the loop */
    ev_timer idle_timer;            /* nothing in flight for a while: shrink (proxy_idle) */
    void (*on_drained)(void *ctx, unsigned drained, unsigned aborted); /* proxy_drained_fn */
    void *drained_ctx;
    struct sessions *sessions;      /* seen recently, for health's active_sessions */
    struct routing_state *routing;  /* strategy state (routing.h): kept across reloads */
    struct smem *smem;              /* session memory (session_memory.h) */
    int64_t smem_swept_ms;          /* monotonic: the last sweep of idle sessions */
    struct profile_traffic *traffic; /* profiles with recent requests, for health */
    struct ledger *ledger;          /* the usage ledger, or NULL (proxy_set_ledger) */
    struct budget_tracker *budget;  /* the budgets' spend (docs/usage.md, "Budgets") */
};

struct proxy_request {
    struct proxy *px;
    LIST_ENTRY(proxy_request) link; /* in proxy.requests, newest first */
    enum request_state state;
    enum drain_mark drain;
    struct http_conn *conn;
    struct http_request *req;       /* valid until the response ends */
    struct zcfg *cfg;               /* the config this request started with */
    struct route route;
    const char *key_header;         /* carried a zend access key: never forwarded */
    size_t candidates[PROXY_MAX_ATTEMPTS];
    const char *candidate_models[PROXY_MAX_ATTEMPTS]; /* a route's model override, or NULL */
    size_t n_candidates, next_candidate;
    int scenario;                   /* enum zcfg_scenario (docs/routing.md) */
    int64_t input_estimate;         /* the routing token estimate; -1 = not computed */
    int downgrade;                  /* a budget's downgrade applies: one tier cheaper */
    int64_t retries_left;
    /* attempts[0..n_attempts): the first in attempt_first, a failover's
     * in a heap array (proxy_request_add_attempt). Most requests make one
     * attempt; PROXY_MAX_ATTEMPTS records inline were 17 KB of every
     * request, and of every open stream. */
    struct policy_attempt *attempts;
    size_t n_attempts, attempts_cap;
    struct policy_attempt attempt_first;
    /* the attempt in progress */
    const struct zcfg_provider *provider;
    const char *model_override;     /* the route's model for this provider, or NULL */
    struct provider_state *pstate;
    struct upstream_transfer *transfer;
    struct curl_slist *up_headers;
    char *url;
    char *body;                     /* model-rewritten body, or NULL */
    size_t body_len;
    double attempt_start_s;
    int status;
    struct http_header *resp_headers; /* the upstream head, copied */
    size_t n_resp_headers;
    zbuf err_body;
    int64_t retry_after_ms;
    int is_stream;
    struct sse_detector sse;
    struct xlate xl;                /* format translation (xlate.h) */
    enum xlate_step xl_step;        /* what the translated answer said last */
    double ttfb_ms;
    uint64_t bytes_out;             /* body bytes sent to the client */
    /* what the ledger needs (docs/usage.md, "Tokens: where they come from") */
    struct usage_reader *usage_reader; /* reads a relayed passthrough 2xx answer, or NULL */
    struct usage_tokens usage;      /* the served answer's tokens: final in
                                     * proxy_request_end; USAGE_TOKENS_NONE when
                                     * nothing was read */
    char model_requested[PROXY_MODEL_NAME_MAX]; /* the client body's model, "" when none */
    char model_sent[PROXY_MODEL_NAME_MAX];      /* the model the last attempt sent */
    ev_timer retry_timer;
    struct limiter_waiter waiter;   /* in REQ_QUEUED */
};

/* What the client is told when a request ends. proxy_request_end hands it to
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

/* The one end of every request: writes the record, stops what runs for it,
 * tells the client (reply), then unlinks and frees the request and drops its
 * references. Every way a request ends passes through here exactly once;
 * pr is gone when it returns. */
void proxy_request_end(struct proxy_request *pr, int status, int success, int error_type,
                       const char *error, const struct reply *reply);
/* request_received at debug: the request has arrived (request id, method,
 * path, body size); request_completed follows at its end. */
void proxy_request_log_received(const struct proxy_request *pr);
/* Drops what the attempt in progress holds (provider state, headers, URL,
 * rewritten body). */
void proxy_request_release_attempt(struct proxy_request *pr);
/* Drops the copied head of a failed attempt. */
void proxy_request_free_resp_headers(struct proxy_request *pr);
/* A zeroed record for the next attempt, or NULL when PROXY_MAX_ATTEMPTS
 * are recorded or the room for more cannot be allocated. */
struct policy_attempt *proxy_request_add_attempt(struct proxy_request *pr);
/* Milliseconds since a monotonic time in seconds. */
double proxy_request_elapsed_ms(double since_s);
/* (proxy.c) The last request in flight has ended: in HEAP_TRIM_IDLE_S, if
 * none began, the pooled curl handles shrink and the heap is trimmed. */
void proxy_idle(struct proxy *px);

#endif
