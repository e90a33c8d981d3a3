/* stats.c -- sample ring with nearest-rank percentiles, fixed-bound histogram.
 *
 * No libm: rounding up a rank is done with integer casts, so the library
 * links without -lm in every build type. */
#include "stats.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

const double zstats_hist_bounds[ZSTATS_HIST_BUCKETS] = {
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300,
};

/* NaN is the only value that does not compare equal to itself. */
static int is_nan(double v) { return v != v; }

int zstats_ring_init(struct zstats_ring *r, size_t cap)
{
    memset(r, 0, sizeof(*r));
    if (cap == 0 || cap > SIZE_MAX / sizeof(double))
        return ZEN_ERR;
    r->samples = calloc(cap, sizeof(double));
    if (!r->samples)
        return ZEN_ERR;
    r->cap = cap;
    return ZEN_OK;
}

void zstats_ring_free(struct zstats_ring *r)
{
    free(r->samples); r->samples = NULL;
    r->cap = 0;
    zring_clear(&r->idx);
}

void zstats_ring_add(struct zstats_ring *r, double v)
{
    if (r->cap == 0 || is_nan(v))
        return;
    r->samples[zring_push(&r->idx, r->cap, NULL)] = v;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* 1-based nearest rank of percentile p among len sorted samples:
 * ceil(p * len / 100), clamped to [1, len]. p * len is exact for the usual
 * integer percentiles, so the division by 100 lands exactly on an integer
 * when it should and ceil does not jump one rank too far (95/100 * 100 is
 * not exactly 95 in binary, 95 * 100 / 100 is). */
static size_t nearest_rank(double p, size_t len)
{
    if (!(p > 0))
        return 1;
    double q = p * (double)len / 100.0;
    if (q >= (double)len)
        return len;
    size_t k = (size_t)q;
    if ((double)k < q)
        k++;
    return k < 1 ? 1 : k;
}

static void write_zeros(double *out, size_t n, double *max)
{
    for (size_t i = 0; i < n; i++)
        out[i] = 0;
    if (max)
        *max = 0;
}

void zstats_ring_percentiles_scratch(const struct zstats_ring *r, const double *p, size_t n,
                                     double *out, double *max, double *scratch)
{
    if (r->idx.len == 0 || !scratch) {
        write_zeros(out, n, max);
        return;
    }
    /* Until the ring fills, the samples sit in slots [0, len); once full,
     * every slot holds one. Either way the first len slots are the window,
     * and their order is irrelevant since they are sorted. */
    memcpy(scratch, r->samples, r->idx.len * sizeof(double));
    qsort(scratch, r->idx.len, sizeof(double), cmp_double);
    for (size_t i = 0; i < n; i++)
        out[i] = scratch[nearest_rank(p[i], r->idx.len) - 1];
    if (max)
        *max = scratch[r->idx.len - 1];
}

void zstats_ring_percentiles(const struct zstats_ring *r, const double *p, size_t n,
                             double *out, double *max)
{
    if (r->idx.len == 0) {
        write_zeros(out, n, max);
        return;
    }
    double *scratch = malloc(r->idx.len * sizeof(double));
    zstats_ring_percentiles_scratch(r, p, n, out, max, scratch);
    free(scratch); scratch = NULL;
}

void zstats_hist_add(struct zstats_hist *h, double seconds)
{
    if (is_nan(seconds))
        return;
    if (seconds < 0)
        seconds = 0;
    /* Twelve bounds: a linear scan beats a binary search's branches, and
     * most LLM calls land in the first few buckets anyway. */
    size_t i = 0;
    while (i < ZSTATS_HIST_BUCKETS && seconds > zstats_hist_bounds[i])
        i++;
    h->counts[i]++;
    h->sum += seconds;
    h->count++;
}

uint64_t zstats_hist_cumulative(const struct zstats_hist *h, size_t i)
{
    if (i >= ZSTATS_HIST_BUCKETS)
        return h->count;
    uint64_t total = 0;
    for (size_t b = 0; b <= i; b++)
        total += h->counts[b];
    return total;
}
