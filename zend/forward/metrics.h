/* metrics.h -- what the `metrics` RPC reports (proto/PROTOCOL.md, `metrics`).
 *
 * The proxy hands over one record at the end of every client request
 * (proxy_request.c) and the daemon sets a few gauges; this module turns them into
 * counters, latency percentiles over the last METRICS_LATENCY_WINDOW
 * requests, a Prometheus histogram and per-provider figures. Recording is on
 * the request path, so it is O(attempts) and allocates only the first time a
 * provider name is seen; the reader (metrics_to_json, a few times a second at
 * most) pays for sorting.
 *
 * Counters start from zero in each worker: a restart resets them, and the
 * daemon adds `restarts` and `uptime_s` to the map so readers can tell.
 * Not thread-safe: everything runs on the daemon's one event loop. */
#ifndef ZEN_METRICS_H
#define ZEN_METRICS_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error_type.h"
#include "budget.h"
#include "usage_tokens.h"

/* Samples kept for each latency percentile (requests, ttfb, per provider). */
#define METRICS_LATENCY_WINDOW 1000
/* Distinct provider names tracked one by one; further names are folded into
 * METRICS_OTHER_PROVIDER, so a misbehaving caller cannot grow the table. */
#define METRICS_MAX_PROVIDERS 256
#define METRICS_OTHER_PROVIDER "(other)"
/* Distinct (provider, model) pairs whose tokens and cost are counted one by
 * one; further pairs share the pair ("(other)", "(other)"). */
#define METRICS_MAX_USAGE_PAIRS 256
/* The model of a record with usage but no model name. */
#define METRICS_UNKNOWN_MODEL "(unknown)"

struct metrics_attempt {
    const char *provider; /* provider name */
    int status;           /* HTTP status, 0 when none (network/timeout) */
    int error_type;       /* enum zen_error_type; ZERR_NONE for the attempt that was relayed
                             (ZERR_STREAM when it broke after its commit point) */
    double duration_ms;
};

struct metrics_record {
    int status;         /* final status sent to the client (0 if the client vanished before any) */
    int success;        /* final status < 400 and, for streams, completed */
    const char *provider; /* provider that served the response, NULL if none */
    double duration_ms; /* whole request */
    double ttfb_ms;     /* time to first byte sent to the client; < 0 when none */
    const struct metrics_attempt *attempts;
    size_t n_attempts;
    int error_type;     /* request-level failure not tied to an attempt: ZERR_STREAM_INTERRUPTED,
                           ZERR_CLIENT_CLOSED, ZERR_CONCURRENCY (provider-less), else ZERR_NONE */
    uint64_t bytes_in, bytes_out;
    const char *scenario; /* the routing scenario (docs/routing.md); NULL: not routed */
    const char *first_pick; /* the provider routing put first; NULL: not routed */
    /* What the answer used (docs/usage.md). A record built without these
     * (has_usage 0, as every designated initialiser leaves it) counts no
     * tokens and no cost, so only the ledger's caller needs to know them. */
    int has_usage;             /* 1: tokens and cost_usd below are meant */
    const char *model;         /* model sent upstream; NULL unknown */
    struct usage_tokens tokens; /* USAGE_UNKNOWN counts are left out */
    double cost_usd;           /* < 0: price unknown, left out */
};

struct metrics;

/* NULL when out of memory. */
struct metrics *metrics_new(void);
/* Accepts NULL. */
void metrics_free(struct metrics *m);

/* Counts one finished client request. The record and its strings are only
 * borrowed for the call; provider names are copied. A request that used more
 * than one distinct provider name among its attempts counts as one failover
 * (a retry on the same provider is not a failover, and A, B, A is still one).
 * Error types outside the enum are not counted as errors; status 0 (or
 * anything outside 1..999) is left out of status_codes but still counted as
 * a request. Attempts with a NULL provider count towards attempts_total and
 * errors_by_type only, and never make a failover. */
void metrics_record(struct metrics *m, const struct metrics_record *r);

/* Gauges the daemon owns; the peak of each is kept here and updated on every
 * call. Negative values (a caller's bookkeeping bug) are stored as 0. */
void metrics_set_in_flight(struct metrics *m, int64_t in_flight);
void metrics_set_queued(struct metrics *m, int64_t queued);
void metrics_set_client_connections(struct metrics *m, int64_t n);
/* A request refused before any attempt (guards, routing, limits). This only
 * counts into rejected_total; the request itself still goes through
 * metrics_record like any other, so requests_total includes it. */
void metrics_note_rejected(struct metrics *m);
/* The spend of the current budget periods in USD, indexed by enum
 * budget_period (the budget module sums them; docs/usage.md). Until
 * the first call the map has no budget_spend_usd; negative or non-finite
 * values are stored as 0. */
void metrics_set_budget_spend(struct metrics *m, const double spend[BUDGET_N_PERIODS]);
uint64_t metrics_requests_total(const struct metrics *m);

/* What the process holds, as of the last metrics_sample_resources. */
struct metrics_resources {
    int64_t rss_bytes, open_fds; /* /proc/self/statm, /proc/self/fd */
    int64_t heap_bytes;          /* malloc's bytes in use (mallinfo2) */
    int64_t fd_limit;            /* RLIMIT_NOFILE; -1 unlimited */
    int64_t threads;             /* /proc/self/status */
    uint64_t samples;            /* metrics_sample_resources calls so far */
};

/* Reads RSS (/proc/self/statm), open fds (/proc/self/fd), the heap in use,
 * the fd limit and the thread count; updates current and peak. A value
 * that cannot be read keeps its previous reading. The worker calls it once
 * a second (ZEND_SAMPLE_S), and so do the metrics RPC and the resource
 * monitor (ZEND_RESOURCE_SAMPLE_S) when they run: walking /proc/self/fd
 * costs as much as the fds are many, so health reads the sample instead of
 * walking it per call. */
void metrics_sample_resources(struct metrics *m);
/* The last sample (all zero before the first); reads nothing from /proc. */
void metrics_resources(const struct metrics *m, struct metrics_resources *out);

/* The `metrics` RPC result as a new JSON object (NULL when out of memory):
 *   requests_total, success_count, error_count, success_rate, in_flight,
 *   queued, rejected_total, status_codes {"200": n, ...},
 *   latency_p50_ms, latency_p95_ms, latency_p99_ms, latency_max_ms,
 *   ttfb_p50_ms, ttfb_p95_ms, ttfb_p99_ms, ttfb_max_ms,
 *   latency_histogram {bounds_s: [12], counts: [13, cumulative, last +Inf],
 *                      sum_s, count},
 *   attempts_total, failovers_total, errors_by_provider {name: n},
 *   errors_by_type {all ten type names: n},
 *   resources {rss_bytes, rss_peak_bytes, open_fds, open_fds_peak,
 *              in_flight_peak, client_connections, client_connections_peak},
 *   providers {name: {requests, served, errors, errors_by_type {...},
 *                     latency_p50_ms, latency_p95_ms, latency_p99_ms}},
 *   tokens [{provider, model, input, output, cache_read, cache_write,
 *            cost_usd}] (one per pair that had usage, first-seen order),
 *   budget_spend_usd {daily, weekly, monthly} (only once set).
 * Milliseconds are rounded to 3 decimals (µs). Not const: percentiles sort
 * into a scratch array the module owns. */
json_t *metrics_to_json(struct metrics *m);

/* Typed summaries for views inside zend (health, providers), so none of
 * them serialises the document above to read a number back. Milliseconds
 * are rounded exactly as metrics_to_json rounds them. */
struct metrics_latency {
    double p50_ms, p95_ms, p99_ms, max_ms;
};
struct metrics_provider_summary {
    uint64_t requests, served, errors;
    struct metrics_latency latency; /* max_ms is left 0 (the RPC has none) */
};
/* Latency of whole requests over the window (latency_p50_ms ... _max_ms). */
void metrics_latency_summary(struct metrics *m, struct metrics_latency *out);
/* The figures of one provider name as metrics_to_json's providers entry
 * shows them; all zero (and ZEN_ERR) for a name never recorded. */
int metrics_provider_summary(struct metrics *m, const char *name,
                             struct metrics_provider_summary *out);

#endif
