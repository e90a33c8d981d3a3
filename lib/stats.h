/* stats.h -- latency statistics small enough to sit on the request path.
 *
 * Two tools, both fixed-size once created so recording a sample never
 * allocates:
 *  - a ring of the last `cap` samples, from which percentiles are computed
 *    on demand (nearest rank on a sorted copy, as in PROTOCOL.md). Exact
 *    over a recent window, and the cost (one sort) is paid by the reader of
 *    the metrics, a few times per second at most, not by each request;
 *  - a cumulative histogram with fixed bounds, which is what Prometheus
 *    wants (`zend_request_duration_seconds_bucket{le=...}`) and which, unlike
 *    the ring, covers every sample since start.
 *
 * Neither is thread-safe: zend records and reads from its one event loop. */
#ifndef ZEN_STATS_H
#define ZEN_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

/* A ring of the last `cap` samples (doubles, e.g. milliseconds); idx.len
 * grows to `cap` and stays. A zeroed struct is a valid empty ring that
 * ignores samples until init. */
struct zstats_ring {
    double *samples;
    size_t cap;
    struct zring idx;
};

/* Allocates room for `cap` samples. Refuses cap == 0 (a ring that can hold
 * nothing is a caller bug) and allocation failure: ZEN_ERR, ring left empty. */
int zstats_ring_init(struct zstats_ring *r, size_t cap);
/* Frees the samples; the ring is left zeroed, so a second free is harmless. */
void zstats_ring_free(struct zstats_ring *r);
/* Adds one sample, overwriting the oldest when full. NaN is dropped: it has
 * no place in a sorted order and would poison every percentile. */
void zstats_ring_add(struct zstats_ring *r, double v);

/* Nearest-rank percentiles of the samples in the ring: for each p[i] writes
 * to out[i] the smallest sample x such that at least p[i] % of the samples
 * are <= x, i.e. the sample at rank ceil(p/100 * len) of the sorted copy.
 * p is meant to lie in (0,100]; p <= 0 (or NaN) gives the minimum, p > 100
 * the maximum. *max gets the maximum (max may be NULL). Everything is 0 when
 * the ring is empty. Sorts once per call into a scratch array it allocates;
 * if that allocation fails the outputs are 0, as for an empty ring. */
void zstats_ring_percentiles(const struct zstats_ring *r, const double *p, size_t n,
                             double *out, double *max);
/* The same with a caller-provided scratch array of at least r->len doubles,
 * for callers that compute often and want no allocation at all. */
void zstats_ring_percentiles_scratch(const struct zstats_ring *r, const double *p, size_t n,
                                     double *out, double *max, double *scratch);

/* Upper bounds (seconds) of the histogram buckets, chosen for LLM calls:
 * fine below a second where a cached or tiny completion lands, coarse up to
 * the five minutes a long generation may take. +Inf is implicit. */
#define ZSTATS_HIST_BUCKETS 12
extern const double zstats_hist_bounds[ZSTATS_HIST_BUCKETS];

/* counts[i] holds the samples in bucket i alone (bounds[i-1] < v <= bounds[i],
 * Prometheus' `le` is inclusive); counts[ZSTATS_HIST_BUCKETS] those above the
 * last bound. A zeroed struct is an empty histogram. */
struct zstats_hist {
    uint64_t counts[ZSTATS_HIST_BUCKETS + 1];
    double sum;
    uint64_t count;
};

/* Adds one duration in seconds. Negative values (a clock step) count as 0;
 * NaN is dropped so `sum` stays a number. */
void zstats_hist_add(struct zstats_hist *h, double seconds);
/* Cumulative count of bucket i, i.e. samples <= zstats_hist_bounds[i];
 * i >= ZSTATS_HIST_BUCKETS is the +Inf bucket and equals h->count. */
uint64_t zstats_hist_cumulative(const struct zstats_hist *h, size_t i);

#endif
